"""Silence the start-up lines that native libraries write straight to file descriptor 2.

mediapipe's TFLite and absl runtime print "Created TensorFlow Lite XNNPACK delegate" and
"Feedback manager requires a model with a single signature" the first time each graph runs, and
pycocoevalcap's Java tokeniser reports its speed on every call and logs a two-line
``WARNING: Untokenizable`` for every character it drops (a control character, some symbols). Neither goes through Python's
logging, so :func:`native_noise_filtered` captures the descriptor itself for the duration of the
call and writes back every line that is not known noise.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

NOISE = re.compile(
    r"^(INFO: Created TensorFlow Lite XNNPACK delegate"
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|[IW]\d{4} [\d:. ]+\d+ \S+\.cc:\d+\] "
    r"|PTBTokenizer tokenized \d+ tokens"
    r"|WARNING: Untokenizable: "
    r"|.* edu\.stanford\.nlp\.process\.PTBLexer \w+$)"
)

_LOCK = threading.Lock()  # one capture of fd 2 at a time


@contextmanager
def native_noise_filtered(noise: re.Pattern = NOISE) -> Iterator[None]:
    """Capture fd 2 during the block; afterwards write back the lines that do not match ``noise``."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # stderr replaced by an object without a descriptor
        yield
        return
    with _LOCK, tempfile.TemporaryFile() as capture:
        sys.stderr.flush()
        saved = os.dup(fd)
        os.dup2(capture.fileno(), fd)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().decode(errors="replace").splitlines(keepends=True) if not noise.match(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
