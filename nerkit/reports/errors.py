"""The error list (``errors.jsonl``): every disagreement between gold and predicted entities, one JSON line each.

Classes, as in SemEval-2013 task 9.1 (after MUC): a predicted entity that is not exactly a gold one is
``wrong_type`` (same words, other type), ``wrong_boundary`` (overlaps a gold entity of its type),
``wrong_type_and_boundary`` (overlaps only gold entities of other types) or ``spurious`` (overlaps none); a
gold entity that is neither predicted exactly nor the one a wrong prediction is held against is ``missed``.
So every predicted entity that is not gold is in exactly one record, and every gold entity that was not
predicted in at least one. nervaluate counts these classes but does not say which
gold entity a prediction was held against, which a reader of the list needs, so the pairing is done here.

Each record: the class, ``document_id`` and ``sentence_index``, ``gold`` and ``predicted`` (``null`` for the
side that has none): label, word offsets ``start``/``end`` (end exclusive) in the sentence, text, character
offsets ``char_start``/``char_end`` when the input has them, and for the prediction its ``score`` (mean
probability of its words' tags) when known; ``left`` and ``right`` hold the words around.
Plain labels (POS tags) are one-word units, so their errors are words: with ``plain``, a word given another
label is ``wrong_label`` (what ``wrong_type`` is for entities), and when ``O`` is among the labels a word
labelled only by gold is ``missed``, only by the prediction ``spurious``; the boundary classes cannot occur.
"""

from __future__ import annotations

import json
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from ..files import atomic_write
from ..schemes import Span, get_spans

ERROR_CLASSES = ("missed", "spurious", "wrong_type", "wrong_boundary", "wrong_type_and_boundary")
PLAIN_ERROR_CLASSES = ("wrong_label", "missed", "spurious")


def error_classes(plain: bool = False):
    """The classes errors of entities, or of plain labels (``plain``), fall into."""
    return PLAIN_ERROR_CLASSES if plain else ERROR_CLASSES
CONTEXT_WORDS = 5


def _shared_words(a: Span, b: Span) -> int:
    return min(a[2], b[2]) - max(a[1], b[1])


def classify(gold: Sequence[Span], predicted: Sequence[Span]) -> List[Tuple[str, Optional[Span], Optional[Span]]]:
    """``(class, gold span, predicted span)`` for each disagreement of one sentence, in text order.

    >>> for error in classify([("PER", 0, 2), ("LOC", 3, 4), ("ORG", 5, 6), ("LOC", 8, 9), ("PER", 10, 11)],
    ...                       [("PER", 0, 1), ("ORG", 3, 4), ("LOC", 5, 7), ("MISC", 12, 13), ("PER", 10, 11)]):
    ...     print(error)
    ('wrong_boundary', ('PER', 0, 2), ('PER', 0, 1))
    ('wrong_type', ('LOC', 3, 4), ('ORG', 3, 4))
    ('wrong_type_and_boundary', ('ORG', 5, 6), ('LOC', 5, 7))
    ('missed', ('LOC', 8, 9), None)
    ('spurious', None, ('MISC', 12, 13))
    """
    exact = set(gold)
    errors, touched = [], set()
    for span in predicted:
        if span in exact:
            continue
        overlapping = [g for g in gold if _shared_words(g, span) > 0]
        if not overlapping:
            errors.append(("spurious", None, span))
            continue
        # Held against the closest gold entity: same words first, then same type, then most words shared.
        nearest = max(overlapping, key=lambda g: (g[1:] == span[1:], g[0] == span[0], _shared_words(g, span)))
        kind = ("wrong_type" if nearest[1:] == span[1:] else
                "wrong_boundary" if nearest[0] == span[0] else "wrong_type_and_boundary")
        errors.append((kind, nearest, span))
        touched.add(nearest)
    errors += [("missed", g, None) for g in gold if g not in touched and g not in set(predicted)]
    return sorted(errors, key=lambda error: min(s[1] for s in error[1:] if s is not None))


def _span_record(span: Span, words: Sequence[str], offsets, confidence) -> Dict:
    label, start, end = span
    record = {"label": label, "start": start, "end": end, "text": " ".join(words[start:end])}
    if offsets is not None:
        record["char_start"], record["char_end"] = int(offsets[start][0]), int(offsets[end - 1][1])
    if confidence is not None:
        record["score"] = round(float(sum(confidence[start:end])) / (end - start), 4)
    return record


def sentence_errors(words: Sequence[str], gold_tags: Sequence[str], predicted_tags: Sequence[str],
                    document_id: Optional[str] = None, sentence_index: int = 0, confidence=None,
                    offsets: Optional[Sequence[Tuple[int, int]]] = None, plain: bool = False) -> List[Dict]:
    """The error records of one sentence (``confidence``: per word probability of the predicted tag;
    ``offsets``: per word ``(start, end)`` characters; ``plain``: the tags are plain labels).

    >>> record, = sentence_errors(["Ada", "met", "Bob", "Smith"], ["B-PER", "O", "B-PER", "I-PER"],
    ...                           ["B-PER", "O", "B-ORG", "O"], "d1", 3, confidence=[0.9, 1.0, 0.5, 0.8])
    >>> record["class"], record["gold"]["text"], record["predicted"], record["left"], record["right"]
    ('wrong_type_and_boundary', 'Bob Smith', {'label': 'ORG', 'start': 2, 'end': 3, 'text': 'Bob', 'score': 0.5}, ['Ada', 'met'], [])
    """
    records = []
    for kind, gold, predicted in classify(get_spans(gold_tags), get_spans(predicted_tags)):
        first = min(s[1] for s in (gold, predicted) if s is not None)
        last = max(s[2] for s in (gold, predicted) if s is not None)
        records.append({
            "class": "wrong_label" if plain and kind == "wrong_type" else kind, "document_id": document_id or None, "sentence_index": int(sentence_index),
            "gold": None if gold is None else _span_record(gold, words, offsets, None),
            "predicted": None if predicted is None else _span_record(predicted, words, offsets, confidence),
            "left": list(words[max(0, first - CONTEXT_WORDS):first]), "right": list(words[last:last + CONTEXT_WORDS]),
        })
    return records


def split_errors(tokens, gold, predicted, document_ids=None, sentence_indices=None, confidence=None,
                 plain: bool = False) -> List[Dict]:
    """The error records of a split, one list of words and tags per sentence (``plain``: plain labels)."""
    records = []
    for index, words in enumerate(tokens):
        records += sentence_errors(
            words, gold[index], predicted[index], document_ids[index] if document_ids is not None else None,
            sentence_indices[index] if sentence_indices is not None else index,
            None if confidence is None else confidence[index], plain=plain)
    return records


def count_by_class(records: Iterable[Dict], plain: bool = False) -> Dict[str, int]:
    counts = dict.fromkeys(error_classes(plain), 0)
    for record in records:
        counts[record["class"]] += 1
    return counts


def write_errors(path, records: Iterable[Dict]) -> None:
    with atomic_write(path) as stream:
        for record in records:
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")
