"""Question and short-answer phrasings of the FiFa-11 tasks.

Each task has many paraphrases so a model learns the task, not one sentence. Placeholders:
``{concept}`` (a FICT name), ``{box}`` (``[x0, y0, x1, y1]`` in pixels), ``{kind}`` (a
manipulation type in words), and the verbs and pronouns that agree with the concept (``{be}``,
``{have}``, ``{subj}`` ...; capitalised, ``{Have}``, at the start of a question), which
:func:`phrase` fills in from :mod:`fifa_data.core.grammar`.
"""

from __future__ import annotations

from fifa_data.core.grammar import conjugate, is_plural

QUESTIONS: dict[str, tuple[str, ...]] = {
    "det": (
        "Is this face image real or fake?",
        "Has this photo been manipulated? Answer real or fake.",
        "Tell me whether this face is authentic or forged.",
        "Is this an untouched photograph or a DeepFake?",
        "Decide if the picture is real or fake.",
        "Was this face image edited?",
        "Real or fake: what is this photo?",
        "Can you tell whether this facial image is genuine?",
        "Check this image for forgery: real or fake?",
        "Is the face in this picture genuine or manipulated?",
    ),
    "cls": (
        "What kind of manipulation, if any, was applied to this face?",
        "Which kind of forgery is this photo, and which manipulation? Say real if none.",
        "Classify the forgery type of this image, or answer real.",
        "What was changed in this face image?",
        "Name the forgery family and the manipulation in this picture, or say it is real.",
        "Which edit produced this image, if it is fake?",
        "Identify the type of face manipulation.",
        "What forgery category does this photo belong to?",
    ),
    "toe": (
        "Explain whether this face image has been manipulated and why.",
        "Describe the forgery artifacts in this photo.",
        "What signs of manipulation can you see in this image?",
        "Is this face real? Explain your reasoning.",
        "Give a detailed explanation of any tampering in this picture.",
        "Analyse this image for DeepFake traces and explain what you find.",
        "Which parts of this face look edited, and how?",
        "Describe what makes this photo look real or fake.",
    ),
    "loc": (
        "Segment the manipulated regions of this image.",
        "Where are the forgery artifacts? Please output a mask.",
        "Highlight every area of this photo that was edited.",
        "Please segment all manipulation artifacts.",
        "Show me the tampered pixels as a mask.",
        "Locate the manipulated area in this face image.",
        "Can you mark where this picture was altered?",
        "Output a segmentation mask of the forged regions.",
    ),
    "age": (
        "Explain the manipulation in this image and segment each region you mention.",
        "Describe the forgery artifacts and ground each one with a mask.",
        "Which facial regions were edited? Explain and segment them.",
        "Give a grounded explanation of the tampering in this photo.",
        "Point out and segment every manipulated part of this face, with an explanation.",
        "Analyse this face for forgery and provide masks for the regions you describe.",
        "Explain what was changed in this photo, with a segmentation mask for each region.",
        "Describe the artifacts of this image and highlight each facial concept involved.",
    ),
    "rdet": (
        "{Have} the {concept} been manipulated?",
        "{Was} the {concept} edited?",
        "Do you see forgery artifacts on the {concept}?",
        "Is there any tampering in the {concept}?",
        "Look at the {concept}: {be} {subj} manipulated?",
        "Has anyone altered the {concept} in this image?",
        "{Be} the {concept} manipulated?",
        "{Do} the {concept} show signs of editing?",
    ),
    "rexp": (
        "Explain what, if anything, was done to the {concept}.",
        "Describe the artifacts in the {concept}.",
        "Why {do} the {concept} look real or fake?",
        "What happened to the {concept} in this photo?",
        "Analyse the {concept} for manipulation traces.",
        "Describe the state of the {concept} in this image.",
        "{Be} the {concept} edited? Explain.",
    ),
    "rseg": (
        "Segment the manipulated part of the {concept}.",
        "Please output a mask of the artifacts in the {concept}.",
        "Where exactly {was} the {concept} edited? Give a mask.",
        "Highlight the tampered pixels of the {concept}.",
        "Mark the forged area inside the {concept}.",
        "Show the manipulation mask for the {concept}.",
    ),
    "bdet": (
        "Is anything inside the box {box} manipulated?",
        "Does the region {box} contain forgery artifacts?",
        "Look at the area {box}: has it been edited?",
        "Was anything in {box} tampered with?",
        "Check the region {box} for manipulation.",
        "Are there edited pixels inside {box}?",
        "Has the area {box} been manipulated?",
    ),
    "bexp": (
        "Explain what was done inside the box {box}.",
        "Describe any manipulation within the region {box}.",
        "What do you see in the area {box}? Is it edited?",
        "Analyse the box {box} for forgery traces.",
        "Describe the facial parts in {box} and whether they were altered.",
        "Explain the artifacts, if any, in the region {box}.",
    ),
    "breg": (
        "Give the bounding boxes of all manipulated facial regions.",
        "Where was this face edited? Answer with boxes.",
        "List every tampered region with its bounding box.",
        "Output the boxes of the forged facial parts.",
        "Which regions were manipulated? Give their coordinates.",
        "Localise the edited regions as boxes [x0, y0, x1, y1].",
    ),
}

