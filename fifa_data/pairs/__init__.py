"""Pairs: where real/fake pairs come from, and whether they are usable.

``sources`` (folder and manifest layouts, `PairRef`, your own `PairSource`), ``loading`` (reading a
pair and checking it: one photo, edited in place, with one face), ``rejects`` (what does not become a
row, with its reason), ``photos`` (the face photos that install with the dependencies), ``simulate``
(FaceApp-like edits with their exact truth) and ``sample_source`` (the bundled default source).
It imports ``core`` and ``faces``.
"""
