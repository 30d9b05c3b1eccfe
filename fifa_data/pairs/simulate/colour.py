"""The colour edits: lipstick, hair dye and darker, bolder eyebrows, moved in CIE L*a*b* with the
luminance texture kept."""

from __future__ import annotations

import math

import cv2
import numpy as np

from fifa_data.pairs.simulate.canvas import (
    EditNotApplicable,
    _blend_lab,
    _blur,
    _Context,
    _feather,
    _full,
    _hair_alpha,
    _head_hair,
    _pick,
    _require,
    _rgb_colour,
    _Roi,
    _smoothstep,
    _strands,
    _to_lab,
)

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
