"""Words to model inputs: sub-word tokenisation, label alignment, windows and document context.

Two ``datasets.map`` passes, both cached by ``datasets`` fingerprints:

1. :func:`tokenize_dataset` tokenises every sentence's words once (fast tokenizer, no special tokens) and
   keeps ``word_ids()``; parallel with ``num_proc``.
2. :func:`build_features` cuts each sentence into model inputs. A sentence that fits is one input; a longer
   one becomes overlapping windows (``stride`` sub-words of overlap, starting on word boundaries where it can),
   so no word is ever truncated away. With ``context_size`` > 0, sub-words of the neighbouring sentences of
   the same document are put around the sentence (label -100), as FLERT does.

Each input row carries ``word_index`` (the word of the sentence whose *first* sub-word sits at that
position, else -1) and ``sentence_id`` (row of the raw split), which is all decoding needs to give every word
exactly one prediction. Labels sit on first sub-words; other sub-words get -100, or with ``label_all_tokens``
the word's label with ``B-`` turned into ``I-``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from .errors import NerDataError

logger = logging.getLogger(__name__)

IGNORE_INDEX = -100


@dataclass(frozen=True)
class WindowSpec:
    """How sentences become inputs; ``max_seq_length`` counts special tokens."""

    max_seq_length: int
    stride: Optional[int] = None  # None: a quarter of the window, at most 32 sub-words
    context_size: int = 0
    label_all_tokens: bool = False


def resolve_max_seq_length(requested: Optional[int], tokenizer, config=None) -> int:
    """The window length to use: the request, checked against the model's limit (default: that limit, ≤ 512)."""
    limits = [512]
    if getattr(tokenizer, "model_max_length", None) and tokenizer.model_max_length < 100_000:
        limits.append(tokenizer.model_max_length)
    if config is not None and getattr(config, "max_position_embeddings", None):
        # RoBERTa-style position ids start after the padding index, so they can use two fewer positions.
        offset = 2 if getattr(config, "model_type", "") in {"roberta", "xlm-roberta", "camembert", "longformer"} else 0
        limits.append(config.max_position_embeddings - offset)
    limit = min(limits)
    if requested is None:
        return limit
    if requested > limit:
        raise NerDataError(f"--max_seq_length {requested} is larger than the model's limit of {limit} positions")
    return requested


def special_tokens(tokenizer) -> Tuple[List[int], List[int]]:
    """The ids a tokenizer puts before and after a single sequence ([CLS] ... [SEP], <s> ... </s>)."""
    # Tokenise the unknown token alone: whatever surrounds its id is what the model expects around a sequence.
    with_special = tokenizer(tokenizer.unk_token, add_special_tokens=True)["input_ids"]
    position = with_special.index(tokenizer.unk_token_id)
    return list(with_special[:position]), list(with_special[position + 1 :])


def check_window_spec(spec: WindowSpec, tokenizer) -> int:
    """Sub-words of sentence (plus context) that fit in one input; a clear error when the stride cannot fit."""
    prefix, suffix = special_tokens(tokenizer)
    budget = spec.max_seq_length - len(prefix) - len(suffix)
    if budget < 1:
        raise NerDataError(f"--max_seq_length {spec.max_seq_length} leaves no room besides the special tokens")
    if spec.stride is not None and spec.stride >= budget:
        raise NerDataError(
            f"--stride {spec.stride} must be smaller than the {budget} sub-words a window holds "
            f"(--max_seq_length {spec.max_seq_length} minus {len(prefix) + len(suffix)} special tokens)"
        )
    return budget


