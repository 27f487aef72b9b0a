"""Argument dataclasses shared by both training scripts, with upstream ``run_ner.py``'s names and meanings.

Everything that is not the training loop itself lives here, so ``run_ner.py`` (``Trainer``) and
``run_ner_no_trainer.py`` (Accelerate) read data, build features, decode and score the same way. A single
``.json`` or ``.yaml`` file of arguments works for both (:func:`parse_arguments`).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Optional, Tuple

from .errors import SetupError, UserError
from .layout import LayoutRequest
from .schemes import PLAIN, get_scheme
from .time_budget import parse_duration


@dataclass
class ModelArguments:
    """Which model, config and tokenizer to fine-tune (upstream names)."""

    model_name_or_path: str = field(
        metadata={"help": "Path to a pretrained model or a model identifier from the Hugging Face hub."}
    )
    config_name: Optional[str] = field(default=None, metadata={"help": "Config name or path if not the model's."})
    tokenizer_name: Optional[str] = field(
        default=None, metadata={"help": "Tokenizer name or path if not the model's."}
    )
    cache_dir: Optional[str] = field(default=None, metadata={"help": "Where to store models and data from the hub."})
    model_revision: str = field(default="main", metadata={"help": "Model version: branch, tag or commit id."})
    token: Optional[str] = field(default=None, metadata={"help": "Hub token for private models or datasets."})
    trust_remote_code: bool = field(
        default=False,
        metadata={"help": "Run code from the hub's model/dataset repositories. Off unless you have read that code."},
    )
    ignore_mismatched_sizes: bool = field(
        default=False,
        metadata={"help": "Allow a pretrained token classifier whose labels differ from the data's (new head)."},
    )
    cpu_bf16: bool = field(
        default=True,
        metadata={"help": "On a CPU with bf16 instructions (avx512_bf16, AMX), train and evaluate with bf16 autocast "
                  "unless a precision was chosen (--fp16/--bf16, --mixed_precision). --no_cpu_bf16 keeps fp32."},
    )
    keep_freed_memory: bool = field(
        default=True,
        metadata={"help": "Ask glibc's malloc to keep the memory a batch freed for the next one instead of handing it "
                  "back to the kernel and faulting it in again (fewer page faults). No effect on other C libraries or "
                  "when you set MALLOC_*_ variables or glibc.malloc tunables. --no_keep_freed_memory keeps glibc's "
                  "defaults."},
    )
    case_feature: str = field(
        default="auto",
        metadata={"help": "Tell the model which words have an upper-case letter through token type 1 (token_type_ids), "
                  "since an uncased tokenizer throws that away; no extra compute. auto: on when the tokenizer "
                  "lower-cases and the model has two token types (uncased BERT, MiniLM, ALBERT...), or as the "
                  "fine-tuned model records it (config.json: case_feature). on, off: force it.",
                  "choices": ["auto", "on", "off"]},
    )


@dataclass
class DataTrainingArguments:
    """What data to read and how to turn it into features (upstream names, plus ours after the marker)."""

    task_name: Optional[str] = field(
        default="ner",
        metadata={"help": "The task (ner, pos, chunk...): picks a hub dataset's {task_name}_tags column; pos also "
                  "means --tagging_scheme none unless one is given."},
    )
    dataset_name: Optional[str] = field(
        default=None, metadata={"help": "A hub dataset id, or a local folder holding train/dev/test files."}
    )
    dataset_config_name: Optional[str] = field(default=None, metadata={"help": "The hub dataset's configuration."})
    train_file: Optional[str] = field(default=None, metadata={"help": "Training file, in any supported format."})
    validation_file: Optional[str] = field(default=None, metadata={"help": "Validation file, any format."})
    test_file: Optional[str] = field(default=None, metadata={"help": "Test file to predict on, any format."})
    text_column_name: Optional[str] = field(default=None, metadata={"help": "Column/field holding the words."})
    label_column_name: Optional[str] = field(default=None, metadata={"help": "Column/field holding the tags."})
    overwrite_cache: bool = field(default=False, metadata={"help": "Recompute cached preprocessing."})
    preprocessing_num_workers: Optional[int] = field(default=None, metadata={"help": "Processes for tokenisation."})
    max_seq_length: Optional[int] = field(
        default=None,
        metadata={
            "help": "Longest input in sub-words (special tokens included); longer sentences are split into "
            "overlapping windows, never truncated. Default: the model's limit, at most 512.",
            "aliases": ["--max_length"],
        },
    )
    pad_to_max_length: bool = field(default=False, metadata={"help": "Pad every input to max_seq_length."})
    max_train_samples: Optional[int] = field(default=None, metadata={"help": "Use only the first N train sentences."})
    max_eval_samples: Optional[int] = field(default=None, metadata={"help": "Use only the first N eval sentences."})
    max_predict_samples: Optional[int] = field(default=None, metadata={"help": "Use only the first N test sentences."})
    label_all_tokens: bool = field(
        default=False,
        metadata={"help": "Train on every sub-word of a word (B- becomes I- after the first); metrics stay per word."},
    )
    return_entity_level_metrics: bool = field(
        default=False, metadata={"help": "Also return per-type metrics as flat keys (they are always in the report)."}
    )
    # --- beyond upstream ---
    input_format: Optional[str] = field(
        default=None,
        metadata={"help": "conll, text_labels, json, csv, offsets, brat, labelstudio, doccano or prodigy (default: guessed)."},
    )
    annotation: str = field(
        default="latest",
        metadata={"help": "Label Studio exports: which annotation of a task: latest (not cancelled), first, an annotation id, "
                  "or predictions."},
    )
    offset_unit: str = field(
        default="auto",
        metadata={"help": "Label Studio and doccano exports: what offsets count: codepoints (what Label Studio stores), "
                  "utf16 (doccano, old Label Studio), or auto (code points unless the region texts or words say UTF-16)."},
    )
    encoding: str = field(default="utf-8", metadata={"help": "Encoding of the data files."})
    token_column: int = field(default=0, metadata={"help": "CoNLL files: column of the words."})
    tag_column: int = field(default=-1, metadata={"help": "CoNLL files: column of the tags."})
    label_list: Optional[str] = field(
        default=None, metadata={"help": "Comma-separated label names for data with integer tags."}
    )
    tagging_scheme: str = field(
        default="auto",
        metadata={"help": "Scheme of the input tags: auto, iob1, iob2, bioes, or none for labels without spans "
                  "(POS tags...): any label, scored per word (accuracy, per-label precision/recall/F1), decoded "
                  "by argmax. Default with --task_name pos: none."},
    )
    strict: bool = field(
        default=False,
        metadata={"help": "Reject invalid tag sequences instead of repairing them; seqeval strict IOB2 mode."},
    )
    stride: Optional[int] = field(
        default=None,
        metadata={"help": "Overlap, in sub-words, between the windows of a sentence too long for the model "
                  "(default: a quarter of the window, at most 32)."},
    )
    context_size: Optional[int] = field(
        default=None,
        metadata={"help": "Sub-words of neighbouring sentences of the same document added on each side (labels -100). "
                  "Default: 0; a model fine-tuned here and only evaluated gets the inputs it was trained on."},
    )
    max_tokens_per_batch: Optional[int] = field(
        default=None,
        metadata={"help": "Training batches of inputs of similar length holding at most this many sub-words, padding "
                  "included (inputs are shuffled, sorted within random pools of 256, cut, and the batches "
                  "shuffled). Default: per_device_train_batch_size times the mean input length, so an epoch has "
                  "about as many steps as with random batches of that many sentences (somewhat more: padding "
                  "counts); with sentences packed and kept apart (the default), whole packs holding what batches of "
                  "one sentence per input held. 0: random batches of per_device_train_batch_size inputs, as upstream."},
    )
    eval_max_tokens_per_batch: Optional[int] = field(
        default=None,
        metadata={"help": "Evaluation and prediction in length-sorted batches of at most this many sub-words "
                  "(results come back in input order). Default: 4096. 0: batches of per_device_eval_batch_size "
                  "in input order, as upstream."},
    )
    pack_length: Optional[int] = field(
        default=None,
        metadata={"help": "Put several whole sentences in one input of up to this many sub-words, every sentence "
                  "labelled: almost no padding, fewer and larger matrix products, less memory. Default: 128 (0: one "
                  "sentence per input). How packed sentences share an input: --pack_attention. A model fine-tuned "
                  "here and only evaluated gets the inputs it was trained on (config.json records them)."},
    )
    pack_attention: Optional[str] = field(
        default=None,
        metadata={"help": "sentence (default): any sentences share an input, each between its own special tokens, "
                  "with its own position ids and an attention mask that keeps it apart, so the model computes what "
                  "it would on each sentence alone (models that do not take a 4D attention mask get one sentence per "
                  "input instead); input: consecutive sentences of one document read each other as context, at no "
                  "extra compute (unlike --context_size), which can make a model copy the type of a document's other "
                  "mentions."},
    )
    constrained_decoding: bool = field(
        default=True,
        metadata={"help": "Viterbi over valid tag transitions (no I- after O, no type change inside an entity); "
                  "--no_constrained_decoding: argmax per word, as upstream."},
    )
    class_weights: str = field(
        default="none", metadata={"help": "Loss weights per label: none, auto (inverse frequency) or a JSON file."}
    )
    layerwise_lr_decay: float = field(
        default=1.0,
        metadata={"help": "Learning rate of each layer below the classifier as a fraction of the one above it, down to "
                  "the embeddings (0.8: the top layer trains at 0.8 times --learning_rate, the next at 0.64...). "
                  "1: one learning rate for all, as upstream."},
    )
    time_budget: Optional[str] = field(
        default=None,
        metadata={"help": "Train for at most this long (900, 15m, 1.5h, 1h30m: optimizer steps, not loading or "
                  "evaluation): after a few steps the measured step time fixes how many steps fit, at most what "
                  "--num_train_epochs/--max_steps ask for, and the learning-rate schedule (linear, cosine or constant) "
                  "is fitted to them, so set the epochs to the most you would want. Not with resuming."},
    )
    overwrite_output_dir: bool = field(
        default=False, metadata={"help": "Allow writing into a non-empty output_dir."}
    )
    save_on_interrupt: bool = field(
        default=False,
        metadata={"help": "Ctrl-C (SIGINT) during training finishes the current step, saves output_dir/checkpoint-N "
                  "and exits with status 130; --resume_from_checkpoint latest continues from there. A second "
                  "Ctrl-C stops at once."},
    )

    @property
    def plain_labels(self) -> bool:
        """Tags are plain labels with no spans (``--tagging_scheme none``)."""
        return self.tagging_scheme == "none"

    def __post_init__(self):
        if self.dataset_name is None and not (self.train_file or self.validation_file or self.test_file):
            raise SetupError("need --dataset_name or at least one of --train_file/--validation_file/--test_file")
        if self.task_name:
            self.task_name = self.task_name.lower()
        self.tagging_scheme = self.tagging_scheme.lower()
        if self.tagging_scheme == "auto" and self.task_name == "pos":
            self.tagging_scheme = "none"  # part-of-speech tags have no spans (upstream's --task_name pos)
        if self.tagging_scheme != "auto":
            try:
                self.tagging_scheme = "none" if get_scheme(self.tagging_scheme) is PLAIN else self.tagging_scheme
            except ValueError as error:
                raise SetupError(f"--tagging_scheme: {error}") from None
        if not 0 < self.layerwise_lr_decay <= 1:
            raise SetupError(f"--layerwise_lr_decay must be in (0, 1], got {self.layerwise_lr_decay}")
        if self.time_budget is not None:
            parse_duration(self.time_budget)  # a bad duration is an error now, not after loading the data
        for name in ("max_tokens_per_batch", "eval_max_tokens_per_batch"):
            if getattr(self, name) is not None and getattr(self, name) < 0:
                raise SetupError(f"--{name} must be >= 0, got {getattr(self, name)}")
        # Errors now; the layout itself is decided with the model (nerkit.modeling.decide_input_layout).
        LayoutRequest(self.max_seq_length, self.stride, self.pack_length, self.context_size, self.pack_attention)


def parse_arguments(parser, argv=None) -> Tuple:
    """Parse the command line, or a single ``.json`` / ``.yaml`` file of arguments, into the dataclasses."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        if len(argv) == 1 and argv[0].endswith(".json"):
            return parser.parse_json_file(json_file=os.path.abspath(argv[0]))
        if len(argv) == 1 and argv[0].endswith((".yaml", ".yml")):
            return parser.parse_yaml_file(yaml_file=os.path.abspath(argv[0]))
        return parser.parse_args_into_dataclasses(args=argv)
    except UserError:  # already one line
        raise
    except (ValueError, TypeError, FileNotFoundError) as error:  # bad values in a file of arguments
        raise SetupError(str(error).splitlines()[0], path=argv[0] if len(argv) == 1 else None) from None
