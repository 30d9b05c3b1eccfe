"""FiFa's library: from face photos to annotated task rows, and FiFa-Bench's scoring.

Packages, in the order data flows; each imports only the packages above it:

* ``core``: the facts every stage shares: the row schema and task names, FICT, the grounding
  markup, COCO RLE masks, reading images, the two user-facing error kinds. Imports nothing of FiFa.
* ``faces``: face detection and the mesh, the mesh's FICT regions, concept masks of a photo.
* ``pairs``: where real/fake pairs come from (sources, the bundled photos, the simulator and the
  sample source), loading and checking them, rejects.
* ``annotate``: FiFa-Annotator (artifact masks, motion, decisions, evidence, writers, guard,
  reliability) and ``annotate_source``, the one path from a pair source to annotated rows.
* ``tasks``: the FiFa-11 rows of an annotated image and their checker.
* ``scoring``: FiFa-Bench (predictions, parsing, metrics, caption metrics, baselines, scores). It
  imports ``core`` and ``faces`` only, never ``pairs``, ``annotate`` or ``tasks``.

Beside them: ``viz`` (pictures for people; imports ``core``), and the command-line plumbing
``cli`` and ``outputs``, which import ``core`` only. ``tests/test_layout.py`` checks these rules.
"""
