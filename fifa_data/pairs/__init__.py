"""Pairs: where real/fake pairs come from, and whether they are usable.

``sources`` (folder and manifest layouts, `PairRef`, your own `PairSource`), ``loading`` (reading a
pair and checking it: one photo, edited in place, with one face), ``rejects`` (what does not become a
row, with its reason), ``photos`` (the face photos that install with the dependencies), ``simulate``
(every forgery family's edits with their exact truth), ``sample_source`` (the bundled default source) and
``layouts`` (FaceForensics++, DFFD, Celeb-DF and mask-only sets as they ship, videos included).
It imports ``core`` and ``faces``.
"""
