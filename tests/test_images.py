"""fifa_data.core.images on real files written with Pillow and read back."""

from __future__ import annotations

import io
import re
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from fifa_data.core.images import DEFAULT_MAX_PIXELS, ImageLoadError, encode_image, load_image_file, load_rgb, open_image, resaved_like

PILLOW_MAJOR = int(Image.__version__.split(".")[0])


def _check_rgb(rgb: np.ndarray, height: int, width: int) -> None:
    assert rgb.shape == (height, width, 3)
    assert rgb.dtype == np.uint8
    assert rgb.flags.c_contiguous and rgb.flags.writeable


def _looks_like(rgb: np.ndarray, photo: np.ndarray) -> bool:
    """Same picture, whatever the colours: the 16x16-block brightness of the two correlates."""

    def blocks(image):
        grey = image.astype(np.float64).reshape(*image.shape[:2], -1).mean(axis=2)
        return grey.reshape(grey.shape[0] // 16, 16, grey.shape[1] // 16, 16).mean(axis=(1, 3)).ravel()

    return np.corrcoef(blocks(rgb), blocks(photo))[0, 1] > 0.95


def _grey(astronaut: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(astronaut).convert("L"))


@pytest.mark.parametrize(
    "mode, fmt",
    [
        ("RGB", "JPEG"),
        ("RGB", "PNG"),
        ("RGB", "WEBP"),
        ("1", "PNG"),
        ("L", "JPEG"),
        ("P", "PNG"),
        ("P", "GIF"),
        ("CMYK", "JPEG"),
        ("CMYK", "TIFF"),
        ("YCbCr", "TIFF"),
    ],
)
def test_opaque_modes_load_as_pillow_converts_them(tmp_path, astronaut, mode, fmt):
    path = tmp_path / f"face.{fmt.lower()}"
    Image.fromarray(astronaut).convert(mode).save(path, fmt)
    if (mode, fmt) == ("YCbCr", "TIFF") and PILLOW_MAJOR < 13:  # Pillow 12 cannot decode the YCbCr TIFF it writes
        with pytest.raises(ImageLoadError, match=rf"^{re.escape(str(path))}: truncated or corrupt image data"):
            load_rgb(path)
        return
    with Image.open(path) as image:
        assert image.mode == mode
        expected = np.asarray(image.convert("RGB"))

    rgb = load_rgb(path)

    _check_rgb(rgb, 512, 512)
    np.testing.assert_array_equal(rgb, expected)
    assert _looks_like(rgb, astronaut)
    if mode == "1":
        assert set(np.unique(rgb)) == {0, 255}


def test_rgba_is_composited_over_white(tmp_path, astronaut):
    alpha = np.full((512, 512), 255, np.uint8)
    alpha[:100] = 0
    alpha[100:200] = 128
    path = tmp_path / "face.png"
    Image.fromarray(np.dstack([astronaut, alpha])).save(path)

    rgb = load_rgb(path)

    _check_rgb(rgb, 512, 512)
    assert (rgb[:100] == 255).all()
    half = (astronaut[100:200].astype(np.float64) * 128 + 255 * 127) / 255
    assert np.abs(rgb[100:200] - half).max() <= 1
    np.testing.assert_array_equal(rgb[200:], astronaut[200:])


def test_la_is_composited_over_white(tmp_path, astronaut):
    grey = _grey(astronaut)
    alpha = np.full((512, 512), 255, np.uint8)
    alpha[:, :100] = 0
    path = tmp_path / "face.png"
    Image.fromarray(np.dstack([grey, alpha]), "LA").save(path)

    rgb = load_rgb(path)

    _check_rgb(rgb, 512, 512)
    assert (rgb[:, :100] == 255).all()
    for channel in range(3):
        np.testing.assert_array_equal(rgb[:, 100:, channel], grey[:, 100:])


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_palette_transparency_becomes_white(tmp_path, astronaut, fmt):
    image = Image.fromarray(astronaut).convert("P", palette=Image.Palette.ADAPTIVE)
    transparent = image.getpixel((0, 0))
    path = tmp_path / f"face.{fmt.lower()}"
    image.save(path, fmt, transparency=transparent)

    rgb = load_rgb(path)

    _check_rgb(rgb, 512, 512)
    hidden = np.asarray(image) == transparent
    assert 0 < hidden.mean() < 0.5
    assert (rgb[hidden] == 255).all()
    np.testing.assert_array_equal(rgb[~hidden], np.asarray(image.convert("RGB"))[~hidden])


def test_rgb_transparent_colour_becomes_white(tmp_path, astronaut):
    photo = astronaut.copy()
    photo[:50, :50] = (1, 2, 3)
    path = tmp_path / "face.png"
    Image.fromarray(photo).save(path, transparency=(1, 2, 3))

    rgb = load_rgb(path)

    assert (rgb[:50, :50] == 255).all()
    np.testing.assert_array_equal(rgb[50:], photo[50:])


@pytest.mark.parametrize(
    "mode, dtype, fmt",
    [("I;16", "<u2", "PNG"), ("I;16B", ">u2", "TIFF"), ("I;16", "<u2", "TIFF"), ("I", "<i4", "TIFF")],
)
def test_16_bit_greyscale_is_scaled_by_the_full_16_bit_range(tmp_path, astronaut, mode, dtype, fmt):
    grey = _grey(astronaut)
    values = (grey.astype(np.uint32) * 257).astype(dtype)
    values[0, :5] = [65535, 32896, 32895, 32767, 0]
    path = tmp_path / f"depth.{fmt.lower()}"
    Image.fromarray(values).save(path, fmt)
    with Image.open(path) as image:
        assert image.mode == mode

    rgb = load_rgb(path)

    _check_rgb(rgb, 512, 512)
    assert (rgb == rgb[..., :1]).all()
    np.testing.assert_array_equal(rgb[0, :5, 0], [255, 128, 128, 127, 0])
    np.testing.assert_array_equal(rgb[1:, :, 0], grey[1:])


def test_32_bit_integers_outside_16_bits_are_stretched(tmp_path, astronaut):
    values = _grey(astronaut).astype(np.int32) * 1000 - 100_000
    path = tmp_path / "depth.tiff"
    Image.fromarray(values).save(path)

    rgb = load_rgb(path)

    _check_rgb(rgb, 512, 512)
    assert rgb.min() == 0 and rgb.max() == 255
    assert _looks_like(rgb, astronaut)


def test_float_is_stretched_from_min_to_max(tmp_path, astronaut):
    values = _grey(astronaut).astype(np.float32) / 100 - 1
    values[0, 0] = np.nan
    path = tmp_path / "depth.tiff"
    Image.fromarray(values).save(path)
    with Image.open(path) as image:
        assert image.mode == "F"

    rgb = load_rgb(path)

    _check_rgb(rgb, 512, 512)
    assert rgb[0, 0, 0] == 0
    finite = np.isfinite(values)
    assert rgb[values == values[finite].min()].max() == 0
    assert rgb[values == values[finite].max()].min() == 255
    assert _looks_like(rgb, astronaut)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
@pytest.mark.parametrize("orientation, quarter_turns", [(3, 2), (6, -1), (8, 1)])
def test_exif_orientation_is_applied_like_datasets_does(tmp_path, astronaut, fmt, orientation, quarter_turns):
    import datasets

    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"face.{fmt.lower()}"
    Image.fromarray(astronaut[:, :320]).save(path, fmt, exif=exif)
    with Image.open(path) as image:
        stored = np.asarray(image.convert("RGB"))
    decoded = datasets.Image().decode_example({"path": None, "bytes": path.read_bytes()})

    rgb = load_rgb(path)

    _check_rgb(rgb, *np.rot90(stored, quarter_turns).shape[:2])
    np.testing.assert_array_equal(rgb, np.rot90(stored, quarter_turns))
    np.testing.assert_array_equal(rgb, np.asarray(decoded.convert("RGB")))


def test_sources_give_the_same_array(tmp_path, astronaut):
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "face.jpg"
    Image.fromarray(astronaut[:, :320]).save(path, exif=exif)
    data, expected = load_image_file(path)
    assert data == path.read_bytes()
    _check_rgb(expected, 320, 512)

    with Image.open(path) as image, path.open("rb") as file:
        for source in (path, str(path), data, io.BytesIO(data), file, image):
            np.testing.assert_array_equal(load_rgb(source), expected)
        assert image.size == (320, 512)  # the caller's image is not rotated in place
        assert open_image(image).mode == "RGB"


@pytest.mark.slow
def test_8000x8000_jpeg_loads(tmp_path, astronaut):
    import cv2

    path = tmp_path / "big.jpg"
    big = cv2.resize(astronaut, (8000, 8000), interpolation=cv2.INTER_LINEAR)
    Image.fromarray(big).save(path, quality=90)
    del big

    rgb = load_rgb(path)

    _check_rgb(rgb, 8000, 8000)
    assert _looks_like(cv2.resize(rgb, (512, 512), interpolation=cv2.INTER_AREA), astronaut)


@pytest.mark.filterwarnings("error")
def test_decompression_bomb_is_refused_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / "bomb.png"
    Image.new("1", (12000, 12000)).save(path)
    assert path.stat().st_size < 100_000

    def fail(self):
        raise AssertionError("decoded the pixels of a decompression bomb")

    monkeypatch.setattr(ImageFile.ImageFile, "load", fail)
    message = re.escape(f"{path}: image is 12000x12000 = 144.0 MP, more than the 100.0 MP limit")
    with pytest.raises(ImageLoadError, match=message):
        load_rgb(path)
    with pytest.raises(ImageLoadError, match=message):
        load_image_file(path)
    assert DEFAULT_MAX_PIXELS == 100_000_000


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height 1-bit pixels, with almost no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_bomb_beyond_pillows_own_limit_is_refused(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header(20000, 20000))

    for max_pixels in (DEFAULT_MAX_PIXELS, 10**9):
        with pytest.raises(ImageLoadError, match=f"^{re.escape(str(path))}: .*decompression bomb"):
            load_rgb(path, max_pixels=max_pixels)


@pytest.mark.filterwarnings("error")
def test_max_pixels_overrides_pillows_warning_limit(tmp_path, astronaut, monkeypatch):
    path = tmp_path / "face.jpg"
    Image.fromarray(astronaut).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 200_000)  # Pillow warns above this, refuses above twice it

    _check_rgb(load_rgb(path), 512, 512)
    with pytest.raises(ImageLoadError, match=re.escape(f"{path}: image is 512x512 = 0.3 MP, more than the 0.2 MP")):
        load_rgb(path, max_pixels=200_000)
    _check_rgb(load_rgb(path, max_pixels=512 * 512), 512, 512)


