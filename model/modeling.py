"""FiFa-MLLM: an image-text-to-text model that explains a forgery and emits one mask per ``[SEG]``.

:class:`FiFaModel` wraps a Hugging Face base model of a supported family (:mod:`model.families`)
and adds, as in the paper:

* the tokens ``<p>``, ``</p>``, ``[SEG]``, ``<region>`` and one task token per FiFa-11 task;
* a mask decoder fed by the base's own patch features and the hidden state of every ``[SEG]``;
* a region encoder that pools the patch features inside a query box or concept mask into the
  embedding of the ``<region>`` token;
* a learned task embedding added at the task token.

A checkpoint folder holds ``fifa_config.json``, ``fifa_heads.safetensors``, the processor, and
either a LoRA adapter (``adapter_model.safetensors``, new token rows included) or the base
weights under ``base/`` (full fine-tuning, or a base that cannot be re-read from the Hub: the
tiny one). Nothing is pickled; nothing runs remote code.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoModelForImageTextToText

from fifa_data.core.errors import UsageError
from fifa_data.core.markup import P_CLOSE, P_OPEN, SEG
from fifa_data.core.schema import TASKS
from model.families import FAMILIES, _inner, family_of, load_processor, square_without_crop
from model.heads import MaskDecoder, RegionEncoder, mask_losses

REGION = "<region>"  # where a region or box query's encoding goes in the prompt
CONFIG_FILE, HEADS_FILE, BASE_DIR = "fifa_config.json", "fifa_heads.safetensors", "base"


def task_token(task: str) -> str:
    """The special token that starts every prompt of ``task``."""
    return f"<task_{task}>"


FIFA_TOKENS: tuple[str, ...] = (P_OPEN, P_CLOSE, SEG, REGION, *(task_token(t) for t in TASKS))


@dataclass
class FiFaConfig:
    """What a FiFa-MLLM checkpoint is: its base, its heads, and how the base was adapted."""

    family: str
    base_model: str  # a Hub id or local path the base loads from; "tiny-*" / "compose:*" live only in base/
    tasks: tuple[str, ...] = TASKS
    mask_size: int = 64  # side of the square grid masks and regions live on (the whole image)
    decoder_dim: int = 256
    decoder_heads: int = 8
    decoder_layers: int = 2
    lora: dict | None = None  # peft LoraConfig fields when the base is adapted with LoRA
    base_in_checkpoint: bool = False
    forensic_input: bool = False  # the vision tower also reads the image's SRM residual channels (model.augment)
    energy_window: int = 0  # ... and their local energy over this window in pixels (0: not)
    image_summary: bool = False  # the task token also carries the whole image's pooled patch features (mean and peak)

    def to_json(self) -> str:
        return json.dumps(asdict(self) | {"tasks": list(self.tasks)}, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> FiFaConfig:
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: tuple(v) if k == "tasks" else v for k, v in data.items() if k in known})


@dataclass
class FiFaOutput:
    """One forward pass: the loss terms (zero when a batch has nothing to score) and the masks."""

    ce: torch.Tensor
    bce: torch.Tensor
    dice: torch.Tensor
    mask_logits: torch.Tensor  # (number of [SEG] tokens in the batch, mask_size, mask_size)
    seg_rows: torch.Tensor  # the batch row of each mask
    hidden_states: torch.Tensor = field(repr=False)


class FiFaModel(nn.Module):
    """A base image-text-to-text model plus FiFa's mask decoder, region encoder and task embedding.

    ``config`` and ``generation_config`` are the base model's, so ``Trainer`` and TRL treat it as
    the base; FiFa's own settings are ``fifa_config``.
    """

    accepts_loss_kwargs = False  # Trainer scales the loss for gradient accumulation itself

    def __init__(self, base: nn.Module, processor, config: FiFaConfig):
        super().__init__()
        self.base = base
        self.processor = processor
        self.fifa_config = config
        self.family = FAMILIES[config.family]
        tokenizer = processor.tokenizer
        missing = [t for t in FIFA_TOKENS if tokenizer.convert_tokens_to_ids(t) in (None, tokenizer.unk_token_id)]
        if missing:
            raise ValueError(f"the tokenizer lacks FiFa's tokens {missing}; build the model with FiFaModel.create")
        ids = tokenizer.convert_tokens_to_ids
        self.seg_token_id, self.region_token_id = ids(SEG), ids(REGION)
        self.task_token_ids = [ids(task_token(t)) for t in config.tasks]
        self.image_token_id = self.family.image_token_id(base)
        hidden = base.config.get_text_config().hidden_size
        self.mask_decoder = MaskDecoder(hidden, hidden, config.decoder_dim, config.decoder_heads, config.decoder_layers)
        self.region_encoder = RegionEncoder(hidden, hidden)
        self.task_embedding = nn.Embedding(len(config.tasks), hidden)
        nn.init.zeros_(self.task_embedding.weight)  # starts as a no-op on a pretrained base
        self.summary_encoder = RegionEncoder(hidden, hidden) if config.image_summary else None
        if self.summary_encoder is not None:
            nn.init.zeros_(self.summary_encoder.mlp[-1].weight)  # a no-op at first, as the task embedding
            nn.init.zeros_(self.summary_encoder.mlp[-1].bias)

    @property
    def config(self):
        return self.base.config

    @property
    def generation_config(self):
        return self.base.generation_config

    def add_model_tags(self, tags) -> None:
        self.base.add_model_tags(tags)

    def activation_checkpointing_enable(self, activation_checkpointing_kwargs: dict | None = None, **kwargs) -> None:
        self.base.activation_checkpointing_enable(activation_checkpointing_kwargs, **kwargs)

    def enable_input_require_grads(self) -> None:
        self.base.enable_input_require_grads()

    # --- construction ---------------------------------------------------------------------

    @classmethod
    def create(cls, base: nn.Module, processor, *, base_model: str, seed: int = 0, **config) -> FiFaModel:
        """Add FiFa's tokens to ``processor``'s tokenizer, resize ``base``'s embeddings, attach new heads."""
        family = family_of(base.config.model_type)
        if family.name == "llava":
            square_without_crop(processor.image_processor)
        tokenizer = processor.tokenizer
        tokenizer.add_tokens([t for t in FIFA_TOKENS if t not in tokenizer.get_vocab()], special_tokens=True)
        torch.manual_seed(seed)
        if len(tokenizer) > base.get_input_embeddings().num_embeddings:
            base.resize_token_embeddings(len(tokenizer), mean_resizing=False)
        torch.manual_seed(seed)
        return cls(base, processor, FiFaConfig(family=family.name, base_model=base_model, **config))

    @classmethod
    def from_base(cls, name_or_path: str, *, dtype: torch.dtype | None = None, **config) -> FiFaModel:
        """A new FiFa-MLLM on a pretrained base (Hub id or local folder; cached files only when offline)."""
        base = AutoModelForImageTextToText.from_pretrained(name_or_path, dtype=dtype)
        processor = load_processor(name_or_path, family_of(base.config.model_type))
        return cls.create(base, processor, base_model=str(name_or_path), **config)

    def add_lora(
        self,
        *,
        r: int = 8,
        alpha: int = 16,
        dropout: float = 0.05,
        target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj"),
        train_vision_tower: bool = False,
    ) -> None:
        """Adapt the language model with LoRA; the projector (or the whole vision tower) and the new token rows train fully."""
        from peft import LoraConfig, get_peft_model

        new_ids = [self.processor.tokenizer.convert_tokens_to_ids(t) for t in FIFA_TOKENS]
        lora = {
            "r": r,
            "lora_alpha": alpha,
            "lora_dropout": dropout,
            "target_modules": rf".*language_model.*\.({'|'.join(target_modules)})",
            "modules_to_save": self._fully_trained(train_vision_tower),
            "trainable_token_indices": _token_modules(self.base, new_ids),
        }
        self.base = get_peft_model(self.base, LoraConfig(**lora))
        self.fifa_config.lora = lora

    def _fully_trained(self, train_vision_tower: bool) -> list[str]:
        """The vision modules LoRA leaves fully trainable: the projector, or the whole tower with it."""
        tower, projector = self.family.vision_tower, self.family.projector
        if not train_vision_tower:
            return [projector]
        return [tower] if projector.startswith(tower + ".") else [tower, projector]

    def freeze_vision_tower(self) -> None:
        """Keep the vision encoder as pretrained; its projector into the LLM stays trainable."""
        inner = _inner(self.base)
        inner.get_submodule(self.family.vision_tower).requires_grad_(False)
        inner.get_submodule(self.family.projector).requires_grad_(True)

    # --- forward ---------------------------------------------------------------------------

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        pixel_values: torch.Tensor,
        labels: torch.Tensor | None = None,
        seg_masks: torch.Tensor | None = None,
        region_masks: torch.Tensor | None = None,
        task_ids: torch.Tensor | None = None,
        ce_reduction: str = "token",
        balanced_bce: bool = False,
        **inputs,
    ) -> FiFaOutput:
        """Run the base on the batch with FiFa's inputs injected; decode a mask for every ``[SEG]``.

        ``ce_reduction`` is ``"token"`` (the mean over every answer token of the batch) or ``"row"``
        (each row's mean, then the mean over rows: a one-word verdict weighs as much as a long
        explanation). ``balanced_bce`` weighs each mask's edited and untouched pixels equally in the
        BCE (`model.heads.mask_losses`).
        """
        embeds, features = self.prompt_embeddings(input_ids, pixel_values, region_masks, task_ids, inputs)
        region_used = region_masks is not None and bool((input_ids == self.region_token_id).any())
        hidden = self.family.last_hidden_state(self.base, input_ids, embeds, attention_mask, inputs)

        zero = hidden.new_zeros(())
        ce = self._ce(hidden, labels, ce_reduction) if labels is not None else zero
        logits, rows = self._decode_masks(hidden, input_ids, features)
        bce = dice = zero
        if seg_masks is not None and len(seg_masks):
            if len(seg_masks) != len(logits):
                raise ValueError(f"the batch has {len(logits)} [SEG] tokens but {len(seg_masks)} masks")
            bce, dice = mask_losses(logits.float(), seg_masks, balanced=balanced_bce)
        if self.training:  # every head joins the graph in every step, as distributed training needs
            unused = [m for m, used in ((self.mask_decoder, len(logits) > 0), (self.region_encoder, region_used)) if not used]
            bce = bce + sum((p.sum() * 0.0 for m in unused for p in m.parameters()), zero)
        return FiFaOutput(ce=ce, bce=bce, dice=dice, mask_logits=logits, seg_rows=rows, hidden_states=hidden)

    def prompt_embeddings(
        self,
        input_ids: torch.Tensor,
        pixel_values: torch.Tensor,
        region_masks: torch.Tensor | None = None,
        task_ids: torch.Tensor | None = None,
        inputs: dict | None = None,
    ) -> tuple[torch.Tensor, list]:
        """The input embeddings with image features, task embeddings and region embeddings in place; and the patch features."""
        features = self.family.patch_features(self.base, pixel_values, inputs or {})
        embeds = self.base.get_input_embeddings()(input_ids)
        embeds = self._scatter_images(embeds, input_ids, features)
        if task_ids is not None:
            embeds = self._add_tasks(embeds, input_ids, task_ids)
            if self.summary_encoder is not None:
                embeds = self._add_summaries(embeds, input_ids, features)
        if region_masks is not None and bool((input_ids == self.region_token_id).any()):
            embeds = self._inject_regions(embeds, input_ids, features, region_masks)
        return embeds, features

    def _scatter_images(self, embeds: torch.Tensor, input_ids: torch.Tensor, features) -> torch.Tensor:
        slots = input_ids == self.image_token_id
        flat = torch.cat([f for f, _ in features]).to(embeds.dtype)
        if int(slots.sum()) != flat.shape[0]:
            raise ValueError(f"{int(slots.sum())} image tokens in the text but {flat.shape[0]} image features")
        return embeds.masked_scatter(slots[..., None].expand_as(embeds), flat)

    def _add_tasks(self, embeds: torch.Tensor, input_ids: torch.Tensor, task_ids: torch.Tensor) -> torch.Tensor:
        is_task = torch.isin(input_ids, torch.tensor(self.task_token_ids, device=input_ids.device))
        added = self.task_embedding(task_ids).to(embeds.dtype)[:, None, :] * is_task[..., None]
        return embeds + added

    def _add_summaries(self, embeds: torch.Tensor, input_ids: torch.Tensor, features) -> torch.Tensor:
        """Add each image's summary (its patch features' mean and peak, `RegionEncoder` over the whole image) at the task token,
        where the first answer token is predicted: a verdict can read evidence anywhere in the image in one step."""
        is_task = torch.isin(input_ids, torch.tensor(self.task_token_ids, device=input_ids.device))
        dtype = self.summary_encoder.mlp[1].weight.dtype
        summaries = torch.stack([self.summary_encoder(f.to(dtype), grid, f.new_ones(grid, dtype=dtype)) for f, grid in features])
        return embeds + summaries.to(embeds.dtype)[:, None, :] * is_task[..., None]

    def _inject_regions(self, embeds: torch.Tensor, input_ids: torch.Tensor, features, region_masks: torch.Tensor) -> torch.Tensor:
        is_region = input_ids == self.region_token_id
        rows = is_region.any(1)
        encoded = torch.zeros(embeds.shape[0], embeds.shape[-1], device=embeds.device, dtype=embeds.dtype)
        dtype = self.region_encoder.mlp[1].weight.dtype
        for b in torch.nonzero(rows).flatten().tolist():
            f, grid = features[b]
            encoded[b] = self.region_encoder(f.to(dtype), grid, region_masks[b]).to(embeds.dtype)
        return torch.where(is_region[..., None], encoded[:, None, :], embeds)

    def _ce(self, hidden: torch.Tensor, labels: torch.Tensor, reduction: str = "token") -> torch.Tensor:
        """Next-token cross-entropy on the labelled positions only (no full-vocabulary logits)."""
        if reduction not in ("token", "row"):
            raise ValueError(f"ce_reduction must be 'token' or 'row', not {reduction!r}")
        targets = labels[:, 1:]
        scored = targets != -100
        if not bool(scored.any()):
            return hidden.new_zeros(()) + 0.0 * hidden.sum()
        logits = self.base.get_output_embeddings()(hidden[:, :-1][scored])
        losses = F.cross_entropy(logits.float(), targets[scored], reduction="none")
        if reduction == "token":
            return losses.mean()
        rows = torch.nonzero(scored)[:, 0]
        per_row = torch.zeros(len(labels), device=losses.device).index_add_(0, rows, losses)
        counts = scored.sum(1)
        return (per_row[counts > 0] / counts[counts > 0]).mean()

    def _decode_masks(self, hidden: torch.Tensor, input_ids: torch.Tensor, features) -> tuple[torch.Tensor, torch.Tensor]:
        is_seg = input_ids == self.seg_token_id
        queries = [hidden[b][is_seg[b]] for b in range(len(hidden))]
        logits = self.decode_masks(queries, features)
        rows = [b for b, q in enumerate(queries) for _ in range(len(q))]
        return logits, torch.tensor(rows, dtype=torch.long, device=hidden.device)

    def decode_masks(self, queries: list[torch.Tensor], features) -> torch.Tensor:
        """Mask logits ``(n, mask_size, mask_size)`` for each row's ``[SEG]`` hidden states, row by row."""
        size = self.fifa_config.mask_size
        dtype = self.mask_decoder.query_proj[0].weight.dtype  # the heads may stay fp32 on a bf16 base
        out = []
        for (f, grid), q in zip(features, queries):
            if len(q):
                logits = self.mask_decoder(f.to(dtype), grid, q.to(dtype))
                out.append(F.interpolate(logits[None].float(), size=(size, size), mode="bilinear", align_corners=False)[0])
        if not out:
            return torch.zeros((0, size, size), dtype=torch.float32, device=features[0][0].device)
        return torch.cat(out)

    # --- saving and loading ------------------------------------------------------------------

    def heads_state_dict(self) -> dict[str, torch.Tensor]:
        """The FiFa heads' weights (everything that is not the base model)."""
        return {k: v.detach().contiguous() for k, v in self.state_dict().items() if not k.startswith("base.")}

    def save_pretrained(self, out: str | Path) -> Path:
        """Write the checkpoint folder (see the module docstring); returns it."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        self.processor.save_pretrained(out)
        save_file(self.heads_state_dict(), out / HEADS_FILE, metadata={"format": "pt"})
        is_peft = hasattr(self.base, "peft_config")
        keep_base = not is_peft or not _reloadable(self.fifa_config.base_model)
        if is_peft:
            self.base.save_pretrained(out)
        if keep_base:
            base = copy.deepcopy(self.base).unload() if is_peft else self.base
            base.save_pretrained(out / BASE_DIR)
        config = copy.copy(self.fifa_config)
        config.base_in_checkpoint = keep_base
        (out / CONFIG_FILE).write_text(config.to_json())
        return out

    @classmethod
    def from_pretrained(cls, path: str | Path, *, dtype: torch.dtype | None = None, trainable: bool = False) -> FiFaModel:
        """Load a checkpoint written by :meth:`save_pretrained` (safetensors only)."""
        path = Path(path)
        if not (path / CONFIG_FILE).is_file():
            raise FileNotFoundError(f"{path}: not a FiFa-MLLM checkpoint (no {CONFIG_FILE})")
        config = FiFaConfig.from_json((path / CONFIG_FILE).read_text())
        family = FAMILIES[config.family]
        base_path = path / BASE_DIR if config.base_in_checkpoint else config.base_model
        base = AutoModelForImageTextToText.from_pretrained(base_path, dtype=dtype)
        processor = load_processor(path, family)
        if len(processor.tokenizer) > base.get_input_embeddings().num_embeddings:
            base.resize_token_embeddings(len(processor.tokenizer), mean_resizing=False)
        if config.lora is not None:
            from peft import PeftModel

            base = PeftModel.from_pretrained(base, path, is_trainable=trainable)
        model = cls(base, processor, config)
        heads = load_file(path / HEADS_FILE)
        missing = set(model.heads_state_dict()) - set(heads)
        if missing:
            raise ValueError(f"{path / HEADS_FILE} lacks {sorted(missing)[:3]}")
        model.load_state_dict(heads, strict=False)
        return model  # the base in `dtype`; the heads stay fp32, as in training


class CheckpointError(UsageError):
    """A ``--model`` that is no FiFa-MLLM checkpoint folder; the message names it and the reason."""


def check_model_folder(path: str) -> None:
    """A cheap check before any work: ``path`` is a folder that holds a FiFa-MLLM checkpoint."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise CheckpointError(f"--model {path}: no such folder")
    if not folder.is_dir():
        raise CheckpointError(f"--model {path}: a file, not a checkpoint folder")
    if not (folder / CONFIG_FILE).is_file():
        raise CheckpointError(f"--model {path}: not a FiFa-MLLM checkpoint (no {CONFIG_FILE})")


