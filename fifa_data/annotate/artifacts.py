"""Artifact masks: where a fake differs from the real photo it was made from.

Two modes, chosen by name; the parameters (given and measured) are recorded with every mask:

``paper``
    The Fake-in-Facext rule: the top 5 % of per-pixel intensity differences, where a pixel's
    difference is the mean absolute difference of its RGB values. Every pair gets a mask of 5 %
    of the image (fewer pixels only when fewer than 5 % differ at all), whatever the edit's size.

``adaptive`` (the default)
    What reviewers asked of the fixed threshold: a mask about the size of the real edit, above
    the pair's own noise. Steps:

    1. two differences, since an edit changes colour, texture or both:
       *colour*: CIELAB colour distance (Delta E 1976) of the two images, each lightly blurred
       (``blur_sigma``) so that single-pixel compression noise averages out; it sees hue changes
       (lipstick) that an intensity difference misses;
       *texture*: the absolute log-ratio of the two images' local high-frequency energy
       (lightness minus its blur, squared, averaged over ``texture_window`` pixels), less its
       median, which is the global loss of detail of a re-encode; it sees smoothing and added
       texture (skin retouching, wrinkles) that barely move the mean colour;
    2. noise floor from the pair itself: re-encoding noise is larger in textured areas (hair)
       than in flat ones (cheek), so pixels are binned by the real photo's local texture
       (``texture_bins``; the bins of one photo serve all its fakes) and each bin's noise is read
       from its lower quantiles, which an edit covering up to about half of the bin leaves alone
       (the bin edges and quantiles are read from every `STATS_STRIDE`-th pixel). A pixel's score is its difference
       above the bin's noise centre in units of ``noise_factor`` noise spreads, never less
       than ``min_delta_e`` (about one just-noticeable colour difference) or ``min_log_energy``;
       the larger of the colour and texture scores counts, except within ``3 * texture_window``
       pixels of a colour change scoring above ``colour_outlines``: there the texture ratio, an
       average over its window, only smears the colour edge, and the colour score alone counts
       (``colour_outlines=0`` turns it off). With ``relative_floor`` > 0, a
       pixel scoring less than that share of the highest score within one JPEG macroblock
       (`JPEG_SPREAD_PX`) scores nothing: against a resaved reference, what remains of the noise
       is the re-quantisation of the blocks a strong edit touched (`RESAVED_PARAMS`; against the
       real photo it costs the warps more than it gains; a fake its source names as a swap, blend
       or fill goes without it, `FAMILY_RESAVED_PARAMS`: the strong edges of a replaced part would
       drop its moderate, visible change).
       Against a resaved reference of a fake saved once, nothing but the edited blocks differs,
       so two more rules and a lighter blur (0.5 px) apply there (the annotator checks that the
       fake differs from it on nothing far from the subject, which a second save does not pass): farther than a macroblock from any pixel scoring
       above ``strong_factor``, the floors drop to ``faint_delta_e`` and ``faint_log_energy`` (a
       faint brightening of a whole cheek counts, the halo beside a strong edit does not); and the
       chroma part of the colour difference counts only where it is at least ``chroma_floor`` of
       the highest chroma difference within a macroblock (a JPEG stores chroma at half resolution
       in 16 px blocks, so the re-quantised chroma of a thin dark frame spreads as a band that its
       lightness does not have);
    3. two scales and hysteresis: the score is computed per pixel and on the differences
       averaged over a region (``region_sigma`` of the image's long side, with the minimum
       floors scaled by ``region_minimum``; that score is read on a grid of a step of about
       `REGION_STEP_SIGMAS` of its blur, 2 px at 512 px and 4 at 1024, and interpolated back,
       which is faster and as faithful). Pixels scoring above 1 form candidate regions; a region
       is kept when it holds a pixel whose pixel or region score exceeds ``strong_factor``. So a faint edit spread over a large area (skin smoothing) is found
       through its region average, while the mask keeps the pixel-scale outline of thin edits
       (a lip line, glasses frames) and isolated noise goes. (An Otsu split of the scores was
       tried as the seed threshold: on a pair that is only re-encoded it splits the noise
       itself and marked about 1 % of the image);
    4. clean-up: morphological closing (``close_radius`` as a share of the image's long side),
       enclosed holes under ``max_hole`` filled, specks under ``min_area`` removed (both as
       shares of the image's area).

    With ``extent`` > 0 every size above (``region_sigma``, ``close_radius``, ``max_hole``,
    ``min_area``) is a share of at most ``extent`` pixels rather than of the whole long side: the
    annotator passes three face heights, so a small face in a large photo is cleaned at its own
    scale (a closing of 1 % of a 2048 px group photo filled the lenses of a small face's glasses).

The annotator gives ``adaptive`` a *reference* to compare the fake with (``paper`` keeps the real
photo, as the paper did): the real, or, when the fake is a JPEG, the real saved as the fake was
(`images.resaved_reference`). The second removes the re-encoding noise itself: every 8x8 block the edit
left alone is then equal in both, so what differs is the edit and the re-quantisation of the
blocks it touched, and a faint edit (a smoothing of soft skin) no longer has to rise above the
noise of the whole photo. It holds for a real plus a local edit saved once by a libjpeg encoder
(Pillow, OpenCV); a fake resized, saved twice or by an encoder with other rounding keeps the real.
A lossless fake (PNG) of a local edit equals the real itself on every pixel the edit left alone,
so nothing but the edit differs and no blur against compression noise is needed: there
`LOSSLESS_PARAMS` apply (no blur, floors of one and, far from a strong change, half a Delta E).
The figures behind each of these choices are in docs/benchmarks.md and CHANGELOG.md.

Real images have empty masks by definition (`empty_mask`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import cv2
import numpy as np
from skimage.morphology import remove_small_objects

from fifa_data.core import masks as masklib

MODES = ("adaptive", "paper")
DEFAULT_MODE = "adaptive"

STATS_STRIDE = 4  # the noise statistics read every 4th pixel: a 512 px photo still gives each bin 8,000
REGION_STEP_SIGMAS = 2.5  # the region-scale score is computed on a grid of a step of about this share of its blur (`_region_step`)
JPEG_SPREAD_PX = 16.0  # a JPEG's 8x8 blocks and 2x chroma subsampling (16 px macroblocks) spread a sharp edit this far
PAPER_DEFAULTS = {"top_share": 0.05}
ADAPTIVE_DEFAULTS = {
    "blur_sigma": 1.0,
    "texture_window": 3.0,
    "texture_bins": 8,
    "noise_factor": 6.0,
    "region_sigma": 0.01,
    "region_minimum": 0.5,
    "min_delta_e": 2.0,
    "min_log_energy": 0.15,
    "energy_offset": 1.0,
    "strong_factor": 2.5,
    "close_radius": 0.004,
    "min_area": 2e-5,
    "max_hole": 1e-3,
    "colour_outlines": 2.5,
    "relative_floor": 0.0,
    "faint_delta_e": 0.0,
    "faint_log_energy": 0.0,
    "chroma_floor": 0.0,
    "extent": 0.0,
}
RESAVED_PARAMS = {  # the adaptive settings against a resaved reference that reproduces the untouched blocks
    "relative_floor": 0.2,
    "faint_delta_e": 1.0,
    "faint_log_energy": 0.08,
    "chroma_floor": 0.35,
    "blur_sigma": 0.5,
}
# Over RESAVED_PARAMS for a fake its source names as another family than an attribute edit (a swap, a blend, a
# fill): such an edit replaces a whole region, whose strongest edges (nostrils, teeth, an eye's rim) would make the
# macroblock-relative floor drop the moderate, visible change beside them, while the re-quantised halo it keeps
# out lies mostly inside the replaced region anyway.
FAMILY_RESAVED_PARAMS = {"relative_floor": 0.0}
LOSSLESS_PARAMS = {  # against the real itself when a lossless fake equals it on every untouched pixel: no re-encoding noise at all
    "min_delta_e": 1.0,
    "faint_delta_e": 0.5,
    "faint_log_energy": 0.08,
    "blur_sigma": 0.0,
}


@dataclass(frozen=True)
class ArtifactMask:
    """A boolean HxW mask, the mode that made it and every parameter, given or measured."""

    mask: np.ndarray
    mode: str
    params: dict = field(default_factory=dict)

    @property
    def share(self) -> float:
        """Fraction of the image the mask covers."""
        return float(self.mask.mean()) if self.mask.size else 0.0

    def to_rle(self) -> dict:
        return masklib.encode(self.mask)


def artifact_mask(real: np.ndarray, fake: np.ndarray, mode: str = DEFAULT_MODE, *, texture_of: np.ndarray | None = None, **params: float) -> ArtifactMask:
    """The artifact mask of a pair of same-size RGB uint8 images in `mode` (see module docstring).

    ``texture_of`` (``adaptive``; default `real`) is the image whose local texture sorts the pixels
    into noise bins: the annotator passes the real photo when `real` is its resaved copy, so that
    the fakes of one photo share the bins, which are computed once (`_noise_bins`).
    """
    if real.shape != fake.shape or real.ndim != 3 or real.shape[2] != 3:
        raise ValueError(f"real and fake must be HxWx3 of one size, got {real.shape} and {fake.shape}")
    defaults = {"paper": PAPER_DEFAULTS, "adaptive": ADAPTIVE_DEFAULTS}.get(mode)
    if defaults is None:
        raise ValueError(f"unknown artifact-mask mode {mode!r}; known: {', '.join(MODES)}")
    unknown = set(params) - set(defaults)
    if unknown:
        raise ValueError(f"unknown parameter(s) for mode {mode!r}: {', '.join(sorted(unknown))}")
    settings = {**defaults, **params}
    if mode == "paper":
        mask, measured = _paper(real, fake, settings)
    else:
        mask, measured = _adaptive(real, fake, settings, real if texture_of is None else texture_of)
    return ArtifactMask(mask, mode, {**settings, **measured})


def within(result: ArtifactMask, region: np.ndarray) -> ArtifactMask:
    """The mask cut to `region`; the pixels it had outside are recorded as ``outside_pixels``.

    A JPEG re-encode changes a whole photo, and its strongest noise (on a suit, a curtain, text)
    can pass any floor that a faint edit passes. FiFa annotates the person, so the mask is read
    only near the subject, and what lay beyond is kept as a figure instead of as blobs.
    """
    outside = int(np.count_nonzero(result.mask & ~region))
    return ArtifactMask(result.mask & region, result.mode, {**result.params, "outside_pixels": outside})


def empty_mask(shape: tuple[int, ...]) -> ArtifactMask:
    """The artifact mask of a real image: empty."""
    return ArtifactMask(np.zeros(shape[:2], bool), "real", {})


def _paper(real: np.ndarray, fake: np.ndarray, settings: dict) -> tuple[np.ndarray, dict]:
    diff = np.abs(real.astype(np.int16) - fake.astype(np.int16)).mean(axis=2)
    threshold = float(np.quantile(diff, 1.0 - settings["top_share"]))
    mask = (diff >= threshold) & (diff > 0)
    return mask, {"threshold": threshold}


def _adaptive(real: np.ndarray, fake: np.ndarray, settings: dict, texture_of: np.ndarray) -> tuple[np.ndarray, dict]:
    h, w = real.shape[:2]
    long_side = min(max(h, w), settings["extent"] or max(h, w))  # what the size parameters are shares of
    area = h * w * (long_side / max(h, w)) ** 2
    lab_real, lab_fake = (_lab(x, settings["blur_sigma"]) for x in (real, fake))
    change = lab_real - lab_fake
    chroma = np.sqrt(change[..., 1] * change[..., 1] + change[..., 2] * change[..., 2])
    if settings["chroma_floor"] > 0:
        chroma[chroma < settings["chroma_floor"] * _max_within(chroma)] = 0.0
    colour = np.hypot(change[..., 0], chroma)
    texture_change = _texture_change(real, fake, settings["texture_window"], settings["energy_offset"])
    region_sigma = settings["region_sigma"] * long_side
    step = _region_step(region_sigma)
    bins, region_bins = _noise_bins(texture_of, settings["blur_sigma"], int(settings["texture_bins"]), step)

    factor = settings["noise_factor"]
    diffs = (colour, texture_change)
    excess = [_excess(d, bins, factor) for d in diffs]
    excess_region = [_region_excess(d, region_sigma, step, region_bins, factor) for d in diffs]
    minimums = [settings["min_delta_e"], settings["min_log_energy"]]
    faint = [settings["faint_delta_e"], settings["faint_log_energy"]]
    pixel = [_scored(e, m) for e, m in zip(excess, minimums)]
    if any(0 < f < m for f, m in zip(faint, minimums)):
        near = _max_within((np.maximum(*pixel) > settings["strong_factor"]).view(np.uint8)) > 0
        minimums = [np.where(near, np.float32(m), np.float32(f)) if 0 < f < m else m for f, m in zip(faint, minimums)]
        pixel = [_scored(e, m) for e, m in zip(excess, minimums)]
    region = [_scored(e, m * settings["region_minimum"]) for e, m in zip(excess_region, minimums)]
    if settings["colour_outlines"] > 0:
        # Beside a clear colour change the texture ratio, an energy averaged over `texture_window`,
        # only smears the colour edge outwards (a glasses frame became a band four times its width):
        # there the colour difference alone draws the outline.
        coloured = (pixel[0] > settings["colour_outlines"]).view(np.uint8)
        beside = _max_within(coloured, int(np.ceil(3 * settings["texture_window"]))) > 0
        pixel[1][beside] = 0.0
    pixel_score, region_score = np.maximum(*pixel), np.maximum(*region)
    if settings["relative_floor"] > 0:
        pixel_score[pixel_score < settings["relative_floor"] * _max_within(pixel_score)] = 0.0
    weak = pixel_score > 1.0
    seeds = weak & ((pixel_score > settings["strong_factor"]) | (region_score > settings["strong_factor"]))
    measured = {"weak_share": float(weak.mean()), "seed_share": float(seeds.mean())}
    if not seeds.any():
        return np.zeros((h, w), bool), measured
    count, labels = cv2.connectedComponents(weak.astype(np.uint8), connectivity=8)
    seeded = np.zeros(count, bool)
    seeded[labels[seeds]] = True
    seeded[0] = False
    mask = seeded[labels]

    radius = max(1, round(settings["close_radius"] * long_side))
    kernel = masklib.disc(radius)
    mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, kernel).astype(bool)
    mask = _fill_holes(mask, round(settings["max_hole"] * area))
    mask = remove_small_objects(mask, max_size=max(4, round(settings["min_area"] * area)) - 1, connectivity=2)
    return mask, {**measured, "close_radius_px": radius}


def _max_within(values: np.ndarray, reach: int = int(JPEG_SPREAD_PX)) -> np.ndarray:
    """The highest value within `reach` pixels (a square; by default one macroblock) of each pixel."""
    return cv2.dilate(values, cv2.getStructuringElement(cv2.MORPH_RECT, (2 * reach + 1, 2 * reach + 1)))


def _lab(image: np.ndarray, sigma: float) -> np.ndarray:
    rgb = image.astype(np.float32) / 255.0
    if sigma > 0:
        rgb = cv2.GaussianBlur(rgb, (0, 0), sigma)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)


def _texture(lab: np.ndarray) -> np.ndarray:
    """Local gradient magnitude of lightness and colour: where re-encoding noise is large."""
    magnitude = np.zeros(lab.shape[:2], np.float32)
    for channel in range(3):
        gx = cv2.Sobel(lab[..., channel], cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(lab[..., channel], cv2.CV_32F, 0, 1, ksize=3)
        magnitude += gx * gx + gy * gy
    return cv2.GaussianBlur(np.sqrt(magnitude), (0, 0), 2.0)


def _texture_change(real: np.ndarray, fake: np.ndarray, window: float, offset: float) -> np.ndarray:
    """|log| ratio of local high-frequency energy, fake over real, less its median (a re-encode's share)."""
    energies = []
    for image in (real, fake):
        # OpenCV's 8-bit CIELAB (L in 255/100 units, steps of 0.4): its rounding adds an energy of
        # about 0.01, against `offset` (1) that the ratio is taken above, at a seventh of the float path's time
        lightness = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32) * np.float32(100 / 255)
        detail = lightness - cv2.GaussianBlur(lightness, (0, 0), 1.0)
        energies.append(cv2.GaussianBlur(detail * detail, (0, 0), window))
    log_ratio = np.log((energies[1] + offset) / (energies[0] + offset))
    return np.abs(log_ratio - np.median(log_ratio.ravel()[::STATS_STRIDE]))


