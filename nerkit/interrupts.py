"""Ctrl-C as a request to save and stop, shared by the Trainer callback and the Accelerate loop.

The first SIGINT only sets ``interrupted``; the training loop checks it after each optimizer step, saves a
checkpoint and stops. A second SIGINT stops at once. The handler is installed only while training runs, and
only from the main thread (where Python delivers signals).
"""

from __future__ import annotations

import logging
import signal
import threading

logger = logging.getLogger(__name__)


class InterruptFlag:
    def __init__(self):
        self.interrupted = False
        self._previous = None

    def _handle(self, signum, frame):
        if self.interrupted:
            raise KeyboardInterrupt("stopped without saving")
        self.interrupted = True
        logger.warning("Ctrl-C: saving a checkpoint after this optimizer step, then stopping (Ctrl-C again to stop now)")

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)

    def uninstall(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
