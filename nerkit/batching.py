"""Batches cut by a sub-word budget instead of a sentence count, so little of the compute goes to padding.

Random batches of sentences spend much of their compute on padding; batches of inputs of similar length
little. Two samplers, both plain ``torch`` batch samplers that work with the ``Trainer``, an ``accelerate`` loop
and several processes (Accelerate shards batch samplers by batch):

- :class:`TokenBudgetBatchSampler` for training: inputs are shuffled, taken in pools, sorted by length within
  each pool and cut into batches of at most ``max_tokens`` padded positions (inputs x longest input); the
  batches are then shuffled. Sorting inside random pools rather than the whole split keeps the content of a
  batch random (a batch of short inputs is not all table rows and headlines), which is what keeps F1 level with
  random batches. Pools of 256 inputs, not 1,024: larger pools can make batches so uniform in length that F1
  falls below random batches (benchmarks/README.md). The batches are drawn once and reshuffled every epoch, as
  fairseq does, so every epoch has the same number of steps: the learning-rate schedule and mid-epoch
  resumption count on it.
- :class:`LengthSortedBatchSampler` for evaluation and prediction: the whole split sorted by length, longest
  first (an out-of-memory error shows on the first batch, not the last), in batches of at most ``max_tokens``
  padded positions. ``order`` gives the input index of every output row, to put results back in input order.
"""

from __future__ import annotations

import math
from typing import Iterator, List, Optional, Sequence

import numpy as np
from torch.utils.data import Sampler

from .arrow_splits import column_lengths
from .packing import PackingCollator


def cut_by_budget(indices: Sequence[int], lengths: Sequence[int], max_tokens: int,
                  max_size: Optional[int] = None) -> List[List[int]]:
    """Cut ``indices`` (already in length order) into runs whose ``len(run) * longest`` stays within ``max_tokens``.

    An input longer than the budget gets a batch of its own.

    >>> cut_by_budget([0, 1, 2, 3], [2, 2, 3, 9], max_tokens=6)
    [[0, 1], [2], [3]]
    """
    batches: List[List[int]] = []
    current: List[int] = []
    longest = 0
    for index in indices:
        length = lengths[index]
        widest = max(longest, length)
        if current and (widest * (len(current) + 1) > max_tokens or (max_size and len(current) >= max_size)):
            batches.append(current)
            current, widest = [], length
        current.append(index)
        longest = widest
    if current:
        batches.append(current)
    return batches


