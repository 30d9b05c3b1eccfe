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
    score: float | None = None  # det / rdet / bdet: the probability of the positive verdict (fake, yes); see verdict_score

    def mask_rles(self) -> list[dict]:
        """The masks as COCO RLE (the prediction file's format)."""
        return [encode(m) for m in self.masks]


VERDICT_WORDS = {"det": ("fake", "real"), "rdet": ("yes", "no"), "bdet": ("yes", "no")}  # positive, negative


def verdict_token_ids(tokenizer, task: str) -> tuple[list[int], list[int]]:
    """The first token of each spelling of the task's positive and negative verdict word ("Fake", " fake", ...)."""

    def first_tokens(word: str) -> list[int]:
        spellings = (word, word.capitalize(), " " + word, " " + word.capitalize())
        return sorted({ids[0] for s in spellings if (ids := tokenizer.encode(s, add_special_tokens=False))})

    positive, negative = (first_tokens(w) for w in VERDICT_WORDS[task])
    return [t for t in positive if t not in negative], [t for t in negative if t not in positive]


def verdict_score(token_ids: Sequence[int], step_probs: torch.Tensor, positive: Sequence[int], negative: Sequence[int]) -> float | None:
    """P(positive) / (P(positive) + P(negative)) at the first step that wrote a verdict word; None if none was written.

    ``step_probs`` holds each step's probability of every token id of ``positive`` then ``negative``.
    """
    words = set(positive) | set(negative)
    for step, token in enumerate(token_ids):
        if token in words:
            probs = step_probs[step].double()
            yes, no = float(probs[: len(positive)].sum()), float(probs[len(positive) :].sum())
            return yes / (yes + no) if yes + no > 0 else None
    return None


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
def generate_ids(
    model: FiFaModel, batch: dict, *, max_new_tokens: int = 256, watch: Sequence[int] = ()
) -> tuple[list[list[int]], torch.Tensor, list[int], torch.Tensor]:
    """Greedy decoding of a left-padded prompt batch (:class:`FiFaCollator` with ``with_answers=False``).

    Returns each row's generated token ids (end token excluded), the mask logits of every
    generated ``[SEG]`` (row by row, in order), the batch row of each, and the probability of each
    ``watch`` token id at every step (rows x steps x len(watch)).
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

    watched = torch.tensor(list(watch), dtype=torch.long, device=device)
    step_probs: list[torch.Tensor] = []
    for _ in range(max_new_tokens):
        scores = head(hidden)
        scores[:, input_only] = float("-inf")  # task, region and image tokens are prompt markers, never answers
        step_probs.append(scores.float().softmax(-1)[:, watched])
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
    probs = torch.stack(step_probs, dim=1) if step_probs else torch.zeros(rows, 0, len(watched))
    return generated, logits, seg_rows, probs.cpu()


def generate(model: FiFaModel, rows: Sequence[dict], *, max_new_tokens: int = 256, batch_size: int = 8) -> list[Answer]:
    """Answer every row's question (the user turn of a FiFa task row) with its text and masks at image size."""
    config = model.fifa_config
    collator = FiFaCollator(
        model.processor, config.family, mask_size=config.mask_size, tasks=config.tasks, with_answers=False, forensic_input=config.forensic_input,
        energy_window=config.energy_window,
    )
    tokenizer = model.processor.tokenizer
    was_training = model.training
    model.eval()
    answers: list[Answer] = []
    verdicts = {task: verdict_token_ids(tokenizer, task) for task in VERDICT_WORDS}
    watch = sorted({t for positive, negative in verdicts.values() for t in [*positive, *negative]})
    column = {t: i for i, t in enumerate(watch)}
    for start in range(0, len(rows), batch_size):
        chunk = list(rows[start : start + batch_size])
        ids, logits, seg_rows, step_probs = generate_ids(model, collator(chunk), max_new_tokens=max_new_tokens, watch=watch)
        for b, (row, token_ids) in enumerate(zip(chunk, ids)):
            score = None
            if row.get("task") in verdicts:
                positive, negative = verdicts[row["task"]]
                probs = step_probs[b][:, [column[t] for t in [*positive, *negative]]]
                score = verdict_score(token_ids, probs, positive, negative)
            image = open_row_image(row["image"])
            mine = logits[[i for i, r in enumerate(seg_rows) if r == b]]
            masks = list(masks_at(mine, (image.height, image.width))) if len(mine) else []
            text = tokenizer.decode(token_ids, skip_special_tokens=False).strip()
            answers.append(Answer(text=text, masks=masks, token_ids=token_ids, score=score))
    model.train(was_training)
    return answers


__all__ = ["VERDICT_WORDS", "Answer", "generate", "generate_ids", "load_for_inference", "stop_token_ids", "verdict_score", "verdict_token_ids"]
