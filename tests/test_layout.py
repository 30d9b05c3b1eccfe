"""The import graph points one way, between packages: each package imports only those its
``__init__`` allows, read from every ``import`` statement of its modules (function-local ones
included), and the core and evaluation stay free of data creation when actually imported (checked
in a fresh interpreter, so what another test imported cannot hide a dependency)."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package -> the FiFa packages its modules may import (besides itself)
ALLOWED = {
    "fifa_data.core": set(),
    "fifa_data.faces": {"fifa_data.core"},
    "fifa_data.pairs": {"fifa_data.core", "fifa_data.faces"},
    "fifa_data.annotate": {"fifa_data.core", "fifa_data.faces", "fifa_data.pairs", "fifa_data.tasks"},  # tasks: in `source` only
    "fifa_data.tasks": {"fifa_data.core", "fifa_data.annotate"},  # the annotator's output type and concept words
    "fifa_data.scoring": {"fifa_data.core", "fifa_data.faces"},
    "fifa_data.viz": {"fifa_data.core"},
    "fifa_data.cli": {"fifa_data.core", "fifa_data.outputs"},
    "fifa_data.outputs": {"fifa_data.core"},
    "builders": {"fifa_data"},
    "model": {"fifa_data.core", "fifa_data.faces", "fifa_data.scoring", "fifa_data.tasks", "fifa_data.viz", "fifa_data.cli", "fifa_data.outputs"},
    "explorer": {"fifa_data", "model", "builders"},
}
ANNOTATE_ONLY_IN_SOURCE = "fifa_data.tasks"  # the one import of annotate that goes down the flow


def _package_of(module: str) -> str | None:
    matches = [p for p in ALLOWED if module == p or module.startswith(p + ".")]
    return max(matches, key=len) if matches else None


def _imports() -> list[tuple[str, str]]:
    """(importing module, imported FiFa module) for every import statement of FiFa's packages."""
    out = []
    for top in ("fifa_data", "builders", "model", "explorer"):
        for path in sorted((ROOT / top).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = []
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                elif isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                out += [(module, n) for n in names if n.split(".")[0] in ("fifa_data", "builders", "model", "explorer")]
    return out


def test_no_relative_imports_hide_the_graph():
    for top in ("fifa_data", "builders", "model", "explorer"):
        for path in (ROOT / top).rglob("*.py"):
            tree = ast.parse(path.read_text())
            assert not [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level], path


def test_every_package_imports_only_what_it_may():
    wrong = []
    for importer, imported in _imports():
        source, target = _package_of(importer), _package_of(imported)
        if target is None or source == target or imported in ("fifa_data", "model", "builders", "explorer"):
            continue
        allowed = ALLOWED[source]
        if not any(target == a or target.startswith(a + ".") for a in allowed):
            wrong.append(f"{importer} imports {imported}")
        elif source == "fifa_data.annotate" and target == ANNOTATE_ONLY_IN_SOURCE and importer != "fifa_data.annotate.source":
            wrong.append(f"{importer} imports {imported} (only annotate.source may)")
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_nothing_but_the_explorer_imports_the_explorer_and_nothing_below_imports_builders():
    for importer, imported in _imports():
        if imported.startswith("explorer"):
            assert importer.startswith("explorer"), f"{importer} imports {imported}"
        if imported.startswith("builders"):
            assert importer.startswith(("builders", "explorer")), f"{importer} imports {imported}"


def test_fifa_data_has_few_top_level_modules_and_every_package_says_what_it_owns():
    top = sorted(p.name for p in (ROOT / "fifa_data").glob("*.py"))
    assert len(top) <= 8, top
    for init in (ROOT / "fifa_data").rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and "import" in doc, f"{init}: the docstring says what the package owns and what it may import"


def _loaded(*modules: str) -> set[str]:
    """FiFa's modules that importing `modules` loads."""
    code = f"import importlib, json, sys\nfor m in {list(modules)!r}: importlib.import_module(m)\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300, check=True)
    return {m for m in json.loads(result.stdout.splitlines()[-1]) if m.startswith(("fifa_data", "model", "builders", "explorer"))}


@pytest.mark.slow  # fresh interpreters
def test_the_core_and_evaluation_load_no_data_creation():
    assert {m for m in _loaded("fifa_data.core.schema", "fifa_data.core.fict", "fifa_data.core.markup") if m != "fifa_data"} <= {
        "fifa_data.core", "fifa_data.core.schema", "fifa_data.core.fict", "fifa_data.core.markup"}
    loaded = _loaded("fifa_data.scoring.score", "fifa_data.scoring.baselines", "model.evaluate")
    assert not {m for m in loaded if m.startswith(("fifa_data.annotate", "fifa_data.pairs", "fifa_data.tasks.generators"))}


@pytest.mark.slow  # fresh interpreters
def test_the_explorer_starts_without_transformers():
    code = "import sys, explorer.app; print('transformers' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300, check=True)
    assert result.stdout.strip().splitlines()[-1] == "False"  # model.infer loads at the first question