@dataclass(frozen=True)
class _Bins:
    """Equal-count bins of per-pixel texture, ready for per-bin statistics and their interpolation."""

    order: np.ndarray  # flat indices of every STATS_STRIDE-th pixel of each bin, by bin: bin b is order[bounds[b]:bounds[b + 1]]
    bounds: np.ndarray
    lower: np.ndarray  # per pixel: the bin centre at or below its texture (for interpolation)
    weight: np.ndarray  # per pixel: interpolation weight of the next centre up
    keep: np.ndarray  # 1 - weight

    def sorted_values(self, values: np.ndarray) -> list[np.ndarray]:
        """The values of each bin's pixels (of every `STATS_STRIDE`-th of them)."""
        grouped = values.ravel()[self.order]
        return [grouped[self.bounds[b] : self.bounds[b + 1]] for b in range(len(self.bounds) - 1)]

    def per_pixel(self, per_bin: np.ndarray) -> np.ndarray:
        """Per-bin values linearly interpolated by texture between bin centres (flat outside)."""
        per_bin = per_bin.astype(np.float32)
        return _lookup(per_bin[:-1], self.lower) * self.keep + _lookup(per_bin[1:], self.lower) * self.weight


def _lookup(table: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``table[index]`` for a uint8 index: OpenCV's table lookup, four times numpy's gather."""
    padded = np.zeros(256, table.dtype)
    padded[: table.size] = table
    return cv2.LUT(index, padded)


_last_bins: dict[tuple, tuple[_Bins, _Bins]] = {}


def _noise_bins(image: np.ndarray, sigma: float, bins: int, step: int) -> tuple[_Bins, _Bins]:
    """`_texture_bins` of an image's texture, at full size and on the grid of every `step`-th pixel
    (`_region_excess`), remembered for the last image (by content): a real photo's fakes come one
    after another."""
    key = (image.shape, sigma, bins, step, hashlib.blake2b(np.ascontiguousarray(image).data, digest_size=16).digest())
    if key not in _last_bins:
        _last_bins.clear()
        texture = _texture(_lab(image, sigma))
        full = _texture_bins(texture, bins)
        coarse = _texture_bins(_shrink(texture, step), bins, max(1, STATS_STRIDE // (step * step))) if step > 1 else full
        _last_bins[key] = (full, coarse)
    return _last_bins[key]


def _region_step(sigma: float) -> int:
    """The grid step of the region-scale score: a blur of `sigma` pixels is smooth on a grid of
    about a `REGION_STEP_SIGMAS`-th of it (1, the full grid, below 5 px)."""
    return max(1, int(sigma / REGION_STEP_SIGMAS))


def _shrink(image: np.ndarray, step: int) -> np.ndarray:
    """The area average of every `step` x `step` pixels (the last row and column of blocks may be partial)."""
    h, w = image.shape[:2]
    return cv2.resize(image, (-(-w // step), -(-h // step)), interpolation=cv2.INTER_AREA)


def _region_excess(diff: np.ndarray, sigma: float, step: int, bins: _Bins, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """`_excess` of the difference averaged over `sigma` pixels, computed on the grid of every
    `step`-th pixel and interpolated back: the average is smooth at that scale, and the blur, the
    statistics and the lookups cost a `step` squared of their full-size time."""
    if step == 1:
        return _excess(cv2.GaussianBlur(diff, (0, 0), sigma), bins, factor)
    # an area average over `step` pixels is already a blur of variance step**2 / 12
    coarse = cv2.GaussianBlur(_shrink(diff, step), (0, 0), np.sqrt(sigma * sigma - step * step / 12) / step)
    h, w = diff.shape
    return tuple(cv2.resize(x, (w, h), interpolation=cv2.INTER_LINEAR) for x in _excess(coarse, bins, factor))


def _texture_bins(texture: np.ndarray, bins: int, stride: int = STATS_STRIDE) -> _Bins:
    flat = texture.ravel()
    sample = flat[::stride]
    edges = np.quantile(sample, np.linspace(0, 1, bins + 1))
    index = _bin_of(flat, edges, bins - 1)
    members = [np.flatnonzero(index == b)[::stride] for b in range(bins)]  # a stable sort by bin (bins are few), subsampled
    bounds = np.cumsum([0] + [m.size for m in members])
    centres = np.array([np.median(flat[m]) if m.size else edges[b] for b, m in enumerate(members)])
    centres = np.maximum.accumulate(centres)
    lower = _bin_of(flat, centres, bins - 2)
    gap = (centres[1:] - centres[:-1]).astype(np.float32)
    start, step = _lookup(centres[:-1].astype(np.float32), lower), _lookup(np.where(gap > 0, gap, 1.0).astype(np.float32), lower)
    weight = np.clip((flat - start.ravel()) / step.ravel(), 0.0, 1.0).astype(np.float32).reshape(texture.shape)
    return _Bins(np.concatenate(members), bounds, lower.reshape(texture.shape), weight, 1 - weight)


def _bin_of(values: np.ndarray, thresholds: np.ndarray, top: int) -> np.ndarray:
    """``clip(searchsorted(thresholds, values, side="right") - 1, 0, top)`` as uint8, by one comparison
    per (few, sorted) threshold: values below the first threshold fall in bin 0, not below it."""
    index = np.zeros(values.shape, np.uint8)
    for threshold in thresholds[1:]:
        index += values >= threshold
    return np.minimum(index, top)


def _excess(diff: np.ndarray, bins: _Bins, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """A difference above the noise centre of pixels of similar texture, and `factor` noise spreads.

    A bin's noise is read from its lower quantiles, which an edit covering up to about half of
    the bin leaves alone: centre = 30th percentile, spread = 30th minus 5th percentile (0.92
    standard deviations of a normal).
    """
    groups = bins.sorted_values(diff)
    centre, spread = np.zeros(len(groups)), np.zeros(len(groups))
    for b, values in enumerate(groups):
        if values.size:
            low, mid = _quantiles(values, (0.05, 0.30))
            centre[b], spread[b] = mid, (mid - low) / 0.92
    # noise grows with texture: never let a busier bin have a lower floor than a calmer one
    centre, spread = np.maximum.accumulate(centre), np.maximum.accumulate(spread)
    return diff - bins.per_pixel(centre), factor * bins.per_pixel(spread)


def _quantiles(values: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """``np.quantile(values, qs)`` (linear interpolation) by one partition, without its per-call overhead."""
    position = np.asarray(qs) * (values.size - 1)
    low = np.floor(position).astype(np.intp)
    high = np.minimum(low + 1, values.size - 1)
    part = np.partition(values, np.unique(np.concatenate([low, high])))
    return part[low] + (part[high] - part[low]) * (position - low)


def _scored(excess: tuple[np.ndarray, np.ndarray], minimum: float | np.ndarray) -> np.ndarray:
    """An `_excess` in units of its noise floor, the floor never less than `minimum`."""
    above, floor = excess
    score = np.maximum(floor, minimum, dtype=np.float32)
    return np.divide(above, score, out=score)


def _fill_holes(mask: np.ndarray, max_area: int) -> np.ndarray:
    """Fill background regions of at most `max_area` pixels that do not touch the image border.

    (scikit-image's ``remove_small_holes`` would also fill a small gap between the mask and the
    border, which is not enclosed.)"""
    _, labels, stats, _ = cv2.connectedComponentsWithStats((~mask).astype(np.uint8), connectivity=4)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    fill = stats[:, cv2.CC_STAT_AREA] <= max_area
    fill[border] = False
    fill[0] = False  # label 0 is the mask itself
    return mask | fill[labels]


