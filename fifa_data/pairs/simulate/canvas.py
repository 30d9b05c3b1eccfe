"""The machinery every simulated edit shares: the face's eye frame (`_Context`), regions of
interest (`_Roi`), CIE L*a*b* conversions, blending, feathering, noise, strands, the hair
likelihood, and the ground-truth rule of the package docstring."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from fifa_data.core import masks as masklib
from fifa_data.faces import mesh_regions as regions
from fifa_data.faces.concepts import ConceptMasks
from fifa_data.faces.detect import Face

CHANGE_LEVELS = 2  # a pixel whose channels all change by at most this many levels is unchanged
MIN_CHANGED_PIXELS = 10  # an edit that visibly changes fewer pixels is not applicable (e.g. tiny faces)
MIN_WEIGHT = 0.5  # blend weight from which a pixel belongs to the edit
MIN_DISPLACEMENT = 0.5  # displacement (px) from which a pixel belongs to the edit
_FADE_DISPLACEMENT = (0.1, 0.3)  # displacements below the first value are set to zero
_SKIN = ("forehead", "temple", "nose", "cheek", "perioral", "chin", "jaw")


class EditNotApplicable(ValueError):
    """The edit cannot be made on this photo (e.g. the region it changes is not visible)."""


@dataclass(frozen=True)
class _Context:
    image: np.ndarray
    concepts: ConceptMasks
    points: np.ndarray  # (478, 2) float64 landmark pixels
    origin: np.ndarray
    unit: float  # distance between the outer eye corners, px
    ex: np.ndarray  # towards the subject's left
    ey: np.ndarray  # downwards along the face
    gray: bool

    @classmethod
    def of(cls, image: np.ndarray, face: Face, concepts: ConceptMasks) -> _Context:
        points = face.landmarks[:, :2].astype(np.float64)
        origin, unit, ex, ey = regions.frame_axes(points)
        if not unit > 2:
            raise EditNotApplicable(f"face too small to edit (eye distance {unit:.1f} px)")
        sample = image[:: max(1, image.shape[0] // 64), :: max(1, image.shape[1] // 64)].astype(np.int16)
        gray = bool(np.abs(np.diff(sample, axis=2)).max() <= 2)
        return cls(image, concepts, points, origin, unit, ex, ey, gray)

    @property
    def shape(self) -> tuple[int, int]:
        return self.image.shape[:2]

    def mask(self, *concept_ids: str) -> np.ndarray:
        out = np.zeros(self.shape, dtype=bool)
        for concept_id in concept_ids:
            out |= self.concepts.mask(concept_id)
        return out

    def uv(self, roi: _Roi) -> tuple[np.ndarray, np.ndarray]:
        """Eye-frame coordinates (in eye distances) of the pixel centres of ``roi``."""
        xs, ys = roi.grid()
        dx, dy = xs - self.origin[0], ys - self.origin[1]
        return (dx * self.ex[0] + dy * self.ex[1]) / self.unit, (dx * self.ey[0] + dy * self.ey[1]) / self.unit

    def frame_point(self, u: float, v: float) -> np.ndarray:
        return self.origin + self.unit * (u * self.ex + v * self.ey)

    def px(self, share: float, minimum: float = 0.5) -> float:
        """``share`` of the eye distance in pixels, at least ``minimum``."""
        return max(minimum, share * self.unit)


@dataclass(frozen=True)
class _Roi:
    y0: int
    y1: int
    x0: int
    x1: int

    @classmethod
    def around(cls, mask_or_points: np.ndarray, pad: float, shape: tuple[int, int]) -> _Roi:
        """Bounding box of a bool mask or of (N, 2) points, grown by ``pad`` px, inside ``shape``."""
        if mask_or_points.dtype == bool:
            ys, xs = np.nonzero(mask_or_points)
            if len(ys) == 0:
                raise EditNotApplicable("the region to edit is empty")
            lo, hi = (xs.min(), ys.min()), (xs.max() + 1, ys.max() + 1)
        else:
            lo, hi = mask_or_points.min(axis=0), mask_or_points.max(axis=0) + 1
        pad = math.ceil(pad)
        y0, x0 = max(0, math.floor(lo[1]) - pad), max(0, math.floor(lo[0]) - pad)
        y1, x1 = min(shape[0], math.ceil(hi[1]) + pad), min(shape[1], math.ceil(hi[0]) + pad)
        if y1 <= y0 or x1 <= x0:
            raise EditNotApplicable("the region to edit lies outside the photo")
        return cls(y0, y1, x0, x1)

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    @property
    def shape(self) -> tuple[int, int]:
        return self.y1 - self.y0, self.x1 - self.x0

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        ys, xs = np.mgrid[self.y0 : self.y1, self.x0 : self.x1]
        return xs.astype(np.float64), ys.astype(np.float64)

    def union(self, other: _Roi) -> _Roi:
        return _Roi(min(self.y0, other.y0), max(self.y1, other.y1), min(self.x0, other.x0), max(self.x1, other.x1))


def _ground_truth(changed: np.ndarray, weight: np.ndarray, unit: float) -> np.ndarray:
    """The mask of the module docstring from the edit's weight field and the changed pixels."""
    mask = changed | (weight >= MIN_WEIGHT)
    roi = _Roi.around(mask, max(2, unit * 0.02), mask.shape)
    window = mask[roi.slices].astype(np.uint8)
    window = cv2.morphologyEx(window, cv2.MORPH_CLOSE, masklib.disc(0.01 * unit), borderType=cv2.BORDER_CONSTANT, borderValue=0)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(1 - window, connectivity=4)
    h, w = window.shape
    touches = (stats[:, 0] == 0) | (stats[:, 1] == 0)
    touches |= (stats[:, 0] + stats[:, 2] == w) | (stats[:, 1] + stats[:, 3] == h)
    holes = ~touches & (stats[:, 4] < (0.08 * unit) ** 2)
    holes[0] = False  # label 0 is the mask itself
    window = window.astype(bool) | holes[labels]
    out = mask.copy()
    out[roi.slices] |= window
    return out




