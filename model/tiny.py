"""Tiny random-initialised base models and a tokenizer trained offline, so FiFa-MLLM runs anywhere.

``--model tiny`` never downloads anything: the tokenizer is a byte-level BPE trained in a fraction
of a second on the dataset's own text, and the base is a small LLaVA (a CLIP vision tower composed
with a Llama LM, the way the paper pairs a face encoder with an LLM) or a small Qwen2-VL. The same
:func:`compose_llava` composes any pretrained vision tower with any pretrained causal LM.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    AutoModel,
    AutoModelForCausalLM,
    AutoTokenizer,
    CLIPImageProcessorPil,
    CLIPVisionConfig,
    CLIPVisionModel,
    LlamaConfig,
    LlamaForCausalLM,
    LlavaConfig,
    LlavaForConditionalGeneration,
    LlavaProcessor,
    PreTrainedTokenizerFast,
    Qwen2VLConfig,
    Qwen2VLForConditionalGeneration,
    Qwen2VLImageProcessorPil,
)

from model.families import Qwen2VLImageProcessor, _pil_image_processor, square_without_crop

CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}{{ image_marker }}"
    "{% else %}{{ part['text'] }}{% endif %}{% endfor %}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
LLAVA_IMAGE = "<image>"
QWEN_IMAGE = "<|vision_start|><|image_pad|><|vision_end|>"
ROLE_TOKENS = ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
BASE_SPECIALS = ["<unk>", "<s>", "</s>", "<pad>", *ROLE_TOKENS]
QWEN_SPECIALS = ["<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]


def train_tokenizer(texts: Iterable[str], vocab_size: int = 1024, image_tokens: tuple[str, ...] = (LLAVA_IMAGE,)) -> PreTrainedTokenizerFast:
    """A byte-level BPE trained on ``texts`` (seconds, offline), with chat and image special tokens."""
    specials = [*BASE_SPECIALS, *image_tokens]
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    bpe.train_from_iterator(texts, trainer)
    extra = {"image_token": "<|image_pad|>" if "<|image_pad|>" in image_tokens else LLAVA_IMAGE}
    if "<|video_pad|>" in image_tokens:
        extra["video_token"] = "<|video_pad|>"
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token="<s>",
        eos_token="<|end|>",
        pad_token="<pad>",
        unk_token="<unk>",
        extra_special_tokens=extra,
        padding_side="right",
    )


def _text_config(tokenizer, hidden: int, layers: int, heads: int) -> dict:
    return {
        "vocab_size": len(tokenizer),
        "hidden_size": hidden,
        "intermediate_size": 2 * hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": heads,
        "max_position_embeddings": 2048,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "tie_word_embeddings": False,
    }


def tiny_llava(
    texts: Iterable[str], *, image_size: int = 112, patch_size: int = 8, hidden: int = 64, layers: int = 2, heads: int = 4,
    channels: int = 3, seed: int = 0,
):
    """A random-initialised LLaVA (CLIP vision tower + Llama) and its processor: ``(model, processor)``.

    ``channels`` is the vision tower's input channels: 3, or more for a forensic input (`model.augment.srm_residuals`).
    """
    tokenizer = train_tokenizer(texts, image_tokens=(LLAVA_IMAGE,))
    torch.manual_seed(seed)
    vision = CLIPVisionModel(
        CLIPVisionConfig(
            hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers, num_attention_heads=heads,
            image_size=image_size, patch_size=patch_size, num_channels=channels,
        )
    )
    language = LlamaForCausalLM(LlamaConfig(**_text_config(tokenizer, hidden, layers, heads)))
    image_processor = CLIPImageProcessorPil(size={"height": image_size, "width": image_size}, do_center_crop=False)
    return compose_llava(vision, language, tokenizer, image_processor, seed=seed)


def compose_llava(vision, language, tokenizer, image_processor, *, seed: int = 0):
    """A LLaVA model from a separate vision tower and causal LM: weights copied, projector new.

    ``vision`` is a vision model (``CLIPVisionModel``, ``SiglipVisionModel``, a FaRL checkpoint in
    CLIP format, ...), ``language`` a causal LM; an ``<image>`` token is added to the tokenizer
    if missing. Returns ``(model, processor)``; images are squashed to a square, never cropped.
    """
    if tokenizer.convert_tokens_to_ids(LLAVA_IMAGE) in (None, tokenizer.unk_token_id):
        tokenizer.add_special_tokens({"additional_special_tokens": [LLAVA_IMAGE]})
    if getattr(tokenizer, "pad_token", None) is None:
        tokenizer.pad_token = tokenizer.eos_token
    vision_config = vision.config
    text_config = language.config
    if len(tokenizer) > text_config.vocab_size:
        language.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    torch.manual_seed(seed)
    config = LlavaConfig(
        vision_config=vision_config.to_dict(),
        text_config=language.config.to_dict(),
        image_token_id=tokenizer.convert_tokens_to_ids(LLAVA_IMAGE),
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
        tie_word_embeddings=getattr(language.config, "tie_word_embeddings", False),
    )
    model = LlavaForConditionalGeneration(config)
    inner = model.model
    inner.vision_tower.load_state_dict(vision.state_dict())
    inner.language_model.load_state_dict(language.get_decoder().state_dict())
    model.lm_head.load_state_dict(language.lm_head.state_dict())
    square_without_crop(image_processor, vision_config.image_size)
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=vision_config.patch_size,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1 if vision_config.model_type.startswith("clip") else 0,
        chat_template=getattr(tokenizer, "chat_template", None) or CHAT_TEMPLATE.replace("{{ image_marker }}", LLAVA_IMAGE),
    )
    return model.eval(), processor


def compose_llava_from_pretrained(vision_path: str, language_path: str, *, seed: int = 0):
    """:func:`compose_llava` from two checkpoints (local folders or Hub ids, read offline if cached)."""
    vision = AutoModel.from_pretrained(vision_path)
    if hasattr(vision.config, "vision_config"):  # a dual encoder (CLIP, SigLIP): keep its vision half
        vision = _vision_only(vision)
    language = AutoModelForCausalLM.from_pretrained(language_path)
    tokenizer = AutoTokenizer.from_pretrained(language_path)
    image_processor = _pil_image_processor(vision_path)
    return compose_llava(vision, language, tokenizer, image_processor, seed=seed)


def _vision_only(model):
    """The vision half of a dual-encoder checkpoint (CLIP, SigLIP), as its own vision model."""
    vision_model = AutoModel.from_config(model.config.vision_config)
    prefix = "vision_model."
    weights = {k: v for k, v in model.state_dict().items() if k.startswith(prefix)}
    vision_model.load_state_dict(weights)
    return vision_model


def tiny_qwen2_vl(texts: Iterable[str], *, hidden: int = 64, layers: int = 2, heads: int = 4, pixels: int = 112 * 112, seed: int = 0):
    """A random-initialised Qwen2-VL and its image-only processor: ``(model, processor)``."""
    tokenizer = train_tokenizer(texts, image_tokens=tuple(QWEN_SPECIALS))
    tokenizer.chat_template = CHAT_TEMPLATE.replace("{{ image_marker }}", QWEN_IMAGE)
    ids = tokenizer.convert_tokens_to_ids
    torch.manual_seed(seed)
    config = Qwen2VLConfig(
        text_config=_text_config(tokenizer, hidden, layers, heads)
        | {"rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]}},
        vision_config={
            "depth": layers,
            "embed_dim": hidden,
            "hidden_size": hidden,
            "num_heads": heads,
            "mlp_ratio": 2,
            "patch_size": 14,
            "spatial_merge_size": 2,
        },
        image_token_id=ids("<|image_pad|>"),
        video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"),
        vision_end_token_id=ids("<|vision_end|>"),
    )
    model = Qwen2VLForConditionalGeneration(config)
    image_processor = Qwen2VLImageProcessorPil(min_pixels=pixels, max_pixels=pixels)
    processor = Qwen2VLImageProcessor(image_processor, tokenizer, chat_template=tokenizer.chat_template)
    return model.eval(), processor


TINY = {"llava": tiny_llava, "qwen2_vl": tiny_qwen2_vl}
