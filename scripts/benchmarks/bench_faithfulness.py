"""Faithfulness of the annotations against the simulator's truth, through the real build path.

    python scripts/benchmarks/fetch_photos.py                 # once: public face photos into a cache
    python scripts/benchmarks/bench_faithfulness.py [--photos N] [--half all|tune|hold] [--sizes 256,512,1024,2048]
        [--every-size] [--seed 0] [--resave Q] [--jobs 2] [--out results.json] [--cache DIR]
        [--manipulations smile face_swap ... | --families attribute identity_swap ...] [--unnamed]

For every cached photo (`fetch_photos.py`: single-face photos, group photos kept whole, and
single-face crops cut from those) at one long side of ``--sizes`` (the photos take the sizes in
turn; ``--every-size`` runs each photo at every size, the full setting), the bench writes the
real photo as PNG and one fake per manipulation type of `fifa_data.pairs.simulate.simulate_edit` (every
attribute edit and every family edit of `simulate.FAMILY_EDITS`, or those of ``--manipulations`` or
``--families``; a donor edit takes its donor from another cached single-face photo of another identity:
not the photo itself, nor a crop of it or of its group photo, drawn by the seed),
saved as JPEG (quality drawn from 75..95; ``--resave Q`` saves each JPEG fake a second time at
quality Q, as an upload does, so the real resaved like the fake no longer reproduces it) or, one
time in five, PNG (greyscale photos get greyscale fakes), plus a ``pairs.csv`` manifest with the truth: the edit's ``params`` and its
``edit_mask`` (as `fifa_data.pairs.sample_source` writes them). Then it runs what a build runs on those
files: `annotate.source.annotate_source` (default
configs, template writer), as the build does it, and scores every pair the simulator made (a
*valid pair*: the build should keep it) against the truth with `fifa_data.annotate.reliability`,
the same scoring a build applies to a manifest's ``edit_mask`` (see that module for each figure):
**kept** (not dropped: localised, or kept for det and cls only, counted as
``image_level:<reason>``), **loc** (localised: a mask and a text; the others are counted by reason), **mIoU**, **concept P / R**,
**fact P** and **geo!** (geometry stated about colour and texture edits, which must be zero),
**outside** and **bg/body** (named background and body concepts, and after the slash how many of
them lie outside the edit). In a group photo the edits go to every face in turn, and the bench
counts pairs annotated on another face than the edited one. **vis** is the share of the true edit
mask that the edit visibly changed (some channel by more than `simulate.CHANGE_LEVELS` levels
before the fake was saved), and **mIoU v** the IoU against that visible part: a smoothing of an
already soft face, or a warp of flat skin, is in the truth but changed no pixel.

**Families**: **stated** is the share of the texts that state the pair's true forgery family
(`sentences.stated_families`), **wrong** the share that state another one, **attr!** the texts that
call another family an attribute edit, and **guess** the share of the unnamed fakes whose family was
guessed right (``--unnamed`` writes the manifest without its ``manipulation`` column and the fakes as
``fake/<photo>_<n>``, as users do). **Sentences** (`sentences.check_text` on each text): **agree!** the
agreement errors, **factless** the sentences that name a region and state no fact, and **occl!** the
named ears that hair hides (hair surrounds the ear's pixels and their colour is the hair's, not the
cheeks': what the parser called ear is hair; a hat taken for hair is not measured).

``--half tune`` runs the photos at even positions (in the package round-robin order), ``--half
hold`` the others: tune thresholds on one half and report the other.

Prints one table per manipulation type (rows by size), one per family (rows by type), then an overall
table (rows by family, type, size, fake encoding and kind of photo) with the reject reasons, and the
issues' targets. The
default with the attribute edits only (``--families attribute``: each cached photo once, sizes in turn,
2 processes) took 6 minutes on 2 cores, and ``--half hold`` with every family 6 to 7 minutes;
``--every-size`` takes about four times as long. ``--out`` writes every pair's scores as JSON, with the
simulator's ``params`` and its family readings (`family_evidence.FamilyEvidence`) where the annotator
measured them.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import polars as pl
from PIL import Image

from fifa_data.annotate.pipeline import AnnotatedImage, AnnotatorConfig  # noqa: E402
from fifa_data.annotate.reliability import TRUE_FACTS, Reliability, score_pair  # noqa: E402
from fifa_data.annotate.sentences import check_explanation  # noqa: E402
from fifa_data.annotate.source import AnnotateSettings, annotate_source  # noqa: E402
from fifa_data.core import masks as masklib  # noqa: E402
from fifa_data.core.families import FAMILIES, family_of  # noqa: E402
from fifa_data.core.images import encode_image, load_rgb  # noqa: E402
from fifa_data.core.schema import MANIPULATIONS  # noqa: E402
from fifa_data.faces.concepts import ConceptMasks, concept_masks  # noqa: E402
from fifa_data.faces.detect import NoFaceError, analyze_face  # noqa: E402
from fifa_data.pairs.rejects import Reject  # noqa: E402
from fifa_data.pairs.simulate import CHANGE_LEVELS, DONOR_EDITS, FAMILY_EDITS, EditNotApplicable, simulate_edit  # noqa: E402
from fifa_data.pairs.sources import EDIT_MASK_COLUMN, make_pair_id, open_source  # noqa: E402
from fifa_data.tasks import RowError  # noqa: E402

from fetch_photos import default_cache, read_index  # noqa: E402

DEFAULT_SIZES = (256, 512, 1024, 2048)
JPEG_QUALITY = (75, 95)
PNG_SHARE = 0.2

ALL_MANIPULATIONS = (*MANIPULATIONS, *FAMILY_EDITS)
assert set(ALL_MANIPULATIONS) <= set(TRUE_FACTS)
TARGETS = "accepted >= 98 %; mIoU >= 0.75 overall and >= 0.6 per type; concept P >= 0.9, R >= 0.85; " \
          "fact P >= 0.97 with geo! = 0; background/body named only where edited"
FAMILY_TARGETS = "every family kept >= 98 %, mIoU >= 0.75 (part swap included), concept P >= 0.9, R >= 0.85; fact P >= 0.97 " \
                 "with family facts counted; family stated >= 95 %, attr! = 0; guess >= 85 % (--unnamed); agree! = factless = 0; " \
                 "occl! = 0; attribute edits: kept 100 %, loc 98.5 %, mIoU 0.761, concept P/R 0.952/0.875, fact P 0.988 must not fall"
OCCLUDED_RING = 0.03  # the ring around a named ear whose hair share says hair hides it, in face heights


@dataclass(frozen=True)
class Job:
    """One real photo at one size, and every manipulation of it."""

    index: int  # the photo's position in the run (seeds its edits)
    photo: dict  # its entry of the cache's index.json
    path: str
    size: int  # long side, px
    seed: int
    resave: int | None = None  # quality of a second JPEG save of every JPEG fake (an upload's re-encode)
    manipulations: tuple[str, ...] = MANIPULATIONS
    donors: tuple[str, ...] = ()  # cached photos of other identities for the donor edits, in the order to try
    unnamed: bool = False  # write the manifest without the manipulation column


def kind_of(photo: dict) -> str:
    """``crop``, ``group`` (several faces) or ``single``; ``+grey`` for greyscale photos."""
    kind = "crop" if photo.get("crop_of") else "group" if photo["num_faces"] > 1 else "single"
    return kind + ("+grey" if photo["grayscale"] else "")


def plan(photos: list[dict], cache: Path, sizes: tuple[int, ...], every_size: bool, seed: int, resave: int | None = None,
         manipulations: tuple[str, ...] = MANIPULATIONS, everyone: list[dict] | None = None, unnamed: bool = False) -> list[Job]:
    """The jobs: each photo at the next size in turn, or at every size; largest first. The donors of a
    photo come from ``everyone`` (the whole cache), see `donors_for`."""
    jobs = []
    for i, photo in enumerate(photos):
        chosen = sizes if every_size else (sizes[i % len(sizes)],)
        donors = tuple(str(cache / d["file"]) for d in donors_for(photo, everyone or photos, seed)) if set(manipulations) & set(DONOR_EDITS) else ()
        jobs += [Job(i, photo, str(cache / photo["file"]), size, seed, resave, manipulations, donors, unnamed) for size in chosen]
    return sorted(jobs, key=lambda j: -j.size)


def identity_of(photo: dict) -> str:
    """The photo a cached photo was cut from (its group photo), or itself: crops of one photo may show its people again."""
    return photo.get("crop_of") or photo["file"]


def donors_for(photo: dict, photos: list[dict], seed: int) -> list[dict]:
    """The single-face photos of another identity than ``photo`` (not it, not a crop of it or of its group
    photo), in an order drawn from the seed and the photo's name: the first whose face is found is the donor."""
    others = sorted((p for p in photos if p["num_faces"] == 1 and identity_of(p) != identity_of(photo)), key=lambda p: p["file"])
    rng = np.random.default_rng([seed, int.from_bytes(photo["file"].encode()[-8:].rjust(8, b"\0"), "little")])
    return [others[i] for i in rng.permutation(len(others))]


