"""Which FICT concept each triangle of the mediapipe face mesh belongs to.

The mesh (468 points, 854 triangles) covers the face oval with holes for the eyes and the mouth.
Each triangle gets exactly one atomic FICT concept by the rules in :func:`_concept_of`, evaluated
once on a frontal, left/right-symmetric reference mesh (``data/reference_mesh.json``, made by
``scripts/make_reference_mesh.py``). Because the table is fixed, a concept is always the same
patch of mesh, whatever the pose, expression or size of the face in a photo.

Coordinates are in the *eye frame*: origin midway between the outer eye corners, unit = their
distance, ``u`` towards the subject's left, ``v`` downwards (brows near v = -0.2, nose tip 0.45,
mouth 0.63, chin 1.24).
"""

from __future__ import annotations

import functools
import json
from collections import deque
from importlib import resources

import numpy as np
from matplotlib.path import Path

REFERENCE_PATH = resources.files("fifa_data") / "data" / "reference_mesh.json"

# Landmark loops (mediapipe indices), subject's right first. A "right" landmark appears on the
# image's left in a frontal photo.
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
EYE = {
    "right": (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7),
    "left": (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249),
}
EYE_CORNERS = {"right": (133, 33), "left": (362, 263)}  # (inner, outer)
IRIS = {"right": (468, (469, 470, 471, 472)), "left": (473, (474, 475, 476, 477))}  # centre, rim
EYEBROW = {
    "right": (70, 63, 105, 66, 107, 55, 65, 52, 53, 46),
    "left": (300, 293, 334, 296, 336, 285, 295, 282, 283, 276),
}
LIPS_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146)
LIPS_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)
UPPER_LIP = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191, 78)
MOUTH_MIDLINE = (13, 14)  # inner upper-lip and lower-lip centres

# Lines of the lower face in the eye frame, for the subject's left (mirrored for the right).
NASOLABIAL_LINE = ((0.25, 0.43), (0.33, 0.53), (0.42, 0.64), (0.47, 0.76))
MARIONETTE_LINE = ((0.40, 0.68), (0.42, 0.82), (0.40, 0.96))


