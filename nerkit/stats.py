"""Corpus statistics, for ``convert_iob.py --stats``.

- :func:`corpus_stats` counts sentences, tokens, documents, entities per type and labels, summarises
  sentence lengths in words (and sub-words, given a Hugging Face tokenizer) and adds the class weights
  training would use (``nerkit.labels.inverse_frequency_weights``).
  Everything it returns is plain JSON (``json.dumps`` works on it as is).
- :func:`format_stats` turns those statistics into a table for the terminal.

Nothing here imports ``transformers``: a tokenizer is only ever passed in.

>>> from nerkit.corpus import Sentence
>>> corpus = [Sentence(["Ada", "Lovelace", "met", "Babbage"], ["B-PER", "I-PER", "O", "B-PER"], document_id="d1")]
>>> stats = corpus_stats(corpus)
>>> stats["entities"], stats["labels"], stats["scheme"]
({'PER': 2}, {'O': 1, 'B-PER': 2, 'I-PER': 1}, 'IOB2')
>>> stats["class_weights"]  # N / (K * n_l) with N = 4 tokens, K = 3 labels present
{'O': 1.3333333333333333, 'B-PER': 0.6666666666666666, 'I-PER': 1.3333333333333333}
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from .corpus import Sentence
from .labels import inverse_frequency_weights
from .schemes import PLAIN, PREFIXES, corpus_labels, detect_scheme, get_scheme, get_spans, split_tag

# Sentences handed to the tokenizer per call: large enough for the fast tokenizer's batching to pay off,
# small enough to keep the encodings of one batch in memory.
TOKENIZER_BATCH = 1000


# ---------------------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------------------
def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of already sorted values, interpolating linearly between the two
    nearest ranks (numpy's default, ``method="linear"``); 0 for no values.

    >>> percentile([1, 2, 3, 4], 75)
    3.25
    >>> percentile([5], 99)
    5
    """
    return _histogram_percentile([(value, 1) for value in sorted_values], len(sorted_values), q)


def _histogram_percentile(histogram: Sequence[Tuple[int, int]], total: int, q: float) -> float:
    """:func:`percentile` of values given as sorted ``(value, count)`` pairs, ``total`` counts in all."""
    if not total:
        return 0
    position = (total - 1) * q / 100
    low = math.floor(position)
    fraction = position - low
    low_value = _value_at(histogram, low)
    if fraction == 0:
        return low_value
    return low_value + (_value_at(histogram, min(low + 1, total - 1)) - low_value) * fraction


def _value_at(histogram: Sequence[Tuple[int, int]], rank: int) -> int:
    seen = 0
    for value, count in histogram:
        seen += count
        if rank < seen:
            return value
    raise IndexError(rank)


def length_summary(lengths: Iterable[int]) -> Dict[str, float]:
    """min / max / mean / median / p75 / p99 of sequence lengths (all 0 when there are none).

    >>> length_summary([1, 2, 3, 10])
    {'min': 1, 'max': 10, 'mean': 4.0, 'median': 2.5, 'p75': 4.75, 'p99': 9.79}
    """
    return histogram_summary(Counter(lengths))


def histogram_summary(counts: Mapping[int, int]) -> Dict[str, float]:
    """:func:`length_summary` of lengths given as a histogram ``{length: how many}``: what a corpus read as a
    stream keeps, whose size does not grow with the corpus.

    >>> histogram_summary({1: 1, 2: 1, 3: 1, 10: 1}) == length_summary([1, 2, 3, 10])
    True
    """
    histogram = sorted((value, count) for value, count in counts.items() if count)
    total = sum(count for _, count in histogram)
    if not total:
        return {"min": 0, "max": 0, "mean": 0.0, "median": 0, "p75": 0, "p99": 0}
    return {
        "min": histogram[0][0],
        "max": histogram[-1][0],
        "mean": round(sum(value * count for value, count in histogram) / total, 4),
        "median": _histogram_percentile(histogram, total, 50),
        "p75": round(_histogram_percentile(histogram, total, 75), 4),
        "p99": round(_histogram_percentile(histogram, total, 99), 4),
    }


