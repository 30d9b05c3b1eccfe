"""FaceApp-like attribute edits of real face photos: the bundled default source of real/fake pairs.

:func:`simulate_edit` takes a real RGB photo and makes one named attribute edit
(:data:`~fifa_data.schema.MANIPULATIONS`) confined to the FICT regions of its face: lipstick, hair dye, a smile,
bigger eyes, a slimmer face, smoothed skin, bolder eyebrows, a beard, glasses, or ageing. It
returns the fake, the exact ground-truth edit mask and the edit's parameters. Strength, colours
and shapes are drawn from a :class:`numpy.random.Generator`, so one photo yields many distinct
fakes, and the same seed always gives the same bytes.

Ground-truth mask
-----------------
Every edit works through a *weight* field: a blend weight in [0, 1] for colour and texture
edits, a displacement field in pixels for warps. The mask is

    (weight >= 0.5  or  displacement >= 0.5 px)  or  (some channel of the fake differs from the
    real one by more than ``CHANGE_LEVELS`` = 2 levels),

closed with a disc of about 1 % of the eye distance and with its small holes filled (a hole
smaller than (0.08 eye distances)^2, such as the middle of a magnified iris whose colour did not
change). So the mask holds the region the edit was applied to at half strength or more plus every
pixel it visibly changed, and outside the mask no channel differs by more than 2 levels. The
fake is not re-encoded; writers that re-encode it add compression noise everywhere.

Realism
-------
Colours are changed in CIE L*a*b*: chroma is moved towards a target colour while the luminance
*texture* (the deviation of L* from its regional mean) is kept, so skin pores, lip lines and hair
strands survive. Blend weights are feathered (Gaussian) and hair weights are snapped to the real
hair edges with a guided filter. Warps are smooth displacement fields (compactly supported
Wendland radial basis functions through mesh landmarks, or radial bulges) applied with
:func:`cv2.remap`; displacements below 0.1 px are faded to exactly zero so the rest of the photo
keeps its bytes. Textures (beard hair, wrinkles, grey strands) are smooth or strand-like noise
drawn from the generator. Grayscale photos stay grayscale.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from . import mesh_regions as regions
from .concepts import ConceptMasks, concept_masks
from .faces import Face, analyze_face
from .schema import MANIPULATIONS

__all__ = ["CHANGE_LEVELS", "Edit", "EditNotApplicable", "simulate_edit"]

CHANGE_LEVELS = 2  # a pixel whose channels all change by at most this many levels is unchanged
MIN_CHANGED_PIXELS = 10  # an edit that visibly changes fewer pixels is not applicable (e.g. tiny faces)
MIN_WEIGHT = 0.5  # blend weight from which a pixel belongs to the edit
MIN_DISPLACEMENT = 0.5  # displacement (px) from which a pixel belongs to the edit
_FADE_DISPLACEMENT = (0.1, 0.3)  # displacements below the first value are set to zero

_SKIN = ("forehead", "temple", "nose", "cheek", "perioral", "chin", "jaw")

# sRGB colours of the palettes; each draw jitters them in L*a*b*.
_LIPSTICKS = {
    "red": (172, 24, 40),
    "crimson": (145, 18, 45),
    "pink": (214, 96, 136),
    "rose": (188, 92, 108),
    "berry": (124, 34, 76),
    "plum": (104, 40, 72),
    "nude": (186, 122, 104),
    "coral": (232, 106, 88),
    "orange_red": (208, 62, 40),
}
_DYES = {
    "black": (28, 24, 24),
    "dark_brown": (68, 44, 30),
    "chestnut": (108, 60, 36),
    "auburn": (128, 48, 30),
    "copper": (184, 92, 46),
    "strawberry_blond": (214, 142, 102),
    "blond": (206, 172, 112),
    "platinum": (226, 216, 196),
    "burgundy": (108, 26, 46),
    "pastel_pink": (228, 160, 188),
    "pastel_blue": (150, 180, 220),
    "lavender": (178, 158, 218),
}
_BROW_COLOURS = {
    "black": (26, 22, 22),
    "dark_brown": (60, 40, 30),
    "brown": (96, 64, 44),
    "auburn": (110, 52, 34),
    "ash_brown": (88, 78, 70),
}
_FRAMES = {
    "black": ((22, 22, 24), "acetate"),
    "tortoise": ((92, 56, 30), "acetate"),
    "navy": ((30, 40, 82), "acetate"),
    "burgundy": ((110, 26, 40), "acetate"),
    "gold": ((196, 160, 88), "metal"),
    "silver": ((176, 178, 184), "metal"),
    "gunmetal": ((82, 84, 90), "metal"),
}
_TINTS = {
    "grey": (70, 70, 72),
    "brown": (110, 74, 40),
    "green": (60, 86, 62),
    "blue": (54, 74, 110),
    "rose": (150, 90, 100),
}


class EditNotApplicable(ValueError):
    """The edit cannot be made on this photo (e.g. the region it changes is not visible)."""


@dataclass(frozen=True)
class Edit:
    """One simulated fake.

    ``fake`` is HxWx3 uint8, the same size as the real photo, not re-encoded. ``mask`` is the
    HxW bool ground-truth edit region (see the module docstring). ``params`` is JSON-serialisable
    and always holds ``strength`` (in [0, 1]) and ``concepts`` (the FICT ids the edit targets).
    """

    manipulation: str
    fake: np.ndarray
    mask: np.ndarray
    params: dict


def simulate_edit(
    image: np.ndarray,
    manipulation: str,
    rng: np.random.Generator | int,
    *,
    face: Face | None = None,
    concepts: ConceptMasks | None = None,
) -> Edit:
    """Make one ``manipulation`` of a real RGB uint8 photo, drawing its parameters from ``rng``.

    ``face`` and ``concepts`` are :func:`~fifa_data.faces.analyze_face` and
    :func:`~fifa_data.concepts.concept_masks` of ``image``, computed when omitted (pass them to
    make many edits of one photo). Raises :class:`EditNotApplicable` (a ``ValueError``) when
    the photo lacks what the edit needs, and ``ValueError`` for an unknown manipulation or an
    image that is not HxWx3 uint8.
    """
    if manipulation not in _EDITS:
        raise ValueError(f"unknown manipulation {manipulation!r}; known: {', '.join(MANIPULATIONS)}")
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ValueError(f"image must be an HxWx3 uint8 RGB array, got {got}")
    image = np.ascontiguousarray(image)
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    face = face if face is not None else analyze_face(image)
    concepts = concepts if concepts is not None else concept_masks(image, face)
    if concepts.labels.shape != image.shape[:2]:
        raise ValueError(f"concept masks are {concepts.labels.shape}, the image is {image.shape[:2]}")

    ctx = _Context.of(image, face, concepts)
    fake, weight, params = _EDITS[manipulation](ctx, rng)
    if ctx.gray:
        fake = np.repeat(cv2.cvtColor(fake, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    changed = np.abs(fake.astype(np.int16) - image.astype(np.int16)).max(axis=2) > CHANGE_LEVELS
    if changed.sum() < MIN_CHANGED_PIXELS:
        raise EditNotApplicable(f"{manipulation} is too small to see on this photo ({int(changed.sum())} px changed)")
    mask = _ground_truth(changed, weight, ctx.unit)
    return Edit(manipulation=manipulation, fake=fake, mask=mask, params=_plain(params))


# --- shared machinery --------------------------------------------------------------------------


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
    radius = max(1, round(0.01 * unit))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    window = cv2.morphologyEx(window, cv2.MORPH_CLOSE, disc, borderType=cv2.BORDER_CONSTANT, borderValue=0)
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


# --- warps -------------------------------------------------------------------------------------


def _wendland(r: np.ndarray) -> np.ndarray:
    """Wendland's C2 kernel: smooth, positive definite in 2-D, exactly zero for r >= 1."""
    r = np.minimum(r, 1.0)
    return (1 - r) ** 4 * (4 * r + 1)


