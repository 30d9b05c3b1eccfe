"""Warps: whether a fake moved the pixels of the real face, and where.

A colour or texture edit changes pixels in place; a warp (a smile, bigger eyes, a slimmer face)
moves them. Its pixel difference lights up only where the moved content has contrast, so most of
a warp's flat skin is missing from a difference mask. `pair_motion` measures dense optical flow
(OpenCV's DIS, medium preset) between the real and fake grey images over the subject's face, at
about `MotionConfig.unit_px` pixels per eye distance, and reads two things off it on the artifact
mask's pixels:

- **explained**: the share of the grey-level difference that warping the fake back by the flow
  removes. A warp's flow removes most of it; the flow that a paint fools (it follows a beard's
  strands, a frame's edges) removes little;
- **coherence**: the length of the locally averaged flow over the average length. A warp's
  field is smooth (0.99 and more); a paint's points every way;
- **one-sidedness**: |sum of the grey-level change| over the sum of its magnitude, on the
  artifact and a rim around it. A warp moves content within the region, so what one pixel gains
  another loses (0.2 typical); a paint that darkens a brow or a beard, or dyes hair, shifts it all
  one way (0.9 to 1).

The pair is **warped** when the flow explains at least `explained` of the change, or
`coherent_explained` with a coherence of at least `coherence`, and the change is not one-sided
(below `one_sided`). Then the pixels the flow moved by
at least `min_move_px` are where the warp is (`PairMotion.moved`), which the annotator adds to
the artifact mask. The flow is measured at 128 px per eye distance: at 64 the half-pixel rim of a
warp is an eighth of a flow pixel, which DIS's smoothing rounds away; for the same reason a smaller
face is enlarged (cubic) to that resolution, up to `MAX_UPSCALE` times. The one-sidedness test keeps
darkened brows and beards, whose flow can explain much of the change in a smooth field, from
reading as warps. (Figures: docs/benchmarks.md and CHANGELOG.md.)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np

IRIS_CENTRES = (468, 473)  # mesh landmarks whose distance is the face's unit
MAX_UPSCALE = 4.0  # a small face is enlarged up to this much to reach `MotionConfig.unit_px`
MIN_FLOW_SIDE = 48  # pixels: OpenCV's DIS crashes on images smaller than its coarsest pyramid level


@dataclass(frozen=True)
class MotionConfig:
    """How the flow is measured and when a pair counts as a warp; recorded in the dataset card."""

    unit_px: float = 128.0  # flow resolution: pixels per eye distance
    pad: float = 0.5  # the flow window: the face's landmarks' box grown by this many eye distances
    explained: float = 0.45
    coherent_explained: float = 0.25
    coherence: float = 0.99
    coherence_sigma: float = 4.0  # flow pixels over which the coherence averages (1/16 eye distance)
    one_sided: float = 0.8
    min_move_px: float = 0.5  # photo pixels: a warp's pixels moved at least this far

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, eq=False)
class PairMotion:
    """The flow's reading of one pair (module docstring); ``moved`` is None unless it is warped."""

    explained: float | None
    coherence: float | None
    warped: bool
    one_sided: float | None = None
    moved: np.ndarray | None = None  # HxW bool: pixels the warp displaced by at least min_move_px

    def to_dict(self) -> dict:
        """The scalar readings, rounded, for a mask's recorded parameters."""
        def rounded(v: float | None) -> float | None:
            return None if v is None else round(v, 4)

        out = {"explained": rounded(self.explained), "coherence": rounded(self.coherence),
               "one_sided": rounded(self.one_sided), "warped": self.warped}
        if self.moved is not None:
            out["moved_pixels"] = int(np.count_nonzero(self.moved))
        return out


NO_MOTION = PairMotion(None, None, False)


def eye_distance(landmarks: np.ndarray) -> float:
    """The distance between the iris centres of a face mesh, in pixels (0 without irises)."""
    points = np.asarray(landmarks, dtype=np.float64)[:, :2]
    if len(points) <= max(IRIS_CENTRES):
        return 0.0
    return float(np.linalg.norm(points[IRIS_CENTRES[0]] - points[IRIS_CENTRES[1]]))


