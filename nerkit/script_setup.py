"""What both training scripts do before they read any data: parse their arguments (with the process-wide runtime
settings that must come first), set up logging, and check that a launch of several processes really is one.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Optional, Tuple

import datasets
import transformers
from transformers import HfArgumentParser

from .arguments import DataTrainingArguments, ModelArguments, parse_arguments
from .errors import SetupError
from .runtime import keep_freed_memory, limit_kernel_caches

logger = logging.getLogger(__name__)


def parse_script_arguments(training_arguments: type, argv=None) -> Tuple:
    """``(model_args, data_args, training_args)`` from the command line or one JSON/YAML file of arguments.

    ``training_arguments`` is the script's own dataclass: ``TrainingArguments`` (``run_ner.py``) or
    ``LoopArguments`` (``run_ner_no_trainer.py``).
    """
    limit_kernel_caches()  # before the first kernel runs: see nerkit/runtime.py
    parser = HfArgumentParser((ModelArguments, DataTrainingArguments, training_arguments))
    model_args, data_args, training_args = parse_arguments(parser, argv)
    if model_args.keep_freed_memory:
        keep_freed_memory()  # before the first batch: see nerkit/runtime.py
    return model_args, data_args, training_args


def setup_logging(script_logger: logging.Logger, level: int, library_level: Optional[int] = None) -> None:
    """Timestamped log lines on stdout: ``level`` for the script and ``nerkit``, ``library_level`` (default: the
    same) for ``datasets`` and ``transformers``."""
    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
        datefmt="%m/%d/%Y %H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    script_logger.setLevel(level)
    logging.getLogger("nerkit").setLevel(level)
    library_level = level if library_level is None else library_level
    datasets.utils.logging.set_verbosity(library_level)
    transformers.utils.logging.set_verbosity(library_level)


def check_launch(num_processes: int, kind: str = "") -> None:
    """Refuse a launch of several processes that turned into independent single-process runs.

    Both scripts call it: the Accelerator's or the TrainingArguments' process count against ``WORLD_SIZE``.
    """
    launched = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if launched > 1 and num_processes != launched:
        raise SetupError(
            f"launched as {launched} processes, but only {num_processes} joined the run{f' ({kind})' if kind else ''}; "
            f"without a GPU for each, add --use_cpu to train as {launched} CPU processes (gloo)"
        )
    if (
        num_processes == 1
        and "WORLD_SIZE" not in os.environ
        and "MASTER_PORT" in os.environ
        and os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true", "yes")
    ):
        logger.warning(
            "`accelerate launch --cpu --num_processes N` starts ONE process whatever N is; for N CPU processes run "
            "`torchrun --nproc_per_node N run_ner_no_trainer.py --use_cpu ...`"
        )
