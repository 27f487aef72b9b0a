"""Model outputs back to one tag per word: windows merged, then argmax or constrained Viterbi.

:func:`word_log_probs` picks, for every word, the sub-word position where the word's first sub-word has the
most context (the largest distance to either end of its input), across all windows of its sentence, and
returns log-probabilities per word. It is vectorised over the whole split (NumPy), and it checks that every
word of every sentence got exactly one prediction.

:func:`viterbi` finds the best label sequence that a tagging scheme allows (no ``I-X`` after ``O`` or after
another type in IOB2), sentences batched by length; plain labels (no spans) allow every sequence, so they are
decoded by argmax.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .schemes import PLAIN, TaggingScheme, scheme_of_labels


def ragged_column(features, column: str) -> Tuple[np.ndarray, np.ndarray]:
    """A list column of a ``datasets.Dataset`` as (flat values, offsets), without Python loops."""
    import pyarrow as pa

    array = features.with_format("arrow")[column]
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if isinstance(array, pa.Table):
        array = array.column(0).combine_chunks()
    offsets = array.offsets.to_numpy().astype(np.int64)
    values = array.values.to_numpy(zero_copy_only=False)
    # A sliced list array keeps its parent's values: rebase so offsets index into ``values`` from 0.
    values = values[offsets[0] : offsets[-1]]
    return values, offsets - offsets[0]


def pad_logits(logit_rows: Sequence[np.ndarray]) -> np.ndarray:
    """Stack per-input (length, labels) arrays of different lengths into one (inputs, longest, labels) array."""
    longest = max(row.shape[0] for row in logit_rows)
    stacked = np.zeros((len(logit_rows), longest, logit_rows[0].shape[-1]), dtype=np.float32)
    for index, row in enumerate(logit_rows):
        stacked[index, : row.shape[0]] = row
    return stacked


def word_log_probs(logits: np.ndarray, features, sentence_lengths: Sequence[int]) -> List[np.ndarray]:
    """Per sentence, a (words, labels) array of log-probabilities, one row per input word."""
    word_index, offsets = ragged_column(features, "word_index")
    sentence_of_input = np.asarray(features["sentence_id"], dtype=np.int64)
    input_lengths = np.diff(offsets)
    if logits.shape[0] != len(input_lengths):
        raise ValueError(f"{logits.shape[0]} rows of logits for {len(input_lengths)} inputs")
    input_of = np.repeat(np.arange(len(input_lengths)), input_lengths)
    position = np.arange(len(word_index)) - np.repeat(offsets[:-1], input_lengths)
    context = np.minimum(position, np.repeat(input_lengths, input_lengths) - 1 - position)

    keep = word_index >= 0
    if "word_sentence" in features.column_names:  # inputs may hold several sentences (packed documents)
        sentence = ragged_column(features, "word_sentence")[0][keep].astype(np.int64)
    else:
        sentence = sentence_of_input[input_of[keep]]
    word = word_index[keep].astype(np.int64)
    source, position, context = input_of[keep], position[keep], context[keep]
    order = np.lexsort((-context, word, sentence))  # by sentence, word, then most context first
    sentence, word, source, position = sentence[order], word[order], source[order], position[order]
    first = np.ones(len(sentence), dtype=bool)
    first[1:] = (sentence[1:] != sentence[:-1]) | (word[1:] != word[:-1])
    sentence, word = sentence[first], word[first]

    chosen = logits[source[first], position[first]].astype(np.float32)
    chosen -= chosen.max(axis=-1, keepdims=True)
    chosen -= np.log(np.exp(chosen).sum(axis=-1, keepdims=True))

    lengths = np.asarray(sentence_lengths, dtype=np.int64)
    counts = np.bincount(sentence, minlength=len(lengths))
    if len(counts) != len(lengths) or not np.array_equal(counts, lengths):
        missing = int(np.flatnonzero(counts[: len(lengths)] != lengths)[0])
        raise AssertionError(f"sentence {missing}: {counts[missing]} predictions for {lengths[missing]} words")
    return np.split(chosen, np.cumsum(lengths)[:-1])


def transition_masks(labels: Sequence[str], scheme: Optional[TaggingScheme] = None):
    """Boolean (start, transitions, end) masks of what ``scheme`` allows between these labels."""
    scheme = scheme or scheme_of_labels(labels)
    start = np.array([scheme.allowed(None, label) for label in labels])
    end = np.array([scheme.allowed(label, None) for label in labels])
    transitions = np.array([[scheme.allowed(previous, label) for label in labels] for previous in labels])
    return start, transitions, end


def viterbi(scores: Sequence[np.ndarray], labels: Sequence[str], batch_size: int = 256) -> List[np.ndarray]:
    """Best allowed label ids per sentence under the scheme's transition constraints."""
    start, transitions, end = transition_masks(labels)
    forbidden = -1e9
    start_score = np.where(start, 0.0, forbidden)
    transition_score = np.where(transitions, 0.0, forbidden)
    end_score = np.where(end, 0.0, forbidden)
    results: List[Optional[np.ndarray]] = [None] * len(scores)
    order = sorted(range(len(scores)), key=lambda index: len(scores[index]))
    for batch_start in range(0, len(order), batch_size):
        batch = order[batch_start : batch_start + batch_size]
        lengths = np.array([len(scores[index]) for index in batch])
        longest, labels_count = int(lengths.max()), len(labels)
        emissions = np.zeros((len(batch), longest, labels_count), dtype=np.float64)
        for row, index in enumerate(batch):
            emissions[row, : lengths[row]] = scores[index]
        best = emissions[:, 0] + start_score
        backpointers = np.zeros((len(batch), longest, labels_count), dtype=np.int64)
        for step in range(1, longest):
            candidate = best[:, :, None] + transition_score[None]  # (batch, previous, current)
            backpointers[:, step] = candidate.argmax(axis=1)
            moved = candidate.max(axis=1) + emissions[:, step]
            active = (step < lengths)[:, None]
            best = np.where(active, moved, best)  # finished sentences keep their last column
        best = best + end_score
        for row, index in enumerate(batch):
            path = [int(best[row].argmax())]
            for step in range(lengths[row] - 1, 0, -1):
                path.append(int(backpointers[row, step, path[-1]]))
            results[index] = np.array(path[::-1], dtype=np.int64)
    return results  # type: ignore[return-value]


def decode(scores: Sequence[np.ndarray], id2label: Dict[int, str], constrained: bool = False) -> Tuple[List[List[str]], List[np.ndarray]]:
    """Tags per word and the probability of each chosen tag."""
    labels = [id2label[index] for index in range(len(id2label))]
    if constrained and scheme_of_labels(labels) is not PLAIN:  # plain labels allow every sequence
        ids = viterbi(scores, labels)
    else:
        ids = [sentence.argmax(axis=-1) if len(sentence) else np.zeros(0, dtype=np.int64) for sentence in scores]
    tags = [[labels[i] for i in sentence_ids] for sentence_ids in ids]
    confidence = [np.exp(sentence[np.arange(len(sentence_ids)), sentence_ids]) for sentence, sentence_ids in zip(scores, ids)]
    return tags, confidence
