"""Train FiFa-MLLM with TRL's ``SFTTrainer`` straight from the built FiFa configs.

    python model/sft.py --model tiny --dataset ./fifa --configs age,loc,det --max-steps 50 --output-dir out

``--model`` is ``tiny`` (a small random LLaVA, no download), ``tiny-qwen2-vl``, a Hub id or folder
of a LLaVA / Qwen2-VL / Qwen2.5-VL model, or a FiFa-MLLM checkpoint to go on training.
``--vision-tower X --language-model Y`` composes a LLaVA from two checkpoints (a face encoder
such as FaRL in CLIP format, and an LLM). Every ``SFTConfig`` / ``TrainingArguments`` flag works
as well (``--learning-rate``, ``--per-device-train-batch-size``, ``--gradient-accumulation-steps``,
``--bf16``, ``--resume-from-checkpoint``, ``--deepspeed`` ...). Several GPUs or nodes:

    accelerate launch --config_file model/accelerate_zero2.yaml model/sft.py --model ... --bf16 true

The loss is ``ce_weight * CE + bce_weight * BCE + dice_weight * Dice`` over the ``[SEG]`` masks
(GLaMM's 1.0 / 2.0 / 0.5 by default); each term is logged. A tiny model trained from scratch
balances each mask's BCE between edited and untouched pixels (``--balanced-bce``), or its masks come out empty.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, fields
from pathlib import Path

from fifa_data import cli

cli.guard_start(__name__)  # Ctrl-C from here on: one line, exit 130

import torch
from accelerate import PartialState
from transformers import HfArgumentParser
from transformers.trainer_utils import get_last_checkpoint
from trl import SFTConfig, SFTTrainer

from fifa_data.outputs import Interrupted, check_output, output_lock
from model.augment import RealsInEveryBatch, forensic_channel_count
from model.card import render_model_card
from model.collator import FiFaCollator
from model.data import empty_split_error, load_split, parse_configs, texts_of
from model.modeling import CONFIG_FILE, FiFaModel, load_weights
from model.tiny import TINY, compose_llava_from_pretrained

TINY_MODELS = {"tiny": "llava", "tiny-llava": "llava", "tiny-qwen2-vl": "qwen2_vl"}
_HUB_MODEL_ID = re.compile(r"^\w[\w.-]*(/\w[\w.-]*)?$")  # gpt2, llava-hf/llava-1.5-7b-hf: anything else is a path


@dataclass
class FiFaArguments:
    """FiFa's own flags: data and model; the trainer's, the loss weights included, are `FiFaSFTConfig`'s."""

    dataset: str = field(metadata={"help": "a built FiFa folder (scripts/build.py --out) or its Hub id"})
    model: str = field(default="tiny", metadata={"help": "tiny | tiny-qwen2-vl | Hub id or folder of a base model | a FiFa-MLLM checkpoint"})
    configs: list[str] = field(
        default_factory=lambda: ["instruct"], metadata={"action": cli.ListAction, "help": "task configs, as age,loc or age loc (default: instruct)"}
    )
    weights: list[float] | None = field(default=None, metadata={"action": cli.ListAction, "help": "sampling weights, one per config, as 2,1 or 2 1"})
    eval_split: str = field(default="validation", metadata={"help": "split to evaluate on; 'none' to skip"})
    limit: int | None = field(default=None, metadata={"help": "use at most this many rows of each config and split"})
    vision_tower: str | None = field(default=None, metadata={"help": "compose a LLaVA (instead of --model): this vision model ..."})
    language_model: str | None = field(default=None, metadata={"help": "... with this causal LM"})
    lora: bool | None = field(default=None, metadata={"help": "LoRA on the LLM (default: on for pretrained bases, off for tiny)"})
    lora_r: int = field(default=8, metadata={"help": "LoRA rank (GLaMM: 8)"})
    lora_alpha: int = field(default=16, metadata={"help": "LoRA scaling alpha (GLaMM: 16)"})
    lora_dropout: float = field(default=0.05, metadata={"help": "dropout on the LoRA path (GLaMM: 0.05)"})
    lora_target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"],
        metadata={"action": cli.ListAction, "help": "LLM linear layers LoRA adapts (default: q_proj,k_proj,v_proj,o_proj)"},
    )
    train_vision_tower: bool | None = field(default=None, metadata={"help": "train the vision encoder too (default: only for tiny, which starts random)"})
    mask_size: int | None = field(default=None, metadata={"help": "side of the mask grid (default 64 tiny, 128 otherwise)"})
    decoder_dim: int | None = field(default=None, metadata={"help": "mask decoder width (default 64 tiny, 256 otherwise)"})
    image_size: int = field(default=112, metadata={"help": "tiny only: the vision tower's input side in pixels"})
    forensic_input: bool = field(
        default=False, metadata={"help": "a new model's vision tower also reads SRM noise-residual channels (tiny only: a pretrained tower takes 3 channels)"}
    )
    energy_window: int = field(
        default=0,
        metadata={"help": "with --forensic-input: also the SRM residuals' local energy, the mean |residual| over this odd window in pixels "
                  "(0: not; tiny only)"},
    )
    image_summary: bool = field(
        default=False,
        metadata={"help": "a new model adds the whole image's pooled patch features (mean and peak) at the task token, where the verdict "
                  "is predicted"},
    )
    tiny_hidden: int = field(default=64, metadata={"help": "tiny only: hidden size of the vision tower and the language model"})
    tiny_layers: int = field(default=2, metadata={"help": "tiny only: layers of the vision tower and of the language model"})
    patch_size: int = field(default=8, metadata={"help": "tiny LLaVA only: the vision tower's patch side in pixels"})
    augment: bool = field(default=False, metadata={"help": "train on a random scale-crop and flip of each image, its masks moved with it"})
    augment_min_scale: float = field(default=0.6, metadata={"help": "the smallest crop side under --augment, as a share of the image's"})
    augment_shift: int = field(
        default=0,
        metadata={"help": "under --augment: move the whole image by steps of this many pixels (up to 1 - --augment-min-scale of its side, "
                  "padded black) instead of scale-cropping it, so no pixel is resampled (8: JPEG's grid)"},
    )
    reals_per_batch: int = field(default=0, metadata={"help": "put this many real-image rows in every training batch (0: plain shuffling)"})
    reals_by_task: bool = field(
        default=False, metadata={"help": "with --reals-per-batch: spread the reals over the tasks as the fakes are (loc's rare reals drawn more)"}
    )
    empty_real_masks: float = field(
        default=0.0,
        metadata={"help": "this share of the real images' loc rows trains the mask decoder on an empty mask after an untrained '[SEG].'"},
    )
    overwrite: bool = field(default=False, metadata={"help": "train into --output-dir even if it holds files that FiFa did not write"})
    no_progress: bool = field(default=False, metadata={"help": "no progress bars (they are off anyway when stderr is not a terminal)"})


