"""Annotator speed per pair and consistency-guard counts on simulated pairs.

    OMP_NUM_THREADS=1 python scripts/benchmarks/bench_annotate.py [--pairs 200] [--side 1024] [--seed 0]

Simulates ``--pairs`` FaceApp-like pairs (face views of the bundled photos), scales each pair to
``--side`` x ``--side`` pixels and times, on one core, what the annotator does after the face
mesh: concept decisions + evidence, template writing + consistency guard + mask encoding, and
all eleven tasks' rows with their checks. The face mesh, the concept label map and the
artifact mask are computed first and not timed (they are the pairs bench's business). Targets:
at most 20 ms per 1024 x 1024 pair, and 0 text-decision inconsistencies from the template writer.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter
from dataclasses import replace

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2
import numpy as np

from fifa_data.annotate.artifacts import artifact_mask
from fifa_data.annotate.guard import GuardCounts
from fifa_data.annotate.pipeline import AnnotatorConfig, explain, measure
from fifa_data.annotate.writers import TemplateWriter
from fifa_data.faces.concepts import concept_masks
from fifa_data.faces.detect import NoFaceError, analyze_face
from fifa_data.pairs.loading import LoadedPair, load_pairs
from fifa_data.pairs.rejects import Reject
from fifa_data.pairs.sample_source import write_sample_pairs
from fifa_data.pairs.sources import open_source
from fifa_data.tasks import task_rows


def scaled(pair: LoadedPair, side: int) -> tuple[np.ndarray, np.ndarray]:
    if pair.real.shape[:2] == (side, side):
        return pair.real, pair.fake
    return tuple(cv2.resize(x, (side, side), interpolation=cv2.INTER_CUBIC) for x in (pair.real, pair.fake))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--side", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cv2.setNumThreads(1)

    config = AnnotatorConfig()
    writer = TemplateWriter(seed=config.seed)
    counts = GuardCounts()
    stages: dict[str, list[float]] = {"decide+evidence": [], "write+guard+masks": [], "11 tasks": []}
    rejected: Counter = Counter()
    rows = 0
    with tempfile.TemporaryDirectory() as tmp:
        write_sample_pairs(tmp, args.pairs, args.seed, views=("face",))
        refs, _ = open_source(tmp).scan()
        cache: dict[str, tuple] = {}
        for pair in load_pairs(refs):
            if isinstance(pair, Reject):
                rejected[pair.reason] += 1
                continue
            real, fake = scaled(pair, args.side)
            if pair.ref.real_path not in cache:
                try:
                    face = analyze_face(real)
                except NoFaceError:
                    rejected["no_face"] += 1
                    continue
                cache[pair.ref.real_path] = (face, concept_masks(real, face))
            face, concepts = cache[pair.ref.real_path]
            pair = replace(pair, real=real, fake=fake, face=face, reference=None)  # the resaved reference was of the full size
            artifact = artifact_mask(real, fake).mask

            t0 = time.perf_counter()
            measured = measure(pair, concepts, config, artifact=artifact)
            t1 = time.perf_counter()
            if isinstance(measured, Reject):
                rejected[measured.reason] += 1
                continue
            (img,) = explain([measured], writer, counts)
            t2 = time.perf_counter()
            rows += sum(len(r) for r in task_rows(img, seed=config.seed).values())
            t3 = time.perf_counter()
            for name, seconds in zip(stages, (t1 - t0, t2 - t1, t3 - t2)):
                stages[name].append(seconds * 1e3)

    total = np.sum([np.array(v) for v in stages.values()], axis=0)
    print(f"{len(total)} annotated pairs at {args.side}x{args.side}, one core; rejected: {dict(rejected) or 'none'}")
    print(f"{'stage':20s} {'mean ms':>8s} {'median':>8s} {'p90':>8s}")
    for name, values in [*stages.items(), ("total", total)]:
        values = np.asarray(values)
        print(f"{name:20s} {values.mean():8.1f} {np.median(values):8.1f} {np.percentile(values, 90):8.1f}")
    print(f"rows: {rows} ({rows / max(len(total), 1):.1f} per pair)")
    c = counts.to_dict()
    print(f"guard: {c['texts']} texts, {c['inconsistent']} text-decision inconsistencies, {c['missing']} missing, "
          f"{c['repaired']} repaired, {c['rejected']} rejected")


if __name__ == "__main__":
    main()
