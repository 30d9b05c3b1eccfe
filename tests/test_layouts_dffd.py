"""DFFD's FaceApp subset read as it ships: ``<split>/{Real,Fake,Mask}/<name>`` with graded masks,
written from the bundled photos, then detected, scanned and built with ``scripts/build.py --pairs DIR``."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from build_cli import build_pairs
from layout_videos import base, edit, iou

from fifa_data.core.images import encode_image, load_mask_file
from fifa_data.pairs.layouts.detect import detect_layout
from fifa_data.pairs.layouts.dffd import GRADED_LEVEL
from fifa_data.pairs.layouts.frames import LayoutOptions
from fifa_data.pairs.sources import open_source

WRITTEN = {"train/0001": ("astronaut", "lip_color"), "test/0002": ("grace_hopper", "hair_color")}


def graded(mask: np.ndarray) -> np.ndarray:
    """A DFFD-like graded mask: strong inside the change, a faint halo (below `GRADED_LEVEL`) around it."""
    inside = mask.astype(np.float32) * 200
    halo = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 6) * (GRADED_LEVEL - 6)
    return np.maximum(inside, halo).astype(np.uint8)


@pytest.fixture(scope="module")
def dffd(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dffd") / "faceapp"
    for key, (photo, manipulation) in WRITTEN.items():
        split, name = key.split("/")
        e = edit(photo, manipulation)
        for folder, image in (("Real", base(photo)), ("Fake", e.fake), ("Mask", graded(e.mask))):
            (root / split / folder).mkdir(parents=True, exist_ok=True)
            (root / split / folder / f"{name}.png").write_bytes(encode_image(image))
    (root / "validation/Fake").mkdir(parents=True)
    (root / "validation/Fake/0003.png").write_bytes(encode_image(edit("astronaut", "smile").fake))  # no real: a reject
    (root / "validation/Real").mkdir()
    return root


def test_dffd_is_detected_and_graded_masks_are_binarised(dffd, tmp_path):
    assert detect_layout(dffd) == "dffd"
    pairs, rejects = open_source(dffd, LayoutOptions(work=tmp_path)).scan()
    assert [(r.reason, r.fake) for r in rejects] == [("unpaired_fake", "validation/Fake/0003.png")]
    assert sorted(p.source_id for p in pairs) == sorted(WRITTEN)
    for p in pairs:
        photo, manipulation = WRITTEN[p.source_id]
        assert p.extra["split"] == p.source_id.split("/")[0] and p.manipulation == "faceapp"
        assert p.extra["mask_meaning"] == "changed_pixels" and p.mask_path is not None
        assert p.real_file.read_bytes() == (dffd / p.real_path).read_bytes()  # images unchanged
        truth = edit(photo, manipulation).mask
        assert iou(load_mask_file(p.mask_file), truth) >= 0.9
        any_grade = cv2.imread(str(dffd / p.fake_path.replace("/Fake/", "/Mask/")), cv2.IMREAD_GRAYSCALE) > 0
        assert iou(any_grade, truth) < 0.7  # the faint halo that a threshold at 1 would keep is left out


@pytest.mark.slow
def test_build_reads_dffd_end_to_end(dffd, tmp_path):
    from fifa_data.core import masks as masklib

    out = tmp_path / "fifa"
    build_pairs(dffd, out, "--configs", "pairs")

    import datasets

    rows = datasets.load_dataset(str(out), "pairs")
    assert {split: [r["source_id"] for r in rows[split]] for split in rows} == {"train": ["train/0001"], "test": ["test/0002"]}
    for split in rows.values():
        for row in split:
            photo, manipulation = WRITTEN[row["source_id"]]
            assert row["family"] == "attribute" and json.loads(row["mask_params"])["mode"] == "given"
            assert row["mask_meaning"] == "changed_pixels" and row["video"] is None
            assert iou(masklib.decode(row["artifact_mask"]), edit(photo, manipulation).mask) >= 0.9