@dataclass
class FiFaSFTConfig(SFTConfig):
    """``SFTConfig`` plus the weights and reduction of FiFa's loss (GLaMM's weights by default)."""

    ce_weight: float = field(default=1.0, metadata={"help": "weight of the language-model cross-entropy"})
    bce_weight: float = field(default=2.0, metadata={"help": "weight of the per-pixel BCE of the [SEG] masks"})
    dice_weight: float = field(default=0.5, metadata={"help": "weight of the Dice loss of the [SEG] masks"})
    balanced_bce: bool | None = field(
        default=None,
        metadata={
            "help": "weigh each mask's edited and untouched pixels equally in the BCE, so a decoder trained from scratch does not "
            "settle on empty masks (default: on for a tiny model, off for a pretrained base)"
        },
    )
    ce_reduction: str = field(
        default="row",
        metadata={
            "help": "row: each answer's mean CE, then the mean over answers, so one-word verdicts are not drowned by long "
            "explanations; token: the mean over all answer tokens"
        },
    )


class FiFaTrainer(SFTTrainer):
    """``SFTTrainer`` whose loss is CE + BCE + Dice over ``[SEG]`` masks, computed in one forward,
    weighted as its `FiFaSFTConfig` says."""

    args: FiFaSFTConfig
    card_facts: dict | None = None  # dataset and configs for the model card; set by `train`
    reals_per_batch: int = 0  # set by `train`: real rows in every training batch (`RealsInEveryBatch`)
    reals_by_task: bool = False  # set by `train`: those reals spread over the tasks as the fakes are

    def _get_train_sampler(self, train_dataset=None):
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        if not self.reals_per_batch:
            return super()._get_train_sampler(train_dataset)
        tasks = dataset["task"] if self.reals_by_task else None
        return RealsInEveryBatch(dataset["label"], self.args.per_device_train_batch_size, self.reals_per_batch, seed=self.args.seed, tasks=tasks)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        mode = "train" if model.training else "eval"
        out = model(**inputs, ce_reduction=self.args.ce_reduction, balanced_bce=bool(self.args.balanced_bce))
        loss = self.args.ce_weight * out.ce + self.args.bce_weight * out.bce + self.args.dice_weight * out.dice
        for name in ("ce", "bce", "dice"):
            value = getattr(out, name).detach()
            self._metrics[mode][name].append(self.accelerator.gather_for_metrics(value.reshape(1)).mean().item())
        return (loss, out) if return_outputs else loss

    # The Trainer saves and reloads a `PreTrainedModel` or a `PeftModel`; FiFaModel is neither (a base
    # plus heads), so these two hooks, which every backend's `save_model` and resume go through
    # (DeepSpeed and FSDP gather the weights before `_save`), write and read FiFa's own folder layout.
    # Loss terms go to `_metrics` as TRL's own `SFTTrainer.compute_loss` logs entropy and accuracy.
    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        if self.args.should_save:
            self.accelerator.unwrap_model(self.model).save_pretrained(output_dir or self.args.output_dir)

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model=None) -> None:
        load_weights(self.accelerator.unwrap_model(model or self.model), resume_from_checkpoint)

    def create_model_card(self, *args, **kwargs) -> None:
        """FiFa's card (``cards/model_card.md``) instead of TRL's, whose base and quick start do not fit this model."""
        if self.is_world_process_zero() and self.card_facts is not None:
            evaluations = [h for h in self.state.log_history if "eval_loss" in h]
            render_model_card(
                self.args.output_dir,
                self.accelerator.unwrap_model(self.model).fifa_config,
                steps=self.state.global_step,
                eval_metrics=evaluations[-1] if evaluations else None,
                **self.card_facts,
            )


