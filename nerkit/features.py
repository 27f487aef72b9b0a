"""Words to model inputs: sub-word tokenisation, label alignment, windows and document context.

Two ``datasets.map`` passes, both cached by ``datasets`` fingerprints:

1. :func:`tokenize_dataset` tokenises every sentence's words once (fast tokenizer, no special tokens) and
   keeps ``word_ids()``; parallel with ``num_proc``.
2. :func:`build_features` cuts each sentence into model inputs. A sentence that fits is one input; a longer
   one becomes overlapping windows (``stride`` sub-words of overlap, starting on word boundaries where it can),
   so no word is ever truncated away. With ``context_size`` > 0, sub-words of the neighbouring sentences of
   the same document are put around the sentence (label -100), as FLERT does. With ``pack_length`` > 0,
   whole sentences share inputs of up to that many sub-words, all labelled. ``pack_attention`` says how:
   ``sentence`` (default) packs any sentences, each with its own special tokens and ``position_ids`` that
   start again at each sentence, which :mod:`nerkit.packing` turns into a mask that keeps them apart (less
   padding, same results as one sentence per input); ``input`` packs consecutive sentences of a document that
   read each other as context, without computing any sub-word twice (FLERT's context costs 3-4x the compute).

Each input row carries ``word_index`` (the word of its sentence whose *first* sub-word sits at that
position, else -1), ``word_sentence`` (that sentence's row in the raw split, else -1) and ``sentence_id``
(the row of the input's first sentence), which is all decoding needs to give every word exactly one
prediction. Labels sit on first sub-words; other sub-words get -100, or with ``label_all_tokens``
the word's label with ``B-`` turned into ``I-`` (plain labels stay as they are). With ``case_feature``,
``token_type_ids`` is 1 on the sub-words of words that have an upper-case letter, 0 elsewhere: an uncased
tokenizer maps "Apple" and "apple" to the same ids, and casing is among the strongest cues for names (+1.8
test F1 on CoNLL-2003 with uncased MiniLM).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from .errors import NerDataError
from .packing import pack_document_runs, plan_packs
from .schemes import PLAIN, scheme_of_labels

logger = logging.getLogger(__name__)

IGNORE_INDEX = -100
CACHE_VERSION = 2  # bump when tokenize_words or build_inputs change what they produce
# Sentences packed into inputs of 128 sub-words, each kept apart by the attention mask (nerkit.packing), where
# the model allows it. Packing sentences of a document that read each other (pack_attention "input") gave the
# same F1 on CoNLL-2003 (mean of 3 seeds, MiniLM) and 4.5 test F1 less on NCBI-disease, where a model that reads
# an abstract's other mentions copies their type (SpecificDisease for a Modifier).
DEFAULT_PACK_LENGTH = 128
PACK_ATTENTION = ("sentence", "input")


@dataclass(frozen=True)
class InputLayout:
    """How sentences are laid out in inputs: packed (and whether packed sentences see each other), with FLERT
    context, or one per input. Recorded in the model's config (:func:`nerkit.modeling.resolve_input_layout`)."""

    pack_length: int = 0
    context_size: int = 0
    pack_attention: str = "sentence"


def input_layout(pack_length: Optional[int], context_size: Optional[int], pack_attention: Optional[str] = None) -> InputLayout:
    """The layout asked for, with the defaults filled in; packing and FLERT context exclude each other.

    >>> input_layout(None, None).pack_length, input_layout(0, None).pack_length, input_layout(None, 32).pack_length
    (128, 0, 0)
    """
    context_size = context_size or 0
    for name, value in (("context_size", context_size), ("pack_length", pack_length or 0)):
        if value < 0:
            raise NerDataError(f"--{name} must be >= 0, got {value}")
    if pack_attention is not None and pack_attention not in PACK_ATTENTION:
        raise NerDataError(f"--pack_attention must be one of {', '.join(PACK_ATTENTION)}, got {pack_attention!r}")
    if pack_length is None:
        pack_length = 0 if context_size else DEFAULT_PACK_LENGTH
    if pack_length and context_size:
        raise NerDataError("--pack_length and --context_size cannot be used together: FLERT context is for "
                           "one sentence per input")
    return InputLayout(pack_length, context_size, pack_attention or "sentence")


