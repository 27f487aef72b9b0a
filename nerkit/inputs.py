"""Pass 2 of :mod:`nerkit.features`: tokenised sentences to model inputs, one function per layout.

:class:`FeatureSpec` says what to build (made from the :class:`nerkit.layout.InputLayout` decided with the
model, :meth:`FeatureSpec.for_layout`); :func:`build_inputs` plans which sentences share an input and calls:

- :func:`windowed_inputs`: one sentence per input. A sentence that fits is one input; a longer one becomes
  overlapping windows (``stride`` sub-words of overlap, starting on word boundaries where it can), so no word
  is ever truncated away. With ``context_size`` > 0, sub-words of the neighbouring sentences of the same
  document are put around the sentence (label -100), as FLERT does.
- :func:`packed_apart_input`: whole sentences share an input of up to ``pack_length`` sub-words, all labelled,
  each with its own special tokens and ``position_ids`` that start again at each sentence, which
  :mod:`nerkit.packing` turns into a mask that keeps them apart (less padding, same results as one sentence
  per input; ``--pack_attention sentence``).
- :func:`packed_together_input`: consecutive sentences of a document share an input and read each other as
  context, without computing any sub-word twice (``--pack_attention input``).

Each input row carries ``word_index`` (the word of its sentence whose *first* sub-word sits at that
position, else -1), ``word_sentence`` (that sentence's row in the raw split, else -1) and ``sentence_id``
(the row of the input's first sentence), which is all decoding needs to give every word exactly one
prediction. Labels sit on first sub-words; other sub-words get -100, or with ``label_all_tokens``
the word's label with ``B-`` turned into ``I-`` (plain labels stay as they are). With ``case_feature``,
``token_type_ids`` is 1 on the sub-words of words that have an upper-case letter, 0 elsewhere: an uncased
tokenizer maps "Apple" and "apple" to the same ids, and casing is among the strongest cues for names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from .layout import InputLayout, window_budget, window_stride
from .packing import pack_document_runs, plan_packs
from .schemes import PLAIN, scheme_of_labels

IGNORE_INDEX = -100


@dataclass(frozen=True)
class FeatureSpec:
    """What :func:`build_features` needs: an :class:`nerkit.layout.InputLayout` (:meth:`for_layout`) and how
    to label sub-words; ``max_seq_length`` counts special tokens."""

    max_seq_length: int
    stride: Optional[int] = None  # None: a quarter of the window, at most 32 sub-words (nerkit.layout.window_stride)
    context_size: int = 0
    label_all_tokens: bool = False
    pack_length: int = 0  # > 0: several sentences share inputs of up to this many sub-words
    # With packing: None, consecutive sentences of a document read each other; a number, sentences are kept apart
    # (nerkit.packing) and their position ids start at it (0; 2 for RoBERTa-like models).
    packed_position_offset: Optional[int] = None
    pack_seed: int = 0  # which sentences share an input, when they are kept apart (the training seed)
    case_feature: bool = False  # token_type_ids mark the sub-words of words with an upper-case letter

    @classmethod
    def for_layout(cls, layout: InputLayout, label_all_tokens: bool = False, pack_seed: int = 0) -> "FeatureSpec":
        """The spec for ``layout``: sentences packed apart only where the model's position offset is known, else
        one per input."""
        offset = layout.packed_position_offset if layout.pack_attention == "sentence" else None
        return cls(max_seq_length=layout.max_seq_length, stride=layout.stride, context_size=layout.context_size,
                   label_all_tokens=label_all_tokens,
                   pack_length=layout.pack_length if layout.pack_attention == "input" or offset is not None else 0,
                   packed_position_offset=offset, pack_seed=pack_seed, case_feature=layout.case_feature)

    @property
    def apart_pack_length(self) -> Optional[int]:
        """``pack_length`` when sentences are packed and kept apart, else None."""
        return self.pack_length if self.pack_length > 0 and self.packed_position_offset is not None else None


def check_window_spec(spec: FeatureSpec, tokenizer) -> int:
    """Sub-words of sentence (plus context) that fit in one input; a clear error when the stride cannot fit."""
    return window_budget(spec.max_seq_length, spec.stride, tokenizer)


# --- building ---------------------------------------------------------------------------------------------


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


def case_types(words: Sequence[str], piece_words: Sequence[int]) -> List[int]:
    """Per sub-word, 1 when its word has an upper-case letter.

    >>> case_types(["Ada", "met", "IBM"], [0, 0, 1, 2, 2])
    [1, 1, 0, 1, 1]
    """
    upper = [int(word != word.lower()) for word in words]
    return [upper[word] for word in piece_words]


def inside_labels(label2id: Dict[str, int]) -> Dict[int, int]:
    """For ``label_all_tokens``: the label id of a word's later sub-words, by the id of its first sub-word's
    label (``B-X`` becomes ``I-X`` where the model has it; plain labels stay as they are)."""
    spans = scheme_of_labels(label2id) is not PLAIN
    inside = {}
    for label in label2id:
        name = "I-" + label[2:] if spans and label.startswith("B-") else label
        inside[label2id[label]] = label2id.get(name, label2id[label])
    return inside


SEGMENT_COLUMNS = ("input_ids", "token_type_ids", "labels", "word_index", "word_sentence")


@dataclass
class Segment:
    """Consecutive positions of an input, column by column (see the module docstring)."""

    input_ids: List[int]
    token_type_ids: List[int]
    labels: List[int]
    word_index: List[int]
    word_sentence: List[int]

    @classmethod
    def unlabelled(cls, ids: Sequence[int], types: Optional[Sequence[int]] = None) -> "Segment":
        """Special tokens or context: no label, no word (``types``: case types of context, else 0)."""
        return cls(list(ids), list(types) if types is not None else [0] * len(ids), [IGNORE_INDEX] * len(ids),
                   [-1] * len(ids), [-1] * len(ids))

    @classmethod
    def join(cls, segments: Sequence["Segment"]) -> "Segment":
        return cls(*([value for segment in segments for value in getattr(segment, name)] for name in SEGMENT_COLUMNS))


@dataclass
class ModelInput:
    """One input row: its positions, the row of its first sentence and, for sentences kept apart, position ids."""

    positions: Segment
    sentence_id: int
    position_ids: Optional[List[int]] = None


class SentenceBatch:
    """The tokenised sentences of one :func:`build_inputs` call, with what every layout takes of each."""

    def __init__(self, batch: Dict[str, list], indices: List[int], label2id: Optional[Dict[str, int]],
                 spec: FeatureSpec):
        self.pieces, self.piece_words = batch["piece_ids"], batch["piece_words"]
        self.words, self.tags, self.documents = batch["tokens"], batch["ner_tags"], batch["document_id"]
        self.indices, self.label2id, self.spec = indices, label2id, spec
        self.inside = inside_labels(label2id) if label2id is not None and spec.label_all_tokens else {}

    def first_subwords(self, row: int) -> List[bool]:
        words = self.piece_words[row]
        return [position == 0 or words[position] != words[position - 1] for position in range(len(self.pieces[row]))]

    def case_types(self, row: int) -> List[int]:
        """:func:`case_types` with the case feature, else zeros."""
        if self.spec.case_feature:
            return case_types(self.words[row], self.piece_words[row])
        return [0] * len(self.pieces[row])

    def labels(self, row: int, span: range, first: List[bool]) -> List[int]:
        # A tag the model has no label for (evaluating a trained model on data with extra types) is not scored
        # by the loss; the word still gets a prediction and counts in the metrics.
        if self.label2id is None:
            return [IGNORE_INDEX] * len(span)
        words = self.piece_words[row]
        word_labels = [self.label2id.get(tag, IGNORE_INDEX) for tag in self.tags[row]]
        if self.spec.label_all_tokens:
            return [word_labels[words[p]] if first[p] else self.inside.get(word_labels[words[p]], IGNORE_INDEX)
                    for p in span]
        return [word_labels[words[p]] if first[p] else IGNORE_INDEX for p in span]

    def sentence(self, row: int, start: int = 0, end: Optional[int] = None,
                 first: Optional[List[bool]] = None, types: Optional[List[int]] = None) -> Segment:
        """Sub-words ``start:end`` of sentence ``row`` (default: all of them), labelled."""
        first = self.first_subwords(row) if first is None else first
        types = self.case_types(row) if types is None else types
        end = len(self.pieces[row]) if end is None else end
        span, words = range(start, end), self.piece_words[row]
        return Segment(self.pieces[row][start:end], types[start:end], self.labels(row, span, first),
                       [words[p] if first[p] else -1 for p in span],
                       [self.indices[row] if first[p] else -1 for p in span])

    def neighbours(self, row: int, step: int) -> Iterator[Tuple[List[int], List[int]]]:
        """(sub-word ids, case types) of the sentences next to ``row`` in the same document, nearest first."""
        other = row + step
        while 0 <= other < len(self.pieces) and self.documents[other] == self.documents[row]:
            yield self.pieces[other], self.case_types(other)
            other += step


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


def flert_context(sentences: SentenceBatch, row: int, room: int) -> Tuple[Segment, Segment]:
    """Sub-words of the sentences before and after ``row`` in its document, at most ``context_size`` on each
    side and ``room`` in all; room the left side could not use (document start) goes to the right."""
    size = sentences.spec.context_size
    left_want = min(size, room // 2 if room < 2 * size else size)
    left = _context(sentences.neighbours(row, step=-1), left_want, from_end=True)
    right = _context(sentences.neighbours(row, step=+1), min(size, room - len(left[0])), from_end=False)
    return Segment.unlabelled(*left), Segment.unlabelled(*right)


def windowed_inputs(sentences: SentenceBatch, row: int, prefix: List[int], suffix: List[int], budget: int,
                    stride: int, position_offset: Optional[int] = None) -> List[ModelInput]:
    """Sentence ``row`` alone: one input, or overlapping windows when longer than ``budget``; FLERT context
    around it when it fits with room to spare. ``position_offset``: position ids from it (sentences kept apart)."""
    first, types = sentences.first_subwords(row), sentences.case_types(row)
    windows = window_starts(first, budget, stride) if sentences.pieces[row] else [(0, 0)]
    inputs = []
    for start, end in windows:
        left = right = Segment.unlabelled([])
        room = budget - (end - start)
        if sentences.spec.context_size and len(windows) == 1 and room > 0 and sentences.documents[row]:
            left, right = flert_context(sentences, row, room)
        middle = sentences.sentence(row, start, end, first, types)
        positions = Segment.join([Segment.unlabelled(prefix), left, middle, right, Segment.unlabelled(suffix)])
        position_ids = None
        if position_offset is not None:
            position_ids = list(range(position_offset, position_offset + len(positions.input_ids)))
        inputs.append(ModelInput(positions, sentences.indices[row], position_ids))
    return inputs


def packed_apart_input(sentences: SentenceBatch, run: List[int], prefix: List[int], suffix: List[int],
                       position_offset: int) -> ModelInput:
    """Whole sentences in one input, each between its own special tokens, with position ids that start again
    at each (:mod:`nerkit.packing` keeps them apart)."""
    parts = [Segment.join([Segment.unlabelled(prefix), sentences.sentence(row), Segment.unlabelled(suffix)])
             for row in run]
    position_ids = [position_offset + i for part in parts for i in range(len(part.input_ids))]
    return ModelInput(Segment.join(parts), sentences.indices[run[0]], position_ids)


def packed_together_input(sentences: SentenceBatch, run: List[int], prefix: List[int], suffix: List[int]) -> ModelInput:
    """Consecutive sentences of a document in one input between one pair of special tokens, reading each other."""
    parts = [Segment.unlabelled(prefix), *(sentences.sentence(row) for row in run), Segment.unlabelled(suffix)]
    return ModelInput(Segment.join(parts), sentences.indices[run[0]])


def input_runs(sentences: SentenceBatch, budget: int, special: int) -> List[List[int]]:
    """Rows that share an input (a run of one: that sentence alone, or in windows)."""
    spec = sentences.spec
    lengths = [len(ids) for ids in sentences.pieces]
    if spec.apart_pack_length is not None:
        return plan_packs([length + special for length in lengths], min(spec.pack_length, spec.max_seq_length),
                          spec.pack_seed)
    if spec.pack_length > 0:
        return pack_document_runs(lengths, sentences.documents, min(budget, spec.pack_length - special))
    return [[row] for row in range(len(lengths))]


def input_columns(inputs: Sequence[ModelInput], case_feature: bool, position_ids: bool) -> Dict[str, list]:
    """The inputs as the columns of a features split."""
    columns = {
        "input_ids": [item.positions.input_ids for item in inputs],
        "attention_mask": [[1] * len(item.positions.input_ids) for item in inputs],
        "labels": [item.positions.labels for item in inputs],
        "word_index": [item.positions.word_index for item in inputs],
        "sentence_id": [item.sentence_id for item in inputs],
        "word_sentence": [item.positions.word_sentence for item in inputs],
    }
    if case_feature:
        columns["token_type_ids"] = [item.positions.token_type_ids for item in inputs]
    if position_ids:
        columns["position_ids"] = [item.position_ids for item in inputs]
    return columns


def open_document_start(documents: Sequence[str]) -> int:
    """Where the batch's last run of one document begins (``len(documents)`` when the last row has no document):
    rows from there on may need rows of the next batch (FLERT context, sentences packed together).

    >>> open_document_start(["a", "a", "b", "b"]), open_document_start(["a", "b", ""]), open_document_start(["a"] * 3)
    (2, 3, 0)
    """
    end = len(documents)
    if not end or not documents[-1]:
        return end
    start = end - 1
    while start > 0 and documents[start - 1] == documents[-1]:
        start -= 1
    return start


class DocumentBatches:
    """:func:`build_inputs` for ``datasets.map`` batches of any size when sentences depend on their neighbours
    (FLERT context, ``--pack_attention input``, or one sentence per input): the rows of the last, possibly
    unfinished document of a batch are kept back and built with the next batch, so each input is what the whole
    split in one batch gives, while only a batch (plus one document) is in memory. The split's last row flushes
    what is left. One process, batches in order (``map`` without ``num_proc``)."""

    def __init__(self, num_rows: int, **arguments):
        self.num_rows, self.arguments = num_rows, arguments
        self.kept: Dict[str, list] = {}
        self.kept_indices: List[int] = []

    def __call__(self, batch: Dict[str, list], indices: List[int]) -> Dict[str, list]:
        if self.kept_indices:
            batch = {name: self.kept[name] + list(column) for name, column in batch.items()}
            indices = self.kept_indices + list(indices)
        last = bool(indices) and indices[-1] == self.num_rows - 1
        cut = len(indices) if last else open_document_start(batch["document_id"])
        self.kept = {name: column[cut:] for name, column in batch.items()}
        self.kept_indices = indices[cut:]
        ready = {name: column[:cut] for name, column in batch.items()}
        return build_inputs(ready, indices[:cut], **self.arguments)


def build_inputs(batch: Dict[str, list], indices: List[int], label2id: Optional[Dict[str, int]], spec: FeatureSpec,
                 prefix: List[int], suffix: List[int], rows: Optional[Sequence[int]] = None) -> Dict[str, list]:
    """Pass 2 on a batch that holds whole documents (:class:`DocumentBatches`), or for sentences packed apart one
    pool of them: see the module docstring. ``rows``: the split's rows in the order the batches take them (its
    row numbers are what ``word_sentence`` and ``sentence_id`` give)."""
    if rows is not None:
        indices = [int(rows[index]) for index in indices]
    sentences = SentenceBatch(batch, indices, label2id, spec)
    special = len(prefix) + len(suffix)
    budget = spec.max_seq_length - special
    stride = window_stride(spec.stride, budget)
    apart = spec.apart_pack_length is not None
    offset = spec.packed_position_offset or 0
    inputs: List[ModelInput] = []
    for run in input_runs(sentences, budget, special):
        if len(run) > 1 and apart:
            inputs.append(packed_apart_input(sentences, run, prefix, suffix, offset))
        elif len(run) > 1:
            inputs.append(packed_together_input(sentences, run, prefix, suffix))
        else:
            inputs.extend(windowed_inputs(sentences, run[0], prefix, suffix, budget, stride, offset if apart else None))
    return input_columns(inputs, spec.case_feature, apart)