def _plain(value):
    """``value`` with numpy scalars and arrays turned into plain Python, for JSON."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if isinstance(value, (np.floating, float)):
        return round(float(value), 6)
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    return value


def _smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _blur(field: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(field.astype(np.float32), (0, 0), sigmaX=max(sigma, 0.3), borderType=cv2.BORDER_REPLICATE)


def _feather(mask: np.ndarray, sigma: float, inside: bool = False) -> np.ndarray:
    """Soft weight of a bool mask; ``inside=True`` keeps the whole ramp inside the mask."""
    soft = _blur(mask, sigma)
    if inside:
        soft = _smoothstep(0.5, 1.0, soft).astype(np.float32)
    soft[soft < 0.01] = 0.0
    return soft


def _to_lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def _from_lab(lab: np.ndarray) -> np.ndarray:
    return np.clip(cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2RGB), 0.0, 1.0) * 255.0


def _lab_colour(rgb: tuple[int, int, int]) -> np.ndarray:
    return _to_lab(np.array([[rgb]], dtype=np.uint8))[0, 0].astype(np.float64)


def _rgb_colour(lab: np.ndarray) -> list[int]:
    return [round(float(c)) for c in _from_lab(np.asarray(lab, np.float32).reshape(1, 1, 3))[0, 0]]


def _pick(rng: np.random.Generator, palette: dict, jitter: tuple[float, float, float]) -> tuple[str, np.ndarray]:
    """A named colour of ``palette`` (first element if values are tuples of tuples) jittered in L*a*b*."""
    name = list(palette)[int(rng.integers(len(palette)))]
    value = palette[name]
    rgb = value[0] if isinstance(value[0], tuple) else value
    lab = _lab_colour(rgb) + rng.uniform(-1.0, 1.0, 3) * np.asarray(jitter)
    lab[0] = np.clip(lab[0], 3.0, 97.0)
    return name, lab


def _compose(ctx: _Context, roi: _Roi, new_rgb: np.ndarray, touched: np.ndarray) -> np.ndarray:
    """The photo with ``new_rgb`` (float, 0..255) written into ``roi`` where ``touched``."""
    fake = ctx.image.copy()
    window = fake[roi.slices]
    new = np.clip(np.rint(new_rgb), 0, 255).astype(np.uint8)
    window[touched] = new[touched]
    return fake


def _blend_lab(ctx: _Context, roi: _Roi, lab: np.ndarray, target: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Photo with ``roi`` moved from ``lab`` towards ``target`` by ``weight`` (0..1)."""
    mixed = lab + weight[..., None] * (target - lab)
    return _compose(ctx, roi, _from_lab(mixed), weight > 0)


def _full(shape: tuple[int, int], roi: _Roi, window: np.ndarray) -> np.ndarray:
    out = np.zeros(shape, dtype=np.float32)
    out[roi.slices] = window
    return out


def _noise(rng: np.random.Generator, shape: tuple[int, int], cell: float) -> np.ndarray:
    """Smooth noise with features about ``cell`` px across, roughly unit variance."""
    h, w = shape
    gh, gw = max(2, math.ceil(h / cell) + 2), max(2, math.ceil(w / cell) + 2)
    coarse = rng.standard_normal((gh, gw)).astype(np.float32)
    fine = cv2.resize(coarse, (int(gw * cell), int(gh * cell)), interpolation=cv2.INTER_CUBIC)
    out = fine[int(cell) : int(cell) + h, int(cell) : int(cell) + w]
    return out / max(float(out.std()), 1e-6)


