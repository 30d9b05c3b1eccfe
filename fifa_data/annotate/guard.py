"""The consistency guard: no explanation may name a region the masks do not show as edited.

Every writer's output passes :func:`guard` before it becomes a dataset row. It finds every FICT
concept the text names (:class:`~fifa_data.core.fict.ConceptFinder`: names and synonyms, longest match first, with
singular/plural and centre/center variants) and checks:

* a ``<p>`` tag must name exactly the flagged concept it stands for;
* any other mention must name a manipulated concept or an ancestor of one ("the lips" about an
  edit of the lower lip is true, "the nose" is not); the image and the whole face
  (:data:`~fifa_data.core.fict.TOO_BROAD`) may always be named;
* every requested concept must be grounded, once; the summary must not be empty;
* the text may state only the pair's own forgery family (`expected_family`; none when it is
  ``unknown``), as :func:`~fifa_data.annotate.sentences.stated_families` reads it: "an attribute
  edit" said of a face swap is as false as a region the masks do not show.

A summary or sentence that breaks the first two rules or the last is *inconsistent* with the decisions and is dropped; a requested
concept left out is *missing* and is filled in from the fallback writer (the template writer).
An explanation with nothing usable left is *rejected* and replaced by the fallback's whole
text. :class:`GuardCounts` adds this up for a build's report. These are figures of text–decision
consistency: they compare the text with the annotator's own decisions, not with the truth (which
:mod:`.reliability` measures where the truth is known).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Protocol

from fifa_data.annotate.explanation import Explanation, WriterInput
from fifa_data.annotate.sentences import stated_families
from fifa_data.core.families import family_of
from fifa_data.core.fict import ConceptFinder, finder_for
from fifa_data.core.markup import TAG


class Writer(Protocol):
    def write(self, item: WriterInput) -> Explanation: ...


@dataclass(frozen=True)
class GuardResult:
    """What the guard did to one explanation."""

    explanation: Explanation
    hallucinated: tuple[str, ...]  # concepts named without being manipulated (or unresolvable tags: "?")
    missing: tuple[str, ...]  # requested concepts the writer left out
    action: str  # clean | repaired | rejected
    wrong_family: tuple[str, ...] = ()  # families the text stated that are not the pair's


@dataclass
class GuardCounts:
    """Running totals of the guard over a build."""

    texts: int = 0
    clean: int = 0
    repaired: int = 0
    rejected: int = 0
    inconsistent: int = 0  # concepts named that the decisions do not flag, summed over texts
    missing: int = 0  # requested concepts left out, summed over texts
    writer_failures: int = 0  # texts the writer could not deliver (replaced by the fallback writer)
    wrong_family: int = 0  # texts that stated another family than the pair's

    def add(self, result: GuardResult) -> None:
        self.texts += 1
        setattr(self, result.action, getattr(self, result.action) + 1)
        self.inconsistent += len(result.hallucinated)
        self.missing += len(result.missing)
        self.wrong_family += bool(result.wrong_family)

    def merge(self, other: GuardCounts) -> None:
        """Add another run's totals (e.g. a worker process's) to these."""
        for key, value in asdict(other).items():
            setattr(self, key, getattr(self, key) + value)

    def to_dict(self) -> dict:
        return asdict(self)


def guard(
    explanation: Explanation,
    item: WriterInput,
    manipulated: frozenset[str] | set[str],
    fallback: Writer | None = None,
    finder: ConceptFinder | None = None,
) -> GuardResult:
    """Check ``explanation`` against the pair's ``manipulated`` concepts and repair it.

    Without a ``fallback`` writer nothing can be filled in: a text with problems comes back
    unchanged with action ``rejected`` and the caller must drop it.
    """
    fict = item.fict
    finder = finder or finder_for(fict)
    allowed = set(manipulated) | {a.id for c in manipulated for a in fict.ancestors(c)}
    family = expected_family(item)
    hallucinated: list[str] = []
    wrong_family: set[str] = set()

    def other_families(text: str) -> set[str]:
        wrong = stated_families(text) - {family}
        wrong_family.update(wrong)
        return wrong

    summary = explanation.summary
    bad = [c for c in finder.find(summary) if c not in allowed]
    if bad:
        hallucinated += bad
    if other_families(summary) or bad:
        summary = ""

    kept_sentences, kept_concepts, i, duplicates = [], [], 0, 0
    for sentence in explanation.sentences:
        tags = TAG.findall(sentence)
        ids = explanation.concepts[i : i + len(tags)]
        i += len(tags)
        problems = [c if c else "?" for c, phrase in zip(ids, tags) if not c or c not in manipulated or finder.resolve(phrase) != c]
        problems += [c for c in finder.find(TAG.sub("", sentence)) if c not in allowed]
        if problems or other_families(sentence):
            hallucinated += problems
            continue
        if any(c in kept_concepts for c in ids) or len(set(ids)) < len(ids):
            duplicates += 1  # a concept grounded twice would get two [SEG] for one region
            continue
        kept_sentences.append(sentence)
        kept_concepts.extend(ids)

    missing = tuple(c for c in item.requested if c not in kept_concepts)
    hallucinated_t = tuple(dict.fromkeys(hallucinated))
    wrong = tuple(sorted(wrong_family))
    if not hallucinated_t and not missing and not duplicates and not wrong and summary.strip():
        return GuardResult(explanation, (), (), "clean")
    if fallback is None:
        return GuardResult(explanation, hallucinated_t, missing, "rejected", wrong)
    if not kept_sentences and item.requested:
        whole = fallback.write(item)
        note = f"rejected {explanation.writer} text: " + _describe(hallucinated_t, missing, wrong)
        return GuardResult(replace(whole, notes=(*whole.notes, note)), hallucinated_t, missing, "rejected", wrong)

    filled = fallback.write(replace(item, requested=missing, family_facts=())) if missing else None  # the kept text has them
    sentences = tuple(kept_sentences) + (filled.sentences if filled else ())
    concepts = tuple(kept_concepts) + (filled.concepts if filled else ())
    if not summary.strip():
        summary = (filled or fallback.write(replace(item, requested=()))).summary
    note = _describe(hallucinated_t, missing, wrong) or ("dropped a concept grounded twice" if duplicates else "filled in the summary")
    repaired = Explanation(summary, sentences, concepts, explanation.writer, (*explanation.notes, note))
    return GuardResult(repaired, hallucinated_t, missing, "repaired", wrong)


def expected_family(item: WriterInput) -> str:
    """The forgery family a text about ``item`` may state: the one the pipeline decided (the
    manipulation's, or the guess of an unnamed fake: `WriterInput.family`), else the manipulation's."""
    return item.family or family_of(item.manipulation)


def _describe(hallucinated: tuple[str, ...], missing: tuple[str, ...], wrong_family: tuple[str, ...] = ()) -> str:
    parts = []
    if wrong_family:
        parts.append("dropped text stating " + ", ".join(wrong_family))
    if hallucinated:
        parts.append("dropped sentences naming " + ", ".join(hallucinated))
    if missing:
        parts.append("filled in " + ", ".join(missing))
    return "; ".join(parts)