@dataclass(frozen=True)
class WindowSpec:
    """How sentences become inputs; ``max_seq_length`` counts special tokens."""

    max_seq_length: int
    stride: Optional[int] = None  # None: a quarter of the window, at most 32 sub-words
    context_size: int = 0
    label_all_tokens: bool = False
    pack_length: int = 0  # > 0: several sentences share inputs of up to this many sub-words
    # With packing: None, consecutive sentences of a document read each other; a number, sentences are kept apart
    # (nerkit.packing) and their position ids start at it (0; 2 for RoBERTa-like models).
    packed_position_offset: Optional[int] = None
    pack_seed: int = 0  # which sentences share an input, when they are kept apart (the training seed)
    case_feature: bool = False  # token_type_ids mark the sub-words of words with an upper-case letter

    @property
    def apart_pack_length(self) -> Optional[int]:
        """``pack_length`` when sentences are packed and kept apart, else None."""
        return self.pack_length if self.pack_length > 0 and self.packed_position_offset is not None else None


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


def tokenize_dataset(dataset, tokenizer, num_proc: Optional[int] = None, load_from_cache_file: bool = True, desc=None,
                     cache_dir: Optional[str] = None, uncached: bool = False):
    """Pass 1 over a whole split (see :func:`tokenize_words`), cached (see :func:`cache_file_for`).

    ``uncached``: for data seen once (``NerTagger``), no cache file and a random fingerprint, so that ``datasets``
    does not hash the tokenizer twice per call (0.1-0.15 s each for MiniLM's; a fifth of ``predict_ner.py``'s
    time on CoNLL-2003's test set, which it reads in chunks).
    """
    from datasets.fingerprint import generate_random_fingerprint

    return dataset.map(
        tokenize_words,
        batched=True,
        fn_kwargs={"tokenizer": tokenizer},
        num_proc=num_proc,
        load_from_cache_file=load_from_cache_file and not uncached,
        cache_file_name=None if uncached else cache_file_for(dataset, cache_dir, "tokens", tokenizer),
        new_fingerprint=generate_random_fingerprint() if uncached else None,
        desc=desc or "Tokenising words",
    )


def cache_file_for(dataset, cache_dir: Optional[str], step: str, *inputs) -> Optional[str]:
    """Where ``datasets`` should keep the result of ``step`` on an in-memory ``dataset``; None: let it decide.

    ``datasets`` caches a ``map`` next to the dataset's own Arrow files, named by fingerprints of the data, the
    function and its arguments. Splits read from our formats live in memory (no files), where ``datasets``
    caches nothing; their fingerprint is still a hash of their content, so the same file read twice has the same
    fingerprint. This names the cache file by that fingerprint and the inputs of the step (the tokenizer), in
    ``cache_dir`` (default: the ``datasets`` cache). The next pass reads a dataset with a cache file, which
    ``datasets`` then caches by itself.
    """
    import datasets
    from datasets.fingerprint import Hasher

    if dataset.cache_files or not datasets.is_caching_enabled():
        return None
    folder = os.path.join(cache_dir or datasets.config.HF_DATASETS_CACHE, "nerkit")
    os.makedirs(folder, exist_ok=True)
    key = Hasher.hash([dataset._fingerprint, step, CACHE_VERSION, *inputs])
    return os.path.join(folder, f"{step}-{key}.arrow")


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


def _context(neighbours, want: int, from_end: bool) -> Tuple[List[int], List[int]]:
    """Up to ``want`` sub-words (ids, case types) taken from neighbouring sentences, nearest first."""
    ids_taken: List[int] = []
    types_taken: List[int] = []
    for ids, types in neighbours:
        if len(ids_taken) >= want:
            break
        need = want - len(ids_taken)
        if from_end:
            ids_taken, types_taken = ids[-need:] + ids_taken, types[-need:] + types_taken
        else:
            ids_taken, types_taken = ids_taken + ids[:need], types_taken + types[:need]
    return ids_taken, types_taken


def case_types(words: Sequence[str], piece_words: Sequence[int]) -> List[int]:
    """Per sub-word, 1 when its word has an upper-case letter.

    >>> case_types(["Ada", "met", "IBM"], [0, 0, 1, 2, 2])
    [1, 1, 0, 1, 1]
    """
    upper = [int(word != word.lower()) for word in words]
    return [upper[word] for word in piece_words]


