"""Read any photo into an RGB ``uint8`` array, upright as a viewer shows it.

Every image goes through the same steps: its size is checked against ``max_pixels`` before any
pixel is decoded, the pixels are decoded, the EXIF orientation is applied with
``PIL.ImageOps.exif_transpose`` (as ``datasets.Image()`` does when it decodes, so masks computed
on our arrays line up with the images a dataset decodes), and the mode is converted to RGB:

- images with transparency (an alpha channel, a palette with alpha, or a transparent colour) are
  composited over white;
- 16-bit greyscale (``I;16``, ``I;16B``, ...) and ``I`` images with values in 0..65535 are mapped
  from the full 16-bit range, ``round(v / 257)``, so 65535 becomes 255;
- ``F`` images (and ``I`` images outside 0..65535) are stretched from their finite min..max to
  0..255, non-finite values becoming 0;
- every other mode (``1``, ``L``, ``P``, ``CMYK``, ``YCbCr``, ...) uses Pillow's ``convert("RGB")``.

Multi-frame files give their first frame. ICC profiles are not applied, as in ``datasets``.

A dataset row's image (``{"bytes", "path"}``, or as ``datasets`` decodes it) is read here too, the
one way the collator, the evaluation and the row validator read it: `open_row_image`,
`row_image_bytes` and `upright_size` (its size from the file header). And the real saved the way
a JPEG fake was, the reference the annotator compares the fake with: `resaved_reference`; and a JPEG's
luma plane as its decoder reconstructs it, with the table that quantised it (`jpeg_luma`), and a photo's
luma as a JPEG encoder computes it (`encoder_luma`).
"""

from __future__ import annotations

import io
import os
import struct
import warnings
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image, ImageOps, JpegImagePlugin, UnidentifiedImageError

from fifa_data.core.errors import UsageError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "ImageLoadError",
    "encode_image",
    "encoder_luma",
    "first_save",
    "jpeg_luma",
    "load_image_file",
    "load_mask_file",
    "load_rgb",
    "open_image",
    "open_row_image",
    "resaved_like",
    "resaved_reference",
    "resaved_twice_like",
    "row_image_bytes",
    "upright_size",
]

DEFAULT_MAX_PIXELS = 100_000_000
MASK_LEVEL = 128  # a mask image's pixel at least this bright (of 255) is in the mask
RESAVED_MIN_SAME = 0.5  # the resaved real is the reference when it equals the fake on this share of pixels
RESAVED_ONCE_SAME = 0.9  # below this share, a fake saved twice is looked for too (a local edit saved once leaves more alike)
FIRST_QUALITIES = range(50, 101)  # a fake saved twice: the qualities tried for its first save (the IJG standard tables libjpeg writes)
FIRST_SAVE_WINDOW = 128  # px: the first save's quality is found on a corner window this wide (whole 16 px blocks), then checked on the whole

ImageSource = str | os.PathLike | bytes | BinaryIO | Image.Image
RowImage = dict | Image.Image  # a dataset row's image: ``{"bytes", "path"}``, or as `datasets` decodes it
_ROTATED = (5, 6, 7, 8)  # EXIF orientations that swap width and height

_WHITE = (255, 255, 255)
_BAND_BYTES = 1 << 22
# What Pillow raises on truncated or corrupt data, and OSError from the file system.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error)


class ImageLoadError(UsageError):
    """An image could not be read; the message names the file and the reason."""


