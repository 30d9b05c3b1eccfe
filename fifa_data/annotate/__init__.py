"""FiFa-Annotator: from a real/fake pair to a grounded, checked explanation.

Stages, one module each: ``decide`` (which FICT concepts the artifact mask marks as edited),
``evidence`` (what the edit did to each, measured from pixels), ``writers`` and ``llm`` (text
from those facts), ``guard`` (text checked against the decisions), ``pipeline`` (all of it over
a pair source). ``explanation`` holds the text type the writers share; ``reliability`` scores
the annotations against a known truth (an edit mask), which the guard cannot; ``options`` holds
the writers' command-line options. It imports the core, faces and concepts, validation,
``artifacts`` and ``motion``; never the simulator, the task rows or evaluation.
"""
