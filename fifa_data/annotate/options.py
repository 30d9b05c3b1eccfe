"""The annotator's command-line options, shared by ``scripts/annotate.py`` and ``scripts/build.py``:
the mask, decision and pair-check options with the `AnnotatorConfig` and `PairChecks` they
ask for, and the explanation writers' (``--writer``, ``--llm-*``) with their writer spec."""

from __future__ import annotations

import argparse
from pathlib import Path

from fifa_data.annotate.artifacts import MODES
from fifa_data.annotate.decide import DecisionConfig
from fifa_data.annotate.pipeline import AnnotatorConfig
from fifa_data.annotate.writers import WriterSpec
from fifa_data.pairs.loading import RESIZE_POLICIES, PairChecks


def add_annotator_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the artifact-mask, decision, pair-check and ``--seed`` options to `parser`."""
    parser.add_argument("--mask-mode", choices=MODES, default="adaptive", help="artifact mask mode (default: adaptive)")
    parser.add_argument(
        "--score-given-masks",
        dest="use_given_masks",
        action="store_false",
        help="a manifest's `mask` column: compute the artifact masks anyway and score them against it (default: use it as the artifact mask)",
    )
    parser.add_argument(
        "--resize",
        choices=RESIZE_POLICIES,
        default=PairChecks.resize,
        help=f"a fake whose size differs from its real's: reject it, or resize it to the real's size (default: {PairChecks.resize})",
    )
    parser.add_argument("--min-share", type=float, default=DecisionConfig.min_share, help="atomic decision: share of the concept the artifact covers")
    parser.add_argument("--min-pixels", type=int, default=DecisionConfig.min_pixels, help="atomic decision: artifact pixels in the concept")
    parser.add_argument("--seed", type=int, default=0)


def annotator_config(args: argparse.Namespace) -> AnnotatorConfig:
    """The annotator the options of `add_annotator_arguments` ask for."""
    return AnnotatorConfig(
        mask_mode=args.mask_mode,
        decision=DecisionConfig(min_share=args.min_share, min_pixels=args.min_pixels),
        use_given_masks=args.use_given_masks,
        seed=args.seed,
    )


def pair_checks(args: argparse.Namespace) -> PairChecks:
    """The pair checks the options of `add_annotator_arguments` ask for."""
    return PairChecks(resize=args.resize)


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
