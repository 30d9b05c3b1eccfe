"""The mask-loss collator: rows of any FiFa task config → one batch for :class:`model.modeling.FiFaModel`.

Per row, the user's text is the question (after ``<region>`` for region and box questions), and
the row's task token opens the assistant's turn, as Whisper's task tokens open its transcript: the
first answer token is predicted right at the token that carries the task embedding. The prompt
(image and task token included) goes through the processor, the assistant's answer through the
tokenizer, and only the answer is labelled. Alongside the token tensors the batch holds:

``seg_masks``    ``(n, m, m)`` float 0/1: the ground-truth mask of every ``[SEG]`` in the batch, in
                 order (row by row, then in reading order), from COCO RLE onto the ``m x m`` grid
                 that covers the whole image (a cell is 1 if it holds any masked pixel)
``region_masks`` ``(batch, m, m)`` float: the query concept's mask (rdet, rexp, rseg) or the query
                 box's coverage (bdet, bexp) on the same grid; zeros for other tasks
``task_ids``     ``(batch,)``: each row's index in the model's task list

With ``augment`` (training), each row is seen through a random scale-crop and, unless its text names
a left or right side, a left-right flip; its masks, query mask and query box move with the image
(`model.augment`). With ``forensic_input``, ``pixel_values`` gains the image's SRM noise-residual
channels after its colour channels (a vision tower built with ``3 + SRM_CHANNELS`` input channels),
and with ``energy_window`` their local energy too (``3 + 2 * SRM_CHANNELS``).

With ``empty_real_masks`` (training), that share of the real images' loc rows (nothing edited, so the
answer has no ``[SEG]``) is fed instead as the shortest answer of a fake, ``[SEG].``, untrained
(labels -100), with an empty mask as its target: the mask decoder learns that a real face has nothing
to mark, wherever edits usually are, and the language model still learns the real answer from the
other real rows.

Rows of different tasks mix in one batch. A row whose ``[SEG]`` count differs from its masks, or
that ``max_length`` would cut between a ``[SEG]`` and its mask, raises :class:`CollateError`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence

from fifa_data.core import masks as masklib
from fifa_data.core.images import open_row_image
from fifa_data.core.schema import BOX_QUERY_TASKS, REGION_TASKS, TASKS, question_of
from model.augment import View, forensic_channels, mentions_sides, random_view
from model.families import FAMILIES
from model.modeling import REGION, SEG, task_token


class CollateError(ValueError):
    """A row cannot become training input; the message names the row and the reason."""


def soft_mask(rle: dict | np.ndarray, size: int) -> np.ndarray:
    """A COCO RLE mask (or bool array) area-resized to ``size x size``: each cell holds the share of it covered."""
    mask = masklib.to_mask(rle).astype(np.float32)
    height, width = mask.shape
    if height < size or width < size:
        return cv2.resize(mask, (size, size), interpolation=cv2.INTER_AREA)
    rows, cols = np.arange(size) * height // size, np.arange(size) * width // size
    sums = np.add.reduceat(np.add.reduceat(mask, rows, axis=0), cols, axis=1)
    return sums / np.outer(np.diff(rows, append=height), np.diff(cols, append=width))


def grid_mask(rle: dict | np.ndarray, size: int) -> np.ndarray:
    """A COCO RLE mask (or bool array) on the ``size x size`` grid, 1 where a cell holds any masked pixel.

    Artifact masks are sparse (scattered pixels); an area average would fall below one half in
    almost every cell and teach the decoder to predict nothing.
    """
    return masklib.resize(masklib.to_mask(rle), (size, size)).astype(np.float32)


def box_coverage(box: list[float], image_size: tuple[int, int], size: int) -> np.ndarray:
    """The share of each cell of a ``size x size`` grid over the image that ``[x0, y0, x1, y1]`` covers."""
    height, width = image_size

    def axis(lo: float, hi: float, extent: int) -> np.ndarray:
        edges = np.arange(size + 1) * extent / size
        return np.clip(np.minimum(edges[1:], hi) - np.maximum(edges[:-1], lo), 0, None) / (extent / size)

    return np.outer(axis(box[1], box[3], height), axis(box[0], box[2], width)).astype(np.float32)


def user_text(task: str, question: str) -> str:
    """The user's text as the model sees it: ``<region>`` for region and box queries, then the question."""
    return f"{REGION} {question}" if task in REGION_TASKS or task in BOX_QUERY_TASKS else question