def frame_axes(landmarks: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Origin, unit length and the u and v axes of a face's eye frame, in photo pixels."""
    points = np.asarray(landmarks, dtype=np.float64)[:, :2]
    right, left = points[33], points[263]
    unit = float(np.linalg.norm(left - right))
    ex = (left - right) / unit
    return (left + right) / 2, unit, ex, np.array([-ex[1], ex[0]])


def eye_frame(landmarks: np.ndarray) -> np.ndarray:
    """(468, 2) mesh points of a face in its eye frame (see module docstring)."""
    origin, unit, ex, ey = frame_axes(landmarks)
    centred = np.asarray(landmarks, dtype=np.float64)[:468, :2] - origin
    return np.stack([centred @ ex, centred @ ey], axis=1) / unit


@functools.cache
def triangles() -> np.ndarray:
    """(854, 3) int32 vertex indices of the mesh triangles, sorted."""
    from fifa_data.faces.detect import mesh_tessellation

    edges = mesh_tessellation()
    neighbours = _neighbours(edges)
    found = {tuple(sorted((a, b, c))) for a, b in edges for c in neighbours[a] & neighbours[b]}
    return np.array(sorted(found), dtype=np.int32)


@functools.cache
def reference() -> tuple[np.ndarray, np.ndarray]:
    """The reference mesh points (468, 2) in the eye frame and each point's mirror index."""
    data = json.loads(REFERENCE_PATH.read_text())
    return np.array(data["points"]), np.array(data["mirror"])


@functools.cache
def triangle_concepts() -> tuple[str, ...]:
    """The atomic FICT concept id of every triangle of :func:`triangles`, in the same order."""
    points, _ = reference()
    tris = triangles()
    rings = {side: _graph_distance(tris, EYE[side]) for side in EYE}
    lips, upper_lip = Path(points[list(LIPS_OUTER)]), Path(points[list(UPPER_LIP)])
    brows = {side: Path(points[list(loop)]) for side, loop in EYEBROW.items()}
    boundary = set(FACE_OVAL)
    ctx = {
        "points": points,
        "lips": lips,
        "upper_lip": upper_lip,
        "brows": brows,
        "eye_inner_u": {s: abs(points[i, 0]) for s, (i, _) in EYE_CORNERS.items()},
        "eye_outer_u": {s: abs(points[o, 0]) for s, (_, o) in EYE_CORNERS.items()},
        "eye_centre": {s: points[list(EYE[s])].mean(axis=0) for s in EYE},
    }
    return tuple(
        _concept_of(
            points[tri].mean(axis=0),
            ring={side: max(rings[side][v] for v in tri) for side in EYE},
            on_boundary=bool(boundary & set(tri.tolist())),
            ctx=ctx,
        )
        for tri in tris
    )


def _concept_of(centroid: np.ndarray, ring: dict[str, int], on_boundary: bool, ctx: dict) -> str:
    """The rules. Each is a region of the eye frame; the first that holds wins."""
    u, v = centroid
    au = abs(u)
    side = "left" if u >= 0 else "right"
    inside = lambda path: bool(path.contains_point((u, v)))  # noqa: E731

    if inside(ctx["lips"]):
        half = "upper" if inside(ctx["upper_lip"]) else "lower"
        if au > 0.28:
            return f"lips.corner.{side}"
        return f"lips.{half}.center" if au < 0.10 else f"lips.{half}.{side}"

    if inside(ctx["brows"][side]):
        part = "head" if au < 0.25 else "body" if au < 0.38 else "arch" if au < 0.52 else "tail"
        return f"eyebrow.{side}.{part}"

    k = ring[side]
    above = v < ctx["eye_centre"][side][1]
    if k <= 2 and au < ctx["eye_inner_u"][side] + 0.03:
        return f"eye.{side}.inner_canthus"
    if k <= 2 and au > ctx["eye_outer_u"][side] - 0.04:
        return f"eye.{side}.outer_canthus"
    if k <= 3 and above:
        return f"eye.{side}." + ("upper_eyelid", "crease", "brow_bone")[k - 1]
    if k == 1:
        return f"eye.{side}.lower_eyelid"
    if k == 2:
        return f"eye.{side}." + ("tear_trough" if au < abs(ctx["eye_centre"][side][0]) else "eye_bag")
    if au > ctx["eye_outer_u"][side] + 0.02 and -0.12 < v < 0.15 and not on_boundary:
        return f"eye.{side}.crows_feet"

    nose_half_width = 0.26 if v >= 0.30 else 0.08 + 0.3 * max(v, 0.0)
    if -0.06 < v < 0.50 and au < nose_half_width:
        if au < 0.07:
            if v < 0.12:
                return "nose.bridge.root"
            if v < 0.36:
                return "nose.bridge.dorsum"
            return "nose.tip" if v < 0.45 else "nose.columella"
        if v < 0.34:
            return f"nose.sidewall.{side}"
        if au < 0.14 and v >= 0.43:
            return f"nose.nostril.{side}"
        return f"nose.ala.{side}" if au >= 0.13 else "nose.tip"

    if v < -0.06 and au < 0.17 and v > -0.26:
        return "forehead.glabella"
    if v < -0.12:
        if au >= 0.60:
            return f"temple.{side}"
        return "forehead.center" if au < 0.16 else f"forehead.{side}"
    if v < 0.10 and au >= 0.55:
        return f"temple.{side}"

    nasolabial_u = _interp_u(NASOLABIAL_LINE, v)
    if _distance_to_line((au, v), NASOLABIAL_LINE) < 0.045:
        return f"perioral.nasolabial.{side}"
    if 0.46 < v < 0.66 and au < nasolabial_u:
        return "perioral.philtrum" if au < 0.07 else f"perioral.moustache.{side}"
    if v >= 0.64 and _distance_to_line((au, v), MARIONETTE_LINE) < 0.06:
        return f"perioral.marionette.{side}"
    if 0.70 < v < 0.97 and au < 0.35:
        return "perioral.mentolabial" if au < 0.2 and v > 0.82 else f"perioral.marionette.{side}"
    if v >= 0.97 and au < 0.30:
        return "chin.center" if au < 0.13 else f"chin.{side}"

    if v >= 0.55 and on_boundary:
        return f"jaw.{side}.angle" if au > 0.58 and v < 0.95 else f"jaw.{side}.line"
    if v >= 0.74:
        return f"jaw.{side}.jowl"
    if v < 0.46:
        if au < 0.33:
            return f"cheek.{side}.inner"
        return f"cheek.{side}.apple" if au < 0.55 else f"cheek.{side}.cheekbone"
    return f"cheek.{side}.hollow" if au < 0.60 else f"cheek.{side}.lower"


def _neighbours(edges) -> dict[int, set[int]]:
    neighbours: dict[int, set[int]] = {}
    for a, b in edges:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    return neighbours


def _graph_distance(tris: np.ndarray, sources) -> dict[int, int]:
    """Breadth-first hop count over the mesh edges from a set of source vertices."""
    neighbours = _neighbours((x, y) for a, b, c in tris.tolist() for x, y in ((a, b), (b, c), (a, c)))
    dist = {s: 0 for s in sources}
    queue = deque(sources)
    while queue:
        node = queue.popleft()
        for nxt in neighbours[node]:
            if nxt not in dist:
                dist[nxt] = dist[node] + 1
                queue.append(nxt)
    return dist


def _interp_u(line, v: float) -> float:
    us, vs = zip(*line)
    return float(np.interp(v, vs, us))


def _distance_to_line(point, line) -> float:
    p = np.asarray(point)
    best = np.inf
    for a, b in zip(line[:-1], line[1:]):
        a, b = np.asarray(a), np.asarray(b)
        t = np.clip(np.dot(p - a, b - a) / np.dot(b - a, b - a), 0.0, 1.0)
        best = min(best, float(np.linalg.norm(p - (a + t * (b - a)))))
    return best
