"""Overlays of named masks on an image, for people to read.

Images shorter than 1024 px are enlarged by the smallest integer factor that reaches it, with
nearest-neighbour sampling so the stored pixels (and any artifacts in them) stay as they are.
Masks are numbered from 1 in the order given. A mask that is empty is kept in the legend, in
grey and marked "(not visible)", so that legend numbers always match mask positions.

``render_age`` draws an AGE (artifact-grounding explanation) answer beside its image: the i-th
``[SEG]`` token of the answer goes with the i-th mask, and the ``<p>...</p>`` phrase just before it
is written in that mask's colour.
"""

from __future__ import annotations

import colorsys
import io
import math
import os
import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from fifa_data.core.images import load_rgb
from fifa_data.core.markup import TOKEN, ground
from fifa_data.core.masks import to_mask

__all__ = ["age_segments", "overlay_masks", "palette", "render_age", "render_annotated", "save_overlay", "tint"]

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
    faces: Sequence[Sequence[float]] = (),
    subject: int = 0,
) -> Image.Image:
    """Tint each mask (array or RLE) in its colour, outline it, number it, and add a legend on the right.

    ``alpha`` is the tint's opacity; at 0 the masks are outlined only, in their own colours and thicker, so the
    pixels inside (the edit itself) show unchanged. ``faces`` (``[x0, y0, x1, y1]`` boxes, as `faces.Face.boxes` gives them) are framed when there
    are several: the subject's (index ``subject``) in white and tagged "subject", the others in grey.
    """
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
        outlines.append((contours, _darker(color) if alpha else color))
        labels.append((i + 1, _inside_point(mask)))
    canvas = np.rint(canvas).astype(np.uint8)
    line = max(1, height // 512) * (1 if alpha else 2)
    for contours, color in outlines:
        if not alpha:  # a dark edge under the colour keeps a light outline visible on a light photo
            cv2.drawContours(canvas, contours, -1, _darker(color), line + 2)
        cv2.drawContours(canvas, contours, -1, color, line)

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
    if len(faces) > 1:
        _frame_faces(draw, faces, subject, scale, band, font)
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


def _frame_faces(draw: ImageDraw.ImageDraw, faces: Sequence[Sequence[float]], subject: int, scale: int, top: int, font) -> None:
    """A frame around each face box; the subject's white and tagged, the others grey and numbered."""
    width = max(2, round(font.size / 6))
    for k, box in sorted(enumerate(faces), key=lambda kb: kb[0] == subject):  # the subject's frame on top
        x0, y0, x1, y1 = (round(v * scale) for v in box)
        y0, y1 = y0 + top, y1 + top
        colour = (255, 255, 255) if k == subject else (150, 150, 150)
        draw.rectangle([x0, y0, x1, y1], outline=(0, 0, 0), width=width + 2)
        draw.rectangle([x0, y0, x1, y1], outline=colour, width=width)
        tag = "subject" if k == subject else f"face {k + 1}"
        above = y0 - width - font.size >= top
        draw.text((x0 + width, y0 - width if above else y0 + 2 * width), tag, fill=colour, font=font,
                  anchor="ld" if above else "lt", stroke_width=max(1, width // 2), stroke_fill=(0, 0, 0))


def tint(image: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    """`image` darkened, with `mask` painted over in `colour`: one mask per panel of a gallery."""
    out = (image * 0.55).astype(np.uint8)
    out[mask] = (0.35 * image[mask] + 0.65 * np.array(colour)).astype(np.uint8)
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


# --- AGE answers ------------------------------------------------------------------------------

_TEXT_GREY = (64, 64, 64)


def age_segments(text: str) -> list[tuple[str, int | None]]:
    """Split an AGE answer into runs of ``(text, mask index)``, in reading order.

    Each ``[SEG]`` token takes the next mask index (from 0) and its run is the ``<p>`` phrase before
    it, with its spaces normalised; a ``[SEG]`` without a phrase gives ``("", index)``. Plain runs
    have index None and keep their text as written, minus ``<p>``/``</p>`` tags and ``[SEG]`` tokens
    (with the spaces between a phrase and its token). Joining the runs gives the readable answer.
    The markup may be spelled as a model writes it (``< P >``, ``[seg]``), and is read by `markup.ground`.
    """
    runs: list[tuple[str, int | None]] = []

    def plain(part: str) -> None:
        part = TOKEN.sub("", part)
        if not part:
            return
        if runs and runs[-1][1] is None:
            runs[-1] = (runs[-1][0] + part, None)
        else:
            runs.append((part, None))

    pos, grounding = 0, ground(text)
    for index, ((start, end), phrase) in enumerate(zip(grounding.seg_spans, grounding.seg_phrases)):
        plain(text[pos:start])
        runs.append((phrase or "", index))
        pos = end
    plain(text[pos:])
    return runs


def _scalable_font(size: int) -> ImageFont.FreeTypeFont | None:
    """Pillow's bundled font at ``size`` px, or None where Pillow has no FreeType."""
    font = ImageFont.load_default(size=size)
    return font if isinstance(font, ImageFont.FreeTypeFont) else None


_STAND_INS = {"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": " - ", "\u2212": "-", "\u00d7": "x"}


@lru_cache(maxsize=4096)
def _glyph(char: str) -> str:
    """``char`` if Pillow's bundled font draws it, else a stand-in (it lacks dashes and accents)."""
    if char.isascii() or not isinstance(font := _scalable_font(20), ImageFont.FreeTypeFont):
        return char
    missing = np.asarray(font.getmask("\U0010fffd"))
    mask = font.getmask(char)
    if mask.size != font.getmask("\U0010fffd").size or not np.array_equal(np.asarray(mask), missing):
        return char
    if char in _STAND_INS:
        return _STAND_INS[char]
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    return base if base and base != char and all(_glyph(c) == c for c in base) else "?"


def _drawable(text: str) -> str:
    return text if text.isascii() else "".join(map(_glyph, text))


def _words(runs: Sequence[tuple[str, int | None]]) -> list[tuple[list[tuple[str, int | None]], int]]:
    """Words as ``(pieces, line breaks before it)``; a word is pieces of (text, mask index or None).

    Pieces of one word touch (a phrase and the comma after it); an empty piece with an index is a
    colour swatch standing for a ``[SEG]`` that had no phrase.
    """
    words: list[tuple[list[tuple[str, int | None]], int]] = []
    pieces: list[tuple[str, int | None]] = []
    breaks = 0
    for text, index in runs:
        if index is not None and not text:
            pieces.append(("", index))
            continue
        for part in re.split(r"(\s+)", _drawable(text)):
            if not part:
                continue
            if part.isspace():
                if pieces:
                    words.append((pieces, breaks))
                    pieces, breaks = [], 0
                breaks += part.count("\n")
            else:
                pieces.append((part, index))
    if pieces:
        words.append((pieces, breaks))
    return words


def _draw_block(
    runs: Sequence[tuple[str, int | None]],
    colors: Sequence[tuple[int, int, int]],
    width: int,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    fill: tuple[int, int, int],
) -> Image.Image:
    """Word-wrap ``runs`` into a white image ``width`` px wide; phrases in their colour, underlined."""
    ascent, descent = font.getmetrics() if hasattr(font, "getmetrics") else (font.getbbox("Ag")[3], 0)
    size = ascent + descent
    line_h = round(size * 1.35)
    space = font.getlength(" ")
    swatch = round(ascent * 0.8)
    scalable = isinstance(font, ImageFont.FreeTypeFont)

    def length(piece: tuple[str, int | None]) -> float:
        return swatch if not piece[0] else font.getlength(piece[0])

    # Lines of placed pieces (x, text, mask index); a word wider than the block is cut by characters.
    lines: list[list[tuple[float, str, int | None]]] = [[]]
    x = 0.0
    for pieces, breaks in _words(runs):
        for _ in range(min(breaks, 2)):
            lines.append([])
            x = 0.0
        word_w = sum(map(length, pieces))
        if lines[-1] and x + space + word_w > width:
            lines.append([])
            x = 0.0
        elif lines[-1]:
            x += space
        for text, index in pieces:
            chunks = [text] if length((text, index)) <= width else list(text)
            for chunk in chunks:
                chunk_w = length((chunk, index))
                if lines[-1] and x + chunk_w > width:
                    lines.append([])
                    x = 0.0
                lines[-1].append((x, chunk, index))
                x += chunk_w
    while lines and not lines[-1]:
        lines.pop()

    block = Image.new("RGB", (width, max(1, len(lines)) * line_h), "white")
    draw = ImageDraw.Draw(block)
    # A dark outline keeps light colours legible, but it blots letters smaller than ~20 px.
    stroke = max(1, round(font.size / 28)) if scalable and font.size >= 20 else 0
    rule, rule_w = max(2, round(size / 9)), max(2, round(size / 14))

    def put(x: float, baseline: int, text: str, **kwargs) -> None:
        if scalable:
            draw.text((x, baseline), text, font=font, anchor="ls", **kwargs)
        else:  # bitmap fonts ignore anchors and hang from the top
            draw.text((x, baseline - ascent), text, font=font, **kwargs)

    for row, line in enumerate(lines):
        baseline = row * line_h + (line_h - size) // 2 + ascent
        underline: list[list] = []  # [x0, x1, index], joined across the spaces inside a phrase
        for x, text, index in line:
            if index is None:
                put(x, baseline, text, fill=fill)
                continue
            color = tuple(colors[index])
            if text:
                kwargs = {"stroke_width": stroke, "stroke_fill": _darker(color)} if stroke else {}
                put(x, baseline, text, fill=color, **kwargs)
                end = x + font.getlength(text)
                if underline and underline[-1][2] == index and x - underline[-1][1] <= space + 1:
                    underline[-1][1] = end
                else:
                    underline.append([x, end, index])
            else:
                box = [round(x), baseline - swatch, round(x) + swatch, baseline]
                draw.rectangle(box, fill=color, outline=_darker(color), width=max(1, stroke))
        for x0, x1, index in underline:
            y = baseline + rule
            draw.rectangle([round(x0), y, round(x1), y + rule_w - 1], fill=tuple(colors[index]))
    return block


def _text_block(
    runs: Sequence[tuple[str, int | None]],
    colors: Sequence[tuple[int, int, int]],
    width: int,
    size: int,
    fill: tuple[int, int, int] = _TEXT_GREY,
) -> Image.Image:
    font = _scalable_font(size)
    if font is not None:
        return _draw_block(runs, colors, width, font, fill)
    # No FreeType: write with the small bitmap font and enlarge it, so the text keeps its size.
    if hasattr(ImageFont, "load_default_imagefont"):
        bitmap = ImageFont.load_default_imagefont()
    else:
        bitmap = ImageFont.load_default()
    k = max(1, round(size / max(1, bitmap.getbbox("Ag")[3])))
    latin1 = str.maketrans(_STAND_INS)
    runs = [(text.translate(latin1).encode("latin-1", "replace").decode("latin-1"), index) for text, index in runs]
    small = _draw_block(runs, colors, max(1, width // k), bitmap, fill)
    return small.resize((small.width * k, small.height * k), Image.Resampling.NEAREST)


_TEXT_CHARS = 26  # width of the text column beside the picture, in font sizes (~55 characters)


def render_age(
    image: np.ndarray | Image.Image,
    text: str,
    masks: Sequence[np.ndarray | dict],
    *,
    width: int | None = None,
    title: str | None = None,
    faces: Sequence[Sequence[float]] = (),
    subject: int = 0,
    alpha: float = 0.45,
) -> Image.Image:
    """The image with mask i tinted in ``palette(n)[i]`` and, beside it, the answer in words.

    ``text`` is an AGE answer: the i-th ``[SEG]`` token goes with ``masks[i]`` (bool array or RLE),
    and the ``<p>`` phrase before it is written in that mask's colour, bold and underlined; the rest
    is dark grey on white, without tags or tokens, word-wrapped. An answer with no ``[SEG]`` (a
    real image) is shown as plain text beside the untouched image. The text goes to the right of the
    picture, or below it when the picture is more than 1.6 times as wide as tall. ``title`` (the
    question, a pair id) is written across the top. The picture is shown as ``overlay_masks`` draws
    it (at least 1024 px tall, pixels kept) unless ``width``, the width of the whole output in
    pixels, is given; the font scales with the picture. ``faces``, ``subject`` and ``alpha`` (0: masks
    outlined only, so the edit inside them shows) are as in `overlay_masks`.
    """
    runs = age_segments(text)
    phrases = {index: part for part, index in runs if index is not None}
    if len(phrases) != len(masks):
        raise ValueError(f"the text has {len(phrases)} [SEG] tokens but {len(masks)} masks were given")
    if width is not None and width < 64:
        raise ValueError(f"width must be at least 64 px, got {width}")
    base = _to_rgb(image)
    h, w = base.shape[:2]
    colors = palette(len(masks))
    names = [phrases[i] or f"[SEG] {i + 1}" for i in range(len(masks))]
    overlay = overlay_masks(base, masks, names, colors=colors, alpha=alpha, numbered=False, faces=faces, subject=subject)
    scale = overlay.height // h
    picture = overlay.crop((0, 0, w * scale, h * scale))  # without the legend: the text says it

    pw, ph = picture.size
    side = pw <= 1.6 * ph

    def font_size(pw: float, ph: float) -> int:
        return max(10, round(math.sqrt(pw * ph) / 36))

    if width is None:
        size = font_size(pw, ph)
        column = _TEXT_CHARS * size if side else pw - 2 * size
        total = pw + 2 * size + column if side else pw
    else:
        total = width
        if side:
            f = width / (pw + (_TEXT_CHARS + 2) * math.sqrt(pw * ph) / 36)
            pw, ph = max(1, round(pw * f)), max(1, round(ph * f))
            size = font_size(pw, ph)
            column = width - pw - 2 * size
            side = column >= 12 * size
        if not side:
            pw, ph = width, max(1, round(picture.height * width / picture.width))
            size = font_size(pw, ph)
            column = width - 2 * size
        if picture.size != (pw, ph):
            resample = Image.Resampling.NEAREST if pw >= picture.width else Image.Resampling.LANCZOS
            picture = picture.resize((pw, ph), resample)

    pad = size
    body = _text_block(runs, colors, column, size)
    band = 0
    if title:
        heading = _text_block([(title, None)], [], total - 2 * pad, round(size * 1.15), fill=(0, 0, 0))
        band = heading.height + pad
    if side:
        out_h = band + max(ph, body.height + 2 * pad)
        text_at = (pw + pad, band + pad)
    else:
        out_h = band + ph + body.height + 2 * pad
        text_at = (pad, band + ph + pad)
    out = Image.new("RGB", (total, out_h), "white")
    out.paste(picture, (0, band))
    out.paste(body, text_at)
    if title:
        out.paste(heading, (pad, pad // 2))
        rule = max(1, size // 14)
        ImageDraw.Draw(out).rectangle([0, band - rule, total - 1, band - 1], fill=(200, 200, 200))
    return out


def render_annotated(img, title: str | None = None) -> Image.Image:
    """An annotated image's AGE answer (a `fifa_data.annotate.pipeline.AnnotatedImage`) drawn beside it."""
    text = img.explanation.grounded() if img.explanation else ""
    concepts = img.concept_masks
    return render_age(load_rgb(io.BytesIO(img.image), name=img.image_path), text, [img.masks[c] for c in img.grounded],
                      title=title, faces=concepts.face_boxes, subject=concepts.subject)
