"""The text a writer produces for one pair, and what a writer is given.

An :class:`Explanation` is an opening *summary* without tags, followed by
*sentences* in which every grounded concept appears as ``<p>phrase</p>``; ``concepts`` lists the
FICT id of each tag in order. From it come the AGE answer (``<p>phrase</p> [SEG]``), the
text-only TOE answer (tags removed) and the per-region sentences of the region and box tasks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fifa_data.annotate.evidence import Evidence, Fact
from fifa_data.core.fict import FICT
from fifa_data.core.markup import SEG, TAG, strip


@dataclass(frozen=True)
class WriterInput:
    """Everything a writer may use for one fake: the facts are the "prior knowledge"."""

    key: str  # stable identity of the pair (its pair_id): seeds the template writer
    fict: FICT
    requested: tuple[str, ...]  # concepts to ground, in reading order
    evidence: dict[str, Evidence]
    fake_bytes: bytes = b""
    real_bytes: bytes | None = None
    manipulation: str | None = None
    seam: tuple[str, ...] = ()  # a blend's seam concepts a text may name (`pipeline.nameable_seam`): where its border runs
    family: str | None = None  # the forgery family: the manipulation's, or the guess's (`guessed`)
    family_facts: tuple[Fact, ...] = ()  # the pair's family facts (`family_evidence.FamilyEvidence.facts`)
    guessed: bool = False  # the family is the annotator's guess: the source named none


@dataclass(frozen=True)
class Explanation:
    """Summary + grounded sentences; ``concepts[i]`` is the FICT id of the i-th ``<p>`` tag."""

    summary: str
    sentences: tuple[str, ...]
    concepts: tuple[str, ...]
    writer: str = "template"
    notes: tuple[str, ...] = field(default=())  # what the guard repaired, if anything

    def __post_init__(self) -> None:
        tags = sum(len(TAG.findall(s)) for s in self.sentences)
        if tags != len(self.concepts):
            raise ValueError(f"explanation has {tags} <p> tags but {len(self.concepts)} concept ids")
        if TAG.search(self.summary):
            raise ValueError("the summary of an explanation must not hold <p> tags")

    def grounded(self) -> str:
        """The AGE answer: each ``<p>phrase</p>`` followed by ``[SEG]``."""
        body = " ".join(TAG.sub(lambda m: f"<p>{m.group(1)}</p> {SEG}", s) for s in self.sentences)
        return f"{self.summary} {body}".strip()

    def plain(self) -> str:
        """The TOE answer: the same text without tags or ``[SEG]``."""
        return strip(f"{self.summary} {' '.join(self.sentences)}")

    def sentences_about(self, concept_id: str) -> list[str]:
        """The sentences (tags removed) that ground ``concept_id``."""
        out, i = [], 0
        for sentence in self.sentences:
            n = len(TAG.findall(sentence))
            if concept_id in self.concepts[i : i + n]:
                out.append(strip(sentence))
            i += n
        return out

    def to_dict(self) -> dict:
        return {
            "summary": self.summary,
            "sentences": list(self.sentences),
            "concepts": list(self.concepts),
            "writer": self.writer,
            "notes": list(self.notes),
        }
