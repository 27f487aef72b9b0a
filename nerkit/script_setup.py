"""What both training scripts do before they read any data: parse their arguments (with the process-wide runtime
settings that must come first), set up logging, and check that a launch of several processes really is one.

Several processes launched (``torchrun``, ``accelerate launch --multi_gpu``) on a machine without a GPU run as
CPU processes over gloo, as upstream's scripts do: Accelerate and the Trainer would otherwise each start an
independent single-process run. They choose the device while the arguments are parsed (the Trainer's in
``TrainingArguments.__post_init__``), so :func:`place_launched_processes` decides before that, through
``ACCELERATE_USE_CPU``, the switch both read. More processes on a machine than it has GPUs is an error unless
``--use_cpu`` asks for the CPU.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Optional, Sequence, Tuple

import datasets
import transformers
import yaml
from transformers import HfArgumentParser

from .arguments import DataTrainingArguments, ModelArguments, parse_arguments
from .errors import SetupError
from .runtime import keep_freed_memory, limit_kernel_caches, runs_on_cpu

logger = logging.getLogger(__name__)


def parse_script_arguments(training_arguments: type, argv=None) -> Tuple:
    """``(model_args, data_args, training_args)`` from the command line or one JSON/YAML file of arguments.

    ``training_arguments`` is the script's own dataclass: ``TrainingArguments`` (``run_ner.py``) or
    ``LoopArguments`` (``run_ner_no_trainer.py``).
    """
    limit_kernel_caches()  # before the first kernel runs: see nerkit/runtime.py
    place_launched_processes(sys.argv[1:] if argv is None else argv)  # before the arguments choose a device
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


CPU_SWITCH = "ACCELERATE_USE_CPU"  # read by Accelerate's state and by TrainingArguments when they pick the device
TRUE_VALUES = ("1", "true", "yes", "y", "t", "on")  # what the argument parser and Accelerate read as true


def place_launched_processes(argv: Sequence[str]) -> None:
    """Several launched processes and no GPU: make them CPU processes (gloo); too few GPUs: a one-line error."""
    launched = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if launched <= 1 or cpu_requested(argv):
        return
    if runs_on_cpu(False):
        os.environ[CPU_SWITCH] = "true"
        return
    import torch

    on_this_machine = int(os.environ.get("LOCAL_WORLD_SIZE", launched) or launched)
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else None
    if gpus is not None and on_this_machine > gpus:
        raise SetupError(f"launched {on_this_machine} processes on a machine with {gpus} GPU(s): start at most "
                         f"{gpus} a machine (torchrun --nproc_per_node {gpus}), or add --use_cpu to run all on the CPU")


def cpu_requested(argv: Sequence[str]) -> bool:
    """Whether the user asked for the CPU: ``--use_cpu`` (on the command line or in a JSON/YAML file of arguments)
    or ``ACCELERATE_USE_CPU`` (``accelerate launch --cpu``)."""
    if os.environ.get(CPU_SWITCH, "").lower() in TRUE_VALUES:
        return True
    if len(argv) == 1 and argv[0].endswith((".json", ".yaml", ".yml")):
        try:
            with open(argv[0], encoding="utf-8") as stream:
                values = yaml.safe_load(stream)  # JSON is YAML
        except (OSError, ValueError, yaml.YAMLError):
            return False  # the parser reports the file
        return isinstance(values, dict) and str(values.get("use_cpu", False)).lower() in TRUE_VALUES
    for position, token in enumerate(argv):
        name, equals, value = token.partition("=")
        if name in ("--use_cpu", "--use-cpu"):
            if equals:
                return value.lower() in TRUE_VALUES
            following = argv[position + 1] if position + 1 < len(argv) else "--"
            return following.startswith("--") or following.lower() in TRUE_VALUES
    return False


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
