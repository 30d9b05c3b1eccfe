"""FiFa-MLLM on tiny random bases: tokens, the collator on every task, both families, LoRA, save/reload."""

from __future__ import annotations

import copy

import datasets
import numpy as np
import pytest
import torch
from tiny_parts import save_encoder_and_llm

from fifa_data.core import masks as masklib
from fifa_data.core.schema import BOX_QUERY_TASKS, REGION_TASKS, TASKS, answer_of
from model.collator import CollateError, FiFaCollator, box_coverage, grid_mask, soft_mask
from model.data import load_split, parse_configs, texts_of
from model.modeling import FIFA_TOKENS, REGION, SEG, FiFaModel, task_token
from model.tiny import compose_llava_from_pretrained, tiny_llava, tiny_qwen2_vl

HEADS = {"mask_size": 32, "decoder_dim": 32, "decoder_heads": 4}


@pytest.fixture(scope="module")
def rows(small_build) -> dict[str, list[dict]]:
    """A few train rows of every task, fakes with masks first."""
    out = {}
    for task in TASKS:
        ds = datasets.load_dataset(str(small_build), task, split="train", cache_dir=str(small_build.parent / "hf-cache"))
        ordered = sorted(range(len(ds)), key=lambda i: -len(ds[i]["masks"]))
        out[task] = [ds[i] for i in ordered[:4]]
    return out


@pytest.fixture(scope="module")
def texts(rows) -> list[str]:
    return [answer_of(r) for task_rows in rows.values() for r in task_rows] * 3


def _model(family: str, texts: list[str]) -> FiFaModel:
    base, processor = (tiny_llava if family == "llava" else tiny_qwen2_vl)(texts)
    return FiFaModel.create(base, processor, base_model=f"tiny-{family}", **HEADS)


def _collator(model: FiFaModel, **kwargs) -> FiFaCollator:
    config = model.fifa_config
    return FiFaCollator(model.processor, config.family, mask_size=config.mask_size, tasks=config.tasks, **kwargs)


def _mixed(rows) -> list[dict]:
    return [rows[t][0] for t in TASKS]


# --- tokens and labels ------------------------------------------------------------------------


def test_create_adds_every_fifa_token_once(texts):
    model = _model("llava", texts)
    tokenizer = model.processor.tokenizer
    ids = tokenizer.convert_tokens_to_ids(list(FIFA_TOKENS))
    assert len(set(ids)) == len(FIFA_TOKENS) and tokenizer.unk_token_id not in ids
    assert model.base.get_input_embeddings().num_embeddings >= len(tokenizer)
    assert tokenizer("<p>the lips</p> [SEG]", add_special_tokens=False)["input_ids"].count(model.seg_token_id) == 1


def test_each_seg_token_gets_its_mask_in_order(texts, rows):
    model = _model("llava", texts)
    collator = _collator(model)
    age = [r for r in rows["age"] if len(r["masks"]) >= 2][:2]
    batch = collator(age)
    expected = [grid_mask(m, 32) for r in age for m in r["masks"]]
    assert len(batch["seg_masks"]) == int((batch["input_ids"] == model.seg_token_id).sum()) == len(expected)
    for got, want in zip(batch["seg_masks"], expected):
        assert np.array_equal(got.numpy(), want)


def test_labels_cover_exactly_the_answer(texts, rows):
    model = _model("llava", texts)
    tokenizer = model.processor.tokenizer
    row = rows["age"][0]
    encoded = _collator(model).encode(row)
    labelled = encoded["labels"] != -100
    first = int(labelled.nonzero()[0])
    assert not labelled[:first].any() and labelled[first:].all()
    assert torch.equal(encoded["labels"][labelled], encoded["input_ids"][labelled])
    answer = tokenizer.decode(encoded["input_ids"][labelled])
    assert answer.startswith(answer_of(row)) and answer.removeprefix(answer_of(row)).strip() == "<|end|>"
    prompt = tokenizer.decode(encoded["input_ids"][:first])
    assert task_token("age") in prompt and "<image>" in prompt and SEG not in prompt