def _rbf_field(centres: np.ndarray, moves: np.ndarray, radius: float, roi: _Roi) -> np.ndarray:
    """(h, w, 2) displacement over ``roi`` that interpolates ``moves`` (N, 2) at ``centres`` (N, 2)."""
    gram = _wendland(np.linalg.norm(centres[:, None] - centres[None], axis=2) / radius)
    weights = np.linalg.solve(gram + 1e-6 * np.eye(len(centres)), moves)
    xs, ys = roi.grid()
    field = np.zeros((*roi.shape, 2))
    for (cx, cy), w in zip(centres, weights):
        r2 = ((xs - cx) ** 2 + (ys - cy) ** 2) / radius**2
        near = r2 < 1
        if near.any():
            k = _wendland(np.sqrt(r2[near]))
            field[near] += k[:, None] * w
    return field


def _warp(ctx: _Context, roi: _Roi, field: np.ndarray, backward: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Move the content of ``roi`` by the displacement ``field`` (h, w, 2); returns (fake, |displacement|).

    A forward field moves the content at s to s + d(s); a ``backward`` one fetches the content of
    x from x - d(x).
    """
    magnitude = np.linalg.norm(field, axis=2)
    field = field * _smoothstep(*_FADE_DISPLACEMENT, magnitude)[..., None]
    magnitude = np.linalg.norm(field, axis=2)
    xs, ys = roi.grid()
    back = field
    if not backward:  # the source of x is x - d(x - d(x)): one fixed-point step of inverting x = s + d(s)
        first_x, first_y = xs - field[..., 0] - roi.x0, ys - field[..., 1] - roi.y0
        back = np.stack([_sample(field[..., i], first_x, first_y) for i in (0, 1)], axis=2)
    map_x = (xs - back[..., 0]).astype(np.float32)
    map_y = (ys - back[..., 1]).astype(np.float32)
    warped = cv2.remap(ctx.image, map_x, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)
    fake = _compose(ctx, roi, warped.astype(np.float32), magnitude > 0)
    return fake, _full(ctx.shape, roi, magnitude)


def _sample(field: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return cv2.remap(
        field.astype(np.float32),
        x.astype(np.float32),
        y.astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )


def _displacement_weight(magnitude: np.ndarray) -> np.ndarray:
    """Displacement as a weight: >= 0.5 exactly where the displacement is >= MIN_DISPLACEMENT px."""
    return magnitude * (MIN_WEIGHT / MIN_DISPLACEMENT)


# --- the edits ---------------------------------------------------------------------------------


def _lip_color(ctx: _Context, rng: np.random.Generator):
    """Lipstick: the lips' a*/b* moved to a lipstick colour, L* shifted with its texture kept."""
    lips = ctx.mask("lips")
    _require(lips, 12, "the lips")
    strength = float(rng.uniform())
    name, colour = _pick(rng, _LIPSTICKS, (5.0, 6.0, 6.0))
    sigma = ctx.px(0.012, 0.6)
    roi = _Roi.around(lips, 4 * sigma + 2, ctx.shape)
    weight = _smoothstep(0.35, 0.95, _blur(lips[roi.slices], sigma)).astype(np.float32)  # crisp, mostly inside
    mouth = _feather(ctx.mask("mouth")[roi.slices], sigma * 0.6)
    weight *= 1 - mouth
    opacity = 0.45 + 0.5 * strength
    weight *= opacity

    lab = _to_lab(ctx.image[roi.slices])
    inside = lips[roi.slices]
    mean = lab[inside].mean(axis=0)
    target = np.empty_like(lab)
    target[..., 0] = lab[..., 0] + 0.6 * (colour[0] - mean[0])  # keeps the lip lines
    target[..., 1:] = colour[1:] + 0.4 * (lab[..., 1:] - mean[1:])
    gloss = float(rng.uniform(0.0, 0.6))
    highlight = np.clip(lab[..., 0] - np.percentile(lab[inside][:, 0], 85), 0, None)
    target[..., 0] += gloss * highlight
    fake = _blend_lab(ctx, roi, lab, target, weight)
    params = {
        "strength": strength,
        "concepts": ["lips"],
        "color_name": name,
        "color_rgb": _rgb_colour(colour),
        "opacity": opacity,
        "gloss": gloss,
        "feather_px": sigma,
    }
    return fake, _full(ctx.shape, roi, weight / opacity), params


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
    size = 2 * max(1, round(0.01 * ctx.unit)) + 1
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
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


def _hair_color(ctx: _Context, rng: np.random.Generator):
    """Hair dye: the head hair moved to a dye's L*a*b*, keeping the strands' luminance texture."""
    hair, concepts = _head_hair(ctx)
    strength = float(rng.uniform())
    name, colour = _pick(rng, _DYES, (4.0, 4.0, 4.0))
    roi = _Roi.around(hair, ctx.px(0.08, 3), ctx.shape)
    alpha = _hair_alpha(ctx, hair, roi)
    amount = 0.55 + 0.45 * strength
    weight = alpha * amount

    lab = _to_lab(ctx.image[roi.slices])
    inside = alpha > 0.5
    if inside.sum() < 10:
        raise EditNotApplicable("the head hair is not visible enough to edit")
    mean = lab[inside].mean(axis=0)
    contrast = float(np.clip(math.sqrt((colour[0] + 8) / (mean[0] + 8)), 0.7, 1.6))
    target = np.empty_like(lab)
    target[..., 0] = np.clip(colour[0] + contrast * (lab[..., 0] - mean[0]), 0, 100)
    shade = np.clip((target[..., 0] + 10) / (colour[0] + 10), 0.35, 1.3)[..., None]
    target[..., 1:] = colour[1:] * shade + 0.35 * (lab[..., 1:] - mean[1:])
    fake = _blend_lab(ctx, roi, lab, target, weight)
    params = {
        "strength": strength,
        "concepts": concepts,
        "color_name": name,
        "color_rgb": _rgb_colour(colour),
        "amount": amount,
        "contrast": contrast,
    }
    return fake, _full(ctx.shape, roi, alpha), params


def _smile(ctx: _Context, rng: np.random.Generator):
    """Mouth corners lifted up and out (cheeks follow a little); lip centres, nose and chin stay."""
    p = ctx.points
    strength = float(rng.uniform())
    lift = (0.025 + 0.045 * strength) * ctx.unit
    spread = float(rng.uniform(0.2, 0.6))
    cheek = float(rng.uniform(0.2, 0.5))
    up = -ctx.ey
    moves, centres = [], []
    for corner, inner, apple, out in ((61, 78, 50, -ctx.ex), (291, 308, 280, ctx.ex)):
        corner_move = lift * (up + spread * out)
        centres += [p[corner], p[inner], p[apple]]
        moves += [corner_move, 0.9 * corner_move, cheek * lift * up]
    anchors = [0, 17, 13, 14, 1, 152, 4]
    centres += [p[i] for i in anchors]
    moves += [np.zeros(2)] * len(anchors)
    centres, moves = np.array(centres), np.array(moves)
    radius = 0.3 * ctx.unit
    roi = _Roi.around(centres, radius + 2, ctx.shape)
    field = _rbf_field(centres, moves, radius, roi)
    fake, magnitude = _warp(ctx, roi, field)
    params = {
        "strength": strength,
        "concepts": ["lips", "perioral", "cheek"],
        "corner_lift_px": lift,
        "corner_spread": spread,
        "cheek_lift": cheek,
        "radius_px": radius,
    }
    return fake, _displacement_weight(magnitude), params


def _eye_enlarge(ctx: _Context, rng: np.random.Generator):
    """An elliptical bulge on each iris centre, magnifying it by ``scale`` and fading out to the rim."""
    p = ctx.points
    strength = float(rng.uniform())
    scale = 1.05 + 0.2 * strength
    reach = float(rng.uniform(0.9, 1.15))
    a = 1 - 1 / scale
    fields, rois = [], []
    for side in ("right", "left"):
        centre = p[regions.IRIS[side][0]]
        inner, outer = regions.EYE_CORNERS[side]
        width = float(np.linalg.norm(p[outer] - p[inner]))
        if width < 2:
            raise EditNotApplicable(f"the {side} eye is too small to edit")
        ru, rv = reach * width, 0.75 * reach * width
        roi = _Roi.around(centre[None], ru + 2, ctx.shape)
        xs, ys = roi.grid()
        dx, dy = xs - centre[0], ys - centre[1]
        qu = (dx * ctx.ex[0] + dy * ctx.ex[1]) / ru
        qv = (dx * ctx.ey[0] + dy * ctx.ey[1]) / rv
        t = np.minimum(qu**2 + qv**2, 1.0)
        push = a * (1 - t) ** 2  # source = centre + (x - centre) * (1 - push): magnification 1/(1-a) at the centre
        fields.append((roi, np.stack([dx * push, dy * push], axis=2)))
        rois.append(roi)
    roi = rois[0].union(rois[1])
    field = np.zeros((*roi.shape, 2))
    for r, f in fields:
        field[r.y0 - roi.y0 : r.y1 - roi.y0, r.x0 - roi.x0 : r.x1 - roi.x0] += f
    fake, magnitude = _warp(ctx, roi, field, backward=True)
    params = {
        "strength": strength,
        "concepts": ["eye.left", "eye.right"],
        "scale": scale,
        "radius_to_eye_width": reach,
    }
    return fake, _displacement_weight(magnitude), params


def _face_slim(ctx: _Context, rng: np.random.Generator):
    """The face oval below the eyes pushed towards the face's centre line, most at the jaw."""
    p = ctx.points
    strength = float(rng.uniform())
    amount = (0.02 + 0.04 * strength) * ctx.unit
    lower = float(rng.uniform(0.55, 0.95))  # where along the face the push peaks (eye frame v)
    oval = p[list(regions.FACE_OVAL)]
    rel = oval - ctx.origin
    u, v = rel @ ctx.ex / ctx.unit, rel @ ctx.ey / ctx.unit
    keep = v > 0.05
    if keep.sum() < 6:
        raise EditNotApplicable("the lower face contour is not visible")
    u, v, oval = u[keep], v[keep], oval[keep]
    profile = _smoothstep(0.05, lower, v) * _smoothstep(0.05, 0.35, np.abs(u))
    profile *= 1 - 0.5 * _smoothstep(lower, 1.3, v)
    moves = -np.sign(u)[:, None] * ctx.ex[None] * (amount * profile)[:, None]
    # Zero-displacement anchors inside the face (the contour pushes the cheeks in a bit) and
    # outside it (the background stretches over a short distance only).
    inner = np.array([ctx.frame_point(0.45 * uu, vv) for uu, vv in zip(u, v)])
    outer = np.array([ctx.frame_point(1.35 * uu, vv + 0.25 * max(vv - 0.6, 0)) for uu, vv in zip(u, v)])
    anchors = np.array([p[i] for i in (1, 4, 0, 17, 13, 14, 33, 263, 133, 362)])
    centres = np.concatenate([oval, inner, outer, anchors])
    all_moves = np.concatenate([moves, np.zeros((len(inner) + len(outer) + len(anchors), 2))])
    radius = 0.32 * ctx.unit
    roi = _Roi.around(oval, radius + 2, ctx.shape)
    field = _rbf_field(centres, all_moves, radius, roi)
    fake, magnitude = _warp(ctx, roi, field)
    params = {
        "strength": strength,
        "concepts": ["jaw", "cheek", "chin"],
        "push_px": amount,
        "peak_v": lower,
        "radius_px": radius,
    }
    return fake, _displacement_weight(magnitude), params


def _facial_skin(ctx: _Context) -> np.ndarray:
    """Skin concepts inside the face oval, without hair that falls over them (bangs)."""
    oval = np.zeros(ctx.shape, np.uint8)
    cv2.fillPoly(oval, [np.round(ctx.points[list(regions.FACE_OVAL)] * 16).astype(np.int32)], 1, cv2.LINE_8, shift=4)
    skin = ctx.mask(*_SKIN) & (oval > 0)
    try:
        hair, _ = _head_hair(ctx)
    except EditNotApplicable:
        return skin
    return skin & ~hair


def _skin_smooth(ctx: _Context, rng: np.random.Generator):
    """Beauty filter: edge-preserving guided-filter smoothing of the facial skin, slightly brightened."""
    skin = _facial_skin(ctx)
    _require(skin, max(50, 0.1 * ctx.unit**2), "the facial skin")
    strength = float(rng.uniform())
    roi = _Roi.around(skin, ctx.px(0.05, 3), ctx.shape)
    weight = _feather(skin[roi.slices], ctx.px(0.02, 0.8), inside=True)
    radius = max(1, round(ctx.unit * (0.02 + 0.03 * strength)))
    eps = (255 * (0.03 + 0.05 * strength)) ** 2
    crop = ctx.image[roi.slices].astype(np.float32)
    smooth = cv2.ximgproc.guidedFilter(crop, crop, radius, eps)
    keep_detail = 0.45 * (1 - strength)
    smooth = smooth + keep_detail * (crop - smooth)
    brighten = float(rng.uniform(0.0, 3.0))
    lab = _to_lab(np.clip(np.rint(smooth), 0, 255).astype(np.uint8))
    lab[..., 0] += brighten
    fake = _blend_lab(ctx, roi, _to_lab(ctx.image[roi.slices]), lab, weight)
    params = {
        "strength": strength,
        "concepts": list(_SKIN),
        "filter": "guided",
        "radius_px": radius,
        "eps": eps,
        "detail_kept": keep_detail,
        "brighten_L": brighten,
    }
    return fake, _full(ctx.shape, roi, weight), params


def _eyebrow(ctx: _Context, rng: np.random.Generator):
    """Eyebrow pencil: brows thickened, darkened and tinted, with a strand texture along the brow."""
    ids = ["eyebrow.left", "eyebrow.right"]
    brows = ctx.mask(*ids)
    _require(brows, 12, "the eyebrows")
    strength = float(rng.uniform())
    name, colour = _pick(rng, _BROW_COLOURS, (3.0, 3.0, 3.0))
    thicken = float(rng.uniform(0.0, 0.025)) * ctx.unit
    roi = _Roi.around(brows, thicken + ctx.px(0.06, 4), ctx.shape)
    region = brows[roi.slices].astype(np.uint8)
    if thicken >= 0.5:
        size = 2 * round(thicken) + 1
        region = cv2.dilate(region, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, max(3, size))))
    alpha = _feather(region > 0, ctx.px(0.018, 0.7))
    hairs = _strands(rng, roi.shape, ctx.ex + 0.15 * ctx.ey, ctx.px(0.04, 2), ctx.px(0.003, 0.4))
    density = alpha * np.clip(0.8 + 0.15 * hairs, 0.3, 1.0)
    darken = 0.5 + 0.45 * strength
    lab = _to_lab(ctx.image[roi.slices])
    target = lab.copy()
    target[..., 0] = np.minimum(lab[..., 0], colour[0] + 0.5 * (lab[..., 0] - colour[0]).clip(-20, 20))
    target[..., 1:] = 0.6 * colour[1:] + 0.4 * lab[..., 1:]
    fake = _blend_lab(ctx, roi, lab, target, density * darken)
    params = {
        "strength": strength,
        "concepts": ids,
        "color_name": name,
        "color_rgb": _rgb_colour(colour),
        "thicken_px": thicken,
        "opacity": darken,
    }
    return fake, _full(ctx.shape, roi, alpha), params