# The trainer options a FiFa user reaches for first; --help lists them after FiFa's own.
COMMON_TRAINER_OPTIONS = (
    "output_dir", "max_steps", "num_train_epochs", "learning_rate", "per_device_train_batch_size",
    "gradient_accumulation_steps", "bf16", "save_steps", "eval_steps", "logging_steps", "seed",
    "resume_from_checkpoint", "deepspeed", "report_to",
)
# The levers of a model trained from scratch (docs/training.md, "Levers"): listed by --help-all only.
FROM_SCRATCH_OPTIONS = (
    "image_size", "forensic_input", "energy_window", "image_summary", "tiny_hidden", "tiny_layers", "patch_size", "augment", "augment_min_scale",
    "augment_shift", "reals_per_batch", "reals_by_task", "empty_real_masks", "balanced_bce",
)


class _DefaultsUnlessStated(argparse.ArgumentDefaultsHelpFormatter):
    """Appends "(default: X)" to a help text, unless the option is required or the text already says what the default is."""

    def _get_help_string(self, action):
        return action.help if action.required or (action.help and "default" in action.help) else super()._get_help_string(action)


class _Parser(cli.OneLineErrors, HfArgumentParser):
    """``HfArgumentParser`` with FiFa's one-line errors and hyphenated flags in the help (underscores still parse).

    ``--output-dir`` is required: a run never trains into a default folder the user did not name.
    """

    def __init__(self, dataclasses, visible: Sequence[str] | None = None) -> None:
        super().__init__(dataclasses, formatter_class=_DefaultsUnlessStated)
        for action in self._actions:
            longs = [o for o in action.option_strings if o.startswith("--")]
            hyphenated = [o for o in longs if "_" not in o]
            if hyphenated and len(longs) > 1:
                action.option_strings = [o for o in action.option_strings if o not in longs or o in hyphenated]
            if visible is not None and action.dest not in visible and action.dest != "help":
                action.help = argparse.SUPPRESS
            if action.dest == "output_dir":
                action.required, action.help = True, "where the model and its checkpoints go"


