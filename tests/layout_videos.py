"""Miniature dataset trees for the layout tests: mp4 videos written from the bundled photos.

A clip is a photo moved `SHIFT` pixels right per frame; its fake is one simulated edit of the photo
moved the same way, so frame ``k`` of a fake and of its original are the same moment, and the
written truth mask of frame ``k`` is the edit's mask moved by ``k * SHIFT``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import cv2
import numpy as np

from fifa_data.pairs.photos import astronaut, grace_hopper
from fifa_data.pairs.simulate import simulate_edit

SIDE = 256
FRAMES = 6
SHIFT = 3  # pixels per frame


@cache
def base(name: str) -> np.ndarray:
    photo = {"astronaut": astronaut, "grace_hopper": grace_hopper}[name]()
    return np.ascontiguousarray(cv2.resize(photo, (SIDE, SIDE), interpolation=cv2.INTER_AREA))


@cache
def edit(name: str, manipulation: str, donor: str | None = None, seed: int = 0):
    """The simulated fake of photo ``name`` and its truth mask."""
    return simulate_edit(base(name), manipulation, seed, donor=base(donor) if donor else None)


def moved(image: np.ndarray, k: int) -> np.ndarray:
    """Frame ``k`` of a clip: ``image`` shifted ``k * SHIFT`` pixels right, the edge repeated."""
    matrix = np.float32([[1, 0, k * SHIFT], [0, 1, 0]])
    return cv2.warpAffine(image, matrix, (image.shape[1], image.shape[0]), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)


def write_video(path: Path, frames, size: tuple[int, int] = (SIDE, SIDE)) -> Path:
    """An mp4 (mp4v) of RGB (or 2-D mask) frames of ``size`` (width, height)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, size)
    for frame in frames:
        frame = np.repeat(frame[..., None], 3, axis=2) if frame.ndim == 2 else frame
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def clip(image: np.ndarray, n: int = FRAMES) -> list[np.ndarray]:
    return [moved(image, k) for k in range(n)]


def box_of(mask: np.ndarray) -> np.ndarray:
    """A filled box around a mask (Deepfakes' kind of mask)."""
    ys, xs = np.nonzero(mask)
    out = np.zeros(mask.shape, np.uint8)
    out[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] = 255
    return out


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))
