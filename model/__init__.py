"""FiFa-MLLM: a multimodal LLM that explains a face forgery and emits a mask for every [SEG]."""
