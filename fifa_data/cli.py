"""What every FiFa command shares: one error style, clean interrupts, quiet output.

A command is a ``main(argv) -> int`` decorated with :func:`command` (so it runs through :func:`run`):

- a usage mistake (a bad flag, a missing input, an output folder FiFa may not replace) prints
  ``error: <flag or file>: <reason>`` on one line and exits 2;
- a failure during the run (:class:`RunError`) prints the same kind of line and exits 1;
- Ctrl-C or SIGTERM stops the command, prints ``interrupted; <what was kept>`` and exits 130, from
  the script's first line on: a script calls :func:`guard_start` before its heavy imports;
- anything else is a bug and keeps its traceback, as does every error under ``--debug`` (or
  ``FIFA_DEBUG=1``, for ``sft.py``, whose ``--debug`` is the trainer's own).

:class:`ArgumentParser` reports its own errors the same way instead of printing the usage. Every list
option is a :class:`ListAction`, so ``--configs age,loc``, ``--configs age loc`` and mixes of the two
give the same list in every command. Off a terminal, long loops print a plain :class:`ProgressLines`
line every few percent instead of a bar.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Sequence

from fifa_data.core.errors import RunError, UsageError
from fifa_data.outputs import Interrupted

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


__all__ = [
    "USAGE_ERRORS", "ArgumentParser", "ListAction", "OneLineErrors", "ProgressLines", "RunError", "UsageError",
    "command", "guard_start", "progress", "run", "split_items",
]  # fmt: skip

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


def split_items(values: str | Iterable[str]) -> list[str]:
    """The items of a list given with commas, spaces or both: ``["age,loc", "det"]`` → ``["age", "loc", "det"]``."""
    values = [values] if isinstance(values, str) else values
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


class ListAction(argparse.Action):
    """A list option that reads ``age,loc``, ``age loc`` and ``age, loc det`` alike (``nargs="+"``, split at commas).

    ``type`` and ``choices`` apply to each item after the split, and ``length`` asks for exactly that
    many items; a bad item is argparse's own one-line error. Use it as ``action=ListAction`` (or in a
    dataclass field's ``metadata`` for ``HfArgumentParser``).
    """

    def __init__(self, option_strings, dest, nargs="+", type=None, choices=None, length: int | None = None, metavar=None, **kwargs) -> None:
        if nargs != "+":
            raise ValueError(f"{dest}: a ListAction takes nargs='+', not {nargs!r}")
        if metavar is None and choices is not None:
            metavar = "{" + ",".join(map(str, choices)) + "}"
        self.item_type, self.item_choices, self.length = type, choices, length
        super().__init__(option_strings, dest, nargs="+", metavar=metavar, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        items: list = split_items(values)
        if not items:
            raise argparse.ArgumentError(self, "expected at least one value")
        if self.item_type is not None:
            try:
                items = [self.item_type(item) for item in items]
            except (TypeError, ValueError):
                name = getattr(self.item_type, "__name__", repr(self.item_type))
                raise argparse.ArgumentError(self, f"invalid {name} value in {' '.join(values)!r}") from None
        if self.item_choices is not None:
            for item in items:
                if item not in self.item_choices:
                    raise argparse.ArgumentError(self, f"invalid choice: {item!r} (choose from {', '.join(map(repr, self.item_choices))})")
        if self.length is not None and len(items) != self.length:
            raise argparse.ArgumentError(self, f"expected {self.length} values, got {len(items)}")
        setattr(namespace, self.dest, items)


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


class ProgressLines:
    """A progress bar's stand-in for a log: one plain line on stderr each time another ``step`` of the total is done."""

    def __init__(self, total: int, desc: str, unit: str = "row", step: float = 0.05) -> None:
        self.total, self.desc, self.unit, self.step = total, desc, unit, step
        self.done, self._next, self._start = 0, step, time.monotonic()
        print(f"{desc}: 0/{total:,} {unit}s", file=sys.stderr, flush=True)

    def update(self, n: int = 1) -> None:
        self.done += n
        if not self.total or self.done / self.total + 1e-9 < self._next:
            return
        while self._next <= self.done / self.total + 1e-9:
            self._next += self.step
        seconds = time.monotonic() - self._start
        print(f"{self.desc}: {self.done:,}/{self.total:,} {self.unit}s ({100 * self.done / self.total:.0f}%) in {seconds:.0f} s", file=sys.stderr, flush=True)

    def __enter__(self) -> ProgressLines:
        return self

    def __exit__(self, *exc) -> None:
        return None


def progress(total: int, desc: str, unit: str = "row", no_progress: bool = False):
    """A tqdm bar on a terminal, :class:`ProgressLines` off one (a pipe, a log), nothing with ``--no-progress``."""
    from tqdm.auto import tqdm

    if not no_progress and not sys.stderr.isatty():
        return ProgressLines(total, desc, unit)
    return tqdm(total=total, desc=desc, unit=unit, disable=bars_disabled(no_progress))


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
