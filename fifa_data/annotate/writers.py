"""The template writer: deterministic, offline English explanations from decisions and evidence.

:class:`TemplateWriter` states only the facts of :meth:`Evidence.facts`, one sentence per
grounded concept, in the order it is given (reading order: top to bottom). Variety comes from a
seeded choice among several phrasings per fact type, several sentence frames, degree adverbs,
and the concept's FICT name or one of its synonyms, so the same pair always reads the same and
two pairs rarely read alike. (The LLM writer lives in :mod:`fifa_data.annotate.llm`.)
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np

from fifa_data.annotate.evidence import Evidence, EvidenceConfig, Fact
from fifa_data.annotate.explanation import Explanation, WriterInput
from fifa_data.core.fict import Concept

_PREPOSITIONS = (" of ", " around ", " above ", " below ", " beside ", " between ", " under ", " along ", " to ", " on ", " at ")
_SIDES = {"left", "right", "the", "of", "a", "an", "on", "to", "side", "area"}
_PLURAL_ENDINGS = ("teeth", "feet")
_LEADING_BLOCKLIST = {"the", "around", "above", "below", "beside", "between", "under", "inside", "hair"}

_ADVERBS = {
    "slight": ("slightly", "a little", "faintly", "mildly"),
    "clear": ("noticeably", "clearly", "visibly", "distinctly"),
    "strong": ("strongly", "markedly", "heavily", "conspicuously"),
}

# Clauses per fact; {adv} is a degree adverb, {be}/{look}/{have}/{show} agree with the subject.
MAX_CLAUSES = 3  # a sentence states at most this many clauses (a colour clause may hold two directions)
_CLAUSES = {
    ("colour",): (
        "{be} {adv} {dir} than in an untouched photo",
        "{look} {adv} {dir}",
        "{have} turned {adv} {dir}",
        "{show} a colour shift that makes {obj} {adv} {dir}",
    ),
    ("colour", "recoloured"): (
        "{have} been {adv} recoloured",
        "{show} a {adv_adj} change of colour",
    ),
    ("lightness",): (
        "{be} {adv} {dir}",
        "{look} {adv} {dir} than the pixels around {obj}",
        "{have} been made {adv} {dir}",
    ),
    ("texture", "smoother"): (
        "{have} lost fine texture and {look} {adv} smoothed",
        "{look} {adv} airbrushed, with the natural detail blurred away",
        "{show} {adv_adj} smoothing that erases fine detail",
    ),
    ("texture", "sharper"): (
        "{show} {adv_adj} added fine detail and sharper texture",
        "{have} gained texture that {look_bare} {adv} synthetic",
        "{carry} {adv_adj} high-frequency detail the real photo lacks",
    ),
    ("geometry", "enlarged"): (
        "{have} been {adv} enlarged",
        "{look} {adv} bigger than in the original",
        "{show} a warp that makes {obj} {adv} larger",
    ),
    ("geometry", "shrunk"): (
        "{have} been {adv} shrunk",
        "{look} {adv} smaller, as if squeezed by a warp",
        "{show} a warp that makes {obj} {adv} narrower",
    ),
    ("geometry", "raised"): (
        "{have} been {adv} lifted",
        "{sit} {adv} higher than the facial structure suggests",
        "{show} an upward warp",
    ),
    ("geometry", "lowered"): (
        "{have} been {adv} pushed down",
        "{sit} {adv} lower than the facial structure suggests",
        "{show} a downward warp",
    ),
    ("geometry", "pulled inward"): (
        "{have} been {adv} pulled inward",
        "{show} a warp that draws {obj} towards the centre of the head",
        "{look} {adv} slimmed by a warp",
    ),
    ("geometry", "pushed outward"): (
        "{have} been {adv} pushed outward",
        "{show} a warp that pushes {obj} away from the centre of the head",
        "{look} {adv} widened by a warp",
    ),
    ("seam",): (
        "{show} a visible seam where the edit meets the untouched pixels",
        "{be} outlined by an unnatural edge left by blending",
        "{have} a halo along the border of the edited area",
    ),
}

_FALLBACK = (
    "{show} subtle pixel-level changes that do not match the rest of the photo",
    "{have} been retouched, leaving small inconsistencies in the pixels",
    "{differ} faintly but measurably from the original capture",
)

_WARP_FALLBACK = (  # a concept of a warped pair whose own motion is too small to state
    "{lie} inside the warped area",
    "{have} been resampled by the warp around {obj}",
    "{differ} faintly from the original where the warp reaches {obj}",
)

_EXTENT = (
    (0.85, ("All of", "The whole of", "Nearly all of")),
    (0.45, ("Most of", "Much of", "A large part of")),
    (0.0, ("Part of", "A portion of", "Some of")),
)

_SUMMARIES = (
    "This photo has been digitally manipulated.",
    "The image is a fake: a local attribute edit was applied.",
    "This picture shows clear signs of an attribute manipulation.",
    "The photo was altered after capture.",
    "This is not an authentic photo; parts of it were edited.",
    "An editing tool has changed this picture.",
    "The image contains manipulated regions.",
)

_COUNTED = (
    "{n} region{s} of this photo {were} edited.",
    "The manipulation touches {n} region{s} of the picture.",
)


class TemplateWriter:
    """Deterministic explanations: the same ``WriterInput`` and seed always give the same text."""

    name = "template"

    def __init__(self, seed: int = 0, config: EvidenceConfig = EvidenceConfig(), synonym_rate: float = 0.3):
        self.seed = seed
        self.config = config
        self.synonym_rate = synonym_rate

    def write(self, item: WriterInput) -> Explanation:
        rng = np.random.default_rng([self.seed, _stable_int(item.key), _stable_int(",".join(item.requested))])
        n = len(item.requested)
        if n and rng.random() < 0.3:
            summary = _pick(rng, _COUNTED).format(n=n, s="" if n == 1 else "s", were="was" if n == 1 else "were")
        else:
            summary = _pick(rng, _SUMMARIES)
        sentences = tuple(self._sentence(item.fict[c], item.evidence.get(c), rng) for c in item.requested)
        return Explanation(summary, sentences, tuple(item.requested), self.name)

    def _sentence(self, concept: Concept, evidence: Evidence | None, rng: np.random.Generator) -> str:
        name = concept_words(concept, rng, self.synonym_rate)
        plural = _is_plural(name)
        grouped = _group(evidence.facts(self.config))[:MAX_CLAUSES] if evidence is not None else []
        recoloured = evidence is not None and evidence.colour_after != evidence.colour_before
        after = evidence.colour_after if recoloured else None
        fallback = _WARP_FALLBACK if evidence is not None and evidence.warped else _FALLBACK
        clauses = [_clause(group, plural, rng, after) for group in grouped] or [_fill(_pick(rng, fallback), plural, rng, None)]
        use_extent = evidence is not None and rng.random() < 0.35
        if use_extent:
            prefix = next(p for limit, p in _EXTENT if evidence.share >= limit)
            subject = f"{_pick(rng, prefix)} <p>the {name}</p>"
        else:
            subject = f"<p>The {name}</p>"
        body = clauses[0] if len(clauses) == 1 else ", ".join(clauses[:-1]) + " and " + clauses[-1]
        return f"{subject} {body}."


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha1(text.encode()).digest()[:8], "little")


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def concept_words(concept: Concept, rng: np.random.Generator, synonym_rate: float = 0.3) -> str:
    """The concept's name, or now and then a synonym that shares a content word with it."""
    content = set(concept.name.lower().split()) - _SIDES
    synonyms = [
        s
        for s in concept.synonyms
        if s.split()[0].lower() not in _LEADING_BLOCKLIST and content & (set(s.lower().split()) - _SIDES)
    ]
    if synonyms and rng.random() < synonym_rate:
        return _pick(rng, synonyms)
    return concept.name