def parse_args(argv: list[str] | None = None) -> tuple[FiFaArguments, FiFaSFTConfig]:
    """FiFa's flags and ``SFTConfig``'s; ``--help`` shows FiFa's and the common trainer ones, ``--help-all`` every one."""
    argv = sys.argv[1:] if argv is None else list(argv)
    show_all = "--help-all" in argv
    loss = [f.name for f in fields(FiFaSFTConfig) if f.name not in {g.name for g in fields(SFTConfig)}]
    visible = None if show_all else tuple(
        name for name in (*(f.name for f in fields(FiFaArguments)), *loss, *COMMON_TRAINER_OPTIONS) if name not in FROM_SCRATCH_OPTIONS
    )
    parser = _Parser((FiFaArguments, FiFaSFTConfig), visible=visible)
    parser.description = __doc__.split("\n\n")[0]
    if not show_all:
        parser.epilog = ("These are FiFa's options and the trainer's most common ones; --help-all lists every SFTConfig / TrainingArguments option "
                         "and the levers of a model trained from scratch (--augment, --forensic-input, --reals-per-batch, ...).")
    on_gpu = torch.cuda.is_available()
    parser.set_defaults(
        remove_unused_columns=False,  # the mask columns must reach the collator
        dataset_kwargs={"skip_prepare_dataset": True},
        max_length=None,
        bf16=on_gpu and torch.cuda.is_bf16_supported(),
        activation_checkpointing=False,
        dataloader_pin_memory=on_gpu,
        learning_rate=3e-4,
        per_device_train_batch_size=4,
        per_device_eval_batch_size=4,
        prediction_loss_only=True,
        logging_steps=10,
        save_steps=500,
        report_to="none",
    )
    if show_all:
        parser.print_help()
        raise SystemExit(0)
    fifa, config, unknown = parser.parse_args_into_dataclasses(args=argv, return_remaining_strings=True)
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if not cli.configure_progress(fifa.no_progress):
        config.disable_tqdm = True
    return fifa, config


def check_model_argument(name: str) -> None:
    """Before any work: ``--model`` is a tiny base, an existing folder, or a Hub id (``./nope`` is a missing folder)."""
    path = Path(name).expanduser()
    if name in TINY_MODELS or path.is_dir():
        return
    if path.exists():
        raise cli.UsageError(f"--model {name}: a file, not a model folder")
    if not _HUB_MODEL_ID.match(name):
        raise cli.UsageError(f"--model {name}: no such folder")


def build_model(args: FiFaArguments, train_texts, dtype: torch.dtype | None, seed: int) -> FiFaModel:
    """A new FiFa-MLLM on the chosen base, or a FiFa checkpoint to go on training."""
    if (Path(args.model) / CONFIG_FILE).is_file():
        model = FiFaModel.from_pretrained(args.model, dtype=dtype, trainable=True)
    else:
        model = _new_model(args, train_texts, dtype, seed)
    tiny = model.fifa_config.base_model.startswith("tiny")
    train_vision = args.train_vision_tower if args.train_vision_tower is not None else tiny
    if model.fifa_config.lora is None and (args.lora if args.lora is not None else not tiny):
        targets = tuple(cli.split_items(args.lora_target_modules))
        model.add_lora(r=args.lora_r, alpha=args.lora_alpha, dropout=args.lora_dropout, target_modules=targets, train_vision_tower=train_vision)
    elif model.fifa_config.lora is None and not train_vision:
        model.freeze_vision_tower()  # under LoRA, peft has frozen everything but what it trains already
    return model


