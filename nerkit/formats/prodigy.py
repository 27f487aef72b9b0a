"""Prodigy's NER JSONL (``ner.manual`` / ``db-out``): one document per line, spans as character offsets.

::

    {"text": "Ada met Bob", "tokens": [{"text": "Ada", "start": 0, "end": 3, "id": 0, "ws": true}, ...],
     "spans": [{"start": 0, "end": 3, "token_start": 0, "token_end": 0, "label": "PER"}],
     "answer": "accept", "meta": {"id": "d1"}}

Reading: ``answer`` ``reject`` and ``ignore`` lines are skipped and counted in the read report (kind
``"prodigy answers skipped"``); a line without ``answer`` (a pre-annotation file) is read. Prodigy's
``tokens``, when present, are the words (whitespace-only tokens left out; a token whose ``start``/``end`` do
not spell its ``text`` is an error); otherwise the text is split by :mod:`nerkit.words`. Span offsets count
characters (code points, as Python and spaCy do); every span must start and end on a word's boundary, the
checks and errors are the offsets format's (:func:`nerkit.formats.offsets.entity_sentences`). ``meta.id``
(or ``id``) becomes the document id, else ``line-<n>``.

Writing: one line per document with ``text``, ``tokens`` (our words), ``spans`` (``token_end`` inclusive,
as Prodigy has it), ``answer: "accept"`` and ``meta.id`` when the document has an id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

from ..corpus import Sentence
from ..errors import NerDataError
from ..files import read_text
from ..words import Word
from .json_records import json_records
from .offsets import entity_documents, entity_sentences, write_json_lines

SKIPPED_ANSWERS = ("reject", "ignore")


def _words(text: str, tokens: Any, fail) -> Optional[List[Word]]:
    """Prodigy's tokens as words ``(word, start, end)``; None when the record has none."""
    if tokens is None:
        return None
    if not isinstance(tokens, list):
        raise fail('"tokens" is not a list')
    words = []
    for index, token in enumerate(tokens):
        start, end = (token.get("start"), token.get("end")) if isinstance(token, dict) else (None, None)
        if not all(isinstance(value, int) and not isinstance(value, bool) for value in (start, end)):
            raise fail(f"token {index} has no integer start and end")
        if not 0 <= start < end <= len(text) or ("text" in token and text[start:end] != token["text"]):
            raise fail(f"token {index} [{start}, {end}] does not match the text ({token.get('text')!r})")
        if text[start:end].strip():
            words.append((text[start:end], start, end))
    return words


def _document_id(record: Dict[str, Any]):
    meta = record.get("meta") if isinstance(record.get("meta"), dict) else {}
    document_id = meta.get("id", record.get("id"))
    if document_id is None or isinstance(document_id, (bool, dict, list)):
        return None
    return str(document_id)


def _document(path: Path, line: int, record: Any, options) -> List[Sentence]:
    def fail(message: str) -> NerDataError:
        return NerDataError(message, path=str(path), line=line)

    if not isinstance(record, dict):
        raise fail('expected an object with "text" and "spans"')
    if record.get("answer") in SKIPPED_ANSWERS:
        options.report.note(f"{path}:{line}: answer {record['answer']!r}, skipped", kind="prodigy answers skipped")
        return []
    text = record.get("text")
    if not isinstance(text, str):
        raise fail('missing "text"' if text is None else '"text" is not a string')
    spans = record.get("spans", [])
    if not isinstance(spans, list):
        raise fail('"spans" is not a list')
    words = _words(text, record.get("tokens"), fail)
    return entity_sentences(text, spans, _document_id(record), fail, f"{path}:{line}", options, words=words, line=line)


def read(path: Path, options) -> Iterator[Sentence]:
    """Sentences of a Prodigy JSONL file (or a JSON list of the same records), document by document."""
    for line, record in json_records(path, read_text(path, options.encoding)):
        yield from _document(path, line, record, options)


def document_record(document_id, text: str, entities, offsets) -> Dict[str, Any]:
    """One Prodigy line (``offsets``: each sentence's word spans); also ``predict_ner.py --format prodigy``'s."""
    words = [span for sentence in offsets for span in sentence]
    tokens = [
        {"text": text[start:end], "start": start, "end": end, "id": index, "ws": text[end:end + 1].isspace()}
        for index, (start, end) in enumerate(words)
    ]
    first = {start: index for index, (start, _) in enumerate(words)}
    last = {end: index for index, (_, end) in enumerate(words)}
    spans = [
        {"start": start, "end": end, "token_start": first[start], "token_end": last[end], "label": label}
        for start, end, label in entities
    ]
    record = {"text": text, "tokens": tokens, "spans": spans, "answer": "accept"}
    if document_id is not None:
        record["meta"] = {"id": document_id}
    return record


def write(sentences: List[Sentence], path: Path, options) -> None:
    """One Prodigy line per document: ``text``, ``tokens``, ``spans``, ``answer``, ``meta.id``."""
    write_json_lines((document_record(*document) for document in entity_documents(sentences)), path, options)
