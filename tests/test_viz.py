"""Mask overlays: layout, tinting, legend legibility and PNG output, on the bundled photos."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fifa_data import masks, viz


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
