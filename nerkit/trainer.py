"""The Trainer, with evaluation kept in dataset order.

transformers v5 applies ``--train_sampling_strategy group_by_length`` to evaluation too: it shuffles length
groups of the eval set, and ``Trainer.predict`` returns logits in that order with no index to undo it, so
predictions no longer line up with their sentences (upstream ``run_ner.py`` silently scores the wrong
sentences). Windows and word alignment need the dataset order, so evaluation keeps it; training keeps
whatever sampling strategy was asked for.
"""

from __future__ import annotations

from torch.utils.data import SequentialSampler
from transformers import Trainer


class NerTrainer(Trainer):
    def _get_eval_sampler(self, eval_dataset):
        if eval_dataset is None:
            return None
        # One process: plain order. Several: None lets Accelerate shard in order and gather back in order.
        return SequentialSampler(eval_dataset) if self.args.world_size <= 1 else None
