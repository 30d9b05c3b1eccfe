"""The swaps, which bring a donor's pixels: the whole inner face (FaceForensics++'s FaceSwap recipe, Face
X-ray's blended images) or one part of it (eyes, eyebrows, nose or mouth), warped onto the photo's mesh,
colour-matched and blended."""

from __future__ import annotations

import cv2
import numpy as np

from fifa_data.core import masks as masklib
from fifa_data.core.grammar import is_plural
from fifa_data.pairs.simulate.blends import _feather_blend, _hull, _match_colour, _poisson_blend, warp_to_mesh
from fifa_data.pairs.simulate.canvas import EditNotApplicable, _Context, _feather, _Roi

SWAP_PARTS = {"eyes": ("eye",), "eyebrows": ("eyebrow",), "nose": ("nose",), "mouth": ("lips", "mouth")}  # part: FICT concepts


def _aligned(ctx: _Context, donor: _Context, roi: _Roi) -> np.ndarray:
    """The donor photo warped onto the photo's mesh over ``roi``, full size (zero outside ``roi``), float."""
    out = np.zeros((*ctx.shape, 3), np.float32)
    shift = np.array([roi.x0, roi.y0], np.float64)
    out[roi.slices] = warp_to_mesh(donor.image, donor.points, ctx.points - shift, roi.shape)
    return out


def _face_swap(ctx: _Context, rng: np.random.Generator, donor: _Context | None):
    """The donor's inner face warped triangle by triangle onto the photo's mesh, colour-matched in L*a*b*
    inside the hull, and feathered or Poisson-blended into it."""
    strength = float(rng.uniform())
    shrink = float(rng.uniform(0.02, 0.08))
    hull = cv2.erode(_hull(ctx.points, ctx.shape).astype(np.uint8), masklib.disc(shrink * ctx.unit), borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
    roi = _Roi.around(hull, 0.1 * ctx.unit, ctx.shape)
    aligned = _aligned(ctx, donor, roi)
    window = roi.slices
    matched = np.zeros_like(aligned)
    matched[window] = _match_colour(aligned[window].astype(np.uint8), ctx.image[window], hull[window])
    kind = ("feather", "poisson")[int(rng.integers(2))]
    feather = float(rng.uniform(0.03, 0.08))
    if kind == "feather":
        weight = _feather(hull, ctx.px(feather, 1.0), inside=True)
        fake, seam = _feather_blend(ctx, matched, weight)
    else:
        fake, seam = _poisson_blend(ctx, matched, hull)
        weight = hull.astype(np.float32)
    params = {
        "strength": strength,
        "concepts": ["face"],
        "blend": {"kind": kind, **({"feather_to_eye_distance": feather} if kind == "feather" else {})},
        "hull_shrink_to_eye_distance": shrink,
    }
    return fake, weight, params, seam


def _part_swap(ctx: _Context, rng: np.random.Generator, donor: _Context | None):
    """One part of the face (eyes, eyebrows, nose or mouth) from the donor, aligned by the mesh,
    colour-matched and Poisson-blended over the part grown by a margin.

    The truth is the whole clone region. The clone adapts its border to the photo, so the margin changes less
    than the part, but visibly on most of it (more than `CHANGE_LEVELS` on the great majority of the region); a
    tighter margin was tried and makes the clone adapt the part itself more. What an annotator misses there is
    a visible change beside the part's strongest edges (the artifact stage's `FAMILY_RESAVED_PARAMS`)."""
    strength = float(rng.uniform())
    part = list(SWAP_PARTS)[int(rng.integers(len(SWAP_PARTS)))]
    concepts = SWAP_PARTS[part]
    core = ctx.mask(*concepts)
    if core.sum() < max(30, 0.002 * ctx.unit**2):
        raise EditNotApplicable(f"the {part} {'are' if is_plural(part) else 'is'} not visible enough to swap ({int(core.sum())} px)")
    margin = float(rng.uniform(0.04, 0.1))
    region = cv2.dilate(core.astype(np.uint8), masklib.disc(margin * ctx.unit)) > 0
    region &= _hull(ctx.points, ctx.shape)
    roi = _Roi.around(region, 0.1 * ctx.unit, ctx.shape)
    aligned = _aligned(ctx, donor, roi)
    window = roi.slices
    matched = np.zeros_like(aligned)
    matched[window] = _match_colour(aligned[window].astype(np.uint8), ctx.image[window], region[window])
    fake, seam = _poisson_blend(ctx, matched, region)
    params = {
        "strength": strength,
        "concepts": list(concepts),
        "part": part,
        "blend": {"kind": "poisson"},
        "margin_to_eye_distance": margin,
    }
    return fake, region.astype(np.float32), params, seam
