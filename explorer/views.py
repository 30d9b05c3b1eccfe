"""What every tab shows the same way: a grounded answer as HTML, in the colours `viz` draws its masks in, and boxes."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from fifa_data.viz import age_segments, palette


def grounded_html(text: str) -> str:
    """A grounded answer as HTML: the i-th ``[SEG]``'s phrase bold, underlined and in ``viz.palette``'s i-th colour.

    The same runs as `viz.render_age` draws (`viz.age_segments`), so the page and the picture agree;
    each phrase is a ``<span class="fifa-phrase" data-mask="i">`` for readers and tests.
    """
    runs = age_segments(text)
    colours = palette(sum(1 for _, index in runs if index is not None))
    parts = []
    for part, index in runs:
        if index is None:
            parts.append(html.escape(part))
            continue
        r, g, b = colours[index]
        parts.append(
            f'<span class="fifa-phrase" data-mask="{index + 1}" style="color: rgb({r},{g},{b}); font-weight: 700; '
            f'text-decoration: underline">{html.escape(part or "[SEG]")}</span>'
        )
    body = "".join(parts).strip() or "<em>(empty answer)</em>"
    return f'<div class="fifa-answer" style="font-size: 1.1em; line-height: 1.6">{body}</div>'


def error_html(message: str) -> str:
    """A one-sentence error, as the command-line tools print it, shown in the page instead of a traceback."""
    return f'<div class="fifa-error" style="color: #b00020; font-weight: 600">error: {html.escape(message)}</div>'


def draw_boxes(rgb: np.ndarray, boxes: Iterable[Sequence[float]], colour: tuple[int, int, int]) -> np.ndarray:
    """Draw ``[x0, y0, x1, y1]`` boxes (pixels, x1 and y1 exclusive, as rows store them) on ``rgb`` in place and return it.

    The line grows with the photo so that a box stays visible on a large one.
    """
    thickness = max(2, round(max(rgb.shape[:2]) / 300))
    for x0, y0, x1, y1 in boxes:
        cv2.rectangle(rgb, (round(x0), round(y0)), (round(x1) - 1, round(y1) - 1), colour, thickness)
    return rgb
