"""Concept masks for one face photo: an overlay PNG for people and the masks as COCO RLE JSON.

    python scripts/concepts.py PHOTO [--out DIR]
    python scripts/concepts.py --sample astronaut --out cards/images

Writes ``DIR/<name>_concepts.png`` (every visible atomic FICT concept, numbered, with a legend),
``DIR/<name>_concepts_face.png`` (the same, close up on the face) and ``DIR/<name>_concepts.json``
(``{"image", "size": [h, w], "num_faces", "subject", "face_boxes", "uncovered_face_share", "fict_version", "masks": {concept_id: {"size", "counts"}}}``).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from fifa_data import cli

cli.guard_start(__name__)  # Ctrl-C from here on: one line, exit 130

from fifa_data.core.images import load_rgb
from fifa_data.faces.concepts import concept_masks
from fifa_data.faces.detect import NoFaceError
from fifa_data.pairs import photos
from fifa_data.viz import save_overlay


@cli.command
def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("photo", nargs="?", help="a face photo (any format Pillow reads)")
    source.add_argument("--sample", choices=sorted(photos.PHOTOS), help="a bundled public-domain photo")
    parser.add_argument(
        "--out", default="concepts", help="output folder, shared by many photos: only this photo's three files are replaced (default: ./concepts)"
    )
    args = parser.parse_args(argv)

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise cli.UsageError(f"--out {out}: exists and is not a folder")
    if args.sample:
        name, image = args.sample, photos.PHOTOS[args.sample]()
    else:
        name, image = Path(args.photo).stem, load_rgb(args.photo)
    try:
        concepts = concept_masks(image)
    except NoFaceError as err:
        raise cli.UsageError(f"{args.photo or args.sample}: {err}") from err

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix=f".{name}.") as tmp:  # removed on any error or interrupt
        written = _write_concepts(Path(tmp), name, image, concepts, source=args.photo or f"sample:{args.sample}")
        for file in written:  # this photo's three files replace their old versions, nothing else
            file.replace(out / file.name)
    print(f"{name}: {concepts.num_faces} face(s), {len(concepts.visible())} concepts visible, "
          f"{concepts.uncovered_face_share:.2%} of the face oval uncovered")
    print("wrote " + ", ".join(str(out / f.name) for f in written))
    return 0


def _write_concepts(out: Path, name: str, image, concepts, source: str) -> list[Path]:
    """The overlay, its face close-up and the RLE masks of one photo, written into ``out``; returns their paths."""
    visible = concepts.visible()
    overlay = out / f"{name}_concepts.png"
    save_overlay(
        overlay,
        image,
        [concepts.mask(c) for c in visible],
        [concepts.fict[c].name for c in visible],
        title=f"{name}: {len(visible)} of {len(concepts.fict.atomic_ids)} atomic FICT concepts visible"
        + (f", of face {concepts.subject + 1} of {concepts.num_faces}" if concepts.num_faces > 1 else ""),
        faces=concepts.face_boxes,
        subject=concepts.subject,
    )
    # A close-up of the face, where the small concepts are legible.
    x0, y0, x1, y1 = _around(concepts.face_box, concepts.labels.shape, grow=0.9)
    save_overlay(
        out / f"{name}_concepts_face.png",
        image[y0:y1, x0:x1],
        [concepts.mask(c)[y0:y1, x0:x1] for c in visible],
        [concepts.fict[c].name for c in visible],
        title=f"{name}: face close-up",
    )
    record = {
        "image": source,
        "size": list(concepts.labels.shape),
        "num_faces": concepts.num_faces,
        "subject": concepts.subject,
        "face_boxes": [list(b) for b in concepts.face_boxes],
        "uncovered_face_share": round(concepts.uncovered_face_share, 6),
        "fict_version": concepts.fict.version,
        "masks": concepts.to_rle(visible),
    }
    (out / f"{name}_concepts.json").write_text(json.dumps(record))
    return [overlay, out / f"{name}_concepts_face.png", out / f"{name}_concepts.json"]


def _around(box, shape, grow: float) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    dx, dy = (x1 - x0) * grow, (y1 - y0) * grow
    return (max(0, int(x0 - dx)), max(0, int(y0 - dy)), min(shape[1], int(x1 + dx)), min(shape[0], int(y1 + dy)))


if __name__ == "__main__":
    sys.exit(main())
