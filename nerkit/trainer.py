"""The Trainer, with evaluation kept in dataset order.

transformers v5 applies ``--train_sampling_strategy group_by_length`` to evaluation too: it shuffles length
groups of the eval set, and ``Trainer.predict`` returns logits in that order with no index to undo it, so
predictions no longer line up with their sentences (upstream ``run_ner.py`` silently scores the wrong
sentences). Windows and word alignment need the dataset order, so evaluation keeps it; training keeps
whatever sampling strategy was asked for.

It also keeps pickles out of what it writes (``training_args.bin``, a pickle of the ``TrainingArguments``
that nothing reads back, becomes ``training_args.json``), and with ``save_on_interrupt`` turns Ctrl-C
during training into "finish this step, save ``checkpoint-N``, stop" (exit status 130, resumable with
``--resume_from_checkpoint latest``).
"""

from __future__ import annotations

import logging
import os

from torch.utils.data import SequentialSampler
from transformers import Trainer, TrainerCallback

from .files import atomic_write
from .interrupts import InterruptFlag
from .outputs import last_checkpoint

logger = logging.getLogger(__name__)

PICKLED_ARGUMENTS = "training_args.bin"  # transformers.trainer.TRAINING_ARGS_NAME
JSON_ARGUMENTS = "training_args.json"


class SaveOnInterrupt(InterruptFlag, TrainerCallback):
    """The first Ctrl-C (SIGINT) while training ends the current step, saves ``checkpoint-N`` and stops; a
    second one stops at once. The handler is only installed between the start and the end of training."""

    def on_train_begin(self, args, state, control, **kwargs):
        self.install()

    def on_step_end(self, args, state, control, **kwargs):
        if self.interrupted:
            control.should_save = True
            control.should_training_stop = True
            control.should_evaluate = False
        return control

    def on_train_end(self, args, state, control, **kwargs):
        self.uninstall()


class NerTrainer(Trainer):
    def __init__(self, *args, save_on_interrupt: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.interrupt = SaveOnInterrupt() if save_on_interrupt else None
        if self.interrupt is not None:
            self.add_callback(self.interrupt)

    def train(self, *args, **kwargs):
        """``Trainer.train``; after a Ctrl-C under ``save_on_interrupt``, KeyboardInterrupt once the checkpoint
        is saved (the scripts turn it into one line and exit status 130)."""
        result = super().train(*args, **kwargs)
        if self.interrupt is not None and self.interrupt.interrupted:
            checkpoint = last_checkpoint(self.args.output_dir)
            raise KeyboardInterrupt(f"training stopped at step {self.state.global_step}; checkpoint saved in {checkpoint}; "
                                    "run again with --resume_from_checkpoint latest to continue")
        return result

    def _save(self, output_dir=None, state_dict=None):
        """``Trainer._save`` (model as safetensors, config, tokenizer), with the arguments as JSON, not a pickle."""
        super()._save(output_dir, state_dict)
        folder = output_dir if output_dir is not None else self.args.output_dir
        if self.args.should_save:
            with atomic_write(os.path.join(folder, JSON_ARGUMENTS)) as stream:
                stream.write(self.args.to_json_string())
            pickled = os.path.join(folder, PICKLED_ARGUMENTS)
            if os.path.exists(pickled):
                os.remove(pickled)

    def _get_eval_sampler(self, eval_dataset):
        if eval_dataset is None:
            return None
        # One process: plain order. Several: None lets Accelerate shard in order and gather back in order.
        return SequentialSampler(eval_dataset) if self.args.world_size <= 1 else None
