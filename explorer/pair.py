"""The annotate tab's work: one real/fake pair through the build's own pair checks and annotator.

`annotate_pair` copies the two files into a one-pair folder source and runs `annotate_source` on
it (the pair checks, the annotator and the task rows), exactly as ``scripts/build.py`` does for every pair, so a
pair the build would reject shows the build's reason, and an accepted one shows what the build
would store: the artifact mask and its parameters, the decisions with their evidence, the AGE text
and the eleven task rows. `sample_pair` gives the bundled simulated pairs of the astronaut photo: every attribute
edit and one edit of every other forgery family (a face swap, a self-blend, a reenactment, a part swap, an
inpainting), the donor edits taking their donor from `DONOR_PHOTO`.
"""

from __future__ import annotations

import atexit
import io
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import polars as pl
from PIL import Image

from explorer.views import grounded_html
from fifa_data.annotate.artifacts import MODES
from fifa_data.annotate.pipeline import AnnotatedImage, AnnotatorConfig
from fifa_data.annotate.source import Annotated, AnnotateSettings, annotate_source
from fifa_data.core import masks as masklib
from fifa_data.core.images import load_rgb
from fifa_data.core.schema import MANIPULATIONS
from fifa_data.faces.detect import square_around
from fifa_data.pairs.rejects import REASONS, Reject
from fifa_data.pairs.sample_source import write_sample_pairs
from fifa_data.pairs.simulate import FAMILY_EDITS
from fifa_data.pairs.sources import PairRef, default_source_id, make_pair_id, manipulation_of
from fifa_data.viz import overlay_masks, render_annotated

SAMPLE_PHOTO = "astronaut"
DONOR_PHOTO = "grace_hopper"  # lends its face to the sample's face swap, reenactment and part swap; never edited itself
SAMPLE_EDITS = MANIPULATIONS + FAMILY_EDITS
CLOSE_UP_MARGIN = 0.6  # the overlays' crop: the face box grown by this share of its size on each side
CLOSE_UP_SIDE = 1024  # ... and shrunk to at most this many pixels
DECISION_COLUMNS = ["concept", "name", "grounded", "share covered", "artifact px", "ΔE", "Δ lightness", "texture", "displacement px", "facts stated"]


@dataclass
class PairView:
    """Everything the annotate tab shows for one pair; ``reject`` is set (and the rest empty) when the build would not keep it."""

    reject: str | None = None
    image_level_only: str | None = None  # a fake kept for det and cls only, and why
    concepts_overlay: Image.Image | None = None
    artifact_overlay: Image.Image | None = None
    artifact_mask: Image.Image | None = None  # the mask itself: 255 inside
    mask_params: dict = field(default_factory=dict)
    decisions: list[list] = field(default_factory=list)  # rows of DECISION_COLUMNS
    age_text: str = ""
    age_html: str = ""
    age_image: Image.Image | None = None
    rows: dict[str, list[dict]] = field(default_factory=dict)  # task -> rows, image bytes replaced by the file name
    seconds: float = 0.0


def reject_sentence(reject: Reject) -> str:
    """A reject in one sentence, as ``rejects.parquet`` records it: the reason, what it means, the detail."""
    return f"rejected as {reject.reason} ({REASONS[reject.reason]}): {reject.detail}"


def annotate_pair(real: str | Path, fake: str | Path, mode: str = "adaptive", *, manipulation: str | None = None, seed: int = 0) -> PairView:
    """Validate and annotate one pair as the build would, in artifact-mask ``mode`` (``adaptive`` or ``paper``)."""
    if mode not in MODES:
        raise ValueError(f"mask mode must be one of {', '.join(MODES)}, got {mode!r}")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fifa-explore-") as tmp:
        ref = _one_pair_source(Path(tmp), Path(real), Path(fake), manipulation)
        config = AnnotatorConfig(mask_mode=mode, seed=seed)
        annotated = list(annotate_source([ref], AnnotateSettings(annotator=config)))
    view = _view(annotated[-1], config)
    view.seconds = time.perf_counter() - started
    return view


def _one_pair_source(root: Path, real: Path, fake: Path, manipulation: str | None) -> PairRef:
    """The two files as ``root/real/NAME`` and ``root/fake/NAME``: the paths a reject's detail then names.

    Without ``manipulation``, a fake named as a folder source names it (``0001_smile.jpg`` of ``0001.png``) is read so.
    """
    manipulation = manipulation or manipulation_of(fake.stem, real.stem)
    real_path, fake_path = f"real/{real.name}", f"fake/{fake.name}"
    for source, relative in ((real, real_path), (fake, fake_path)):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, root / relative)
    return PairRef(make_pair_id(real_path, fake_path), default_source_id(real_path), real_path, fake_path, root, manipulation)


