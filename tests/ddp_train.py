"""Run by `accelerate launch` in test_sft_distributed: `model.sft.train` with the given flags, then
each rank writes a digest of its model's parameters to ``<output-dir>/../rank-<i>.json``."""

import hashlib
import json
import sys
from pathlib import Path

from model.sft import parse_args, train

if __name__ == "__main__":
    trainer = train(*parse_args(sys.argv[1:]))
    model = trainer.accelerator.unwrap_model(trainer.model)
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode() + tensor.detach().cpu().contiguous().numpy().tobytes())
    rank, world = trainer.args.process_index, trainer.args.world_size
    report = {"rank": rank, "world_size": world, "digest": digest.hexdigest(), "steps": trainer.state.global_step}
    (Path(trainer.args.output_dir).parent / f"rank-{rank}.json").write_text(json.dumps(report))
