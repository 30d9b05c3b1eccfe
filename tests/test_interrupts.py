"""Ctrl-C at any moment of a command, start-up included, prints the one ``interrupted`` line and exits 130;
``--help`` answers without loading the heavy libraries. Real subprocesses of the commands."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = os.environ | {"PYTHONPATH": str(ROOT)}
HEAVY = ("torch", "datasets", "mediapipe", "transformers", "gradio")
COMMANDS = {
    "scripts/build.py": ["--out", "fifa"],
    "scripts/simulate.py": ["--out", "pairs"],
    "scripts/annotate.py": ["pairs", "--out", "annotated"],
    "scripts/concepts.py": ["--sample", "astronaut"],
    "scripts/explore.py": [],
    "scripts/learning_check.py": ["--steps", "1"],
    "model/sft.py": ["--model", "tiny"],
    "model/evaluate.py": ["--predictions", "answers.jsonl"],
    "model/infer.py": ["--model", "m", "--image", "p.png", "--out", "answer"],
}


def _start(script: str, args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / script), *args], cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _guarded(process: subprocess.Popen, timeout: float = 20) -> None:
    """Wait until the command's first lines ran: it catches SIGTERM (Python alone does not), so `cli.guard_start` is in place."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = Path(f"/proc/{process.pid}/status").read_text()
        caught = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
        if caught & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.002)
    raise AssertionError(f"{process.args}: never installed its interrupt guard")


def _interrupted(process: subprocess.Popen, *, exact: bool = True) -> str:
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines() if exact else [line for line in stderr.splitlines() if line.startswith(("interrupted", "error", "Traceback"))]
    assert len(lines) == 1 and lines[0].startswith("interrupted; "), stderr
    return lines[0]


pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the signal mask from /proc")


@pytest.mark.parametrize("script", COMMANDS)
def test_ctrl_c_right_after_start_prints_one_line_and_exits_130(script, tmp_path):
    process = _start(script, COMMANDS[script], tmp_path)
    _guarded(process)
    assert _interrupted(process) == "interrupted; nothing written"


def test_ctrl_c_during_imports_and_during_the_build(tmp_path):
    (tmp_path / "imports").mkdir()
    during_imports = [_start("scripts/build.py", ["--out", "fifa"], tmp_path / "imports"), _start("model/sft.py", ["--model", "tiny"], tmp_path)]
    working = _start("scripts/build.py", ["--out", "fifa", "--limit", "4"], tmp_path)
    for process in during_imports:
        _guarded(process)
    time.sleep(0.6)  # build.py: in `main`, importing the builders; sft.py: importing torch and TRL at module level
    for process in during_imports:
        assert _interrupted(process) == "interrupted; nothing written"
    deadline = time.monotonic() + 60
    while not (tmp_path / ".fifa.partial").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert (tmp_path / ".fifa.partial").exists(), "the build never started writing"
    line = _interrupted(working, exact=False)  # mediapipe's own log lines may precede it
    assert line == f"interrupted; {Path('fifa')} unchanged" or line.endswith("fifa unchanged")
    assert not (tmp_path / ".fifa.partial").exists() and not (tmp_path / "fifa").exists()


def test_help_loads_no_heavy_library():
    probe = (
        "import runpy, sys\nsys.argv = [sys.argv[1], '--help']\n"
        "try:\n    runpy.run_path(sys.argv[0], run_name='__main__')\nexcept SystemExit as done:\n    assert done.code == 0, done.code\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    for script in ("scripts/build.py", "scripts/simulate.py", "scripts/annotate.py", "scripts/concepts.py", "scripts/explore.py", "scripts/learning_check.py"):
        result = subprocess.run([sys.executable, "-c", probe, str(ROOT / script)], capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[-1] == "", f"{script} --help loaded {result.stdout.splitlines()[-1]}"
