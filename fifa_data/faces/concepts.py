"""Concept masks: for one face photo, where every atomic FICT concept is.

The result is a label map (one concept per pixel), so atomic masks never overlap by
construction and a parent's mask is the union of its children's. Sources, in paint order:

1. *Around the face* (hair zones, upper forehead, temples beyond the mesh, ears, neck, body,
   background): the selfie-segmentation person map, a skin colour model fitted to the subject's
   own cheeks and forehead, and position in the eye frame (see ``mesh_regions``). This layer is
   computed at the person map's resolution and upsampled. In a photo of several people only the
   subject's share of the person map (`faces.face_territories`) is the subject; other people are
   background, as FICT defines it ("everything that is not the person").
2. *The face oval*: every mesh triangle painted at full resolution with its concept from
   ``mesh_regions.triangle_concepts()``.
3. *The openings*: the eye openings split into iris (from the iris landmarks), pupil (0.4 of the
   iris radius) and the inner / outer white; the mouth opening split into upper teeth, lower
   teeth (bright, unsaturated pixels above / below the mouth's midline) and the oral cavity.

Only what is visible is labelled: a pixel belongs to what covers it. Beside the face (temples
beyond the mesh, ears) hair of a skin-like hue lies over the skin, so there a pixel is skin only if
it also matches the skin's luma, and the skin model is fitted to the cheeks and to the forehead only
where the forehead matches them (bangs are not skin); skin-coloured patches in the ear zone mostly
ringed by hair are gaps between strands, labelled hair (`EAR_IN_HAIR`). An ear under hair is hair.

A hat is not hair. FICT has no concept for it (nor for any other occluder), so a hat is labelled 0,
no concept: it is never named, counted or edited as hair, and `decide` ignores it. A hat is told
from hair by its brim (`_hat`): a straight, nearly level lower border across the forehead, reaching
below the hairline, with hair of another colour beside the face below it (a fringe's border is
ragged or stays at the hairline, and the side hair has its colour). Without such side hair (a bald
head, hair of the hat's colour) the hat stays labelled as the hair it covers.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from fifa_data.core import masks as masklib
from fifa_data.core.fict import FICT, load_fict
from fifa_data.faces import mesh_regions as regions
from fifa_data.faces.detect import Face, analyze_face, face_territories

PUPIL_TO_IRIS = 0.4
HEAD = ("hair", "face", "ear", "neck")  # the FICT regions of the head (the rest: body and background)
SKIN_CHI2 = 11.3  # 99 % quantile of chi-square with 3 degrees of freedom
_SHIFT = 4  # sub-pixel bits for cv2.fillPoly
EAR_IN_HAIR = 0.6  # share of its rim in the hair that makes an ear-zone skin patch a gap in the hair
SIDE_U = 0.62  # |u| (eye-frame units) beyond which a pixel lies beside the face: temples, ears
EAR_MIN_AREA = 0.05  # square eye distances: an ear zone showing less skin than this beside hair shows no ear (an ear is ~0.25)
SIDE_V = 0.55  # ... above this v (the ears' lower end): below it lie the jaw, the neck, hands and shoulders
# A hat's brim (`_hat`): the top hair's lowest point in BRIM_BINS bins of |u| < BRIM_U lies on a line
# within BRIM_RAGGED, of |slope| <= BRIM_SLOPE, below v = BRIM_V (inside the forehead); the hair beside
# the face BRIM_BAND below it differs from the band BRIM_BAND above it by BRIM_LAB_GAP (Lab) and at
# most BRIM_ALIKE of it fits the band's colour model.
BRIM_U = 0.45
BRIM_BINS = 12
BRIM_RAGGED = 0.04
BRIM_SLOPE = 0.2
BRIM_V = -0.7
BRIM_BAND = 0.3
BRIM_LAB_GAP = 30.0
BRIM_ALIKE = 0.5
_SKIN_SAMPLES = ("cheek.left.apple", "cheek.right.apple", "forehead.center", "forehead.left", "forehead.right")


@dataclass(frozen=True)
class ConceptMasks:
    """The atomic concepts of one photo as a label map.

    ``labels[y, x] == i + 1`` means pixel (x, y) belongs to ``fict.atomic_ids[i]``; 0 means no
    concept: an occluder such as a hat (see the module docstring).
    """

    labels: np.ndarray
    fict: FICT
    num_faces: int
    face_box: tuple[float, float, float, float]
    uncovered_face_share: float
    subject: int = 0  # which of the photo's faces (largest first) the concepts describe
    face_boxes: tuple[tuple[float, float, float, float], ...] = ()  # every face's box, largest first

    def mask(self, concept_id: str) -> np.ndarray:
        """Boolean HxW mask of any concept; a parent's is the union of its atomic descendants."""
        return self.members(concept_id)[self.labels]

    def members(self, *concept_ids: str) -> np.ndarray:
        """Per label value: whether it belongs to any of `concept_ids` (index it with `labels`)."""
        wanted = np.zeros(len(self.fict.atomic_ids) + 1, dtype=bool)
        for concept_id in concept_ids:
            wanted[[self._index[c] for c in self.fict.atomic_descendants(concept_id)]] = True
        return wanted

    def near_subject(self, reach: float) -> np.ndarray:
        """Boolean HxW mask of the subject (every pixel not labelled background) and of what lies
        within ``reach`` pixels of it: the part of the photo FiFa annotates."""
        return self._distance_to_subject <= reach

    @functools.cached_property
    def distance_to_head(self) -> np.ndarray:
        """Pixels from each pixel to the head (`HEAD`), computed once for all the fakes of a photo."""
        return _distance_from(~self.members(*HEAD)[self.labels])

    @functools.cached_property
    def _distance_to_subject(self) -> np.ndarray:
        """Pixels from each pixel to the subject, computed once for all the fakes of a photo."""
        return _distance_from(self.mask("background"))

    def box(self, concept_id: str) -> list[float] | None:
        """Tight box ``[x0, y0, x1, y1]`` of a concept (x1, y1 exclusive); None if not visible."""
        boxes = self._atomic_boxes[[self._index[c] for c in self.fict.atomic_descendants(concept_id)]]
        boxes = boxes[boxes[:, 2] > boxes[:, 0]]
        if len(boxes) == 0:
            return None
        return [float(boxes[:, 0].min()), float(boxes[:, 1].min()), float(boxes[:, 2].max()), float(boxes[:, 3].max())]

    @functools.cached_property
    def _atomic_boxes(self) -> np.ndarray:
        """(n + 1, 4) boxes of every label, from one pass over the map; an absent label gets x1 = x0."""
        height, width = self.labels.shape
        n = len(self.fict.atomic_ids) + 1
        in_column = np.zeros((n, width), dtype=bool)
        in_column[self.labels, np.arange(width)[None, :]] = True
        in_row = np.zeros((n, height), dtype=bool)
        in_row[self.labels, np.arange(height)[:, None]] = True
        present = in_column.any(axis=1)
        boxes = np.zeros((n, 4), dtype=np.int64)
        boxes[:, 0] = np.argmax(in_column, axis=1)
        boxes[:, 2] = width - np.argmax(in_column[:, ::-1], axis=1)
        boxes[:, 1] = np.argmax(in_row, axis=1)
        boxes[:, 3] = height - np.argmax(in_row[:, ::-1], axis=1)
        boxes[~present] = 0
        return boxes

    def pixels_within(self, region: np.ndarray) -> np.ndarray:
        """Pixel count of every label value (as `label_counts`) within a boolean HxW `region`."""
        return np.bincount(self.labels[region], minlength=len(self.fict.atomic_ids) + 1)

    def count(self, concept_id: str, counts: np.ndarray | None = None) -> int:
        """Pixels of a concept (a parent: its atomic descendants), from `label_counts` or a `pixels_within`."""
        return int((self.label_counts if counts is None else counts)[self.members(concept_id)].sum())

    def areas(self) -> dict[str, int]:
        """Pixel count of every atomic concept (0 when not visible)."""
        counts = self.label_counts
        return {c: int(counts[i + 1]) for i, c in enumerate(self.fict.atomic_ids)}

    @functools.cached_property
    def label_counts(self) -> np.ndarray:
        """Pixel count of every label value (index 0: unlabelled), computed once."""
        return np.bincount(self.labels.ravel(), minlength=len(self.fict.atomic_ids) + 1)

    def visible(self) -> list[str]:
        """Atomic concepts with at least one pixel, in FICT order."""
        return [c for c, n in self.areas().items() if n > 0]

    def to_rle(self, concept_ids: list[str] | None = None) -> dict[str, dict]:
        """COCO RLE of each concept (default: every visible atomic concept)."""
        wanted = concept_ids or self.visible()
        missing = [c for c in wanted if c not in self._rles]  # the fakes of one real ask for the same concepts
        if missing:
            transposed = self._labels_by_column
            for c in missing:
                mask = transposed == self._index[c] if self.fict[c].is_atomic else self.members(c)[transposed]
                self._rles[c] = masklib.encode(mask.T)
        return {c: self._rles[c] for c in wanted}

    @functools.cached_property
    def _rles(self) -> dict[str, dict]:
        return {}

    @functools.cached_property
    def _labels_by_column(self) -> np.ndarray:
        """The labels transposed: COCO RLE runs down columns, and masks taken from these are already in that order."""
        return np.ascontiguousarray(self.labels.T)

    @functools.cached_property
    def _index(self) -> dict[str, int]:
        return {c: i + 1 for i, c in enumerate(self.fict.atomic_ids)}