_BEARD_STYLES = {
    "moustache": ("perioral.moustache", "perioral.philtrum"),
    "goatee": ("perioral.moustache", "perioral.philtrum", "perioral.mentolabial", "chin"),
    "full": (
        "perioral.moustache",
        "perioral.philtrum",
        "perioral.mentolabial",
        "perioral.marionette",
        "chin",
        "jaw",
        "cheek.left.lower",
        "cheek.right.lower",
    ),
    "stubble": (
        "perioral.moustache",
        "perioral.philtrum",
        "perioral.mentolabial",
        "perioral.marionette",
        "chin",
        "jaw",
        "cheek.left.lower",
        "cheek.right.lower",
        "cheek.left.hollow",
        "cheek.right.hollow",
    ),
}


def _beard(ctx: _Context, rng: np.random.Generator):
    """Facial hair (moustache, goatee, full beard or stubble) painted as downward strands."""
    style = list(_BEARD_STYLES)[int(rng.integers(len(_BEARD_STYLES)))]
    ids = list(_BEARD_STYLES[style])
    zone = ctx.mask(*ids)
    _require(zone, max(20, 0.02 * ctx.unit**2), f"the {style} zone")
    strength = float(rng.uniform())
    name, colour = _pick(rng, _BROW_COLOURS, (4.0, 3.0, 3.0))
    hair = ctx.mask("hair")
    if hair.sum() >= 50 and rng.uniform() < 0.5:  # match the head hair, darker and less saturated
        colour = np.median(_to_lab(ctx.image[hair][:, None]).reshape(-1, 3), axis=0).astype(np.float64)
        colour[0] = min(colour[0] * 0.8, 40.0)
        colour[1:] *= min(1.0, 20.0 / max(float(np.hypot(*colour[1:])), 1e-6))
        name = "hair_colour"
    sigma = ctx.px(0.035, 0.8)
    roi = _Roi.around(zone, 3 * sigma + 2, ctx.shape)
    ragged = _blur(zone[roi.slices], sigma) + 0.12 * _noise(rng, roi.shape, ctx.px(0.05, 2))
    mouth = ctx.mask("lips", "mouth")[roi.slices]
    alpha = (_smoothstep(0.2, 0.8, ragged) * (1 - _feather(mouth, ctx.px(0.008, 0.5)))).astype(np.float32)
    alpha[alpha < 0.02] = 0
    hairs = _strands(rng, roi.shape, ctx.ey + 0.15 * ctx.ex, ctx.px(0.02, 1.5), 0.35)
    coverage = 0.2 + 0.2 * strength if style == "stubble" else 0.5 + 0.35 * strength
    density = alpha * np.clip(coverage * (1 + 0.35 * hairs), 0.0, 1.0)
    lab = _to_lab(ctx.image[roi.slices])
    inside = alpha > 0.5
    mean = lab[inside].mean(axis=0) if inside.any() else lab.reshape(-1, 3).mean(axis=0)
    target = np.empty_like(lab)
    target[..., 0] = colour[0] + 0.5 * (lab[..., 0] - mean[0]) + 3.0 * hairs
    target[..., 1:] = colour[1:] + 0.3 * (lab[..., 1:] - mean[1:])
    fake = _blend_lab(ctx, roi, lab, target, density)
    params = {
        "strength": strength,
        "concepts": ids,
        "style": style,
        "color_name": name,
        "color_rgb": _rgb_colour(colour),
        "coverage": coverage,
    }
    return fake, _full(ctx.shape, roi, alpha), params


