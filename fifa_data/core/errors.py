"""The two kinds of error a user can act on; every domain error that names a file and a reason subclasses one.

A command (:mod:`fifa_data.cli`) prints either as one line: a :class:`UsageError` (a mistake in
the inputs or flags) exits 2, a :class:`RunError` (the run failed for a reason the user can fix)
exits 1. The plumbing thus knows these two classes only, never the modules that raise them.
"""

from __future__ import annotations


class UsageError(ValueError):
    """A mistake in what the user asked for, found before or while reading the inputs (exit 2)."""


class RunError(RuntimeError):
    """The run failed for a reason the user can act on (exit 1)."""
