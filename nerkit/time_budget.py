"""Train for as long as a time budget allows: the number of optimizer steps is picked from the measured step time,
and the learning-rate schedule is fitted to that number, so the run ends with the schedule's end, not cut off.

After a few calibration steps (:data:`CALIBRATION_STEPS`, or a twentieth of the planned steps if fewer) the
budget measures the mean time of a step (the first one left out: it pays one-off costs) and fixes the total:
the steps that fit in what is left of the budget, at most the planned ones (``--num_train_epochs`` or
``--max_steps``), at least the calibration steps. The schedule reads that total, so warm-up and decay follow it.
Under several processes every rank takes the slowest rank's step time, so all stop after the same step.
"""

from __future__ import annotations

import logging
import math
import re
import time
from typing import Optional

import torch
from transformers import TrainerCallback

from .errors import SetupError

logger = logging.getLogger(__name__)

CALIBRATION_STEPS = 30
SCHEDULES = ("linear", "cosine", "constant", "constant_with_warmup")
DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?$")


def monotonic_clock() -> float:
    return time.perf_counter()


def parse_duration(text: str) -> float:
    """Seconds in a duration written ``900``, ``900s``, ``15m``, ``1.5h`` or ``1h30m``.

    >>> [parse_duration(text) for text in ("900", "15m", "1.5h", "1h30m", "90s")]
    [900.0, 900.0, 5400.0, 5400.0, 90.0]
    """
    found = DURATION.match(str(text).strip().lower())
    if not found or not any(found.groups()):
        raise SetupError(f"--time_budget: expected a duration such as 900, 15m, 1.5h or 1h30m, got {text!r}")
    hours, minutes, seconds = (float(part) if part else 0.0 for part in found.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        raise SetupError(f"--time_budget must be more than 0 seconds, got {text!r}")
    return total


class TimeBudget:
    """How many optimizer steps fit in ``seconds`` of training; :attr:`total_steps` is fixed after calibration.

    >>> budget = TimeBudget(100.0, planned_steps=1000, clock=iter([0.0, 1.0, 2.0, 3.0]).__next__)
    >>> budget.calibration_steps = 2
    >>> budget.start(); budget.step_done(1); budget.step_done(2)  # 1 s a step: 98 s left, 98 more steps
    >>> budget.total_steps
    100
    """

    def __init__(self, seconds: float, planned_steps: int, clock=None):
        self.seconds = seconds
        self.plan(planned_steps)
        self.step_seconds: Optional[float] = None
        self.clock = clock or monotonic_clock
        self.started = self.after_first = None

    def plan(self, planned_steps: int) -> None:
        """The steps the epochs (or ``--max_steps``) ask for: the most the budget gives."""
        self.planned_steps = self.total_steps = planned_steps
        self.calibration_steps = max(2, min(CALIBRATION_STEPS, planned_steps // 20))

    def start(self) -> None:
        self.started = self.clock()

    def step_done(self, step: int) -> None:
        """Called after optimizer step ``step`` (1-based); fixes the total at the calibration step."""
        if step == 1:
            self.after_first = self.clock()
        elif step == self.calibration_steps and self.step_seconds is None:
            now = self.clock()
            self.step_seconds = slowest_rank((now - self.after_first) / (step - 1))
            left = self.seconds - (now - self.started)
            fitting = step + math.floor(max(left, 0.0) / self.step_seconds)
            self.total_steps = max(step, min(self.planned_steps, fitting))
            logger.info(f"Time budget {self.seconds:.0f} s: {self.step_seconds:.3f} s a step, {self.total_steps} steps "
                        f"of the {self.planned_steps} planned")

    def finished(self, step: int) -> bool:
        return step >= self.total_steps

    def metrics(self) -> dict:
        """What the budget decided, for train_results.json."""
        return {"time_budget_seconds": self.seconds, "time_budget_step_seconds": self.step_seconds,
                "time_budget_steps": self.total_steps, "planned_steps": self.planned_steps}

    def scheduler(self, optimizer, schedule: str, warmup_steps: int, steps_per_call: int = 1):
        """The learning-rate schedule ``schedule`` (linear, cosine, constant, constant_with_warmup) over
        :attr:`total_steps`, read at every step. ``steps_per_call``: how many times the scheduler is stepped per
        optimizer step (Accelerate steps a prepared one once per process)."""
        schedule = check_schedule(schedule)

        def factor(calls: int) -> float:
            step = calls / steps_per_call
            if step < warmup_steps:
                return step / max(1, warmup_steps)
            if schedule.startswith("constant"):
                return 1.0
            progress = (step - warmup_steps) / max(1, self.total_steps - warmup_steps)
            if schedule == "linear":
                return max(0.0, 1.0 - progress)
            return max(0.0, 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0))))

        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def requested_budget(duration: Optional[str], resuming: bool, schedule) -> Optional[TimeBudget]:
    """The ``--time_budget`` asked for, or None; the steps are planned when the schedule is made."""
    if duration is None:
        return None
    check_schedule(schedule)
    if resuming:
        raise SetupError("--time_budget with --resume_from_checkpoint: the steps were fixed by the first run's budget; "
                         "resume with --max_steps set to the total steps that run logged")
    return TimeBudget(parse_duration(duration), planned_steps=0)


def check_schedule(schedule) -> str:
    """The schedule's name, if the budget can fit it."""
    name = str(getattr(schedule, "value", schedule))
    if name not in SCHEDULES:
        raise SetupError(f"--time_budget fits the {', '.join(SCHEDULES)} schedules to the steps it allows, not {name}")
    return name


def slowest_rank(seconds: float) -> float:
    """The largest value over the processes of a distributed run (this one's without one)."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return seconds
    value = torch.tensor([seconds], dtype=torch.float64)
    if torch.distributed.get_backend() == "nccl":
        value = value.cuda()
    torch.distributed.all_reduce(value, op=torch.distributed.ReduceOp.MAX)
    return float(value.item())


class TimeBudgetCallback(TrainerCallback):
    """The Trainer's side: the budget's clock starts with training, and training stops at its total."""

    def __init__(self, budget: TimeBudget):
        self.budget = budget

    def on_train_begin(self, args, state, control, **kwargs):
        self.budget.start()

    def on_step_end(self, args, state, control, **kwargs):
        self.budget.step_done(state.global_step)
        if self.budget.finished(state.global_step):
            control.should_training_stop = True