def _superellipse(
    centre: np.ndarray, a: float, b: float, n: float, ex: np.ndarray, ey: np.ndarray, count: int = 96
) -> np.ndarray:
    theta = np.linspace(0, 2 * np.pi, count, endpoint=False)
    c, s = np.cos(theta), np.sin(theta)
    x = a * np.sign(c) * np.abs(c) ** (2 / n)
    y = b * np.sign(s) * np.abs(s) ** (2 / n)
    return centre + x[:, None] * ex + y[:, None] * ey


def _glasses(ctx: _Context, rng: np.random.Generator):
    """Anti-aliased glasses: two super-elliptic rims, a bridge and temple arms, sometimes tinted lenses."""
    p = ctx.points
    strength = float(rng.uniform())
    frame_name, (frame_rgb, material) = list(_FRAMES.items())[int(rng.integers(len(_FRAMES)))]
    thick = (0.006 + 0.008 * strength if material == "metal" else 0.014 + 0.02 * strength) * ctx.unit
    half_w = float(rng.uniform(0.2, 0.25)) * ctx.unit
    half_h = float(rng.uniform(0.13, 0.19)) * ctx.unit
    roundness = float(rng.uniform(2.0, 5.0))
    tinted = bool(rng.uniform() < 0.35)
    tint_name, tint_rgb = list(_TINTS.items())[int(rng.integers(len(_TINTS)))]
    tint_alpha = float(rng.uniform(0.25, 0.6)) if tinted else 0.0

    lenses = []
    for side, sign in (("right", -1.0), ("left", 1.0)):
        eye = p[list(regions.EYE[side])].mean(axis=0)
        centre = eye + 0.03 * ctx.unit * ctx.ey + sign * 0.02 * ctx.unit * ctx.ex
        lenses.append(_superellipse(centre, half_w, half_h, roundness, ctx.ex, ctx.ey))
    (right, left) = lenses
    # Bridge from the inner upper edge of one lens to the other, arching upwards.
    start = right[np.argmax(right @ ctx.ex - 0.6 * (right @ ctx.ey))]
    end = left[np.argmin(left @ ctx.ex + 0.6 * (left @ ctx.ey))]
    control = (start + end) / 2 - 0.06 * ctx.unit * ctx.ey
    t = np.linspace(0, 1, 24)[:, None]
    bridge = (1 - t) ** 2 * start + 2 * (1 - t) * t * control + t**2 * end
    arms = []
    for lens, ear, sign in ((right, p[234], -1.0), (left, p[454], 1.0)):
        hinge = lens[np.argmax(sign * (lens @ ctx.ex) - 0.4 * (lens @ ctx.ey))]
        # Towards the ear, nearly level, ending where the arm goes behind the head.
        tip = hinge + ((ear - hinge) @ ctx.ex) * ctx.ex + 0.04 * ctx.unit * ctx.ey
        if sign * ((tip - hinge) @ ctx.ex) > 1:
            arms.append(np.array([hinge, tip]))

    everything = np.concatenate([right, left, bridge, *arms])
    roi = _Roi.around(everything, thick + 4, ctx.shape)
    frame_cov = _draw(roi, [right, left], [bridge, *arms], thick)
    lens_cov = _draw(roi, [right, left], [], 0.0, fill=True) if tinted else np.zeros(roi.shape, np.float32)

    crop = ctx.image[roi.slices].astype(np.float32)
    light = cv2.cvtColor(ctx.image[roi.slices], cv2.COLOR_RGB2GRAY).astype(np.float32)
    light = _blur(light, ctx.px(0.05, 1.0))
    skin = ctx.mask(*_SKIN)
    reference = float(np.median(cv2.cvtColor(ctx.image, cv2.COLOR_RGB2GRAY)[skin])) if skin.any() else 128.0
    shade = np.clip(0.55 + 0.45 * light / max(reference, 1.0), 0.5, 1.25)[..., None]
    frame_colour = np.asarray(frame_rgb, np.float32) * shade
    if material == "metal":  # uneven reflections along metal frames
        frame_colour = frame_colour * (1 + 0.25 * _noise(rng, roi.shape, ctx.px(0.05, 2))[..., None].clip(-1, 1))
    transmit = np.asarray(tint_rgb, np.float32) / 255.0
    out = crop * (1 - tint_alpha * lens_cov[..., None] * (1 - transmit))
    out = out * (1 - frame_cov[..., None]) + frame_colour * frame_cov[..., None]
    weight = np.maximum(frame_cov, lens_cov)
    fake = _compose(ctx, roi, out, weight > 0)
    params = {
        "strength": strength,
        "concepts": ["eye.left", "eye.right", "nose.bridge", "temple.left", "temple.right"],
        "frame_color_name": frame_name,
        "frame_color_rgb": list(frame_rgb),
        "material": material,
        "thickness_px": thick,
        "lens_half_size_px": [half_w, half_h],
        "roundness": roundness,
        "tinted": tinted,
        "tint_color_name": tint_name if tinted else None,
        "tint_color_rgb": list(tint_rgb) if tinted else None,
        "tint_opacity": tint_alpha,
        "temple_arms": len(arms),
    }
    return fake, _full(ctx.shape, roi, weight), params


