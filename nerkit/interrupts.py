"""Ctrl-C as a request to save and stop (``--save_on_interrupt``), for the Trainer and the Accelerate loop.

The first SIGINT only sets ``interrupted``; the training loop checks it after each optimizer step (on every
process: with several, all stop after the same step), saves a checkpoint and stops. A second SIGINT stops at once. The handler is installed only while training runs, and
only from the main thread (where Python delivers signals).

- :class:`SaveOnInterruptCallback`: a ``TrainerCallback`` for ``run_ner.py`` (installed by ``NerTrainer``);
- :class:`SaveOnInterruptContext`: a context manager around the loop of ``run_ner_no_trainer.py``.
"""

from __future__ import annotations

import logging
import signal
import threading

import torch
from transformers import TrainerCallback

logger = logging.getLogger(__name__)


def stopped_after_interrupt(step: int, checkpoint: str, resume: str) -> KeyboardInterrupt:
    """What both scripts raise once the checkpoint is saved (they turn it into one line and exit status 130)."""
    return KeyboardInterrupt(f"training stopped at step {step}; checkpoint saved in {checkpoint}; "
                             f"run again with {resume} to continue")


class InterruptFlag:
    """The SIGINT handler both classes share: the first Ctrl-C sets ``interrupted``, the second stops at once."""

    def __init__(self):
        self.interrupted = False
        self._previous = None

    def _handle(self, signum, frame):
        if self.interrupted:
            raise KeyboardInterrupt("stopped without saving")
        self.interrupted = True
        logger.warning("Ctrl-C: saving a checkpoint after this optimizer step, then stopping "
                       "(Ctrl-C again to stop now)")

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)

    def uninstall(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def anywhere(self, device) -> bool:
        """Whether any process got the Ctrl-C; asked by all after each optimizer step, so all stop at the same
        one (one small all-reduce when several processes run). torchrun sends each worker SIGINT when it gets
        one; a worker that did not (a signal sent to one process) learns it here."""
        distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
        if distributed and torch.distributed.get_world_size() > 1:
            flag = torch.tensor([float(self.interrupted)], device=device)
            torch.distributed.all_reduce(flag)
            self.interrupted = flag.item() > 0
        return self.interrupted


class SaveOnInterruptCallback(InterruptFlag, TrainerCallback):
    """The first Ctrl-C (SIGINT) while training ends the current step, saves ``checkpoint-N`` and stops; a
    second one stops at once. The handler is only installed between the start and the end of training."""

    def on_train_begin(self, args, state, control, **kwargs):
        self.install()

    def on_step_end(self, args, state, control, **kwargs):
        if self.anywhere(args.device):
            control.should_save = True
            control.should_training_stop = True
            control.should_evaluate = False
        return control

    def on_train_end(self, args, state, control, **kwargs):
        self.uninstall()


class SaveOnInterruptContext(InterruptFlag):
    """Inside ``with``, the first Ctrl-C (SIGINT) asks the loop to save a checkpoint after the current optimizer
    step and stop; a second Ctrl-C stops at once. The loop asks :meth:`requested` after every optimizer step
    (reduced across processes, only when ``enabled``)."""

    def __init__(self, enabled: bool):
        super().__init__()
        self.enabled = enabled

    def __enter__(self):
        if self.enabled:
            self.install()
        return self

    def __exit__(self, *exc_info):
        self.uninstall()

    def requested(self, accelerator) -> bool:
        return self.enabled and self.anywhere(accelerator.device)
