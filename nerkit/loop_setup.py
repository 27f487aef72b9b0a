"""What ``run_ner_no_trainer.py`` builds around its loop: the Accelerator, one dataloader a split, the optimizer
and the schedule, the trackers' configuration, and the upload to the hub at the end.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, Optional

import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState, GradientState
from accelerate.utils import DataLoaderConfiguration, ProjectConfiguration
from huggingface_hub import HfApi
from torch.utils.data import DataLoader
from transformers import get_scheduler

from .batching import LengthSortedBatchSampler, TokenBudgetBatchSampler, model_inputs
from .data import LoadedData, load_data, load_requested_splits
from .errors import SetupError
from .optimization import parameter_groups
from .runtime import runs_on_cpu, use_cpu_bf16

# Parameters without weight decay, as the Trainer's: biases and the weights of every kind of norm.


def create_accelerator(args, cpu_bf16: bool) -> Accelerator:
    """A fresh Accelerator for a run: processes and devices, mixed precision (bf16 on a CPU with bf16 instructions
    unless a precision was chosen), gradient accumulation, trackers, and shuffling that a resumed run repeats."""
    AcceleratorState._reset_state(reset_partial_state=True)  # a fresh state for every main() call, as the Trainer
    GradientState._reset_state()
    mixed_precision = args.mixed_precision
    if use_cpu_bf16(cpu_bf16, runs_on_cpu(args.use_cpu),
                    mixed_precision is not None or "ACCELERATE_MIXED_PRECISION" in os.environ):
        mixed_precision = "bf16"
    try:
        return Accelerator(
            cpu=args.use_cpu,
            mixed_precision=mixed_precision,
            gradient_accumulation_steps=args.gradient_accumulation_steps,
            log_with=args.report_to if args.with_tracking else None,
            project_config=ProjectConfiguration(project_dir=args.output_dir,
                                                logging_dir=os.path.join(args.output_dir, "runs")),
            # The shuffling order is a function of (seed, epoch) alone, so a resumed run sees the same batches.
            dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=args.seed),
        )
    except ValueError as error:  # e.g. fp16 where the device has none
        raise SetupError(str(error).splitlines()[0]) from None


def load_loop_data(args, data_args, model_args, resume_from: Optional[str]) -> LoadedData:
    """The splits the loop works on, with the checks that need to know them.

    ``--do_train/--do_eval/--do_predict`` choose the splits; with none of them, upstream's rule: do whatever the
    given splits allow (``args.do_*`` are then set from them). ``--debug`` caps every split at 100 sentences.
    """
    if args.debug:
        for name in ("max_train_samples", "max_eval_samples", "max_predict_samples"):
            setattr(data_args, name, min(getattr(data_args, name) or 100, 100))
    if args.do_train or args.do_eval or args.do_predict:
        loaded = load_requested_splits(data_args, model_args, args.do_train, args.do_eval, args.do_predict)
    else:
        loaded = load_data(data_args, model_args)
        args.do_train, args.do_eval, args.do_predict = (split in loaded.splits for split in ("train", "validation", "test"))
    if resume_from and not args.do_train:
        raise SetupError("--resume_from_checkpoint resumes training: it needs a train split")
    if args.early_stopping_patience and not (args.do_train and args.do_eval):
        raise SetupError("--early_stopping_patience needs training and a validation split")
    return loaded


def make_dataloaders(features, lengths, collator, args, train_budget: Optional[int] = None,
                     eval_budget: Optional[int] = None) -> Dict[str, DataLoader]:
    """One DataLoader a split, over its model inputs: training batches cut by ``train_budget`` sub-words (else
    shuffled batches of ``per_device_train_batch_size``), evaluation batches length-sorted within ``eval_budget``
    (else batches of ``per_device_eval_batch_size`` in input order)."""
    loaders = {}
    for split, dataset in features.items():
        training = split == "train"
        budget = train_budget if training else eval_budget
        if budget:
            batching = {"batch_sampler": TokenBudgetBatchSampler(lengths[split], budget, seed=args.seed) if training
                        else LengthSortedBatchSampler(lengths[split], budget)}
        else:
            batching = {"shuffle": training,
                        "batch_size": args.per_device_train_batch_size if training else args.per_device_eval_batch_size}
        loaders[split] = DataLoader(
            model_inputs(dataset),
            collate_fn=collator,
            # Its own generator: iterating a DataLoader then leaves the global RNG (dropout) untouched, which
            # exact resumption needs.
            generator=torch.Generator().manual_seed(args.seed),
            **batching,
        )
    return loaders


def create_optimizer(model, learning_rate: float, weight_decay: float, layerwise_lr_decay: float = 1.0
                     ) -> torch.optim.AdamW:
    """AdamW with no weight decay on biases and norm weights, as the Trainer's, and optional layer-wise learning-rate
    decay (:func:`nerkit.optimization.parameter_groups`).

    ``fused=True`` is the Trainer's default (``adamw_torch_fused``): one kernel over all tensors rather than a
    loop over them.
    """
    return torch.optim.AdamW(parameter_groups(model, learning_rate, weight_decay, layerwise_lr_decay),
                             lr=learning_rate, fused=True)


@dataclass(frozen=True)
class TrainingSchedule:
    """How long training runs: batches and optimizer steps per epoch (per process), optimizer steps and epochs."""

    batches_per_epoch: int
    updates_per_epoch: int
    max_train_steps: int
    num_train_epochs: int

    @classmethod
    def plan(cls, batches: int, num_processes: int, gradient_accumulation_steps: int, num_train_epochs: int,
             max_train_steps: Optional[int] = None) -> "TrainingSchedule":
        """The schedule for ``batches`` a epoch; ``max_train_steps`` (if given) overrides ``num_train_epochs``.

        >>> TrainingSchedule.plan(batches=10, num_processes=2, gradient_accumulation_steps=2, num_train_epochs=3)
        TrainingSchedule(batches_per_epoch=5, updates_per_epoch=3, max_train_steps=9, num_train_epochs=3)
        """
        batches_per_epoch = math.ceil(batches / num_processes)  # Accelerate's share of the batches per process
        updates_per_epoch = math.ceil(batches_per_epoch / gradient_accumulation_steps)
        max_train_steps = max_train_steps or num_train_epochs * updates_per_epoch
        num_train_epochs = math.ceil(max_train_steps / updates_per_epoch)
        return cls(batches_per_epoch, updates_per_epoch, max_train_steps, num_train_epochs)

    def scheduler(self, optimizer, args, num_processes: int, time_budget=None):
        """``--lr_scheduler_type`` over :attr:`max_train_steps`, after ``--num_warmup_steps`` of warm-up; with a
        :class:`nerkit.time_budget.TimeBudget`, over the steps it allows."""
        # A prepared scheduler is stepped once per process at every optimizer step, hence the factors.
        if time_budget is not None:
            time_budget.plan(self.max_train_steps)
            return time_budget.scheduler(optimizer, args.lr_scheduler_type, args.num_warmup_steps,
                                         steps_per_call=num_processes)
        return get_scheduler(args.lr_scheduler_type, optimizer, num_warmup_steps=args.num_warmup_steps * num_processes,
                             num_training_steps=self.max_train_steps * num_processes)


def tracker_config(*argument_groups) -> Dict[str, object]:
    """The run's arguments as flat scalars (what TensorBoard's hparams accept)."""
    config = {}
    for group in argument_groups:
        for key, value in asdict(group).items():
            if key.endswith("token"):
                continue
            if hasattr(value, "value"):  # enums such as SchedulerType
                value = value.value
            if isinstance(value, (bool, int, float, str)):
                config[key] = value
    return config



def push_to_hub(output_dir: str, hub_model_id: Optional[str] = None, hub_token: Optional[str] = None) -> None:
    """Upload the final model (not the checkpoints) to ``hub_model_id``, by default a repository named after
    ``output_dir``; any failure is one line (the model is saved locally anyway)."""
    api = HfApi(token=hub_token)
    try:
        repo_id = api.create_repo(hub_model_id or Path(output_dir).absolute().name, exist_ok=True).repo_id
        api.upload_folder(repo_id=repo_id, folder_path=output_dir, commit_message="End of training",
                          ignore_patterns=["step_*", "epoch_*", ".*"])
    except Exception as error:  # network, permissions, names
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise SetupError(f"could not push to the hub: {reason}") from None
