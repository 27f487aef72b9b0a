"""The Trainer with sub-word-budget batches, evaluation scored in input order, and no pickles, on public hooks.

transformers v5 applies ``--train_sampling_strategy group_by_length`` to evaluation too: it shuffles length
groups of the eval set, and ``Trainer.predict`` returns logits in that order with no index to undo it, so
predictions no longer line up with their sentences (upstream ``run_ner.py`` silently scores the wrong
sentences). Windows and word alignment need the dataset order, so evaluation keeps it; training keeps
whatever sampling strategy was asked for.

The datasets handed to :class:`NerTrainer` hold model inputs and labels only
(:func:`nerkit.batching.model_inputs`); the evaluator that scores them keeps the full features.

It also keeps pickles out of what it writes (``training_args.bin``, a pickle of the ``TrainingArguments``
that nothing reads back, becomes ``training_args.json``), and with ``save_on_interrupt`` turns Ctrl-C
during training into "finish this step, save ``checkpoint-N``, stop" (exit status 130, resumable with
``--resume_from_checkpoint latest``; with several processes all stop after the same step).

Checkpoints appear whole or not at all: the Trainer's own ``_save_checkpoint`` runs unchanged, pointed at a
hidden ``.checkpoint-N.partial`` folder, and once every process has written its part (each its RNG state) the
main one renames it ``checkpoint-N``. A process killed during a save leaves the previous checkpoint the latest.
This wraps the one non-public method overridden here (with ``_get_output_dir``, which it points elsewhere).
"""

from __future__ import annotations

import logging
import os
import shutil
from functools import partial
from typing import Callable, Optional, Sequence

import numpy as np
from torch.utils.data import DataLoader
from transformers import EvalPrediction, Trainer
from transformers.trainer_utils import (
    PREFIX_CHECKPOINT_DIR,
    EvalLoopOutput,
    denumpify_detensorize,
    rotate_checkpoints,
    seed_worker,
)

from .batching import LengthSortedBatchSampler, TokenBudgetBatchSampler, evaluation_order, input_lengths, restore_order
from .files import atomic_write
from .interrupts import SaveOnInterruptCallback, stopped_after_interrupt
from .losses import WeightedLoss, split_loss
from .optimization import parameter_groups
from .outputs import COMPLETE_CHECKPOINT, last_checkpoint
from .standard_loading import write_standard_loading
from .time_budget import TimeBudget, TimeBudgetCallback

logger = logging.getLogger(__name__)

PICKLED_ARGUMENTS = "training_args.bin"  # transformers.trainer.TRAINING_ARGS_NAME
JSON_ARGUMENTS = "training_args.json"