def _draw(
    roi: _Roi,
    loops: list[np.ndarray],
    lines: list[np.ndarray],
    thickness: float,
    fill: bool = False,
    supersample: int = 4,
) -> np.ndarray:
    """Anti-aliased coverage (0..1) of closed ``loops`` and open ``lines`` drawn into ``roi``."""
    h, w = roi.shape
    canvas = np.zeros((h * supersample, w * supersample), np.uint8)
    offset = np.array([roi.x0, roi.y0], np.float64)

    def scaled(points):
        return np.round(((points - offset) + 0.5) * supersample - 0.5).astype(np.int32)

    if fill:
        cv2.fillPoly(canvas, [scaled(loop) for loop in loops], 255, cv2.LINE_8)
    else:
        width = max(1, round(thickness * supersample))
        cv2.polylines(canvas, [scaled(loop) for loop in loops], True, 255, width, cv2.LINE_8)
        cv2.polylines(canvas, [scaled(line) for line in lines], False, 255, width, cv2.LINE_8)
    small = cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    small[small < 0.02] = 0
    return small


def _ageing(ctx: _Context, rng: np.random.Generator):
    """Grey hair plus some of: forehead lines, crow's feet, deeper nasolabial folds."""
    strength = float(rng.uniform())
    forehead = ctx.mask("forehead.center", "forehead.left", "forehead.right", "forehead.glabella")
    if forehead.sum() + ctx.mask("cheek").sum() < max(30, 0.05 * ctx.unit**2):
        raise EditNotApplicable("the face skin is not visible enough to age")
    try:
        hair, hair_ids = _head_hair(ctx)
    except EditNotApplicable:
        hair, hair_ids = np.zeros(ctx.shape, bool), []
    optional = ["forehead_lines", "crows_feet", "nasolabial_folds"]
    chosen = [part for part in optional if rng.uniform() < 0.7] or [optional[int(rng.integers(len(optional)))]]

    roi = _Roi.around(ctx.mask("face") | hair, ctx.px(0.05, 3), ctx.shape)
    lab = _to_lab(ctx.image[roi.slices])
    target = lab.copy()
    zone = np.zeros(roi.shape, np.float32)
    touched = np.zeros(roi.shape, bool)
    u, v = ctx.uv(roi)
    params: dict = {"strength": strength}
    parts: list[str] = []
    enough = max(4.0, 0.002 * ctx.unit**2)  # pixels of a region at half weight for a part to count
    concepts: list[str] = []

    if hair.any():
        alpha = _hair_alpha(ctx, hair, roi)
        grey = 0.45 + 0.5 * strength  # share of grey strands
        salt = _strands(rng, roi.shape, -ctx.ey, ctx.px(0.04, 2.0), 0.5)
        patches = _noise(rng, roi.shape, ctx.px(0.15, 3))
        amount = alpha * np.clip(grey + 0.12 * salt + 0.15 * patches, 0.0, 1.0)
        silver = float(rng.uniform(60.0, 80.0))
        inside = alpha > 0.5
        mean_l = float(lab[inside][:, 0].mean()) if inside.any() else 50.0
        grey_target = np.empty_like(lab)
        grey_target[..., 0] = np.clip(silver + 0.8 * (lab[..., 0] - mean_l), 0, 100)
        grey_target[..., 1:] = 0.1 * lab[..., 1:] + np.array([0.0, 2.0], np.float32)
        target = _mix(target, grey_target, amount)
        zone = np.maximum(zone, alpha)
        touched |= amount > 0
        params.update(grey_share=grey, silver_L=silver)
        parts.append("grey_hair")
        concepts += hair_ids

    lines = np.zeros(roi.shape, np.float32)
    width = max(0.6, 0.006 * ctx.unit) / ctx.unit  # line half-width, eye distances
    if "forehead_lines" in chosen:
        band = 1 - _smoothstep(0.6, 1.0, np.hypot(u / 0.42, (v + 0.43) / 0.2))
        region = _feather(forehead[roi.slices] & ~hair[roi.slices], ctx.px(0.02, 0.8), inside=True) * band
        count = int(rng.integers(3, 6))
        spacing = float(rng.uniform(0.055, 0.08))
        curve = float(rng.uniform(0.1, 0.4))
        wobble = _noise(rng, roi.shape, ctx.px(0.3, 4)) * 0.012
        crease = np.zeros(roi.shape, np.float32)
        for k in range(count):
            offset = v - (-0.3 - k * spacing + curve * u**2) - wobble
            breaks = np.clip(0.55 + 0.5 * _noise(rng, roi.shape, ctx.px(0.12, 3)), 0.0, 1.0)
            crease += float(rng.uniform(0.5, 1.0)) * breaks * _fold(offset, width)
        if (region >= 0.5).sum() >= enough:  # not hidden under bangs
            lines += region * crease
            zone = np.maximum(zone, region)
            params.update(forehead_lines=count, forehead_spacing_px=spacing * ctx.unit)
            parts.append("forehead_lines")
            concepts.append("forehead")
    if "crows_feet" in chosen:
        count = int(rng.integers(3, 6))
        for side, sign in (("right", -1.0), ("left", 1.0)):
            corner = ctx.points[regions.EYE_CORNERS[side][1]]
            cu, cv = (corner - ctx.origin) @ ctx.ex / ctx.unit, (corner - ctx.origin) @ ctx.ey / ctx.unit
            du, dv = sign * (u - cu), v - cv
            r, angle = np.hypot(du, dv), np.arctan2(dv, du)
            reach = float(rng.uniform(0.09, 0.14))
            region = _smoothstep(0.02, 0.04, r) * (1 - _smoothstep(reach * 0.8, reach, r))
            region = region * (1 - _smoothstep(0.7, 0.9, np.abs(angle - 0.1)))
            opening = ctx.mask(
                f"eye.{side}.sclera_inner", f"eye.{side}.sclera_outer", f"eye.{side}.iris", f"eye.{side}.pupil"
            )[roi.slices]
            region = (region * (1 - _feather(opening, ctx.px(0.02, 0.8)))).astype(np.float32)
            rays = np.zeros(roi.shape, np.float32)
            for theta in np.linspace(-0.55, 0.65, count) + rng.uniform(-0.08, 0.08, count):
                bend = float(rng.uniform(-1.5, 1.5))
                rays += float(rng.uniform(0.5, 1.0)) * _fold(r * np.sin(angle - theta - bend * (r - 0.03)), width)
            if (region >= 0.5).sum() >= enough:
                lines += region * rays
                zone = np.maximum(zone, region)
                parts.append(f"crows_feet.{side}")
                concepts.append(f"eye.{side}.crows_feet")
    if "nasolabial_folds" in chosen:
        for side, sign in (("right", -1.0), ("left", 1.0)):
            distance = _distance_to_polyline(sign * u, v, regions.NASOLABIAL_LINE)
            along = _smoothstep(0.4, 0.47, v) * (1 - _smoothstep(0.7, 0.78, v))
            region = along * (1 - _smoothstep(0.04, 0.07, distance))
            # A deeper, wider fold than a wrinkle: shadow on the line, light on the cheek side.
            signed = distance * np.sign(sign * u - _interp_line(regions.NASOLABIAL_LINE, v))
            if (region >= 0.5).sum() >= enough:
                lines += (region * 1.3 * _fold(-signed, 2.5 * width)).astype(np.float32)
                zone = np.maximum(zone, region)
                parts.append(f"nasolabial_fold.{side}")
                concepts.append(f"perioral.nasolabial.{side}")
    if not parts:
        raise EditNotApplicable("no part of the face to age is visible")
    depth = 5.0 + 9.0 * strength
    target[..., 0] -= depth * lines
    touched |= lines != 0
    params.update(wrinkle_depth_L=depth, parts=parts, concepts=concepts)
    fake = _compose(ctx, roi, _from_lab(target), touched)
    return fake, _full(ctx.shape, roi, zone), params


