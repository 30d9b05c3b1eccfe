"""Frames out of videos: deterministic sampling, sequential decoding, one frame in memory at a time.

`sample_indices` spreads N frame numbers evenly over a video; `read_frames` decodes a video front
to back with OpenCV's ``VideoCapture`` (its bundled FFmpeg) and yields only the frames asked for, so
frame ``k`` is the ``k``-th decoded frame of every file (never a seek, which lands on a keyframe) and
a video is never held whole in memory. `count_frames` counts by decoding too, since the count a
container states can be wrong.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import cv2
import numpy as np

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm"})
DEFAULT_FRAMES_PER_VIDEO = 8


class VideoError(ValueError):
    """A video that cannot be opened or decoded (missing, corrupt, truncated); names the file."""


def sample_indices(num_frames: int, per_video: int) -> list[int]:
    """``per_video`` frame numbers evenly spaced over ``num_frames`` (each the centre of its share), all when fewer."""
    if num_frames <= 0 or per_video <= 0:
        return []
    if per_video >= num_frames:
        return list(range(num_frames))
    return sorted({int((k + 0.5) * num_frames / per_video) for k in range(per_video)})


def _open(path: str | os.PathLike) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(os.fspath(path))
    if not capture.isOpened():
        capture.release()
        raise VideoError(f"{path}: cannot be opened as a video")
    return capture


def count_frames(path: str | os.PathLike) -> int:
    """The number of frames of a video, counted by decoding it (`VideoError` when none decodes)."""
    capture = _open(path)
    try:
        count = 0
        while capture.grab():
            count += 1
    finally:
        capture.release()
    if count == 0:
        raise VideoError(f"{path}: no frame decodes (corrupt or truncated)")
    return count


def read_frames(path: str | os.PathLike, indices: Sequence[int]) -> Iterator[tuple[int, np.ndarray]]:
    """``(index, RGB uint8 frame)`` for each wanted index, in order, decoding the video sequentially.

    Stops early (yielding fewer frames) when the video ends before an index; the caller compares.
    """
    wanted = sorted(set(indices))
    if not wanted:
        return
    capture = _open(path)
    try:
        position, k = 0, 0
        while k < len(wanted) and capture.grab():
            if position == wanted[k]:
                ok, frame = capture.retrieve()
                if not ok:
                    return
                yield position, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                k += 1
            position += 1
    finally:
        capture.release()
