"""FiFa Explorer: annotate a pair, audit a build and ask a FiFa-MLLM checkpoint in a local web app.

    python scripts/explore.py [--dataset ./fifa] [--model CHECKPOINT] [--port 7860] [--host 127.0.0.1]
    python scripts/explore.py --space-dir space/ --dataset USER/fifa [--push --space-id USER/fifa-explorer]

The app listens on 127.0.0.1 only, unless ``--host`` says otherwise; it never makes a share link
and sends no telemetry. ``--space-dir`` writes a Hugging Face Space that runs the app on a pushed
dataset instead of starting it, and ``--push`` (opt-in) uploads that Space.
"""

from __future__ import annotations

import argparse
import sys
import time

from fifa_data import cli

cli.guard_start(__name__)  # Ctrl-C from here on: one line, exit 130


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", help="a built dataset for the browse tab: a folder (default ./fifa when built) or a Hub id USER/NAME")
    parser.add_argument("--model", help="a FiFa-MLLM checkpoint folder for the ask tab (model/sft.py's output; with --space-dir, its path in the Space)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    parser.add_argument("--space-dir", help="write a Hugging Face Space running the app on --dataset (a Hub id) here, and exit")
    parser.add_argument("--push", action="store_true", help="with --space-dir: upload the Space to --space-id")
    parser.add_argument("--space-id", help="with --push: the Space repo USER/NAME")
    parser.add_argument("--private", action="store_true", help="with --push: create the Space private")
    args = parser.parse_args(argv)
    if args.push and not (args.space_dir and args.space_id):
        parser.error("--push: needs --space-dir and --space-id USER/NAME")
    if args.space_dir and not args.dataset:
        parser.error("--space-dir: needs --dataset, the Hub id of the pushed FiFa dataset the Space browses")
    if not 0 < args.port < 65536:
        parser.error(f"--port {args.port}: not a TCP port")
    return args


def write_space(args: argparse.Namespace) -> int:
    from builders.push import PushError, push_folder
    from explorer.space import write_space

    folder = write_space(args.space_dir, args.dataset, args.model)
    print(f"wrote the Space to {folder} (README.md with the Space card, app.py, requirements.txt, the FiFa packages)")
    if args.push:
        try:
            url = push_folder(folder, args.space_id, private=args.private, commit_message="FiFa Explorer", repo_type="space")
        except PushError as err:
            raise cli.RunError(str(err)) from None
        print(f"pushed the Space: {url}")
    return 0


@cli.command
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.space_dir:
        return write_space(args)
    started = time.perf_counter()
    if args.dataset:
        from model.data import check_dataset

        check_dataset(args.dataset)
    if args.model:
        from model.infer import check_model_folder

        check_model_folder(args.model)
    from explorer.app import build_app, launch

    app = build_app(dataset=args.dataset, model=args.model)
    launch(app, host=args.host, port=args.port, block=False)
    print(f"FiFa Explorer on http://{args.host}:{args.port}/ (started in {time.perf_counter() - started:.1f} s; Ctrl-C stops it)", flush=True)
    try:
        app.block_thread()
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
