"""The core: facts every stage shares, each declared once.

``schema`` (tasks, columns, rows, mixes, manipulation labels), ``fict`` (the concept tree and its
finder), ``markup`` (the grounding tokens and their one reader), ``masks`` (COCO RLE), ``images``
(reading, re-encoding and a row's image), ``errors`` (the usage and run error bases), ``grammar``
(number agreement of the templates) and ``quiet`` (silencing native start-up noise). It imports
nothing else of FiFa.
"""