def open_image(
    source: ImageSource,
    *,
    name: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Image.Image:
    """Decode a path, a file's bytes, a binary file object or a PIL image into an upright RGB image.

    Images with more than `max_pixels` pixels are refused before their pixels are decoded; `name`
    (default: the path, or the file object's name) is what error messages call the file.
    """
    if name is None:
        name = _name_of(source)
    try:
        with warnings.catch_warnings():
            # Pillow warns from 89.5 MP on; `max_pixels` is the limit that counts here.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            if isinstance(source, Image.Image):
                _check_size(source, name, max_pixels)
                image = ImageOps.exif_transpose(source)  # a copy: the caller's image is left alone
            else:
                if isinstance(source, (bytes, bytearray, memoryview)):
                    source = io.BytesIO(source)
                with Image.open(source) as image:  # reads the header only
                    _check_size(image, name, max_pixels)
                    ImageOps.exif_transpose(image, in_place=True)  # decodes the pixels
        return _to_rgb(image)
    except ImageLoadError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageLoadError(f"{name}: refused as a possible decompression bomb: {exc}") from exc
    except UnidentifiedImageError as exc:
        reason = "empty file" if _is_empty(source) else "not an image Pillow can read"
        raise ImageLoadError(f"{name}: {reason}") from exc
    except _DECODE_ERRORS as exc:
        if isinstance(exc, OSError) and exc.filename is not None:  # the file system, not a decoder
            raise ImageLoadError(f"{name}: {_os_reason(exc)}") from exc
        raise ImageLoadError(f"{name}: truncated or corrupt image data ({exc})") from exc


def load_rgb(
    source: ImageSource,
    *,
    name: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> np.ndarray:
    """Decode `source` into an upright ``(H, W, 3)`` ``uint8`` C-contiguous, writable RGB array.

    Takes the same arguments as `open_image`, and raises `ImageLoadError` in the same cases.
    """
    image = open_image(source, name=name, max_pixels=max_pixels)
    width, height = image.size
    rgb = np.empty((height, width, 3), np.uint8)
    # Copied in bands of rows: np.asarray(image) would briefly hold two more full-size copies.
    rows = max(1, _BAND_BYTES // (3 * width))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # Pillow 12 checks each crop too; `max_pixels` already did
        for top in range(0, height, rows):
            bottom = min(top + rows, height)
            rgb[top:bottom] = image.crop((0, top, width, bottom))
    return rgb


def load_image_file(
    path: str | os.PathLike, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[bytes, np.ndarray]:
    """Read the file at `path` once, returning its bytes unchanged and their `load_rgb` array."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ImageLoadError(f"{os.fsdecode(path)}: {_os_reason(exc)}") from exc
    return data, load_rgb(data, name=os.fsdecode(path), max_pixels=max_pixels)


def load_mask_file(path: str | os.PathLike, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """A binary ``(H, W)`` mask from an image file, such as SID-Set's ``*_mask.png`` or DFFD's masks.

    The file is read as any image (`load_image_file`); a pixel is in the mask when its brightest
    channel reaches `MASK_LEVEL`, or, in a label image whose values are only 0 and 1, when it is 1.
    """
    _, rgb = load_image_file(path, max_pixels=max_pixels)
    level = rgb.max(axis=2)
    return level >= (MASK_LEVEL if level.max() > 1 else 1)


def encode_image(image: np.ndarray | Image.Image, format: str = "PNG", **options) -> bytes:
    """The bytes of an array or PIL image saved in `format` (lossless PNG by default)."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def _name_of(source: ImageSource) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fsdecode(source)
    if isinstance(source, Image.Image):
        return os.fsdecode(getattr(source, "filename", "") or "<PIL image>")
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "<bytes>"
    return str(getattr(source, "name", "<file object>"))


def _is_empty(source: ImageSource) -> bool:
    if isinstance(source, (str, os.PathLike)):
        return os.path.getsize(source) == 0
    if isinstance(source, io.BytesIO):
        return not source.getbuffer().nbytes
    return False


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, IsADirectoryError):
        return "is a directory, not a file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or str(exc)


def _check_size(image: Image.Image, name: str, max_pixels: int) -> None:
    width, height = image.size
    if width * height > max_pixels:
        raise ImageLoadError(
            f"{name}: image is {width}x{height} = {width * height / 1e6:.1f} MP, "
            f"more than the {max_pixels / 1e6:.1f} MP limit (decompression bomb?)"
        )


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        return Image.fromarray(_to_uint8(np.asarray(image)), "L").convert("RGB")
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        rgb = Image.new("RGB", image.size, _WHITE)
        rgb.paste(rgba, mask=rgba)
        return rgb
    if image.mode == "RGB":
        return image
    return image.convert("RGB")


def _to_uint8(values: np.ndarray) -> np.ndarray:
    """16-bit greyscale by the full 16-bit range, anything else stretched from its finite min..max."""
    if values.dtype.kind in "ui" and values.min() >= 0 and values.max() <= 65535:
        return ((values.astype(np.uint32) + 128) // 257).astype(np.uint8)
    values = values.astype(np.float64)
    finite = np.isfinite(values)
    low, high = (values[finite].min(), values[finite].max()) if finite.any() else (0.0, 0.0)
    scale = 255 / (high - low) if high > low else 0.0
    return np.where(finite, np.rint((values - low) * scale), 0).astype(np.uint8)


def _jpeg_settings(data: bytes) -> tuple[str, dict] | None:
    """The mode and Pillow save options (quantisation tables, chroma subsampling) of the JPEG `data`;
    None when `data` is not a JPEG whose settings Pillow can read."""
    try:
        with Image.open(io.BytesIO(data)) as encoded:
            if encoded.format != "JPEG" or not getattr(encoded, "quantization", None):
                return None
            mode, qtables, subsampling = encoded.mode, encoded.quantization, JpegImagePlugin.get_sampling(encoded)
    except _DECODE_ERRORS:
        return None
    if mode not in ("L", "RGB") or (mode == "L") != (subsampling == -1):  # -1: a single channel
        return None
    return mode, ({"qtables": qtables} if mode == "L" else {"qtables": qtables, "subsampling": subsampling})


def resaved_like(image: np.ndarray, data: bytes) -> np.ndarray | None:
    """`image` saved as the JPEG `data` was (its quantisation tables, chroma subsampling and mode)
    and decoded again; None when `data` is not a JPEG whose settings Pillow can read.

    Where a fake is its real photo plus a local edit, saved as JPEG, the real resaved this way
    equals the fake bit for bit on every block the edit left alone (same encoder, same tables),
    so their difference is the edit without the re-encoding noise.
    """
    found = _jpeg_settings(data)
    if found is None:
        return None
    mode, settings = found
    return load_rgb(encode_image(Image.fromarray(image).convert(mode), "JPEG", **settings))


def first_save(image: np.ndarray, data: bytes, quality: int) -> np.ndarray | None:
    """`image` saved once as a JPEG of `quality` (the IJG standard tables) with the mode and chroma
    subsampling of the JPEG `data`, and decoded again: the first save of a fake saved twice; None when
    `data` is not a JPEG Pillow reads."""
    found = _jpeg_settings(data)
    if found is None:
        return None
    mode, settings = found
    first = {} if mode == "L" else {"subsampling": settings["subsampling"]}
    return load_rgb(encode_image(Image.fromarray(image).convert(mode), "JPEG", quality=quality, **first))


def resaved_twice_like(image: np.ndarray, fake: np.ndarray, data: bytes) -> tuple[np.ndarray, int] | None:
    """`image` saved first at the quality of `FIRST_QUALITIES` that best reproduces `fake` (the JPEG
    `data` decoded), then as `data` was, and decoded again, with that quality; None when `data` is not
    a JPEG Pillow reads or `fake` is not `image`'s size.

    A fake uploaded or re-encoded after its edit was saved twice: its real saved once as the fake
    was no longer reproduces it, but saved first as the edited fake first was (the quality is found
    by trying each on a window of the photo), then as the fake was, it does on every block the edit
    left alone.
    """
    if _jpeg_settings(data) is None or fake.shape != image.shape or min(image.shape[:2]) < 48:
        return None
    window = _first_save_window(image)
    inner = (slice(window[0].start + 16, window[0].stop - 16), slice(window[1].start + 16, window[1].stop - 16))  # a decoder's chroma
    # upsampling reads across the window's edges: the pixels within 16 px of them are not compared

    def twice(picture: np.ndarray, quality: int) -> np.ndarray:
        return resaved_like(first_save(picture, data, quality), data)

    patch = np.ascontiguousarray(image[window])
    shifted = (slice(16, -16),) * 2
    quality = max(FIRST_QUALITIES, key=lambda q: same_share(twice(patch, q)[shifted], fake[inner]))
    return twice(image, quality), quality


def _first_save_window(image: np.ndarray) -> tuple[slice, slice]:
    """The corner window (whole 16 px blocks, `FIRST_SAVE_WINDOW` wide at most) whose grey levels vary
    most: flat blocks quantise alike at every quality, textured ones tell the qualities apart."""
    height, width = image.shape[:2]
    side = 16 * max(3, min(height, width, FIRST_SAVE_WINDOW) // 16)
    bottom, right = 16 * ((height - side) // 16), 16 * ((width - side) // 16)
    corners = [(slice(y, y + side), slice(x, x + side)) for y in (0, bottom) for x in (0, right)]
    return max(corners, key=lambda w: float(image[w].std()))


def jpeg_luma(data: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """The luma plane of the JPEG `data` as its decoder reconstructs it (HxW float64, no colour
    conversion, so no clipping of saturated colours) and the 8x8 table that quantised it (natural
    order); None when `data` is not a JPEG Pillow reads, or is stored rotated (an EXIF orientation:
    its blocks do not lie on the upright image's grid)."""
    try:
        with Image.open(io.BytesIO(data)) as encoded:
            tables = getattr(encoded, "quantization", None)
            if encoded.format != "JPEG" or not tables or encoded.mode not in ("L", "RGB"):
                return None
            if encoded.getexif().get(0x0112, 1) != 1:
                return None
            encoded.draft("YCbCr" if encoded.mode == "RGB" else "L", encoded.size)  # decode without the RGB conversion
            planes = np.asarray(encoded)
    except _DECODE_ERRORS:
        return None
    luma = planes[..., 0] if planes.ndim == 3 else planes
    return luma.astype(np.float64), np.asarray(tables[0], np.float64).reshape(8, 8)


def encoder_luma(image: np.ndarray) -> np.ndarray:
    """The luma a JPEG encoder computes from an RGB ``uint8`` image: libjpeg's fixed-point ITU-R BT.601
    conversion, rounded as libjpeg rounds it (Pillow's own ``convert("YCbCr")`` is a level lower on
    about half of the pixels), HxW float64."""
    rgb = image.astype(np.int64)
    return ((19595 * rgb[..., 0] + 38470 * rgb[..., 1] + 7471 * rgb[..., 2] + 32768) >> 16).astype(np.float64)


def differing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Nonzero where two same-size RGB uint8 images differ in some channel (HxW uint8): a tenth of
    the time of ``(a != b).any(axis=2)``."""
    diff = cv2.absdiff(a, b)
    return diff[..., 0] | diff[..., 1] | diff[..., 2]


def same_share(a: np.ndarray, b: np.ndarray) -> float:
    """Share of the pixels on which two same-size RGB images are equal in every channel."""
    differ = differing(a, b)
    return float((differ.size - np.count_nonzero(differ)) / differ.size)


def resaved_reference(real: np.ndarray, fake: np.ndarray, fake_file: bytes) -> tuple[np.ndarray, dict]:
    """The image to compare `fake` with: `real` saved as the JPEG `fake_file` was, when that
    reproduces the fake on at least `RESAVED_MIN_SAME` of its pixels (the fake is its real plus a
    local edit, saved by an encoder like Pillow's), or saved twice, first at the quality found for
    it (``first_quality``; `resaved_twice_like`), then as the fake was; else `real` itself; and how it
    was chosen.

    A fake saved by another encoder or resized matches on few pixels and keeps the real as its
    reference (`artifacts.artifact_mask`'s noise floor then handles its re-encode).
    A lossless fake keeps the real, with the share of pixels on which the two are equal
    (``real_same_share``): a local edit leaves most of them equal.
    """
    resaved = resaved_like(real, fake_file)
    if resaved is None and real.shape == fake.shape:  # a lossless fake: the real itself may reproduce its untouched pixels
        return real, {"reference": "real", "real_same_share": same_share(real, fake)}
    if resaved is None or resaved.shape != fake.shape:
        return real, {"reference": "real"}
    same = same_share(resaved, fake)
    if same < RESAVED_ONCE_SAME:  # saved twice, as an upload re-encodes it? (a second save at the first's quality changes few pixels)
        twice = resaved_twice_like(real, fake, fake_file)
        if twice is not None and (twice_same := same_share(twice[0], fake)) > max(same, RESAVED_MIN_SAME):
            return twice[0], {"reference": "resaved", "resaved_same_share": twice_same, "first_quality": twice[1]}
    if same >= RESAVED_MIN_SAME:
        return resaved, {"reference": "resaved", "resaved_same_share": same}
    return real, {"reference": "real", "resaved_same_share": same}


# --- a dataset row's image -----------------------------------------------------------------------


def row_image_bytes(image: dict) -> bytes:
    """The file bytes of a row's undecoded image value (``{"bytes", "path"}``)."""
    if image.get("bytes") is not None:
        return image["bytes"]
    if image.get("path"):
        return Path(image["path"]).read_bytes()
    raise ValueError("the row's image has neither bytes nor a path")


def open_row_image(image: RowImage) -> Image.Image:
    """A row's image as an upright RGB PIL image, decoded or not (`open_image` of it)."""
    return open_image(image if isinstance(image, Image.Image) else row_image_bytes(image))


def upright_size(data: bytes) -> tuple[int, int]:
    """(height, width) of an image file as ``datasets.Image()`` decodes it (EXIF orientation
    applied), read from its header without decoding a pixel."""
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        if image.getexif().get(0x0112) in _ROTATED:
            width, height = height, width
    return height, width
