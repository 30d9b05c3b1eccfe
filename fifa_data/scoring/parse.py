"""Output parsing for FiFa-Bench: a generated answer (any model's free text) in structured form.

:func:`parse_answer` reads the answer to one FiFa-11 task and returns a :class:`ParsedAnswer`.
It is tolerant of sloppy output and never raises on text; what it cannot make sense of is listed
in ``problems`` (fixed, countable reasons), and :class:`ParseCounts` adds those up so that an
evaluation report can say how many answers could not be parsed. The caller scores those as
wrong: nothing is dropped. The rules, per task:

* **det** (real / fake): cue words: *fake, forged, forgery, manipulated, manipulation, edited,
  edit, deepfake, tampered, altered, doctored, retouched, artifacts* vs *real, authentic,
  genuine, untouched, unedited, unaltered, pristine*. A negation up to three words earlier in the
  same clause (*not, no, never, non, without, ...n't*; *nothing, none, neither* anywhere earlier
  in the clause; but not "no doubt") flips a cue, so "not fake", "no sign of manipulation" and
  "nothing here suggests editing" read as real and "not authentic" as fake. Decision order: an answer
  that *starts* with a cue word standing alone ("Fake, though the skin looks real.") is that
  verdict; else the first sentence, if all its cues agree; else the whole text, if all its cues
  agree. Otherwise ``verdict`` is None with "both real and fake" or "no real/fake verdict".
* **cls** (a manipulation id or "real"): a manipulation named in any spelling ("lip colour",
  "Lip-Color", "LIP_COLOR", "lip colors", "aging") is its id; within a sentence a named type wins
  over real cues, and two different types conflict. Without a type, the det cues for real, "none"
  and "no manipulation" give "real". Same first-sentence / whole-text order as det.
* **rdet / bdet** (yes / no): a *yes* or *no* that leads the answer or stands before punctuation
  ("Yes.", "No, it was not edited.", "The answer is no.") decides; both at once is "both yes and
  no". Without one, the det cues decide: manipulated → yes, authentic / not edited → no.
* **loc / rseg / age**: ``[SEG]`` tokens (any case, inner spaces) are counted; ``<p>..</p>``
  phrases are read in order (``< P >``, ``</ p>`` tolerated). A ``[SEG]`` is paired with the
  phrase whose ``</p>`` ends right before it (only whitespace between); a phrase left open up to a
  ``[SEG]`` is paired too, with the problem "unclosed <p>". A bare ``[SEG]`` is normal in loc and
  rseg ("Sure, [SEG].") but a problem in age. In age and rseg, a phrase without ``[SEG]`` is a
  problem. Zero ``[SEG]`` is not: it is the answer "nothing is manipulated".
* **breg**: every ``[x0, y0, x1, y1]`` (or ``(..)``, with or without spaces, floats, signs) is a
  box, its corners sorted so x0 <= x1 and y0 <= y1; its concept is the last FICT concept named
  between the previous box and this one. No box is fine when the answer says the image is real or
  has no manipulated regions; otherwise "no boxes". A bracket of numbers that is not four numbers
  is a "malformed box".
* **toe / rexp / bexp**: free text; only ``concepts`` is filled and there are no problems.

Every task fills ``concepts``: the FICT concepts the text names (:class:`ConceptFinder`, tags and
``[SEG]`` removed), each once, in order of first mention. An empty answer is the problem "empty
answer" for every task except the free-text ones.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field

from fifa_data.core.fict import ConceptFinder, finder_for, load_fict
from fifa_data.core.markup import Grounding, ground, strip
from fifa_data.core.schema import MANIPULATIONS, SEG_TASKS, TASKS

__all__ = ["ParseCounts", "ParsedAnswer", "manipulation_pattern", "parse_answer", "parse_rows"]

FREE_TEXT_TASKS = ("toe", "rexp", "bexp")
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class ParsedAnswer:
    """One answer in structured form; ``problems`` says what could not be parsed (empty: ``ok``)."""

    task: str
    text: str
    verdict: str | None = None  # det: real/fake; rdet, bdet: yes/no; cls: a manipulation id or real
    phrases: tuple[str, ...] = ()  # the <p>..</p> phrases in reading order
    phrase_concepts: tuple[str | None, ...] = ()  # FICT id each phrase names, None if none or several
    segs: int = 0  # number of [SEG] tokens
    seg_phrases: tuple[str | None, ...] = ()  # per [SEG]: the phrase right before it, None if bare
    boxes: tuple[Box, ...] = ()  # breg: (x0, y0, x1, y1) with x0 <= x1, y0 <= y1
    box_concepts: tuple[str | None, ...] = ()  # breg: the concept named just before each box
    concepts: tuple[str, ...] = ()  # every FICT concept named in the text, once, in order
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True if everything this task's answer should hold was parsed."""
        return not self.problems

    def to_dict(self) -> dict:
        """The fields as plain lists and dicts, plus ``ok`` (for JSON reports)."""
        return {**asdict(self), "ok": self.ok}


