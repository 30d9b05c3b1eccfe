"""Overlays of named masks on an image, for people to read.

Images shorter than 1024 px are enlarged by the smallest integer factor that reaches it, with
nearest-neighbour sampling so the stored pixels (and any artifacts in them) stay as they are.
Masks are numbered from 1 in the order given. A mask that is empty is kept in the legend, in
grey and marked "(not visible)", so that legend numbers always match mask positions.
"""

from __future__ import annotations

import colorsys
import math
import os
from collections.abc import Sequence

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from fifa_data.masks import to_mask

__all__ = ["overlay_masks", "palette", "save_overlay"]

_MIN_HEIGHT = 1024


def palette(n: int) -> list[tuple[int, int, int]]:
    """``n`` RGB colours; hues step by the golden angle, so neighbouring indices look far apart."""
    colors = []
    for i in range(n):
        hue = (i * 0.381966) % 1.0
        saturation = (0.9, 0.6, 1.0)[i % 3]
        value = (0.95, 0.75)[(i // 3) % 2]
        colors.append(tuple(round(255 * c) for c in colorsys.hsv_to_rgb(hue, saturation, value)))
    return colors


def _darker(color: tuple[int, int, int]) -> tuple[int, int, int]:
    return tuple(int(c * 0.55) for c in color)


def _to_rgb(image: np.ndarray | Image.Image) -> np.ndarray:
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be an HxWx3 uint8 array or a PIL image, got {image.dtype} {image.shape}")
    return image


def _inside_point(mask: np.ndarray) -> tuple[int, int]:
    # Padding makes the image edge count as outside, so a label never sits on the border.
    dist = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 5)
    y, x = np.unravel_index(np.argmax(dist), dist.shape)
    return int(x) - 1, int(y) - 1


def overlay_masks(
    image: np.ndarray | Image.Image,
    masks: Sequence[np.ndarray | dict],
    names: Sequence[str],
    colors: Sequence[tuple[int, int, int]] | None = None,
    alpha: float = 0.45,
    title: str | None = None,
    numbered: bool = True,
) -> Image.Image:
    """Tint each mask (array or RLE) in its colour, outline it, number it, and add a legend on the right."""
    base = _to_rgb(image)
    if len(names) != len(masks):
        raise ValueError(f"got {len(masks)} masks but {len(names)} names")
    colors = palette(len(masks)) if colors is None else [tuple(int(v) for v in c) for c in colors]
    if len(colors) < len(masks):
        raise ValueError(f"got {len(masks)} masks but only {len(colors)} colors")

    h, w = base.shape[:2]
    scale = max(1, math.ceil(_MIN_HEIGHT / h))
    height, width = h * scale, w * scale
    canvas = base.repeat(scale, 0).repeat(scale, 1).astype(np.float32)
    outlines, labels, visible = [], [], []
    for i, (mask, color) in enumerate(zip(masks, colors)):
        mask = to_mask(mask)
        if mask.shape != (h, w):
            raise ValueError(f"mask {i + 1} has size {list(mask.shape)}, but the image has {[h, w]}")
        visible.append(bool(mask.any()))
        if not visible[-1]:
            continue
        mask = mask.repeat(scale, 0).repeat(scale, 1)
        canvas[mask] = canvas[mask] * (1 - alpha) + np.asarray(color, np.float32) * alpha
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
        outlines.append((contours, _darker(color)))
        labels.append((i + 1, _inside_point(mask)))
    canvas = np.rint(canvas).astype(np.uint8)
    for contours, color in outlines:
        cv2.drawContours(canvas, contours, -1, color, max(1, height // 512))

    size = max(11, height // 50)
    font = ImageFont.load_default(size=size)
    pad, row = size, round(size * 1.5)
    title_font = ImageFont.load_default(size=round(size * 1.3))
    band = round(size * 2.4) if title else 0
    entries = [str(name) + ("" if shown else " (not visible)") for name, shown in zip(names, visible)]
    rows = max(1, (height - 2 * pad) // row)
    number_w = font.getlength(str(len(entries)))
    column_w = math.ceil(size + number_w + max(map(font.getlength, entries), default=0) + 2.5 * pad)
    legend_w = pad + math.ceil(len(entries) / rows) * column_w if entries else 0

    title_w = math.ceil(title_font.getlength(title) + 2 * pad) if title else 0
    out = Image.new("RGB", (max(width + legend_w, title_w), height + band), "white")
    out.paste(Image.fromarray(canvas), (0, band))
    draw = ImageDraw.Draw(out)
    if title:
        draw.text((pad, band // 2), title, fill="black", font=title_font, anchor="lm")
    if numbered:
        stroke = max(1, size // 8)
        for number, (x, y) in labels:
            draw.text(
                (x, y + band), str(number), fill="white", font=font, anchor="mm", stroke_width=stroke, stroke_fill="black"
            )
    for k, (entry, color, shown) in enumerate(zip(entries, colors, visible)):
        x = width + pad + (k // rows) * column_w
        y = band + pad + (k % rows) * row + row // 2
        draw.rectangle([x, y - size // 2, x + size, y + size // 2], fill=color, outline=_darker(color))
        text_color = "black" if shown else "gray"
        draw.text((x + size + pad // 2 + number_w, y), str(k + 1), fill=text_color, font=font, anchor="rm")
        draw.text((x + size + pad + number_w, y), entry, fill=text_color, font=font, anchor="lm")
    return out


def save_overlay(
    path: str | os.PathLike,
    image: np.ndarray | Image.Image,
    masks: Sequence[np.ndarray | dict],
    names: Sequence[str],
    **kwargs,
) -> Image.Image:
    """Write ``overlay_masks(image, masks, names, **kwargs)`` to ``path`` as a PNG and return it."""
    out = overlay_masks(image, masks, names, **kwargs)
    out.save(path, format="PNG")
    return out