def _view(annotated: Annotated, config: AnnotatorConfig) -> PairView:
    fake = annotated.item
    if isinstance(fake, Reject):
        return PairView(reject=reject_sentence(fake))
    rows = {task: [_readable(r) for r in rs] for task, rs in annotated.rows.items()}
    concepts = fake.concept_masks
    rgb = load_rgb(io.BytesIO(fake.image), name=fake.image_path)
    close_up = _close_up(concepts.face_box, rgb.shape)
    face, labels = close_up(rgb), close_up(concepts.labels)
    visible = concepts.visible()
    concepts_overlay = overlay_masks(face, [concepts.members(c)[labels] for c in visible], [concepts.fict[c].name for c in visible],
                                     title=f"{len(visible)} atomic FICT concepts visible (face close-up)")
    if fake.unlocalised:
        return PairView(image_level_only=reject_sentence(fake.unlocalised), concepts_overlay=concepts_overlay, rows=rows)
    artifact = masklib.decode(fake.masks["image"])
    mode = fake.mask_params.get("mode", "?")
    age_text = fake.explanation.grounded()
    return PairView(
        concepts_overlay=concepts_overlay,
        artifact_overlay=overlay_masks(face, [close_up(artifact)], [f"artifact mask ({mode}), {artifact.mean():.2%} of the image"],
                                       title="artifact mask (face close-up)"),
        artifact_mask=Image.fromarray(artifact.astype(np.uint8) * 255),
        mask_params=fake.mask_params,
        decisions=decision_rows(fake, config),
        age_text=age_text,
        age_html=grounded_html(age_text),
        age_image=render_annotated(fake, title=f"{fake.manipulation or 'fake'} · {fake.pair_id}"),
        rows=rows,
    )


def _close_up(face_box, shape: tuple[int, ...]) -> Callable[[np.ndarray], np.ndarray]:
    """A crop around the subject's face, where small edits show, shrunk to at most `CLOSE_UP_SIDE` px for the page.

    Labels and masks shrink by nearest neighbour, so every pixel keeps a label the photo had.
    """
    left, top, right, bottom = square_around(face_box, shape, CLOSE_UP_MARGIN)
    scale = min(1.0, CLOSE_UP_SIDE / max(right - left, bottom - top))
    size = (max(1, round((right - left) * scale)), max(1, round((bottom - top) * scale)))

    def crop(array: np.ndarray) -> np.ndarray:
        part = array[top:bottom, left:right]
        if scale == 1.0:
            return part
        if part.dtype == np.uint8 and part.ndim == 3:
            return cv2.resize(part, size, interpolation=cv2.INTER_AREA)
        return cv2.resize(part.astype(np.uint16), size, interpolation=cv2.INTER_NEAREST).astype(part.dtype)

    return crop


def decision_rows(img: AnnotatedImage, config: AnnotatorConfig = AnnotatorConfig()) -> list[list]:
    """One row per manipulated concept (FICT order): its share covered, its evidence and the facts the text may state."""
    decisions = img.decisions
    out = []
    for concept_id in decisions.manipulated:
        decision, evidence = decisions.concepts[concept_id], img.evidence.get(concept_id)
        facts = ", ".join(f"{f.kind} {f.direction} ({f.strength})" for f in evidence.facts(config.evidence)) if evidence else ""
        out.append([
            concept_id,
            decisions.fict[concept_id].name,
            "yes" if concept_id in img.grounded else "",
            round(decision.share, 3),
            decision.artifact_pixels,
            round(evidence.delta_e, 2) if evidence else None,
            round(evidence.delta_lightness, 2) if evidence else None,
            round(evidence.texture, 3) if evidence else None,
            round(evidence.displacement, 2) if evidence and evidence.displacement is not None else None,
            facts,
        ])
    return out


def _readable(row: dict) -> dict:
    """A task row as JSON: the image bytes replaced by the file's name, as ``scripts/annotate.py`` writes ``rows.jsonl``."""
    return dict(row, image={"path": row["image"]["path"]})


@lru_cache(maxsize=1)
def _sample_source() -> tuple[Path, pl.DataFrame]:
    root = Path(tempfile.mkdtemp(prefix="fifa-explore-samples-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)  # served while the process runs, gone with it
    # The pairs cycle through the photos' edits photo by photo: the first len(SAMPLE_EDITS) are the sample photo's.
    write_sample_pairs(root, n=len(SAMPLE_EDITS), photos=(SAMPLE_PHOTO, DONOR_PHOTO), views=("full",), manipulations=SAMPLE_EDITS)
    return root, pl.read_csv(root / "pairs.csv")


def sample_manipulations() -> list[str]:
    """The edits of the bundled sample pairs: the simulator's ten attribute edits, then its five family edits."""
    return list(SAMPLE_EDITS)


def sample_pair(manipulation: str) -> tuple[Path, Path]:
    """The real and fake files of the bundled astronaut pair with ``manipulation`` (simulated once per process)."""
    root, manifest = _sample_source()
    match = manifest.filter(pl.col("manipulation") == manipulation)
    if match.is_empty():
        raise ValueError(f"no bundled sample pair for {manipulation!r}; known: {', '.join(manifest['manipulation'].unique(maintain_order=True))}")
    return root / match["real"][0], root / match["fake"][0]