def _new_model(args: FiFaArguments, train_texts, dtype: torch.dtype | None, seed: int) -> FiFaModel:
    composed = bool(args.vision_tower or args.language_model)
    tiny = args.model in TINY_MODELS and not composed
    heads = {"mask_size": args.mask_size or (64 if tiny else 128), "decoder_dim": args.decoder_dim or (64 if tiny else 256)}
    heads["decoder_heads"] = 4 if heads["decoder_dim"] < 128 else 8
    heads["image_summary"] = args.image_summary
    if args.forensic_input and not tiny:
        raise cli.UsageError(f"--forensic-input: only for a tiny model trained from scratch; {args.model}'s vision tower takes 3 channels")
    if args.energy_window and not args.forensic_input:
        raise cli.UsageError("--energy-window: the energy of the SRM residuals needs --forensic-input true")
    if args.energy_window < 0 or (args.energy_window and args.energy_window % 2 == 0):
        raise cli.UsageError(f"--energy-window {args.energy_window}: an odd number of pixels, or 0")
    sized = (args.tiny_hidden, args.tiny_layers, args.patch_size) != (64, 2, 8)
    if sized and not tiny:
        raise cli.UsageError(f"--tiny-hidden, --tiny-layers, --patch-size: only for a tiny model, not {args.model}")
    if composed:
        if not (args.vision_tower and args.language_model):
            raise cli.UsageError("--vision-tower, --language-model: composing a LLaVA needs both")
        base, processor = compose_llava_from_pretrained(args.vision_tower, args.language_model, seed=seed)
        return FiFaModel.create(base, processor, base_model=f"compose:{args.vision_tower}+{args.language_model}", seed=seed, **heads)
    if tiny:
        family = TINY_MODELS[args.model]
        if family == "llava":
            channels = 3 + forensic_channel_count(args.forensic_input, args.energy_window)
            base, processor = TINY[family](
                train_texts, image_size=args.image_size, channels=channels, hidden=args.tiny_hidden, layers=args.tiny_layers,
                patch_size=args.patch_size, seed=seed,
            )
        elif args.forensic_input or args.image_size != 112 or args.patch_size != 8:
            raise cli.UsageError(f"--forensic-input, --image-size, --patch-size: only for --model tiny, not {args.model}")
        else:
            base, processor = TINY[family](train_texts, hidden=args.tiny_hidden, layers=args.tiny_layers, seed=seed)
        return FiFaModel.create(
            base, processor, base_model=f"tiny-{family}", seed=seed, forensic_input=args.forensic_input, energy_window=args.energy_window, **heads
        )
    try:
        return FiFaModel.from_base(args.model, dtype=dtype, seed=seed, **heads)
    except OSError as error:
        if Path(args.model).expanduser().exists():
            raise
        raise cli.UsageError(f"--model {args.model}: no such folder, and not loadable from the Hub ({' '.join(str(error).split())})") from error


def train(args: FiFaArguments, config: FiFaSFTConfig) -> FiFaTrainer:
    """Load the configs, build or reload the model, train, save to ``config.output_dir``; returns the trainer.

    The main process holds ``--output-dir``'s lock throughout, so a second run into it is refused.
    """
    check_output(config.output_dir, is_fifa_run, overwrite=args.overwrite, flag="--output-dir")  # before any work
    if not (config.resume_from_checkpoint or args.vision_tower or args.language_model):
        check_model_argument(args.model)
    with output_lock(config.output_dir, flag="--output-dir") if PartialState().is_main_process else nullcontext():
        return _train(args, config)


