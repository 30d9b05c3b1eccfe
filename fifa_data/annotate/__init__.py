"""FiFa-Annotator: from a real/fake pair to a grounded, checked explanation.

Stages, one module each: ``artifacts`` (where the fake differs from its real), ``patches`` (an
inpainting's patch taken whole, read off a JPEG fake's own coefficients) and ``motion`` (whether
it moved pixels), ``decide`` (which FICT concepts the artifact mask marks as edited), ``evidence``
(what the edit did to each, measured from pixels), ``family_evidence`` (the traces of the forgery
family, per pair) and ``family_guess`` (the family of a fake whose source names none), ``writers`` and ``llm`` (text from those facts),
``guard`` (text checked against the decisions), ``pipeline`` (all of it over loaded pairs),
``given_region`` (a dataset's box or render mask bounding the computed one), ``fake_only`` (a mask-only
source's fake, annotated without a real), ``sentences`` (what a text states, and its problems).
``explanation`` holds the text type the writers share; ``reliability`` scores the annotations
against a known truth; ``options`` holds the command-line options; ``source`` holds
``annotate_source``, the one path from a pair source to annotated images and their task rows.
It imports ``core``, ``faces``, ``pairs`` and (in ``source`` only) ``tasks``; never ``scoring``.
"""