def test_pillows_hard_limit_becomes_image_load_error(tmp_path, astronaut, monkeypatch):
    data = io.BytesIO()
    Image.fromarray(astronaut).save(data, "PNG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)

    with pytest.raises(ImageLoadError, match=r"^upload\.png: .*decompression bomb"):
        load_rgb(data.getvalue(), name="upload.png")


def _text(path):
    path.write_text("name,age\nAda,36\n")


def _empty(path):
    path.write_bytes(b"")


def _truncated_jpeg(path):
    data = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 150, 100)).save(data, "JPEG")
    path.write_bytes(data.getvalue()[: len(data.getvalue()) // 2])


def _missing(path):
    pass


def _directory(path):
    path.mkdir()


@pytest.mark.parametrize(
    "make, reason",
    [
        (_text, "not an image Pillow can read"),
        (_empty, "empty file"),
        (_truncated_jpeg, "truncated or corrupt image data"),
        (_missing, "file not found"),
        (_directory, "is a directory"),
    ],
)
def test_unreadable_files_name_the_file_and_the_reason(tmp_path, make, reason):
    path = tmp_path / "face.jpg"
    make(path)
    match = f"^{re.escape(str(path))}: {reason}"

    with pytest.raises(ImageLoadError, match=match):
        load_rgb(path)
    with pytest.raises(ImageLoadError, match=match):
        load_image_file(path)
    if path.is_file():
        with pytest.raises(ImageLoadError, match=f"^upload: {reason}"):
            load_rgb(path.read_bytes(), name="upload")


@pytest.mark.parametrize("mode, subsampling", [("RGB", 2), ("RGB", 0), ("L", None)])
def test_resaved_like_equals_the_fake_on_every_block_the_edit_left_alone(astronaut, mode, subsampling):
    """The real saved with a JPEG fake's tables and subsampling equals the fake outside the
    16 px macroblocks (8 px for 4:4:4 and greyscale) that a local edit touched, and one pixel of
    chroma upsampling beyond them."""
    real = np.asarray(Image.fromarray(astronaut).convert(mode).convert("RGB"))
    edited = real.copy()
    edited[200:240, 200:260] = (200, 30, 60) if mode == "RGB" else 220
    options = {"subsampling": subsampling} if subsampling is not None else {}
    data = encode_image(Image.fromarray(edited).convert(mode), "JPEG", quality=80, **options)
    differs = (resaved_like(real, data) != load_rgb(data)).any(axis=2)
    block = 16 if subsampling == 2 else 8
    touched = np.zeros_like(differs)
    touched[200 // block * block - 1 : -(-240 // block) * block + 1, 200 // block * block - 1 : -(-260 // block) * block + 1] = True
    assert differs[200:240, 200:260].all()
    assert not (differs & ~touched).any()


def test_resaved_like_needs_a_jpeg(astronaut):
    assert resaved_like(astronaut, encode_image(astronaut)) is None
    assert resaved_like(astronaut, b"not an image") is None
