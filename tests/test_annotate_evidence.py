"""Evidence directions on the astronaut photo with edits whose effect we know."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fifa_data.annotate import motion
from fifa_data.annotate.artifacts import artifact_mask
from fifa_data.annotate.decide import decide
from fifa_data.annotate.evidence import colour_name, measure_evidence
from fifa_data.annotate.motion import MotionConfig, one_sidedness, pair_motion
from fifa_data.core import masks as masklib
from fifa_data.faces.concepts import concept_masks
from fifa_data.faces.detect import analyze_face
from fifa_data.pairs.simulate import simulate_edit


@pytest.fixture(scope="module")
def face_and_concepts(astronaut):
    face = analyze_face(astronaut)
    return face, concept_masks(astronaut, face)


def evidence_for(real, fake, artifact, face, concepts, concept_id):
    decisions = decide(artifact, concepts)
    assert concept_id in decisions.manipulated
    motion = pair_motion(real, fake, artifact, face.landmarks)  # whether the pair is a warp, as the annotator reads it
    return measure_evidence(real, fake, decisions, face.landmarks, motion=motion)[concept_id]


def kinds(evidence) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for fact in evidence.facts():
        out.setdefault(fact.kind, set()).add(fact.direction)
    return out


def test_lip_recolour_is_a_redder_colour_change_of_the_lips(astronaut, face_and_concepts):
    face, concepts = face_and_concepts
    lips = concepts.mask("lips")
    lab = cv2.cvtColor(astronaut.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    lab[lips, 1] += 18  # a*: towards red
    fake = (np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0, 1) * 255).round().astype(np.uint8)
    evidence = evidence_for(astronaut, fake, lips, face, concepts, "lips")
    assert evidence.delta_a > 10 and abs(evidence.delta_lightness) < 3
    assert evidence.share == pytest.approx(1.0)
    found = kinds(evidence)
    assert "redder" in found["colour"]
    assert "geometry" not in found and "texture" not in found


def test_smoothing_is_a_loss_of_texture(astronaut, face_and_concepts):
    face, concepts = face_and_concepts
    region = concepts.mask("cheek") | concepts.mask("forehead")
    fake = astronaut.copy()
    fake[region] = cv2.GaussianBlur(astronaut, (0, 0), 2.5)[region]
    evidence = evidence_for(astronaut, fake, region, face, concepts, "cheek")
    assert evidence.texture < -1
    found = kinds(evidence)
    assert found["texture"] == {"smoother"}
    assert "colour" not in found


def test_eye_bulge_is_an_enlargement(astronaut, face_and_concepts):
    face, concepts = face_and_concepts
    points = face.landmarks[:, :2]
    centre = points[473]  # the subject's left iris
    radius = 0.6 * np.linalg.norm(points[468] - points[473])
    h, w = astronaut.shape[:2]
    ys, xs = np.mgrid[:h, :w].astype(np.float32)
    dx, dy = xs - centre[0], ys - centre[1]
    r = np.sqrt(dx**2 + dy**2) / radius
    pull = np.where(r < 1, 1 - 0.25 * (1 - r**2) ** 2, 1.0).astype(np.float32)  # sample nearer the centre: magnify
    fake = cv2.remap(astronaut, centre[0] + dx * pull, centre[1] + dy * pull, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    artifact = (r < 1) & (np.abs(fake.astype(int) - astronaut).max(axis=2) > 2)
    evidence = evidence_for(astronaut, fake, artifact, face, concepts, "eye.left")
    assert evidence.scale is not None and evidence.scale > 0.03
    assert "enlarged" in kinds(evidence)["geometry"]


def test_untouched_pixels_give_no_facts(astronaut, face_and_concepts):
    face, concepts = face_and_concepts
    artifact = concepts.mask("nose")
    evidence = evidence_for(astronaut, astronaut.copy(), artifact, face, concepts, "nose")
    assert evidence.delta_e == 0 and evidence.facts() == []


@pytest.mark.parametrize(
    ("rgb", "name"),
    [((172, 24, 40), "red"), ((0, 0, 255), "blue"), ((128, 0, 128), "purple"), ((230, 200, 130), "blonde"), ((150, 150, 150), "grey"), ((20, 20, 20), "black")],
)
def test_colour_names(rgb, name):
    lab = cv2.cvtColor(np.array([[rgb]], np.float32) / 255, cv2.COLOR_RGB2Lab)[0, 0]
    assert colour_name(*map(float, lab)) == name


def test_a_thin_edit_band_is_measured(astronaut, face_and_concepts):
    """A brow-only edit gives a flow window a few pixels high (OpenCV's DIS used to crash on it)."""
    face, concepts = face_and_concepts
    brow = concepts.mask("eyebrow.left")
    fake = astronaut.copy()
    fake[brow] = (fake[brow] * 0.6).astype(np.uint8)
    evidence = evidence_for(astronaut, fake, brow, face, concepts, "eyebrow.left")
    assert "darker" in kinds(evidence)["lightness"]


def test_evidence_does_not_depend_on_earlier_calls(astronaut, face_and_concepts):
    """The optical flow keeps no state between pairs: a build gives the same numbers in any process."""
    face, concepts = face_and_concepts
    cheek = concepts.mask("cheek")
    ys, xs = np.mgrid[: astronaut.shape[0], : astronaut.shape[1]].astype(np.float32)
    fake = cv2.remap(astronaut, xs + np.float32(1.5) * cheek.astype(np.float32), ys, cv2.INTER_LINEAR)  # warp the cheeks sideways
    artifact = np.abs(fake.astype(int) - astronaut).max(axis=2) > 2
    decisions = decide(artifact, concepts)
    first = measure_evidence(astronaut, fake, decisions, face.landmarks)
    other = cv2.GaussianBlur(astronaut, (0, 0), 3)
    measure_evidence(astronaut, other, decide(np.abs(other.astype(int) - astronaut).max(axis=2) > 4, concepts), face.landmarks)
    again = measure_evidence(astronaut, fake, decisions, face.landmarks)
    assert {c: e.to_dict() for c, e in first.items()} == {c: e.to_dict() for c, e in again.items()}


def test_the_subsample_keeps_every_concept_the_artifact_touches():
    from fifa_data.annotate.evidence import subsample

    labels = np.zeros((200, 200), dtype=np.int32)
    labels[57, 3] = 7  # one pixel of a concept that a stride of 10 jumps over
    labels[100:, :] = 2
    ys, xs = np.nonzero(np.ones_like(labels, dtype=bool))
    sy, sx = subsample(ys, xs, labels, 4000)
    assert set(np.unique(labels[sy, sx])) == {0, 2, 7}
    assert len(sy) <= 4000 + 3
    every = subsample(ys[:100], xs[:100], labels, 4000)
    assert len(every[0]) == 100  # small artifacts are measured whole


@pytest.mark.parametrize("manipulation", ["lip_color", "eyebrow", "hair_color", "glasses"])
def test_a_colour_edit_states_no_geometry(astronaut, face_and_concepts, manipulation):
    """A repaint moves nothing: the flow it fools is not a warp (it explains none of the change)."""
    face, concepts = face_and_concepts
    edit = simulate_edit(astronaut, manipulation, np.random.default_rng(1), face=face, concepts=concepts)
    fake = _jpeg(edit.fake, 85)
    artifact = artifact_mask(astronaut, fake).mask
    motion = pair_motion(astronaut, fake, artifact, face.landmarks)
    assert not motion.warped and motion.moved is None, motion.to_dict()
    evidence = measure_evidence(astronaut, fake, decide(artifact, concepts), face.landmarks, motion=motion)
    assert evidence, manipulation
    stated = [(c, f.direction) for c, e in evidence.items() for f in e.facts() if f.kind == "geometry"]
    assert stated == [], stated


def test_a_warp_is_stated_as_geometry_and_not_as_colour(astronaut, face_and_concepts):
    face, concepts = face_and_concepts
    edit = simulate_edit(astronaut, "face_slim", np.random.default_rng(1), face=face, concepts=concepts)
    fake = _jpeg(edit.fake, 90)
    artifact = artifact_mask(astronaut, fake).mask
    motion = pair_motion(astronaut, fake, artifact, face.landmarks)
    assert motion.warped and motion.coherence >= MotionConfig().coherence  # a smooth flow that explains the change
    assert motion.one_sided < MotionConfig().one_sided  # content moved about, not darkened or lightened
    # the flat skin the warp moved shows little difference: the flow finds it
    assert masklib.iou(artifact | motion.moved, edit.mask) > masklib.iou(artifact, edit.mask) + 0.1
    evidence = measure_evidence(astronaut, fake, decide(artifact | motion.moved, concepts), face.landmarks, motion=motion)
    facts = [f for e in evidence.values() for f in e.facts()]
    assert any(f.kind == "geometry" for f in facts)
    assert all(f.kind == "geometry" for f in facts)  # resampling's colour, texture and seam readings are not stated
    assert not any(f.direction in ("enlarged", "pushed outward") for f in facts)


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1])


