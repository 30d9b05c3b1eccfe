"""Regenerate ``fifa_data/data/reference_mesh.json``: the frontal, left/right-symmetric face mesh
on which FICT's region rules (``fifa_data/mesh_regions.py``) assign every mesh triangle a concept.

It fits the mediapipe face mesh to the two public-domain portraits that install with the
dependencies (scikit-image's astronaut, matplotlib's Grace Hopper), expresses each in the eye
frame (origin between the outer eye corners, unit = their distance, v pointing down), averages the two,
pairs every vertex with its mirror image, and symmetrises. Run it only if the region rules need a new reference:
    python scripts/make_reference_mesh.py
"""

from __future__ import annotations

import json

import numpy as np
from scipy.optimize import linear_sum_assignment

from fifa_data.faces.detect import analyze_face
from fifa_data.faces.mesh_regions import REFERENCE_PATH, eye_frame
from fifa_data.pairs import photos


def main() -> None:
    frames = [eye_frame(analyze_face(photo).landmarks) for photo in (photos.astronaut(), photos.grace_hopper())]
    pair = mirror_pairs(np.mean(frames, axis=0))
    symmetric = np.mean([(p + p[pair] * [-1, 1]) / 2 for p in frames], axis=0)
    REFERENCE_PATH.write_text(
        json.dumps(
            {
                "description": "mediapipe face mesh (468 points) in the eye frame, symmetrised; see scripts/make_reference_mesh.py",
                "mirror": pair.tolist(),
                "points": np.round(symmetric, 5).tolist(),
            }
        )
    )
    print(f"wrote {REFERENCE_PATH}")


def mirror_pairs(points: np.ndarray) -> np.ndarray:
    """Index of each vertex's mirror image (itself on the midline), by optimal assignment."""
    cost = np.linalg.norm(points[:, None] - (points * [-1, 1])[None], axis=2)
    _, pair = linear_sum_assignment(cost)
    if not (pair[pair] == np.arange(len(pair))).all():
        raise SystemExit("mirror pairing is not symmetric")
    return pair


if __name__ == "__main__":
    main()