def _strands(
    rng: np.random.Generator, shape: tuple[int, int], direction: np.ndarray, length: float, width: float
) -> np.ndarray:
    """Hair-like texture: white noise smeared along ``direction`` over ``length`` px, unit variance."""
    white = rng.standard_normal(shape).astype(np.float32)
    white = _blur(white, max(0.35, width))
    size = max(3, math.ceil(length) | 1)
    kernel = np.zeros((size, size), np.float32)
    c = size // 2
    d = direction / np.linalg.norm(direction) * (length / 2)
    cv2.line(
        kernel,
        (round((c - d[0]) * 16), round((c - d[1]) * 16)),
        (round((c + d[0]) * 16), round((c + d[1]) * 16)),
        1.0,
        1,
        cv2.LINE_AA,
        shift=4,
    )
    kernel /= kernel.sum()
    out = cv2.filter2D(white, -1, kernel, borderType=cv2.BORDER_REFLECT)
    return (out - out.mean()) / max(float(out.std()), 1e-6)


def _require(mask: np.ndarray, minimum: float, what: str) -> None:
    if mask.sum() < minimum:
        raise EditNotApplicable(f"{what} is not visible enough to edit ({int(mask.sum())} px)")


_HAIR_LIKE = ("forehead", "temple", "ear")  # concepts whose pixels may really be hair


def _head_hair(ctx: _Context) -> tuple[np.ndarray, list[str]]:
    """The head hair: the ``hair`` concept plus the pixels of :data:`_HAIR_LIKE` concepts
    that look like it (a two-Gaussian hair-vs-skin test in L*a*b*) and touch it, and the concept
    ids it covers. Bangs or hair the person map put on the forehead or temples get dyed too."""
    hair = ctx.mask("hair")
    _require(hair, max(50, 0.05 * ctx.unit**2), "the head hair")
    skin = ctx.mask("cheek")
    candidates = ctx.mask(*_HAIR_LIKE) & ~hair
    if skin.sum() < 30 or not candidates.any():
        return hair, ["hair"]
    hair_model = _gaussian(_to_lab(ctx.image[hair][:, None]).reshape(-1, 3))
    skin_model = _gaussian(_to_lab(ctx.image[skin][:, None]).reshape(-1, 3), luma_spread=1.5)
    pixels = _to_lab(ctx.image[candidates][:, None]).reshape(-1, 3)
    grown = hair.copy()
    grown[candidates] = _log_likelihood(pixels, *hair_model) > _log_likelihood(pixels, *skin_model)
    roi = _Roi.around(grown, 1, ctx.shape)
    window = grown[roi.slices].astype(np.uint8)
    disc = masklib.disc(0.01 * ctx.unit)
    window = cv2.morphologyEx(cv2.morphologyEx(window, cv2.MORPH_OPEN, disc), cv2.MORPH_CLOSE, disc)
    _, components = cv2.connectedComponents(window, connectivity=8)
    touching = np.unique(components[hair[roi.slices] & (window > 0)])
    region = hair.copy()
    region[roi.slices] |= np.isin(components, touching[touching > 0])
    extra = [c for c in _HAIR_LIKE if (region & ctx.mask(c)).sum() > 0.02 * region.sum()]
    return region, ["hair", *extra]


def _gaussian(sample: np.ndarray, luma_spread: float = 1.0) -> tuple[np.ndarray, np.ndarray, float]:
    mean = sample.mean(axis=0)
    cov = np.cov(sample, rowvar=False) + np.eye(3) * 2.0
    cov[0, :] *= luma_spread
    cov[:, 0] *= luma_spread
    return mean, np.linalg.inv(cov), float(np.linalg.slogdet(cov)[1])


def _log_likelihood(pixels: np.ndarray, mean: np.ndarray, inverse: np.ndarray, logdet: float) -> np.ndarray:
    centred = pixels - mean
    return -0.5 * np.einsum("ij,jk,ik->i", centred, inverse, centred) - 0.5 * logdet


def _hair_alpha(ctx: _Context, hair: np.ndarray, roi: _Roi) -> np.ndarray:
    """Soft hair weight over ``roi``, snapped to the photo's real hair edges with a guided filter."""
    guide = ctx.image[roi.slices].astype(np.float32)
    radius = max(2, round(0.04 * ctx.unit))
    snapped = cv2.ximgproc.guidedFilter(guide, hair[roi.slices].astype(np.float32), radius, (0.08 * 255) ** 2)
    # Stay near the region: the filter may not spread the hair more than a few pixels.
    near = cv2.dilate(hair[roi.slices].astype(np.uint8), None, iterations=max(1, radius // 2)) > 0
    alpha = _smoothstep(0.1, 0.9, np.clip(snapped, 0.0, 1.0) * _feather(near, ctx.px(0.01, 0.6)))
    return (_feather(alpha > 0.5, ctx.px(0.006, 0.5)) * 0.4 + alpha * 0.6).astype(np.float32)