def concept_masks(image: np.ndarray, face: Face | None = None, fict: FICT | None = None) -> ConceptMasks:
    """Label every pixel of an RGB uint8 photo with its atomic FICT concept.

    ``face`` is the result of :func:`fifa_data.faces.detect.analyze_face` on the same image (computed
    if omitted). Deterministic: the same image always gives the same labels.
    """
    fict = fict or load_fict()
    face = face or analyze_face(image)
    index = {c: i + 1 for i, c in enumerate(fict.atomic_ids)}
    height, width = image.shape[:2]
    points = face.landmarks[:, :2].astype(np.float64)

    coarse = _surroundings(image, face, index)
    labels = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_NEAREST)
    _paint_mesh(labels, points, index)
    _paint_eyes(labels, points, index)
    _paint_mouth(labels, image, points, index)

    face_ids = np.zeros(len(fict.atomic_ids) + 1, dtype=bool)
    face_ids[[index[c] for c in fict.atomic_descendants("face")]] = True
    return ConceptMasks(
        labels=labels,
        fict=fict,
        num_faces=face.num_faces,
        face_box=face.box,
        subject=face.subject,
        face_boxes=tuple(tuple(map(float, b)) for b in face.boxes),
        uncovered_face_share=_uncovered_share(labels, points, face_ids),
    )


