"""FiFa's library: from face photos to annotated task rows, and FiFa-Bench's scoring.

It owns, in the order data flows (each module imports only modules above it in this list):

* the core, shared by every stage and by evaluation: ``schema`` (tasks, columns, rows, mixes,
  manipulation labels), ``fict`` (the concept tree and its concept finder), ``markup`` (the
  grounding tokens and their one reader), ``images`` (reading and re-encoding images, a row's
  image), ``masks`` (COCO RLE), and the command-line plumbing ``cli``, ``outputs`` and ``quiet``;
* faces and concepts: ``faces``, ``mesh_regions``, ``concepts``;
* pairs: ``pairs`` (sources), ``simulate`` (the bundled edits), ``sample_pairs``, ``samples``,
  ``validation`` (pair checks), ``rejects``;
* annotation: ``artifacts``, ``motion``, then the ``annotate`` package, then the ``tasks`` package;
* viewing: ``viz``;
* evaluation: ``parse``, ``metrics``, ``captions``, ``predictions``, ``concept_cache``, ``scoring``,
  ``baselines``, which import the core and the concept masks only, never the simulator, the
  annotator or the task generators (``tests/test_layout.py`` checks it).
"""
