"""One command at a time writes an output folder: a second is refused in one line naming the folder and
the process that holds it, a dead holder blocks nothing, and different folders never share a staging folder."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from fifa_data.outputs import output_lock, staged_output

ROOT = Path(__file__).resolve().parents[1]
ENV = os.environ | {"PYTHONPATH": str(ROOT)}
HOLD = "import sys, time\nfrom fifa_data.outputs import output_lock\nwith output_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(120)\n"


def _hold(out: Path) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], env=ENV, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_command_into_a_folder_being_written_is_refused_in_one_line(tmp_path):
    out = tmp_path / "pairs"
    holder = _hold(out)
    try:
        for command in (["scripts/simulate.py", "--out", str(out), "-n", "1"], ["scripts/build.py", "--out", str(out), "--limit", "1"]):
            result = subprocess.run([sys.executable, str(ROOT / command[0]), *command[1:]], capture_output=True, text=True, env=ENV, timeout=120)
            assert result.returncode == 2, result.stderr
            lines = [line for line in result.stderr.splitlines() if line.startswith(("error", "Traceback"))]
            busy = f"another FiFa command is writing it (pid {holder.pid}: python -c {out})"
            assert lines == [f"error: --out {out}: {busy}; wait for it to end or choose another --out"]
        assert not out.exists() and not (tmp_path / ".pairs.partial").exists()
    finally:
        holder.send_signal(signal.SIGKILL)  # dies holding the lock: the OS releases it
        holder.wait()
    argv = [sys.executable, str(ROOT / "scripts" / "simulate.py"), "--out", str(out), "-n", "1"]
    result = subprocess.run(argv, capture_output=True, text=True, env=ENV, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (out / "pairs.csv").is_file()


def test_the_lock_is_held_within_one_process_too(tmp_path):
    with output_lock(tmp_path / "out"):
        try:
            with output_lock(tmp_path / "out", flag="--output-dir"):
                raise AssertionError("two writers")
        except Exception as refused:
            assert str(refused).startswith(f"--output-dir {tmp_path / 'out'}: another FiFa command is writing it (pid {os.getpid()}: ")
    with output_lock(tmp_path / "out"):  # released
        pass


def test_concurrent_outputs_into_different_folders_use_different_staging_folders(tmp_path):
    (tmp_path / "a").mkdir()
    outs = [tmp_path / "a" / "fifa", tmp_path / "b" / "fifa", tmp_path / "a" / ".." / "c"]
    with staged_output(outs[0], "build.json") as one, staged_output(outs[1], "build.json") as two, staged_output(outs[2], "build.json") as three:
        assert len({one, two, three}) == 3
        for staging, name in ((one, "a"), (two, "b"), (three, "c")):
            (staging / "build.json").write_text(name)
    assert [(out / "build.json").read_text() for out in outs] == ["a", "b", "c"]
    assert not list(tmp_path.rglob("*.partial"))
