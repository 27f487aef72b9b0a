"""How sentences become model inputs: the options as asked, the layout as decided, and the window rules.

- :class:`LayoutRequest`: ``--max_seq_length``, ``--stride``, ``--pack_length``, ``--context_size``,
  ``--pack_attention`` and ``--case_feature`` as given (None: not given), checked when it is made.
- :class:`Arrangement`: how sentences share inputs: packed (kept apart, or reading each other), with FLERT
  context, or one per input. :meth:`LayoutRequest.arrangement` fills in the defaults.
- :class:`InputLayout`: everything :mod:`nerkit.features` needs to know about the model's inputs, decided once
  with the model (:func:`nerkit.modeling.decide_input_layout`) and recorded in its config
  (:meth:`InputLayout.config_entries`), so evaluation and prediction build the inputs it was trained on.
- The window rules: :func:`resolve_window` (``--max_seq_length`` defaults to the model's limit, ``--stride`` to
  a quarter of a window, at most 32 sub-words) with their checks and messages.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from .errors import SetupError

# Sentences packed into inputs of 128 sub-words, each kept apart by the attention mask (nerkit.packing), where
# the model allows it (benchmarks/README.md compares the layouts).
DEFAULT_PACK_LENGTH = 128
PACK_ATTENTION = ("sentence", "input")
MAX_DEFAULT_STRIDE = 32
# Position ids of RoBERTa-style models start after the padding index, so they can use two fewer positions.
PADDING_OFFSET_MODEL_TYPES = {"roberta", "xlm-roberta", "camembert", "longformer"}


@dataclass(frozen=True)
class Arrangement:
    """How sentences share inputs: packed (``pack_attention`` says whether packed sentences see each other),
    with FLERT context, or one per input."""

    pack_length: int = 0
    context_size: int = 0
    pack_attention: str = "sentence"

    def describe(self) -> str:
        """The options that give this arrangement, as a user would type them.

        >>> Arrangement(128).describe()
        '--pack_length 128 --context_size 0 --pack_attention sentence'
        """
        text = f"--pack_length {self.pack_length} --context_size {self.context_size}"
        return text + (f" --pack_attention {self.pack_attention}" if self.pack_length else "")


@dataclass(frozen=True)
class LayoutRequest:
    """The layout options as given (None: not given); an error for values that can never work.

    >>> LayoutRequest().arrangement().pack_length, LayoutRequest(pack_length=0).arrangement().pack_length
    (128, 0)
    >>> LayoutRequest(context_size=32).arrangement().pack_length
    0
    """

    max_seq_length: Optional[int] = None
    stride: Optional[int] = None
    pack_length: Optional[int] = None
    context_size: Optional[int] = None
    pack_attention: Optional[str] = None
    case_feature: str = "auto"  # auto, on or off (nerkit.modeling.resolve_case_feature)

    def __post_init__(self):
        if self.stride is not None and self.stride < 0:
            raise SetupError(f"--stride must be >= 0, got {self.stride}")
        for name, value in (("context_size", self.context_size or 0), ("pack_length", self.pack_length or 0)):
            if value < 0:
                raise SetupError(f"--{name} must be >= 0, got {value}")
        if self.pack_attention is not None and self.pack_attention not in PACK_ATTENTION:
            raise SetupError(f"--pack_attention must be one of {', '.join(PACK_ATTENTION)}, "
                               f"got {self.pack_attention!r}")
        if self.pack_length and self.context_size:
            raise SetupError("--pack_length and --context_size cannot be used together: FLERT context is for "
                               "one sentence per input")

    @classmethod
    def from_arguments(cls, model_args, data_args) -> "LayoutRequest":
        """The request in the training scripts' arguments (``ModelArguments``, ``DataTrainingArguments``)."""
        return cls(data_args.max_seq_length, data_args.stride, data_args.pack_length, data_args.context_size,
                   getattr(data_args, "pack_attention", None), getattr(model_args, "case_feature", "auto"))

    @property
    def asks_arrangement(self) -> bool:
        """Whether any of ``--pack_length``, ``--context_size``, ``--pack_attention`` was given."""
        return (self.pack_length, self.context_size, self.pack_attention) != (None, None, None)

    def arrangement(self) -> Arrangement:
        """The arrangement asked for, with the defaults filled in: packed, unless FLERT context is asked for."""
        context_size = self.context_size or 0
        pack_length = self.pack_length
        if pack_length is None:
            pack_length = 0 if context_size else DEFAULT_PACK_LENGTH
        return Arrangement(pack_length, context_size, self.pack_attention or "sentence")