ANSWERS: dict[str, tuple[str, ...]] = {
    "det_fake": ("Fake.", "This image is fake.", "It is fake: the face has been manipulated.", "Fake; it was edited."),
    "det_real": ("Real.", "This image is real.", "It is real: I see no manipulation.", "Real; it looks untouched."),
    "cls_fake": ("{Family}: {kind}.", "It is {family}; the manipulation is {kind}.", "This is {family} ({kind}).",
                 "Family: {family_id}; manipulation: {kind}."),
    "cls_real": ("Real.", "None: the image is real.", "No manipulation; it is real."),
    "real_text": (
        "This photo shows no sign of manipulation; it appears to be an authentic capture.",
        "I find no forgery artifacts: the image looks real.",
        "The face looks natural and consistent throughout; the photo is real.",
        "Nothing in this image suggests editing. It is real.",
    ),
    "loc_fake": ("Sure, [SEG].", "Here are the manipulated regions: [SEG].", "The artifacts are here: [SEG].", "[SEG]."),
    "loc_real": (
        "There are no manipulated regions: the image is real.",
        "Nothing to segment; I see no artifacts.",
        "The photo is real, so there is no artifact mask.",
    ),
    "rdet_yes": ("Yes.", "Yes, the {concept} {have} been manipulated.", "Yes, {subj} {was} edited.", "Yes; the {concept} {show} artifacts."),
    "rdet_no": ("No.", "No, the {concept} {look} authentic.", "No, {subj} {was} not edited.", "No; the {concept} {be} untouched."),
    "rexp_no": (
        "The {concept} {show} no sign of manipulation.",
        "Nothing was done to the {concept}; {subj} {look} authentic.",
        "The {concept} {look} natural and untouched.",
    ),
    "rseg_yes": ("Sure, <p>the {concept}</p> [SEG].", "Here is the manipulated part of <p>the {concept}</p> [SEG].", "<p>The {concept}</p> [SEG]."),
    "rseg_no": (
        "The {concept} {was} not manipulated, so there is nothing to segment.",
        "There are no artifacts in the {concept}.",
        "The {concept} {look} untouched; no mask.",
    ),
    "bdet_yes": ("Yes.", "Yes, the box contains manipulated pixels.", "Yes, something in this region was edited."),
    "bdet_no": ("No.", "No, the content of the box looks authentic.", "No, nothing in this region was edited."),
    "bexp_no": (
        "Nothing inside this box appears manipulated; the {concept} {look} authentic.",
        "The region shows the {concept}, which {look} untouched.",
        "I see no artifacts in this box: the {concept} {be} natural.",
    ),
    "breg_intro": ("The manipulated regions are: {list}.", "Edited regions: {list}.", "{list}."),
    "breg_real": ("There are no manipulated regions; the image is real.", "None: this photo is real."),
}


def phrase(template: str, concept: str | None = None, **fields: str) -> str:
    """A template filled in: ``{concept}``, the verbs that agree with it, and any other ``fields``."""
    if concept is not None:
        template = conjugate(template, is_plural(concept))
        fields["concept"] = concept
    return template.format(**fields)
