"""Face analysis with the models that ship inside the ``mediapipe==0.10.14`` wheel.

One call, :func:`analyze_face`, finds the faces in an RGB photo, makes the largest the subject, and
returns its 478-point face mesh (468 mesh points + 10 iris points, ``refine_landmarks=True``) in the
photo's pixel coordinates, the boxes of every face found, plus a person-vs-background probability
map from the selfie segmentation model. Detection runs on a downscaled copy (and, if that finds
nothing, on overlapping tiles, for small faces in big photos); the mesh runs on a crop around each
face. In a photo of several people, `Face.with_subject` picks another face as the subject, and
`face_territories` tells which person's body each pixel of the person map belongs to.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from fifa_data.core.quiet import native_noise_filtered

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# mediapipe 0.10.14 calls a protobuf API that warns on every graph run; the warning is harmless.
warnings.filterwarnings("ignore", message="SymbolDatabase.GetPrototype", category=UserWarning)

DETECT_SIDE = 1024  # long side of the copy the face detector sees
SEGMENT_SIDE = 256  # long side of the person-probability map (the model works at 256x256)
MESH_SIDE = 512  # long side of the face crop given to the mesh model
MIN_DETECTION_SCORE = 0.5
MIN_TILE_SIDE = 256  # smallest tile of the fallback scan for small faces
CROP_MARGIN = 0.6  # crop = detection box grown by this share of its size on every side
PERSON_CROP = (2.0, 1.0, 4.0)  # a person's crop in a group photo: face heights to each side, above, below


class NoFaceError(ValueError):
    """The photo contains no face that the detector and the face mesh agree on."""


Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class DetectedFace:
    """One face the detector and the mesh agree on: its box, detection score and mesh."""

    box: Box
    score: float
    landmarks: np.ndarray


@dataclass(frozen=True, eq=False)
class Face:
    """The subject of a photo (by default its largest face) and the other faces found.

    ``landmarks`` is (478, 3) float32: x and y in pixels of the photo, z the mesh's relative
    depth in the same pixel scale (smaller is nearer the camera). ``person`` is the
    person probability in [0, 1] at a working resolution of at most ``SEGMENT_SIDE`` pixels on
    the long side, covering the whole photo, for every person in it. ``faces`` holds every face
    found, largest first; ``subject`` is the index of the one `landmarks` and `box` describe.
    """

    landmarks: np.ndarray
    box: Box
    score: float
    num_faces: int
    image_size: tuple[int, int]
    person: np.ndarray
    faces: tuple[DetectedFace, ...] = ()
    subject: int = 0

    @property
    def boxes(self) -> list[Box]:
        """The box of every face found, largest first (the subject's at index `subject`)."""
        return [f.box for f in self.faces] or [self.box]

    def with_subject(self, index: int) -> Face:
        """The same analysis with face ``index`` of `faces` as the subject."""
        chosen = self.faces[index]
        return dataclasses.replace(self, landmarks=chosen.landmarks, box=chosen.box, score=chosen.score, subject=index)


def analyze_face(image: np.ndarray) -> Face:
    """Detect faces in an RGB uint8 photo and analyse them, the largest as the subject.

    A detection counts as a face only if the face mesh fits it, which discards the detector's
    false alarms. Raises :class:`NoFaceError` when there is no face.
    """
    image = _check_rgb(image)
    height, width = image.shape[:2]
    for candidates in _candidates(image):
        faces = [DetectedFace(box, score, mesh) for box, score in candidates if (mesh := _mesh(image, box)) is not None]
        if faces:
            break
    else:
        raise NoFaceError(f"no face found in the {width}x{height} image")
    faces.sort(key=lambda f: -(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
    largest = faces[0]
    return Face(
        landmarks=largest.landmarks,
        box=largest.box,
        score=largest.score,
        num_faces=len(faces),
        image_size=(height, width),
        person=_people(image, [f.box for f in faces]),
        faces=tuple(faces),
    )


def _people(image: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """The person map of a photo; with several faces, each person is segmented again in a crop.

    The selfie model segments the one near person it expects: in a group photo it misses some
    people altogether. Each face's crop (`PERSON_CROP` face heights around it, mostly below)
    is segmented on its own, and the maps are merged by their maximum.
    """
    person = person_probability(image)
    if len(boxes) < 2:
        return person
    scale = person.shape[1] / image.shape[1]
    for x0, y0, x1, y1 in boxes:
        size = y1 - y0
        (left, top, right, bottom) = (int(max(0, c)) for c in (
            (x0 + x1) / 2 - PERSON_CROP[0] * size, y0 - PERSON_CROP[1] * size,
            (x0 + x1) / 2 + PERSON_CROP[0] * size, y1 + PERSON_CROP[2] * size))
        right, bottom = min(right, image.shape[1]), min(bottom, image.shape[0])
        at_scale = [round(v * scale) for v in (left, top, right, bottom)]  # the box in `person`'s pixels
        width, height = at_scale[2] - at_scale[0], at_scale[3] - at_scale[1]
        if width < 2 or height < 2:
            continue
        crop = person_probability(image[top:bottom, left:right])
        window = person[at_scale[1] : at_scale[3], at_scale[0] : at_scale[2]]
        np.maximum(window, cv2.resize(crop, (width, height), interpolation=cv2.INTER_LINEAR), out=window)
    return person


def face_territories(shape: tuple[int, int], boxes: list[Box], scale: float = 1.0) -> np.ndarray:
    """For every pixel of an image of ``shape`` (H, W), the index of the face whose person it belongs to.

    The nearest face's, where a person's body hangs below the face, so vertical distance counts half
    below a face's centre. Distances are in pixels, not in face sizes: a near, large face would
    otherwise claim the shoulders and the hands of a smaller one beside it. ``scale`` maps the
    photo's pixels (where `boxes` are) to this image's.
    """
    height, width = shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    best = np.full(shape, np.inf, np.float32)
    owner = np.zeros(shape, np.int32)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        dx = xs - (x0 + x1) / 2 * scale
        dy = ys - (y0 + y1) / 2 * scale
        cost = np.hypot(dx, np.where(dy > 0, dy * 0.5, dy))
        closer = cost < best
        best[closer], owner[closer] = cost[closer], i
    return owner



def _candidates(image: np.ndarray):
    """Face boxes ``((x0, y0, x1, y1), score)`` in photo pixels, one list per search round.

    The first round runs the full-range detector on a copy downscaled to ``DETECT_SIDE``, the
    second the short-range one (close three-quarter faces, which the first misses); later rounds scan
    overlapping tiles of the full-resolution photo, halving the tile size each round, which finds
    faces down to about 2 % of the photo's width (a face in a full-body or group photo).
    """
    small, scale = _downscale(image, DETECT_SIDE)
    yield _suppress([(tuple(v / scale for v in box), s) for box, s in _detect(small)])
    # The full-range model misses some close, turned faces that the short-range one finds.
    yield _suppress([(tuple(v / scale for v in box), s) for box, s in _detect(small, _near_detector)])
    tile = max(image.shape[:2]) // 2
    while tile >= MIN_TILE_SIDE:
        yield _suppress(_detect_tiles(image, tile))
        tile //= 2


def person_probability(image: np.ndarray) -> np.ndarray:
    """Per-pixel person probability (selfie segmentation) at ``SEGMENT_SIDE`` on the long side."""
    small, _ = _downscale(_check_rgb(image), SEGMENT_SIDE)
    with _LOCK:
        result = _segmenter().process(small)
    return np.clip(result.segmentation_mask, 0.0, 1.0).astype(np.float32)


def _check_rgb(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        got = getattr(image, "shape", type(image).__name__)
        raise ValueError(f"expected an RGB uint8 array of shape (H, W, 3), got {got}")
    if min(image.shape[:2]) < 16:
        raise NoFaceError(f"image of {image.shape[1]}x{image.shape[0]} pixels is too small to hold a face")
    return np.ascontiguousarray(image)


def _downscale(image: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    scale = min(1.0, side / max(image.shape[:2]))
    if scale == 1.0:
        return image, 1.0
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def _detect(image: np.ndarray, detector: Callable[[], _Graph] | None = None) -> list[tuple[tuple[float, float, float, float], float]]:
    with _LOCK:
        result = (detector or _detector)().process(image)
    height, width = image.shape[:2]
    boxes = []
    for det in result.detections or ():
        rel = det.location_data.relative_bounding_box
        x0, y0 = max(0.0, rel.xmin * width), max(0.0, rel.ymin * height)
        x1, y1 = min(width, (rel.xmin + rel.width) * width), min(height, (rel.ymin + rel.height) * height)
        if x1 > x0 and y1 > y0:
            boxes.append(((x0, y0, x1, y1), float(det.score[0])))
    return boxes


def _detect_tiles(image: np.ndarray, tile: int) -> list[tuple[tuple[float, float, float, float], float]]:
    """Run the detector on square tiles of side ``tile`` that overlap by a quarter."""
    height, width = image.shape[:2]
    stride = max(1, tile * 3 // 4)
    boxes = []
    for y0 in _starts(height, tile, stride):
        for x0 in _starts(width, tile, stride):
            crop, scale = _downscale(np.ascontiguousarray(image[y0 : y0 + tile, x0 : x0 + tile]), DETECT_SIDE)
            for box, score in _detect(crop):
                bx0, by0, bx1, by1 = (v / scale for v in box)
                boxes.append(((bx0 + x0, by0 + y0, bx1 + x0, by1 + y0), score))
    return boxes


def _starts(length: int, tile: int, stride: int) -> list[int]:
    last = max(0, length - tile)
    return sorted({*range(0, last + 1, stride), last})


def _suppress(boxes, iou_threshold: float = 0.3):
    """Greedy non-maximum suppression, highest score first."""
    kept: list = []
    for box, score in sorted(boxes, key=lambda b: -b[1]):
        if all(_box_iou(box, k) < iou_threshold for k, _ in kept):
            kept.append((box, score))
    return kept


def _box_iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def square_around(box, shape: tuple[int, ...], margin: float) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)`` of the square around `box` grown by `margin` of its size on
    every side, clipped to an image of `shape`."""
    height, width = shape[:2]
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0) * (1 + 2 * margin)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left, top = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    return left, top, int(min(width, cx + side / 2)), int(min(height, cy + side / 2))


def _mesh(image: np.ndarray, box) -> np.ndarray | None:
    """Face mesh on a square crop around ``box``; landmarks mapped back to photo pixels."""
    left, top, right, bottom = square_around(box, image.shape, CROP_MARGIN)
    crop, scale = _downscale(np.ascontiguousarray(image[top:bottom, left:right]), MESH_SIDE)
    with _LOCK:
        result = _face_mesh().process(crop)
    if not result.multi_face_landmarks:
        return None
    crop_h, crop_w = crop.shape[:2]
    points = np.array([(p.x, p.y, p.z) for p in result.multi_face_landmarks[0].landmark], dtype=np.float64)
    landmarks = np.empty_like(points)
    landmarks[:, 0] = left + points[:, 0] * crop_w / scale
    landmarks[:, 1] = top + points[:, 1] * crop_h / scale
    landmarks[:, 2] = points[:, 2] * crop_w / scale
    return landmarks.astype(np.float32)


# mediapipe graphs are not re-entrant: one instance of each per process, used under a lock.
_LOCK = threading.Lock()


def _solutions():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mediapipe.python.solutions as solutions
    return solutions


class _Graph:
    """A mediapipe solution, made on its first run; making it and that run, when the native runtime
    prints its start-up lines, happen with those lines silenced."""

    def __init__(self, make: Callable[[], object]) -> None:
        self._make = make
        self._solution = None

    def process(self, image: np.ndarray):
        if self._solution is not None:
            return self._solution.process(image)
        with native_noise_filtered():
            self._solution = self._make()
            return self._solution.process(image)


@functools.cache
def _detector() -> _Graph:
    return _Graph(lambda: _solutions().face_detection.FaceDetection(model_selection=1, min_detection_confidence=MIN_DETECTION_SCORE))


@functools.cache
def _near_detector() -> _Graph:
    return _Graph(lambda: _solutions().face_detection.FaceDetection(model_selection=0, min_detection_confidence=MIN_DETECTION_SCORE))


@functools.cache
def _face_mesh() -> _Graph:
    return _Graph(lambda: _solutions().face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=True))


@functools.cache
def _segmenter() -> _Graph:
    return _Graph(lambda: _solutions().selfie_segmentation.SelfieSegmentation(model_selection=0))


@functools.cache
def mesh_tessellation() -> frozenset[tuple[int, int]]:
    """The face mesh's edges as shipped by mediapipe (pairs of landmark indices)."""
    return frozenset(_solutions().face_mesh_connections.FACEMESH_TESSELATION)