@dataclass(frozen=True)
class InputLayout:
    """How the sentences of a split become one model's inputs (see the module docstring)."""

    max_seq_length: int  # sub-words per input, special tokens included
    stride: int  # overlap between the windows of a sentence longer than one input
    pack_length: int = 0  # > 0: several whole sentences share inputs of up to this many sub-words
    context_size: int = 0  # sub-words of neighbouring sentences put around a sentence (FLERT)
    pack_attention: str = "sentence"  # packed sentences kept apart ("sentence") or reading each other ("input")
    # Packed sentences kept apart: their position ids start at this (0; 2 for RoBERTa-like models); None otherwise.
    packed_position_offset: Optional[int] = None
    case_feature: bool = False  # token_type_ids mark the sub-words of words with an upper-case letter

    # What the model's config records (config.json), read back by nerkit.modeling.recorded_arrangement.
    CONFIG_KEYS = ("pack_length", "context_size", "pack_attention", "packed_position_offset", "case_feature")
    ARGUMENT_KEYS = ("pack_length", "context_size", "pack_attention")

    @property
    def arrangement(self) -> Arrangement:
        return Arrangement(self.pack_length, self.context_size, self.pack_attention)

    @property
    def apart_pack_length(self) -> Optional[int]:
        """``pack_length`` when sentences are packed and kept apart, else None."""
        apart = self.pack_attention == "sentence" and self.packed_position_offset is not None
        return self.pack_length if self.pack_length > 0 and apart else None

    def config_entries(self) -> Dict[str, object]:
        """What a model's config records of the layout it was trained with."""
        return {key: getattr(self, key) for key in self.CONFIG_KEYS}

    def arguments_as_used(self, data_args):
        """A copy of ``data_args`` with the layout options as decided (what the model card and trackers show)."""
        used = copy.copy(data_args)
        for key in self.ARGUMENT_KEYS:
            setattr(used, key, getattr(self, key))
        return used


# --- windows --------------------------------------------------------------------------------------------------


def special_tokens(tokenizer) -> Tuple[List[int], List[int]]:
    """The ids a tokenizer puts before and after a single sequence ([CLS] ... [SEP], <s> ... </s>)."""
    # Tokenise the unknown token alone: whatever surrounds its id is what the model expects around a sequence.
    with_special = tokenizer(tokenizer.unk_token, add_special_tokens=True)["input_ids"]
    position = with_special.index(tokenizer.unk_token_id)
    return list(with_special[:position]), list(with_special[position + 1 :])


def resolve_max_seq_length(requested: Optional[int], tokenizer, config=None) -> int:
    """The window length to use: the request, checked against the model's limit (default: that limit, ≤ 512)."""
    limits = [512]
    if getattr(tokenizer, "model_max_length", None) and tokenizer.model_max_length < 100_000:
        limits.append(tokenizer.model_max_length)
    if config is not None and getattr(config, "max_position_embeddings", None):
        offset = 2 if getattr(config, "model_type", "") in PADDING_OFFSET_MODEL_TYPES else 0
        limits.append(config.max_position_embeddings - offset)
    limit = min(limits)
    if requested is None:
        return limit
    if requested > limit:
        raise SetupError(f"--max_seq_length {requested} is larger than the model's limit of {limit} positions")
    return requested


def window_budget(max_seq_length: int, stride: Optional[int], tokenizer) -> int:
    """Sub-words of sentence (plus context) that fit in one input; a clear error when the stride cannot fit."""
    prefix, suffix = special_tokens(tokenizer)
    budget = max_seq_length - len(prefix) - len(suffix)
    if budget < 1:
        raise SetupError(f"--max_seq_length {max_seq_length} leaves no room besides the special tokens")
    if stride is not None and stride >= budget:
        raise SetupError(
            f"--stride {stride} must be smaller than the {budget} sub-words a window holds "
            f"(--max_seq_length {max_seq_length} minus {len(prefix) + len(suffix)} special tokens)"
        )
    return budget


def window_stride(stride: Optional[int], budget: int) -> int:
    """The stride asked for, else a quarter of a window of ``budget`` sub-words, at most 32.

    >>> window_stride(None, 510), window_stride(None, 62), window_stride(5, 62)
    (32, 15, 5)
    """
    return stride if stride is not None else min(MAX_DEFAULT_STRIDE, budget // 4)


def resolve_window(max_seq_length: Optional[int], stride: Optional[int], tokenizer, config=None) -> Tuple[int, int]:
    """``(max_seq_length, stride)`` as used for ``tokenizer`` and the model's ``config`` (a negative stride is
    refused by :class:`LayoutRequest`), or a clear error."""
    length = resolve_max_seq_length(max_seq_length, tokenizer, config)
    return length, window_stride(stride, window_budget(length, stride, tokenizer))