# --- verdict cues -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    label: str


_FAKE_CUES = frozenset(
    {"fake", "fakes", "faked", "deepfake", "deepfakes", "forged", "forgery", "forgeries", "manipulated", "manipulation", "manipulations"}
    | {"edited", "edit", "edits", "editing", "tampered", "tampering", "altered", "doctored", "retouched"}
    | {"artifact", "artifacts", "artefact", "artefacts"}
)
_REAL_CUES = frozenset({"real", "authentic", "genuine", "untouched", "unedited", "unmanipulated", "unaltered", "untampered", "pristine"})
_NEGATORS = frozenset({"not", "no", "never", "non", "un", "without", "nor", "cannot"})
_NEGATION_REACH = 4  # a negator flips a cue up to this many words later (three words in between)
_CLAUSE_NEGATORS = frozenset({"nothing", "none", "neither"})  # flip every later cue of their clause
_NOT_NEGATIONS = frozenset({"doubt", "question"})  # "no doubt it is fake" negates nothing
_WORD_OR_BREAK = re.compile(r"(?P<word>[A-Za-z]+(?:['’][A-Za-z]+)?)|(?P<brk>[,;:.!?()\[\]\n])")
_CLAUSE_WORDS = frozenset({"but", "though", "although", "however"})
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_ANSWER_PREFIX = re.compile(r"^\W*(?:(?:the|my|final)\s+)*answer\b\s*(?:is\b\s*)?[:\-]?\s*", re.IGNORECASE)
_STANDS_ALONE = re.compile(r"\s*(?:[^\w\s]|$)")
_NONE = re.compile(r"\bnone\b", re.IGNORECASE)
_YES_NO = re.compile(r"\b(yes|no)\b", re.IGNORECASE)


def _is_negator(word: str) -> bool:
    return word in _NEGATORS or word.endswith(("n't", "n’t"))


def _cue_spans(text: str) -> list[_Span]:
    """Real / fake cue words of ``text``, each flipped if a negation precedes it in its clause."""
    spans: list[_Span] = []
    recent: list[str] = []  # the words of the current clause so far
    for m in _WORD_OR_BREAK.finditer(text):
        word = (m.group("word") or "").lower()
        if not word or word in _CLAUSE_WORDS or (word in _NOT_NEGATIONS and recent and _is_negator(recent[-1])):
            recent = []
            continue
        cue = "fake" if word in _FAKE_CUES else "real" if word in _REAL_CUES else None
        if cue is not None:
            if _negated(recent):
                cue = "real" if cue == "fake" else "fake"
            spans.append(_Span(m.start(), m.end(), cue))
        recent.append(word)
    return spans


def _negated(clause: list[str]) -> bool:
    return any(_is_negator(w) for w in clause[-_NEGATION_REACH:]) or any(w in _CLAUSE_NEGATORS for w in clause)


def _leading(sentence: str, spans: list[_Span]) -> str | None:
    """The label of a span that opens ``sentence`` and stands alone ("Fake, ..."), if any."""
    first = re.search(r"\w", sentence)
    for span in spans:
        if first is not None and span.start == first.start() and _STANDS_ALONE.match(sentence, span.end):
            return span.label
    return None


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text) if s.strip()]


def _decide(text: str, labels_of: Callable[[str], set[str]]) -> tuple[str | None, set[str]]:
    """The verdict of the first sentence if it has exactly one label, else of the whole text.

    Returns the verdict (None if there is none or several) and the labels that were seen.
    """
    sentences = _sentences(_ANSWER_PREFIX.sub("", text, count=1))
    if not sentences:
        return None, set()
    first = labels_of(sentences[0])
    if len(first) == 1:
        return next(iter(first)), first
    seen = set().union(*(labels_of(s) for s in sentences))
    return (next(iter(seen)) if len(seen) == 1 else None), seen


def _det_labels(sentence: str) -> set[str]:
    spans = _cue_spans(sentence)
    lead = _leading(sentence, spans)
    return {lead} if lead else {s.label for s in spans}


def _yes_no_labels(sentence: str) -> set[str]:
    first = re.search(r"\w", sentence)
    words = {
        m.group(1).lower()
        for m in _YES_NO.finditer(sentence)
        if (first is not None and m.start() == first.start()) or _STANDS_ALONE.match(sentence, m.end())
    }
    if words:
        return words
    return {"yes" if label == "fake" else "no" for label in _det_labels(sentence)}


