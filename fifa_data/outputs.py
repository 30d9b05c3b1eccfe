"""Output folders that FiFa writes: never someone else's files, written aside and swapped in whole.

Every command that writes a folder (a dataset, a report, an answer, pairs) goes through
:func:`staged_output`: the folder is written as ``.NAME.partial`` beside its target and renamed
into place only once complete, so the target holds either the old result or the new one. A target
that already exists is replaced only when it holds what the same kind of FiFa command made (its
``marker`` file, such as ``build.json``) or is empty; anything else is refused unless the user
passes ``--overwrite``. An interrupted or failed write leaves no ``.partial`` behind.

One command at a time writes a folder: :func:`output_lock` holds an OS lock on ``.NAME.lock``
beside it (released when the process ends, however it ends; both files are removed when it is done)
and a second command is refused, told which process holds it (``.NAME.lock.json``).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from fifa_data.core.errors import UsageError


class OutputRefused(UsageError):
    """The output folder holds files that FiFa did not make; the message names it and the override."""


class OutputBusy(UsageError):
    """Another process is writing the output folder; the message names the folder and that process."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM arrived while an output was being written; the message says what was kept."""


def check_output(out: str | Path, marker: str | Callable[[Path], bool], *, overwrite: bool = False, flag: str = "--out") -> Path:
    """``out`` as a Path, if FiFa may write it: missing, empty, holding ``marker``, or ``overwrite`` given.

    ``marker`` is the file name that marks the folder as this kind of FiFa output, or a test of the folder.
    """
    out = Path(out)
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise OutputRefused(f"{flag} {out}: exists and is not a folder; choose another {flag}")
    ours = marker(out) if callable(marker) else (out / marker).is_file()
    if overwrite or not out.exists() or ours or not any(out.iterdir()):
        return out
    missing = "" if callable(marker) else f" (no {marker})"
    raise OutputRefused(f"{flag} {out}: holds files that FiFa did not write{missing}; choose another {flag} or pass --overwrite to replace it")


def partial_path(out: str | Path) -> Path:
    """Where ``out`` is written before it is swapped into place: ``.NAME.partial`` beside it."""
    out = Path(os.path.abspath(out))  # "a/.." and "b/.." are different folders; so are their staging folders
    return out.parent / f".{out.name}.partial"


@contextmanager
def output_lock(out: str | Path, *, flag: str = "--out") -> Iterator[None]:
    """Hold the lock on writing ``out`` for the block; raise :class:`OutputBusy` at once if another process holds it.

    The lock is the OS's (``filelock``), so a process that dies releases it; the holder's pid and
    command line are written beside it for the message another process prints.
    """
    target = Path(os.path.abspath(out))
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(target.parent / f".{target.name}.lock")
    holder = target.parent / f".{target.name}.lock.json"
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise OutputBusy(f"{flag} {out}: another FiFa command is writing it ({_holder_of(holder)}); wait for it to end or choose another {flag}") from None
    try:
        holder.write_text(json.dumps({"pid": os.getpid(), "command": shlex.join([Path(sys.executable).name, *sys.argv])}))
        yield
    finally:
        holder.unlink(missing_ok=True)
        Path(lock.lock_file).unlink(missing_ok=True)  # while still held: a command that opens it next makes a new one
        lock.release()


def _holder_of(holder: Path) -> str:
    try:
        info = json.loads(holder.read_text())
        return f"pid {info['pid']}: {info['command']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that has not said which"


@contextmanager
def staged_output(out: str | Path, marker: str, *, overwrite: bool = False, flag: str = "--out") -> Iterator[Path]:
    """Yield an empty staging folder for ``out``, under :func:`output_lock`; on success it replaces ``out`` whole, on any error it is removed.

    An interrupt (Ctrl-C, or SIGTERM turned into ``KeyboardInterrupt``) comes out as
    :class:`Interrupted` saying that ``out`` is unchanged.
    """
    out = check_output(out, marker, overwrite=overwrite, flag=flag)
    with output_lock(out, flag=flag):
        out = check_output(out, marker, overwrite=overwrite, flag=flag)  # as the last writer left it
        staging = partial_path(out)
        try:  # the staging folder is made inside: an interrupt the moment it appears still removes it
            if staging.exists():  # left by a process that was killed outright (the lock says none is writing it)
                shutil.rmtree(staging)
            staging.mkdir(parents=True)
            yield staging
            swap_into_place(staging, out)
        except KeyboardInterrupt as interrupt:
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(interrupt, Interrupted):
                raise
            raise Interrupted(f"{out} unchanged") from None
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def swap_into_place(staging: Path, out: Path) -> None:
    """Replace ``out`` by the finished ``staging`` folder with renames (same file system)."""
    old = out.parent / f".{out.name}.old"
    if old.exists():
        shutil.rmtree(old)
    if out.exists():
        out.rename(old)
    staging.rename(out)
    if old.exists():
        shutil.rmtree(old)
