"""Writing word-aligned predictions: CoNLL columns and JSON lines with entity spans (atomic writes).

Both files have exactly one entry per input word, in input order, with sentence and document breaks kept.
"""

from __future__ import annotations

import json
from typing import List, Optional, Sequence

from .files import atomic_write
from .schemes import get_spans


def write_conll(path, tokens: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]],
                gold: Optional[Sequence[Sequence[str]]] = None, document_ids: Optional[Sequence[str]] = None) -> None:
    """``word [gold] predicted`` per line, a blank line between sentences, ``-DOCSTART-`` between documents."""
    with atomic_write(path) as stream:
        previous_document = None
        for index, words in enumerate(tokens):
            document = document_ids[index] if document_ids is not None else None
            if document and document != previous_document:
                stream.write("-DOCSTART- -X- O\n\n" if gold is not None else "-DOCSTART- O\n\n")
            previous_document = document
            for position, word in enumerate(words):
                columns = [word] + ([gold[index][position]] if gold is not None else []) + [predicted[index][position]]
                stream.write(" ".join(columns) + "\n")
            stream.write("\n")


def entities(words: Sequence[str], tags: Sequence[str], confidence: Optional[Sequence[float]] = None) -> List[dict]:
    """Entity spans over word indices (end exclusive), with their words and mean tag probability."""
    spans = []
    for entity_type, start, end in get_spans(tags):
        span = {"label": entity_type, "start": start, "end": end, "text": " ".join(words[start:end])}
        if confidence is not None:
            span["score"] = round(float(sum(confidence[start:end]) / (end - start)), 4)
        spans.append(span)
    return spans


def write_jsonl(path, tokens, predicted, gold=None, document_ids=None, sentence_indices=None, confidence=None) -> None:
    """One JSON object per sentence: words, predicted tags, gold tags when known, and entity spans."""
    with atomic_write(path) as stream:
        for index, words in enumerate(tokens):
            record = {"tokens": list(words), "predicted_tags": list(predicted[index])}
            if gold is not None:
                record["gold_tags"] = list(gold[index])
            if document_ids is not None and document_ids[index]:
                record["document_id"] = document_ids[index]
            if sentence_indices is not None:
                record["sentence_index"] = int(sentence_indices[index])
            record["entities"] = entities(words, predicted[index], None if confidence is None else confidence[index])
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")
