"""Number agreement of the templates: whether a concept name is plural, and the verbs that agree with it.

Every template that puts a concept next to a verb (the explanation writer's clauses, the tasks'
questions and answers) fills its verbs from :data:`VERBS` through :func:`agreement`, and the
sentence checker (:mod:`fifa_data.annotate.sentences`) reads them back from the same table.
"""

from __future__ import annotations

import re

_PREPOSITIONS = (" of ", " around ", " above ", " below ", " beside ", " between ", " under ", " along ", " to ", " on ", " at ")
_IRREGULAR_PLURALS = frozenset({"teeth", "feet", "alae"})

# Placeholder -> (singular form, plural form).
VERBS: dict[str, tuple[str, str]] = {
    "be": ("is", "are"),
    "was": ("was", "were"),
    "have": ("has", "have"),
    "do": ("does", "do"),
    "look": ("looks", "look"),
    "show": ("shows", "show"),
    "sit": ("sits", "sit"),
    "carry": ("carries", "carry"),
    "differ": ("differs", "differ"),
    "lie": ("lies", "lie"),
}
PRONOUNS: dict[str, tuple[str, str]] = {"obj": ("it", "them"), "subj": ("it", "they")}

# Quantifiers whose verb agrees with the quantity ("part of the cheeks *is*"), not with the noun.
SINGULAR_QUANTIFIERS = ("a large part of", "a portion of", "the whole of", "much of", "part of")
# Quantifiers whose verb agrees with the noun ("most of the cheeks *are*").
NOUN_QUANTIFIERS = ("nearly all of", "all of", "most of", "some of")


def head_noun(name: str) -> str:
    """The word a concept name's verb agrees with: its last word before a preposition."""
    lower = name.lower()
    cut = min((lower.find(p) for p in _PREPOSITIONS if p in lower), default=len(lower))
    words = lower[:cut].split()
    return words[-1] if words else lower


def is_plural(name: str) -> bool:
    """Whether a concept name (``"lips"``, ``"nasal sidewalls"``, ``"teeth"``) takes a plural verb."""
    head = head_noun(name)
    return head in _IRREGULAR_PLURALS or (head.endswith("s") and not head.endswith(("ss", "is", "us")))


def subject_is_plural(name: str, quantifier: str = "") -> bool:
    """Whether ``quantifier`` + ``the name`` (``"part of the cheeks"``) takes a plural verb."""
    if quantifier.strip().lower() in SINGULAR_QUANTIFIERS:
        return False
    return is_plural(name)


def agreement(plural: bool) -> dict[str, str]:
    """The verb and pronoun forms that agree with a singular or plural subject, by placeholder."""
    return {key: forms[plural] for key, forms in {**VERBS, **PRONOUNS}.items()}


def conjugate(template: str, plural: bool) -> str:
    """Fill the agreement placeholders (``{be}``, ``{have}``, ``{obj}`` ...) of a template; a
    capitalised placeholder (``{Have}``) gives a capitalised verb. Other placeholders are kept."""
    words = agreement(plural)

    def word(match: re.Match) -> str:
        key = match.group(1)
        if key in words:
            return words[key]
        if key[:1].isupper() and key.lower() in words:
            return words[key.lower()].capitalize()
        return match.group(0)

    return re.sub(r"\{(\w+)\}", word, template)
