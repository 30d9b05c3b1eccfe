"""Load a real/fake pair and check that it is usable: one photo, edited in place, with one face.

`load_pair` returns a `LoadedPair` (the untouched file bytes, their upright RGB pixels and the
real image's face) or a `Reject` naming the reason; `load_pairs` does it for a whole source and
never raises because of one pair. The checks, in order:

1. both files decode (``unreadable``); byte-identical files are ``identical``;
2. same size (``size_mismatch``), unless ``resize="fake-to-real"``: then the fake is resized to
   the real image's size (area averaging down, bicubic up) and stored re-encoded as lossless PNG.
   That re-encode replaces the fake's own compression traces, so it is off by default;
3. not a colour real with a greyscale fake (``color_mismatch``: the whole photo was converted, no
   attribute edited); a greyscale real with a colour fake is kept, the colour being the edit (lips
   painted on an old photo). An RGB image counts as greyscale when its channels differ by at most
   `GRAY_TOLERANCE` levels on 99.9 % of its pixels (JPEG chroma noise);
4. not pixel-identical (``identical``);
5. the same photo, not shifted: phase correlation of the two greyscale images (at most
   `ALIGN_SIDE` pixels long; the shift of a larger photo is refined at full resolution, see
   `alignment`) must peak with a response of at least `min_response`
   (``not_same_photo``; measured: an attribute edit or a JPEG re-encode gives 0.95-1.0, an
   ageing that greys the hair of 28 % of a greyscale close-up 0.16, an unrelated photo about 0.01,
   a 4 % zoom 0.3) at a shift of at most `max_shift` pixels, of the whole photo or, when a moved
   face pulls the whole photo's peak, of its border strips (``misaligned``);
6. a given artifact mask (the manifest's ``mask`` column) decodes and has the fake's size
   (``bad_mask``); it is resized with the fake under ``resize="fake-to-real"``;
7. a face in the real image (``no_face``). In a photo of several people the subject is the face
   the given mask covers (`masked_face`), else the face the edit lies on (`edited_face`), and the count is kept with the face; with
   ``allow_multiple_faces=False`` such a photo is rejected instead (``multiple_faces``).

A mask-only source's fake has no real (its `PairRef` names the fake twice: `LoadedPair.fake_only`);
`load_fake_only` checks only that it decodes, that its mask fits it (``bad_mask``) and that it shows a face.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from fifa_data.core.images import DEFAULT_MAX_PIXELS, ImageLoadError, encode_image, load_image_file, load_mask_file, resaved_reference
from fifa_data.faces.detect import Face, NoFaceError, analyze_face, face_territories
from fifa_data.pairs.rejects import Reject
from fifa_data.pairs.sources import PairRef

RESIZE_POLICIES = ("reject", "fake-to-real")
GRAY_TOLERANCE = 3
ALIGN_SIDE = 512
TILE_RESPONSE = 0.5  # a full-resolution tile whose response is lower (flat, or edited) does not vote on the shift
CHANGE_SIDE = 256  # long side of the difference map that tells which face was edited


@dataclass(frozen=True)
class PairChecks:
    """The knobs of `load_pair`; the defaults are what ``scripts/build.py`` uses."""

    resize: str = "reject"
    min_response: float = 0.1
    max_shift: float = 0.5
    allow_multiple_faces: bool = True
    max_pixels: int = DEFAULT_MAX_PIXELS

    def __post_init__(self) -> None:
        if self.resize not in RESIZE_POLICIES:
            raise ValueError(f"resize policy must be one of {', '.join(RESIZE_POLICIES)}, got {self.resize!r}")


@dataclass(frozen=True)
class LoadedPair:
    """A usable pair: file bytes as stored, upright RGB pixels of the same size, the real face."""

    ref: PairRef
    real_bytes: bytes
    fake_bytes: bytes
    real: np.ndarray
    fake: np.ndarray
    face: Face
    grayscale: bool
    fake_resized_from: tuple[int, int] | None = None  # (h, w) of the fake file before `resize`
    given_mask: np.ndarray | None = None  # the artifact mask the source ships with the fake (`PairRef.mask_path`)
    reference: tuple[np.ndarray, dict] | None = None  # `images.resaved_reference` of the pair, where the pair checks made it

    @property
    def fake_only(self) -> bool:
        """A mask-only source's fake (`pairs.layouts.maskonly`): no real image; ``real`` holds the fake's own pixels."""
        return self.ref.real_path == self.ref.fake_path


def load_pair(ref: PairRef, config: PairChecks = PairChecks(), real_cache: dict | None = None) -> LoadedPair | Reject:
    """Read and check one pair (module docstring); problems come back as a `Reject`, never raised.

    ``real_cache`` (a dict owned by the caller) keeps the last real image's pixels and face
    analysis, so the fakes of one real image decode and analyse it once.
    """

    def reject(reason: str, detail: str) -> Reject:
        return Reject(reason, detail, pair_id=ref.pair_id, real=ref.real_path, fake=ref.fake_path)

    if ref.real_path == ref.fake_path:
        return load_fake_only(ref, config)
    cache = real_cache if real_cache is not None else {}
    key = str(ref.real_file)
    try:
        if cache.get("key") != key:
            cache.clear()
            cache["key"], (cache["bytes"], cache["pixels"]) = key, load_image_file(ref.real_file, max_pixels=config.max_pixels)
            cache["pixels"].setflags(write=False)  # shared by the real image's pairs
        real_bytes, real = cache["bytes"], cache["pixels"]
        fake_bytes, fake = load_image_file(ref.fake_file, max_pixels=config.max_pixels)
    except ImageLoadError as exc:
        return reject("unreadable", _relative(str(exc), ref))
    if real_bytes == fake_bytes:
        return reject("identical", f"{ref.fake_path} is a byte-for-byte copy of {ref.real_path}")

    resized_from = None
    if real.shape != fake.shape:
        if config.resize == "reject":
            return reject(
                "size_mismatch",
                f"real is {_size(real)}, fake is {_size(fake)} (build with --resize fake-to-real to resize the fake to the real's size)",
            )
        resized_from = fake.shape[:2]
        fake = _resize(fake, real.shape[:2])
        fake_bytes = encode_image(fake)

    if "grayscale" not in cache:
        cache["grayscale"] = is_grayscale(real)
    real_gray, fake_gray = cache["grayscale"], is_grayscale(fake)
    if fake_gray and not real_gray:  # a colour photo turned grey whole; colour added to a grey photo is an edit
        return reject("color_mismatch", "real is colour, fake is greyscale")
    if np.array_equal(real, fake):
        return reject("identical", "the decoded pixels are identical")

    shift, response = alignment(real, fake)
    if response < config.min_response:
        return reject("not_same_photo", f"phase-correlation response {response:.3f} < {config.min_response}")
    if max(abs(shift[0]), abs(shift[1])) > config.max_shift:
        border = border_shift(real, fake)  # a blend that moved a close-up's face pulls the whole photo's peak
        if border is None or max(abs(border[0]), abs(border[1])) > config.max_shift:
            return reject("misaligned", f"fake is shifted by ({shift[0]:+.2f}, {shift[1]:+.2f}) px (x, y)")

    given = None
    if ref.mask_file is not None:
        try:
            given = load_mask_file(ref.mask_file, max_pixels=config.max_pixels)
        except ImageLoadError as exc:
            return reject("bad_mask", _relative(str(exc), ref))
        if given.shape != (resized_from or fake.shape[:2]):
            return reject("bad_mask", f"{ref.mask_path}: mask is {_size(given)}, the fake {ref.fake_path} is {_size(resized_from or fake)}")
        given = fit_mask(given, fake.shape[:2])

    if "face" not in cache:
        try:
            cache["face"] = analyze_face(real)
        except NoFaceError as exc:
            cache["face"] = exc
    face = cache["face"]
    if isinstance(face, NoFaceError):
        return reject("no_face", f"{ref.real_path}: {face}")
    reference = None
    if face.num_faces > 1:
        if not config.allow_multiple_faces:
            return reject("multiple_faces", f"{ref.real_path}: {face.num_faces} faces")
        reference = resaved_reference(real, fake, fake_bytes)
        face = face.with_subject(masked_face(given, face) if given is not None and given.any() else edited_face(reference[0], fake, face))
    return LoadedPair(ref, real_bytes, fake_bytes, real, fake, face, real_gray, resized_from, given, reference)


def load_fake_only(ref: PairRef, config: PairChecks = PairChecks()) -> LoadedPair | Reject:
    """A fake without a real (`LoadedPair.fake_only`): it decodes, its given mask decodes at its size, it shows a face;
    the subject of a group photo is the face the mask covers."""

    def reject(reason: str, detail: str) -> Reject:
        return Reject(reason, detail, pair_id=ref.pair_id, real=None, fake=ref.fake_path)

    try:
        fake_bytes, fake = load_image_file(ref.fake_file, max_pixels=config.max_pixels)
        given = load_mask_file(ref.mask_file, max_pixels=config.max_pixels) if ref.mask_file is not None else None
    except ImageLoadError as exc:
        return reject("unreadable", _relative(str(exc), ref))
    if given is None or given.shape != fake.shape[:2]:
        return reject("bad_mask", f"{ref.mask_path or ref.fake_path}: a mask-only fake needs its mask at its own size")
    try:
        face = analyze_face(fake)
    except NoFaceError as exc:
        return reject("no_face", f"{ref.fake_path}: {exc}")
    if face.num_faces > 1 and given.any():
        face = face.with_subject(masked_face(given, face))
    return LoadedPair(ref, fake_bytes, fake_bytes, fake, fake, face, is_grayscale(fake), given_mask=given)


def load_pairs(refs: Iterable[PairRef | Reject], config: PairChecks = PairChecks()) -> Iterator[LoadedPair | Reject]:
    """`load_pair` over a source's output; rejects from the source pass through.

    Sources list a real image's fakes together: each run of them decodes and analyses the real once.
    """
    real_cache: dict = {}
    for ref in refs:
        yield ref if isinstance(ref, Reject) else load_pair(ref, config, real_cache)


def masked_face(mask: np.ndarray, face: Face) -> int:
    """Index (in ``face.faces``) of the face whose territory (`faces.face_territories`) holds most of a given mask."""
    owner = face_territories(mask.shape, face.boxes)
    return int(np.argmax(np.bincount(owner[mask], minlength=len(face.boxes))))


def edited_face(real: np.ndarray, fake: np.ndarray, face: Face) -> int:
    """Index (in ``face.faces``) of the face whose person holds most of the change from real to fake.

    `real` is best the real saved as a JPEG fake was (`images.resaved_reference`): then nothing but
    the edited blocks differs, and a small edit of a small face is not outweighed by the re-encode
    noise over a larger one. The difference (of all three channels: a hue change need not move the grey level) is measured
    on copies `CHANGE_SIDE` pixels long; what exceeds the photo's median (a re-encode changes
    every pixel a little), squared, is summed over each face's territory
    (`faces.face_territories`) out to twice the face's height, so a change on the background counts
    for no one. Ties go to the larger face.
    """
    scale = min(1.0, CHANGE_SIDE / max(real.shape[:2]))
    a, b = (cv2.resize(x, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA).astype(np.float32) for x in (real, fake))
    change = cv2.GaussianBlur(np.abs(a - b).sum(axis=2), (0, 0), 1.0)
    change = np.maximum(change - np.median(change), 0.0) ** 2
    owner = face_territories(change.shape, face.boxes, scale)
    near = np.zeros(change.shape, bool)
    ys, xs = np.ogrid[: change.shape[0], : change.shape[1]]
    for i, (x0, y0, x1, y1) in enumerate(face.boxes):
        cx, cy, reach = (x0 + x1) / 2 * scale, (y0 + y1) / 2 * scale, 2 * (y1 - y0) * scale
        near |= (owner == i) & ((xs - cx) ** 2 + (ys - cy) ** 2 <= reach**2)
    mass = np.bincount(owner[near], weights=change[near], minlength=len(face.boxes))
    return int(np.argmax(mass))


def fit_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A boolean mask at ``shape`` (h, w): itself, or resized nearest-neighbour as its fake was."""
    if mask.shape == tuple(shape):
        return mask
    h, w = shape
    return cv2.resize(mask.view(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)


def is_grayscale(image: np.ndarray) -> bool:
    """True when an RGB image's channels agree within `GRAY_TOLERANCE` on 99.9 % of its pixels."""
    r, g, b = image[..., 0], image[..., 1], image[..., 2]
    spread = np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b)  # uint8: max >= min
    # np.quantile(spread, 0.999) read off the histogram of the 256 possible values (no sort)
    cumulative = np.cumsum(np.bincount(spread.ravel(), minlength=256))
    position = 0.999 * (cumulative[-1] - 1)
    below, fraction = int(position), position - int(position)
    low = int(np.searchsorted(cumulative, below, side="right"))
    high = int(np.searchsorted(cumulative, below + 1, side="right")) if fraction else low
    return bool(low + fraction * (high - low) <= GRAY_TOLERANCE)


