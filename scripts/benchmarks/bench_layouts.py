"""Frames per second per core and peak memory of reading a video source (a miniature FaceForensics++).

    python scripts/benchmarks/bench_layouts.py [--videos 20] [--frames 48] [--per-video 8] [--side 256]

Writes a FaceForensics++ tree of ``--videos`` originals, each with a FaceSwap fake and its mask
video (mp4, ``--frames`` frames of ``--side`` pixels, the bundled photos moving), then times, on one
core, what ``--pairs DIR`` does before the annotation: detecting the layout, counting and decoding
the videos sequentially and writing ``--per-video`` frame pairs and masks of each as PNG. It
reports frame pairs per second, and the peak resident memory of reading a quarter of the videos
and of reading all of them, each in a fresh process: the two should be about equal, since a video
is never decoded whole into memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2
import numpy as np

from fifa_data.pairs.photos import astronaut, grace_hopper


def write_tree(root: Path, videos: int, frames: int, side: int) -> None:
    """``videos`` originals ``000``.. with a FaceSwap fake each (the face region brightened) and its mask video."""
    photos = [cv2.resize(p, (side, side), interpolation=cv2.INTER_AREA) for p in (astronaut(), grace_hopper())]
    mask = np.zeros((side, side), np.uint8)
    cv2.ellipse(mask, (side // 2, side * 2 // 5), (side // 6, side // 4), 0, 0, 360, 255, -1)

    def write(path: Path, image: np.ndarray) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (side, side))
        for k in range(frames):
            moved = cv2.warpAffine(image, np.float32([[1, 0, k % 7], [0, 1, 0]]), (side, side), borderMode=cv2.BORDER_REPLICATE)
            writer.write(cv2.cvtColor(moved, cv2.COLOR_RGB2BGR) if moved.ndim == 3 else cv2.cvtColor(moved, cv2.COLOR_GRAY2BGR))
        writer.release()

    for v in range(videos):
        real = photos[v % 2]
        fake = real.copy()
        fake[mask > 0] = np.clip(fake[mask > 0].astype(int) + 40, 0, 255).astype(np.uint8)
        name = f"{v:03d}"
        write(root / f"original_sequences/youtube/c23/videos/{name}.mp4", real)
        write(root / f"manipulated_sequences/FaceSwap/c23/videos/{name}_{(v + 1) % videos:03d}.mp4", fake)
        write(root / f"manipulated_sequences/FaceSwap/masks/videos/{name}_{(v + 1) % videos:03d}.mp4", mask)


def read(root: Path, per_video: int, work: Path) -> dict:
    """Read the tree as ``--pairs`` does (in this process); the pairs, seconds and peak resident memory."""
    cv2.setNumThreads(1)
    from fifa_data.pairs.layouts.frames import LayoutOptions
    from fifa_data.pairs.sources import open_source

    started = time.process_time()  # CPU seconds of this process: the figure per core, whatever else runs on the machine
    pairs, rejects = open_source(root, LayoutOptions(frames_per_video=per_video, work=work)).scan()
    seconds = time.process_time() - started
    return {"pairs": len(pairs), "rejects": len(rejects), "seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=20)
    parser.add_argument("--frames", type=int, default=48, help="frames per video (default: 48)")
    parser.add_argument("--per-video", type=int, default=8, help="frames sampled per video (default: 8)")
    parser.add_argument("--side", type=int, default=256)
    parser.add_argument("--read", help=argparse.SUPPRESS)  # internal: read this tree in a fresh process
    args = parser.parse_args()
    if args.read:
        with tempfile.TemporaryDirectory() as work:
            print(json.dumps(read(Path(args.read), args.per_video, Path(work))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for videos in sorted({max(1, args.videos // 4), args.videos}):
            root = Path(tmp) / f"ffpp-{videos}"
            write_tree(root, videos, args.frames, args.side)
            command = [sys.executable, __file__, "--read", str(root), "--per-video", str(args.per_video)]
            results[videos] = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
        for videos, r in results.items():
            print(
                f"{videos:3d} videos x {args.frames} frames ({args.side} px): {r['pairs']} frame pairs in {r['seconds']:.2f} CPU s = "
                f"{r['pairs'] / r['seconds']:.1f} frame pairs/s per core ({videos * args.frames / r['seconds']:.0f} video frames/s), "
                f"peak memory {r['peak_mb']:.0f} MB"
            )


if __name__ == "__main__":
    main()
