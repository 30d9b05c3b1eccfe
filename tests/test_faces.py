"""Face analysis on the real bundled photos: landmarks, several faces, small faces, bad inputs."""

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from fifa_data.core.images import load_rgb
from fifa_data.faces.detect import NoFaceError, analyze_face


def test_astronaut_mesh(astronaut):
    face = analyze_face(astronaut)
    assert face.landmarks.shape == (478, 3) and face.landmarks.dtype == np.float32
    assert face.num_faces == 1 and face.score > 0.5 and face.image_size == (512, 512)
    x0, y0, x1, y1 = face.box
    inside = (face.landmarks[:, 0] > x0 - 20) & (face.landmarks[:, 0] < x1 + 20)
    assert inside.all()
    # The subject's left eye (mesh index 263) appears on the image's right.
    assert face.landmarks[263, 0] > face.landmarks[33, 0]
    # Iris centres lie between the corners of their eyes.
    assert face.landmarks[33, 0] < face.landmarks[468, 0] < face.landmarks[133, 0]
    assert face.person.shape == (256, 256) and 0 <= face.person.min() and face.person.max() <= 1
    # The person map covers the face and not the sky above the shuttle on the right.
    assert face.person[60, 110] > 0.5 and face.person[20, 240] < 0.5


def test_grace_hopper(grace_hopper):
    face = analyze_face(grace_hopper)
    assert face.num_faces == 1 and face.image_size == (600, 512)


def test_several_faces_keeps_the_largest(astronaut):
    small = cv2.resize(astronaut[:, ::-1], (320, 320), interpolation=cv2.INTER_AREA)
    left = np.zeros_like(astronaut)
    left[96:416, 96:416] = small
    face = analyze_face(np.concatenate([left, astronaut], axis=1))
    assert face.num_faces == 2
    assert face.box[0] > 512  # the big face is in the right half


@pytest.mark.slow
def test_small_face_in_a_big_photo(astronaut):
    canvas = np.full((4000, 4000, 3), 180, dtype=np.uint8)
    canvas[2900:3412, 3000:3512] = astronaut
    face = analyze_face(canvas)
    x0, y0, x1, y1 = face.box
    assert 3000 < x0 < x1 < 3512 and 2900 < y0 < y1 < 3412
    reference = analyze_face(astronaut).landmarks[:, :2] + [3000, 2900]
    assert np.abs(face.landmarks[:, :2] - reference).max() < 6


def test_no_face_is_a_clear_error():
    from skimage import data

    with pytest.raises(NoFaceError, match=r"no face found in the 400x300 image"):
        analyze_face(np.ascontiguousarray(data.coffee()[:300, :400]))
    with pytest.raises(NoFaceError, match="too small to hold a face"):
        analyze_face(np.zeros((10, 10, 3), dtype=np.uint8))


@pytest.mark.parametrize("bad", [np.zeros((64, 64), np.uint8), np.zeros((64, 64, 3), np.float32), "photo.jpg"])
def test_wrong_array_is_refused(bad):
    with pytest.raises(ValueError, match=r"expected an RGB uint8 array of shape \(H, W, 3\)"):
        analyze_face(bad)


def test_exif_rotated_and_grayscale_photos(tmp_path, astronaut):
    # Stored on its side with an orientation tag: the face is found upright, in display coordinates.
    exif = Image.Exif()
    exif[0x0112] = 8  # display = stored rotated 90 degrees clockwise
    path = tmp_path / "sideways.jpg"
    Image.fromarray(np.rot90(astronaut, k=-1).copy()).save(path, exif=exif, quality=95)
    face = analyze_face(load_rgb(path))
    upright = analyze_face(astronaut)
    assert np.abs(face.landmarks[:, :2] - upright.landmarks[:, :2]).mean() < 3

    gray = io.BytesIO()
    Image.fromarray(astronaut).convert("L").save(gray, format="PNG")
    assert analyze_face(load_rgb(gray.getvalue())).num_faces == 1


def test_a_close_three_quarter_face_is_found_by_the_short_range_detector():
    from fifa_data.pairs.sample_source import _real_view

    real, _ = _real_view("camera", "face")  # the cameraman's turned face, close up at 512 px
    face = analyze_face(real.image)
    assert face.num_faces == 1 and face.landmarks.shape == (478, 3)
    x0, y0, x1, y1 = face.box
    assert 0.25 < (x1 - x0) / real.image.shape[1] < 0.7  # the face, not a false alarm