def _mix(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    return a + w[..., None] * (b - a)


def _fold(offset: np.ndarray, width: float) -> np.ndarray:
    """Cross-section of a skin crease at signed ``offset`` from its line: a dark groove with a faint
    highlight on the side of positive offsets (light from above)."""
    return (np.exp(-((offset / width) ** 2)) - 0.3 * np.exp(-(((offset - 2 * width) / width) ** 2))).astype(np.float32)


def _interp_line(line, v: np.ndarray) -> np.ndarray:
    us, vs = zip(*line)
    return np.interp(v, vs, us)


def _distance_to_polyline(u: np.ndarray, v: np.ndarray, line) -> np.ndarray:
    best = np.full(u.shape, np.inf)
    for (au, av), (bu, bv) in itertools.pairwise(line):
        du, dv = bu - au, bv - av
        t = np.clip(((u - au) * du + (v - av) * dv) / (du * du + dv * dv), 0.0, 1.0)
        best = np.minimum(best, np.hypot(u - (au + t * du), v - (av + t * dv)))
    return best


_EDITS: dict[str, Callable] = {
    "lip_color": _lip_color,
    "hair_color": _hair_color,
    "smile": _smile,
    "eye_enlarge": _eye_enlarge,
    "face_slim": _face_slim,
    "skin_smooth": _skin_smooth,
    "eyebrow": _eyebrow,
    "beard": _beard,
    "glasses": _glasses,
    "ageing": _ageing,
}
assert tuple(_EDITS) == MANIPULATIONS