def test_a_row_whose_segs_and_masks_disagree_is_an_error(texts, rows):
    model = _model("llava", texts)
    bad = copy.deepcopy(rows["age"][0])
    bad["masks"] = bad["masks"][:-1]
    with pytest.raises(CollateError, match=rf"{bad['id']}.*\[SEG\] tokens but the row has {len(bad['masks'])} masks"):
        _collator(model)([bad])


def test_truncation_never_cuts_a_seg_off_its_mask(texts, rows):
    model = _model("llava", texts)
    row = next(r for r in rows["age"] if len(r["masks"]) >= 2)
    full = _collator(model).encode(row)
    last_seg = int((full["input_ids"] == model.seg_token_id).nonzero().max())
    with pytest.raises(CollateError, match=rf"{row['id']}.*would cut \[SEG\] tokens off their masks"):
        _collator(model, max_length=last_seg).encode(row)
    kept = _collator(model, max_length=last_seg + 1).encode(row)  # the text after the last [SEG] may go
    assert len(kept["input_ids"]) == last_seg + 1 and len(kept["seg_masks"]) == len(row["masks"])
    prompt_length = int((full["labels"] == -100).sum())
    with pytest.raises(CollateError, match="the prompt alone"):
        _collator(model, max_length=prompt_length - 1).encode(row)


# --- the collator on every task -----------------------------------------------------------------


@pytest.mark.parametrize("family", ["llava", "qwen2_vl"])
def test_collator_handles_every_task_in_one_batch(family, texts, rows):
    model = _model(family, texts)
    mixed = _mixed(rows)
    batch = _collator(model)(mixed)
    assert batch["input_ids"].shape == batch["labels"].shape == batch["attention_mask"].shape
    assert batch["task_ids"].tolist() == list(range(len(TASKS)))
    assert len(batch["seg_masks"]) == sum(len(r["masks"]) for r in mixed)
    for i, row in enumerate(mixed):
        task, region = row["task"], batch["region_masks"][i].numpy()
        ids = batch["input_ids"][i]
        assert int((ids == model.processor.tokenizer.convert_tokens_to_ids(task_token(task))).sum()) == 1
        has_region = bool((ids == model.region_token_id).any())
        assert has_region == (task in REGION_TASKS or task in BOX_QUERY_TASKS)
        if task in REGION_TASKS:
            assert np.allclose(region, soft_mask(row["query_mask"], 32))
            assert region.sum() > 0
        elif task in BOX_QUERY_TASKS:
            size = tuple(row["query_mask"]["size"]) if row["query_mask"] else (row["image"].height, row["image"].width)
            assert np.allclose(region, box_coverage(row["boxes"][0], size, 32)) and region.sum() > 0
        else:
            assert region.sum() == 0
    if family == "qwen2_vl":
        assert {"image_grid_thw", "mm_token_type_ids"} <= set(batch)


def test_box_coverage_is_the_covered_share_of_each_cell():
    cover = box_coverage([0, 0, 50, 25], (100, 100), 4)  # half the width, a quarter of the height
    assert cover.shape == (4, 4)
    assert np.allclose(cover[0], [1, 1, 0, 0]) and np.allclose(cover[1:], 0)
    cover = box_coverage([10, 0, 35, 100], (100, 100), 4)
    assert np.allclose(cover[:, :2], [[0.6, 0.4]] * 4)
    assert np.isclose(cover.sum() * 25 * 25, 25 * 100)


def test_grid_mask_keeps_a_single_pixel():
    mask = np.zeros((100, 120), bool)
    mask[57, 3] = True
    grid = grid_mask(masklib.encode(mask), 10)
    assert grid.sum() == 1 and grid[5, 0] == 1


# --- both families: forward and backward ----------------------------------------------------


@pytest.mark.parametrize("family", ["llava", "qwen2_vl"])
def test_forward_and_backward_reach_every_head(family, texts, rows):
    model = _model(family, texts).train()
    batch = _collator(model)(_mixed(rows))
    out = model(**batch)
    assert out.mask_logits.shape == (len(batch["seg_masks"]), 32, 32)
    losses = [out.ce, out.bce, out.dice]
    assert all(torch.isfinite(x) and x > 0 for x in losses)
    (out.ce + 2 * out.bce + 0.5 * out.dice).backward()
    for name, module in [("mask_decoder", model.mask_decoder), ("region_encoder", model.region_encoder)]:
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters() if p.dim() > 1), name
    task_grad = model.task_embedding.weight.grad
    assert task_grad is not None and bool((task_grad.abs().sum(1) > 0).all())
    embeddings = model.base.get_input_embeddings().weight.grad
    assert embeddings[model.seg_token_id].abs().sum() > 0