def test_a_shift_is_not_one_sided_and_a_darkening_is(astronaut):
    grey = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    where = np.zeros(grey.shape, bool)
    where[150:250, 150:300] = True
    shifted = np.roll(grey, 3, axis=1)
    darker = np.where(where, grey * 0.7, grey).astype(np.uint8)
    assert one_sidedness(grey, shifted, where) < 0.3
    assert one_sidedness(grey, darker, where) > 0.95


def test_a_small_face_is_enlarged_for_the_flow(astronaut, monkeypatch):
    """A 256 px astronaut (22 px between the eyes): read at its own pixels, the flow misses a smile
    and most of a face slimming's moved skin; enlarged towards `MotionConfig.unit_px`, it finds both."""
    small = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    face = analyze_face(small)
    concepts = concept_masks(small, face)
    readings, enlarged = {}, motion.MAX_UPSCALE
    for upscale in (1.0, enlarged):
        monkeypatch.setattr(motion, "MAX_UPSCALE", upscale)
        for manipulation in ("smile", "face_slim"):
            edit = simulate_edit(small, manipulation, np.random.default_rng(1), face=face, concepts=concepts)
            fake = _jpeg(edit.fake, 90)
            artifact = artifact_mask(small, fake).mask
            read = pair_motion(small, fake, artifact, face.landmarks)
            found = artifact | read.moved if read.warped else artifact
            readings[upscale, manipulation] = (read.warped, masklib.iou(found, edit.mask))
    assert not readings[1.0, "smile"][0] and readings[enlarged, "smile"][0]
    assert readings[enlarged, "face_slim"][1] > readings[1.0, "face_slim"][1] + 0.15
