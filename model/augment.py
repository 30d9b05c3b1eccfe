"""Training levers that push a FiFa-MLLM to look for evidence rather than learn where edits usually are.

* :class:`View` / :func:`random_view`: a random scale-crop and horizontal flip of the image, applied
  the same way to every mask of the row, so an edit is no longer always at the same place;
* :func:`face_view`: the square around a face, so that a small input resolution spends its pixels on the face;
* :func:`srm_residuals`: SRM-style high-pass (noise-residual) channels of the pixels, a forensic
  input for a vision tower trained from scratch, and :func:`srm_energy`: their local energy, which
  resampling, smoothing and inpainting lower and a pasted part changes;
* :class:`RealsInEveryBatch`: a sampler that puts reals in every training batch, in a set share, and
  optionally spreads them over the tasks as the fakes are spread.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Sampler

_SIDES = re.compile(r"\b(left|right)\b", re.IGNORECASE)


@dataclass(frozen=True)
class View:
    """A crop ``(x0, y0, x1, y1)`` of an image, then an optional left-right flip."""

    box: tuple[int, int, int, int]
    flip: bool = False

    def image(self, image: Image.Image) -> Image.Image:
        out = image.crop(self.box)
        return out.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if self.flip else out

    def mask(self, mask: np.ndarray) -> np.ndarray:
        """The same crop and flip of an ``(h, w)`` mask at the image's size (zeros where the box leaves the image, as
        :meth:`image` pads black)."""
        x0, y0, x1, y1 = self.box
        height, width = mask.shape[:2]
        if x0 >= 0 and y0 >= 0 and x1 <= width and y1 <= height:
            out = mask[y0:y1, x0:x1]
        else:
            out = np.zeros((y1 - y0, x1 - x0, *mask.shape[2:]), mask.dtype)
            top, left, bottom, right = max(y0, 0), max(x0, 0), min(y1, height), min(x1, width)
            if bottom > top and right > left:
                out[top - y0 : bottom - y0, left - x0 : right - x0] = mask[top:bottom, left:right]
        return np.ascontiguousarray(out[:, ::-1]) if self.flip else out

    def box_of(self, box: list[float]) -> list[float]:
        """A box ``[x0, y0, x1, y1]`` in the image's pixels, in the view's pixels (clipped)."""
        left, top, right, bottom = self.box
        x0, x1 = np.clip([box[0] - left, box[2] - left], 0, right - left)
        y0, y1 = np.clip([box[1] - top, box[3] - top], 0, bottom - top)
        if self.flip:
            x0, x1 = (right - left) - x1, (right - left) - x0
        return [float(x0), float(y0), float(x1), float(y1)]


def mentions_sides(row: dict) -> bool:
    """Whether the row's conversation names a left or right side, which a flip would make false."""
    return any(_SIDES.search(part.get("text") or "") for message in row["messages"] for part in message["content"])


def random_view(size: tuple[int, int], rng: np.random.Generator, *, min_scale: float, flip: bool, shift: int = 0) -> View:
    """A random crop of ``min_scale``..1 of each side of an image of ``(height, width)``, flipped half the time if ``flip``.

    With ``shift`` (pixels), the view is instead the whole image moved by whole steps of ``shift`` pixels, up to
    ``1 - min_scale`` of its side each way, padded black: nothing is resampled, so the pixels' noise and an
    8-pixel JPEG grid (``shift`` 8) reach the model as they are, while an edit still changes place.
    """
    height, width = size
    if shift:
        steps_x, steps_y = int((1 - min_scale) * width) // shift, int((1 - min_scale) * height) // shift
        dx, dy = int(rng.integers(-steps_x, steps_x + 1)) * shift, int(rng.integers(-steps_y, steps_y + 1)) * shift
        return View((dx, dy, dx + width, dy + height), flip=bool(flip and rng.random() < 0.5))
    scale = rng.uniform(min_scale, 1.0)
    w, h = max(1, round(width * scale)), max(1, round(height * scale))
    x0, y0 = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
    return View((x0, y0, x0 + w, y0 + h), flip=bool(flip and rng.random() < 0.5))


def face_view(size: tuple[int, int], face_box: list[float], margin: float = 0.5) -> View:
    """The square around ``face_box`` (``[x0, y0, x1, y1]``) grown by ``margin`` of its side on every side,
    clipped to an image of ``(height, width)``."""
    from fifa_data.faces.detect import square_around  # the detector's module: loaded only where a face is cropped

    return View(square_around(face_box, size, margin))


# Fridrich and Kodovsky's SRM residuals that forgery detectors use most (Zhou et al., 2018): a first-order
# edge, the second-order 3x3 and the 5x5 "KV" kernel, each normalised to sum to zero.
_SRM = [
    np.array([[0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 1, -1, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]], np.float32),
    np.array([[0, 0, 0, 0, 0], [0, -1, 2, -1, 0], [0, 2, -4, 2, 0], [0, -1, 2, -1, 0], [0, 0, 0, 0, 0]], np.float32) / 4,
    np.array([[-1, 2, -2, 2, -1], [2, -6, 8, -6, 2], [-2, 8, -12, 8, -2], [2, -6, 8, -6, 2], [-1, 2, -2, 2, -1]], np.float32) / 12,
]
SRM_CHANNELS = len(_SRM)


