"""The warps (smile, eye enlargement, face slimming): smooth displacement fields through mesh
landmarks, applied with `cv2.remap`."""

from __future__ import annotations

import cv2
import numpy as np

from fifa_data.faces import mesh_regions as regions
from fifa_data.pairs.simulate.canvas import _FADE_DISPLACEMENT, MIN_DISPLACEMENT, MIN_WEIGHT, EditNotApplicable, _compose, _Context, _full, _Roi, _smoothstep


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


def _landmark_warp(ctx: _Context, centres: np.ndarray, moves: np.ndarray, radius: float, around: np.ndarray | None = None):
    """The photo warped by the smooth field that moves each centre by its move (within ``radius`` of
    ``around``, the centres by default), and the truth weight of its displacement."""
    roi = _Roi.around(centres if around is None else around, radius + 2, ctx.shape)
    fake, magnitude = _warp(ctx, roi, _rbf_field(centres, moves, radius, roi))
    return fake, _displacement_weight(magnitude)


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
    fake, weight = _landmark_warp(ctx, centres, moves, radius)
    params = {
        "strength": strength,
        "concepts": ["lips", "perioral", "cheek"],
        "corner_lift_px": lift,
        "corner_spread": spread,
        "cheek_lift": cheek,
        "radius_px": radius,
    }
    return fake, weight, params


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
    fake, weight = _landmark_warp(ctx, centres, all_moves, radius, around=oval)
    params = {
        "strength": strength,
        "concepts": ["jaw", "cheek", "chin"],
        "push_px": amount,
        "peak_v": lower,
        "radius_px": radius,
    }
    return fake, weight, params


_EXPRESSION = {  # mesh points that carry an expression: brows, eyelids, lips
    "brows": (*regions.EYEBROW["right"], *regions.EYEBROW["left"]),
    "eyelids": (*regions.EYE["right"], *regions.EYE["left"]),
    "mouth": regions.LIPS_OUTER,
}
_STILL = (1, 4, 6, 168, 197, 10, 234, 454, 93, 323, 127, 356)  # nose ridge, forehead top, face sides: they stay
_JAW = (152, 148, 377, 176, 400, 149, 378)  # chin and lower jaw: they follow the mouth's opening


def _reenact(ctx: _Context, rng: np.random.Generator, donor: _Context | None):
    """The donor's expression (the shape of brows, eyelids and lips, and the jaw's drop) moved onto the
    photo's face by a smooth landmark-driven warp; its identity (the face's layout) stays."""
    strength = float(rng.uniform())
    share = 0.5 + 0.5 * strength
    mine, theirs = regions.eye_frame(ctx.points), regions.eye_frame(donor.points)
    limit = 0.08  # largest landmark move, in eye distances
    centres, moves = [], []
    for points in _EXPRESSION.values():
        idx = list(points)
        delta = theirs[idx] - mine[idx]
        delta -= delta.mean(axis=0)  # a group's shape, not its place: the place belongs to the identity
        delta *= share
        centres += [ctx.points[i] for i in idx]
        moves += list(delta)
    opening = (theirs[152, 1] - theirs[14, 1]) - (mine[152, 1] - mine[14, 1])  # chin below the lower lip
    for i in _JAW:
        centres.append(ctx.points[i])
        moves.append(np.array([0.0, share * opening]))
    moves = np.array(moves)
    length = np.linalg.norm(moves, axis=1, keepdims=True)
    moves = moves * np.minimum(1.0, limit / np.maximum(length, 1e-9))
    moves_px = ctx.unit * (moves[:, :1] * ctx.ex + moves[:, 1:] * ctx.ey)
    centres += [ctx.points[i] for i in _STILL]
    moves_px = np.concatenate([moves_px, np.zeros((len(_STILL), 2))])
    centres = np.array(centres)
    if np.linalg.norm(moves_px, axis=1).max() < 1.0:
        raise EditNotApplicable("the two faces have the same expression: nothing to reenact")
    radius = 0.3 * ctx.unit
    fake, weight = _landmark_warp(ctx, centres, moves_px, radius)
    params = {
        "strength": strength,
        "concepts": ["eyebrow", "eye", "lips", "chin"],
        "share": share,
        "jaw_drop_to_eye_distance": share * opening,
        "radius_px": radius,
    }
    return fake, weight, params
