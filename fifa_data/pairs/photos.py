"""Real face photos that install offline with the dependencies (public domain or CC0), for demos and tests.

Nothing is downloaded or committed: each photo is read from the package that ships it.
`photo_file` gives the installed file itself, whose bytes the sample source stores unchanged.
"""

from __future__ import annotations

from pathlib import Path

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


def camera() -> np.ndarray:
    """scikit-image's cameraman (CC0, Lav Varshney): 512x512 greyscale as RGB; a small face in a scene."""
    from skimage import data

    return np.repeat(data.camera()[..., None], 3, axis=2)


PHOTOS = {"astronaut": astronaut, "grace_hopper": grace_hopper, "camera": camera}
CREDITS = {
    "astronaut": "Eileen Collins, NASA, public domain (scikit-image `data.astronaut`)",
    "grace_hopper": "Grace Hopper, US Navy, public domain (matplotlib sample data)",
    "camera": "cameraman by Lav Varshney, CC0 (scikit-image `data.camera`)",
}


def photo_file(name: str) -> Path:
    """The installed file of a sample photo (PNG or JPEG, as its package ships it)."""
    if name == "grace_hopper":
        from matplotlib import cbook

        return Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    if name in ("astronaut", "camera"):
        import skimage

        return Path(skimage.__file__).parent / "data" / f"{name}.png"
    raise KeyError(f"unknown sample photo {name!r}; known: {', '.join(PHOTOS)}")
