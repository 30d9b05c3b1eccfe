"""A box or render mask (FF++'s Deepfakes, Face2Face) bounds the artifact mask the build computes:
a second change outside it (here the hair, recoloured in the same fake) is not marked, the edit
inside it is, and the ``pairs`` config keeps both masks."""

import json
from pathlib import Path

import numpy as np
import pytest
from build_cli import build_pairs
from layout_videos import base, box_of, clip, edit, iou, moved, write_video

from fifa_data.annotate.given_region import REGION_MARGIN_FACES
from fifa_data.core import masks as masklib
from fifa_data.pairs.layouts.video import sample_indices

FRAMES = 4
MARGIN = 12  # pixels: the hair's change starts this far beyond the swap's box (more than the region's dilation)


def two_edits() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The astronaut's face swapped and, well outside the swap's box, its hair recoloured: (fake, swap mask, hair mask)."""
    swap, hair = edit("astronaut", "face_swap", "grace_hopper"), edit("astronaut", "hair_color")
    ys, xs = np.nonzero(swap.mask)
    outside = hair.mask.copy()
    outside[ys.min() - MARGIN : ys.max() + MARGIN, xs.min() - MARGIN : xs.max() + MARGIN] = False
    fake = swap.fake.copy()
    fake[outside] = hair.fake[outside]
    return fake, swap.mask, outside


def write_tree(root: Path) -> Path:
    fake, lips, _ = two_edits()
    write_video(root / "original_sequences/youtube/c23/videos/000.mp4", clip(base("astronaut"), FRAMES))
    render = (lips * 96).astype(np.uint8)  # a shaded render: grey, above the mask videos' binarising level
    for method, mask in (("Deepfakes", box_of(lips)), ("Face2Face", render)):
        write_video(root / f"manipulated_sequences/{method}/c23/videos/000_003.mp4", clip(fake, FRAMES))
        write_video(root / f"manipulated_sequences/{method}/masks/videos/000_003.mp4", clip(mask, FRAMES))
    return root


@pytest.mark.slow
def test_box_and_render_masks_bound_the_computed_artifact_mask(tmp_path):
    source, out = write_tree(tmp_path / "ffpp"), tmp_path / "fifa"
    build_pairs(source, out, "--frames-per-video", "1", "--configs", "pairs")

    import datasets

    rows = [row for split in datasets.load_dataset(str(out), "pairs").values() for row in split]
    assert sorted(row["manipulation"] for row in rows) == ["Deepfakes", "Face2Face"]
    (k,) = sample_indices(FRAMES, 1)
    _, lips, hair = two_edits()
    lips, hair = moved(lips.astype(np.uint8), k).astype(bool), moved(hair.astype(np.uint8), k).astype(bool)
    for row in rows:
        meaning = {"Deepfakes": "box", "Face2Face": "render"}[row["manipulation"]]
        assert row["mask_meaning"] == meaning
        given, artifact = masklib.decode(row["given_mask"]), masklib.decode(row["artifact_mask"])
        assert (given & lips).sum() >= 0.9 * lips.sum()  # the given mask is recorded beside the computed one
        params = json.loads(row["mask_params"])
        assert params["mode"] != "given" and params["given_region"] == {"meaning": meaning, "margin_faces": REGION_MARGIN_FACES}
        assert iou(artifact, lips) >= 0.7, row["manipulation"]
        assert (artifact & hair).sum() <= 0.02 * hair.sum(), "the hair's change lies outside the given region"