CLIP_LEVEL = 1 / (255 * 0.27)  # one 8-bit grey level of a CLIP-normalised image (std about 0.27)


def srm_residuals(pixel_values: torch.Tensor, level: float = CLIP_LEVEL, truncate: float = 3.0) -> torch.Tensor:
    """``(b, c, h, w)`` pixels → ``(b, 3, h, w)`` noise residuals of their luminance, one per SRM kernel, in [-1, 1].

    Each residual is a high-pass filter (its kernel sums to zero): flat regions give zero, and what is
    left is the fine texture and noise that resampling and blending disturb. As in the SRM, residuals are
    counted in grey levels (``level`` is one level in the units of ``pixel_values``) and clipped at
    ``truncate`` levels; they are returned divided by ``truncate``.
    """
    grey = pixel_values.float().mean(1, keepdim=True)
    kernels = torch.from_numpy(np.stack(_SRM))[:, None].to(grey.device)
    residual = F.conv2d(F.pad(grey, (2, 2, 2, 2), mode="reflect"), kernels) / level
    return (residual.clamp(-truncate, truncate) / truncate).to(pixel_values.dtype)


def srm_energy(residuals: torch.Tensor, window: int) -> torch.Tensor:
    """``(b, c, h, w)`` residuals (:func:`srm_residuals`) → their local energy: the mean ``|residual|`` over a
    ``window`` x ``window`` square around each pixel, in [0, 1].

    A residual is a signed, nearly linear function of the pixels, so a patch embedding reads texture
    from it but hardly its *level*; the energy is that level. Resampling (a warp, an enlarged eye),
    smoothing and inpainting lower it, and a part pasted from another photo brings its own: a local
    noise-level inconsistency that tells nothing about where on a face an edit usually is.
    """
    if window < 1 or window % 2 == 0:
        raise ValueError(f"the energy window must be an odd number of pixels, not {window}")
    pad = window // 2
    return F.avg_pool2d(residuals.abs().float(), window, stride=1, padding=pad, count_include_pad=False).to(residuals.dtype)


def forensic_channels(pixel_values: torch.Tensor, energy_window: int = 0) -> torch.Tensor:
    """The channels a forensic input adds after the colour ones: the SRM residuals, then (``energy_window`` > 0) their energy."""
    residuals = srm_residuals(pixel_values)
    return torch.cat([residuals, srm_energy(residuals, energy_window)], dim=1) if energy_window else residuals


def forensic_channel_count(forensic_input: bool, energy_window: int = 0) -> int:
    """How many channels :func:`forensic_channels` adds (0 without a forensic input)."""
    return SRM_CHANNELS * (2 if energy_window else 1) if forensic_input else 0


class RealsInEveryBatch(Sampler[int]):
    """Indices in batches of ``batch_size`` that each hold ``reals`` real rows (drawn again as needed) and fakes for the rest.

    One pass goes once through every fake; reals and fakes are shuffled again each pass. With ``tasks``
    (each row's task), the reals are drawn so that each task's share of the reals is its share of the
    fakes: a task whose reals are rare (loc has one real row per photo, det several) still sees a real
    in about ``reals / batch_size`` of its rows.
    """

    def __init__(self, labels: list[str], batch_size: int, reals: int, seed: int = 0, tasks: list[str] | None = None) -> None:
        if not 0 < reals < batch_size:
            raise ValueError(f"reals per batch must be between 1 and batch_size - 1 ({batch_size - 1}), not {reals}")
        self.real = [i for i, label in enumerate(labels) if label == "real"]
        self.fake = [i for i, label in enumerate(labels) if label != "real"]
        if not self.real or not self.fake:
            raise ValueError("reals in every batch needs both real and fake training rows")
        self.batch_size, self.reals, self.seed, self.epoch = batch_size, reals, seed, 0
        self.fakes = batch_size - reals
        self.weights = None
        if tasks is not None:
            fakes = {t: sum(tasks[i] == t for i in self.fake) for t in set(tasks)}
            reals_of = {t: sum(tasks[i] == t for i in self.real) for t in set(tasks)}
            weights = np.array([fakes[tasks[i]] / reals_of[tasks[i]] for i in self.real], float)
            self.weights = weights / weights.sum() if weights.sum() > 0 else None

    def __len__(self) -> int:
        return -(-len(self.fake) // self.fakes) * self.batch_size

    def __iter__(self) -> Iterator[int]:
        rng = np.random.default_rng([self.seed, self.epoch])
        self.epoch += 1
        fake = rng.permutation(self.fake)
        if self.weights is None:
            real = np.concatenate([rng.permutation(self.real) for _ in range(-(-len(self) // len(self.real)))])
        else:
            real = rng.choice(self.real, size=len(self) // self.batch_size * self.reals, p=self.weights)
        for b in range(len(self) // self.batch_size):
            fakes = fake[b * self.fakes : (b + 1) * self.fakes]
            if len(fakes) < self.fakes:  # the last batch: fill with fakes from the start
                fakes = np.concatenate([fakes, fake[: self.fakes - len(fakes)]])
            batch = np.concatenate([real[b * self.reals : (b + 1) * self.reals], fakes])
            yield from (int(i) for i in rng.permutation(batch))


__all__ = [
    "SRM_CHANNELS", "RealsInEveryBatch", "View", "face_view", "forensic_channel_count", "forensic_channels", "mentions_sides", "random_view",
    "srm_energy", "srm_residuals",
]