def spread(photos: list[dict], n: int | None) -> list[dict]:
    """The first `n` photos taken round-robin over the packages, so a small run still mixes them."""
    by_package: dict[str, list[dict]] = defaultdict(list)
    for photo in photos:
        by_package[photo["package"]].append(photo)
    queues, out = list(by_package.values()), []
    while any(queues):
        for queue in queues:
            if queue:
                out.append(queue.pop(0))
    return out[:n] if n else out


# --- one real photo: simulate, write, build, score ------------------------------------------


def resized(image: np.ndarray, side: int) -> np.ndarray:
    """`image` with its long side scaled to `side` (Lanczos)."""
    h, w = image.shape[:2]
    scale = side / max(h, w)
    if scale == 1:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))


def encode_fake(fake: np.ndarray, grey: bool, rng: np.random.Generator, resave: int | None = None) -> tuple[bytes, str, str]:
    """The fake's file bytes, suffix and encoding label: JPEG of a drawn quality (saved again at
    quality `resave` when given), or PNG."""
    image = Image.fromarray(fake).convert("L") if grey else Image.fromarray(fake)
    if rng.random() < PNG_SHARE:
        return encode_image(image, compress_level=1), ".png", "png"
    quality = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
    data = encode_image(image, "JPEG", quality=quality)
    if resave is None:
        return data, ".jpg", f"jpeg{quality}"
    return encode_image(Image.open(io.BytesIO(data)), "JPEG", quality=resave), ".jpg", f"jpeg{quality}>{resave}"


