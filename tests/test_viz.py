"""Mask overlays: layout, tinting, legend legibility and PNG output, on the bundled photos."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fifa_data import viz
from fifa_data.core import masks


def _box(shape, y0, y1, x0, x1) -> np.ndarray:
    mask = np.zeros(shape[:2], bool)
    mask[y0:y1, x0:x1] = True
    return mask


@pytest.fixture(scope="module")
def three(astronaut):
    spans = [(60, 200, 170, 320), (300, 480, 40, 200), (10, 40, 400, 500)]
    boxes = [_box(astronaut.shape, *span) for span in spans]
    return boxes, ["face", "suit", "flag"]


def _blend(pixel, color, alpha=0.45):
    return np.rint(pixel * (1 - alpha) + np.asarray(color) * alpha)


def test_size_is_upscaled_image_plus_legend(astronaut, three):
    out = viz.overlay_masks(astronaut, *three)
    assert isinstance(out, Image.Image) and out.mode == "RGB"
    assert out.height == 1024 and out.width > 1024
    legend = np.asarray(out)[:, 1024:]
    assert (legend != 255).any()


def test_masks_are_tinted_and_the_rest_untouched(astronaut, three):
    boxes, names = three
    out = np.asarray(viz.overlay_masks(astronaut, boxes, names))[:, :1024]
    colors = viz.palette(3)
    # Interior pixels (scale 2) away from the outline and the centred number.
    for (y, x), color in zip([(70, 180), (310, 50), (15, 410)], colors):
        np.testing.assert_allclose(out[2 * y, 2 * x], _blend(astronaut[y, x], color), atol=1)
    np.testing.assert_array_equal(out[2 * 260, 2 * 400], astronaut[260, 400])


def test_non_square_photo_and_rle_input(grace_hopper):
    h, w = grace_hopper.shape[:2]
    mask = _box(grace_hopper.shape, 20, 60, 400, 500)
    color = (10, 200, 30)
    out = viz.overlay_masks(grace_hopper, [masks.encode(mask)], ["hat"], colors=[color], numbered=False)
    assert out.height == 2 * h
    pixels = np.asarray(out)
    np.testing.assert_allclose(pixels[2 * 30, 2 * 450], _blend(grace_hopper[30, 450], color), atol=1)
    np.testing.assert_array_equal(pixels[2 * 300, 2 * 100], grace_hopper[300, 100])


def test_pil_input_and_title(astronaut, three):
    plain = viz.overlay_masks(astronaut, *three)
    titled = viz.overlay_masks(Image.fromarray(astronaut), *three, title="astronaut, 3 regions")
    band = titled.height - plain.height
    assert band > 0 and titled.width >= plain.width
    np.testing.assert_array_equal(np.asarray(titled)[band:, :1024], np.asarray(plain)[:, :1024])


def test_empty_mask_leaves_image_alone(astronaut):
    out = viz.overlay_masks(astronaut, [np.zeros(astronaut.shape[:2], bool)], ["left ear"])
    np.testing.assert_array_equal(np.asarray(out)[:, :1024], astronaut.repeat(2, 0).repeat(2, 1))
    assert out.width > 1024


def test_save_overlay_writes_png(tmp_path, astronaut, three):
    path = tmp_path / "overlay.png"
    out = viz.save_overlay(path, astronaut, *three)
    with Image.open(path) as back:
        assert back.format == "PNG" and back.size == out.size
        np.testing.assert_array_equal(np.asarray(back.convert("RGB")), np.asarray(out))


def test_130_masks_have_legible_legend(astronaut):
    h, w = astronaut.shape[:2]
    corners = [((i // 12) * 46, (i % 12) * 42) for i in range(130)]
    cells = [_box(astronaut.shape, y, y + 40, x, x + 38) for y, x in corners]
    names = [f"concept number {i + 1}" for i in range(130)]
    out = viz.overlay_masks(astronaut, cells, names)
    assert out.height == 2 * h
    legend = np.asarray(out)[:, 2 * w :].astype(np.int32) @ [65536, 256, 1]
    colors = viz.palette(130)
    assert len(set(colors)) == 130
    for color in colors:
        ys, xs = np.nonzero(legend == np.dot(color, [65536, 256, 1]))
        assert ys.size, f"no legend swatch for {color}"
        assert ys.max() - ys.min() >= 10 and xs.max() - xs.min() >= 10


def test_palette_neighbours_differ():
    colors = np.asarray(viz.palette(140), float)
    assert (np.linalg.norm(np.diff(colors, axis=0), axis=1) > 80).all()
    assert viz.palette(5) == viz.palette(140)[:5]


def test_bad_input(astronaut):
    mask = np.zeros(astronaut.shape[:2], bool)
    with pytest.raises(ValueError, match="1 masks but 2 names"):
        viz.overlay_masks(astronaut, [mask], ["a", "b"])
    with pytest.raises(ValueError, match=r"mask 1 has size \[10, 10\], but the image has \[512, 512\]"):
        viz.overlay_masks(astronaut, [np.zeros((10, 10), bool)], ["a"])
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        viz.overlay_masks(astronaut.astype(float), [mask], ["a"])
    with pytest.raises(ValueError, match="only 1 colors"):
        viz.overlay_masks(astronaut, [mask, mask], ["a", "b"], colors=[(1, 2, 3)])


# --- render_age: AGE answers beside their masks ------------------------------------------------

AGE_TEXT = (
    "This photo has been edited. <p>The lips</p> [SEG] look redder and more saturated, "
    "and <p>the left eyebrow</p> [SEG] is darker."
)


@pytest.fixture(scope="module")
def age_masks(astronaut):
    return [_box(astronaut.shape, 137, 153, 203, 245), _box(astronaut.shape, 86, 92, 234, 265)]


def _text_area(out: Image.Image, left: int) -> np.ndarray:
    return np.asarray(out)[:, left:].reshape(-1, 3)


def _has_color(pixels: np.ndarray, color) -> int:
    return int((pixels == np.asarray(color, np.uint8)).all(axis=1).sum())


def test_age_segments_parse():
    assert viz.age_segments(AGE_TEXT) == [
        ("This photo has been edited. ", None),
        ("The lips", 0),
        (" look redder and more saturated, and ", None),
        ("the left eyebrow", 1),
        (" is darker.", None),
    ]
    # Phrase inside the tags, a bare [SEG], a stray tag pair and a real image's answer.
    assert viz.age_segments("a <p> left  ear [SEG] </p>, b [SEG]c <p>x</p> d") == [
        ("a ", None),
        ("left ear", 0),
        (", b ", None),
        ("", 1),
        ("c x d", None),
    ]
    assert viz.age_segments("A real photo.") == [("A real photo.", None)]


def test_render_age_colours_phrases_like_their_masks(astronaut, age_masks):
    out = viz.render_age(astronaut, AGE_TEXT, age_masks)
    assert isinstance(out, Image.Image) and out.mode == "RGB"
    assert out.height >= 1024 and out.width > 1024 + 500  # 2x picture, text to the right
    red, green = viz.palette(2)
    pixels = np.asarray(out)
    # Picture: same tint as overlay_masks gives mask 1 (the lips, scale 2).
    np.testing.assert_allclose(pixels[2 * 145, 2 * 224], _blend(astronaut[145, 224], red), atol=1)
    text = _text_area(out, 1024)
    assert _has_color(text, red) > 200 and _has_color(text, green) > 200
    assert _has_color(text, viz.palette(3)[2]) == 0
    assert _has_color(text, (64, 64, 64)) > 200  # the plain words, dark grey


def test_render_age_rle_masks_pil_image_title_and_width(astronaut, age_masks):
    rles = [masks.encode(m) for m in age_masks]
    plain = viz.render_age(astronaut, AGE_TEXT, age_masks)
    out = viz.render_age(Image.fromarray(astronaut), AGE_TEXT, rles, title="pair 0001: where was it edited?")
    assert out.width == plain.width and out.height > plain.height
    band = out.height - plain.height
    np.testing.assert_array_equal(np.asarray(out)[band : band + 1024, :1024], np.asarray(plain)[:1024, :1024])
    narrow = viz.render_age(astronaut, AGE_TEXT, rles, width=900)
    assert narrow.width == 900 and narrow.mode == "RGB"
    assert _has_color(_text_area(narrow, 500), viz.palette(2)[1]) > 20


def test_render_age_font_scales_with_small_images(astronaut, age_masks):
    small = astronaut[::2, ::2].copy()  # 256 px: enlarged 4x, the text stays as big as for 512
    out = viz.render_age(small, AGE_TEXT, [m[::2, ::2] for m in age_masks])
    big = viz.render_age(astronaut, AGE_TEXT, age_masks)
    assert out.size == big.size


def test_render_age_real_image_is_plain_text(astronaut):
    out = viz.render_age(astronaut, "This is a real photo; nothing in it was edited.", [])
    assert out.width > astronaut.shape[1] and out.height >= 1024
    np.testing.assert_array_equal(np.asarray(out)[:1024, :1024], astronaut.repeat(2, 0).repeat(2, 1))
    text = _text_area(out, 1024)
    assert _has_color(text, (64, 64, 64)) > 100
    assert all(_has_color(text, c) == 0 for c in viz.palette(3))


def test_render_age_count_mismatch(astronaut, age_masks):
    with pytest.raises(ValueError, match=r"2 \[SEG\] tokens but 1 masks"):
        viz.render_age(astronaut, AGE_TEXT, age_masks[:1])
    with pytest.raises(ValueError, match=r"0 \[SEG\] tokens but 2 masks"):
        viz.render_age(astronaut, "A real photo.", age_masks)


def test_render_age_without_freetype(astronaut, age_masks, monkeypatch):
    monkeypatch.setattr(viz, "_scalable_font", lambda size: None)
    out = viz.render_age(astronaut, AGE_TEXT + " \u2014 caf\u00e9 \u4e2d", age_masks, title="no FreeType")
    assert out.mode == "RGB" and out.width > 1024
    text = _text_area(out, 1024)
    assert _has_color(text, viz.palette(2)[0]) > 50 and _has_color(text, (64, 64, 64)) > 200


def test_faces_of_a_group_photo_are_framed_the_subject_in_white(astronaut, three):
    faces = [(170.0, 60.0, 320.0, 200.0), (40.0, 300.0, 200.0, 480.0)]
    plain = np.asarray(viz.overlay_masks(astronaut, *three))[:, :1024]
    framed = np.asarray(viz.overlay_masks(astronaut, *three, faces=faces, subject=1))[:, :1024]
    # the overlay is drawn at twice the photo's size; a frame's middle runs along each box's right edge
    subject_edge, other_edge = framed[2 * 400, 2 * 200 - 1:2 * 200 + 2], framed[2 * 130, 2 * 320 - 1:2 * 320 + 2]
    assert (subject_edge == 255).all(axis=1).any() and not (other_edge == 255).all(axis=1).any()
    assert (np.abs(other_edge.astype(int) - 150) <= 1).all(axis=1).any()
    assert np.array_equal(framed[2 * 260, 2 * 400], plain[2 * 260, 2 * 400])  # nothing else changes
    one_face = np.asarray(viz.overlay_masks(astronaut, *three, faces=faces[:1]))[:, :1024]
    assert np.array_equal(one_face, plain)  # a single face needs no frame
    age = viz.render_age(astronaut, "<p>face</p> [SEG]", three[0][:1], faces=faces, subject=0)
    assert age.size == viz.render_age(astronaut, "<p>face</p> [SEG]", three[0][:1]).size