def load_weights(model: FiFaModel, path: str | Path) -> None:
    """Load a checkpoint's trained weights (heads, and adapter or base) into an existing model in place."""
    path = Path(path)
    model.load_state_dict(load_file(path / HEADS_FILE), strict=False)
    if hasattr(model.base, "peft_config"):
        from peft import set_peft_model_state_dict

        set_peft_model_state_dict(model.base, load_file(path / "adapter_model.safetensors"))
        return
    # transformers renames some weights on save (LLaVA's legacy layout), so let it read them back
    saved = AutoModelForImageTextToText.from_pretrained(path / BASE_DIR, dtype=next(model.base.parameters()).dtype)
    model.base.load_state_dict(saved.state_dict())


def _reloadable(base_model: str) -> bool:
    """Whether a base can be read again from its name (a Hub id or folder), not only from the checkpoint."""
    return bool(base_model) and not base_model.startswith(("tiny", "compose:"))


def _token_modules(base: nn.Module, token_ids: list[int]) -> dict[str, list[int]]:
    """peft's ``trainable_token_indices``: the new rows of the input embedding and, if untied, the LM head."""
    embed_name = next(n for n, m in base.named_modules() if m is base.get_input_embeddings()).split(".")[-1]
    out = {embed_name: token_ids}
    head = base.get_output_embeddings()
    if head is not None and head.weight is not base.get_input_embeddings().weight:
        out[next(n for n, m in base.named_modules() if m is head).split(".")[-1]] = token_ids
    return out
