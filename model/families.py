"""One small adapter per supported base family: how FiFa-MLLM reads a base model's patch features.

FiFa-MLLM needs three things from an image-text-to-text model, and each family spells them
differently: the image's patch features (which feed the LLM, the mask decoder and the region
encoder alike, so there is a single vision encoder), their grid, and a run of the language model
on input embeddings that already hold those features. Supported:

* ``llava``: LLaVA 1.5 style models, and any vision tower + causal LM composed into one
  (:func:`model.tiny.compose_llava`). Images are resized to a square without centre-cropping, so
  masks and boxes cover the whole photo.
* ``qwen2_vl``: Qwen2-VL and Qwen2.5-VL (native resolution, merged 2x2 patches, M-RoPE).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import transformers
from transformers import AutoTokenizer, LlavaProcessor, ProcessorMixin, Qwen2VLProcessor

PatchGrid = tuple[torch.Tensor, tuple[int, int]]  # (h * w, dim) features and their (h, w) grid


class Qwen2VLImageProcessor(Qwen2VLProcessor):
    """Qwen2-VL's processor without its video half, which cannot be built without torchvision."""

    def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
        self.image_token = getattr(tokenizer, "image_token", None) or "<|image_pad|>"
        self.video_token = getattr(tokenizer, "video_token", None) or "<|video_pad|>"
        self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
        self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)

    @classmethod
    def get_attributes(cls) -> list[str]:
        return ["image_processor", "tokenizer"]