def test_row_reduced_ce_weighs_every_answer_the_same(texts, rows):
    model = _model("llava", texts).eval()
    short, long = rows["det"][0], rows["age"][0]
    collator = _collator(model)
    with torch.no_grad():
        alone = [float(model(**collator([row])).ce) for row in (short, long)]
        both = collator([short, long])
        by_row = float(model(**both, ce_reduction="row").ce)
        by_token = float(model(**both).ce)
    assert by_row == pytest.approx(sum(alone) / 2, rel=1e-4)
    lengths = [int((collator([r])["labels"][:, 1:] != -100).sum()) for r in (short, long)]
    assert by_token == pytest.approx((alone[0] * lengths[0] + alone[1] * lengths[1]) / sum(lengths), rel=1e-4)
    with pytest.raises(ValueError, match="ce_reduction"):
        model(**both, ce_reduction="sum")


def test_regions_change_the_answer(texts, rows):
    model = _model("llava", texts).eval()
    row = rows["rdet"][0]
    batch = _collator(model)([row, row])
    batch["region_masks"][1] = torch.flip(batch["region_masks"][1], dims=(0, 1))
    with torch.no_grad():
        hidden = model(**batch).hidden_states
    assert not torch.allclose(hidden[0, -1], hidden[1, -1])


def test_a_batch_without_masks_or_regions_still_trains_every_head(texts, rows):
    model = _model("llava", texts).train()
    out = model(**_collator(model)(rows["det"][:2]))
    (out.ce + out.bce + out.dice).backward()
    assert all(p.grad is not None for p in model.mask_decoder.parameters())
    assert all(p.grad is not None for p in model.region_encoder.parameters())


# --- saving, loading, LoRA --------------------------------------------------------------------


def _outputs(model: FiFaModel, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
    model.eval()
    with torch.no_grad():
        out = model(**batch)
    return out.mask_logits, out.hidden_states


@pytest.mark.parametrize("family,lora", [("llava", True), ("llava", False), ("qwen2_vl", True)])
def test_saved_model_reloads_with_identical_outputs(family, lora, texts, rows, tmp_path):
    model = _model(family, texts)
    if lora:
        model.add_lora(r=4, alpha=8)
    batch = _collator(model)(_mixed(rows))
    model.train()
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.05)
    for _ in range(2):  # move every trained weight away from its initial value
        out = model(**batch)
        (out.ce + out.bce + out.dice).backward()
        optimizer.step()
        optimizer.zero_grad()
    before = _outputs(model, batch)
    folder = model.save_pretrained(tmp_path / "ckpt")
    names = {p.name for p in folder.iterdir()}
    assert {"fifa_config.json", "fifa_heads.safetensors", "tokenizer.json", "base"} <= names
    assert ("adapter_model.safetensors" in names) == lora
    assert not list(folder.rglob("*.bin")) and not list(folder.rglob("*.pt"))
    reloaded = FiFaModel.from_pretrained(folder)
    after = _outputs(reloaded, _collator(reloaded)(_mixed(rows)))
    assert torch.equal(before[0], after[0]) and torch.equal(before[1], after[1])


def test_lora_trains_adapters_new_tokens_projector_and_heads_only(texts):
    model = _model("llava", texts)
    model.add_lora(r=4, alpha=8)
    trained = {n for n, p in model.named_parameters() if p.requires_grad}
    assert any("lora_A" in n for n in trained) and any("trainable_tokens" in n for n in trained)
    assert any("multi_modal_projector" in n for n in trained)
    assert {n for n in trained if n.startswith(("mask_decoder", "region_encoder", "task_embedding"))}
    assert not any("vision_tower" in n for n in trained)
    assert not any(n.endswith("embed_tokens.weight") or "layers.0.mlp" in n and "lora" not in n for n in trained)


