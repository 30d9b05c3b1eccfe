"""Test session set-up: offline Hugging Face, a throw-away HF cache, the real bundled face photos, and the
session's shared build and tiny checkpoint (each pytest-xdist worker makes its own once)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Set before any Hugging Face import so that nothing in the suite can reach the network
# or a stale user cache.
_HF_HOME = tempfile.mkdtemp(prefix="fifa-hf-home-")
os.environ["HF_HOME"] = _HF_HOME
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Under pytest-xdist (pyproject's addopts) the workers already share the cores: each torch, OpenCV or
# BLAS thread pool sized to the whole machine would make the workers' threads fight over them.
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))))

import numpy as np
import pytest

from fifa_data.pairs import photos


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the tests marked slow first: pytest-xdist hands out work in this order, so the long tests
    start at once on every worker and the short ones fill in around them."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """scikit-image's astronaut photo (NASA, public domain): 512x512 RGB, one frontal face."""
    return photos.astronaut()


@pytest.fixture(scope="session")
def grace_hopper() -> np.ndarray:
    """matplotlib's Grace Hopper portrait (US Navy, public domain): 600x512 RGB JPEG."""
    return photos.grace_hopper()


@pytest.fixture(scope="session")
def small_build(tmp_path_factory):
    """A FiFa build of 36 pairs simulated from the bundled photos, every config (the model tests' data)."""
    from builders import BuildOptions, build

    out = tmp_path_factory.mktemp("small-build") / "fifa"
    build(BuildOptions(out=out, sample_pairs=36, progress=False))
    return out


@pytest.fixture(scope="session")
def photo(tmp_path_factory) -> Path:
    """The astronaut photo (512x512, one face) as a user's JPEG file."""
    from PIL import Image

    path = tmp_path_factory.mktemp("photos") / "astronaut.jpg"
    Image.fromarray(photos.astronaut()).save(path, quality=95)
    return path


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory, photo) -> Path:
    """A saved tiny random FiFa-MLLM whose first greedy answer token to the age question about ``photo`` is [SEG]."""
    from tiny_checkpoint import save_tiny_checkpoint

    return save_tiny_checkpoint(tmp_path_factory.mktemp("checkpoint"), photo)


@pytest.fixture
def java_starts(monkeypatch) -> list[str]:
    """Records every ``java`` process started while the test runs (pycocoevalcap's tokeniser and METEOR)."""
    import subprocess

    started: list[str] = []
    popen = subprocess.Popen.__init__

    def counting(self, args, *more, **kwargs):
        started.extend(args[:1] if args and args[0] == "java" else [])
        popen(self, args, *more, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", counting)
    return started
