"""The bookkeeping of ``run_ner_no_trainer.py``'s loop, so that the loop reads like upstream's: the resumable state
and checkpoint folders, the running loss and its logging, early stopping, and the evaluation of a split.

The forward pass, backward pass and optimizer step stay in the script; nothing here decides how the loop trains
(what it is built from: :mod:`nerkit.loop_setup`).

Checkpoints are ``step_N`` / ``epoch_N`` folders in ``output_dir`` (upstream's names), each holding
``accelerator.save_state`` (model, optimizer, scheduler, gradient scaler, every process's RNG states) plus
``loop_state.json`` (:class:`LoopState`: where in which epoch the loop was, the running loss, early-stopping
counters). A folder is written under a temporary name and renamed when complete, so a run killed while saving
never leaves a half checkpoint that ``--resume_from_checkpoint`` (latest) would pick.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Dict, List, Optional, Tuple

import torch

from .batching import evaluation_order, restore_order
from .errors import SetupError
from .losses import per_input_loss

logger = logging.getLogger(__name__)

LOOP_STATE_NAME = "loop_state.json"
CHECKPOINT_NAME = re.compile(r"^(step|epoch)_(\d+)$")


@dataclass
class LoopState:
    """Where the loop is: what ``loop_state.json`` in a checkpoint holds, so a resumed run continues exactly."""

    completed_steps: int = 0  # optimizer steps
    epoch: int = 0
    step_in_epoch: int = 0  # micro-batches of ``epoch`` already trained (per process)
    train_loss_sum: float = 0.0  # sum over logged micro-batches of the loss, averaged over processes
    train_batches: int = 0
    running_loss: float = 0.0  # at the checkpoint: the loss summed since the last log, and its batches
    running_batches: int = 0
    best_f1: Optional[float] = None
    best_step: Optional[int] = None
    evaluations_without_improvement: int = 0
    log_history: List[Dict] = field(default_factory=list)  # {"step", "loss", ...} and {"step", "eval_f1", ...}

    def save(self, folder: str) -> None:
        with open(os.path.join(folder, LOOP_STATE_NAME), "w", encoding="utf-8") as stream:
            json.dump(asdict(self), stream, indent=2, sort_keys=True)

    @classmethod
    def load(cls, folder: str) -> "LoopState":
        path = os.path.join(folder, LOOP_STATE_NAME)
        try:
            with open(path, encoding="utf-8") as stream:
                values = json.load(stream)
        except FileNotFoundError:
            raise SetupError(f"not a checkpoint of run_ner_no_trainer.py (no {LOOP_STATE_NAME})",
                               path=folder) from None
        except json.JSONDecodeError as error:
            raise SetupError(f"unreadable loop state: {error.msg}", path=path) from None
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})

    def record_evaluation(self, f1: float) -> bool:
        """Count one evaluation for early stopping; True when it is the best so far."""
        if self.best_f1 is None or f1 > self.best_f1:
            self.best_f1, self.best_step = f1, self.completed_steps
            self.evaluations_without_improvement = 0
            return True
        self.evaluations_without_improvement += 1
        return False


# --- checkpoint folders --------------------------------------------------------------------------------------


def find_checkpoints(output_dir: str) -> List[Tuple[LoopState, str]]:
    """Complete ``step_N``/``epoch_N`` checkpoints in ``output_dir``, oldest first (by training progress)."""
    found = []
    for name in os.listdir(output_dir) if os.path.isdir(output_dir) else []:
        path = os.path.join(output_dir, name)
        if CHECKPOINT_NAME.match(name) and os.path.isfile(os.path.join(path, LOOP_STATE_NAME)):
            state = LoopState.load(path)
            found.append((state, path))
    found.sort(key=lambda item: (item[0].completed_steps, item[0].epoch, item[0].step_in_epoch))
    return found


def resolve_checkpoint(resume_from_checkpoint: Optional[str], output_dir: Optional[str]) -> Optional[str]:
    """The checkpoint folder to resume from: the one given, or the latest in ``output_dir`` for ``latest``."""
    if not resume_from_checkpoint:
        return None
    if resume_from_checkpoint in ("latest", "last", "True", "true"):
        found = find_checkpoints(output_dir) if output_dir else []
        if not found:
            raise SetupError("--resume_from_checkpoint: no step_N or epoch_N checkpoint here", path=output_dir)
        return found[-1][1]
    if not os.path.isdir(resume_from_checkpoint):
        raise SetupError("checkpoint folder not found", path=resume_from_checkpoint)
    LoopState.load(resume_from_checkpoint)  # a clear error now rather than after loading the data
    return resume_from_checkpoint


def save_checkpoint(accelerator, state: LoopState, output_dir: str, name: str) -> str:
    """``accelerator.save_state`` plus ``loop_state.json`` into ``output_dir/name``, renamed into place when complete.

    Checkpoints need a file system shared by all processes (as upstream's do).
    """
    final = os.path.join(output_dir, name)
    partial = os.path.join(output_dir, f".{name}.partial")
    if accelerator.is_main_process and os.path.exists(partial):
        shutil.rmtree(partial)
    accelerator.wait_for_everyone()
    accelerator.save_state(partial)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        state.save(partial)
        if os.path.exists(final):
            shutil.rmtree(final)
        os.replace(partial, final)
    accelerator.wait_for_everyone()
    return final


def load_checkpoint(accelerator, folder: str) -> LoopState:
    """Restore what :func:`save_checkpoint` saved (model, optimizer, scheduler, scaler, every process's RNG) and
    return the loop's state."""
    accelerator.load_state(folder)
    state = LoopState.load(folder)
    logger.info(f"Resumed from {folder}: epoch {state.epoch}, {state.step_in_epoch} batches into it, "
                f"{state.completed_steps} optimizer steps done")
    return state


# --- the loop's bookkeeping -----------------------------------------------------------------------------------


class TrainingProgress:
    """The loop's bookkeeping around its :class:`LoopState`: the running loss and its logging, checkpoints by
    step, by epoch and on Ctrl-C, evaluations and early stopping, the final training metrics.

    The loss summed since the last log stays a tensor on the device (no synchronisation per batch); a checkpoint
    keeps it, so a resumed run logs the same numbers.
    """

    def __init__(self, accelerator, state: LoopState, args, schedule, time_budget=None):
        self.accelerator, self.state, self.args = accelerator, state, args
        self.schedule = schedule  # a nerkit.loop_setup.TrainingSchedule
        self.time_budget = time_budget  # a nerkit.time_budget.TimeBudget, or None
        self.total_batch_size = (args.per_device_train_batch_size * accelerator.num_processes
                                 * args.gradient_accumulation_steps)
        self.running_loss = torch.tensor(state.running_loss, device=accelerator.device)
        self.running_batches = state.running_batches
        self.learning_rate = None  # the rate the last optimizer step used (the Trainer logs that one too)

    def log_plan(self, num_inputs: int, num_sentences: int) -> None:
        """The Trainer's "Running training" lines."""
        args = self.args
        logger.info("***** Running training *****")
        logger.info(f"  Num examples = {num_inputs} inputs from {num_sentences} sentences")
        logger.info(f"  Num epochs = {self.schedule.num_train_epochs}")
        logger.info(f"  Instantaneous batch size per device = {args.per_device_train_batch_size}")
        logger.info(f"  Total train batch size (w. parallel, distributed & accumulation) = {self.total_batch_size}")
        logger.info(f"  Gradient accumulation steps = {args.gradient_accumulation_steps}")
        logger.info(f"  Total optimization steps = {self.schedule.max_train_steps}")

    def micro_batch_done(self, loss: torch.Tensor) -> None:
        self.state.step_in_epoch += 1
        self.running_loss += loss.detach().float()
        self.running_batches += 1

    def optimizer_step_done(self, learning_rate: float, stop_requested: bool) -> Optional[str]:
        """Count an optimizer step that used ``learning_rate``; log the loss every ``logging_steps``; save
        ``step_N`` every ``checkpointing_steps`` or when ``stop_requested``. The checkpoint folder when the loop
        must stop."""
        state, args = self.state, self.args
        state.completed_steps += 1
        self.learning_rate = learning_rate
        if self.time_budget is not None:
            self.time_budget.step_done(state.completed_steps)
        save_now = isinstance(args.checkpointing_steps, int) and state.completed_steps % args.checkpointing_steps == 0
        if state.completed_steps % args.logging_steps == 0:
            self.log_running_loss()
        if save_now or stop_requested:
            checkpoint = self.save(f"step_{state.completed_steps}")
            if stop_requested:
                return checkpoint
        return None

    def training_done(self) -> bool:
        """All the planned optimizer steps are done (or all the time budget allows)."""
        last = self.schedule.max_train_steps if self.time_budget is None else self.time_budget.total_steps
        return self.state.completed_steps >= last

    def evaluation_done(self, metrics: Dict[str, object], epoch: int) -> None:
        """Record the evaluation after ``epoch``: history, early-stopping count, log line, trackers."""
        state = self.state
        state.log_history.append({"step": state.completed_steps, "epoch": epoch + 1,
                                  **scalar_metrics(metrics, "eval", separator="_")})
        best = state.record_evaluation(metrics["eval_f1"])
        logger.info(f"epoch {epoch}: eval f1 {metrics['eval_f1']:.4f}, loss {metrics['eval_loss']:.4f}"
                    + (" (best so far)" if best else f" (best {state.best_f1:.4f} at step {state.best_step})"))
        if self.args.with_tracking:
            self.accelerator.log(scalar_metrics(metrics, "eval"), step=state.completed_steps)
        if self.should_stop_early():
            logger.info(f"Early stopping: no F1 improvement in {self.args.early_stopping_patience} evaluations")

    def should_stop_early(self) -> bool:
        patience = self.args.early_stopping_patience
        return patience is not None and self.state.evaluations_without_improvement >= patience

    def epoch_done(self, epoch: int) -> None:
        """Save ``epoch_N`` under ``--checkpointing_steps epoch``; a run resumed from it starts the next epoch."""
        if self.args.checkpointing_steps == "epoch":
            self.state.epoch, self.state.step_in_epoch = epoch + 1, 0
            self.save(f"epoch_{epoch}")

    def save(self, name: str) -> str:
        self.state.running_loss = self.accelerator.reduce(self.running_loss, reduction="mean").item()
        self.state.running_batches = self.running_batches
        return save_checkpoint(self.accelerator, self.state, self.args.output_dir, name)

    def log_running_loss(self) -> None:
        """Add the loss since the last call (mean over processes) to the state and the logs."""
        state = self.state
        summed = self.accelerator.reduce(self.running_loss, reduction="mean").item()
        state.train_loss_sum += summed
        state.train_batches += self.running_batches
        entry = {"step": state.completed_steps, "epoch": state.completed_steps / self.schedule.updates_per_epoch,
                 "loss": summed / self.running_batches, "learning_rate": self.learning_rate}
        state.log_history.append(entry)
        if self.args.with_tracking:
            self.accelerator.log({f"train/{key}": value for key, value in entry.items() if key != "step"},
                                 step=state.completed_steps)
        self.running_loss.zero_()
        self.running_batches = 0

    def finish(self) -> None:
        """At the end of training: log the loss of the batches since the last log."""
        if self.running_batches:
            self.log_running_loss()

    def training_metrics(self, runtime: float, start_steps: int, **counts) -> Dict[str, float]:
        """``train_results.json``'s metrics (the Trainer's names) for a run that started at ``start_steps``; also
        added to the history."""
        state = self.state
        steps_done = state.completed_steps - start_steps
        metrics = {
            "train_loss": state.train_loss_sum / state.train_batches if state.train_batches else 0.0,
            "train_runtime": round(runtime, 4),
            "train_samples_per_second": round(steps_done * self.total_batch_size / runtime, 3),
            "train_steps_per_second": round(steps_done / runtime, 3),
            "epoch": state.completed_steps / self.schedule.updates_per_epoch,
            **counts,
        }
        state.log_history.append({"step": state.completed_steps, **metrics})
        return metrics


# --- evaluation -----------------------------------------------------------------------------------------------


def evaluate(accelerator, model, dataloader, evaluator, lengths, weights, prefix) -> Dict[str, object]:
    """Score one split: every process runs its shard, logits are gathered in input order and scored per word.

    With one process the batches are length-sorted; the batch sampler's ``order`` puts the logits back. The loss
    is the mean over every labelled sub-word of the split, whatever the batching.
    """
    start = time.time()
    model.eval()
    order = evaluation_order(dataloader)
    logits_per_input, loss_sum, loss_weight = [], 0.0, 0.0
    for batch in dataloader:
        labels = batch.pop("labels")
        with torch.inference_mode():
            logits = model(**batch).logits
        sums, counts = per_input_loss(logits, labels, weights)
        # Each process pads its batch to its own longest input: pad to a common length before gathering.
        logits = accelerator.pad_across_processes(logits.float(), dim=1, pad_index=0)
        # gather_for_metrics drops the inputs repeated to give every process a full last batch.
        logits, sums, counts = accelerator.gather_for_metrics((logits, sums, counts))
        for row in logits.cpu().numpy():
            position = len(logits_per_input)
            logits_per_input.append(row[: lengths[order[position] if order else position]])
        loss_sum += sums.cpu().double().sum().item()
        loss_weight += counts.cpu().double().sum().item()
    if len(logits_per_input) != len(lengths):
        raise RuntimeError(f"gathered {len(logits_per_input)} inputs for a split of {len(lengths)}")
    if order:
        logits_per_input = restore_order(logits_per_input, order)
    runtime = time.time() - start
    metrics = {f"{prefix}_{name}": value for name, value in evaluator(logits_per_input).items()}
    metrics[f"{prefix}_loss"] = loss_sum / loss_weight if loss_weight else 0.0
    metrics[f"{prefix}_runtime"] = round(runtime, 4)
    metrics[f"{prefix}_samples_per_second"] = round(len(lengths) / runtime, 3)
    metrics[f"{prefix}_steps_per_second"] = round(len(dataloader) / runtime, 3)
    return metrics


# --- trackers -------------------------------------------------------------------------------------------------


def scalar_metrics(metrics: Dict[str, object], prefix: str, separator: str = "/") -> Dict[str, float]:
    """``eval_f1`` -> ``eval/f1`` for trackers (the Trainer's TensorBoard names); nested values left out."""
    out = {}
    for key, value in metrics.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            name = key[len(prefix) + 1 :] if key.startswith(prefix + "_") else key
            out[f"{prefix}{separator}{name}"] = value
    return out

