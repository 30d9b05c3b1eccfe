"""FiFa-MLLM's heads on the base model's patch features: the mask decoder and the region encoder.

Both read the same patch features the LLM sees (one vision encoder, as in the paper). Regions
and masks are given on a fixed square grid covering the whole image (``mask_size`` x
``mask_size``), whatever the base model's own resolution, so boxes, concept masks and
ground-truth masks share one coordinate frame.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def sincos_2d(height: int, width: int, dim: int, device=None, dtype=None) -> torch.Tensor:
    """Fixed 2-D sine-cosine position codes (as in MAE), ``(height * width, dim)``, for a grid of any size."""
    quarter = dim // 4
    omega = 1.0 / 10000 ** (torch.arange(quarter, device=device, dtype=torch.float32) / max(quarter, 1))
    y = torch.arange(height, device=device, dtype=torch.float32)[:, None, None] * omega
    x = torch.arange(width, device=device, dtype=torch.float32)[None, :, None] * omega
    codes = torch.cat(
        [y.sin().expand(height, width, quarter), y.cos().expand(height, width, quarter),
         x.sin().expand(height, width, quarter), x.cos().expand(height, width, quarter)],
        dim=-1,
    )
    codes = F.pad(codes, (0, dim - codes.shape[-1]))
    return codes.reshape(height * width, dim).to(dtype or torch.float32)


class TwoWayBlock(nn.Module):
    """SAM-style block: queries attend to each other and to the pixels, then pixels attend to queries."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.to_pixels = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.to_queries = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(4))

    def forward(self, queries: torch.Tensor, pixels: torch.Tensor, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        q = self.norms[0](queries)
        queries = queries + self.self_attn(q, q, q, need_weights=False)[0]
        q = self.norms[1](queries)
        queries = queries + self.to_pixels(q, pixels + pos, pixels, need_weights=False)[0]
        queries = queries + self.mlp(self.norms[2](queries))
        p = self.norms[3](pixels)
        pixels = pixels + self.to_queries(p + pos, queries, queries, need_weights=False)[0]
        return queries, pixels


class MaskDecoder(nn.Module):
    """Mask logits for ``[SEG]`` queries over one image's patch features, upsampled 4x by convolutions."""

    def __init__(self, feature_dim: int, query_dim: int, dim: int = 256, heads: int = 8, layers: int = 2):
        super().__init__()
        self.dim = dim
        self.feature_proj = nn.Sequential(nn.LayerNorm(feature_dim), nn.Linear(feature_dim, dim))
        self.query_proj = nn.Sequential(nn.Linear(query_dim, dim), nn.GELU(), nn.Linear(dim, dim))
        self.blocks = nn.ModuleList(TwoWayBlock(dim, heads) for _ in range(layers))
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(dim, dim // 2, kernel_size=2, stride=2),
            nn.GroupNorm(1, dim // 2),
            nn.GELU(),
            nn.ConvTranspose2d(dim // 2, dim // 4, kernel_size=2, stride=2),
            nn.GELU(),
        )
        self.query_out = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, dim // 4))

    def forward(self, features: torch.Tensor, grid: tuple[int, int], queries: torch.Tensor) -> torch.Tensor:
        """``features`` (h*w, feature_dim), ``queries`` (q, query_dim) → logits (q, 4h, 4w)."""
        h, w = grid
        pixels = self.feature_proj(features)[None]
        pos = sincos_2d(h, w, self.dim, pixels.device, pixels.dtype)[None]
        q = self.query_proj(queries)[None]
        for block in self.blocks:
            q, pixels = block(q, pixels, pos)
        upsampled = self.upsample(pixels[0].T.reshape(1, self.dim, h, w))[0]  # (dim/4, 4h, 4w)
        return torch.einsum("qc,chw->qhw", self.query_out(q[0]), upsampled)


class RegionEncoder(nn.Module):
    """One LLM input embedding for a region: patch features pooled inside it, plus its box."""

    def __init__(self, feature_dim: int, out_dim: int):
        super().__init__()
        self.mlp = nn.Sequential(nn.LayerNorm(2 * feature_dim + 4), nn.Linear(2 * feature_dim + 4, out_dim), nn.GELU(), nn.Linear(out_dim, out_dim))

    def forward(self, features: torch.Tensor, grid: tuple[int, int], region: torch.Tensor) -> torch.Tensor:
        """``features`` (h*w, d), ``region`` (m, m) weights in [0, 1] over the whole image → (out_dim,)."""
        weights = F.adaptive_avg_pool2d(region[None, None].to(features.dtype), grid).flatten()
        inside = weights > 0
        if not bool(inside.any()):  # a region smaller than a cell still has its nearest cell
            inside = weights == weights.max()
            weights = inside.to(features.dtype)
        mean = (weights[:, None] * features).sum(0) / weights.sum().clamp_min(1e-6)
        peak = features.masked_fill(~inside[:, None], torch.finfo(features.dtype).min).amax(0)
        return self.mlp(torch.cat([mean, peak, region_box(region).to(features.dtype)]))


def region_box(region: torch.Tensor) -> torch.Tensor:
    """Normalised ``[x0, y0, x1, y1]`` of the non-zero part of a (m, m) region map (zeros if empty)."""
    m = region.shape[-1]
    rows = torch.nonzero(region.amax(1) > 0).flatten()
    cols = torch.nonzero(region.amax(0) > 0).flatten()
    if len(rows) == 0:
        return torch.zeros(4, device=region.device)
    return torch.stack([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]).float() / m


def mask_losses(logits: torch.Tensor, targets: torch.Tensor, *, balanced: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Binary cross-entropy and mean soft Dice loss of (n, m, m) logits against [0, 1] targets.

    The BCE is the pixel mean, or with ``balanced`` the mean of each mask's edited-pixel mean and
    untouched-pixel mean: an edit of a few percent of the image then weighs as much as the rest, so a
    decoder trained from scratch cannot settle on the empty mask.
    """
    targets = targets.to(logits.dtype)
    if balanced:
        pixels = F.binary_cross_entropy_with_logits(logits, targets, reduction="none").flatten(1)
        flat = targets.flatten(1)
        inside = (pixels * flat).sum(1) / flat.sum(1).clamp_min(1e-6)
        outside = (pixels * (1 - flat)).sum(1) / (1 - flat).sum(1).clamp_min(1e-6)
        has = (flat.sum(1) > 0).to(logits.dtype)
        bce = (0.5 * has * inside + (1 - 0.5 * has) * outside).mean()  # an empty target: only its untouched pixels
    else:
        bce = F.binary_cross_entropy_with_logits(logits, targets)
    probs = logits.sigmoid().flatten(1)
    flat = targets.flatten(1)
    dice = 1 - (2 * (probs * flat).sum(1) + 1) / (probs.sum(1) + flat.sum(1) + 1)
    return bce, dice.mean()


def masks_at(logits: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """Binary masks at an image's ``(height, width)`` from (n, m, m) logits over the whole image."""
    if len(logits) == 0:
        return np.zeros((0, *size), bool)
    upsampled = F.interpolate(logits[:, None].float(), size=size, mode="bilinear", align_corners=False)[:, 0]
    return (upsampled > 0).cpu().numpy()