def _polygon(points: np.ndarray) -> np.ndarray:
    return np.round(points * (1 << _SHIFT)).astype(np.int32)


def _fill(canvas: np.ndarray, polygons: list[np.ndarray], value: int) -> None:
    cv2.fillPoly(canvas, polygons, int(value), lineType=cv2.LINE_8, shift=_SHIFT)


def _paint_mesh(labels: np.ndarray, points: np.ndarray, index: dict[str, int]) -> None:
    corners = _polygon(points[regions.triangles()])
    for concept, members in _triangles_by_concept().items():
        _fill(labels, list(corners[members]), index[concept])


@functools.cache
def _triangles_by_concept() -> dict[str, np.ndarray]:
    by_concept: dict[str, list[int]] = {}
    for i, concept in enumerate(regions.triangle_concepts()):
        by_concept.setdefault(concept, []).append(i)
    return {c: np.array(members) for c, members in by_concept.items()}


def _grid_uv(points: np.ndarray, x0: int, y0: int, shape: tuple[int, int], scale: float = 1.0):
    """Eye-frame (u, v) of the pixel centres of a grid whose pixel (0, 0) is photo (x0, y0)."""
    origin, unit, ex, ey = regions.frame_axes(points)
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    dx = (xs + 0.5) / scale - 0.5 + x0 - origin[0]
    dy = (ys + 0.5) / scale - 0.5 + y0 - origin[1]
    return (dx * ex[0] + dy * ex[1]) / unit, (dx * ey[0] + dy * ey[1]) / unit


