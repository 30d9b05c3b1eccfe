"""Write simulated FaceApp-like real/fake pairs from the bundled public-domain photos.

    python scripts/simulate.py --out pairs/ -n 200 --seed 0

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
from fifa_data.pairs.sample_source import VIEWS, write_sample_pairs
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
    parser.add_argument("--photos", action=cli.ListAction, choices=sorted(photos.PHOTOS), default=list(photos.PHOTOS))
    parser.add_argument("--views", action=cli.ListAction, choices=VIEWS, default=list(VIEWS))
    parser.add_argument("--manipulations", action=cli.ListAction, choices=MANIPULATIONS, default=list(MANIPULATIONS))
    parser.add_argument("--overwrite", action="store_true", help="replace --out even if it holds files that FiFa did not write")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("-n: must be at least 1")

    with staged_output(args.out, is_simulation, overwrite=args.overwrite) as staging:
        summary = write_sample_pairs(
            staging,
            args.n,
            args.seed,
            photos=tuple(args.photos),
            views=tuple(args.views),
            manipulations=tuple(args.manipulations),
        )
    print(f"wrote {summary.pairs} pairs from {len(summary.reals)} real images to {args.out}/ (manifest: pairs.csv)")
    for reason, count in Counter(s["reason"] for s in summary.skipped).items():
        print(f"skipped {count}: {reason}", file=sys.stderr)
    for photo in args.photos:
        print(f"  {photo}: {photos.CREDITS[photo]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