def write_source(job: Job, root: Path) -> tuple[dict[str, dict], list[dict]]:
    """Write the real photo, its fakes and ``pairs.csv`` under `root`.

    Returns the truth of each written pair by pair id (with the concept masks of the face the
    simulator edited), and the records of what could not be simulated (no face at this size, edit
    not applicable).
    """
    grey = bool(job.photo["grayscale"])
    real = resized(load_rgb(job.path), job.size)
    stem = Path(job.path).stem
    real_path = f"real/{stem}.png"
    (root / "real").mkdir(parents=True)
    (root / "fake").mkdir()
    (root / real_path).write_bytes(encode_image(Image.fromarray(real).convert("L") if grey else real, compress_level=1))
    real = load_rgb(root / real_path)  # what the build will decode
    base = {"photo": job.photo["file"], "kind": kind_of(job.photo), "size": job.size,
            "height": real.shape[0], "width": real.shape[1]}
    try:
        face = analyze_face(real)
    except NoFaceError as exc:
        return {}, [{**base, "manipulation": None, "skipped": f"no face for the simulator: {exc}"}]
    by_subject: dict[int, ConceptMasks] = {}
    truths, skipped, rows = {}, [], []
    donor = None
    for m, manipulation in enumerate(ALL_MANIPULATIONS):
        if manipulation not in job.manipulations:
            continue  # the index of a manipulation seeds its edit, whichever others run
        rng = np.random.default_rng([job.seed, job.index, job.size, m])
        subject = (job.index + m) % face.num_faces  # in a group photo, the edits go to every face in turn
        if subject not in by_subject:
            by_subject[subject] = concept_masks(real, face.with_subject(subject))
        concepts = by_subject[subject]
        if manipulation in DONOR_EDITS and donor is None:
            donor = load_donor(job)
        if manipulation in DONOR_EDITS and donor[0] is None:
            skipped.append({**base, "manipulation": manipulation, "skipped": "no donor photo with a face"})
            continue
        try:
            extra = {"donor": donor[0], "donor_face": donor[1]} if manipulation in DONOR_EDITS else {}
            edit = simulate_edit(real, manipulation, rng, face=face.with_subject(subject), concepts=concepts, **extra)
        except EditNotApplicable as exc:
            skipped.append({**base, "manipulation": manipulation, "skipped": str(exc)})
            continue
        data, suffix, encoding = encode_fake(edit.fake, grey, rng, job.resave)
        fake_path = f"fake/{stem}_{m:02d}{suffix}" if job.unnamed else f"fake/{stem}_{manipulation}_{m:02d}{suffix}"
        (root / fake_path).write_bytes(data)
        edit_mask = masklib.encode(edit.mask)
        if manipulation in DONOR_EDITS:
            edit.params["donor"] = donor[2]
        params = json.dumps({**edit.params, "encoding": encoding}, sort_keys=True)
        rows.append({"real": real_path, "fake": fake_path, "manipulation": manipulation, "source_id": stem,
                     "split": "test", "params": params,
                     EDIT_MASK_COLUMN: json.dumps(edit_mask)})
        visible = edit.mask & (np.abs(edit.fake.astype(np.int16) - real).max(axis=2) > CHANGE_LEVELS)
        truths[make_pair_id(real_path, fake_path)] = {**base, "manipulation": manipulation, "encoding": encoding,
                                                      "subject": subject, "params": json.loads(params), "truth": edit.mask, "concepts": concepts,
                                                      "visible": visible, "real": real}
    schema = dict.fromkeys(("real", "fake", "manipulation", "source_id", "split", "params", EDIT_MASK_COLUMN), pl.String)
    manifest = pl.DataFrame(rows, schema=schema)
    (manifest.drop("manipulation") if job.unnamed else manifest).write_csv(root / "pairs.csv")
    return truths, skipped