def _cls_labels(sentence: str, manipulations: tuple[str, ...]) -> set[str]:
    pattern = manipulation_pattern(manipulations)
    kinds = [_Span(m.start(), m.end(), _kind_id(m, manipulations)) for m in pattern.finditer(sentence)]
    lead = _leading(sentence, kinds)
    if lead:
        return {lead}
    if kinds:
        return {s.label for s in kinds}
    real = any(s.label == "real" for s in _cue_spans(sentence)) or _NONE.search(sentence) is not None
    return {"real"} if real else set()


def _says_real(text: str) -> bool:
    """Whether ``text`` states that the image is real or that nothing was manipulated."""
    return any(s.label == "real" for s in _cue_spans(text)) or _NONE.search(text) is not None


# --- manipulation names -----------------------------------------------------------------------

_WORD_VARIANTS = {"color": "colou?r", "colour": "colou?r", "ageing": "age?ing", "aging": "age?ing"}


def _word_pattern(word: str, last: bool) -> str:
    core = _WORD_VARIANTS.get(word.lower(), re.escape(word))
    return core + ("s?" if last and not word.endswith("s") else "")


@functools.lru_cache(maxsize=16)
def manipulation_pattern(manipulations: tuple[str, ...]) -> re.Pattern:
    """A case-insensitive regex naming any of ``manipulations`` in words (one group per id).

    Words may be joined by spaces, hyphens, underscores or nothing; color/colour, ageing/aging and
    a plural ``s`` are accepted: ``lip_color`` matches "lip colour", "Lip-Color" and "lipcolors".
    """
    ordered = sorted(range(len(manipulations)), key=lambda i: -len(manipulations[i]))
    alternatives = []
    for i in ordered:
        words = [w for w in re.split(r"[\s_\-]+", manipulations[i]) if w]
        body = r"[\s_\-]*".join(_word_pattern(w, k == len(words) - 1) for k, w in enumerate(words))
        alternatives.append(f"(?P<m{i}>{body})")
    return re.compile(r"(?<![A-Za-z])(?:" + "|".join(alternatives) + r")(?![A-Za-z])", re.IGNORECASE)


def _kind_id(match: re.Match, manipulations: tuple[str, ...]) -> str:
    return manipulations[int(match.lastgroup[1:])]


# --- phrases and [SEG] (read by `markup.ground`) ---------------------------------------------


def _grounding_problems(task: str, g: Grounding) -> list[str]:
    problems = list(g.problems)
    if any(not p for p in g.phrases):
        problems.append("empty <p> phrase")
    if task == "age" and None in g.seg_phrases:
        problems.append("[SEG] without a phrase")
    if task in ("age", "rseg") and len(g.paired) < len(g.phrases):
        problems.append("<p> phrase without [SEG]")
    return problems


# --- boxes ------------------------------------------------------------------------------------

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_SEP = r"(?:\s*[,;]\s*|\s+)"
_BOX = re.compile(rf"[\[(]\s*({_NUM}){_SEP}({_NUM}){_SEP}({_NUM}){_SEP}({_NUM})\s*[\])]")
_NUMBERS_IN_BRACKETS = re.compile(r"[\[(][\s\d.,;+\-]*[\])]")


def _box(match: re.Match) -> Box:
    x0, y0, x1, y1 = (float(v) for v in match.groups())
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _boxes(text: str, finder: ConceptFinder) -> tuple[list[Box], list[str | None], list[str]]:
    """The boxes of ``text``, the concept named before each, and the problems found."""
    matches = list(_BOX.finditer(text))
    boxes = [_box(m) for m in matches]
    concepts = []
    for m, previous_end in zip(matches, [0, *(m.end() for m in matches)]):
        named = finder.find(text[previous_end : m.start()])
        concepts.append(named[-1] if named else None)
    problems = []
    box_starts = {m.start() for m in matches}
    if any(m.start() not in box_starts and re.search(r"\d", m.group()) for m in _NUMBERS_IN_BRACKETS.finditer(text)):
        problems.append("malformed box")
    if not boxes and not problems and not _says_real(text):
        problems.append("no boxes")
    return boxes, concepts, problems


# --- the parser -------------------------------------------------------------------------------


