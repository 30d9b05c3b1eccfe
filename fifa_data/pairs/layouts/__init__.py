"""Dataset layouts: FaceForensics++, Celeb-DF v2 and DFFD read as they ship, videos included.

``detect`` (which layout a folder has; `open_layout`, which `pairs.sources.open_source` calls),
``video`` (deterministic frame sampling and sequential decoding), ``frames`` (`LayoutOptions`, and
the shared half of a layout: frames, binarised masks and crops written to a work folder) and one
module per dataset: ``ffpp``, ``celebdf``, ``dffd``, ``maskonly`` (fakes with a mask and no real). docs/datasets.md documents each tree.
It imports ``core``, ``faces`` and the rest of ``pairs`` (`sources`, `rejects`).
"""
