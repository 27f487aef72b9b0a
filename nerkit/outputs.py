"""The output folder: checked before any work, so a run fails in seconds rather than after hours.

- It must be creatable and writable, with some free space.
- A non-empty folder is never written into without ``--overwrite_output_dir``, except to resume a training
  run from the checkpoints it holds (upstream's behaviour).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from typing import Optional

from .errors import SetupError

logger = logging.getLogger(__name__)

MIN_FREE_BYTES = 200 * 1024 * 1024  # a small model's checkpoint; below this a run cannot finish


COMPLETE_CHECKPOINT = "trainer_state.json"  # the Trainer writes it last: a checkpoint without it is half written


def last_checkpoint(folder: str) -> Optional[str]:
    """The complete ``checkpoint-N`` sub-folder with the largest N, or None (a run killed while saving leaves a
    folder without ``trainer_state.json``, which would not resume)."""
    steps = []
    for name in os.listdir(folder) if os.path.isdir(folder) else []:
        if (name.startswith("checkpoint-") and name[len("checkpoint-"):].isdigit()
                and os.path.isfile(os.path.join(folder, name, COMPLETE_CHECKPOINT))):
            steps.append(int(name[len("checkpoint-"):]))
    return os.path.join(folder, f"checkpoint-{max(steps)}") if steps else None


def prepare_output_dir(output_dir: str, overwrite: bool, do_train: bool, resume_from_checkpoint: Optional[str]) -> Optional[str]:
    """Check ``output_dir`` (creating nothing); return the checkpoint to resume from, if any."""
    if not output_dir:
        raise SetupError("--output_dir is required")
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise SetupError("--output_dir exists and is not a folder", path=output_dir)
    existing = os.listdir(output_dir) if os.path.isdir(output_dir) else []
    resume = None
    if resume_from_checkpoint in ("latest", "last", "True", "true"):
        resume = last_checkpoint(output_dir)
        if resume is None:
            raise SetupError("--resume_from_checkpoint latest: no checkpoint-* folder here", path=output_dir)
    elif resume_from_checkpoint:
        if not os.path.isdir(resume_from_checkpoint):
            raise SetupError("checkpoint folder not found", path=resume_from_checkpoint)
        resume = resume_from_checkpoint
    elif existing and do_train and not overwrite:
        resume = last_checkpoint(output_dir)
        if resume is not None:
            logger.warning(f"Resuming from {resume} (pass --overwrite_output_dir to start afresh)")
    if existing and not overwrite and resume is None:
        raise SetupError(
            f"--output_dir is not empty ({len(existing)} entries); pass --overwrite_output_dir to write into it",
            path=output_dir,
        )
    # Check where the folder will be, without creating it: a run that fails on its input leaves nothing behind.
    existing_ancestor = os.path.abspath(output_dir)
    while not os.path.isdir(existing_ancestor):
        if os.path.lexists(existing_ancestor):  # a file (or broken link) where a folder would have to be made
            raise SetupError(f"cannot create the output folder: {existing_ancestor} is not a folder", path=output_dir)
        existing_ancestor = os.path.dirname(existing_ancestor)
    try:
        with tempfile.NamedTemporaryFile(dir=existing_ancestor, prefix=".write-test-"):
            pass
    except OSError as error:
        raise SetupError(f"cannot write to the output folder: {error.strerror}", path=output_dir) from None
    free = shutil.disk_usage(existing_ancestor).free
    if free < MIN_FREE_BYTES:
        raise SetupError(f"only {free // 2**20} MiB free on the output disk (need {MIN_FREE_BYTES // 2**20} MiB)", path=output_dir)
    return resume
