"""Write simulated FaceApp-like real/fake pairs from the bundled public-domain photos.

    python scripts/simulate.py --out pairs/ -n 200 --seed 0

Writes ``OUT/real/<view>/<photo>.*``, ``OUT/fake/<view>/<photo>_<manipulation>_<k>.*`` and
``OUT/pairs.csv`` (real, fake, manipulation, source_id, params, edit_mask): a pair source that
``fifa_data.pairs.open_source(OUT)`` reads. The same seed writes the same bytes.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from fifa_data import samples
from fifa_data.sample_pairs import VIEWS, write_sample_pairs
from fifa_data.simulate import MANIPULATIONS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("-n", type=int, default=100, help="number of pairs (default: 100)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--photos", nargs="+", choices=sorted(samples.PHOTOS), default=list(samples.PHOTOS))
    parser.add_argument("--views", nargs="+", choices=VIEWS, default=list(VIEWS))
    parser.add_argument("--manipulations", nargs="+", choices=MANIPULATIONS, default=list(MANIPULATIONS))
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("-n must be at least 1")

    summary = write_sample_pairs(
        args.out,
        args.n,
        args.seed,
        photos=tuple(args.photos),
        views=tuple(args.views),
        manipulations=tuple(args.manipulations),
    )
    print(f"wrote {summary.pairs} pairs from {len(summary.reals)} real images to {summary.root}/ (manifest: pairs.csv)")
    for reason, count in Counter(s["reason"] for s in summary.skipped).items():
        print(f"skipped {count}: {reason}", file=sys.stderr)
    for photo in args.photos:
        print(f"  {photo}: {samples.CREDITS[photo]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
