"""The grounding markup of FiFa's texts, ``<p>phrase</p> [SEG]``: its tokens and one reader.

A grounded answer names a region as a ``<p>phrase</p>`` followed by a ``[SEG]`` token, whose mask
is the row's next one. This module owns the three tokens (`P_OPEN`, `P_CLOSE`, `SEG`) and the one
way to read them, which every other module imports: the writers and the row validator, the
model's added tokens, the evaluation's answer parser and the viewers.

FiFa's own texts use the canonical spelling (`is_canonical`). A model's answer may not, so
`TOKEN` reads the looser spellings too (any case, spaces inside: ``< P >``, ``</ p>``, ``[ seg ]``)
and `ground` pairs them as FiFa-Bench scores them: a ``[SEG]`` goes with the phrase whose
``</p>`` ends right before it (only whitespace between); a phrase left open up to a ``[SEG]`` goes
with it too, with the problem "unclosed <p>"; any other ``[SEG]`` has no phrase.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["P_CLOSE", "P_OPEN", "SEG", "TAG", "TOKEN", "Grounding", "canonical", "ground", "is_canonical", "strip"]

P_OPEN, P_CLOSE, SEG = "<p>", "</p>", "[SEG]"
TAG = re.compile(r"<p>(.*?)</p>", re.DOTALL)  # a canonical phrase; group 1 is its text
TOKEN = re.compile(r"(?P<open><\s*p\s*>)|(?P<close><\s*/\s*p\s*>)|(?P<seg>\[\s*seg\s*\])", re.IGNORECASE)
_CANONICAL = {"open": P_OPEN, "close": P_CLOSE, "seg": SEG}


@dataclass
class Grounding:
    """The phrases of a text and its ``[SEG]`` tokens, paired up (module docstring).

    ``phrases`` are the texts of every ``<p>`` phrase in order (spaces normalised);
    ``seg_phrases[i]`` is the phrase of the i-th ``[SEG]`` or None; ``paired`` the indices of the
    phrases that have a ``[SEG]``; ``problems`` the malformed markup met on the way;
    ``seg_spans[i]`` the span of ``text`` the i-th ``[SEG]`` takes with its phrase, from the
    phrase's ``<p>`` (or the token itself, without a phrase) to the end of the ``[SEG]`` (of the
    ``</p>`` right after it, in ``<p>phrase [SEG]</p>``).
    """

    phrases: list[str] = field(default_factory=list)
    seg_phrases: list[str | None] = field(default_factory=list)
    paired: set[int] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    seg_spans: list[tuple[int, int]] = field(default_factory=list)


def ground(text: str) -> Grounding:
    """Walk the ``<p>``, ``</p>`` and ``[SEG]`` tokens of ``text`` in order and pair them up."""
    out = Grounding()
    open_at: int | None = None  # where the text of a phrase still open begins
    starts: list[int] = []  # where each phrase's <p> begins
    last: tuple[int, int] | None = None  # (phrase index, end of its </p>) of a closed, unpaired phrase
    inside: int | None = None  # the end of a [SEG] that ended an open phrase: a </p> may follow

    def close(end: int) -> int:
        out.phrases.append(" ".join(text[open_at:end].split()))
        return len(out.phrases) - 1

    def pair(index: int | None, seg: re.Match) -> None:
        out.seg_phrases.append(None if index is None else out.phrases[index])
        out.seg_spans.append((seg.start() if index is None else starts[index], seg.end()))
        if index is not None:
            out.paired.add(index)

    for m in TOKEN.finditer(text):
        after_inside, inside = inside, None
        if m.lastgroup == "open":
            if open_at is not None:
                out.problems.append("unclosed <p>")
                close(m.start())
            open_at, last = m.end(), None
            starts.append(m.start())
        elif m.lastgroup == "close":
            if open_at is None:
                out.problems.append("</p> without <p>")
                if after_inside is not None and not text[after_inside : m.start()].strip():
                    out.seg_spans[-1] = (out.seg_spans[-1][0], m.end())
                continue
            last, open_at = (close(m.start()), m.end()), None
        elif open_at is not None:
            out.problems.append("unclosed <p>")
            index, open_at = close(m.start()), None
            pair(index, m)
            inside = m.end()
        elif last is not None and not text[last[1] : m.start()].strip():
            pair(last[0], m)
            last = None
        else:
            pair(None, m)
            last = None
    if open_at is not None:
        out.problems.append("unclosed <p>")
        close(len(text))
    return out


def canonical(text: str) -> str:
    """``text`` with every markup token spelled as FiFa writes it (``< P >`` becomes ``<p>``)."""
    return TOKEN.sub(lambda m: _CANONICAL[m.lastgroup], text)


def is_canonical(text: str) -> bool:
    """Whether every markup token of ``text`` is spelled exactly as FiFa writes it."""
    return all(m.group() == _CANONICAL[m.lastgroup] for m in TOKEN.finditer(text))


def strip(text: str) -> str:
    """``text`` without its markup tokens (in any spelling `TOKEN` reads), spaces tidied: what a
    reader sees, and what caption metrics and concept finders are given. Tokens between two
    letters or digits leave a space, so words never run together."""
    text = TOKEN.sub("\0", text)
    text = re.sub(r"(?<=[^\W_])\0+(?=[^\W_])", " ", text).replace("\0", "")
    return re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", text)).strip()
