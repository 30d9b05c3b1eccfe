"""A tiny face encoder (CLIP format) and a tiny causal LM saved as separate checkpoints, to compose a LLaVA from."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from transformers import CLIPImageProcessorPil, CLIPVisionConfig, CLIPVisionModel, LlamaConfig, LlamaForCausalLM

from model.tiny import train_tokenizer


def save_encoder_and_llm(folder: Path, texts: Iterable[str]) -> tuple[Path, Path, CLIPVisionModel, LlamaForCausalLM]:
    """Write ``folder/face-encoder`` and ``folder/llm`` (with a tokenizer trained on ``texts``)."""
    tokenizer = train_tokenizer(texts)
    vision = CLIPVisionModel(CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=64, patch_size=16))
    vision.save_pretrained(folder / "face-encoder")
    CLIPImageProcessorPil(size={"shortest_edge": 64}, crop_size={"height": 64, "width": 64}).save_pretrained(folder / "face-encoder")
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=48, intermediate_size=96, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2)
    language = LlamaForCausalLM(config)
    language.save_pretrained(folder / "llm")
    tokenizer.save_pretrained(folder / "llm")
    return folder / "face-encoder", folder / "llm", vision, language
