"""The import graph points one way: the core imports nothing of FiFa's stages, and evaluation
never loads the simulator, the annotator or the task generators (each checked in a fresh
interpreter, so what another test imported cannot hide a dependency)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = {"fifa_data.schema", "fifa_data.markup", "fifa_data.fict"}
DATA_CREATION = ("fifa_data.annotate", "fifa_data.simulate", "fifa_data.sample_pairs", "fifa_data.tasks", "fifa_data.validation", "fifa_data.artifacts")


def _loaded(*modules: str) -> set[str]:
    """FiFa's modules that importing `modules` loads."""
    code = f"import importlib, json, sys\nfor m in {list(modules)!r}: importlib.import_module(m)\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300, check=True)
    return {m for m in json.loads(result.stdout.splitlines()[-1]) if m.startswith(("fifa_data.", "model.", "builders.", "explorer"))}


@pytest.mark.parametrize("module", sorted(CORE))
def test_the_core_imports_only_the_core(module):
    assert _loaded(module) <= CORE


def test_evaluation_loads_no_data_creation():
    loaded = _loaded("fifa_data.parse", "fifa_data.scoring", "fifa_data.baselines", "fifa_data.metrics", "model.evaluate")
    assert not {m for m in loaded if m.startswith(DATA_CREATION)}


def test_nothing_but_the_explorer_imports_the_explorer():
    loaded = _loaded("builders", "model.sft", "model.evaluate", "model.infer", "fifa_data.annotate.pipeline")
    assert not {m for m in loaded if m.startswith("explorer")}


def test_the_explorer_starts_without_transformers():
    code = "import sys, explorer.app; print('transformers' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300, check=True)
    assert result.stdout.strip().splitlines()[-1] == "False"  # model.infer loads at the first question
