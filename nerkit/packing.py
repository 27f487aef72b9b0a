"""Several sentences in one input, each one read as if it were alone.

One sentence per input wastes compute and memory on padding (even with length-sorted batches) and gives the
model many shapes to allocate for. Packing the sentences into inputs of ``pack_length`` sub-words removes the
padding, but a model reading a whole input lets every sentence attend to its neighbours, and can then copy the
type of a document's other mentions (benchmarks/README.md). So each packed sentence keeps its own special
tokens, its position ids start again at each sentence, and a block-diagonal attention mask keeps sentences
apart: the model computes what it would on every sentence alone, at packed shapes.

- :func:`plan_packs` chooses which sentences share an input (random pools, first fit, longest first);
  :func:`pack_document_runs` does it for ``--pack_attention input``, where consecutive sentences of a document
  share an input and read each other as context.
- Inputs carry ``position_ids`` (built by :mod:`nerkit.features`); :func:`block_attention_mask` turns them
  into the 4D mask, since a sentence starts wherever the position ids start again.
- :class:`PackingCollator` pads a batch and adds that mask; inputs without ``position_ids`` pass unchanged.
- :func:`isolating_position_offset` checks, on the model itself, that a packed sentence gets the logits it
  gets alone. Not every architecture takes a 4D mask and position ids as given, so packing with separate
  sentences is used only where this check passes.
"""

from __future__ import annotations

import logging
from typing import Dict, List, Optional, Sequence

import numpy as np

from .layout import special_tokens

logger = logging.getLogger(__name__)

DEFAULT_PACK_POOL = 256


def pack_order(rows: int, seed: Optional[int]) -> np.ndarray:
    """The order :func:`plan_packs` takes ``rows`` rows in: shuffled by ``seed``, or as they are (None)."""
    return np.arange(rows) if seed is None else np.random.default_rng(seed).permutation(rows)


