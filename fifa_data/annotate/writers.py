"""The template writer: deterministic, offline English explanations from decisions and evidence.

:class:`TemplateWriter` states only the facts of :meth:`Evidence.facts`, one sentence per
grounded concept, in the order it is given (reading order: top to bottom); the concepts with no
fact to state are named together in one sentence that states the pair's own measured fact (the
warp's displacement, or the edit's colour difference there). A fake of another forgery family
states its family facts right after the opening, then, for a blend, where its seam runs
(`WriterInput.seam`): a seam concept with no fact of its own is grounded there, the others are
named in plain words (a concept is grounded once). Verbs agree with the concept name
(:mod:`fifa_data.core.grammar`), and a colour is named only where it reads as its shift. Variety comes from a
seeded choice among several phrasings per fact type, several sentence frames, degree adverbs,
and the concept's FICT name or one of its synonyms, so the same pair always reads the same and
two pairs rarely read alike. (The LLM writer lives in :mod:`fifa_data.annotate.llm`.)
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np

from fifa_data.annotate.evidence import Evidence, EvidenceConfig, Fact, colour_agrees
from fifa_data.annotate.explanation import Explanation, WriterInput
from fifa_data.core.families import FAMILY_PHRASES, family_of
from fifa_data.core.fict import Concept
from fifa_data.core.grammar import agreement, subject_is_plural

_SIDES = {"left", "right", "the", "of", "a", "an", "on", "to", "side", "area"}
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
        "{have} lost fine texture to {adv_adj} smoothing",
        "{look} {adv} airbrushed",
        "{show} {adv_adj} smoothing that erases fine detail",
    ),
    ("texture", "sharper"): (
        "{show} a {adv_adj} gain in fine texture",
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
        "{look} {adv} smaller as if squeezed by a warp",
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

# Concepts the writer can state no fact about are named together in one sentence that states the
# pair's measured fact instead: the warp's displacement (or the share of the change it explains),
# or the paint's largest colour difference there.
_WARP_MOVED = (
    "The warp moved the facial landmarks by up to {amount} of the interocular distance; it also reaches {regions}.",
    "The warp, which moved the facial landmarks by up to {amount} of the interocular distance, also reaches {regions}.",
)
_WARP_EXPLAINED = (
    "The warp, which explains {share} of the change between the two photos, also reaches {regions}.",
    "The warp explains {share} of the change between the two photos; it also reaches {regions}.",
)
_WARP_MOVED_FIRST = (  # the same, where no earlier sentence has told of a warp (a self-blend's shifted copy)
    "A warp moved the facial landmarks by up to {amount} of the interocular distance; it reaches {regions}.",
    "A warp reaches {regions}, moving the facial landmarks by up to {amount} of the interocular distance.",
)
_WARP_EXPLAINED_FIRST = (
    "A warp that explains {share} of the change between the two photos reaches {regions}.",
    "A warp explains {share} of the change between the two photos; it reaches {regions}.",
)
_FAINT = (
    "The edit also reaches {regions}, with a mean colour difference of at most ΔE {delta_e}.",
    "The edit also touches {regions}, changing the colour there by at most ΔE {delta_e} on average.",
)

_EXTENT = (
    (0.85, ("All of", "The whole of", "Nearly all of")),
    (0.45, ("Most of", "Much of", "A large part of")),
    (0.0, ("Part of", "A portion of", "Some of")),
)

_NEUTRAL_SUMMARIES = (  # a fake whose family is not known: what happened, no family named
    "This photo has been digitally manipulated.",
    "The photo was altered after capture.",
    "This is not an authentic photo; parts of it were edited.",
    "An editing tool has changed this picture.",
    "The image contains manipulated regions.",
)

_FAMILY_SUMMARIES = {  # the first sentence of a fake of a known family: what happened, at the family's level
    "attribute": (
        "The image is a fake: a local attribute edit was applied.",
        "This picture shows clear signs of an attribute manipulation.",
        "Attributes of this face were edited after capture.",
        "This photo is not authentic: an editing tool changed attributes of the face.",
        "The face in this photo had some of its attributes retouched.",
    ),
    "identity_swap": (
        "The inner face comes from another person and was blended into this photo.",
        "This is a face swap: another person's face was pasted over the original one and blended in.",
        "The face in this photo was replaced by someone else's, blended at its border.",
    ),
    "self_blend": (
        "A slightly altered copy of this same face was blended back into the photo.",
        "The face was blended with a retouched copy of itself: the identity is unchanged, the blend left traces.",
    ),
    "reenactment": (
        "The expression was changed: the face was moved to follow another person's expression.",
        "This face was reenacted: its expression was moved while its identity was kept.",
    ),
    "part_swap": (
        "A facial part comes from another person and was blended into this face.",
        "One feature of this face was taken from someone else and blended in.",
    ),
    "inpainting": (
        "Something was removed from this face and the hole was filled in to blend with what lies around it.",
        "A patch of this face was erased and painted over to match what lies around it.",
    ),
    "synthesis": (
        "This whole face was generated: it is not a photograph of a real person.",
        "The face is synthetic, made by a generator rather than a camera.",
    ),
}

_GUESSED = (  # the opening of a fake whose source names no family: the annotator's guess, hedged
    "This looks like {phrase}, judging by the traces it left.",
    "The traces in this photo suggest {phrase}.",
)

_FAMILY_AREAS = {  # what a family's family-fact sentence calls the region it changed (no FICT name: it is the pair's)
    "identity_swap": "pasted face",
    "part_swap": "pasted part",
    "self_blend": "blended area",
    "inpainting": "filled patch",
}
_FAMILY_FACTS = {  # a family fact as the noun phrase that the family-fact sentence lists
    "blending seam": "a blending seam along its border",
    "colour mismatch": "a colour mismatch with the skin around it",
    "lighting mismatch": "a lighting mismatch with the skin around it",
    "sharpness mismatch": "a sharpness mismatch with the pixels around it",
    "texture replaced": "fine texture that comes from another face",
    "structure removed": "none of the fine structure the original had there",
}
_FAMILY_FRAMES = ("The {area} shows {facts}.", "Its traces: the {area} shows {facts}.")
_SEAM_FRAMES = (  # where a blend's border runs (`WriterInput.seam`)
    "The blending seam runs along {regions}.",
    "The seam of the blend runs along {regions}.",
)
_MOTION_FRAMES = (
    "A smooth warp moved {n} of the face's expression features.",
    "The expression changed through a smooth warp of {n} of the face's features.",
)

_COUNTED = (  # an attribute edit's opening may count its regions
    "An attribute edit changed {n} region{s} of this face.",
    "The face's attributes were edited in {n} region{s}.",
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
        summary = self._summary(item, rng)
        sentences: list[str] = []
        concepts: list[str] = []
        faint: list[str] = []  # concepts with no stated fact, named together at the first one's place
        for concept_id in item.requested:
            evidence = item.evidence.get(concept_id)
            grouped = _group(concept_facts(evidence, self.config, item.family))[:MAX_CLAUSES] if evidence is not None else []
            if grouped:
                sentences.append(self._sentence(item.fict[concept_id], evidence, grouped, rng))
                concepts.append(concept_id)
                continue
            if not faint:
                at = len(sentences)
            faint.append(concept_id)
        seam_grounded = [c for c in item.seam if c in faint]  # a seam concept with no fact of its own is grounded by the seam sentence
        faint = [c for c in faint if c not in seam_grounded]
        if faint:
            told = any(f.direction == "expression moved" for f in item.family_facts) or any("warp" in s for s in sentences[:at])
            sentences.insert(at, self._faint_sentence(item, faint, rng, warp_told=told))
            concepts[at:at] = faint
        if item.family_facts or item.seam:  # the pair's family facts come first, right after the opening
            sentences[:0] = self._family_sentences(item, item.family or family_of(item.manipulation), rng, seam_grounded)
            concepts[:0] = seam_grounded
        return Explanation(summary, tuple(sentences), tuple(concepts), self.name)

    def _summary(self, item: WriterInput, rng: np.random.Generator) -> str:
        """The opening sentence: what happened at the family's level (hedged when the family is the
        annotator's guess); an attribute edit's may count its regions."""
        family = item.family or family_of(item.manipulation)
        if item.guessed and family in FAMILY_PHRASES and family != "unknown":
            return _pick(rng, _GUESSED).format(phrase=FAMILY_PHRASES[family])
        n = len(item.requested)
        if family == "attribute" and n and rng.random() < 0.3:
            return _pick(rng, _COUNTED).format(n=n, s="" if n == 1 else "s")
        return _pick(rng, _FAMILY_SUMMARIES.get(family, _NEUTRAL_SUMMARIES))

    def _family_sentences(self, item: WriterInput, family: str, rng: np.random.Generator, seam_grounded: list[str]) -> list[str]:
        """The pair's measured family facts (`WriterInput.family_facts`), at most one sentence each for
        the motion and for the traces on the changed region, which they name by its role, not by a
        region; then where a blend's seam runs (`WriterInput.seam`), grounding the seam concepts in
        ``seam_grounded`` and naming the others in plain words (they are grounded elsewhere, or not at all)."""
        out = []
        moved = [f for f in item.family_facts if f.direction == "expression moved"]
        if moved:
            n = int(moved[0].value)
            out.append(_pick(rng, _MOTION_FRAMES).format(n=_NUMBERS.get(n, str(n))))
        said = {"blending seam"} if item.seam else set()  # the seam sentence says it, and where
        phrases = [_FAMILY_FACTS[f.direction] for f in item.family_facts if f.direction in _FAMILY_FACTS and f.direction not in said]
        if phrases and family in _FAMILY_AREAS:
            listed = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
            out.append(_pick(rng, _FAMILY_FRAMES).format(area=_FAMILY_AREAS[family], facts=listed))
        if item.seam:
            names = [
                f"<p>the {concept_words(item.fict[c], rng, self.synonym_rate)}</p>" if c in seam_grounded else f"the {item.fict[c].name}"
                for c in item.seam
            ]
            regions = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
            out.append(_pick(rng, _SEAM_FRAMES).format(regions=regions))
        return out

    def _sentence(self, concept: Concept, evidence: Evidence, grouped: list[list[Fact]], rng: np.random.Generator) -> str:
        name = concept_words(concept, rng, self.synonym_rate)
        prefix = ""
        if rng.random() < 0.35:
            prefix = _pick(rng, next(p for limit, p in _EXTENT if evidence.share >= limit))
        plural = subject_is_plural(name, prefix)
        recoloured = evidence.colour_after != evidence.colour_before
        after = evidence.colour_after if recoloured else None
        groups = list(grouped)
        if len(groups) > 1 and " and " in _direction(groups[0]):  # a colour of two directions holds an "and":
            groups.append(groups.pop(0))  # it ends the list of clauses, not its first item
        clauses: list[str] = []
        for group in groups:  # no two clauses in a row open with the same verb ("shows … and shows …")
            clauses.append(_clause(group, plural, rng, after, avoid=clauses[-1].split()[0] if clauses else None))
        subject = f"{prefix} <p>the {name}</p>" if prefix else f"<p>The {name}</p>"
        body = clauses[0] if len(clauses) == 1 else ", ".join(clauses[:-1]) + " and " + clauses[-1]
        return f"{subject} {body}."

    def _faint_sentence(self, item: WriterInput, faint: list[str], rng: np.random.Generator, warp_told: bool = True) -> str:
        """One sentence that names every concept without a stated fact, with the pair's own measured fact;
        it introduces the warp unless an earlier sentence has (``warp_told``)."""
        found = [e for e in (item.evidence.get(c) for c in faint) if e is not None]
        names = []
        for concept_id in faint:
            evidence = item.evidence.get(concept_id)
            name = concept_words(item.fict[concept_id], rng, self.synonym_rate)
            share = "" if evidence is None else _pick(rng, next(p for limit, p in _EXTENT if evidence.share >= limit)).lower() + " "
            names.append(f"{share}<p>the {name}</p>")
        regions = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        kinds = _FAMILY_KINDS.get(item.family or "")
        if any(e.warped for e in found) and (kinds is None or "geometry" in kinds):  # a swap's warp reading is resampling
            moved = [e.displacement for e in item.evidence.values() if e.moved(self.config)]
            if moved:
                return _pick(rng, _WARP_MOVED if warp_told else _WARP_MOVED_FIRST).format(amount=f"{100 * max(moved):.1f} %", regions=regions)
            explained = next((e.pair_motion_explained for e in found if e.pair_motion_explained is not None), None)
            if explained is not None:
                share = "most" if explained >= 0.5 else "much" if explained >= 0.25 else "a small part"
                return _pick(rng, _WARP_EXPLAINED if warp_told else _WARP_EXPLAINED_FIRST).format(share=share, regions=regions)
        delta_e = max((e.delta_e for e in found), default=0.0)
        return _pick(rng, _FAINT).format(regions=regions, delta_e=f"{delta_e:.1f}")


_NUMBERS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


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


_PAINTED = frozenset({"colour", "lightness", "texture", "seam"})
_FAMILY_KINDS = {  # a family whose concepts state only these kinds of `Fact`
    "reenactment": frozenset({"geometry"}),
    "identity_swap": _PAINTED,  # a swap is resampled onto the photo's own mesh: its warp reading is resampling
    "part_swap": _PAINTED,
    "inpainting": _PAINTED,  # a filled patch moves nothing
}


def concept_facts(evidence: Evidence, config: EvidenceConfig = EvidenceConfig(), family: str | None = None) -> list[Fact]:
    """A concept's facts as a pair of ``family`` may state them: a reenactment moves pixels, so a
    colour or texture reading of its concepts is resampling's side effect and is not stated; a swap
    or an inpainting moves none, so a geometry reading of theirs is not stated either."""
    facts = evidence.facts(config)
    kinds = _FAMILY_KINDS.get(family or "")
    return facts if kinds is None else [f for f in facts if f.kind in kinds]


def stated_facts(evidence: Evidence | None, config: EvidenceConfig = EvidenceConfig(), family: str | None = None) -> list[Fact]:
    """The facts the template writer states about a concept: those of its first `MAX_CLAUSES` clauses
    (a concept without any is named in the pair's sentence of faint regions, which states none of its own)."""
    if evidence is None:
        return []
    return [fact for group in _group(concept_facts(evidence, config, family))[:MAX_CLAUSES] for fact in group]


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


def _direction(group: list[Fact]) -> str:
    """A clause's direction words: a colour's two directions as one hue where they make one ("more purple")."""
    directions = [f.direction for f in group]
    return _HUES.get(frozenset(directions)) or " and ".join(directions)


def _clause(group: list[Fact], plural: bool, rng: np.random.Generator, colour_after: str | None = None, avoid: str | None = None) -> str:
    first = group[0]
    key = (first.kind, first.direction)
    options = _CLAUSES.get(key) or _CLAUSES[(first.kind,)]
    if avoid is not None:  # the verb the previous clause opened with, where another template opens otherwise
        verbs = agreement(plural)
        options = [o for o in options if verbs.get(o.split()[0].strip("{}"), o.split()[0]) != avoid] or options
    direction = _direction(group)
    text = _fill(_pick(rng, options), plural, rng, first.strength).replace("{dir}", direction)
    # The colour after is named once, and only where it reads as the result of the stated shift.
    named = first.kind == "colour" and colour_after and colour_after not in direction and colour_agrees(colour_after, [f.direction for f in group])
    if named and rng.random() < 0.6:
        text += f" (now {colour_after})"
    return text


def _fill(template: str, plural: bool, rng: np.random.Generator, strength: str | None) -> str:
    adverb = _pick(rng, _ADVERBS[strength or "slight"])
    adjective = {"slight": "subtle", "clear": "clear", "strong": "strong"}[strength or "slight"]
    words = {**agreement(plural), "look_bare": "looks", "adv": adverb, "adv_adj": adjective}
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
