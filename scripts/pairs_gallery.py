"""A gallery of simulated pairs: real / fake / ground-truth edit / adaptive mask / paper mask.

    python scripts/pairs_gallery.py --out cards/images/simulated_pairs.png [--seed 0]

One row per manipulation type, cropped around the face. The pairs go through the same path as a
build: written to disk by the sample source, read back by the pair source and its checks, and
masked by both artifact-mask modes. Each mask panel is titled with its IoU against the truth.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from fifa_data.annotate.artifacts import artifact_mask
from fifa_data.core import masks as masklib
from fifa_data.core.schema import MANIPULATIONS
from fifa_data.faces.detect import square_around
from fifa_data.pairs.loading import LoadedPair, load_pairs
from fifa_data.pairs.sample_source import write_sample_pairs
from fifa_data.pairs.sources import open_source
from fifa_data.viz import tint

COLUMNS = ("real", "fake", "ground truth", "adaptive", "paper")
MASK_COLOURS = {"ground truth": (0, 200, 255), "adaptive": (255, 60, 60), "paper": (255, 190, 0)}


def _crop(pair: LoadedPair, grow: float = 0.55) -> tuple[slice, slice]:
    left, top, right, bottom = square_around(pair.face.box, pair.real.shape, grow)
    return slice(top, bottom), slice(left, right)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="cards/images/simulated_pairs.png")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as root:
        photos = ("astronaut", "grace_hopper")
        write_sample_pairs(root, n=2 * len(MANIPULATIONS), seed=args.seed, photos=photos, views=("full",))
        pairs = {}
        for item in load_pairs(open_source(root)):
            # one row per manipulation, alternating photos down the grid
            wanted = photos[MANIPULATIONS.index(item.ref.manipulation) % 2]
            if isinstance(item, LoadedPair) and item.ref.source_id == wanted:
                pairs[item.ref.manipulation] = item

    fig, axes = plt.subplots(len(MANIPULATIONS), len(COLUMNS), figsize=(2.3 * len(COLUMNS), 2.4 * len(MANIPULATIONS)))
    for row, manipulation in enumerate(MANIPULATIONS):
        pair = pairs[manipulation]
        truth = pair.ref.edit_mask
        masks = {"ground truth": truth}
        for mode in ("adaptive", "paper"):
            masks[mode] = artifact_mask(pair.real, pair.fake, mode).mask
        ys, xs = _crop(pair)
        panels = {"real": pair.real, "fake": pair.fake}
        for name, mask in masks.items():
            panels[name] = tint(pair.fake, mask, MASK_COLOURS[name])
        encoding = json.loads(pair.ref.extra["params"])["encoding"]
        codec = f"JPEG q{encoding['quality']}" if encoding["format"] == "jpeg" else "PNG"
        for col, name in enumerate(COLUMNS):
            ax = axes[row, col]
            ax.imshow(panels[name][ys, xs], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            title = name
            if name in ("adaptive", "paper"):
                title = f"{name}: IoU {masklib.iou(masks[name], truth):.2f}"
            elif name == "fake":
                title = f"fake ({codec})"
            ax.set_title(title, fontsize=9)
            if col == 0:
                ax.set_ylabel(manipulation, fontsize=11)
    fig.suptitle("Simulated FaceApp-like edits and their artifact masks (masks on the fake, face crop)", fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=80)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
