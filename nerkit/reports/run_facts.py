"""The facts about a training run that the model card states and no evaluation tells.

:class:`RunFacts` holds the script and its command line, the base model, the labels, the data (sentences,
words and entities per split) and the hyper-parameters worth a line. A training script builds it from its
own argument objects with :meth:`RunFacts.from_arguments`, naming itself explicitly (``script=__file__``), and
passes it to :func:`nerkit.reports.report_training_run`.

>>> facts = RunFacts(script="run_ner.py", argv=["--output_dir", "out dir"])
>>> facts.command
"python run_ner.py --output_dir 'out dir'"
"""

from __future__ import annotations

import os
import shlex
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ..arrow_splits import iter_column
from ..schemes import get_spans

# Hyper-parameters worth a line in the card, under the names the Trainer and the Accelerate script use.
TRAINING_KEYS = (
    "learning_rate", "num_train_epochs", "max_steps", "max_train_steps", "per_device_train_batch_size",
    "per_device_eval_batch_size", "gradient_accumulation_steps", "weight_decay", "warmup_ratio", "warmup_steps",
    "num_warmup_steps", "lr_scheduler_type", "optim", "max_grad_norm", "label_smoothing_factor", "seed", "fp16",
    "bf16", "mixed_precision", "train_sampling_strategy",
)
DATA_KEYS = (
    "max_seq_length", "stride", "context_size", "pack_length", "pack_attention", "label_all_tokens",
    "pad_to_max_length", "class_weights", "constrained_decoding", "tagging_scheme", "strict", "max_train_samples",
    "max_eval_samples",
)
# Switches that are off by default: the card lists them only when they are on.
SWITCHES = ("fp16", "bf16", "strict", "label_all_tokens", "pad_to_max_length", "constrained_decoding")
SPLIT_FILES = {"train": "train_file", "validation": "validation_file", "test": "test_file"}


@dataclass
class RunFacts:
    """What a training run was: ``script`` is its file name, ``argv`` its arguments (without the script)."""

    script: str = "run_ner.py"
    argv: List[str] = field(default_factory=list)
    base_model: Optional[str] = None
    output_dir: Optional[str] = None
    labels: Optional[List[str]] = None
    input_scheme: Optional[str] = None
    data: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    hyperparameters: Dict[str, Any] = field(default_factory=dict)

    @property
    def command(self) -> str:
        """The command line that reproduces the run."""
        return "python " + shlex.join([self.script] + self.argv)

    @classmethod
    def from_arguments(cls, *, script: str, argv: Sequence[str], model_args=None, data_args=None,
                       training_args=None, raw_datasets=None, label_list: Optional[Sequence[str]] = None,
                       input_scheme=None) -> "RunFacts":
        """The facts from a training script's argument objects (dataclasses or an ``argparse.Namespace``).

        ``script`` is the script's path (its file name goes in the card), ``argv`` the arguments it parsed.
        """
        return cls(
            script=os.path.basename(str(script)),
            argv=[str(argument) for argument in argv],
            base_model=getattr(model_args, "model_name_or_path", None),
            output_dir=getattr(training_args, "output_dir", None),
            labels=list(label_list) if label_list is not None else None,
            input_scheme=str(input_scheme) if input_scheme is not None else None,
            data=split_statistics(raw_datasets, split_sources(data_args)),
            hyperparameters=hyperparameters(training_args, data_args),
        )

    def to_dict(self) -> Dict[str, Any]:
        """The facts as the model card reads them (``command`` included)."""
        return {
            "script": self.script,
            "command": self.command,
            "base_model": self.base_model,
            "output_dir": self.output_dir,
            "labels": self.labels,
            "input_scheme": self.input_scheme,
            "data": self.data,
            "hyperparameters": self.hyperparameters,
        }


def hyperparameters(training_args=None, data_args=None) -> Dict[str, Any]:
    """The values of ``TRAINING_KEYS`` and ``DATA_KEYS`` that were set (switches only when on)."""
    found: Dict[str, Any] = {}
    for source, keys in ((training_args, TRAINING_KEYS), (data_args, DATA_KEYS)):
        for key in keys:
            value = getattr(source, key, None) if source is not None else None
            if value is None or (key in ("max_steps", "max_train_steps") and isinstance(value, int) and value <= 0):
                continue
            if key in SWITCHES and not value:
                continue
            found[key] = _simple_value(value)
    return found


def _simple_value(value):
    value = getattr(value, "value", value)  # enums (lr_scheduler_type, optim)
    return value if isinstance(value, (int, float, str, bool)) else str(value)


def split_sources(data_args=None) -> Dict[str, str]:
    """Where each split came from: its file, or ``dataset[split]`` for a hub dataset."""
    sources = {}
    for split, argument in SPLIT_FILES.items():
        value = getattr(data_args, argument, None) if data_args is not None else None
        if value is None and data_args is not None and getattr(data_args, "dataset_name", None):
            value = f"{data_args.dataset_name}[{split}]"
        if value is not None:
            sources[split] = str(value)
    return sources


def split_statistics(raw_datasets, sources: Optional[Mapping[str, str]] = None) -> Dict[str, Dict[str, Any]]:
    """Sentences, words and entities per type of every split of a ``DatasetDict`` (``tokens``/``ner_tags``)."""
    data = {}
    for name in ("train", "validation", "test"):
        if raw_datasets is None or name not in raw_datasets:
            continue
        split = raw_datasets[name]
        entities, words = Counter(), 0
        for tags in iter_column(split, "ner_tags"):
            entities.update(label for label, _, _ in get_spans(tags))
            words += len(tags)
        data[name] = {"source": (sources or {}).get(name), "sentences": len(split), "words": words,
                      "entities": {t: entities[t] for t in sorted(entities)}}
    return data
