"""Speed of face analysis vs concept masks, for a 512x512 and a 2048x2048 face photo.

    python scripts/benchmarks/bench_concepts.py [--repeat 20]

"mesh" is :func:`fifa_data.faces.detect.analyze_face` (face detection + 478-point mesh + person
segmentation); "concepts" is :func:`fifa_data.faces.concepts.concept_masks` given that analysis (the
label map of all 112 atomic concepts). Target: (mesh + concepts) / mesh <= 2.0. Also shown,
for information: encoding every visible concept as COCO RLE. Median of ``--repeat`` runs after
one warm-up. The 2048 photo is the astronaut upscaled (no larger public-domain face ships).
"""

from __future__ import annotations

import argparse
import statistics
import time

import cv2

from fifa_data.faces.concepts import concept_masks
from fifa_data.faces.detect import analyze_face
from fifa_data.pairs import photos


def median_ms(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    print(f"{'photo':>10} {'mesh ms':>8} {'concepts ms':>12} {'ratio':>6} {'rle ms':>7}")
    for side in (512, 2048):
        image = cv2.resize(photos.astronaut(), (side, side), interpolation=cv2.INTER_CUBIC)
        face = analyze_face(image)
        masks = concept_masks(image, face)
        mesh = median_ms(lambda: analyze_face(image), args.repeat)
        concepts = median_ms(lambda: concept_masks(image, face), args.repeat)
        rle = median_ms(masks.to_rle, max(3, args.repeat // 4))
        print(f"{side}x{side:<5} {mesh:8.1f} {concepts:12.1f} {(mesh + concepts) / mesh:6.2f} {rle:7.1f}")


if __name__ == "__main__":
    main()