def alignment(real: np.ndarray, fake: np.ndarray) -> tuple[tuple[float, float], float]:
    """Shift ``(dx, dy)`` in pixels of `fake` against `real` and the phase-correlation response.

    The response is that of the whole photo, at most `ALIGN_SIDE` pixels long. The shift of a
    larger photo is measured again at full resolution, on tiles around the four quarters' centres,
    and the median of the tiles that correlate well is taken: a downscaled estimate multiplies its
    sub-pixel error by the scale, and a tile median is not fooled by a local edit.
    """
    scale = min(1.0, ALIGN_SIDE / max(real.shape[:2]))
    (dx, dy), response = _phase_shift(_gray(real, scale), _gray(fake, scale))
    if scale == 1.0:
        return (dx, dy), response
    shifts = [shift for shift, r in _tile_shifts(real, fake, ALIGN_SIDE // 2) if r >= TILE_RESPONSE]
    if len(shifts) < 2:
        return (dx / scale, dy / scale), response
    median = np.median(np.asarray(shifts), axis=0)
    return (float(median[0]), float(median[1])), response


def border_shift(real: np.ndarray, fake: np.ndarray, share: float = 0.2) -> tuple[float, float] | None:
    """The median shift of the photo's four border strips (``share`` of its height or width) that
    correlate well; None when fewer than two do.

    A face edit seldom reaches the border of the photo, so where the whole photo's peak is pulled by
    a moved face (a self-blend's shifted copy filling a close-up) the border still says whether the
    photo itself moved.
    """
    h, w = real.shape[:2]
    bh, bw = max(8, int(share * h)), max(8, int(share * w))
    strips = [(slice(0, bh), slice(None)), (slice(h - bh, h), slice(None)), (slice(None), slice(0, bw)), (slice(None), slice(w - bw, w))]
    shifts = []
    for rows, cols in strips:
        shift, response = _phase_shift(_gray(real[rows, cols], 1.0), _gray(fake[rows, cols], 1.0))
        if response >= TILE_RESPONSE:
            shifts.append(shift)
    if len(shifts) < 2:
        return None
    median = np.median(np.asarray(shifts), axis=0)
    return float(median[0]), float(median[1])


def _phase_shift(a: np.ndarray, b: np.ndarray) -> tuple[tuple[float, float], float]:
    """`cv2.phaseCorrelate` on the largest centred crop whose DFT sizes are even.

    OpenCV pads each side to its optimal DFT size; an odd one (225 for 224 or 225 pixels) biases
    the sub-pixel peak by half a pixel, even for an image against itself.
    """
    h, w = (_even_dft_size(n) for n in a.shape)
    top, left = (a.shape[0] - h) // 2, (a.shape[1] - w) // 2
    a, b = (x[top : top + h, left : left + w] for x in (a, b))
    window = cv2.createHanningWindow((w, h), cv2.CV_32F)
    (dx, dy), response = cv2.phaseCorrelate(np.ascontiguousarray(a), np.ascontiguousarray(b), window)
    return (float(dx), float(dy)), float(response)


def _even_dft_size(n: int) -> int:
    """The largest m <= n that is even and an optimal DFT size (so OpenCV pads nothing)."""
    m = n - n % 2
    while m > 2 and cv2.getOptimalDFTSize(m) != m:
        m -= 2
    return m


def _tile_shifts(real: np.ndarray, fake: np.ndarray, side: int) -> list[tuple[tuple[float, float], float]]:
    h, w = real.shape[:2]
    side = min(side, h // 2, w // 2)
    out = []
    for cy in (h // 4, 3 * h // 4):
        for cx in (w // 4, 3 * w // 4):
            y0, x0 = max(0, cy - side // 2), max(0, cx - side // 2)
            tiles = (_gray(x[y0 : y0 + side, x0 : x0 + side], 1.0) for x in (real, fake))
            out.append(_phase_shift(*tiles))
    return out


def _gray(image: np.ndarray, scale: float) -> np.ndarray:
    gray = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY).astype(np.float32)
    if scale < 1.0:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return gray


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = size
    shrinking = h * w < image.shape[0] * image.shape[1]
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


def _size(image: np.ndarray | tuple[int, ...]) -> str:
    """``WxH`` of an image, or of an ``(h, w)`` shape."""
    h, w = (image if isinstance(image, tuple) else image.shape)[:2]
    return f"{w}x{h}"


def _relative(message: str, ref: PairRef) -> str:
    """An error message with the source root stripped from file names."""
    return message.replace(str(ref.root) + "/", "")