def count_documents(sentences: Iterable[Sentence]) -> int:
    """Runs of consecutive sentences that share a ``document_id``; sentences without one (a CoNLL file with
    no ``-DOCSTART-``) belong to no document.

    >>> count_documents([Sentence([], [], "a"), Sentence([], [], "a"), Sentence([], [], None), Sentence([], [], "b")])
    2
    """
    documents, previous = 0, object()
    for sentence in sentences:
        if sentence.document_id != previous and sentence.document_id is not None:
            documents += 1
        previous = sentence.document_id
    return documents


def _label_order(label: str) -> tuple:
    """``O`` first, then by type, then in B I E S order within a type."""
    if label == "O":
        return (0, "", 0)
    try:
        prefix, entity_type = split_tag(label)
    except ValueError:
        return (1, label, 0)  # a plain label
    return (1, entity_type, PREFIXES.index(prefix))


def subword_lengths(sentences: Sequence[Sentence], tokenizer, batch_size: int = TOKENIZER_BATCH) -> List[int]:
    """Sub-words per sentence with ``tokenizer`` (words pre-split, no special tokens), in batches."""
    lengths: List[int] = []
    for start in range(0, len(sentences), batch_size):
        batch = [list(s.tokens) for s in sentences[start : start + batch_size]]
        non_empty = [words for words in batch if words]
        encoded = tokenizer(non_empty, is_split_into_words=True, add_special_tokens=False)["input_ids"] if non_empty else []
        ids = iter(encoded)
        lengths.extend(len(next(ids)) if words else 0 for words in batch)
    return lengths


def corpus_stats(sentences: Sequence[Sentence], tokenizer=None, scheme=None, label_list: Optional[Sequence[str]] = None) -> dict:
    """Counts, length summaries and class weights of a corpus, as a JSON-ready dict.

    Keys: ``sentences``, ``tokens``, ``documents`` (:func:`count_documents`), ``scheme`` (detected unless
    given), ``entities`` (per type, ``get_spans`` spans, sorted by type) and ``entity_total``, ``labels``
    (count per label present), ``label_list`` (``label_list`` if given, else every label of the scheme for
    the types present, ``O`` first), ``class_weights`` (``nerkit.labels.inverse_frequency_weights`` over
    ``label_list``) and ``lengths`` with ``words`` (:func:`length_summary`) and, given a Hugging Face
    tokenizer, ``subwords`` plus ``tokenizer`` (its name) and ``over_max_length`` (sentences that do not fit
    the model in one window, special tokens included). :class:`CorpusCounts` does the same for a stream.
    """
    if scheme is None:
        sentences = list(sentences)
        scheme = detect_scheme(s.ner_tags for s in sentences)
    counts = CorpusCounts(tokenizer)
    for sentence in sentences:
        counts.add(sentence)
    return counts.stats(scheme, label_list)


