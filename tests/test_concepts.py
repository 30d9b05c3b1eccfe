"""Concept masks on the real bundled photos: the contract (no overlap, unions, coverage,
determinism) and that regions sit where their names say."""

import cv2
import numpy as np
import pytest

from fifa_data.core import masks as masklib
from fifa_data.core.images import load_rgb
from fifa_data.faces import mesh_regions
from fifa_data.faces.concepts import concept_masks
from fifa_data.faces.detect import analyze_face


@pytest.fixture(scope="module", params=["astronaut", "grace_hopper"])
def photo(request):
    image = request.getfixturevalue(request.param)
    return request.param, image, concept_masks(image)


def centre(concepts, concept_id):
    ys, xs = np.nonzero(concepts.mask(concept_id))
    assert len(ys), f"{concept_id} is not visible"
    return xs.mean(), ys.mean()


def test_every_pixel_has_exactly_one_atomic_concept(photo):
    # but a hat (Grace Hopper's cap), which is no concept: label 0
    name, image, concepts = photo
    assert concepts.labels.shape == image.shape[:2] and concepts.labels.dtype == np.uint8
    assert concepts.labels.min() >= (0 if name == "grace_hopper" else 1)
    stacked = sum(concepts.mask(c).astype(np.int32) for c in concepts.fict.atomic_ids)
    assert (stacked == (concepts.labels > 0)).all()


def test_parent_is_the_union_of_its_children(photo):
    _, _, concepts = photo
    for parent in concepts.fict:
        if parent.is_atomic:
            continue
        union = np.zeros(concepts.labels.shape, dtype=bool)
        for child in parent.children:
            union |= concepts.mask(child)
        assert np.array_equal(concepts.mask(parent.id), union), parent.id


def test_face_oval_is_covered_by_face_concepts(photo):
    _, image, concepts = photo
    assert concepts.uncovered_face_share < 0.02
    # Recompute independently from the landmarks.
    points = analyze_face(image).landmarks[:, :2]
    oval = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(oval, [np.round(points[list(mesh_regions.FACE_OVAL)]).astype(np.int32)], 1)
    oval = oval.astype(bool)
    uncovered = (oval & ~concepts.mask("face")).sum() / oval.sum()
    assert uncovered < 0.02


def test_most_concepts_are_visible(photo):
    name, _, concepts = photo
    visible = set(concepts.visible())
    assert len(visible) >= 100
    face_atomic = set(concepts.fict.atomic_descendants("face"))
    missing = face_atomic - visible - {"mouth.teeth.upper", "mouth.teeth.lower", "mouth.cavity"}
    assert not missing


def test_regions_sit_where_their_names_say(photo):
    _, _, concepts = photo
    x = lambda c: centre(concepts, c)[0]  # noqa: E731
    y = lambda c: centre(concepts, c)[1]  # noqa: E731
    # Subject's left is the image's right.
    for pair in ["eye.{}", "eyebrow.{}", "cheek.{}", "nose.ala.{}", "lips.corner.{}", "jaw.{}", "temple.{}"]:
        assert x(pair.format("left")) > x(pair.format("right")), pair
    # Top to bottom.
    order = ["hair.top.crown", "forehead.center", "forehead.glabella", "nose.bridge.root", "nose.tip",
             "perioral.philtrum", "lips.upper", "lips.lower", "perioral.mentolabial", "chin.center", "neck"]
    order = order[1:] if concepts.count("hair.top.crown") == 0 else order  # a hat hides Grace Hopper's crown
    ys = [y(c) for c in order]
    assert ys == sorted(ys), dict(zip(order, ys))
    for side in ("left", "right"):
        assert y(f"eyebrow.{side}") < y(f"eye.{side}.upper_eyelid") < y(f"eye.{side}.iris") < y(f"eye.{side}.lower_eyelid")
        # The pupil is inside the iris's circle: their centres nearly coincide.
        assert np.hypot(x(f"eye.{side}.pupil") - x(f"eye.{side}.iris"), y(f"eye.{side}.pupil") - y(f"eye.{side}.iris")) < 3