def plan_packs(lengths: Sequence[int], budget: int, seed: int = 0,
               pool_size: int = DEFAULT_PACK_POOL) -> List[List[int]]:
    """Rows grouped into inputs of at most ``budget`` sub-words; a row longer than ``budget`` stays alone.

    The rows are shuffled (``seed``) and taken in pools of ``pool_size``; inside a pool the longest rows are
    placed first, each into the first input with room (first-fit decreasing), which fills inputs to within a
    few per cent. Pools keep an input a random sample of the split rather than of one document or one length.

    >>> plan_packs([5, 3, 4, 2, 9], budget=8, pool_size=5, seed=None)
    [[4], [0, 1], [2, 3]]
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    order = pack_order(len(lengths), seed)
    packs: List[List[int]] = []
    for start in range(0, len(order), pool_size):
        pool = order[start : start + pool_size]
        pool = pool[np.argsort(-lengths[pool], kind="stable")]
        bins: List[List[int]] = []
        room: List[int] = []
        for row in pool.tolist():
            length = int(lengths[row])
            target = next((i for i, free in enumerate(room) if free >= length), None) if length <= budget else None
            if target is None:
                bins.append([row])
                room.append(budget - length)
            else:
                bins[target].append(row)
                room[target] -= length
        packs.extend(bins)
    return packs


def pack_document_runs(lengths: Sequence[int], documents: Sequence[str], budget: int) -> List[List[int]]:
    """For ``--pack_attention input``: runs of consecutive rows of one document whose sub-words fit in ``budget``.

    A row without a document, or too long to share, is a run of its own.

    >>> pack_document_runs([3, 4, 2, 9, 1], ["a", "a", "a", "a", "b"], budget=9)
    [[0, 1, 2], [3], [4]]
    """
    runs: List[List[int]] = []
    used = 0
    for row, length in enumerate(lengths):
        fits = runs and documents[row] and documents[runs[-1][-1]] == documents[row] and used + length <= budget
        if fits:
            runs[-1].append(row)
            used += length
        else:
            runs.append([row])
            used = length
    return runs


def block_attention_mask(position_ids, attention_mask, dtype=None):
    """A ``(batch, 1, length, length)`` additive mask: each position sees the positions of its own sentence.

    A sentence starts wherever the position ids come back to the input's first id (0, or 2 for RoBERTa-like
    models). Padding sees only itself, so no row of the softmax is empty.
    """
    import torch

    dtype = dtype or torch.float32
    starts = position_ids == position_ids[:, :1]
    real = attention_mask.bool()
    sentence = torch.cumsum(starts.long(), dim=1).masked_fill(~real, 0)
    allowed = (sentence[:, :, None] == sentence[:, None, :]) & real[:, None, :]
    # Out of place and without torch.eye, so that the ONNX export (nerkit.export) puts it into the graph.
    index = torch.arange(position_ids.shape[1], device=position_ids.device)
    allowed = allowed | (index[:, None] == index[None, :])
    mask = torch.zeros(allowed.shape, dtype=dtype, device=position_ids.device)
    return mask.masked_fill(~allowed, torch.finfo(dtype).min)[:, None]


class PackingCollator:
    """A token-classification collator (``transformers.DataCollatorForTokenClassification``, dynamic padding)
    that also pads ``position_ids`` and turns them into :func:`block_attention_mask` when inputs carry them."""

    def __init__(self, collator):
        self.collator = collator

    def __call__(self, features: List[Dict[str, list]]):
        if not features or "position_ids" not in features[0]:
            return self.collator(features)
        batch = self.collator([{k: v for k, v in feature.items() if k != "position_ids"} for feature in features])
        return add_sentence_mask(batch, [feature["position_ids"] for feature in features])


def add_sentence_mask(batch, position_ids: Sequence[Sequence[int]]):
    """``batch`` (padded tensors, ``attention_mask`` 2D) with ``position_ids`` padded to its width and the 2D mask
    replaced by :func:`block_attention_mask`."""
    import torch

    padded = torch.from_numpy(padded_position_ids(position_ids, batch["input_ids"].shape[1]))
    batch["position_ids"] = padded
    batch["attention_mask"] = block_attention_mask(padded, batch["attention_mask"])
    return batch


def padded_position_ids(position_ids: Sequence[Sequence[int]], width: int) -> np.ndarray:
    """``(batch, width)`` int64 position ids, each row padded with its first id (the attention mask hides the
    padding).

    >>> padded_position_ids([[0, 1, 0], [0, 1]], 3).tolist()
    [[0, 1, 0], [0, 1, 0]]
    """
    return np.array([list(ids) + [ids[0]] * (width - len(ids)) for ids in position_ids], dtype=np.int64)


def real_tokens(input_ids, attention_mask, pad_token_id: Optional[int]) -> int:
    """Positions that hold a sub-word, whether ``attention_mask`` is 2D (ones) or :func:`block_attention_mask`."""
    if attention_mask is None:
        return int(input_ids.numel())
    if attention_mask.dim() == 2:
        return int(attention_mask.sum())
    if pad_token_id is None:
        return int(input_ids.numel())
    return int((input_ids != pad_token_id).sum())


def isolating_position_offset(model, tokenizer, candidates: Sequence[int] = (0,)) -> Optional[int]:
    """The first position id (of ``candidates``) with which ``model`` gives two sentences packed in one input
    the logits it gives each alone, or None when none does (the model ignores a 4D mask or position ids).

    Small forward passes in float32 on the model's device (each sentence alone, then packed once per candidate
    until one matches); the model's training mode is restored.
    """
    import torch

    prefix, suffix = special_tokens(tokenizer)
    special = set(tokenizer.all_special_ids)
    vocabulary = [i for i in range(min(int(getattr(model.config, "vocab_size", 0) or 0), 1000)) if i not in special]
    if len(vocabulary) < 8:
        return None
    first = prefix + vocabulary[1:6] + suffix
    second = prefix + vocabulary[-3:] + suffix
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            alone = [model(input_ids=torch.tensor([ids], device=device)).logits[0].float() for ids in (first, second)]
            for offset in candidates:
                positions = [offset + i for i in range(len(first))] + [offset + i for i in range(len(second))]
                position_ids = torch.tensor([positions], device=device)
                mask = block_attention_mask(position_ids, torch.ones_like(position_ids)).to(device)
                try:
                    packed = model(input_ids=torch.tensor([first + second], device=device), attention_mask=mask,
                                   position_ids=position_ids).logits[0].float()
                except Exception as error:  # noqa: BLE001 - any failure means: cannot pack this model
                    logger.info(f"{type(model).__name__} does not take a 4D attention mask: {error}")
                    return None
                together = torch.cat(alone)
                if torch.allclose(packed, together, atol=1e-4, rtol=1e-3):
                    return offset
    finally:
        model.train(was_training)
    return None


def position_offset_candidates(config) -> List[int]:
    """Position ids a model may count from: 0, or after the padding index (RoBERTa and its family)."""
    candidates = [0]
    pad = getattr(config, "pad_token_id", None)
    if isinstance(pad, int) and pad + 1 not in candidates:
        candidates.append(pad + 1)
    return candidates
