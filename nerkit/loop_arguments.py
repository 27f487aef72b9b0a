"""``run_ner_no_trainer.py``'s options: upstream ``run_ner_no_trainer.py``'s training arguments (same names and
defaults) plus this project's, checked when parsed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from transformers import SchedulerType

from .errors import SetupError


@dataclass
class LoopArguments:
    """Upstream ``run_ner_no_trainer.py``'s training options (same names and defaults), plus ours after the marker."""

    output_dir: Optional[str] = field(
        default=None, metadata={"help": "Where to store the model, results and checkpoints."}
    )
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
    do_train: bool = field(
        default=False, metadata={"help": "Train (default, with none of --do_*: if there is a train split)."}
    )
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
        metadata={"help": "Run on the CPU even if a GPU is there (several processes under torchrun or accelerate "
                  "launch then use gloo, as they do on a machine without a GPU)."},
    )
    label_smoothing_factor: float = field(
        default=0.0,
        metadata={"help": "Label smoothing of the training loss (the Trainer's option): 0.1 spreads a tenth of each "
                  "target over the other labels."},
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
                raise SetupError("--checkpointing_steps must be a positive number or 'epoch', "
                                   f"got {self.checkpointing_steps!r}")
        for name in ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps",
                     "logging_steps"):
            if getattr(self, name) < 1:
                raise SetupError(f"--{name} must be >= 1, got {getattr(self, name)}")
        if self.max_train_steps is not None and self.max_train_steps < 1:
            raise SetupError(f"--max_train_steps must be >= 1, got {self.max_train_steps}")
        if self.num_train_epochs < 1 and self.max_train_steps is None:
            raise SetupError(f"--num_train_epochs must be >= 1, got {self.num_train_epochs}")
        if not 0 <= self.label_smoothing_factor < 1:
            raise SetupError(f"--label_smoothing_factor must be in [0, 1), got {self.label_smoothing_factor}")
        if self.early_stopping_patience is not None and self.early_stopping_patience < 1:
            raise SetupError(f"--early_stopping_patience must be >= 1, got {self.early_stopping_patience}")
