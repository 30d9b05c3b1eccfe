"""What every FiFa command shares: one error style, clean interrupts, quiet output.

A command is a ``main(argv) -> int`` decorated with :func:`command` (so it runs through :func:`run`):

- a usage mistake (a bad flag, a missing input, an output folder FiFa may not replace) prints
  ``error: <flag or file>: <reason>`` on one line and exits 2;
- a failure during the run (:class:`RunError`) prints the same kind of line and exits 1;
- Ctrl-C or SIGTERM stops the command, prints ``interrupted; <what was kept>`` and exits 130, from
  the script's first line on: a script calls :func:`guard_start` before its heavy imports;
- anything else is a bug and keeps its traceback, as does every error under ``--debug`` (or
  ``FIFA_DEBUG=1``, for ``sft.py``, whose ``--debug`` is the trainer's own).

:class:`ArgumentParser` reports its own errors the same way instead of printing the usage.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import signal
import sys
import traceback
from collections.abc import Callable, Sequence

from fifa_data.core.errors import RunError, UsageError
from fifa_data.outputs import Interrupted

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


__all__ = ["USAGE_ERRORS", "ArgumentParser", "OneLineErrors", "RunError", "UsageError", "command", "guard_start", "run"]

# Errors of the library that name the file and the reason themselves: a mistake in the inputs.
# Every domain error of that kind (a bad image, a bad source, an output folder FiFa may not replace) subclasses it.
USAGE_ERRORS = (UsageError,)


class OneLineErrors:
    """Mixin for argparse parsers: an error raises :class:`UsageError` instead of printing the usage."""

    def error(self, message: str):  # noqa: D102 (argparse's signature)
        raise UsageError(_flag_first(message))


class ArgumentParser(OneLineErrors, argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with FiFa's one-line errors and the ``--debug`` flag."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        add_debug_argument(self)


def add_debug_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--debug", action="store_true", help="show the full traceback of any error")


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """``--overwrite`` and ``--no-progress``, the flags of every command that writes a folder."""
    parser.add_argument("--overwrite", action="store_true", help="replace the output folder even if FiFa did not write it")
    add_progress_argument(parser)


def add_progress_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (they are off anyway when stderr is not a terminal)")


def bars_disabled(no_progress: bool) -> bool | None:
    """tqdm's ``disable``: True with ``--no-progress``, else None (bars only when stderr is a terminal)."""
    return True if no_progress else None


def configure_progress(no_progress: bool = False) -> bool:
    """Turn the Hugging Face libraries' own bars off with ``--no-progress`` or when stderr is not a terminal.

    Returns whether bars show. (tqdm's ``disable=None`` does the same for FiFa's own bars.)
    """
    show = not no_progress and sys.stderr.isatty()
    if not show:
        import datasets
        import huggingface_hub.utils

        datasets.disable_progress_bars()
        huggingface_hub.utils.disable_progress_bars()
        if "transformers" in sys.modules:
            sys.modules["transformers"].utils.logging.disable_progress_bar()
    return show


def guard_start(module_name: str) -> None:
    """Called by a command script before its imports: Ctrl-C or SIGTERM until ``main`` runs ends the
    process with the one ``interrupted`` line and exit 130 instead of an import's traceback.

    Does nothing unless ``module_name`` is ``"__main__"``, so importing the script as a module leaves
    the importer's signals alone.
    """
    if module_name != "__main__":
        return
    signal.signal(signal.SIGINT, _exit_interrupted)
    if sys.platform != "win32":
        signal.signal(signal.SIGTERM, _exit_interrupted)


def run(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None) -> int:
    """Run a command's ``main`` with FiFa's error style and interrupt handling; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv or os.environ.get("FIFA_DEBUG", "") not in ("", "0")
    previous = _terminate_as_interrupt()
    starting = _interrupt_raises()
    try:
        return main(argv) or 0
    except USAGE_ERRORS as error:
        return _report(error, EXIT_USAGE, debug)
    except RunError as error:
        return _report(error, EXIT_FAILURE, debug)
    except KeyboardInterrupt as interrupt:
        if debug:
            traceback.print_exc()
        kept = str(interrupt) if isinstance(interrupt, Interrupted) and str(interrupt) else "nothing written"
        print(f"interrupted; {kept}", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if starting is not None:
            signal.signal(signal.SIGINT, starting)


def command(main: Callable[[Sequence[str] | None], int | None]) -> Callable[[Sequence[str] | None], int]:
    """Decorate a command's ``main(argv)`` so that calling it runs it through :func:`run` and returns the exit status."""

    @functools.wraps(main)
    def wrapped(argv: Sequence[str] | None = None) -> int:
        return run(main, argv)

    return wrapped


def _report(error: BaseException, status: int, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
    return status


def _terminate_as_interrupt():
    """SIGTERM (what a scheduler sends) raises KeyboardInterrupt, so it cleans up like Ctrl-C."""
    if sys.platform == "win32":
        return None
    try:
        return signal.signal(signal.SIGTERM, _raise_interrupt)
    except ValueError:  # not the main thread: leave signals alone
        return None


def _interrupt_raises():
    """From ``main`` on, Ctrl-C raises KeyboardInterrupt (so outputs are cleaned up); returns :func:`guard_start`'s handler to put back."""
    if signal.getsignal(signal.SIGINT) is not _exit_interrupted:
        return None
    try:
        return signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread
        return None


def _exit_interrupted(signum, frame):
    """Before ``main``: nothing is written yet, so end at once, whatever import was running."""
    print("interrupted; nothing written", file=sys.stderr, flush=True)
    os._exit(EXIT_INTERRUPTED)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


_ARGUMENT = re.compile(r"^argument ([^:]+): ")
_REQUIRED = re.compile(r"^the following arguments are required: (.+)$")
_UNRECOGNIZED = re.compile(r"^unrecognized arguments: (.+)$")


def _flag_first(message: str) -> str:
    """argparse's messages with the flag first: ``--out: expected one argument``."""
    if match := _REQUIRED.match(message):
        return f"{match.group(1)}: required (see --help)"
    if match := _UNRECOGNIZED.match(message):
        return f"{match.group(1)}: unknown option (see --help)"
    if match := _ARGUMENT.match(message):
        flag = match.group(1).split("/")[-1]
        return f"{flag}: {message[match.end():]}"
    return message