def prompt_messages(row: dict) -> list[dict]:
    """The row's user turn, rewritten with :func:`user_text`, in TRL's conversational format."""
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": user_text(row["task"], question_of(row))}]}]


@dataclass
class FiFaCollator:
    """Callable collator for ``Trainer``; ``with_answers=False`` builds generation prompts only."""

    processor: object
    family: str
    mask_size: int = 64
    tasks: tuple[str, ...] = TASKS
    max_length: int | None = None
    with_answers: bool = True
    augment: bool = False  # a random scale-crop and flip per row (training only)
    min_scale: float = 0.6  # the smallest crop side, as a share of the image's
    shift: int = 0  # > 0: the view moves the whole image by steps of this many pixels instead of scale-cropping it
    forensic_input: bool = False  # add the SRM residual channels to pixel_values
    energy_window: int = 0  # and, if > 0, their local energy over this window (pixels)
    empty_real_masks: float = 0.0  # share of real loc rows fed as an untrained "[SEG]." with an empty mask (training only)
    seed: int = 0

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        tokenizer = self.processor.tokenizer
        self.seg_id = tokenizer.convert_tokens_to_ids(SEG)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self._family = FAMILIES[self.family]
        self.processor_kwargs = self._family.processor_kwargs()

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        encoded = [self.encode(row) for row in rows]
        return self.pad(encoded)

    # --- one row --------------------------------------------------------------------------

    def encode(self, row: dict) -> dict:
        """Token ids, labels, pixel inputs, masks, region and task of one row (unpadded)."""
        name = f"row {row.get('id', '?')!r} ({row.get('task', '?')})"
        task = row["task"]
        if task not in self.tasks:
            raise CollateError(f"{name}: task {task!r} is not one of the model's tasks {list(self.tasks)}")
        image = open_row_image(row["image"])
        size = (image.height, image.width)
        view = None
        if self.augment:
            view = random_view(size, self._rng, min_scale=self.min_scale, flip=not mentions_sides(row), shift=self.shift)
            image = view.image(image)
        factor = self._family.reduction(self.processor.image_processor, image.width, image.height)
        if factor > 1:  # a box-filter reduction first makes the processor's resize 5x cheaper
            image = image.reduce(factor)
        prompt_turn = prompt_messages(row)
        header = self.processor.apply_chat_template(prompt_turn, add_generation_prompt=True, tokenize=False)
        inputs = self.processor(text=[header + task_token(task)], images=[image], return_tensors="pt", **self.processor_kwargs)
        prompt_ids = inputs.pop("input_ids")[0]
        inputs.pop("attention_mask")
        if self.forensic_input:
            inputs["pixel_values"] = torch.cat([inputs["pixel_values"], forensic_channels(inputs["pixel_values"], self.energy_window)], dim=1)
        if bool((prompt_ids == self.seg_id).any()):
            raise CollateError(f"{name}: the question contains {SEG}")

        answer_ids = torch.zeros(0, dtype=torch.long)
        masks = (row.get("masks") or []) if self.with_answers else []
        probe = self.with_answers and self._empty_real_probe(row)
        if probe:  # the decoder's "nothing here" on a real face: "[SEG]." fed, not trained, its target empty
            full = self.processor.apply_chat_template([*prompt_turn, {"role": "assistant", "content": [{"type": "text", "text": f"{SEG}."}]}], tokenize=False)
            if not full.startswith(header):
                raise CollateError(f"{name}: the chat template does not render the prompt as a prefix of the conversation")
            answer_ids = torch.tensor(self.processor.tokenizer(full[len(header):], add_special_tokens=False)["input_ids"], dtype=torch.long)
            masks = [masklib.encode(np.zeros(size, bool))]
            answer_ids = self._truncate(name, prompt_ids, answer_ids, len(masks))
        elif self.with_answers:
            full = self.processor.apply_chat_template([*prompt_turn, *row["messages"][1:]], tokenize=False)
            if not full.startswith(header):
                raise CollateError(f"{name}: the chat template does not render the prompt as a prefix of the conversation")
            answer_ids = torch.tensor(self.processor.tokenizer(full[len(header):], add_special_tokens=False)["input_ids"], dtype=torch.long)
            segs = int((answer_ids == self.seg_id).sum())
            if segs != len(masks):
                raise CollateError(f"{name}: the answer has {segs} {SEG} tokens but the row has {len(masks)} masks")
            answer_ids = self._truncate(name, prompt_ids, answer_ids, len(masks))

        seg_masks = np.zeros((len(masks), self.mask_size, self.mask_size), np.float32)
        for i, rle in enumerate(masks):
            if tuple(rle["size"]) != size:
                raise CollateError(f"{name}: mask {i} is {list(rle['size'])} but the image is {list(size)}")
            seg_masks[i] = grid_mask(view.mask(masklib.decode(rle)) if view else rle, self.mask_size)
        if "mm_token_type_ids" in inputs:  # per-token, so it grows with the answer (text: type 0)
            types = inputs.pop("mm_token_type_ids")[0]
            inputs["mm_token_type_ids"] = torch.cat([types, torch.zeros(len(answer_ids), dtype=types.dtype)])
        return {
            "input_ids": torch.cat([prompt_ids, answer_ids]),
            "labels": torch.cat([torch.full_like(prompt_ids, -100), torch.full_like(answer_ids, -100) if probe else answer_ids]),
            "seg_masks": torch.from_numpy(seg_masks),
            "region_mask": torch.from_numpy(self._region(name, row, size, view)),
            "task_id": self.tasks.index(task),
            **inputs,
        }

    def _empty_real_probe(self, row: dict) -> bool:
        """Whether this row becomes an empty-mask probe (a real image's loc row, drawn at ``empty_real_masks``)."""
        if not self.empty_real_masks or row["task"] != "loc" or row.get("label") != "real" or row.get("masks"):
            return False
        return bool(self._rng.random() < self.empty_real_masks)

    def _truncate(self, name: str, prompt_ids: torch.Tensor, answer_ids: torch.Tensor, num_masks: int) -> torch.Tensor:
        if self.max_length is None or len(prompt_ids) + len(answer_ids) <= self.max_length:
            return answer_ids
        room = self.max_length - len(prompt_ids)
        if room <= 0:
            raise CollateError(f"{name}: the prompt alone is {len(prompt_ids)} tokens (image included), over max_length={self.max_length}")
        kept = answer_ids[:room]
        if int((kept == self.seg_id).sum()) < num_masks:
            raise CollateError(
                f"{name}: max_length={self.max_length} would cut {SEG} tokens off their masks "
                f"({len(prompt_ids) + len(answer_ids)} tokens needed); raise max_length"
            )
        return kept

    def _region(self, name: str, row: dict, size: tuple[int, int], view: View | None = None) -> np.ndarray:
        task = row["task"]
        if task in REGION_TASKS:
            rle = row.get("query_mask")
            if rle is None:
                raise CollateError(f"{name}: a {task} row needs query_mask (built with FiFa ≥ 1.1.0)")
            if tuple(rle["size"]) != size:
                raise CollateError(f"{name}: query_mask is {list(rle['size'])} but the image is {list(size)}")
            return soft_mask(view.mask(masklib.decode(rle)) if view else rle, self.mask_size)
        if task in BOX_QUERY_TASKS:
            if len(row.get("boxes") or []) != 1:
                raise CollateError(f"{name}: a {task} row needs exactly one query box")
            if view is None:
                return box_coverage(row["boxes"][0], size, self.mask_size)
            x0, y0, x1, y1 = view.box
            return box_coverage(view.box_of(row["boxes"][0]), (y1 - y0, x1 - x0), self.mask_size)
        return np.zeros((self.mask_size, self.mask_size), np.float32)

    # --- the batch ------------------------------------------------------------------------

    def pad(self, encoded: list[dict]) -> dict[str, torch.Tensor]:
        """Pad the token tensors (right for training, left for generation); concatenate the rest."""
        side = "right" if self.with_answers else "left"

        def padded(values: list[torch.Tensor], fill: int) -> torch.Tensor:
            return pad_sequence(values, batch_first=True, padding_value=fill, padding_side=side)

        batch = {
            "input_ids": padded([e["input_ids"] for e in encoded], self.pad_id),
            "attention_mask": padded([torch.ones_like(e["input_ids"]) for e in encoded], 0),
            "seg_masks": torch.cat([e["seg_masks"] for e in encoded]),
            "region_masks": torch.stack([e["region_mask"] for e in encoded]),
            "task_ids": torch.tensor([e["task_id"] for e in encoded]),
        }
        if self.with_answers:
            batch["labels"] = padded([e["labels"] for e in encoded], -100)
        if "mm_token_type_ids" in encoded[0]:
            batch["mm_token_type_ids"] = padded([e["mm_token_type_ids"] for e in encoded], 0)
        for key in ("pixel_values", "image_grid_thw"):
            if key in encoded[0]:
                batch[key] = torch.cat([e[key] for e in encoded])
        return batch