def effective_stride(spec: WindowSpec, budget: int) -> int:
    return spec.stride if spec.stride is not None else min(32, budget // 4)


# --- pass 1: tokenise words once -----------------------------------------------------------------------------


def tokenize_words(batch: Dict[str, list], tokenizer) -> Dict[str, list]:
    """Sub-word ids and the word each comes from, per sentence, without special tokens.

    A word the tokenizer turns into nothing (a lone zero-width space, a control character) is replaced by the
    unknown token, so it still gets a prediction.
    """
    words_batch = batch["tokens"]
    # verbose=False: lengths beyond the model's limit are expected here, windows come later.
    encoding = tokenizer(words_batch, is_split_into_words=True, add_special_tokens=False, verbose=False)
    piece_ids, piece_words = [], []
    for row, words in enumerate(words_batch):
        ids, word_ids = encoding["input_ids"][row], encoding.word_ids(row)
        if len(set(word_ids)) != len(words):
            ids, word_ids = _tokenize_with_unknowns(words, tokenizer, set(word_ids))
        piece_ids.append(ids)
        piece_words.append(word_ids)
    return {"piece_ids": piece_ids, "piece_words": piece_words}


def _tokenize_with_unknowns(words: Sequence[str], tokenizer, seen) -> Tuple[List[int], List[int]]:
    patched = [word if index in seen else (tokenizer.unk_token or "[UNK]") for index, word in enumerate(words)]
    encoding = tokenizer(patched, is_split_into_words=True, add_special_tokens=False, verbose=False)
    return encoding["input_ids"], encoding.word_ids()


def tokenize_dataset(dataset, tokenizer, num_proc: Optional[int] = None, load_from_cache_file: bool = True, desc=None):
    """Pass 1 over a whole split (see :func:`tokenize_words`)."""
    return dataset.map(
        tokenize_words,
        batched=True,
        fn_kwargs={"tokenizer": tokenizer},
        num_proc=num_proc,
        load_from_cache_file=load_from_cache_file,
        desc=desc or "Tokenising words",
    )


# --- pass 2: inputs, windows and context ---------------------------------------------------------------------


def window_starts(first_subword: Sequence[bool], budget: int, stride: int) -> List[Tuple[int, int]]:
    """Cut ``len(first_subword)`` sub-words into windows of at most ``budget`` overlapping by about ``stride``.

    Each next window starts ``stride`` sub-words before the previous one ends, moved back to the start of a
    word when that keeps it ahead of the previous start, so words are rarely cut in two.

    >>> window_starts([True] * 10, budget=4, stride=1)
    [(0, 4), (3, 7), (6, 10)]
    """
    length = len(first_subword)
    windows = []
    start = 0
    while True:
        end = min(start + budget, length)
        windows.append((start, end))
        if end >= length:
            return windows
        nominal = end - stride
        snapped = nominal
        while snapped > start + 1 and not first_subword[snapped]:
            snapped -= 1
        start = snapped if first_subword[snapped] and snapped > start else nominal


def _context(neighbours, want: int, from_end: bool) -> List[int]:
    """Up to ``want`` sub-word ids taken from neighbouring sentences, nearest first."""
    taken: List[int] = []
    for ids in neighbours:
        if len(taken) >= want:
            break
        need = want - len(taken)
        taken = (ids[-need:] + taken) if from_end else (taken + ids[:need])
    return taken


def build_inputs(batch: Dict[str, list], indices: List[int], label2id: Optional[Dict[str, int]], spec: WindowSpec,
                 prefix: List[int], suffix: List[int]) -> Dict[str, list]:
    """Pass 2 on a batch that holds whole documents (``map(batch_size=None)``): see the module docstring."""
    budget = spec.max_seq_length - len(prefix) - len(suffix)
    stride = effective_stride(spec, budget)
    pieces, piece_words, tags, documents = batch["piece_ids"], batch["piece_words"], batch["ner_tags"], batch["document_id"]
    b_to_i = {}
    if label2id is not None and spec.label_all_tokens:
        for label in label2id:
            inside = "I-" + label[2:] if label.startswith("B-") else label
            b_to_i[label2id[label]] = label2id.get(inside, label2id[label])
    out = {"input_ids": [], "attention_mask": [], "labels": [], "word_index": [], "sentence_id": []}
    for row, ids in enumerate(pieces):
        words = piece_words[row]
        first = [position == 0 or words[position] != words[position - 1] for position in range(len(ids))]
        # A tag the model has no label for (evaluating a trained model on data with extra types) is not scored
        # by the loss; the word still gets a prediction and counts in the metrics.
        word_labels = [label2id.get(tag, IGNORE_INDEX) for tag in tags[row]] if label2id is not None else None
        windows = window_starts(first, budget, stride) if ids else [(0, 0)]
        for start, end in windows:
            left, right = [], []
            room = budget - (end - start)
            if spec.context_size and len(windows) == 1 and room > 0 and documents[row]:
                left_want = min(spec.context_size, room // 2 if room < 2 * spec.context_size else spec.context_size)
                previous = _same_document(pieces, documents, row, step=-1)
                following = _same_document(pieces, documents, row, step=+1)
                left = _context(previous, left_want, from_end=True)
                # Room the left side could not use (document start) goes to the right, up to context_size.
                right = _context(following, min(spec.context_size, room - len(left)), from_end=False)
            span = range(start, end)
            word_index = [words[p] if first[p] else -1 for p in span]
            if word_labels is None:
                labels = [IGNORE_INDEX] * len(span)
            elif spec.label_all_tokens:
                labels = [word_labels[words[p]] if first[p] else b_to_i.get(word_labels[words[p]], IGNORE_INDEX) for p in span]
            else:
                labels = [word_labels[words[p]] if first[p] else IGNORE_INDEX for p in span]
            pad_left = [IGNORE_INDEX] * (len(prefix) + len(left))
            pad_right = [IGNORE_INDEX] * (len(right) + len(suffix))
            input_ids = prefix + left + ids[start:end] + right + suffix
            out["input_ids"].append(input_ids)
            out["attention_mask"].append([1] * len(input_ids))
            out["labels"].append(pad_left + labels + pad_right)
            out["word_index"].append([-1] * len(pad_left) + word_index + [-1] * len(pad_right))
            out["sentence_id"].append(indices[row])
    return out


def _same_document(pieces, documents, row: int, step: int):
    """Sub-word lists of the sentences next to ``row`` in the same document, nearest first."""
    other = row + step
    while 0 <= other < len(pieces) and documents[other] == documents[row]:
        yield pieces[other]
        other += step


def build_features(tokenized, tokenizer, label2id: Optional[Dict[str, int]], spec: WindowSpec,
                   load_from_cache_file: bool = True, desc=None):
    """Pass 2 over a whole split; logs how many sentences needed more than one window."""
    check_window_spec(spec, tokenizer)
    prefix, suffix = special_tokens(tokenizer)
    features = tokenized.map(
        build_inputs,
        batched=True,
        batch_size=None,  # neighbours for context must be in the same batch: take the split whole
        with_indices=True,
        remove_columns=tokenized.column_names,
        fn_kwargs={"label2id": label2id, "spec": spec, "prefix": prefix, "suffix": suffix},
        load_from_cache_file=load_from_cache_file,
        desc=desc or "Building inputs",
    )
    windowed = len(features) - len(tokenized)
    if windowed:
        logger.info(f"{windowed} extra windows: some sentences were longer than {spec.max_seq_length} sub-words "
                    f"and were split into overlapping windows (no word is dropped)")
    return features


def count_windowed_sentences(features) -> int:
    """Sentences that became more than one input."""
    from collections import Counter

    return sum(1 for count in Counter(features["sentence_id"]).values() if count > 1)


def prepare_features(raw_datasets, tokenizer, label2id: Dict[str, int], data_args, config=None, main_process_first=None):
    """Both passes over every split of ``raw_datasets``, as both training scripts run them.

    ``main_process_first(desc=...)`` is the Trainer's context manager (or a wrapper of the Accelerator's), so in a multi-process run
    rank 0 fills the ``datasets`` cache and the others read it.
    """
    import contextlib

    spec = WindowSpec(
        max_seq_length=resolve_max_seq_length(data_args.max_seq_length, tokenizer, config),
        stride=data_args.stride,
        context_size=data_args.context_size,
        label_all_tokens=data_args.label_all_tokens,
    )
    use_cache = not data_args.overwrite_cache
    features = {}
    for split, raw in raw_datasets.items():
        guard = main_process_first(desc=f"{split} features") if main_process_first else contextlib.nullcontext()
        with guard:
            tokenized = tokenize_dataset(raw, tokenizer, data_args.preprocessing_num_workers, use_cache, f"Tokenising {split}")
            features[split] = build_features(tokenized, tokenizer, label2id, spec, use_cache, f"Building {split} inputs")
        logger.info(f"{split}: {len(raw)} sentences -> {len(features[split])} inputs; "
                    f"{count_windowed_sentences(features[split])} sentences longer than {spec.max_seq_length} "
                    "sub-words were windowed")
    return features, spec
