"""A saved tiny random FiFa-MLLM that answers the age question about the astronaut with a [SEG] (the
``checkpoint`` fixture of conftest.py, shared by the inference and Explorer tests)."""

from __future__ import annotations

from pathlib import Path

import torch

from fifa_data.tasks.questions import QUESTIONS
from model.collator import FiFaCollator
from model.generation import generate_ids
from model.infer import build_row, make_question
from model.modeling import FiFaModel
from model.tiny import tiny_llava

TEXTS = [
    *(q for phrasings in QUESTIONS.values() for q in phrasings),
    "The <p>upper lip</p> [SEG] is darker than the skin around it, and <p>the nose</p> [SEG] looks blurred.",
    "Sure, <p>the left eye</p> [SEG].",
    "Yes, the box contains manipulated pixels.",
    "No, the nose looks authentic.",
] * 3


def save_tiny_checkpoint(folder: Path, photo: Path) -> Path:
    """Save into ``folder`` a tiny random FiFa-MLLM whose first greedy answer token to the age question about ``photo`` is [SEG]."""
    base, processor = tiny_llava(TEXTS)
    model = FiFaModel.create(base, processor, base_model="tiny-llava", mask_size=32, decoder_dim=32, decoder_heads=4).eval()
    row = build_row("age", photo.read_bytes(), photo.name, make_question("age", None))
    _prefer_seg(model, row)
    return model.save_pretrained(folder)


def _prefer_seg(model: FiFaModel, row: dict) -> None:
    """Give [SEG] 1.5 x the output row of the random model's favourite first token (as in test_generation)."""
    collator = FiFaCollator(model.processor, model.fifa_config.family, mask_size=model.fifa_config.mask_size, with_answers=False)
    favourite = generate_ids(model, collator([row]), max_new_tokens=1)[0][0][0]
    with torch.no_grad():
        head = model.base.get_output_embeddings().weight
        head[model.seg_token_id] = 1.5 * head[favourite]
