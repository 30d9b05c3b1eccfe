"""FiFa-MLLM: a multimodal LLM that explains a face forgery and emits a mask for every [SEG].

``families``, ``tiny``, ``heads`` and ``modeling`` make the model; ``collator``, ``data``, ``generation``
and ``augment`` (the levers of a model trained from scratch) feed it; ``sft.py``, ``evaluate.py`` and
``infer.py`` are the commands. It imports ``fifa_data``'s core
(schema, markup, images, masks, cli, outputs) and, for evaluation and inference, its scoring,
parsing and viewing modules; never ``builders``, the simulator or the annotator.
"""
