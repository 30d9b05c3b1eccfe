"""Run `scripts/build.py` as a user does, in a subprocess, for the end-to-end tests of the pair sources."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build_pairs(source: Path, out: Path, *flags: str) -> dict:
    """``python scripts/build.py --pairs SOURCE --out OUT --no-progress FLAGS``; asserts it succeeds and returns its build.json."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "scripts/build.py", "--pairs", str(source), *flags, "--out", str(out), "--no-progress"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((out / "build.json").read_text())
