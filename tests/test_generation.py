"""Generation with FiFa's inputs: incremental decoding must give what a full forward over prompt + answer gives."""

from __future__ import annotations

import datasets
import pytest
import torch

from fifa_data.core.schema import TASKS, answer_of
from model.collator import FiFaCollator
from model.generation import generate, generate_ids
from model.heads import masks_at
from model.modeling import SEG, FiFaModel
from model.tiny import tiny_llava, tiny_qwen2_vl

HEADS = {"mask_size": 32, "decoder_dim": 32, "decoder_heads": 4}
STEPS = 6


@pytest.fixture(scope="module")
def rows(small_build) -> list[dict]:
    """One train row of each task: prompts of different lengths, regions and boxes among them."""
    out = []
    for task in TASKS:
        ds = datasets.load_dataset(str(small_build), task, split="train", cache_dir=str(small_build.parent / "hf-cache"))
        out.append(ds[0])
    return out


def _model(family: str, rows: list[dict]) -> FiFaModel:
    texts = [answer_of(r) for r in rows] * 3
    base, processor = (tiny_llava if family == "llava" else tiny_qwen2_vl)(texts)
    model = FiFaModel.create(base, processor, base_model=f"tiny-{family}", **HEADS).eval()
    torch.nn.init.normal_(model.task_embedding.weight, std=0.5)  # tasks must reach the answer as in training
    return model


def _prefer_seg(model: FiFaModel, batch: dict) -> None:
    """Make the first greedy token [SEG] wherever the random model's favourite is: 1.5 x its output row."""
    ids, *_ = generate_ids(model, dict(batch), max_new_tokens=1)
    favourite = ids[0][0]
    with torch.no_grad():
        head = model.base.get_output_embeddings().weight
        head[model.seg_token_id] = 1.5 * head[favourite]


@pytest.mark.parametrize("family", ["llava", "qwen2_vl"])
def test_decoding_matches_a_full_forward_over_prompt_and_answer(family, rows):
    model = _model(family, rows)
    collator = FiFaCollator(model.processor, family, mask_size=32, tasks=model.fifa_config.tasks, with_answers=False)
    batch = collator(rows)
    _prefer_seg(model, batch)
    generated, logits, seg_rows, _ = generate_ids(model, dict(batch), max_new_tokens=STEPS)
    assert any(model.seg_token_id in ids for ids in generated), "the test needs generated [SEG] tokens"

    for b, (row, ids) in enumerate(zip(rows, generated)):
        single = collator([row])
        answer = torch.tensor([ids])
        full = dict(single)
        full["input_ids"] = torch.cat([single["input_ids"], answer], dim=1)
        full["attention_mask"] = torch.ones_like(full["input_ids"])
        if "mm_token_type_ids" in full:
            full["mm_token_type_ids"] = torch.cat([single["mm_token_type_ids"], torch.zeros_like(answer, dtype=single["mm_token_type_ids"].dtype)], dim=1)
        with torch.no_grad():
            out = model(**full)
        prompt_length = single["input_ids"].shape[1]
        scores = model.base.get_output_embeddings()(out.hidden_states[0, prompt_length - 1 : -1])
        scores[:, [*model.task_token_ids, model.region_token_id, model.image_token_id]] = float("-inf")  # never generated
        chosen = scores.gather(1, answer.T)[:, 0]
        # each generated token is the full forward's argmax, up to float noise (a random model has near-ties)
        assert torch.all(chosen >= scores.max(-1).values - 1e-4), f"row {b} ({row['task']}): greedy tokens differ from the full forward's"
        mine = logits[[i for i, r in enumerate(seg_rows) if r == b]]
        assert len(mine) == ids.count(model.seg_token_id) == len(out.mask_logits)
        torch.testing.assert_close(mine, out.mask_logits, atol=2e-4, rtol=1e-3)


def test_generate_returns_text_with_markup_and_image_sized_masks(rows):
    model = _model("llava", rows)
    config = model.fifa_config
    _prefer_seg(model, FiFaCollator(model.processor, "llava", mask_size=32, tasks=config.tasks, with_answers=False)(rows[:2]))
    answers = generate(model, rows[:2], max_new_tokens=4, batch_size=1)
    assert len(answers) == 2
    for row, answer in zip(rows, answers):
        assert answer.text.count(SEG) == len(answer.masks) == answer.token_ids.count(model.seg_token_id)
        for mask in answer.masks:
            assert mask.dtype == bool and mask.shape == (row["image"].height, row["image"].width)
        assert [len(r["counts"]) > 0 for r in answer.mask_rles()] == [True] * len(answer.masks)
    assert masks_at(torch.zeros(0, 32, 32), (10, 10)).shape[0] == 0


def test_a_batch_answers_as_its_rows_do_alone(rows):
    model = _model("qwen2_vl", rows)
    together = generate(model, rows[:4], max_new_tokens=STEPS, batch_size=4)
    alone = [generate(model, [row], max_new_tokens=STEPS)[0] for row in rows[:4]]
    assert [a.token_ids for a in together] == [a.token_ids for a in alone]


def test_a_lora_adapted_model_generates_through_its_adapters(rows):
    model = _model("llava", rows)
    before = generate(model, rows[:3], max_new_tokens=STEPS)
    model.add_lora()  # LoRA's B starts at zero: the same answers until it trains
    assert [a.token_ids for a in generate(model, rows[:3], max_new_tokens=STEPS)] == [a.token_ids for a in before]
    with torch.no_grad():
        for name, p in model.base.named_parameters():
            if "lora_B" in name:
                p.normal_(std=0.5)
    assert [a.token_ids for a in generate(model, rows[:3], max_new_tokens=STEPS)] != [a.token_ids for a in before]


def test_a_bf16_checkpoint_answers_region_and_mask_questions(rows, tmp_path):
    model = _model("llava", rows)
    _prefer_seg(model, FiFaCollator(model.processor, "llava", mask_size=32, tasks=model.fifa_config.tasks, with_answers=False)(rows))
    model.save_pretrained(tmp_path / "ckpt")
    loaded = FiFaModel.from_pretrained(tmp_path / "ckpt", dtype=torch.bfloat16)
    assert next(loaded.base.parameters()).dtype == torch.bfloat16 and loaded.mask_decoder.query_proj[0].weight.dtype == torch.float32
    answers = generate(loaded, rows, max_new_tokens=3)  # every task, regions and boxes included
    assert sum(len(a.masks) for a in answers) > 0