def _bbox(polygon: np.ndarray, shape: tuple[int, int], pad: int = 2) -> tuple[int, int, int, int]:
    x0, y0 = np.floor(polygon.min(axis=0)).astype(int) - pad
    x1, y1 = np.ceil(polygon.max(axis=0)).astype(int) + pad
    return max(0, x0), max(0, y0), min(shape[1], x1), min(shape[0], y1)


def _opening(points: np.ndarray, loop, shape) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Boolean mask of a landmark loop inside its bounding box, and that box."""
    polygon = points[list(loop)]
    x0, y0, x1, y1 = _bbox(polygon, shape)
    inside = np.zeros((max(0, y1 - y0), max(0, x1 - x0)), dtype=np.uint8)
    _fill(inside, [_polygon(polygon - [x0, y0])], 1)
    return inside.astype(bool), (x0, y0, x1, y1)


def _paint_eyes(labels: np.ndarray, points: np.ndarray, index: dict[str, int]) -> None:
    for side, loop in regions.EYE.items():
        inside, (x0, y0, x1, y1) = _opening(points, loop, labels.shape)
        if not inside.any():
            continue
        centre_id, rim = regions.IRIS[side]
        centre = points[centre_id]
        radius = float(np.mean(np.linalg.norm(points[list(rim)] - centre, axis=1)))
        ys, xs = np.mgrid[y0:y1, x0:x1]
        dist = np.hypot(xs + 0.5 - centre[0], ys + 0.5 - centre[1])
        u, _ = _grid_uv(points, x0, y0, inside.shape)
        origin, unit, ex, _ = regions.frame_axes(points)
        centre_u = (centre - origin) @ ex / unit
        nasal = (u < centre_u) if side == "left" else (u > centre_u)
        part = np.select(
            [dist <= PUPIL_TO_IRIS * radius, dist <= radius, nasal],
            [index[f"eye.{side}.pupil"], index[f"eye.{side}.iris"], index[f"eye.{side}.sclera_inner"]],
            index[f"eye.{side}.sclera_outer"],
        )
        window = labels[y0:y1, x0:x1]
        window[inside] = part[inside]


def _paint_mouth(labels: np.ndarray, image: np.ndarray, points: np.ndarray, index: dict[str, int]) -> None:
    inside, (x0, y0, x1, y1) = _opening(points, regions.LIPS_INNER, labels.shape)
    if not inside.any():
        return
    hsv = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1]), cv2.COLOR_RGB2HSV)
    value, saturation = hsv[..., 2], hsv[..., 1]
    teeth = np.zeros_like(inside)
    if inside.sum() >= 20:
        threshold, _ = cv2.threshold(value[inside].reshape(-1, 1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        teeth = inside & (value > max(threshold, 90)) & (saturation < 110)
    _, v = _grid_uv(points, x0, y0, inside.shape)
    top, bottom = regions.MOUTH_MIDLINE
    origin, unit, _, ey = regions.frame_axes(points)
    midline_v = ((points[top] + points[bottom]) / 2 - origin) @ ey / unit
    part = np.where(
        teeth,
        np.where(v < midline_v, index["mouth.teeth.upper"], index["mouth.teeth.lower"]),
        index["mouth.cavity"],
    )
    window = labels[y0:y1, x0:x1]
    window[inside] = part[inside]


def _surroundings(image: np.ndarray, face: Face, index: dict[str, int]) -> np.ndarray:
    """Concept labels outside the mesh at the person map's resolution (see module docstring)."""
    person = face.person
    work_h, work_w = person.shape
    scale = work_w / image.shape[1]
    small = cv2.resize(image, (work_w, work_h), interpolation=cv2.INTER_AREA)
    ycc = cv2.cvtColor(small, cv2.COLOR_RGB2YCrCb).reshape(-1, 3).astype(np.float32)
    points = face.landmarks[:, :2].astype(np.float64)

    cheeks, forehead = _skin_sample(ycc, points, scale, (work_h, work_w))
    skin = (_gaussian_distance(ycc, np.concatenate([cheeks, forehead]), luma_spread=1.5) < SKIN_CHI2).reshape(work_h, work_w)
    u, v = _grid_uv(points, 0, 0, (work_h, work_w), scale)
    au = np.abs(u)
    # Skin-coloured pixels far above the brows are scalp or blond hair, not forehead. Beside the face
    # (temples beyond the mesh, ears) hair of a skin-like hue lies over the skin: there, skin must
    # also match the skin's own luma (no shading allowance), so that an ear under brown hair is hair.
    side = (au >= SIDE_U) & (v < SIDE_V)
    side_skin = _gaussian_distance(ycc, _like(forehead, cheeks)).reshape(work_h, work_w) < SKIN_CHI2
    skin &= (v > -0.85) & ~(side & ~side_skin)
    is_left = u >= 0
    is_person = person > 0.5
    if face.num_faces > 1:
        is_person &= face_territories(person.shape, face.boxes, scale) == face.subject

    hair = _head_hair(ycc, is_person & ~skin, v)
    oval = np.zeros((work_h, work_w), dtype=np.uint8)
    _fill(oval, [_polygon(points[list(regions.FACE_OVAL)] * scale)], 1)
    under_hair = _under_hair(is_person & skin & side & (v >= -0.25) & (v < 0.55), hair)
    ear_zone = is_person & skin & ~under_hair & (oval == 0) & (au >= SIDE_U) & (v >= -0.25) & (v < 0.55)  # the mesh labels the oval
    under_hair |= _ear_remnants(ear_zone, hair, u, is_left)
    skin &= ~under_hair
    hair |= under_hair
    hat = _hat(cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32), hair & (oval == 0), u, v)
    hair &= ~hat
    # Each rule names a central concept or a sided template, resolved per pixel by a lookup.
    rules = [
        # person, skin
        (is_person & skin & (v < 0) & (au < 0.62), "forehead.upper"),
        (is_person & skin & (v < -0.25), "temple.{side}"),
        (is_person & skin & (au >= 0.62) & (v < 0.30), "ear.{side}.pinna"),
        (is_person & skin & (au >= 0.62) & (v < 0.55), "ear.{side}.lobe"),
        (is_person & skin & ((v > 2.4) | (au > 0.9)) & (au < 0.6), "body.center"),
        (is_person & skin & ((v > 2.4) | (au > 0.9)), "body.{side}"),
        (is_person & skin & (v < 1.40) & (au < 0.55), "neck.submental"),
        (is_person & skin & (au < 0.22), "neck.front"),
        (is_person & skin, "neck.{side}"),
        # person, not skin: a hat (no concept), hair, or clothing and accessories
        (hat, ""),
        (hair & (v < -0.95), "hair.top.crown"),
        (hair & (v < 0) & (au < 0.62), "hair.top.hairline"),
        (hair & (v < 0), "hair.{side}.side"),
        (hair & (v < 0.5), "hair.{side}.sideburn"),
        (hair, "hair.{side}.length"),
        (is_person & (au < 0.6), "body.center"),
        (is_person, "body.{side}"),
        # background
        (v < -0.9, "background.upper"),
        (v > 2.0, "background.lower"),
        (np.True_, "background.{side}"),
    ]
    conditions, names = zip(*rules)
    region = np.select(conditions, np.arange(len(rules), dtype=np.uint8))
    by_side = np.array(
        [[index[name.format(side=side)] if name else 0 for name in names] for side in ("right", "left")], dtype=np.uint8
    )
    return by_side[is_left.astype(np.uint8), region]