class CorpusCounts:
    """:func:`corpus_stats` one sentence at a time (:meth:`add`), then :meth:`stats`: counters and histograms
    only, so memory does not grow with the corpus; sub-words counted in batches of :data:`TOKENIZER_BATCH`."""

    def __init__(self, tokenizer=None):
        self.tokenizer = tokenizer
        self.sentences = self.documents = 0
        self.labels: Counter = Counter()
        self.entities: Counter = Counter()
        self.word_lengths: Counter = Counter()
        self.subword_lengths: Counter = Counter()
        self._previous_document: object = object()
        self._untokenized: List[Sentence] = []

    def add(self, sentence: Sentence) -> None:
        self.sentences += 1
        if sentence.document_id != self._previous_document and sentence.document_id is not None:
            self.documents += 1  # as count_documents: runs of one document_id
        self._previous_document = sentence.document_id
        self.labels.update(sentence.ner_tags)
        self.entities.update(entity_type for entity_type, _, _ in get_spans(sentence.ner_tags))
        self.word_lengths[len(sentence)] += 1
        if self.tokenizer is not None:
            self._untokenized.append(sentence)
            if len(self._untokenized) >= TOKENIZER_BATCH:
                self._tokenize()

    def _tokenize(self) -> None:
        self.subword_lengths.update(subword_lengths(self._untokenized, self.tokenizer))
        self._untokenized = []

    def stats(self, scheme, label_list: Optional[Sequence[str]] = None) -> dict:
        """The :func:`corpus_stats` dict of what was added, its tags read in ``scheme``."""
        scheme = get_scheme(scheme)
        labels, entities = self.labels, self.entities
        label_list = list(corpus_labels(labels, scheme) if label_list is None else label_list)
        stats = {
            "sentences": self.sentences,
            "tokens": sum(length * count for length, count in self.word_lengths.items()),
            "documents": self.documents,
            "scheme": scheme.name,
            "entities": {entity_type: entities[entity_type] for entity_type in sorted(entities)},
            "entity_total": sum(entities.values()),
            "labels": {label: labels[label] for label in sorted(labels, key=_label_order)},
            "label_list": label_list,
            "class_weights": inverse_frequency_weights(labels, label_list),
            "lengths": {"words": histogram_summary(self.word_lengths)},
        }
        if self.tokenizer is not None:
            self._tokenize()
            stats.update(self._subword_stats())
            stats["lengths"]["subwords"] = histogram_summary(self.subword_lengths)
        return stats

    def _subword_stats(self) -> dict:
        tokenizer = self.tokenizer
        found = {"tokenizer": getattr(tokenizer, "name_or_path", type(tokenizer).__name__)}
        max_length = getattr(tokenizer, "model_max_length", None)
        if isinstance(max_length, int) and max_length < 1_000_000:  # unset limits are huge sentinels
            special = tokenizer.num_special_tokens_to_add(pair=False) if hasattr(tokenizer, "num_special_tokens_to_add") else 0
            found["max_length"] = max_length
            found["over_max_length"] = sum(count for length, count in self.subword_lengths.items() if length + special > max_length)
        return found


# ---------------------------------------------------------------------------------------------------------
# Display
# ---------------------------------------------------------------------------------------------------------
def _number(value) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def format_stats(stats: Mapping, title: Optional[str] = None) -> str:
    """A plain-text table of :func:`corpus_stats` output.

    >>> print(format_stats(corpus_stats([Sentence(["Ada", "wrote"], ["B-PER", "O"], document_id="d")])))
    sentences              1
    tokens                 2
    documents              1
    scheme              IOB2
    entities               1
      PER                  1
    words / sentence     min 2, median 2, mean 2, p75 2, p99 2, max 2
    label              count    share   weight
    O                      1   50.00%     1.00
    B-PER                  1   50.00%     1.00
    I-PER                  0    0.00%     1.00
    """
    lines = [title] if title else []
    for key in ("sentences", "tokens", "documents"):
        lines.append(f"{key:<14}{_number(stats[key]):>10}")
    lines.append(f"{'scheme':<14}{stats['scheme']:>10}")
    if stats.get("scheme") != PLAIN.name:  # plain labels: each labelled word is an "entity", as in the labels table
        lines.append(f"{'entities':<14}{_number(stats['entity_total']):>10}")
        lines.extend(f"  {entity_type:<12}{_number(count):>10}" for entity_type, count in stats["entities"].items())
    names = {"words": "words / sentence", "subwords": "sub-words / sentence"}
    for unit, summary in stats["lengths"].items():
        parts = ", ".join(f"{key} {_number(summary[key])}" for key in ("min", "median", "mean", "p75", "p99", "max"))
        lines.append(f"{names.get(unit, unit):<21}{parts}")
    if "over_max_length" in stats:
        lines.append(f"{'over max length':<14}{_number(stats['over_max_length']):>10}  (sentences longer than {stats['max_length']} sub-words)")
    tokens = stats["tokens"] or 1
    width = max([14] + [len(label) + 1 for label in stats["class_weights"]])
    lines.append(f"{'label':<{width}}{'count':>10}{'share':>9}{'weight':>9}")
    for label, weight in stats["class_weights"].items():
        count = stats["labels"].get(label, 0)
        lines.append(f"{label:<{width}}{_number(count):>10}{count / tokens:>9.2%}{weight:>9.2f}")
    return "\n".join(lines)