@pytest.mark.parametrize("family", ["llava", "qwen2_vl"])
def test_lora_can_train_the_vision_tower_too(family, texts):
    model = _model(family, texts)
    model.add_lora(r=4, alpha=8, train_vision_tower=True)
    trained = [n for n, p in model.named_parameters() if p.requires_grad]
    tower = "vision_tower.modules_to_save" if family == "llava" else "visual.modules_to_save.default.blocks"
    projector = "multi_modal_projector.modules_to_save" if family == "llava" else "visual.modules_to_save.default.merger"
    assert any(tower in n for n in trained) and any(projector in n for n in trained)


def test_lora_adapters_learn_under_activation_checkpointing(texts, rows):
    model = _model("llava", texts)
    model.add_lora(r=4, alpha=8)
    model.activation_checkpointing_enable()
    model.train()
    out = model(**_collator(model)(_mixed(rows)))
    (out.ce + out.bce + out.dice).backward()
    lora = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert lora and all(p.grad is not None and p.grad.abs().sum() > 0 for p in lora)


def test_a_llava_composed_from_a_vision_tower_and_a_causal_lm(texts, rows, tmp_path):
    encoder_dir, llm_dir, vision, language = save_encoder_and_llm(tmp_path, texts)
    base, processor = compose_llava_from_pretrained(str(encoder_dir), str(llm_dir))
    tower = base.model.vision_tower.state_dict()
    assert all(torch.equal(tower[k], v) for k, v in vision.state_dict().items())
    assert torch.equal(base.lm_head.weight[: language.lm_head.weight.shape[0]], language.lm_head.weight)
    model = FiFaModel.create(base, processor, base_model="compose:face-encoder+llm", **HEADS).train()
    assert processor.image_processor.do_center_crop is False
    batch = _collator(model)([rows["age"][0], rows["bdet"][0]])
    out = model(**batch)
    (out.ce + out.bce + out.dice).backward()
    assert model.mask_decoder.query_proj[0].weight.grad is not None


# --- data loading -------------------------------------------------------------------------------


def test_configs_and_weights_are_parsed_with_clear_errors():
    assert parse_configs("age, loc", "2,1") == (["age", "loc"], [2.0, 1.0])
    assert parse_configs("instruct") == (["instruct"], None)
    with pytest.raises(ValueError, match="unknown configs"):
        parse_configs("age,nope")
    with pytest.raises(ValueError, match="one non-negative weight per config"):
        parse_configs("age,loc", "1")


def test_a_weighted_mix_draws_from_every_config(small_build):
    mix = load_split(str(small_build), ["det", "age"], "train", weights=[3, 1], seed=0)
    tasks = mix["task"]
    assert set(tasks) == {"det", "age"} and tasks.count("det") > tasks.count("age")
    assert load_split(str(small_build), ["det"], "no-such-split") is None
    assert sum(1 for _ in texts_of(mix, max_rows=5)) == 10
    assert REGION not in "".join(texts_of(mix))


@pytest.mark.parametrize("family", ["llava", "qwen2_vl"])
def test_generation_prompts_are_left_padded_and_carry_no_answer(family, texts, rows):
    model = _model(family, texts)
    mixed = _mixed(rows)
    batch = _collator(model, with_answers=False)(mixed)
    assert "labels" not in batch and len(batch["seg_masks"]) == 0
    assert bool(batch["attention_mask"][:, -1].all())  # every prompt ends at the right edge
    assistant = model.processor.tokenizer.convert_tokens_to_ids("<|assistant|>")
    assert all(int((ids == assistant).sum()) == 1 for ids in batch["input_ids"])
    assert not bool((batch["input_ids"] == model.seg_token_id).any())
    model.eval()
    with torch.no_grad():
        out = model(**batch)
    assert out.hidden_states.shape[:2] == batch["input_ids"].shape


@pytest.mark.parametrize("family", ["llava", "qwen2_vl"])
def test_a_bf16_base_with_fp32_heads_trains(family, texts, rows):
    """What `--bf16` on a GPU gives: the base loads in bf16, FiFa's heads stay fp32."""
    model = _model(family, texts).train()
    model.base.to(torch.bfloat16)
    out = model(**_collator(model)(_mixed(rows)))
    (out.ce + out.bce + out.dice).backward()
    assert torch.isfinite(out.ce) and out.mask_logits.dtype == torch.float32
    assert model.mask_decoder.query_proj[0].weight.grad is not None
