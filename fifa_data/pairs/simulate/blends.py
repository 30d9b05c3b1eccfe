"""Blending one image into the photo: a donor warped onto the photo's face mesh triangle by triangle,
colour transfer in L*a*b*, feathered and Poisson (`cv2.seamlessClone`) blends and their seam bands;
and the two family edits that need no donor, the self-blend and the inpainting."""

from __future__ import annotations

import cv2
import numpy as np

from fifa_data.core import masks as masklib
from fifa_data.core.families import BRUSH_RADIUS_PX
from fifa_data.faces import mesh_regions as regions
from fifa_data.pairs.simulate.canvas import CHANGE_LEVELS, EditNotApplicable, _compose, _Context, _feather, _from_lab, _noise, _Roi, _to_lab

SEAM_WEIGHT = 0.5  # a feathered blend's seam band: where 4 a (1 - a) >= this
SEAM_WIDTH = 0.03  # a Poisson blend's seam band: the clone region's inner border, this share of the eye distance wide
MESH_POINTS = 468  # the mesh proper (the 10 iris points are not triangulated)


def warp_to_mesh(image: np.ndarray, source: np.ndarray, target: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``image`` (whose face mesh is ``source``, (478, 2+) px) warped piecewise-affinely onto the mesh ``target``.

    Each mesh triangle is mapped by its own affine transform; pixels outside the mesh take the least-squares
    affine transform of the whole mesh. Returns an RGB uint8 image of ``shape``.
    """
    src, dst = np.asarray(source, np.float64)[:MESH_POINTS, :2], np.asarray(target, np.float64)[:MESH_POINTS, :2]
    tris = regions.triangles()
    # transforms[0]: the mesh's global affine; transforms[i + 1]: triangle i's (target pixel -> source pixel).
    design = np.hstack([dst, np.ones((len(dst), 1))])
    transforms = np.empty((len(tris) + 1, 2, 3))
    transforms[0] = np.linalg.lstsq(design, src, rcond=None)[0].T
    labels = np.zeros(shape, np.int32)
    for i, tri in enumerate(tris):
        a, b, c = dst[tri]
        if abs((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])) < 0.5:  # degenerate (seen edge-on)
            transforms[i + 1] = transforms[0]
        else:
            transforms[i + 1] = cv2.getAffineTransform(dst[tri].astype(np.float32), src[tri].astype(np.float32))
        cv2.fillConvexPoly(labels, np.rint(dst[tri] * 16).astype(np.int32), i + 1, cv2.LINE_8, shift=4)
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    t = transforms[labels]
    map_x = (t[..., 0, 0] * xs + t[..., 0, 1] * ys + t[..., 0, 2]).astype(np.float32)
    map_y = (t[..., 1, 0] * xs + t[..., 1, 1] * ys + t[..., 1, 2]).astype(np.float32)
    return cv2.remap(np.ascontiguousarray(image), map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def _hull(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The filled convex hull of the mesh points, as a bool mask."""
    out = np.zeros(shape, np.uint8)
    hull = cv2.convexHull(np.rint(points[:MESH_POINTS, :2] * 16).astype(np.int32))
    cv2.fillConvexPoly(out, hull, 1, cv2.LINE_8, shift=4)
    return out > 0


def _away_from_edges(mask: np.ndarray, margin: int = 2) -> np.ndarray:
    out = mask.copy()
    out[:margin], out[-margin:], out[:, :margin], out[:, -margin:] = False, False, False, False
    return out


def _match_colour(source: np.ndarray, target: np.ndarray, region: np.ndarray) -> np.ndarray:
    """``source`` (RGB) with its L*a*b* mean and spread inside ``region`` moved to ``target``'s there; float 0..255."""
    src, dst = _to_lab(source), _to_lab(target)
    mean_s, std_s = src[region].mean(axis=0), src[region].std(axis=0) + 1e-3
    mean_d, std_d = dst[region].mean(axis=0), dst[region].std(axis=0) + 1e-3
    return _from_lab((src - mean_s) * np.minimum(std_d / std_s, 3.0) + mean_d)


def _feather_blend(ctx: _Context, new_rgb: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The photo blended towards ``new_rgb`` (full size, float) by ``alpha``; returns (fake, seam band)."""
    roi = _Roi.around(alpha > 0, 1, ctx.shape)
    a = alpha[roi.slices][..., None]
    mixed = ctx.image[roi.slices] * (1 - a) + new_rgb[roi.slices] * a
    return _compose(ctx, roi, mixed, alpha[roi.slices] > 0), 4 * alpha * (1 - alpha) >= SEAM_WEIGHT


def _poisson_blend(ctx: _Context, new_rgb: np.ndarray, region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``new_rgb`` Poisson-cloned into the photo over ``region``; returns (fake, seam band: the region's inner border)."""
    region = _away_from_edges(region)
    if region.sum() < 20:
        raise EditNotApplicable("the region to blend is too small")
    source = np.clip(np.rint(new_rgb), 0, 255).astype(np.uint8)
    clone = region.astype(np.uint8) * 255
    x, y, w, h = cv2.boundingRect(clone)
    inner = cv2.erode(clone, masklib.disc(ctx.px(SEAM_WIDTH, 1.0)), borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
    fake = cv2.seamlessClone(source, ctx.image, clone.copy(), (x + w // 2, y + h // 2), cv2.NORMAL_CLONE)
    fake[~region] = ctx.image[~region]  # the solver also nudges pixels of the bounding box outside the region
    return fake, region & ~inner


def _self_blend(ctx: _Context, rng: np.random.Generator, donor: _Context | None = None):
    """SBI's self-blended image: a colour-, sharpness- and slightly geometry-jittered copy of the photo
    blended through a deformed, feathered face hull; the identity does not change."""
    strength = float(rng.uniform())
    image = ctx.image.astype(np.float32)
    # Colour: per-channel shifts and a contrast change.
    shift = rng.uniform(-1, 1, 3) * (4 + 14 * strength)
    contrast = 1 + rng.uniform(-1, 1) * (0.05 + 0.15 * strength)
    source = (image - image.mean()) * contrast + image.mean() + shift
    # Sharpness: blurred or unsharp-masked.
    sharpen = bool(rng.random() < 0.5)
    sigma = float(rng.uniform(0.6, 1.6))
    blurred = cv2.GaussianBlur(source, (0, 0), sigma)
    amount = float(rng.uniform(0.3, 1.0))
    source = source + amount * (source - blurred) if sharpen else blurred
    # Geometry: a small scale and shift about the face centre.
    scale = 1 + rng.uniform(-1, 1) * 0.03
    move = rng.uniform(-1, 1, 2) * 0.02 * ctx.unit
    centre = ctx.points[:MESH_POINTS].mean(axis=0)
    affine = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), 0.0, scale)
    affine[:, 2] += move
    source = cv2.warpAffine(source, affine, (ctx.shape[1], ctx.shape[0]), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    # Blend mask: the face hull, deformed by smooth noise, grown or shrunk, feathered.
    hull = _hull(ctx.points, ctx.shape)
    roi = _Roi.around(hull, 0.3 * ctx.unit, ctx.shape)
    window = hull[roi.slices].astype(np.float32)
    wobble = 0.06 * ctx.unit
    dx, dy = (_noise(rng, roi.shape, 0.4 * ctx.unit) * wobble for _ in range(2))
    xs, ys = np.meshgrid(np.arange(roi.shape[1], dtype=np.float32), np.arange(roi.shape[0], dtype=np.float32))
    window = cv2.remap(window, xs + dx, ys + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0) > 0.5
    grow = float(rng.uniform(-0.08, 0.04)) * ctx.unit
    op = cv2.dilate if grow > 0 else cv2.erode
    window = op(window.astype(np.uint8), masklib.disc(abs(grow)), borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
    deformed = np.zeros(ctx.shape, bool)
    deformed[roi.slices] = window
    deformed = _away_from_edges(deformed)
    feather = float(rng.uniform(0.02, 0.08))
    alpha = _feather(deformed, ctx.px(feather, 1.0), inside=True)
    fake, seam = _feather_blend(ctx, source, alpha)
    params = {
        "strength": strength,
        "concepts": ["face"],
        "blend": {"kind": "feather", "feather_to_eye_distance": feather, "grow_to_eye_distance": grow / ctx.unit},
        "colour_shift": shift,
        "contrast": contrast,
        "sharpness": {"kind": "sharpen" if sharpen else "blur", "sigma_px": sigma, "amount": amount if sharpen else 1.0},
        "scale": scale,
        "shift_px": move,
    }
    return fake, alpha, params, seam


INPAINT_PATCHES = ("mole", "mark", "wrinkles")  # what the inpainting removes
_INPAINT_REGIONS = {"mole": ("cheek", "forehead"), "mark": ("cheek", "forehead"), "wrinkles": ("forehead",)}
_INPAINT_CANDIDATES = 8  # the most structured places of the region tried as holes
_INPAINT_CHOICES = 3  # the place removed is drawn among this many candidates whose detail the fill removes most
INPAINT_REMOVED_LEVELS = CHANGE_LEVELS  # a fill must remove more detail than this (grey levels of spread about a plane) to remove anything a viewer sees


def _local_structure(gray: np.ndarray, inside: np.ndarray, axes_px: np.ndarray, tilt: float) -> np.ndarray:
    """How much visible structure (a dark or bright blob, a line, a blemish) a hole of ``axes_px`` centred
    on each pixel would hold: the mean absolute deviation of the grey level from its surroundings (a local
    mean three holes wide), counted over the pixels of ``inside`` only so that a border with hair, an eye
    or the background adds nothing."""
    weight = inside.astype(np.float32)
    sigma = float(max(1.0, 1.5 * axes_px.mean()))
    support = cv2.GaussianBlur(weight, (0, 0), sigma)
    surround = cv2.GaussianBlur(gray * weight, (0, 0), sigma) / np.maximum(support, 1e-3)
    deviation = np.abs(gray - surround) * weight
    kernel = np.zeros((2 * int(axes_px.max()) + 1,) * 2, np.uint8)
    centre = (int(axes_px.max()), int(axes_px.max()))
    cv2.ellipse(kernel, centre, (max(1, int(axes_px[0])), max(1, int(axes_px[1]))), tilt, 0, 360, 1, -1)
    kernel = kernel.astype(np.float32)
    total = cv2.filter2D(deviation, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    count = cv2.filter2D(weight, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    return total / np.maximum(count, 1.0)


def _detail(gray: np.ndarray, inside: np.ndarray) -> float:
    """The grey-level detail of ``inside``: the spread of its grey levels about their best-fitting plane (so a
    smooth shading gradient counts as none; a mole, a line or a blemish does)."""
    ys, xs = np.nonzero(inside)
    if len(ys) < 4:
        return 0.0
    design = np.column_stack([xs, ys, np.ones_like(xs)]).astype(np.float64)
    values = gray[inside].astype(np.float64)
    return float(np.std(values - design @ np.linalg.lstsq(design, values, rcond=None)[0]))


def _hole_shape(patch: str, strength: float, rng: np.random.Generator, unit: float) -> tuple[np.ndarray, float]:
    """The half-axes (px) and the tilt off the eye line (degrees) of a hole that removes ``patch``."""
    if patch == "mole":
        axes = np.array([1.0, 1.0]) * (0.03 + 0.03 * strength)
    elif patch == "mark":
        axes = np.array([0.06 + 0.06 * strength, rng.uniform(0.03, 0.05)])
    else:
        axes = np.array([0.2 + 0.15 * strength, rng.uniform(0.05, 0.08)])
    angle = float(rng.uniform(-30, 30)) if patch == "mark" else 0.0
    axes_px = axes * unit
    return axes_px * max(1.0, BRUSH_RADIUS_PX / axes_px.min()), angle  # on a small face the brush keeps its size, the patch its shape


def _fill_candidates(ctx: _Context, concept: str, axes_px: np.ndarray, tilt: float, radius: float, flag: int) -> list[tuple]:
    """The most structured places of ``concept`` (each at least a hole apart) filled in a window around
    each: (detail removed, centre, hole, window, filled), most detail removed first."""
    skin = ctx.mask(concept)
    region = cv2.erode(skin.astype(np.uint8), masklib.disc(axes_px.max() * 0.8), borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
    if not region.any():
        return []
    gray = cv2.cvtColor(ctx.image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    structure = _local_structure(gray, skin, axes_px, tilt)
    ys, xs = np.nonzero(region)
    order = np.argsort(-structure[ys, xs], kind="stable")
    candidates: list[tuple[float, tuple[float, float], np.ndarray, _Roi, np.ndarray]] = []
    for k in order:
        if len(candidates) == _INPAINT_CANDIDATES:
            break
        if any(np.hypot(xs[k] - c[1][0], ys[k] - c[1][1]) <= 2 * axes_px.max() for c in candidates):
            continue
        hole = np.zeros(ctx.shape, np.uint8)
        cv2.ellipse(hole, (round(xs[k] * 16), round(ys[k] * 16)), (round(axes_px[0] * 16), round(axes_px[1] * 16)), tilt, 0, 360, 1, -1, cv2.LINE_8, shift=4)
        hole = _away_from_edges(hole > 0)
        roi = _Roi.around(hole, 2 * axes_px.max() + 2 * radius, ctx.shape)
        filled = cv2.inpaint(np.ascontiguousarray(ctx.image[roi.slices]), hole[roi.slices].astype(np.uint8), radius, flag)
        inside = hole[roi.slices]
        after = cv2.cvtColor(filled, cv2.COLOR_RGB2GRAY).astype(np.float32)
        change = _detail(gray[roi.slices], inside) - _detail(after, inside)
        candidates.append((change, (float(xs[k]), float(ys[k])), hole, roi, filled))
    return sorted(candidates, key=lambda c: -c[0])


def _inpaint(ctx: _Context, rng: np.random.Generator, donor: _Context | None = None):
    """A visible patch of the cheek or forehead (a mole, a mark or blemish, or a band of forehead wrinkles)
    removed with `cv2.inpaint`: filled from its surroundings. The hole is put where the photo has structure
    to remove: of the places of the region where the hole would lie inside the skin, one of the
    few whose fill removes the most detail is drawn. A fill that removes at most `INPAINT_REMOVED_LEVELS`
    grey levels of detail removes nothing a viewer sees (a smooth forehead has no wrinkles to remove), so
    the other patches and regions are tried in turn (`INPAINT_PATCHES` order), and with none the edit
    does not apply. ``params["removed_detail_levels"]`` records the detail the fill removed."""
    strength = float(rng.uniform())
    drawn = INPAINT_PATCHES[int(rng.integers(len(INPAINT_PATCHES)))]
    concept = _INPAINT_REGIONS[drawn][int(rng.integers(len(_INPAINT_REGIONS[drawn])))]
    shapes = {drawn: _hole_shape(drawn, strength, rng, ctx.unit)}
    method = ("telea", "navier_stokes")[int(rng.integers(2))]
    radius = ctx.px(0.03, 2.0)
    flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
    options = [(drawn, concept), *((p, c) for p in INPAINT_PATCHES for c in _INPAINT_REGIONS[p] if (p, c) != (drawn, concept))]
    most = None  # the most detail any fill removed, for the message when none removes enough
    for patch, concept in options:
        if patch not in shapes:  # drawn only when the drawn patch left nothing to remove
            shapes[patch] = _hole_shape(patch, strength, rng, ctx.unit)
        axes_px, angle = shapes[patch]
        tilt = float(np.degrees(np.arctan2(ctx.ex[1], ctx.ex[0]))) + angle
        candidates = _fill_candidates(ctx, concept, axes_px, tilt, radius, flag)
        if candidates and candidates[0][0] > INPAINT_REMOVED_LEVELS:
            break
        if candidates:
            most = candidates[0][0] if most is None else max(most, candidates[0][0])
    else:
        found = f"its fills remove at most {most:.1f} grey levels of detail" if most is not None else "the regions are too small for a hole"
        raise EditNotApplicable(f"nothing to remove on the cheeks or forehead: {found}, and a removal must take away more than {INPAINT_REMOVED_LEVELS:g}")
    best = candidates[0][0]
    choices = [c for c in candidates[:_INPAINT_CHOICES] if c[0] > INPAINT_REMOVED_LEVELS and c[0] >= 0.5 * best]
    change, centre, hole, roi, filled = choices[int(rng.integers(len(choices)))]
    fake = ctx.image.copy()
    fake[roi.slices] = filled
    inner = cv2.erode(hole.astype(np.uint8), masklib.disc(ctx.px(SEAM_WIDTH, 1.0)), borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
    params = {
        "strength": strength,
        "concepts": [concept],
        "patch": patch,
        "centre_px": centre,
        "axes_px": axes_px,
        "angle_deg": tilt,
        "method": method,
        "radius_px": radius,
        "removed_detail_levels": change,
    }
    return fake, hole.astype(np.float32), params, hole & ~inner
