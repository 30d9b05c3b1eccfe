"""The command-line options of the layouts, shared by ``scripts/build.py`` and ``scripts/annotate.py``."""

from __future__ import annotations

import argparse

from fifa_data.pairs.layouts.detect import LAYOUTS
from fifa_data.pairs.layouts.frames import LayoutOptions
from fifa_data.pairs.layouts.video import DEFAULT_FRAMES_PER_VIDEO


def add_layout_arguments(parser: argparse.ArgumentParser) -> None:
    """``--layout``, ``--frames-per-video`` and ``--crop-face``."""
    group = parser.add_argument_group("dataset layouts (docs/datasets.md)")
    group.add_argument("--layout", choices=LAYOUTS, help="read --pairs as this layout (default: detected from the tree)")
    group.add_argument(
        "--frames-per-video", type=int, default=DEFAULT_FRAMES_PER_VIDEO, metavar="N",
        help=f"frames sampled from each video, evenly spaced (default: {DEFAULT_FRAMES_PER_VIDEO})",
    )
    group.add_argument("--crop-face", type=float, metavar="SCALE", help="crop real, fake and mask to SCALE times the subject's face box (1.3 is usual)")


def layout_options(args: argparse.Namespace, parser: argparse.ArgumentParser) -> LayoutOptions:
    """The `LayoutOptions` of parsed arguments; exits with a usage error on a bad value."""
    if args.frames_per_video < 1:
        parser.error("--frames-per-video: must be at least 1")
    if args.crop_face is not None and args.crop_face < 1:
        parser.error("--crop-face: must be at least 1 (the face box itself)")
    return LayoutOptions(layout=args.layout, frames_per_video=args.frames_per_video, crop_face=args.crop_face)