def _head(name: str) -> str:
    cut = min((name.find(p) for p in _PREPOSITIONS if p in name), default=len(name))
    return name[:cut].split()[-1]


def _is_plural(name: str) -> bool:
    head = _head(name.lower())
    return head in _PLURAL_ENDINGS or (head.endswith("s") and not head.endswith(("ss", "is", "us")))


def stated_facts(evidence: Evidence | None, config: EvidenceConfig = EvidenceConfig()) -> list[Fact]:
    """The facts the template writer states about a concept: those of its first `MAX_CLAUSES` clauses."""
    if evidence is None:
        return []
    return [fact for group in _group(evidence.facts(config))[:MAX_CLAUSES] for fact in group]


def _group(facts: list[Fact]) -> list[list[Fact]]:
    """Colour directions go together in one clause; every other fact gets its own."""
    groups: list[list[Fact]] = []
    colour = [f for f in facts if f.kind == "colour"]
    if colour:
        groups.append(colour)
    groups.extend([f] for f in facts if f.kind != "colour")
    return groups


_HUES = {
    frozenset({"redder", "bluer"}): "more purple",
    frozenset({"redder", "yellower"}): "more orange",
    frozenset({"greener", "bluer"}): "more teal",
    frozenset({"greener", "yellower"}): "more olive",
}


def _clause(group: list[Fact], plural: bool, rng: np.random.Generator, colour_after: str | None = None) -> str:
    first = group[0]
    key = (first.kind, first.direction)
    options = _CLAUSES.get(key) or _CLAUSES[(first.kind,)]
    directions = [f.direction for f in group]
    hue = _HUES.get(frozenset(directions))
    direction = hue or " and ".join(directions)
    text = _fill(_pick(rng, options), plural, rng, first.strength).replace("{dir}", direction)
    if first.kind == "colour" and colour_after and rng.random() < 0.6:
        text += _pick(rng, (f", now a {colour_after} shade", f", turning {colour_after}", f" (now {colour_after})"))
    return text


def _fill(template: str, plural: bool, rng: np.random.Generator, strength: str | None) -> str:
    adverb = _pick(rng, _ADVERBS[strength or "slight"])
    adjective = {"slight": "subtle", "clear": "clear", "strong": "strong"}[strength or "slight"]
    words = {
        "be": "are" if plural else "is",
        "look": "look" if plural else "looks",
        "look_bare": "looks",
        "have": "have" if plural else "has",
        "show": "show" if plural else "shows",
        "sit": "sit" if plural else "sits",
        "carry": "carry" if plural else "carries",
        "differ": "differ" if plural else "differs",
        "lie": "lie" if plural else "lies",
        "obj": "them" if plural else "it",
        "adv": adverb,
        "adv_adj": adjective,
    }
    return re.sub(r"\{(\w+)\}", lambda m: words.get(m.group(1), m.group(0)), template)


@dataclass(frozen=True)
class WriterSpec:
    """How to make the explanation writer in each process: ``template``, or ``llm`` with `LLMWriter` options."""

    kind: str = "template"
    seed: int = 0
    llm: tuple[tuple[str, object], ...] = ()

    def make(self):
        """A fresh writer (each worker process makes its own)."""
        if self.kind == "template":
            return TemplateWriter(seed=self.seed)
        from fifa_data.annotate.llm import LLMWriter

        options = dict(self.llm)
        return LLMWriter(options.pop("base_url"), options.pop("model"), **options)
