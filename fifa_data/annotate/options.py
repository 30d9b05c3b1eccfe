"""The command-line options of the explanation writers (``--writer``, ``--llm-*``), shared by
``scripts/annotate.py`` and ``scripts/build.py``, and the writer spec they ask for."""

from __future__ import annotations

import argparse
from pathlib import Path

from .writers import WriterSpec


def add_writer_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``--writer`` and ``--llm-*`` options to `parser`."""
    group = parser.add_argument_group("writer")
    group.add_argument("--writer", choices=("template", "llm"), default="template", help="explanation writer (default: template)")
    group.add_argument("--llm-base-url", help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1")
    group.add_argument("--llm-model", help="model name sent to the endpoint")
    group.add_argument("--llm-api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key")
    group.add_argument("--llm-timeout", type=float, default=60.0, help="seconds per request (default: 60)")
    group.add_argument("--llm-retries", type=int, default=3, help="retries per request (default: 3)")
    group.add_argument("--llm-concurrency", type=int, default=4, help="requests in flight (default: 4)")
    group.add_argument("--llm-cache", help="reply cache folder (default: .OUT.llm_cache beside OUT, so a rerun reuses the replies)")
    group.add_argument("--llm-send-real", action="store_true", help="send the real image too")


def writer_spec(args: argparse.Namespace, parser: argparse.ArgumentParser, default_cache: Path) -> WriterSpec:
    """The writer the options ask for, as a spec each process can make its writer from."""
    if args.writer == "template":
        return WriterSpec("template", seed=args.seed)
    if not args.llm_base_url or not args.llm_model:
        parser.error("--writer llm: needs --llm-base-url and --llm-model")
    options = {
        "base_url": args.llm_base_url,
        "model": args.llm_model,
        "api_key_env": args.llm_api_key_env,
        "timeout": args.llm_timeout,
        "retries": args.llm_retries,
        "concurrency": args.llm_concurrency,
        "cache_dir": str(args.llm_cache or default_cache),
        "send_real": args.llm_send_real,
    }
    return WriterSpec("llm", seed=args.seed, llm=tuple(options.items()))