@dataclass(frozen=True)
class Family:
    """How one family of base models exposes patch features and its language model."""

    name: str
    model_types: tuple[str, ...]
    projector: str  # the vision→LLM projector, relative to the inner model; trained fully under LoRA
    vision_tower: str  # the vision encoder, relative to the inner model; frozen unless asked otherwise
    extra_inputs: tuple[str, ...]  # processor outputs besides input_ids / attention_mask / pixel_values

    def image_token_id(self, base) -> int:
        config = base.config
        return config.image_token_id if getattr(config, "image_token_id", None) is not None else config.image_token_index

    def patch_features(self, base, pixel_values: torch.Tensor, inputs: dict) -> list[PatchGrid]:
        """Per image: the projected patch features (the tokens the LLM sees) and their grid."""
        inner = _inner(base)
        if self.name == "llava":
            config = base.config
            out = inner.get_image_features(
                pixel_values=pixel_values.to(next(inner.vision_tower.parameters()).dtype),
                vision_feature_layer=config.vision_feature_layer,
                vision_feature_select_strategy=config.vision_feature_select_strategy,
                return_dict=True,
            )
            patch = config.vision_config.patch_size
            grid = (pixel_values.shape[-2] // patch, pixel_values.shape[-1] // patch)
            features = []
            for f in out.pooler_output:
                if f.shape[0] == grid[0] * grid[1] + 1:  # "full" strategy keeps the CLS token
                    f = f[1:]
                features.append((f, grid))
            return features
        thw = inputs["image_grid_thw"]
        out = inner.get_image_features(pixel_values, thw, return_dict=True)
        merge = base.config.vision_config.spatial_merge_size
        return [(f, (int(g[1]) // merge, int(g[2]) // merge)) for f, g in zip(out.pooler_output, thw)]

    def positions(self, base, input_ids: torch.Tensor, attention_mask: torch.Tensor, inputs: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """Position ids of a (left- or right-padded) sequence, and each row's offset for the tokens that follow.

        A text token at count ``n`` (0-based, padding not counted) sits at position ``n + offset``:
        the offset is 0 for LLaVA and Qwen's M-RoPE ``rope_deltas`` (an image takes fewer positions
        than tokens).
        """
        if self.name == "llava":
            text = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
            return text, torch.zeros(len(input_ids), 1, dtype=torch.long, device=input_ids.device)
        extra = {k: inputs[k] for k in self.extra_inputs if k in inputs}
        return _inner(base).get_rope_index(input_ids, attention_mask=attention_mask, **extra)

    def run_language_model(self, base, inputs_embeds, attention_mask, position_ids, cache=None) -> torch.Tensor:
        """The language model's last hidden states for embeddings that already hold the image features."""
        language_model = _inner(base).language_model
        out = language_model(
            inputs_embeds=inputs_embeds, attention_mask=attention_mask, position_ids=position_ids, past_key_values=cache, use_cache=cache is not None
        )
        return out.last_hidden_state

    def last_hidden_state(self, base, input_ids, inputs_embeds, attention_mask, inputs: dict) -> torch.Tensor:
        """Run the language model on a whole sequence (training, scoring)."""
        position_ids, _ = self.positions(base, input_ids, attention_mask, inputs)
        return self.run_language_model(base, inputs_embeds, attention_mask, position_ids)

    def reduction(self, image_processor, width: int, height: int) -> int:
        """The largest integer factor an image can be box-reduced by and still exceed the model's input."""
        size = image_processor.size
        if self.name == "qwen2_vl":
            return max(1, math.isqrt(width * height // max(1, size["longest_edge"])))
        side = size.get("height") or size.get("shortest_edge") or 0
        return max(1, min(width, height) // side) if side else 1

    def processor_kwargs(self) -> dict:
        """Keyword arguments of every processor call."""
        return {"return_mm_token_type_ids": True} if self.name == "qwen2_vl" else {}


LLAVA = Family("llava", ("llava",), "multi_modal_projector", "vision_tower", ())
QWEN2_VL = Family("qwen2_vl", ("qwen2_vl", "qwen2_5_vl"), "visual.merger", "visual", ("image_grid_thw", "mm_token_type_ids"))
FAMILIES: dict[str, Family] = {f.name: f for f in (LLAVA, QWEN2_VL)}


def _inner(base):
    """The ``XxxModel`` inside a ``XxxForConditionalGeneration``, through a PEFT wrapper if any."""
    model = base.get_base_model() if hasattr(base, "get_base_model") else base
    return model.model


def family_of(model_type: str) -> Family:
    """The family of a base model's ``config.model_type``; a clear error for unsupported ones."""
    for family in FAMILIES.values():
        if model_type in family.model_types:
            return family
    supported = sorted(t for f in FAMILIES.values() for t in f.model_types)
    raise ValueError(f"base model type {model_type!r} is not supported; supported: {', '.join(supported)}")


def square_without_crop(ip, side: int | None = None) -> None:
    """Make a LLaVA image processor resize the whole photo to its square input (``side``), never crop it."""
    if side is None:
        side = ip.crop_size["height"] if getattr(ip, "do_center_crop", False) and ip.crop_size else ip.size.get("shortest_edge") or ip.size["height"]
    ip.do_center_crop = False
    ip.size = {"height": side, "width": side}


def load_processor(path: str | Path, family: Family):
    """A processor for ``path`` (a local folder or Hub id) built from Pillow image processors only."""
    tokenizer = AutoTokenizer.from_pretrained(path)
    image_processor = _pil_image_processor(path)
    chat_template = getattr(tokenizer, "chat_template", None)
    template_file = Path(path) / "chat_template.jinja"
    if template_file.is_file():
        chat_template = template_file.read_text()
    if family.name == "qwen2_vl":
        return Qwen2VLImageProcessor(image_processor, tokenizer, chat_template=chat_template)
    extra = _processor_config(path)
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        chat_template=chat_template,
        patch_size=extra.get("patch_size"),
        vision_feature_select_strategy=extra.get("vision_feature_select_strategy"),
        num_additional_image_tokens=extra.get("num_additional_image_tokens", 0),
        image_token=extra.get("image_token", "<image>"),
    )
    return processor


def _processor_config(path: str | Path) -> dict:
    from huggingface_hub import hf_hub_download

    local = Path(path) / "processor_config.json"
    if not local.is_file():
        try:
            local = Path(hf_hub_download(str(path), "processor_config.json"))
        except Exception:  # noqa: BLE001 - a model without one uses the defaults
            return {}
    data = json.loads(local.read_text())
    return data.get("processor", data) if isinstance(data, dict) else {}


def _pil_image_processor(path: str | Path):
    """The Pillow twin of the image processor a checkpoint names (no torchvision on CPU wheels)."""
    from transformers.image_processing_base import ImageProcessingMixin

    config, _ = ImageProcessingMixin.get_image_processor_dict(str(path))
    name = config.get("image_processor_type", "CLIPImageProcessor")
    base_name = name.removesuffix("Pil").removesuffix("Fast")
    cls = getattr(transformers, base_name + "Pil", None)
    if cls is None:
        raise ValueError(f"{path}: no Pillow image processor for {name!r}")
    return cls.from_pretrained(path)
