"""The skin and hair-texture edits: smoothing, a beard, and ageing (wrinkles and grey strands)."""

from __future__ import annotations

import itertools

import cv2
import numpy as np

from fifa_data.faces import mesh_regions as regions
from fifa_data.pairs.simulate.canvas import (
    _SKIN,
    EditNotApplicable,
    _blend_lab,
    _blur,
    _compose,
    _Context,
    _feather,
    _from_lab,
    _full,
    _hair_alpha,
    _head_hair,
    _noise,
    _pick,
    _require,
    _rgb_colour,
    _Roi,
    _smoothstep,
    _strands,
    _to_lab,
)
from fifa_data.pairs.simulate.colour import _BROW_COLOURS


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


_FULL_BEARD = (
    "perioral.moustache",
    "perioral.philtrum",
    "perioral.mentolabial",
    "perioral.marionette",
    "chin",
    "jaw",
    "cheek.left.lower",
    "cheek.right.lower",
)
_BEARD_STYLES = {
    "moustache": ("perioral.moustache", "perioral.philtrum"),
    "goatee": ("perioral.moustache", "perioral.philtrum", "perioral.mentolabial", "chin"),
    "full": _FULL_BEARD,
    "stubble": (*_FULL_BEARD, "cheek.left.hollow", "cheek.right.hollow"),
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
