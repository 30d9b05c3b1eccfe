"""FiFa Explorer as a Hugging Face Space: a folder a Gradio Space runs on a pushed FiFa dataset.

`write_space` writes the Space card (README.md with the Space YAML), ``app.py`` (which opens the
browse tab on the dataset repo given here, or the Space's ``FIFA_DATASET`` variable, and the ask tab on
the checkpoint folder given here or ``FIFA_MODEL``), ``requirements.txt`` (the pinned set, CPU torch)
and a copy of the three packages the app imports. The app is built pinned: its dataset and checkpoint
fields are fixed, and the server refuses any other folder or Hub id a visitor's request names. Pushing is opt-in:
``scripts/explore.py --space-dir DIR --dataset USER/fifa --push --space-id USER/fifa-explorer``.
"""

from __future__ import annotations

import shutil
from importlib.metadata import version
from pathlib import Path

PACKAGES = ("fifa_data", "model", "explorer")  # what app.py imports, copied beside it
CONSTRAINTS = Path(__file__).resolve().parents[1] / "constraints.txt"
_TEST_ONLY = ("pytest", "ruff", "playwright")
_APP = '''"""FiFa Explorer on a Hugging Face Space (written by explorer.space; set FIFA_DATASET or FIFA_MODEL, not this file).

It serves this one dataset and checkpoint: visitors cannot point it at another folder or Hub repository.
"""

import os

from explorer.app import build_app, launch

app = build_app(dataset=os.environ.get("FIFA_DATASET", {dataset!r}), model=os.environ.get("FIFA_MODEL", {model!r}), pinned=True)

if __name__ == "__main__":
    launch(app, host="0.0.0.0", port=7860)
'''


def space_card(dataset: str, title: str = "FiFa Explorer") -> str:
    """The Space's README.md: its YAML (Gradio SDK at the pinned version, ``app.py``, the dataset) and what it shows."""
    return (
        "---\n"
        f"title: {title}\n"
        "emoji: 🔎\n"
        "colorFrom: red\n"
        "colorTo: gray\n"
        "sdk: gradio\n"
        f"sdk_version: {version('gradio')}\n"
        'python_version: "3.11"\n'
        "app_file: app.py\n"
        "pinned: false\n"
        "license: apache-2.0\n"
        f"datasets:\n- {dataset}\n"
        "short_description: Annotate a face-forgery pair, audit FiFa rows, ask FiFa-MLLM\n"
        "---\n\n"
        f"# {title}\n\n"
        f"FiFa Explorer on [`{dataset}`](https://huggingface.co/datasets/{dataset}): annotate a real/fake pair as the FiFa "
        "build would (artifact mask, decisions, AGE explanation, the eleven FiFa-11 rows), browse the dataset's rows with their "
        "masks, boxes and the card's statistics, and ask a FiFa-MLLM checkpoint (`FIFA_MODEL`, a folder in this Space) about a photo.\n"
    )


def requirements() -> str:
    """The pinned set without the test tools, torch from PyTorch's CPU index (a Space's basic hardware has no GPU)."""
    lines = ["--extra-index-url https://download.pytorch.org/whl/cpu"]
    for line in CONSTRAINTS.read_text().splitlines():
        pin = line.split("#", 1)[0].strip()
        if pin and not pin.startswith(_TEST_ONLY):
            lines.append(pin)
    return "\n".join(lines) + "\n"


def write_space(folder: str | Path, dataset: str, model: str | None = None) -> Path:
    """Write the Space into ``folder`` (replacing what an earlier call wrote there) and return it.

    ``model`` is the checkpoint folder the ask tab serves, as the Space will see it (a folder of the Space); none by default.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    root = Path(__file__).resolve().parents[1]
    for package in PACKAGES:
        target = folder / package
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(root / package, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (folder / "README.md").write_text(space_card(dataset), encoding="utf-8")
    (folder / "app.py").write_text(_APP.format(dataset=dataset, model=model), encoding="utf-8")
    (folder / "requirements.txt").write_text(requirements(), encoding="utf-8")
    return folder