def _closed_verdict(task: str, text: str, manipulations: tuple[str, ...]) -> tuple[str | None, list[str]]:
    if task == "det":
        verdict, seen = _decide(text, _det_labels)
        return verdict, [] if verdict else ["both real and fake" if seen else "no real/fake verdict"]
    if task == "cls":
        verdict, seen = _decide(text, lambda s: _cls_labels(s, manipulations))
        return verdict, [] if verdict else ["conflicting manipulation types" if seen else "no manipulation type"]
    verdict, seen = _decide(text, _yes_no_labels)
    return verdict, [] if verdict else ["both yes and no" if seen else "no yes/no answer"]


def parse_answer(
    task: str,
    text: str | None,
    *,
    finder: ConceptFinder | None = None,
    manipulations: Sequence[str] = MANIPULATIONS,
) -> ParsedAnswer:
    """Parse a generated answer to ``task`` (see the module docstring for the rules); never raises on text.

    ``manipulations`` are the cls labels to recognise (the simulator's by default; add a source's own).
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    text = text if isinstance(text, str) else ""
    finder = finder or finder_for(load_fict())
    fields: dict = {"concepts": tuple(dict.fromkeys(finder.find(strip(text))))}
    problems: list[str] = []
    if not text.strip() and task not in FREE_TEXT_TASKS:
        problems.append("empty answer")
    elif task in ("det", "cls", "rdet", "bdet"):
        fields["verdict"], problems = _closed_verdict(task, text, tuple(manipulations))
    elif task in SEG_TASKS:
        g = ground(text)
        fields["phrases"] = tuple(g.phrases)
        fields["phrase_concepts"] = tuple(finder.resolve(p) if p else None for p in g.phrases)
        fields["segs"] = len(g.seg_phrases)
        fields["seg_phrases"] = tuple(g.seg_phrases)
        problems = _grounding_problems(task, g)
    elif task == "breg":
        boxes, box_concepts, problems = _boxes(text, finder)
        fields["boxes"], fields["box_concepts"] = tuple(boxes), tuple(box_concepts)
    return ParsedAnswer(task=task, text=text, problems=tuple(dict.fromkeys(problems)), **fields)


def parse_rows(rows: Sequence[dict], answers: Sequence[str | None], *, finder: ConceptFinder | None = None) -> list[ParsedAnswer]:
    """Parse ``answers[i]`` as an answer to ``rows[i]``'s task.

    The cls labels recognised are the simulator's plus every ``manipulation`` the rows carry.
    """
    if len(rows) != len(answers):
        raise ValueError(f"{len(rows)} rows but {len(answers)} answers")
    labels = tuple(dict.fromkeys([*MANIPULATIONS, *(r["manipulation"] for r in rows if r.get("manipulation"))]))
    finder = finder or finder_for(load_fict())
    return [parse_answer(r["task"], a, finder=finder, manipulations=labels) for r, a in zip(rows, answers)]


@dataclass
class ParseCounts:
    """Per-task totals of answers and of answers that could not be parsed, for a report."""

    total: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    problems: dict[str, int] = field(default_factory=dict)  # how many answers had each problem

    def add(self, parsed: ParsedAnswer) -> None:
        """Count one parsed answer."""
        self.total[parsed.task] = self.total.get(parsed.task, 0) + 1
        self.failed[parsed.task] = self.failed.get(parsed.task, 0) + int(not parsed.ok)
        for problem in parsed.problems:
            self.problems[problem] = self.problems.get(problem, 0) + 1

    def update(self, parsed: Iterable[ParsedAnswer]) -> None:
        """:meth:`add` every answer of ``parsed``."""
        for p in parsed:
            self.add(p)

    def merge(self, other: ParseCounts) -> None:
        """Add another run's totals (e.g. a worker's) to these."""
        for mine, theirs in ((self.total, other.total), (self.failed, other.failed), (self.problems, other.problems)):
            for key, value in theirs.items():
                mine[key] = mine.get(key, 0) + value

    @property
    def answers(self) -> int:
        """All answers counted."""
        return sum(self.total.values())

    @property
    def unparsed(self) -> int:
        """Answers with at least one problem (scored as wrong)."""
        return sum(self.failed.values())

    def as_dict(self) -> dict:
        """Totals as a plain dict: ``answers``, ``unparsed`` and the per-task / per-problem counts."""
        return {
            "answers": self.answers,
            "unparsed": self.unparsed,
            "total": dict(self.total),
            "failed": dict(self.failed),
            "problems": dict(self.problems),
        }

    def summary(self) -> str:
        """One line for a report, e.g. "3 of 120 answers could not be parsed (breg 2, det 1)"."""
        per_task = ", ".join(f"{task} {n}" for task, n in sorted(self.failed.items()) if n)
        return f"{self.unparsed} of {self.answers} answers could not be parsed" + (f" ({per_task})" if per_task else "")