class NerTrainer(Trainer):
    """``Trainer`` with batches cut by a sub-word budget (``nerkit.batching``) and word-level scores.

    - ``evaluator`` (a :class:`nerkit.evaluation.WordLevelEvaluator`) scores evaluation and prediction once the
      logits are back in input order; it takes the place of ``compute_metrics``, which the Trainer would call
      on length-sorted batches. Set it per split (``trainer.evaluator = ...``) before ``predict``.
    - ``class_weights`` (None: unweighted) weight the cross-entropy of training and of the evaluation loss;
      ``--label_smoothing_factor`` smooths the training loss only.
    - ``layerwise_lr_decay`` (1: off) gives each layer its own learning rate, as in the Accelerate loop.
    - ``time_budget`` (a :class:`nerkit.time_budget.TimeBudget`) stops training when it runs out, with the
      learning-rate schedule fitted to the steps it allows.
    - ``max_tokens_per_batch`` (training; None: the Trainer's own batches of ``per_device_train_batch_size``) and
      ``eval_max_tokens_per_batch`` (evaluation and prediction, one process: length-sorted batches; None: batches
      of ``per_device_eval_batch_size`` in input order).
    """

    def __init__(self, *args, evaluator: Optional[Callable] = None, class_weights: Optional[Sequence[float]] = None,
                 save_on_interrupt: bool = False, max_tokens_per_batch: Optional[int] = None,
                 eval_max_tokens_per_batch: Optional[int] = None, layerwise_lr_decay: float = 1.0,
                 time_budget: Optional[TimeBudget] = None, **kwargs):
        # Always our loss: transformers 5 treats BERT-like models (forward(**kwargs)) as normalising their loss by
        # num_items_in_batch, which they do not, so its loss would be off by the world size under DDP and not
        # divided by gradient_accumulation_steps.
        training_args = kwargs.get("args", args[1] if len(args) > 1 else None)
        loss = WeightedLoss(class_weights, getattr(training_args, "label_smoothing_factor", 0.0))
        super().__init__(*args, compute_loss_func=loss, **kwargs)
        self.layerwise_lr_decay = layerwise_lr_decay
        self.time_budget = time_budget
        if time_budget is not None:
            self.add_callback(TimeBudgetCallback(time_budget))
        self.evaluator = evaluator
        self.class_weights = loss.class_weights
        self.max_tokens_per_batch = max_tokens_per_batch
        self.eval_max_tokens_per_batch = eval_max_tokens_per_batch
        self.interrupt = SaveOnInterruptCallback() if save_on_interrupt else None
        if self.interrupt is not None:
            self.add_callback(self.interrupt)

    def create_optimizer(self, model=None):
        """The Trainer's optimizer (``--optim``); with ``layerwise_lr_decay`` < 1 over our parameter groups, one
        learning rate per layer (:func:`nerkit.optimization.parameter_groups`), the same as the Accelerate loop's."""
        if self.layerwise_lr_decay == 1 or self.optimizer is not None:
            return super().create_optimizer(model)
        model = self.model if model is None else model
        optimizer_cls, optimizer_kwargs = self.get_optimizer_cls_and_kwargs(self.args, model)
        groups = parameter_groups(model, self.args.learning_rate, self.args.weight_decay, self.layerwise_lr_decay,
                                  decay_names=self.get_decay_parameter_names(model))
        self.optimizer = optimizer_cls(groups, **optimizer_kwargs)
        return self.optimizer

    def create_scheduler(self, num_training_steps: int, optimizer=None):
        """The Trainer's schedule; with a time budget, one fitted to the steps the budget allows."""
        if self.time_budget is None or self.lr_scheduler is not None:
            return super().create_scheduler(num_training_steps, optimizer)
        self.time_budget.plan(num_training_steps)
        self.lr_scheduler = self.time_budget.scheduler(optimizer or self.optimizer, self.args.lr_scheduler_type,
                                                       self.args.get_warmup_steps(num_training_steps))
        return self.lr_scheduler

    def train(self, *args, **kwargs):
        """``Trainer.train``; after a Ctrl-C under ``save_on_interrupt``, KeyboardInterrupt once the checkpoint
        is saved (the scripts turn it into one line and exit status 130)."""
        result = super().train(*args, **kwargs)
        if self.interrupt is not None and self.interrupt.interrupted:
            checkpoint = last_checkpoint(self.args.output_dir)
            raise stopped_after_interrupt(self.state.global_step, checkpoint, "--resume_from_checkpoint latest")
        return result

    def save_model(self, output_dir: Optional[str] = None, _internal_call: bool = False) -> None:
        """``Trainer.save_model`` (model as safetensors, config, tokenizer), the arguments as JSON, not a pickle, and
        the case feature's code for standard loading (:func:`nerkit.standard_loading.write_standard_loading`)."""
        super().save_model(output_dir, _internal_call=True)  # no push yet: the pickle is still there
        folder = output_dir if output_dir is not None else self.args.output_dir
        if self.args.should_save:
            with atomic_write(os.path.join(folder, JSON_ARGUMENTS)) as stream:
                stream.write(self.args.to_json_string())
            pickled = os.path.join(folder, PICKLED_ARGUMENTS)
            if os.path.exists(pickled):
                os.remove(pickled)
            write_standard_loading(folder)
        if self.args.push_to_hub and not _internal_call:  # as Trainer.save_model does
            self.push_to_hub(commit_message="Model save", revision=self.args.hub_revision)

    # ---- checkpoints --------------------------------------------------------------------------------------------

    def _save_checkpoint(self, model, trial) -> None:
        """``Trainer._save_checkpoint`` into a hidden folder, renamed ``checkpoint-N`` when complete (module docstring)."""
        run_dir = self._get_output_dir(trial)
        name = f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
        staging = os.path.join(run_dir, f".{name}.partial")  # the same on every process: each adds its files
        if self.args.should_save and os.path.exists(staging):
            shutil.rmtree(staging)  # left by a run killed while saving
        self.accelerator.wait_for_everyone()
        self._staging_dir = staging
        try:
            super()._save_checkpoint(model, trial)
        finally:
            self._staging_dir = None
        self.accelerator.wait_for_everyone()  # every process's part is written
        if self.args.should_save:
            final = os.path.join(run_dir, name)
            best = self.state.best_model_checkpoint
            if best and best.startswith(staging + os.sep):  # the Trainer recorded the staged path
                self.state.best_model_checkpoint = os.path.join(run_dir, os.path.basename(best))
                self.state.save_to_json(os.path.join(staging, name, COMPLETE_CHECKPOINT))
            if os.path.exists(final):
                shutil.rmtree(final)
            os.replace(os.path.join(staging, name), final)
            os.rmdir(staging)
            rotate_checkpoints(output_dir=run_dir, save_total_limit=self.args.save_total_limit,
                               best_model_checkpoint=self.state.best_model_checkpoint, use_mtime=True)
        self.accelerator.wait_for_everyone()  # no process goes on before the checkpoint has its name

    def _get_output_dir(self, trial) -> str:
        staging = getattr(self, "_staging_dir", None)
        return staging if staging is not None else super()._get_output_dir(trial)

    # ---- batches ------------------------------------------------------------------------------------------------

    def get_train_dataloader(self) -> DataLoader:
        if not self.max_tokens_per_batch:
            return super().get_train_dataloader()
        if self.train_dataset is None:
            raise ValueError("Trainer: training requires a train_dataset.")
        seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
        batches = TokenBudgetBatchSampler(input_lengths(self.train_dataset), self.max_tokens_per_batch, seed=seed)
        return self._prepared_loader(self.train_dataset, batch_sampler=batches, training=True)

    def get_eval_dataloader(self, eval_dataset=None) -> DataLoader:
        if eval_dataset is None and self.eval_dataset is None:
            raise ValueError("Trainer: evaluation requires an eval_dataset.")
        if isinstance(eval_dataset, str):
            eval_dataset = self.eval_dataset[eval_dataset]
        return self._evaluation_loader(eval_dataset if eval_dataset is not None else self.eval_dataset)

    def get_test_dataloader(self, test_dataset) -> DataLoader:
        return self._evaluation_loader(test_dataset)

    def _evaluation_loader(self, dataset) -> DataLoader:
        """Evaluation batches: one process, length-sorted within the budget (``order`` puts the results back);
        else in input order (several processes: Accelerate shards in order and gathers back in order)."""
        if self.eval_max_tokens_per_batch and self.args.world_size <= 1:
            batches = LengthSortedBatchSampler(input_lengths(dataset), self.eval_max_tokens_per_batch)
            return self._prepared_loader(dataset, batch_sampler=batches)
        return self._prepared_loader(dataset, batch_size=self.args.eval_batch_size)

    def _prepared_loader(self, dataset, batch_sampler=None, batch_size=None, training=False) -> DataLoader:
        args = self.args
        batching = ({"batch_sampler": batch_sampler} if batch_sampler is not None
                    else {"batch_size": batch_size, "drop_last": args.dataloader_drop_last})
        loader = DataLoader(
            dataset,
            collate_fn=self.data_collator,
            num_workers=args.dataloader_num_workers,
            pin_memory=args.dataloader_pin_memory and args.device.type == "cuda",  # no warning on a CPU
            persistent_workers=args.dataloader_persistent_workers and args.dataloader_num_workers > 0,
            prefetch_factor=args.dataloader_prefetch_factor,
            multiprocessing_context=args.dataloader_multiprocessing_context,
            in_order=args.dataloader_in_order,
            worker_init_fn=partial(seed_worker, num_workers=args.dataloader_num_workers, rank=args.process_index)
            if training else None,
            **batching,
        )
        # Several processes: Accelerate gives each one every n-th batch (the same count on each).
        return self.accelerator.prepare(loader)

    # ---- evaluation ---------------------------------------------------------------------------------------------

    def evaluation_loop(self, dataloader, description, prediction_loss_only=None, ignore_keys=None,
                        metric_key_prefix="eval") -> EvalLoopOutput:
        """``Trainer.evaluation_loop`` with the logits back in input order, scored by ``evaluator``.

        With an evaluator, the logits are gathered as the Trainer gathers them for a ``compute_metrics`` (unless
        ``--prediction_loss_only``), each input once whatever the number of processes. The loss is then the mean
        over all labelled sub-words of the gathered logits, as the Accelerate loop reports it; the Trainer's mean
        of batch means would change with the batching and with how batches fall on processes.
        """
        order = evaluation_order(dataloader)
        if order is not None and self.compute_metrics is not None:
            raise ValueError("NerTrainer scores with .evaluator: compute_metrics would see length-sorted batches")
        if self.evaluator is not None:
            prediction_loss_only = self.args.prediction_loss_only
        output = super().evaluation_loop(dataloader, description, prediction_loss_only, ignore_keys, metric_key_prefix)
        predictions, label_ids = _in_input_order(output.predictions, order), _in_input_order(output.label_ids, order)
        metrics = dict(output.metrics)  # the loss first, then the scores, as the Trainer orders them
        if self.evaluator is not None and predictions is not None and label_ids is not None:
            scores = denumpify_detensorize(self.evaluator(EvalPrediction(predictions=predictions, label_ids=label_ids)))
            metrics.update({_prefixed(key, metric_key_prefix): value for key, value in scores.items()})
        loss_key = f"{metric_key_prefix}_loss"
        if loss_key in metrics and predictions is not None and label_ids is not None:
            logits = predictions[0] if isinstance(predictions, tuple) else predictions
            loss = split_loss(logits, label_ids, self.class_weights)
            if loss is not None:
                metrics[loss_key] = loss
        return EvalLoopOutput(predictions=predictions, label_ids=label_ids, metrics=metrics,
                              num_samples=output.num_samples)


def _prefixed(key: str, prefix: str) -> str:
    return key if key.startswith(f"{prefix}_") else f"{prefix}_{key}"


def _in_input_order(rows, order):
    if rows is None or order is None:
        return rows
    if isinstance(rows, tuple):
        return tuple(_in_input_order(part, order) for part in rows)
    return restore_order(np.asarray(rows) if not isinstance(rows, list) else rows, order)
