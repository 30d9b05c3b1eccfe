"""Pairs bench: artifact-mask speed, simulator speed, and how well each mask mode finds real edits.

    python scripts/benchmarks/bench_pairs.py [--per-combo 2] [--seed 0]

Prints three tables:
1. artifact-mask time for one 1024x1024 pair in each mode (median of 5);
2. simulator time per manipulation at 512 and 1024 px (median of 3; face analysis excluded);
3. on simulated pairs written to disk and read back through the pair source and its checks
   (so JPEG re-encoding and all), the IoU of each artifact-mask mode against the simulator's
   ground-truth edit mask, per manipulation, with the mean mask size next to the true one.
   This is the table that tells users which mode to trust.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import defaultdict

import cv2
import numpy as np

from fifa_data.annotate.artifacts import MODES, artifact_mask
from fifa_data.core import masks as masklib
from fifa_data.core.schema import MANIPULATIONS
from fifa_data.faces.concepts import concept_masks
from fifa_data.faces.detect import analyze_face
from fifa_data.pairs import photos as bundled_photos
from fifa_data.pairs.loading import load_pairs
from fifa_data.pairs.rejects import Reject, count_reasons
from fifa_data.pairs.sample_source import VIEWS, write_sample_pairs
from fifa_data.pairs.simulate import simulate_edit
from fifa_data.pairs.sources import open_source


def _median_seconds(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _upscaled(image: np.ndarray, side: int) -> np.ndarray:
    return cv2.resize(image, (side, side), interpolation=cv2.INTER_CUBIC)


def bench_mask_speed() -> None:
    real = _upscaled(bundled_photos.astronaut(), 1024)
    fake = simulate_edit(real, "lip_color", 0).fake
    print("artifact mask, one 1024x1024 pair (median of 5):")
    for mode in MODES:
        print(f"  {mode:<9} {_median_seconds(lambda: artifact_mask(real, fake, mode), 5) * 1000:7.1f} ms")


def bench_simulator_speed() -> None:
    print("simulator, one edit (median of 3, face analysis excluded):")
    print(f"  {'manipulation':<13} {'512 px':>8} {'1024 px':>8}")
    photos = {}
    for side in (512, 1024):
        image = _upscaled(bundled_photos.astronaut(), side)
        face = analyze_face(image)
        photos[side] = (image, face, concept_masks(image, face))
    for manipulation in MANIPULATIONS:
        cells = []
        for side in (512, 1024):
            image, face, concepts = photos[side]
            seconds = _median_seconds(lambda: simulate_edit(image, manipulation, 1, face=face, concepts=concepts), 3)
            cells.append(f"{seconds * 1000:6.0f} ms")
        print(f"  {manipulation:<13} {cells[0]:>8} {cells[1]:>8}")


def bench_mask_quality(per_combo: int, seed: int) -> None:
    n = per_combo * len(bundled_photos.PHOTOS) * len(VIEWS) * len(MANIPULATIONS)
    ious: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    shares: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    with tempfile.TemporaryDirectory() as root:
        summary = write_sample_pairs(root, n, seed)
        rejects = []
        for item in load_pairs(open_source(root)):
            if isinstance(item, Reject):
                rejects.append(item)
                continue
            truth = item.ref.edit_mask
            manipulation = item.ref.manipulation
            shares[manipulation]["truth"].append(truth.mean())
            for mode in MODES:
                result = artifact_mask(item.real, item.fake, mode)
                ious[manipulation][mode].append(masklib.iou(result.mask, truth))
                shares[manipulation][mode].append(result.share)
    skipped = "; ".join(f"{s['real']} {s['manipulation'] or ''}: {s['reason']}" for s in summary.skipped) or "none"
    print(f"\nmask quality on {summary.pairs} simulated pairs ({n} requested; skipped: {skipped};")
    print(f"  rejected by the pair checks: {count_reasons(rejects) or 'none'}):")
    header = "".join(f"{'IoU ' + m:>15}" for m in MODES) + "".join(f"{'size ' + m:>15}" for m in MODES)
    print(f"  {'manipulation':<13}{'pairs':>6}{header}{'true size':>11}")
    totals = defaultdict(list)
    for manipulation in MANIPULATIONS:
        if manipulation not in ious:
            continue
        row = ious[manipulation]
        cells = "".join(f"{np.mean(row[m]):>15.3f}" for m in MODES)
        cells += "".join(f"{np.mean(shares[manipulation][m]) * 100:>14.2f}%" for m in MODES)
        count = len(row[MODES[0]])
        print(f"  {manipulation:<13}{count:>6}{cells}{np.mean(shares[manipulation]['truth']) * 100:>10.2f}%")
        for m in MODES:
            totals[m].append(np.mean(row[m]))
    wins = sum(ious[k]["adaptive"] and np.mean(ious[k]["adaptive"]) > np.mean(ious[k]["paper"]) for k in ious)
    means = "".join(f"{np.mean(totals[m]):>15.3f}" for m in MODES)
    print(f"  {'mean of types':<13}{'':>6}{means}")
    print(f"  adaptive beats paper on {wins} of {len(ious)} manipulation types")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-combo", type=int, default=2, help="pairs per photo x view x manipulation (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    bench_mask_speed()
    bench_simulator_speed()
    bench_mask_quality(args.per_combo, args.seed)


if __name__ == "__main__":
    main()
