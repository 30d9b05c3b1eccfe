"""Real face photos that install offline with the dependencies (public domain), for demos and tests."""

from __future__ import annotations

import numpy as np


def astronaut() -> np.ndarray:
    """scikit-image's astronaut (Eileen Collins, NASA, public domain): 512x512 RGB."""
    from skimage import data

    return data.astronaut()


def grace_hopper() -> np.ndarray:
    """matplotlib's Grace Hopper portrait (US Navy, public domain): 600x512 RGB."""
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        return np.asarray(Image.open(f).convert("RGB"))


PHOTOS = {"astronaut": astronaut, "grace_hopper": grace_hopper}
