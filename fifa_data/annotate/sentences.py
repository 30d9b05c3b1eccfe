"""The sentence checker: the defects a reviewer would not sign, found in a text the writers or the task templates produce.

:func:`check_text` reads a text sentence by sentence and reports:

* **agreement**: a FICT concept with a verb of the other number (the verbs of
  :data:`fifa_data.core.grammar.VERBS`): right after the subject (``"the ears has"``), continuing
  its predicate after a comma, *and* or *which* (``"the lips are redder, looks darker"``), before
  it in a question (``"Has the ears been ..."``), and after a subject pronoun (``"Yes, they was"``). A
  quantifier decides as the writer does (``"part of the cheeks is"``, ``"most of the cheeks are"``);
* **factless**: a sentence that names a concept and states no measured fact, i.e. none of
  :data:`FACT_PHRASES`, the words of the facts the writers state (`Evidence.facts` and the pair's
  own warp displacement or colour difference). An answer (``verdicts=True``) may state the
  decision instead: yes or no, untouched, manipulated, the manipulation, a mask or a box;
* **colour**: a colour named after its shift that repeats the shift (``"more purple (now
  purple)"``) or reads against it (``"bluer (now brown)"``, see `evidence.colour_agrees`).

:func:`stated_families` reads which forgery families (:data:`fifa_data.core.families.FAMILIES`) a
text states, by the phrases of :data:`FAMILY_STATEMENTS`: the template writer's opening sentences
and the ways an LLM says the same ("face swap", "reenacted", "removed and filled in", ...). A phrase
right after a negation (``"this is not a face swap"``) states nothing; a texture that "looks
synthetic" is a fact about a region, not a synthesised face.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from fifa_data.annotate.evidence import COLOUR_HUES, colour_agrees
from fifa_data.annotate.explanation import Explanation
from fifa_data.core.fict import FICT, TOO_BROAD
from fifa_data.core.grammar import NOUN_QUANTIFIERS, PRONOUNS, SINGULAR_QUANTIFIERS, VERBS, subject_is_plural
from fifa_data.core.markup import SEG, strip

FACT_PHRASES = (
    # colour, and the pair's colour difference
    "redder", "greener", "yellower", "bluer", "more saturated", "less saturated", "more purple", "more orange",
    "more teal", "more olive", "recoloured", "change of colour", "colour difference", "ΔE",
    # lightness, texture, seam
    "lighter", "darker", "smoothed", "smoothing", "airbrushed", "fine texture", "sharper texture",
    "high-frequency detail", "synthetic", "seam", "unnatural edge", "halo",
    # geometry, and the pair's warp
    "enlarged", "bigger", "larger", "shrunk", "smaller", "narrower", "lifted", "higher than", "lower than",
    "pushed down", "upward warp", "downward warp", "pulled inward", "towards the centre", "slimmed",
    "pushed outward", "away from the centre", "widened", "interocular distance", "of the change between",
)
_FACT = re.compile("|".join(rf"\b{re.escape(p)}\b" if p[0].isalpha() else re.escape(p) for p in FACT_PHRASES), re.I)
_VERDICT = re.compile(
    r"^(yes|no|sure)\b|\bhere is\b|\bno sign\b|\bnot\b|\bnothing\b|\bno artifacts\b|\buntouched\b|\bauthentic\b"
    r"|\bnatural\b|\bmanipulated\b|\bedited\b|\bartifacts\b|\bmanipulation\b|\bedit\b|\[\d+, \d+, \d+, \d+\]",
    re.I,
)
_FORMS = {form: plural for singular, plural_form in VERBS.values() for plural, form in ((False, singular), (True, plural_form))}
_VERB = "|".join(sorted(_FORMS, key=len, reverse=True))
_QUESTION_VERB = "is|are|was|were|has|have|does|do"
_QUANTIFIER = "|".join(sorted((*SINGULAR_QUANTIFIERS, *NOUN_QUANTIFIERS), key=len, reverse=True))
_PRONOUN = {form: plural for singular, plural_form in PRONOUNS.values() for plural, form in ((False, singular), (True, plural_form))}
_COLOUR = re.compile(r"\(now ([a-z ]+)\)|, now (?:an? )?([a-z ]+?) shade|, turning ([a-z ]+?)\b(?=,| and|\.|$)", re.I)
_SHIFT = re.compile(r"redder|greener|yellower|bluer|more saturated|less saturated|more (" + "|".join(COLOUR_HUES) + ")", re.I)
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")

_SOMEONE = r"(?:another (?:person|individual|identity|subject)|someone else|somebody else|a different (?:person|individual|identity))"
_PART = r"(?:facial (?:part|feature|region)s?|(?:part|feature)s? of (?:this|the) face|eyes|eyebrows|nose|mouth|lips)"
_WHOLE_FACE = r"(?<!of this )(?<!of the )(?<!of a )\b"  # "the face", not "a part of the face"
FAMILY_STATEMENTS: dict[str, tuple[str, ...]] = {  # family -> the phrases (regular expressions) that state it
    "attribute": (r"\battributes?\b", r"\bfaceapp\b"),
    "identity_swap": (
        r"\bface[- ]?swap(?:s|ped|ping)?\b", r"\bidentity[- ]swap", r"\bswapped (?:face|identity)\b",
        _WHOLE_FACE + r"(?:inner )?face (?:comes|came|was taken|is taken) from " + _SOMEONE,
        _WHOLE_FACE + r"face\b[^.,:;]{0,30}\b(?:was|has been|is|were) (?:replaced|swapped)\b",
        r"\breplaced (?:by|with) (?:(?:someone|somebody) else's|(?:another|a different) (?:person|individual)'s|another|a different) face\b",
        r"\b(?:another|a different) (?:person|individual)'s face (?:was|has been|is) (?:pasted|placed|put|swapped|transplanted|blended)",
        r"\bidentity (?:was|has been|is) (?:swapped|replaced|changed)\b",
    ),
    "self_blend": (
        r"\bself[- ]?blend(?:s|ed|ing)?\b", r"\bcopy of (?:this|the) (?:same )?face\b", r"\bcopy of itself\b",
    ),
    "reenactment": (
        r"\bre-?enact(?:s|ed|ing|ment)?\b", r"\bexpression (?:was|has been|is|were) (?:changed|altered|modified|transferred|moved|driven|manipulated)\b",
        r"\b(?:follow|mimic|copy) another (?:person|individual)'s expression", r"\bexpression (?:of|from) another (?:person|individual)",
        r"\blip[- ]?sync(?:ed|ing)?\b", r"\bpuppet(?:ed|eering)?\b",
    ),
    "part_swap": (
        r"\bpart[- ]?swap(?:s|ped|ping)?\b", r"\b(?:eyes|eyebrows|nose|mouth|lips)[- ]swap(?:s|ped)?\b",
        _PART + r" (?:comes?|came|(?:was|were|is|are|has been|have been) (?:taken|swapped|transplanted|copied|pasted)) (?:in )?from " + _SOMEONE,
        _PART + r" (?:was|were|is|are|has been|have been) replaced (?:by|with) (?:the same part of )?" + _SOMEONE,
    ),
    "inpainting": (
        r"\binpaint(?:s|ed|ing)?\b", r"\b(?:removed|erased|deleted)\b[^.]{0,60}\b(?:filled|painted over|painted in|filled in)\b",
        r"\b(?:hole|gap|patch) (?:was|has been|is) (?:filled|painted)", r"\bpainted over to match\b",
    ),
    "synthesis": (
        r"\b(?:whole|entire) (?:face|image|photo|picture|person) (?:was|is|has been) (?:generated|synthesi[sz]ed|synthetic)\b",
        r"\b(?:face|image|photo|picture|person) is (?:synthetic|generated|synthesi[sz]ed)\b",
        r"\b(?:fully|entirely|wholly|completely) (?:synthetic|synthesi[sz]ed|generated)\b", r"\bsynthetic (?:face|person|image)\b",
        r"\b(?:ai|gan|diffusion|computer)[- ]generated\b", r"\bmade by a generator\b", r"\bnot a photograph of a real person\b",
        r"\bgenerated (?:face|person|image)\b",
    ),
}
_FAMILY_PHRASE = {family: re.compile("|".join(f"(?:{p})" for p in phrases), re.I) for family, phrases in FAMILY_STATEMENTS.items()}
_NEGATED = re.compile(r"\b(?:not|no|never|nor|neither|rather than|instead of|isn't|wasn't)\s+(?:\S+\s+){0,2}$", re.I)


@dataclass(frozen=True)
class Problem:
    """One defect: its kind (agreement | factless | colour), the sentence, and what is wrong."""

    kind: str
    sentence: str
    detail: str


def check_text(text: str, fict: FICT, verdicts: bool = False) -> list[Problem]:
    """The problems of ``text`` (tags and ``[SEG]`` allowed); ``verdicts``: an answer, whose sentences
    about a concept may state the decision (yes, no, untouched, a mask) instead of a measured fact."""
    problems: list[Problem] = []
    for raw in _SENTENCE_END.split(text.strip()):
        if not raw:
            continue
        sentence = " ".join(strip(raw).split())
        problems += _agreement(sentence, fict)
        problems += _colour(sentence)
        names = _names(fict)
        if names.search(sentence) and not _FACT.search(names.sub("_", sentence)):
            if not (verdicts and (_VERDICT.search(sentence) or SEG in raw)):
                problems.append(Problem("factless", sentence, "names a region but states no measured fact"))
    return problems


def check_explanation(explanation: Explanation, fict: FICT) -> list[Problem]:
    """The problems of an explanation: its summary and its grounded sentences."""
    return check_text(explanation.summary, fict) + [p for s in explanation.sentences for p in check_text(s, fict)]


def stated_families(text: str) -> set[str]:
    """The forgery families ``text`` states (tags allowed), by :data:`FAMILY_STATEMENTS`; a phrase
    negated just before (``"not a face swap"``) does not count."""
    plain = " ".join(strip(text).split())
    stated = set()
    for family, phrase in _FAMILY_PHRASE.items():
        for m in phrase.finditer(plain):
            clause = re.split(r"[.?!;:,]", plain[: m.start()])[-1]
            if not _NEGATED.search(clause):
                stated.add(family)
                break
    return stated


@functools.lru_cache(maxsize=4)
def _names(fict: FICT) -> re.Pattern:
    """Every region's name and synonym, longest first (not the image or the whole face: a verdict
    about the photo states no region)."""
    names = {n.lower().removeprefix("the ") for c in fict if c.id not in TOO_BROAD for n in (c.name, *c.synonyms)}
    return re.compile(r"\b(" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")\b", re.I)


def _agreement(sentence: str, fict: FICT) -> list[Problem]:
    names = _names(fict).pattern[3:-3]  # the alternation, without its group and word boundaries
    out = []

    def wrong(verb: str, plural: bool, what: str) -> None:
        if _FORMS.get(verb.lower(), plural) != plural:
            out.append(Problem("agreement", sentence, f"{what} {'takes a plural' if plural else 'takes a singular'} verb, not {verb!r}"))

    if sentence.endswith("?"):
        for m in re.finditer(rf"\b({_QUESTION_VERB}) the ({names})\b", sentence, re.I):
            wrong(m.group(1), subject_is_plural(m.group(2)), f"the {m.group(2)}")
    else:
        subjects = list(re.finditer(rf"(?:\b({_QUANTIFIER}) )?\bthe ({names})(?:,? which)? ({_VERB})\b", sentence, re.I))
        for i, m in enumerate(subjects):
            plural = subject_is_plural(m.group(2), m.group(1) or "")
            subject = f"{m.group(1) + ' ' if m.group(1) else ''}the {m.group(2)}"
            wrong(m.group(3), plural, subject)
            end = subjects[i + 1].start() if i + 1 < len(subjects) else len(sentence)
            for more in re.finditer(rf"(?:,|\band) ({_VERB})\b", sentence[m.end() : end], re.I):
                wrong(more.group(1), plural, subject)
    for m in re.finditer(rf"(?:^|[,;:] )(it|they) ({_VERB})\b", sentence, re.I):
        wrong(m.group(2), _PRONOUN[m.group(1).lower()], repr(m.group(1)))
    return out


def _colour(sentence: str) -> list[Problem]:
    out = []
    for m in _COLOUR.finditer(sentence):
        colour = next(g for g in m.groups() if g).strip().lower()
        clause = re.split(r",|\band\b(?! (?:more|less|redder|greener|yellower|bluer))", sentence[: m.start()])[-1]
        shifts = [s.group(0).lower() for s in _SHIFT.finditer(clause)]
        directions = [d for s in shifts for d in (sorted(COLOUR_HUES[s[5:]]) if s[5:] in COLOUR_HUES else [s])]
        if re.search(rf"\b{re.escape(colour)}\b", clause, re.I):
            out.append(Problem("colour", sentence, f"names {colour!r} twice"))
        elif directions and not colour_agrees(colour, directions):
            out.append(Problem("colour", sentence, f"{colour!r} does not read as {' and '.join(shifts)}"))
    return out