def _train(args: FiFaArguments, config: FiFaSFTConfig) -> FiFaTrainer:
    configs, weights = parse_configs(args.configs, args.weights)
    train = load_split(args.dataset, configs, "train", weights=weights, limit=args.limit, seed=config.seed)
    if train is None:
        raise empty_split_error(args.dataset, "train") or cli.UsageError(f"{args.dataset}: has no train split for {', '.join(configs)}")
    evaluation = None if args.eval_split == "none" else load_split(args.dataset, configs, args.eval_split, limit=args.limit)
    if evaluation is None:
        config.eval_strategy = "no"
    elif config.eval_strategy == "no":
        config.eval_strategy, config.eval_steps = "steps", config.eval_steps or config.save_steps

    checkpoint = config.resume_from_checkpoint
    if checkpoint in ("latest", "True", "true"):
        checkpoint = get_last_checkpoint(config.output_dir)
        if checkpoint is None:
            raise cli.UsageError(f"--resume-from-checkpoint latest: no checkpoint in {config.output_dir}")
    dtype = torch.bfloat16 if config.bf16 else None  # a pretrained base loads in bf16; FiFa's heads stay fp32
    if checkpoint:
        args.model = checkpoint  # the checkpoint's own tokenizer, base and heads; the trainer state follows
    model = build_model(args, texts_of(train), dtype, config.seed)
    fifa = model.fifa_config
    if config.balanced_bce is None:
        config.balanced_bce = fifa.base_model.startswith("tiny")  # a decoder from scratch: see `model.heads.mask_losses`
    collator = FiFaCollator(
        model.processor, fifa.family, mask_size=fifa.mask_size, tasks=fifa.tasks, max_length=config.max_length,
        augment=args.augment, min_scale=args.augment_min_scale, shift=args.augment_shift, forensic_input=fifa.forensic_input, energy_window=fifa.energy_window,
        empty_real_masks=args.empty_real_masks, seed=config.seed,
    )
    trainer = FiFaTrainer(
        model=model,
        args=config,
        data_collator=collator,
        train_dataset=train,
        eval_dataset=evaluation,
        processing_class=model.processor,
    )
    trainer.card_facts = {"dataset": args.dataset, "configs": configs}
    trainer.reals_per_batch = args.reals_per_batch
    trainer.reals_by_task = args.reals_by_task
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    say = print if trainer.is_world_process_zero() else (lambda *_: None)
    say(f"FiFa-MLLM on {model.fifa_config.base_model}: {trainable:,} of {total:,} parameters trained; {len(train):,} training rows from {', '.join(configs)}")
    with training_output(config.output_dir, resuming=bool(checkpoint), overwrite=args.overwrite):
        trainer.train(resume_from_checkpoint=checkpoint)
        trainer.save_model(config.output_dir)
        trainer.create_model_card()
    say(f"saved to {config.output_dir}")
    return trainer


def is_fifa_run(folder: Path) -> bool:
    """A folder that FiFa training wrote: a saved model, or the checkpoints of an unfinished run."""
    return (folder / CONFIG_FILE).is_file() or any((c / CONFIG_FILE).is_file() for c in folder.glob("checkpoint-*"))


@contextmanager
def training_output(output_dir: str | Path, *, resuming: bool, overwrite: bool = False) -> Iterator[None]:
    """Train into ``output_dir`` as the Trainer does, never over another program's files.

    A resumed run keeps the folder. A new run over an earlier FiFa run moves the earlier one aside
    and drops it on success. An interrupted run keeps the checkpoints it saved (``--resume-from-checkpoint
    latest`` goes on from them); one that saved none puts the earlier folder back as it was. Under
    several processes (``accelerate launch``) the main one moves the folders, and the others wait.
    """
    out = Path(output_dir)
    state = PartialState()
    main = state.is_main_process
    check_output(out, is_fifa_run, overwrite=overwrite, flag="--output-dir")
    old = out.parent / f".{out.name}.old"
    if main and old.exists():
        shutil.rmtree(old)
    if main and out.exists() and not resuming:
        out.rename(old)
    state.wait_for_everyone()
    try:
        yield
    except BaseException as error:
        last = get_last_checkpoint(str(out)) if out.is_dir() else None
        if last:
            kept = f"{last} kept (go on with --resume-from-checkpoint latest)"
            if main:
                shutil.rmtree(old, ignore_errors=True)
        else:
            if main and not resuming:
                shutil.rmtree(out, ignore_errors=True)
                if old.exists():
                    old.rename(out)
            kept = f"{out} unchanged" if out.exists() else "nothing saved"
        if isinstance(error, KeyboardInterrupt):
            raise Interrupted(kept) from None
        raise
    if main:
        shutil.rmtree(old, ignore_errors=True)


@cli.command
def main(argv: list[str] | None = None) -> int:
    train(*parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
