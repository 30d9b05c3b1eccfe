"""Write simulated real/fake pairs (FaceApp-like edits, or any forgery family) from real photos.

    python scripts/simulate.py --out pairs/ -n 200 --seed 0
    python scripts/simulate.py --out pairs/ --photos my_photos/ --manipulations face_swap,inpaint -n 40

The photos are the bundled public-domain ones (all, or those ``--photos`` names), or those of a folder
given as ``--photos DIR`` or ``--photos-dir DIR`` (a photo without a usable face is skipped and
counted); the donor edits draw their donor from the other photos.

Writes ``OUT/real/<view>/<photo>.*``, ``OUT/fake/<view>/<photo>_<manipulation>_<k>.*`` and
``OUT/pairs.csv`` (real, fake, manipulation, source_id, params, edit_mask): a pair source that
``fifa_data.pairs.sources.open_source(OUT)`` reads. The same seed writes the same bytes.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from fifa_data import cli

cli.guard_start(__name__)  # Ctrl-C from here on: one line, exit 130

from fifa_data.core.schema import MANIPULATIONS
from fifa_data.outputs import staged_output
from fifa_data.pairs import photos
from fifa_data.pairs.sample_source import PHOTO_SUFFIXES, VIEWS, write_sample_pairs
from fifa_data.pairs.simulate import FAMILY_EDITS
from fifa_data.pairs.sources import EDIT_MASK_COLUMN


def is_simulation(folder: Path) -> bool:
    """A folder this command wrote: its ``pairs.csv`` has the simulator's ``edit_mask`` column."""
    manifest = folder / "pairs.csv"
    if not manifest.is_file():
        return False
    with open(manifest, encoding="utf-8", errors="replace") as f:
        return EDIT_MASK_COLUMN in f.readline().strip().split(",")


@cli.command
def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="output folder; an earlier simulation there is replaced")
    parser.add_argument("-n", type=int, default=100, help="number of pairs (default: 100)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    bundled_names = "{" + ",".join(sorted(photos.PHOTOS)) + "}"
    parser.add_argument("--photos", action=cli.ListAction, default=None, metavar="NAME_OR_DIR",
                        help=f"bundled photos by name, {bundled_names} (default: all), or a folder of real photos"
                        " (./NAME for a folder named like a bundled photo)")
    parser.add_argument("--photos-dir", type=Path, help="a folder of real photos to use instead of the bundled ones (as --photos DIR)")
    parser.add_argument("--views", action=cli.ListAction, choices=VIEWS, default=list(VIEWS))
    parser.add_argument("--manipulations", action=cli.ListAction, choices=MANIPULATIONS + FAMILY_EDITS, default=list(MANIPULATIONS))
    parser.add_argument("--overwrite", action="store_true", help="replace --out even if it holds files that FiFa did not write")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("-n: must be at least 1")
    if args.photos is not None and args.photos_dir is not None:
        parser.error("--photos and --photos-dir: give one of them")
    folder_flag = "--photos-dir"
    if args.photos is not None and len(args.photos) == 1 and args.photos[0] not in photos.PHOTOS and Path(args.photos[0]).is_dir():
        args.photos_dir, args.photos, folder_flag = Path(args.photos[0]), None, "--photos"  # --photos DIR
    unknown = [name for name in args.photos or () if name not in photos.PHOTOS]
    if unknown:
        parser.error(f"--photos: {unknown[0]!r} is neither a bundled photo ({', '.join(sorted(photos.PHOTOS))}) nor a folder")
    if args.photos_dir is not None and not args.photos_dir.is_dir():
        parser.error(f"{folder_flag} {args.photos_dir}: not a folder")
    if args.photos_dir is not None and not any(p.suffix.lower() in PHOTO_SUFFIXES for p in args.photos_dir.iterdir()):
        parser.error(f"{folder_flag} {args.photos_dir}: no photos ({', '.join(PHOTO_SUFFIXES)}) in this folder")
    bundled = args.photos if args.photos is not None else list(photos.PHOTOS)

    with staged_output(args.out, is_simulation, overwrite=args.overwrite) as staging:
        summary = write_sample_pairs(
            staging,
            args.n,
            args.seed,
            photos=tuple(bundled),
            views=tuple(args.views),
            manipulations=tuple(args.manipulations),
            photos_dir=args.photos_dir,
        )
        if summary.pairs == 0:
            reasons = "; ".join(sorted({s["reason"] for s in summary.skipped})) or "nothing to edit"
            raise cli.RunError(f"{args.photos_dir or 'the bundled photos'}: no pair could be made ({reasons})")
    print(f"wrote {summary.pairs} pairs from {len(summary.reals)} real images to {args.out}/ (manifest: pairs.csv)")
    faceless = sum(s["manipulation"] is None for s in summary.skipped)
    if faceless:
        print(f"skipped {faceless} photo view(s) without a usable face", file=sys.stderr)
    for reason, count in Counter(s["reason"] for s in summary.skipped).items():
        print(f"skipped {count}: {reason}", file=sys.stderr)
    for photo in [] if args.photos_dir is not None else bundled:
        print(f"  {photo}: {photos.CREDITS[photo]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
