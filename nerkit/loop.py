"""The parts of ``run_ner_no_trainer.py`` that are not the loop itself: its arguments, its resumable state,
checkpoint folders, Ctrl-C handling, the per-input evaluation loss and a check that a multi-process launch
really is one.

The loop stays in the script, readable top to bottom; everything here is small and has no opinion on how the
loop trains.

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
from dataclasses import asdict, dataclass, field, fields
from typing import Dict, List, Optional, Tuple

from transformers import SchedulerType

from .errors import NerDataError
from .features import IGNORE_INDEX
from .losses import per_input_loss  # noqa: F401  (the loop imports it from here)

logger = logging.getLogger(__name__)

LOOP_STATE_NAME = "loop_state.json"
CHECKPOINT_NAME = re.compile(r"^(step|epoch)_(\d+)$")


@dataclass
class LoopArguments:
    """Upstream ``run_ner_no_trainer.py``'s training options (same names and defaults), plus ours after the marker."""

    output_dir: Optional[str] = field(default=None, metadata={"help": "Where to store the model, results and checkpoints."})
    per_device_train_batch_size: int = field(default=8, metadata={"help": "Batch size per process for training."})
    per_device_eval_batch_size: int = field(default=8, metadata={"help": "Batch size per process for evaluation."})
    learning_rate: float = field(default=5e-5, metadata={"help": "Initial learning rate (after warm-up)."})
    weight_decay: float = field(default=0.0, metadata={"help": "Weight decay (not on biases and norm weights)."})
    num_train_epochs: int = field(default=3, metadata={"help": "Training epochs."})
    max_train_steps: Optional[int] = field(
        default=None, metadata={"help": "Optimizer steps to train for; overrides --num_train_epochs."}
    )
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "Micro-batches per optimizer step."})
    lr_scheduler_type: SchedulerType = field(default="linear", metadata={"help": "Learning-rate schedule."})
    num_warmup_steps: int = field(default=0, metadata={"help": "Optimizer steps of linear warm-up."})
    seed: int = field(default=42, metadata={"help": "Seed for model initialisation, dropout and shuffling."})
    model_type: Optional[str] = field(
        default=None,
        metadata={"help": "Upstream: the architecture to train from scratch. Accepted for compatibility; a model is "
                  "always loaded from --model_name_or_path here, so it is ignored."},
    )
    debug: bool = field(default=False, metadata={"help": "Use at most 100 sentences of each split."})
    checkpointing_steps: Optional[str] = field(
        default=None, metadata={"help": "Save the training state every N optimizer steps, or 'epoch' after each epoch."}
    )
    resume_from_checkpoint: Optional[str] = field(
        default=None,
        metadata={"help": "Resume training from this step_N/epoch_N folder; with no value, from the latest one in "
                  "--output_dir.", "nargs": "?", "const": "latest"},
    )
    with_tracking: bool = field(default=False, metadata={"help": "Log loss, learning rate and metrics to trackers."})
    report_to: str = field(
        default="all", metadata={"help": "Trackers for --with_tracking: tensorboard, wandb, ... or all (installed)."}
    )
    push_to_hub: bool = field(default=False, metadata={"help": "Upload the final model to the Hugging Face hub."})
    hub_model_id: Optional[str] = field(default=None, metadata={"help": "Hub repository (default: output_dir's name)."})
    hub_token: Optional[str] = field(default=None, metadata={"help": "Token to push to the hub."})
    # --- beyond upstream ---
    do_train: bool = field(default=False, metadata={"help": "Train (default, with none of --do_*: if there is a train split)."})
    do_eval: bool = field(
        default=False, metadata={"help": "Evaluate on the validation split (default: if there is one)."}
    )
    do_predict: bool = field(default=False, metadata={"help": "Predict the test split (default: if there is one)."})
    mixed_precision: Optional[str] = field(
        default=None,
        metadata={"help": "no, fp16 or bf16 (default: what `accelerate config`/`accelerate launch` says, else no).",
                  "choices": ["no", "fp16", "bf16"]},
    )
    use_cpu: bool = field(
        default=False,
        metadata={"help": "Run on the CPU even if a GPU is there; needed to run several CPU processes (gloo) "
                  "under torchrun or accelerate launch."},
    )
    max_grad_norm: float = field(default=1.0, metadata={"help": "Gradient clipping (the Trainer's default); 0: off."})
    logging_steps: int = field(default=50, metadata={"help": "Log the training loss every N optimizer steps."})
    early_stopping_patience: Optional[int] = field(
        default=None,
        metadata={"help": "Stop when the validation F1 (evaluated after every epoch) has not improved for this "
                  "many evaluations. The final model is the last one, not the best."},
    )

    def __post_init__(self):
        self.lr_scheduler_type = SchedulerType(self.lr_scheduler_type)
        if self.checkpointing_steps is not None:
            value = str(self.checkpointing_steps).strip().lower()
            if value == "epoch":
                self.checkpointing_steps = "epoch"
            elif value.isdigit() and int(value) > 0:
                self.checkpointing_steps = int(value)
            else:
                raise NerDataError(f"--checkpointing_steps must be a positive number or 'epoch', got {self.checkpointing_steps!r}")
        for name in ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps",
                     "logging_steps"):
            if getattr(self, name) < 1:
                raise NerDataError(f"--{name} must be >= 1, got {getattr(self, name)}")
        if self.max_train_steps is not None and self.max_train_steps < 1:
            raise NerDataError(f"--max_train_steps must be >= 1, got {self.max_train_steps}")
        if self.num_train_epochs < 1 and self.max_train_steps is None:
            raise NerDataError(f"--num_train_epochs must be >= 1, got {self.num_train_epochs}")
        if self.early_stopping_patience is not None and self.early_stopping_patience < 1:
            raise NerDataError(f"--early_stopping_patience must be >= 1, got {self.early_stopping_patience}")


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
            raise NerDataError(f"not a checkpoint of run_ner_no_trainer.py (no {LOOP_STATE_NAME})", path=folder) from None
        except json.JSONDecodeError as error:
            raise NerDataError(f"unreadable loop state: {error.msg}", path=path) from None
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
            raise NerDataError("--resume_from_checkpoint: no step_N or epoch_N checkpoint here", path=output_dir)
        return found[-1][1]
    if not os.path.isdir(resume_from_checkpoint):
        raise NerDataError("checkpoint folder not found", path=resume_from_checkpoint)
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


# --- evaluation loss -----------------------------------------------------------------------------------------


# --- launches and trackers ------------------------------------------------------------------------------------


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


def scalar_metrics(metrics: Dict[str, object], prefix: str, separator: str = "/") -> Dict[str, float]:
    """``eval_f1`` -> ``eval/f1`` for trackers (the Trainer's TensorBoard names); nested values left out."""
    out = {}
    for key, value in metrics.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            name = key[len(prefix) + 1 :] if key.startswith(prefix + "_") else key
            out[f"{prefix}{separator}{name}"] = value
    return out