def pair_motion(real: np.ndarray, fake: np.ndarray, artifact: np.ndarray, landmarks: np.ndarray,
                config: MotionConfig = MotionConfig()) -> PairMotion:
    """Flow from `real` to `fake` (RGB uint8) over the face whose mesh is `landmarks`, read on the
    `artifact` pixels (module docstring)."""
    points = np.asarray(landmarks, dtype=np.float64)[:, :2]
    unit = eye_distance(points)
    if unit <= 0 or not artifact.any():
        return NO_MOTION
    h, w = real.shape[:2]
    pad = config.pad * unit
    y0, y1 = max(0, int(points[:, 1].min() - pad)), min(h, int(points[:, 1].max() + pad) + 1)
    x0, x1 = max(0, int(points[:, 0].min() - pad)), min(w, int(points[:, 0].max() + pad) + 1)
    scale = min(MAX_UPSCALE, config.unit_px / unit)
    size = (int(round((x1 - x0) * scale)), int(round((y1 - y0) * scale)))
    if min(size) < MIN_FLOW_SIDE:
        return NO_MOTION  # too small a face to measure motion in
    interpolation = cv2.INTER_AREA if scale <= 1 else cv2.INTER_CUBIC
    grey = [cv2.resize(cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY), size, interpolation=interpolation)
            for image in (real, fake)]
    # A fresh DIS object per call: a reused one lets buffers of earlier calls change the result.
    field = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(grey[0], grey[1], None)
    touched = cv2.resize(artifact[y0:y1, x0:x1].view(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    if np.count_nonzero(touched) < 16:
        return NO_MOTION
    explained = explained_share(grey[0], grey[1], field, touched)
    coherence = flow_coherence(field, touched, config.coherence_sigma)
    one_sided = one_sidedness(grey[0], grey[1], touched)
    smooth = coherence is not None and coherence >= config.coherence
    moves = explained is not None and (explained >= config.explained or (smooth and explained >= config.coherent_explained))
    warped = moves and one_sided < config.one_sided
    if not warped:
        return PairMotion(explained, coherence, False, one_sided)
    sx, sy = size[0] / (x1 - x0), size[1] / (y1 - y0)
    length = np.hypot(field[..., 0] / sx, field[..., 1] / sy)  # photo pixels
    moved = np.zeros((h, w), bool)
    moved[y0:y1, x0:x1] = cv2.resize(length, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR) >= config.min_move_px
    return PairMotion(explained, coherence, True, one_sided, moved)


def warp_back(fake: np.ndarray, field: np.ndarray) -> np.ndarray:
    """`fake` sampled at each pixel plus its real → fake flow: the real image again where a warp moved it."""
    h, w = fake.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(fake, grid_x + field[..., 0], grid_y + field[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def explained_share(real: np.ndarray, fake: np.ndarray, field: np.ndarray, where: np.ndarray) -> float | None:
    """Share of the grey-level difference on the `where` pixels that warping `fake` back by
    `field` (real → fake flow, same grid) removes; None when the images agree there."""
    back = warp_back(fake, field)
    reference = real.astype(np.float32)
    before = float(np.abs(reference - fake)[where].sum())
    after = float(np.abs(reference - back)[where].sum())
    return 1.0 - after / before if before > 0 else None


def one_sidedness(real: np.ndarray, fake: np.ndarray, where: np.ndarray) -> float:
    """|sum of fake - real| over the sum of |fake - real| on `where` and a 2-pixel rim around it:
    near 0 when the change moves content about, 1 when it all goes one way."""
    rim = cv2.dilate(where.view(np.uint8), np.ones((5, 5), np.uint8)) > 0
    change = fake.astype(np.float32)[rim] - real.astype(np.float32)[rim]
    total = float(np.abs(change).sum())
    return abs(float(change.sum())) / total if total > 0 else 0.0


def flow_coherence(field: np.ndarray, where: np.ndarray, sigma: float) -> float | None:
    """Length of the flow averaged over `sigma` pixels over its average length, on the `where`
    pixels: 1 for a smooth field, small for one that turns from pixel to pixel."""
    if np.count_nonzero(where) < 16:
        return None
    length = np.hypot(field[..., 0], field[..., 1])
    mean_length = float(cv2.GaussianBlur(length, (0, 0), sigma)[where].sum())
    if not mean_length > 0 or not math.isfinite(mean_length):
        return None
    mean_flow = cv2.GaussianBlur(field, (0, 0), sigma)
    return float(np.hypot(mean_flow[..., 0], mean_flow[..., 1])[where].sum() / mean_length)