def load_donor(job: Job):
    """The donor photo at the job's size, its face and its name: the first of ``job.donors`` with a face
    (``(None, None, None)`` when none has one)."""
    for path in job.donors:
        donor = resized(load_rgb(path), job.size)
        try:
            return donor, analyze_face(donor), Path(path).name
        except NoFaceError:
            continue
    return None, None, None


def sentence_checks(fake: AnnotatedImage, real: np.ndarray) -> dict:
    """The sentence checker's findings on a localised fake's text, and the named ears hair hides."""
    problems = check_explanation(fake.explanation, fake.concept_masks.fict)
    return {"agreement": sum(p.kind == "agreement" for p in problems), "factless": sum(p.kind == "factless" for p in problems),
            "occluded_named": occluded_named(fake, real)}


def occluded_named(fake: AnnotatedImage, real: np.ndarray) -> list[str]:
    """The ears the text names (or grounds) that hair hides: hair fills more than half of a ring of
    `OCCLUDED_RING` face heights around the ear's own pixels, and in the real photo the ear's mean
    colour is nearer the hair's than the cheeks' (CIE L*a*b*): what the parser called ear is hair."""
    import cv2

    from fifa_data.core.fict import finder_for

    own = fake.concept_masks
    named = dict.fromkeys([*fake.explanation.concepts, *finder_for(own.fict).find(fake.explanation.plain())])
    hair, cheeks = own.mask("hair"), own.mask("cheek")
    if not hair.any() or not cheeks.any():
        return []  # nothing to compare the ear with
    height, width = own.labels.shape
    lab = cv2.cvtColor(cv2.resize(real, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
    reach = max(1, round(OCCLUDED_RING * (own.face_box[3] - own.face_box[1])))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    out = []
    for concept_id in named:
        if concept_id.split(".")[0] != "ear":
            continue
        ear = own.mask(concept_id)
        ring = cv2.dilate(ear.astype(np.uint8), kernel).astype(bool) & ~ear
        if not ear.any():
            continue
        colour = lab[ear].mean(axis=0)
        nearer_hair = np.linalg.norm(colour - lab[hair].mean(axis=0)) < np.linalg.norm(colour - lab[cheeks].mean(axis=0))
        if nearer_hair and np.count_nonzero(ring & hair) > 0.5 * np.count_nonzero(ring):
            out.append(concept_id)
    return out


@dataclass(frozen=True)
class Crash:
    """A pair on which the annotator raised: a build stops there; the bench records it and goes on."""

    reason: str
    detail: str


def build(root: Path, config: AnnotatorConfig) -> Iterator[tuple[str, AnnotatedImage | Reject | Crash, int, str | None]]:
    """What a build does with the source at `root` (`annotate_source`): (pair id, annotated fake or reject, rows, row error).

    The annotator runs with ``batch_size=1`` (the template writer's text does not depend on the
    batch), so pairs come out in order and, when it raises, the pair it was working on is the
    first not yet out: it is reported as a `Crash` (a `RowError` as its row error) and the
    annotator is started again on the pairs after it.
    """
    refs, source_rejects = open_source(root).scan()
    for reject in source_rejects:
        yield reject.pair_id, reject, 0, None
    settings = AnnotateSettings(annotator=config)
    done: set[str] = set()
    while pending := [ref for ref in refs if ref.pair_id not in done]:
        try:
            for out in annotate_source(pending, settings, batch_size=1):
                item = out.item
                if isinstance(item, Reject) or item.label == "fake":
                    done.add(item.pair_id)
                    yield item.pair_id, item, sum(len(r) for r in out.rows.values()), None
            return
        except Exception as exc:  # noqa: BLE001  (any failure of the annotator on one pair is a finding)
            pair_id = next((ref.pair_id for ref in pending if ref.pair_id not in done), None)
            if pair_id is None:
                return
            done.add(pair_id)
            error = f"{type(exc).__name__}: {exc}"
            yield pair_id, (None if isinstance(exc, RowError) else Crash("annotator_crash", error)), 0, error if isinstance(exc, RowError) else None


def score(truth: dict, result: AnnotatedImage | Reject | Crash | None, config: AnnotatorConfig) -> dict:
    """One valid pair's record (`reliability.score_pair`, as a build scores it), with the bench's extras.

    The truth concepts are read off the edited face's concept masks, so choosing the wrong face in
    a group photo costs recall.
    """
    mask, concepts, visible, real = truth.pop("truth"), truth.pop("concepts"), truth.pop("visible"), truth.pop("real")
    fake = result if isinstance(result, AnnotatedImage) else None
    record = {**truth, **score_pair(fake, mask, truth["manipulation"], concepts, config.decision, config.evidence)}
    record["visible_share"] = float(visible.sum() / max(mask.sum(), 1))
    record["iou_visible"] = masklib.iou(fake.decisions.artifact, visible) if fake is not None and fake.unlocalised is None else 0.0
    record.update(sentence_checks(fake, real) if fake is not None and fake.unlocalised is None else {"agreement": 0, "factless": 0, "occluded_named": []})
    if fake is not None:
        record["chosen_subject"] = fake.concept_masks.subject
        record["family_evidence"] = fake.family_evidence.to_dict() if fake.family_evidence is not None else None
        record["accepted"], record["reason"], record["detail"] = fake.unlocalised is None, None, None
        if fake.unlocalised is not None:
            record["reason"] = f"image_level:{fake.unlocalised.reason}"
            record["detail"] = fake.unlocalised.detail
        return record
    record["accepted"] = False
    record["reason"] = result.reason if result is not None else "lost"
    record["detail"] = result.detail if result is not None else "the build returned nothing for this pair"
    return record


def run_job(job: Job) -> list[dict]:
    """Simulate, write, build and score one real photo at one size; the records of its pairs."""
    import cv2

    cv2.setNumThreads(1)
    config = AnnotatorConfig()
    with tempfile.TemporaryDirectory(prefix="fifa-faith-") as tmp:
        root = Path(tmp)
        truths, records = write_source(job, root)
        if not truths:
            return records
        results: dict[str, tuple] = {}
        for pair_id, item, rows, error in build(root, config):
            results[pair_id] = (item, rows, error)
        for pair_id, truth in truths.items():
            item, rows, error = results.get(pair_id, (None, 0, None))
            records.append({**score(truth, item, config), "rows": rows, "row_error": error})
    return records


# --- aggregation and tables ------------------------------------------------------------------


def metrics(records: list[dict]) -> dict:
    """The bench's figures over some valid pairs (records with a ``skipped`` key are not pairs)."""
    pairs = [r for r in records if "skipped" not in r]
    totals = Reliability()
    for r in pairs:
        totals.add(r)
    figures = totals.figures()
    return {
        **figures,
        "accepted": figures["localised"],
        "miou_visible": float(np.mean([r["iou_visible"] for r in pairs])) if pairs else None,
        "visible_share": float(np.mean([r["visible_share"] for r in pairs])) if pairs else None,
        "kept": sum(r["accepted"] or str(r["reason"]).startswith("image_level") for r in pairs) / len(pairs) if pairs else None,
        "facts": totals.facts,
        "facts_unknown": totals.facts_unknown,
        "named": totals.named,
        "rejects": dict(Counter(r["reason"] for r in pairs if not r["accepted"]).most_common()),
        "row_errors": sum(r.get("row_error") is not None for r in pairs),
        "wrong_face": sum(r.get("chosen_subject", r.get("subject")) != r.get("subject") for r in pairs),
        "agreement": sum(r.get("agreement", 0) for r in pairs),
        "factless": sum(r.get("factless", 0) for r in pairs),
        "occluded_named": sum(len(r.get("occluded_named", ())) for r in pairs),
        "not_applicable": sum(1 for r in records if "skipped" in r),
    }


def _cell(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.1f}" if percent else f"{value:.3f}"


HEADER = f"{'':<16}{'pairs':>6}{'kept %':>7}{'loc %':>7}{'mIoU':>7}{'vis':>6}{'mIoU v':>7}{'con P':>7}{'con R':>7}{'facts':>7}{'fact P':>8}" \
         f"{'geo!':>6}{'named':>7}{'outside %':>10}{'bg/body':>9}{'stated':>8}{'wrong':>7}{'attr!':>6}{'guess':>7}" \
         f"{'agree!':>7}{'factless':>9}{'occl!':>6}"


def row(label: str, m: dict) -> str:
    loose = f"{m['background_body_named']}/{m['background_body_outside']}"
    return (
        f"{label:<16}{m['pairs']:>6}{_cell(m['kept'], True):>7}{_cell(m['accepted'], True):>7}"
        f"{_cell(m['miou']):>7}{_cell(m['visible_share']):>6}{_cell(m['miou_visible']):>7}"
        f"{_cell(m['concept_precision']):>7}{_cell(m['concept_recall']):>7}{m['facts']:>7}"
        f"{_cell(m['fact_precision']):>8}{m['geometry_on_paint']:>6}{m['named']:>7}"
        f"{_cell(m['named_outside'], True):>10}{loose:>9}{_cell(m['family_stated'], True):>8}{_cell(m['wrong_family'], True):>7}"
        f"{m['attribute_on_other']:>6}{_cell(m['family_guessed'], True):>7}{m['agreement']:>7}{m['factless']:>9}{m['occluded_named']:>6}"
    )


def reasons(m: dict) -> str:
    counted = ", ".join(f"{k} {v}" for k, v in m["rejects"].items()) or "none"
    return (f"  rejected: {counted}; not applicable: {m['not_applicable']}; row errors: {m['row_errors']}; "
            f"facts about a type whose truth is not known (not in fact P): {m['facts_unknown']}; "
            f"another face than the edited one annotated: {m['wrong_face']}")


def table(title: str, groups: list[tuple[str, list[dict]]], total: list[dict]) -> dict:
    """Print one table (a row per group, then all) and return its figures."""
    print(f"\n{title}\n{HEADER}")
    out = {}
    for label, records in groups:
        if records:
            out[label] = metrics(records)
            print(row(label, out[label]))
    out["all"] = metrics(total)
    print(row("all", out["all"]))
    print(reasons(out["all"]))
    return out


def by(records: list[dict], key) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        groups[str(key(r))].append(r)
    return groups


def encoding_band(r: dict) -> str:
    encoding = r.get("encoding") or ""
    if encoding.startswith("jpeg"):
        first, _, again = encoding[4:].partition(">")
        return ("jpeg 75-84" if int(first) < 85 else "jpeg 85-95") + (f", saved again at {again}" if again else "")
    return encoding or "-"


def report(records: list[dict], sizes: tuple[int, ...], manipulations: tuple[str, ...] = MANIPULATIONS) -> dict:
    """Print the per-type tables, the per-family tables and the overall table; return every figure."""
    summary: dict = {"by_type": {}, "by_family": {}}
    types = by(records, lambda r: r["manipulation"])
    size_label = lambda r: f"{r['size']} px"  # noqa: E731
    for manipulation in manipulations:
        rows = types.get(manipulation, [])
        sized = by(rows, size_label)
        summary["by_type"][manipulation] = table(
            f"== {manipulation} ==", [(f"{s} px", sized.get(f"{s} px", [])) for s in sizes], rows)
    families = by(records, lambda r: family_of(r["manipulation"]))
    chosen = [f for f in FAMILIES if f in families]
    for family in chosen:
        members = [m for m in manipulations if family_of(m) == family]
        summary["by_family"][family] = table(f"== family {family} ==", [(m, types.get(m, [])) for m in members], families[family])
    pairs = [r for r in records if r["manipulation"] is not None]
    groups = [(f"family {f}", families[f]) for f in chosen] + [(m, types.get(m, [])) for m in manipulations]
    made = [r for r in pairs if "skipped" not in r]  # an edit that could not be made has no encoding
    sized, encoded, kinds = by(pairs, size_label), by(made, encoding_band), by(pairs, lambda r: r["kind"])
    groups += [(f"{s} px", sized.get(f"{s} px", [])) for s in sizes]
    groups += [(k, encoded[k]) for k in sorted(encoded)] + [(k, kinds[k]) for k in sorted(kinds)]
    summary["overall"] = table("== overall (rows: type, size, fake encoding, kind of photo) ==", groups, records)
    per_type = [summary["by_type"][m]["all"]["miou"] for m in manipulations if summary["by_type"][m]["all"]["pairs"]]
    print(f"\nmean of the per-type mIoU: {np.mean(per_type):.3f}; lowest: {min(per_type):.3f}")
    print(f"targets (issue 16): {TARGETS}")
    print(f"targets (issue 32): {FAMILY_TARGETS}")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=None, help="use the first N cached photos (default: all)")
    parser.add_argument("--half", choices=("all", "tune", "hold"), default="all",
                        help="every photo, or the tuning half (even positions in package round-robin order) or the held-out half")
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="long sides in px, comma-separated")
    parser.add_argument("--every-size", action="store_true", help="run every photo at every size (the full setting)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resave", type=int, default=None, metavar="Q",
                        help="save every JPEG fake a second time at quality Q, as an upload does (default: saved once)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="processes (default 2)")
    parser.add_argument("--cache", type=Path, default=default_cache(), help="the photo cache of fetch_photos.py")
    parser.add_argument("--out", type=Path, default=None, help="write the figures and every pair's scores as JSON")
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--manipulations", nargs="+", choices=ALL_MANIPULATIONS, default=None,
                        help="the manipulation types to simulate (default: every attribute and family edit)")
    chosen.add_argument("--families", nargs="+", choices=[f for f in FAMILIES if f not in ("synthesis", "unknown")], default=None,
                        help="the forgery families to simulate, every type of each")
    parser.add_argument("--unnamed", action="store_true", help="write the manifest without the manipulation column (measures the family guess)")
    args = parser.parse_args()
    manipulations = tuple(args.manipulations or (m for m in ALL_MANIPULATIONS if args.families is None or family_of(m) in args.families))
    sizes = tuple(int(s) for s in args.sizes.split(","))
    everyone = read_index(args.cache)
    photos = spread(everyone, None)
    if args.half != "all":  # the photos in spread order alternate between a tuning half and a held-out one
        photos = [p for i, p in enumerate(photos) if (i % 2 == 0) == (args.half == "tune")]
    photos = photos[: args.photos] if args.photos else photos
    jobs = plan(photos, args.cache, sizes, args.every_size, args.seed, args.resave, manipulations, everyone, args.unnamed)
    print(f"{len(photos)} photos, {len(jobs)} photo sizes x {len(manipulations)} manipulations"
          f"{' (unnamed)' if args.unnamed else ''}, {args.jobs} processes")
    start = time.perf_counter()
    records: list[dict] = []
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        for done, result in enumerate(pool.imap_unordered(run_job, jobs), start=1):
            records += result
            print(f"\r  {done}/{len(jobs)} photo sizes, {time.perf_counter() - start:.0f} s", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    records.sort(key=lambda r: (r["photo"], r["size"], r["manipulation"] or ""))
    summary = report(records, sizes, manipulations)
    print(f"{time.perf_counter() - start:.0f} s")
    if args.out:
        options = {"photos": len(photos), "half": args.half, "sizes": sizes, "every_size": args.every_size, "seed": args.seed,
                   "resave": args.resave, "manipulations": manipulations, "unnamed": args.unnamed}
        args.out.write_text(json.dumps({"options": options, "summary": summary, "pairs": records}, indent=1))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
