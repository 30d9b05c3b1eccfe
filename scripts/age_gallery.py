"""AGE pictures for the cards: one simulated pair per manipulation type (every family's edit too), annotated and drawn.

    python scripts/age_gallery.py --out cards/images/ [--photo astronaut] [--seed 0]

Writes ``OUT/age_<manipulation>.png`` (the explanation beside the image, each phrase in its
mask's colour; a 256-colour PNG, to keep the repository small) and ``OUT/age_examples.jsonl`` (the
texts with their family, for the README and docs/families.md), for the ten attribute edits and the
five family edits (`simulate.FAMILY_EDITS`; the donor edits take their donor from the next photo of
``--photos``, or the first). The pairs take the
build's path: written by the sample source, read back, validated, annotated by the template
writer and checked by the consistency guard. A type whose first pair is rejected (an edit too
faint to leave an artifact mask) is retried with the next pair of that type.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from PIL import Image

from fifa_data import cli
from fifa_data.annotate.guard import GuardCounts
from fifa_data.annotate.source import AnnotateSettings, annotate_source
from fifa_data.core.families import family_of
from fifa_data.core.schema import MANIPULATIONS
from fifa_data.pairs import photos
from fifa_data.pairs.sample_source import write_sample_pairs
from fifa_data.pairs.simulate import FAMILY_EDITS
from fifa_data.viz import render_annotated

ATTEMPTS = 4
EDITS = MANIPULATIONS + FAMILY_EDITS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="cards/images", help="output folder (default: cards/images)")
    parser.add_argument("--photos", action=cli.ListAction, choices=sorted(photos.PHOTOS), default=["astronaut", "grace_hopper"],
                        help="photos to try, in order, until every type has a usable pair")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    counts = GuardCounts()
    examples = []
    done: set[str] = set()
    for i, photo in enumerate(args.photos):
        todo = tuple(m for m in EDITS if m not in done)
        if not todo:
            break
        donor = next((p for p in args.photos[i + 1 :] + args.photos[:i] if p != photo), None)
        if donor is None:
            donor = next(p for p in photos.PHOTOS if p != photo)
        with tempfile.TemporaryDirectory() as tmp:
            # The pairs cycle photo by photo: `photo`'s first len(todo) pairs, the donor's, `photo`'s again, ...
            write_sample_pairs(tmp, 2 * ATTEMPTS * len(todo), args.seed, photos=(photo, donor), views=("face",), manipulations=todo)
            for annotated in annotate_source(tmp, AnnotateSettings(tasks=()), guard=counts):
                img = annotated.item
                if not annotated.accepted or img.manipulation in done or img.source_id != photo:
                    continue
                done.add(img.manipulation)
                title = f"{img.manipulation} ({photo}, {img.family}): {img.explanation.writer} writer"
                picture = render_annotated(img, title=title)
                picture.quantize(256, method=Image.Quantize.MEDIANCUT).save(out / f"age_{img.manipulation}.png", optimize=True)
                examples.append({"manipulation": img.manipulation, "family": family_of(img.manipulation), "photo": photo,
                                 "pair_id": img.pair_id, "age": img.explanation.grounded()})
    examples.sort(key=lambda e: EDITS.index(e["manipulation"]))
    with open(out / "age_examples.jsonl", "w") as f:
        for example in examples:
            f.write(json.dumps(example) + "\n")
    missing = [m for m in EDITS if m not in done]
    print(f"wrote {len(done)} AGE pictures to {out}/ (guard: {counts.inconsistent} text-decision inconsistencies in {counts.texts} texts)")
    if missing:
        print(f"no usable pair for: {', '.join(missing)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
