"""Answer FiFa-11 questions with a FiFa-MLLM: greedy decoding with FiFa's inputs, then one mask per ``[SEG]``.

``transformers``' ``generate`` cannot be used as is: the prompt's embeddings hold more than token
embeddings (the task embedding at the task token, the region encoder's output at ``<region>``),
and the mask of a ``[SEG]`` is decoded from the hidden state that token produces. So the prompt is
pre-filled once from :meth:`FiFaModel.prompt_embeddings` into a KV cache, then each step feeds
the last token; the hidden state of every generated ``[SEG]`` is kept and goes through the mask
decoder at the end. Positions follow the family's rules (Qwen's M-RoPE offsets included), so the
answer is the one a full forward over prompt + answer would score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from transformers import DynamicCache

from fifa_data.core.images import open_row_image
from fifa_data.core.masks import encode
from model.collator import FiFaCollator
from model.heads import masks_at
from model.modeling import FiFaModel


@dataclass
class Answer:
    """One generated answer: the text with FiFa's markup (``<p>``, ``</p>``, ``[SEG]``) and a mask per ``[SEG]``."""

    text: str
    masks: list[np.ndarray] = field(default_factory=list)  # bool (h, w) at the image's size, in [SEG] order
    token_ids: list[int] = field(default_factory=list, repr=False)

    def mask_rles(self) -> list[dict]:
        """The masks as COCO RLE (the prediction file's format)."""
        return [encode(m) for m in self.masks]


def load_for_inference(path: str) -> FiFaModel:
    """A checkpoint ready to answer: on the GPU in bf16 when there is one, else on the CPU in fp32."""
    if torch.cuda.is_available():
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return FiFaModel.from_pretrained(path, dtype=dtype).to("cuda").eval()
    return FiFaModel.from_pretrained(path).eval()


def stop_token_ids(model: FiFaModel) -> set[int]:
    """The tokens that end an answer: the generation config's end-of-sequence ids and the tokenizer's."""
    ids = model.generation_config.eos_token_id
    ids = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
    if model.processor.tokenizer.eos_token_id is not None:
        ids.add(model.processor.tokenizer.eos_token_id)
    return ids


@torch.no_grad()
def generate_ids(model: FiFaModel, batch: dict, *, max_new_tokens: int = 256) -> tuple[list[list[int]], torch.Tensor, list[int]]:
    """Greedy decoding of a left-padded prompt batch (:class:`FiFaCollator` with ``with_answers=False``).

    Returns each row's generated token ids (end token excluded), the mask logits of every
    generated ``[SEG]`` (row by row, in order) and the batch row of each.
    """
    family, base = model.family, model.base
    device = next(model.parameters()).device
    batch = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
    input_ids, attention_mask = batch.pop("input_ids"), batch.pop("attention_mask")
    pixel_values, region_masks, task_ids = batch.pop("pixel_values"), batch.pop("region_masks", None), batch.pop("task_ids", None)
    batch.pop("seg_masks", None)
    batch.pop("labels", None)

    embeds, features = model.prompt_embeddings(input_ids, pixel_values, region_masks, task_ids, batch)
    position_ids, offsets = family.positions(base, input_ids, attention_mask, batch)
    cache = DynamicCache(config=model.config.get_text_config())
    hidden = family.run_language_model(base, embeds, attention_mask, position_ids, cache)[:, -1]
    count = attention_mask.long().sum(-1, keepdim=True)  # tokens seen per row: the next one's text position

    stops = torch.tensor(sorted(stop_token_ids(model)), device=device)
    pad = model.processor.tokenizer.pad_token_id or 0
    rows = len(input_ids)
    finished = torch.zeros(rows, dtype=torch.bool, device=device)
    generated: list[list[int]] = [[] for _ in range(rows)]
    seg_states: list[list[torch.Tensor]] = [[] for _ in range(rows)]
    embedding, head = base.get_input_embeddings(), base.get_output_embeddings()
    input_only = torch.tensor([*model.task_token_ids, model.region_token_id, model.image_token_id], device=device)

    def feed(tokens: torch.Tensor) -> torch.Tensor:
        nonlocal attention_mask, count
        attention_mask = torch.cat([attention_mask, attention_mask.new_ones(rows, 1)], dim=1)
        out = family.run_language_model(base, embedding(tokens[:, None]), attention_mask, count + offsets, cache)[:, -1]
        count = count + 1
        for b in torch.nonzero(tokens == model.seg_token_id).flatten().tolist():
            seg_states[b].append(out[b])
        return out

    for _ in range(max_new_tokens):
        scores = head(hidden)
        scores[:, input_only] = float("-inf")  # task, region and image tokens are prompt markers, never answers
        tokens = scores.argmax(-1)
        tokens = torch.where(finished, torch.full_like(tokens, pad), tokens)
        ends = torch.isin(tokens, stops)
        for b in torch.nonzero(~finished & ~ends).flatten().tolist():
            generated[b].append(int(tokens[b]))
        finished = finished | ends
        if bool(finished.all()):
            break
        hidden = feed(torch.where(finished, torch.full_like(tokens, pad), tokens))  # every [SEG] is fed, so it has a state

    logits = model.decode_masks([torch.stack(s) if s else hidden.new_zeros((0, hidden.shape[-1])) for s in seg_states], features)
    seg_rows = [b for b, s in enumerate(seg_states) for _ in s]
    return generated, logits, seg_rows


def generate(model: FiFaModel, rows: Sequence[dict], *, max_new_tokens: int = 256, batch_size: int = 8) -> list[Answer]:
    """Answer every row's question (the user turn of a FiFa task row) with its text and masks at image size."""
    config = model.fifa_config
    collator = FiFaCollator(model.processor, config.family, mask_size=config.mask_size, tasks=config.tasks, with_answers=False)
    tokenizer = model.processor.tokenizer
    was_training = model.training
    model.eval()
    answers: list[Answer] = []
    for start in range(0, len(rows), batch_size):
        chunk = list(rows[start : start + batch_size])
        ids, logits, seg_rows = generate_ids(model, collator(chunk), max_new_tokens=max_new_tokens)
        for b, (row, token_ids) in enumerate(zip(chunk, ids)):
            image = open_row_image(row["image"])
            mine = logits[[i for i, r in enumerate(seg_rows) if r == b]]
            masks = list(masks_at(mine, (image.height, image.width))) if len(mine) else []
            text = tokenizer.decode(token_ids, skip_special_tokens=False).strip()
            answers.append(Answer(text=text, masks=masks, token_ids=token_ids))
    model.train(was_training)
    return answers


__all__ = ["Answer", "generate", "generate_ids", "load_for_inference", "stop_token_ids"]
