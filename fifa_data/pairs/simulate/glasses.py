"""Glasses: anti-aliased super-elliptic rims, a bridge and temple arms, sometimes tinted lenses."""

from __future__ import annotations

import cv2
import numpy as np

from fifa_data.faces import mesh_regions as regions
from fifa_data.pairs.simulate.canvas import _SKIN, _blur, _compose, _Context, _full, _noise, _Roi

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