def test_smile_shows_teeth(astronaut):
    concepts = concept_masks(astronaut)
    teeth = concepts.mask("mouth.teeth")
    assert teeth.sum() > 100
    gray = astronaut.mean(axis=2)
    assert gray[teeth].mean() > gray[concepts.mask("lips")].mean() + 15
    assert centre(concepts, "mouth.teeth.upper")[1] < centre(concepts, "mouth.teeth.lower")[1]


def test_background_is_not_the_person(astronaut):
    concepts = concept_masks(astronaut)
    person = cv2.resize(analyze_face(astronaut).person, (512, 512)) > 0.5
    background = concepts.mask("background")
    assert (background & person).sum() / background.sum() < 0.02


def test_deterministic(astronaut):
    first = concept_masks(astronaut.copy()).labels
    second = concept_masks(astronaut.copy()).labels
    assert np.array_equal(first, second)


def test_rle_round_trip(astronaut):
    concepts = concept_masks(astronaut)
    rles = concepts.to_rle()
    assert set(rles) == set(concepts.visible())
    for concept_id in ("eye.left.iris", "hair.top.crown", "lips.upper.center"):
        assert rles[concept_id]["size"] == [512, 512]
        assert np.array_equal(masklib.decode(rles[concept_id]), concepts.mask(concept_id))
    assert set(concepts.to_rle(["lips"])) == {"lips"}


def test_mesh_table_is_symmetric():
    points, mirror = mesh_regions.reference()
    triangles = mesh_regions.triangles()
    concepts = mesh_regions.triangle_concepts()
    assert len(triangles) == len(concepts) == 854
    index = {tuple(t): c for t, c in zip(triangles.tolist(), concepts)}
    swap = lambda c: c.replace("left", "@").replace("right", "left").replace("@", "right")  # noqa: E731
    unmatched = 0
    for tri, concept in index.items():
        mirrored = tuple(sorted(mirror[list(tri)].tolist()))
        if mirrored not in index:  # the tessellation is not perfectly symmetric along the midline
            unmatched += 1
            continue
        assert index[mirrored] == swap(concept), (tri, concept, index[mirrored])
    assert unmatched <= 12


def test_masks_align_with_what_datasets_decodes(tmp_path, astronaut):
    """Masks are in the coordinates of the image as ``datasets.Image()`` decodes the stored bytes."""
    from datasets import Image as ImageFeature
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    Image.fromarray(np.ascontiguousarray(np.rot90(astronaut[:, 64:448], k=1))).save(path, exif=exif)
    concepts = concept_masks(load_rgb(path))
    decoded = ImageFeature().decode_example({"path": None, "bytes": path.read_bytes()})
    assert concepts.labels.shape == (decoded.height, decoded.width) == (512, 384)


@pytest.mark.slow
def test_8000_pixel_photo(astronaut):
    import resource

    big = cv2.resize(astronaut, (8000, 8000), interpolation=cv2.INTER_LINEAR)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    concepts = concept_masks(big)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert concepts.labels.shape == (8000, 8000)
    assert concepts.uncovered_face_share < 0.02
    assert grown_mib < 2048, f"peak memory grew by {grown_mib:.0f} MiB"


def test_other_people_are_in_none_of_the_subjects_concepts(astronaut, grace_hopper):
    """Two portraits side by side: each face in turn is the subject, and the other portrait's
    person pixels are background to it, never its hair, neck or body."""
    two = np.concatenate([astronaut, grace_hopper[:512]], axis=1)
    face = analyze_face(two)
    assert face.num_faces == 2
    for subject in range(2):
        chosen = face.with_subject(subject)
        concepts = concept_masks(two, chosen)
        assert concepts.num_faces == 2 and concepts.subject == subject
        assert concepts.face_boxes[subject] == tuple(chosen.box) and len(concepts.face_boxes) == 2
        theirs = slice(512, None) if chosen.box[0] < 512 else slice(0, 512)
        person = ~concepts.mask("background")
        assert person[:, theirs].mean() < 0.01, (subject, person[:, theirs].mean())
        ours = slice(0, 512) if theirs.start else slice(512, None)
        assert person[:, ours].mean() > 0.3  # the subject's own person is still labelled
