"""FiFa Explorer's responsiveness: the app's start time and the time from upload to AGE output.

    python scripts/benchmarks/bench_explorer.py [--sides 512 2048] [--repeats 3]

Starts ``python scripts/explore.py`` on a free port and times it until the page answers (the start
time a user waits after the command). Then, in headless Chromium (Debian's, as the browser tests
use it), it uploads the bundled astronaut's lip-colour pair at each ``--sides`` long side and
times the click on Annotate until the first AGE phrase shows in the page; the upload itself (a
local file) is not counted. Prints the median of ``--repeats`` runs per side.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import polars as pl

from fifa_data.pairs.sample_source import write_sample_pairs

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pair(folder: Path, side: int) -> tuple[Path, Path]:
    write_sample_pairs(folder, n=1, photos=("astronaut",), views=("full",), manipulations=("lip_color",), long_side=side)
    row = pl.read_csv(folder / "pairs.csv").row(0, named=True)
    return folder / row["real"], folder / row["fake"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sides", type=int, nargs="+", default=[512, 2048])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("error: needs Debian's chromium (apt-get install -y chromium)")

    port = _free_port()
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "explore.py"), "--port", str(port)], cwd=tempfile.mkdtemp())
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except OSError:
                if server.poll() is not None:
                    sys.exit("error: scripts/explore.py exited before serving")
                time.sleep(0.1)
        print(f"start time: {time.perf_counter() - started:.1f} s (command to first page served)")

        from playwright.sync_api import sync_playwright

        with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1400})
            page.goto(f"http://127.0.0.1:{port}/")
            for side in args.sides:
                real, fake = _pair(Path(tmp) / str(side), side)
                times = []
                for _ in range(args.repeats):
                    page.reload()
                    page.locator("#real-file input[type=file]").set_input_files(str(real))
                    page.locator("#fake-file input[type=file]").set_input_files(str(fake))
                    page.locator("#real-file, #fake-file").first.wait_for()
                    clicked = time.perf_counter()
                    page.locator("#annotate-button").click()
                    page.locator("#age-html .fifa-phrase").first.wait_for(timeout=600_000)
                    times.append(time.perf_counter() - clicked)
                print(f"{side:5d} px pair: upload to AGE output {statistics.median(times):.1f} s (median of {len(times)}; "
                      f"{', '.join(f'{t:.1f}' for t in times)})")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