class TokenBudgetBatchSampler(Sampler[List[int]]):
    """Training batches of about ``max_tokens`` padded positions (see the module docstring).

    ``pool_size`` inputs are sorted together: large enough that neighbours in a pool have nearly the same
    length, small enough that a pool is still a random sample of the split.
    """

    def __init__(self, lengths: Sequence[int], max_tokens: int, seed: int = 0, pool_size: int = 256):
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.max_tokens, self.seed, self.pool_size = max_tokens, seed, pool_size
        self.epoch = 0
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(self.lengths))
        self.batches: List[List[int]] = []
        for start in range(0, len(order), pool_size):
            pool = order[start : start + pool_size]
            pool = pool[np.argsort(self.lengths[pool], kind="stable")]
            self.batches.extend(cut_by_budget(pool.tolist(), self.lengths, max_tokens))

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[List[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        for position in rng.permutation(len(self.batches)):
            yield list(self.batches[position])

    def __len__(self) -> int:
        return len(self.batches)

    def padded_tokens(self) -> int:
        """Positions the model computes per epoch, padding included."""
        return int(sum(len(batch) * self.lengths[batch].max() for batch in self.batches))


class LengthSortedBatchSampler(Sampler[List[int]]):
    """Evaluation batches: longest inputs first, at most ``max_tokens`` padded positions per batch."""

    def __init__(self, lengths: Sequence[int], max_tokens: int, max_size: Optional[int] = None):
        lengths = np.asarray(lengths, dtype=np.int64)
        # Longest first; equal lengths keep input order (stable sort on the negated lengths).
        self.order: List[int] = np.argsort(-lengths, kind="stable").tolist()
        self.batches = cut_by_budget(self.order, lengths, max_tokens, max_size)

    def __iter__(self) -> Iterator[List[int]]:
        return iter([list(batch) for batch in self.batches])

    def __len__(self) -> int:
        return len(self.batches)


def input_lengths(features) -> List[int]:
    """Sub-words per input of a features split (its ``input_ids`` column)."""
    return column_lengths(features, "input_ids")


def restore_order(rows, order: Sequence[int]):
    """Rows that came out in ``order`` (input indices), put back in input order (arrays or lists).

    >>> restore_order(["c", "a", "b"], [2, 0, 1])
    ['a', 'b', 'c']
    """
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[np.asarray(order, dtype=np.int64)] = np.arange(len(order))
    if isinstance(rows, np.ndarray):
        return rows[inverse]
    return [rows[position] for position in inverse]


def evaluation_order(dataloader) -> Optional[List[int]]:
    """The input index of every row a length-sorted evaluation loader yields (its sampler's ``order``, for
    :func:`restore_order`); None for a loader that yields inputs in input order."""
    return getattr(getattr(dataloader, "batch_sampler", None), "order", None)


# nerkit.features adds these to every input so that decoding finds the words; they are not model inputs.
DECODING_COLUMNS = ("word_index", "sentence_id", "word_sentence")


def model_inputs(features):
    """A features split without its decoding columns: what the model and the collator take (labels included).

    Both training scripts batch these; the evaluators keep the full features.
    """
    return features.remove_columns(list(DECODING_COLUMNS))


# Batches of one sentence per input hold about 0.8 of their budget in real sub-words (padding counts against it;
# measured in benchmarks/README.md).
ONE_SENTENCE_FILL = 0.8


def auto_budget(lengths: Sequence[int], sentences_per_batch: int, sentences: Optional[int] = None,
                pack_length: Optional[int] = None) -> int:
    """A budget that holds ``sentences_per_batch`` sentences of average length (``sentences``: how many the
    inputs hold, when inputs pack several): with it, an epoch takes about as many optimizer steps as random
    batches of that many sentences, so learning rates tuned for those carry over. Somewhat more, since padding
    counts against the budget.

    With ``pack_length`` (sentences packed and kept apart, next to no padding): whole packs holding what batches
    of one sentence per input held (:data:`ONE_SENTENCE_FILL`), so an epoch takes as many steps as it did with
    those; packed batches of the full budget would take fewer steps, and score lower.

    >>> auto_budget([20] * 100, 32), auto_budget([20] * 100, 32, pack_length=128)
    (640, 512)
    """
    if not len(lengths):
        return sentences_per_batch
    per_sentence = float(np.sum(lengths)) / (sentences or len(lengths))
    budget = max(1, math.ceil(per_sentence * sentences_per_batch))
    if pack_length:
        return max(1, round(budget * ONE_SENTENCE_FILL / pack_length)) * pack_length
    return budget


DEFAULT_EVAL_MAX_TOKENS = 4096  # the fastest budget measured (benchmarks/README.md)


def training_budget(requested: Optional[int], lengths: Sequence[int], sentences_per_batch: int,
                    sentences: Optional[int] = None, pack_length: Optional[int] = None) -> Optional[int]:
    """``--max_tokens_per_batch``: None means :func:`auto_budget`, 0 means off (None: random batches)."""
    if requested == 0:
        return None
    return requested if requested is not None else auto_budget(lengths, sentences_per_batch, sentences, pack_length)


def evaluation_budget(requested: Optional[int]) -> Optional[int]:
    """``--eval_max_tokens_per_batch``: None means the default budget, 0 means off (batches in input order)."""
    if requested == 0:
        return None
    return requested if requested is not None else DEFAULT_EVAL_MAX_TOKENS


def token_collator(tokenizer, pad_to_max_length: bool, max_seq_length: int, half_precision_on_gpu: bool):
    """The collator both scripts use: dynamic padding to the longest input of the batch (or to
    ``max_seq_length``), and the attention mask that keeps packed sentences apart (:mod:`nerkit.packing`).
    Lengths are rounded up to a multiple of 8 only for fp16/bf16 on a GPU, where tensor cores want it; on a CPU
    that would only add padding."""
    from transformers import DataCollatorForTokenClassification

    return PackingCollator(DataCollatorForTokenClassification(
        tokenizer,
        padding="max_length" if pad_to_max_length else True,
        max_length=max_seq_length if pad_to_max_length else None,
        pad_to_multiple_of=8 if half_precision_on_gpu and not pad_to_max_length else None,
    ))
