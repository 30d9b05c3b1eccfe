"""FICT, the Facial Image Concept Tree: the vocabulary every mask, decision and sentence refers to.

The tree lives in ``fifa_data/data/fict.json``. Concept ids are stable dotted names
(``eye.left.upper_eyelid``); *left* and *right* are always the subject's own left and right,
so in a frontal photo the subject's left eye is on the image's right. Atomic concepts (the
leaves) never overlap in an image; a parent covers exactly the union of its children.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

TOO_BROAD = ("image", "face")  # concepts too broad to name: a text that says "the face" grounds nothing
_WORD = re.compile(r"[a-z0-9']+")
_ARTICLES = frozenset({"the", "a", "an"})
_VARIANTS = (("centre", "center"),)


@dataclass(frozen=True)
class Concept:
    """One node of the tree."""

    id: str
    name: str
    parent: str | None
    level: int
    is_atomic: bool
    description: str
    synonyms: tuple[str, ...]
    children: tuple[str, ...]


class FICT:
    """The concept tree: lookup by id, name or synonym, and walks up and down the hierarchy."""

    def __init__(self, concepts: list[dict], version: str, convention: str = ""):
        self.version = version
        self.convention = convention
        self._concepts = _build(concepts)
        self._by_text = _text_index(self._concepts.values())
        self.root = next(c for c in self._concepts.values() if c.parent is None)
        self.atomic_ids: tuple[str, ...] = tuple(c.id for c in self if c.is_atomic)
        self._subtrees: dict[str, tuple[Concept, ...]] = {}

    def __getitem__(self, concept_id: str) -> Concept:
        try:
            return self._concepts[concept_id]
        except KeyError:
            raise KeyError(_unknown(concept_id, self._concepts)) from None

    def __contains__(self, concept_id: object) -> bool:
        return concept_id in self._concepts

    def __iter__(self) -> Iterator[Concept]:
        return iter(self._concepts.values())

    def __len__(self) -> int:
        return len(self._concepts)

    def lookup(self, text: str) -> Concept:
        """The concept whose id, name or synonym is ``text`` (case and spacing ignored)."""
        if text in self._concepts:
            return self._concepts[text]
        key = _normalise(text)
        if key not in self._by_text:
            raise KeyError(_unknown(text, self._by_text))
        return self._concepts[self._by_text[key]]

    def parent(self, concept_id: str) -> Concept | None:
        """The parent concept, or None for the root."""
        parent = self[concept_id].parent
        return None if parent is None else self._concepts[parent]

    def children(self, concept_id: str) -> list[Concept]:
        """The direct children, in file order."""
        return [self._concepts[c] for c in self[concept_id].children]

    def ancestors(self, concept_id: str) -> list[Concept]:
        """All ancestors, nearest first, ending at the root."""
        out = []
        node = self.parent(concept_id)
        while node is not None:
            out.append(node)
            node = self.parent(node.id)
        return out

    def descendants(self, concept_id: str) -> list[Concept]:
        """All concepts below ``concept_id`` in depth-first file order (itself excluded)."""
        return list(self._below(concept_id))

    def atomic_descendants(self, concept_id: str) -> list[str]:
        """Ids of the atomic concepts a concept is made of; an atomic concept is made of itself."""
        node = self[concept_id]
        if node.is_atomic:
            return [node.id]
        return [c.id for c in self._below(concept_id) if c.is_atomic]

    def _below(self, concept_id: str) -> tuple[Concept, ...]:
        # The tree never changes after loading: walk each subtree once (annotation asks often).
        cached = self._subtrees.get(concept_id)
        if cached is None:
            out: list[Concept] = []
            for child in self.children(concept_id):
                out.append(child)
                out.extend(self._below(child.id))
            cached = self._subtrees[concept_id] = tuple(out)
        return cached

    def is_ancestor(self, ancestor_id: str, concept_id: str) -> bool:
        """Whether ``ancestor_id`` lies strictly above ``concept_id``."""
        return any(a.id == ancestor_id for a in self.ancestors(concept_id))

    def to_rows(self) -> list[dict]:
        """One dict per concept with the columns of the ``fict`` dataset config."""
        return [
            {
                "id": c.id,
                "name": c.name,
                "parent": c.parent,
                "level": c.level,
                "is_atomic": c.is_atomic,
                "description": c.description,
                "synonyms": list(c.synonyms),
                "children": list(c.children),
            }
            for c in self
        ]


DEFAULT_PATH = resources.files("fifa_data") / "data" / "fict.json"


def load_fict(path: str | Path | None = None) -> FICT:
    """Read a FICT file (the bundled one by default) and check that it is a well-formed tree."""
    if path is None:
        return _default_fict()
    return _read(Path(path))


@functools.cache
def _default_fict() -> FICT:
    return _read(DEFAULT_PATH)


def _read(path) -> FICT:
    data = json.loads(path.read_text(encoding="utf-8"))
    try:
        return FICT(data["concepts"], version=data["version"], convention=data.get("convention", ""))
    except (KeyError, ValueError) as err:
        raise ValueError(f"{path}: invalid FICT file: {err}") from None


def _build(rows: list[dict]) -> dict[str, Concept]:
    ids = [r["id"] for r in rows]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate concept ids {duplicates}")
    by_id = {r["id"]: r for r in rows}
    children: dict[str, list[str]] = {i: [] for i in ids}
    roots = []
    for r in rows:
        if r["parent"] is None:
            roots.append(r["id"])
        elif r["parent"] not in by_id:
            raise ValueError(f"concept {r['id']!r} has unknown parent {r['parent']!r}")
        else:
            children[r["parent"]].append(r["id"])
    if len(roots) != 1:
        raise ValueError(f"expected exactly one root, found {roots}")

    levels = {roots[0]: 0}
    stack = [roots[0]]
    while stack:
        node = stack.pop()
        for child in children[node]:
            levels[child] = levels[node] + 1
            stack.append(child)
    unreachable = [i for i in ids if i not in levels]
    if unreachable:
        raise ValueError(f"concepts not reachable from the root (cycle?): {unreachable}")

    return {
        r["id"]: Concept(
            id=r["id"],
            name=r["name"],
            parent=r["parent"],
            level=levels[r["id"]],
            is_atomic=not children[r["id"]],
            description=r["description"],
            synonyms=tuple(r.get("synonyms", ())),
            children=tuple(children[r["id"]]),
        )
        for r in rows
    }


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace("_", " ").split())


def _text_index(concepts) -> dict[str, str]:
    index: dict[str, str] = {}
    for c in concepts:
        for text in (c.id, c.name, *c.synonyms):
            key = _normalise(text)
            if index.setdefault(key, c.id) != c.id:
                raise ValueError(f"{text!r} names both {index[key]!r} and {c.id!r}")
    return index


def _unknown(text: str, known) -> str:
    close = difflib.get_close_matches(_normalise(text), list(known), n=3)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    return f"unknown FICT concept {text!r}{hint}"


class ConceptFinder:
    """Finds the FICT concepts a piece of English names."""

    def __init__(self, fict: FICT):
        self.fict = fict
        self._index: dict[tuple[str, ...], str] = {}
        for concept in fict:
            for text in (concept.name, *concept.synonyms):
                for variant in _spellings(text):
                    self._index.setdefault(_words(variant), concept.id)
        self._longest = max(len(k) for k in self._index)

    def find(self, text: str) -> list[str]:
        """Concept ids named in ``text``, in order of appearance (the image and face excluded)."""
        words = _words(text)
        found, i = [], 0
        while i < len(words):
            for n in range(min(self._longest, len(words) - i), 0, -1):
                concept = self._index.get(tuple(words[i : i + n]))
                if concept is not None:
                    if concept not in TOO_BROAD:
                        found.append(concept)
                    i += n
                    break
            else:
                i += 1
        return found

    def resolve(self, phrase: str) -> str | None:
        """The one concept a grounded phrase names, or None if it names none or several."""
        found = set(self.find(phrase))
        return found.pop() if len(found) == 1 else None


@functools.lru_cache(maxsize=8)
def finder_for(fict: FICT) -> ConceptFinder:
    """The (cached) finder of a tree: building one indexes every name and synonym."""
    return ConceptFinder(fict)


def _words(text: str) -> tuple[str, ...]:
    """Lower-case words without articles, so "the hair on the left" matches "hair on left"."""
    return tuple(w for w in _WORD.findall(text.lower().replace("’", "'")) if w not in _ARTICLES)


def _spellings(text: str) -> set[str]:
    text = text.lower()
    out = {text}
    for a, b in _VARIANTS:
        out |= {t.replace(a, b) for t in out} | {t.replace(b, a) for t in out}
    words = text.split()
    if words and words[-1].endswith("s") and len(words[-1]) > 3 and not words[-1].endswith(("ss", "is")):
        out.add(" ".join([*words[:-1], words[-1][:-1]]))
    return out