def build_inputs(batch: Dict[str, list], indices: List[int], label2id: Optional[Dict[str, int]], spec: WindowSpec,
                 prefix: List[int], suffix: List[int]) -> Dict[str, list]:
    """Pass 2 on a batch that holds whole documents (``map(batch_size=None)``): see the module docstring."""
    budget = spec.max_seq_length - len(prefix) - len(suffix)
    stride = effective_stride(spec, budget)
    pieces, piece_words, tags, documents = batch["piece_ids"], batch["piece_words"], batch["ner_tags"], batch["document_id"]
    b_to_i = {}
    if label2id is not None and spec.label_all_tokens:
        spans = scheme_of_labels(label2id) is not PLAIN
        for label in label2id:
            inside = "I-" + label[2:] if spans and label.startswith("B-") else label
            b_to_i[label2id[label]] = label2id.get(inside, label2id[label])
    out = {"input_ids": [], "attention_mask": [], "labels": [], "word_index": [], "sentence_id": [], "word_sentence": []}
    if spec.case_feature:
        out["token_type_ids"] = []

    def types(row: int) -> List[int]:
        return case_types(batch["tokens"][row], piece_words[row]) if spec.case_feature else [0] * len(pieces[row])

    def sentence_labels(row: int, span: range, words, first) -> List[int]:
        # A tag the model has no label for (evaluating a trained model on data with extra types) is not scored
        # by the loss; the word still gets a prediction and counts in the metrics.
        if label2id is None:
            return [IGNORE_INDEX] * len(span)
        word_labels = [label2id.get(tag, IGNORE_INDEX) for tag in tags[row]]
        if spec.label_all_tokens:
            return [word_labels[words[p]] if first[p] else b_to_i.get(word_labels[words[p]], IGNORE_INDEX) for p in span]
        return [word_labels[words[p]] if first[p] else IGNORE_INDEX for p in span]

    def first_subwords(row: int) -> List[bool]:
        words = piece_words[row]
        return [position == 0 or words[position] != words[position - 1] for position in range(len(pieces[row]))]

    isolated = spec.apart_pack_length is not None
    if isolated:
        out["position_ids"] = []
        special = len(prefix) + len(suffix)
        runs = plan_packs([len(ids) + special for ids in pieces], min(spec.pack_length, spec.max_seq_length), spec.pack_seed)
    elif spec.pack_length > 0:
        runs = pack_document_runs([len(ids) for ids in pieces], documents, min(budget, spec.pack_length - len(prefix) - len(suffix)))
    else:
        runs = [[row] for row in range(len(pieces))]

    def sentence_columns(row: int, before: List[int], after: List[int]) -> Dict[str, list]:
        """The columns of one whole sentence, between ``before`` and ``after`` (special tokens, or nothing)."""
        words, first = piece_words[row], first_subwords(row)
        span = range(len(pieces[row]))

        def around(middle: List[int], value: int) -> List[int]:
            return [value] * len(before) + middle + [value] * len(after)

        return {
            "input_ids": before + pieces[row] + after,
            "token_type_ids": around(types(row), 0),
            "labels": around(sentence_labels(row, span, words, first), IGNORE_INDEX),
            "word_index": around([words[p] if first[p] else -1 for p in span], -1),
            "word_sentence": around([indices[row] if first[p] else -1 for p in span], -1),
        }

    offset = spec.packed_position_offset or 0
    for run in runs:
        if len(run) > 1:  # several whole sentences in one input, every one labelled
            # Kept apart: each sentence between its own special tokens. Read together: one pair around them all.
            last = len(run) - 1
            parts = [sentence_columns(row, prefix if isolated or k == 0 else [], suffix if isolated or k == last else [])
                     for k, row in enumerate(run)]
            for name in ("input_ids", "labels", "word_index", "word_sentence") + (("token_type_ids",) if spec.case_feature else ()):
                out[name].append([value for part in parts for value in part[name]])
            out["attention_mask"].append([1] * len(out["input_ids"][-1]))
            out["sentence_id"].append(indices[run[0]])
            if isolated:
                out["position_ids"].append([offset + i for part in parts for i in range(len(part["input_ids"]))])
            continue
        row = run[0]
        ids, words = pieces[row], piece_words[row]
        first = first_subwords(row)
        sentence_types = types(row) if spec.case_feature else None
        windows = window_starts(first, budget, stride) if ids else [(0, 0)]
        for start, end in windows:
            left, right, left_types, right_types = [], [], [], []
            room = budget - (end - start)
            if spec.context_size and len(windows) == 1 and room > 0 and documents[row]:
                left_want = min(spec.context_size, room // 2 if room < 2 * spec.context_size else spec.context_size)
                previous = _same_document(pieces, types, documents, row, step=-1)
                following = _same_document(pieces, types, documents, row, step=+1)
                left, left_types = _context(previous, left_want, from_end=True)
                # Room the left side could not use (document start) goes to the right, up to context_size.
                right, right_types = _context(following, min(spec.context_size, room - len(left)), from_end=False)
            span = range(start, end)
            word_index = [words[p] if first[p] else -1 for p in span]
            labels = sentence_labels(row, span, words, first)
            pad_left = [IGNORE_INDEX] * (len(prefix) + len(left))
            pad_right = [IGNORE_INDEX] * (len(right) + len(suffix))
            input_ids = prefix + left + ids[start:end] + right + suffix
            out["input_ids"].append(input_ids)
            out["attention_mask"].append([1] * len(input_ids))
            out["labels"].append(pad_left + labels + pad_right)
            out["word_index"].append([-1] * len(pad_left) + word_index + [-1] * len(pad_right))
            out["word_sentence"].append([indices[row] if index >= 0 else -1 for index in out["word_index"][-1]])
            out["sentence_id"].append(indices[row])
            if spec.case_feature:
                out["token_type_ids"].append([0] * len(prefix) + left_types + sentence_types[start:end] + right_types
                                             + [0] * len(suffix))
            if isolated:
                out["position_ids"].append(list(range(offset, offset + len(input_ids))))
    return out


def _same_document(pieces, types, documents, row: int, step: int):
    """(sub-word ids, case types) of the sentences next to ``row`` in the same document, nearest first."""
    other = row + step
    while 0 <= other < len(pieces) and documents[other] == documents[row]:
        yield pieces[other], types(other)
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
    return features


def count_windowed_sentences(features) -> int:
    """Sentences that became more than one input."""
    from collections import Counter

    return sum(1 for count in Counter(features["sentence_id"]).values() if count > 1)


def prepare_features(raw_datasets, tokenizer, label2id: Dict[str, int], data_args, config=None, main_process_first=None,
                     cache_dir: Optional[str] = None, seed: Optional[int] = None):
    """Both passes over every split of ``raw_datasets``, as both training scripts run them (``seed``: the
    training seed, which also draws the sentences packed together).

    ``main_process_first(desc=...)`` is the Trainer's context manager (or a wrapper of the Accelerator's), so in a multi-process run
    rank 0 fills the ``datasets`` cache and the others read it.
    """
    import contextlib

    layout = input_layout(data_args.pack_length, data_args.context_size, getattr(data_args, "pack_attention", None))
    # Both decided with the model (nerkit.modeling): where packed sentences kept apart start their position ids
    # (None: the model cannot keep them apart, so one sentence per input), and the case feature.
    offset = getattr(config, "packed_position_offset", None) if layout.pack_attention == "sentence" else None
    spec = WindowSpec(
        max_seq_length=resolve_max_seq_length(data_args.max_seq_length, tokenizer, config),
        stride=data_args.stride,
        context_size=layout.context_size,
        label_all_tokens=data_args.label_all_tokens,
        pack_length=layout.pack_length if layout.pack_attention == "input" or offset is not None else 0,
        packed_position_offset=offset,
        pack_seed=seed or 0,
        case_feature=getattr(config, "case_feature", False) is True,
    )
    use_cache = not data_args.overwrite_cache
    features = {}
    for split, raw in raw_datasets.items():
        guard = main_process_first(desc=f"{split} features") if main_process_first else contextlib.nullcontext()
        with guard:
            tokenized = tokenize_dataset(raw, tokenizer, data_args.preprocessing_num_workers, use_cache, f"Tokenising {split}",
                                         cache_dir)
            features[split] = build_features(tokenized, tokenizer, label2id, spec, use_cache, f"Building {split} inputs")
        logger.info(f"{split}: {len(raw)} sentences -> {len(features[split])} inputs; "
                    f"{count_windowed_sentences(features[split])} sentences longer than {spec.max_seq_length} "
                    "sub-words were windowed")
    return features, spec
