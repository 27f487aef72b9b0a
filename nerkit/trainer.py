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
from functools import partial

import numpy as np
from torch.utils.data import DataLoader, SequentialSampler
from transformers import EvalPrediction, Trainer, TrainerCallback
from transformers.trainer_utils import EvalLoopOutput, seed_worker

from .batching import LengthSortedBatchSampler, TokenBudgetBatchSampler, input_lengths, restore_order
from .files import atomic_write
from .interrupts import InterruptFlag
from .losses import per_input_loss
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
    """``Trainer`` with batches cut by a sub-word budget (``nerkit.batching``).

    ``max_tokens_per_batch`` (training; None: the Trainer's own batches of ``per_device_train_batch_size``) and
    ``eval_max_tokens_per_batch`` (evaluation and prediction, one process: length-sorted batches, results put
    back in input order before ``compute_metrics`` sees them; None: batches of ``per_device_eval_batch_size``).
    """

    def __init__(self, *args, save_on_interrupt: bool = False, max_tokens_per_batch=None,
                 eval_max_tokens_per_batch=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_tokens_per_batch = max_tokens_per_batch
        self.eval_max_tokens_per_batch = eval_max_tokens_per_batch
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

    def _get_dataloader(self, dataset, description, batch_size, sampler_fn=None, is_training=False, dataloader_key=None):
        if is_training and self.max_tokens_per_batch:
            batch_sampler = TokenBudgetBatchSampler(input_lengths(dataset), self.max_tokens_per_batch,
                                                    seed=self.args.data_seed if self.args.data_seed is not None else self.args.seed)
        elif not is_training and self.eval_max_tokens_per_batch and self.args.world_size <= 1:
            batch_sampler = LengthSortedBatchSampler(input_lengths(dataset), self.eval_max_tokens_per_batch)
        else:
            return super()._get_dataloader(dataset, description, batch_size, sampler_fn, is_training, dataloader_key)
        dataset = self._remove_unused_columns(dataset, description=description)
        loader = DataLoader(
            dataset,
            batch_sampler=batch_sampler,
            collate_fn=self.data_collator,
            num_workers=self.args.dataloader_num_workers,
            pin_memory=self.args.dataloader_pin_memory and self.args.device.type == "cuda",  # no warning on a CPU
            persistent_workers=self.args.dataloader_persistent_workers and self.args.dataloader_num_workers > 0,
            prefetch_factor=self.args.dataloader_prefetch_factor,
            worker_init_fn=partial(seed_worker, num_workers=self.args.dataloader_num_workers, rank=self.args.process_index)
            if is_training else None,
        )
        # Several processes: Accelerate gives each one every n-th batch (the same count on each).
        return self.accelerator.prepare(loader)

    def evaluation_loop(self, dataloader, description, prediction_loss_only=None, ignore_keys=None,
                        metric_key_prefix="eval"):
        """``Trainer.evaluation_loop``, with logits back in input order after length-sorted batches, and (one
        process) the loss as the mean over all labelled sub-words, as the Accelerate loop reports it: the
        Trainer's mean of batch means would change with the batching."""
        order = getattr(getattr(dataloader, "batch_sampler", None), "order", None)
        compute_metrics = self.compute_metrics
        if order is not None and compute_metrics is not None:
            self.compute_metrics = lambda evaluation: compute_metrics(EvalPrediction(
                predictions=_restore(evaluation.predictions, order), label_ids=_restore(evaluation.label_ids, order)))
        self._loss_totals = [0.0, 0.0] if self.args.world_size <= 1 else None
        try:
            output = super().evaluation_loop(dataloader, description, prediction_loss_only, ignore_keys, metric_key_prefix)
        finally:
            self.compute_metrics = compute_metrics
        totals, self._loss_totals = self._loss_totals, None
        metrics = dict(output.metrics)
        if totals is not None and totals[1] > 0 and f"{metric_key_prefix}_loss" in metrics:
            metrics[f"{metric_key_prefix}_loss"] = totals[0] / totals[1]
        if order is None:
            return EvalLoopOutput(predictions=output.predictions, label_ids=output.label_ids, metrics=metrics,
                                  num_samples=output.num_samples)
        return EvalLoopOutput(predictions=_restore(output.predictions, order), label_ids=_restore(output.label_ids, order),
                              metrics=metrics, num_samples=output.num_samples)

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        loss, logits, labels = super().prediction_step(model, inputs, prediction_loss_only, ignore_keys)
        totals = getattr(self, "_loss_totals", None)
        if totals is not None and logits is not None and labels is not None:
            weights = getattr(self.compute_loss_func, "class_weights", None)
            sums, counts = per_input_loss(logits, labels, weights)
            totals[0] += float(sums.double().sum())
            totals[1] += float(counts.double().sum())
        return loss, logits, labels

    def _get_eval_sampler(self, eval_dataset):
        if eval_dataset is None:
            return None
        # One process: plain order. Several: None lets Accelerate shard in order and gather back in order.
        return SequentialSampler(eval_dataset) if self.args.world_size <= 1 else None


def _restore(rows, order):
    if rows is None:
        return None
    if isinstance(rows, tuple):
        return tuple(_restore(part, order) for part in rows)
    return restore_order(np.asarray(rows) if not isinstance(rows, list) else rows, order)