def _hat(lab: np.ndarray, hair: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The hair pixels that are a hat: all of the hair above a brim, when there is one.

    A brim is the lower border of the hair over the forehead when it is a straight, nearly level
    line that reaches down into the upper forehead, and the hair visible beside the face below it
    (over the temples and ears) has another colour than the band right above it. A fringe's border
    is ragged or stays at the hairline, and its colour is the side hair's.
    """
    none = np.zeros_like(hair)
    top = hair & (v < 0) & (np.abs(u) < SIDE_U)
    edges = np.linspace(-BRIM_U, BRIM_U, BRIM_BINS + 1)
    centres, lows = [], []
    for a, b in zip(edges[:-1], edges[1:]):
        column = top & (u >= a) & (u < b)
        if column.sum() >= 3:
            centres.append((a + b) / 2)
            lows.append(np.quantile(v[column], 0.95))
    if len(lows) < 0.75 * BRIM_BINS:
        return none
    centres, lows = np.array(centres), np.array(lows)
    slope, offset = np.polyfit(centres, lows, 1)
    ragged = float(np.std(lows - (slope * centres + offset)))
    if ragged > BRIM_RAGGED or abs(slope) > BRIM_SLOPE or offset < BRIM_V:
        return none
    line = slope * u + offset
    band = hair & (v < line) & (v > line - BRIM_BAND) & (np.abs(u) < SIDE_U)
    below = hair & (v > line + BRIM_BAND) & (v < 0.5) & (np.abs(u) >= SIDE_U) & (np.abs(u) < 1.0)
    if band.sum() < 10 or below.sum() < 10:
        return none
    pixels = lab.reshape(-1, 3)
    band_colours, side_colours = pixels[band.ravel()], pixels[below.ravel()]
    gap = float(np.linalg.norm(np.median(band_colours, axis=0) - np.median(side_colours, axis=0)))
    alike = float((_gaussian_distance(side_colours, band_colours) < SKIN_CHI2).mean())
    if gap < BRIM_LAB_GAP or alike > BRIM_ALIKE:
        return none
    # the brim itself may dip below the line where it follows the head: hair of the band's colour
    brim = (v < line + BRIM_BAND) & (_gaussian_distance(pixels, band_colours) < SKIN_CHI2).reshape(v.shape)
    return hair & ((v < line) | brim)


def _under_hair(ears: np.ndarray, hair: np.ndarray) -> np.ndarray:
    """The parts of the ear zone's skin pixels that lie in the hair: patches mostly ringed by hair.

    An ear under hair shows, if at all, as skin-coloured gaps between strands; those belong to the
    hair over it. A visible ear borders the background, the cheek or the neck on most of its rim.
    """
    count, components = cv2.connectedComponents(ears.view(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros_like(ears)
    ring = cv2.dilate(ears.view(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & ~ears
    # Each ring pixel goes to the component it touches (the dilated labels of the nearest one).
    nearest = cv2.dilate(components.astype(np.float32), np.ones((5, 5), np.uint8)).astype(np.int32)
    rim = np.bincount(nearest[ring], minlength=count)
    in_hair = np.bincount(nearest[ring & hair], minlength=count)
    buried = in_hair >= EAR_IN_HAIR * np.maximum(rim, 1)
    buried[0] = False
    return buried[components]


def _ear_remnants(ears: np.ndarray, hair: np.ndarray, u: np.ndarray, is_left: np.ndarray) -> np.ndarray:
    """The ear-zone skin of a side whose hair leaves less of it than `EAR_MIN_AREA` (square eye
    distances): the tips and gaps of hair over an ear, not an ear one could see; empty when the side
    has no hair beside it (a small ear of a far face)."""
    gy, gx = np.gradient(u)
    unit_px = 1.0 / max(float(np.median(np.hypot(gx, gy))), 1e-9)  # pixels per eye distance
    out = np.zeros_like(ears)
    for side in (is_left, ~is_left):
        remnant = ears & side
        if 0 < remnant.sum() < EAR_MIN_AREA * unit_px**2 and (hair & side & (np.abs(u) >= SIDE_U)).sum() > remnant.sum():
            out |= remnant
    return out


def _skin_sample(ycc: np.ndarray, points: np.ndarray, scale: float, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The subject's skin pixels (YCrCb rows) on the cheek apples and on the forehead."""

    def pixels(concepts: tuple[str, ...]) -> np.ndarray:
        sample = np.zeros(shape, dtype=np.uint8)
        triangles = regions.triangles()[np.concatenate([_triangles_by_concept()[c] for c in concepts])]
        _fill(sample, list(_polygon(points[triangles] * scale)), 1)
        return ycc[sample.ravel() > 0]

    return pixels(_SKIN_SAMPLES[:2]), pixels(_SKIN_SAMPLES[2:])


def _like(forehead: np.ndarray, cheeks: np.ndarray) -> np.ndarray:
    """The cheeks' pixels and the forehead's that match them: the skin beside the face is judged by
    these, since bangs or a fringe may cover the forehead, and hair taken for skin there would make
    the hair over the ears and temples pass as skin. (The rest of the head is judged by the whole
    sample: the cheeks alone can be too few or too lit to model the body's skin.)"""
    if len(cheeks) < 10:
        return np.concatenate([cheeks, forehead])
    return np.concatenate([cheeks, forehead[_gaussian_distance(forehead, cheeks, luma_spread=1.5) < SKIN_CHI2]])


def _head_hair(ycc: np.ndarray, not_skin: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Non-skin person pixels that belong to the hair on the head.

    Above the ears, every non-skin person pixel is hair. Below, a pixel is hair only if its colour
    fits the head hair's and it is connected to the head hair, so that clothing, a collar or a
    helmet held in the hands is not taken for long hair.
    """
    head = not_skin & (v < 0.3)
    if head.sum() < 30:
        return head
    hair_like = (_gaussian_distance(ycc, ycc[head.ravel()]) < SKIN_CHI2).reshape(v.shape)
    candidates = head | (not_skin & hair_like)
    _, components = cv2.connectedComponents(candidates.astype(np.uint8), connectivity=8)
    touching_head = np.unique(components[head])
    return np.isin(components, touching_head[touching_head > 0]) & candidates


def _gaussian_distance(pixels: np.ndarray, sample: np.ndarray, luma_spread: float = 1.0) -> np.ndarray:
    """Squared Mahalanobis distance of every pixel to a Gaussian fitted to ``sample`` (YCrCb).

    ``luma_spread`` widens the luma axis, so that shading does not make skin look like non-skin.
    """
    if len(sample) < 10:
        return np.full(len(pixels), np.inf, dtype=np.float32)
    mean = sample.mean(axis=0)
    cov = np.cov(sample, rowvar=False) + np.eye(3) * 4.0
    cov[0, :] *= luma_spread
    cov[:, 0] *= luma_spread
    inverse = np.linalg.inv(cov).astype(np.float32)
    centred = pixels - mean.astype(np.float32)
    return np.einsum("ij,ij->i", centred @ inverse, centred)


def _uncovered_share(labels: np.ndarray, points: np.ndarray, face_ids: np.ndarray) -> float:
    """Share of the face oval's pixels not labelled with a concept under ``face``."""
    oval, (x0, y0, x1, y1) = _opening(points, regions.FACE_OVAL, labels.shape)
    total = int(oval.sum())
    if total == 0:
        return 0.0
    covered = face_ids[labels[y0:y1, x0:x1]] & oval
    return 1.0 - covered.sum() / total


def _distance_from(outside: np.ndarray) -> np.ndarray:
    """Pixels from each pixel to the nearest pixel that is not `outside` (inf when there is none)."""
    if outside.all():
        return np.full(outside.shape, np.inf, np.float32)
    return cv2.distanceTransform(outside.view(np.uint8), cv2.DIST_L2, 3)
