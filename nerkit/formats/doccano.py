"""doccano's sequence-labelling JSONL: one document per line, entities as character offsets (end exclusive).

::

    {"id": 1, "text": "Peter lives in Paris", "label": [[0, 5, "PER"], [15, 20, "LOC"]]}
    {"id": 2, "text": "Ada met Bob", "entities": [{"id": 7, "start_offset": 0, "end_offset": 3, "label": "PER"}]}

Both shapes doccano exports are read: ``label`` as ``[start, end, label]`` lists (the sequence-labelling
project), and ``entities`` as ``{start_offset, end_offset, label}`` objects (the project with relations;
``relations`` are ignored). doccano counts offsets as its browser does, in UTF-16 code units (an emoji counts
2; doccano issue #2290), while files made in Python count code points (an emoji counts 1); they differ only
after an astral character. ``options.offset_unit``: ``auto`` (default) reads code points and, for a text with
astral characters whose entities do not fit the words that way, UTF-16 (counted in the read report, kind
``"UTF-16 offsets converted"``); ``codepoints`` / ``utf16`` force one, and ``utf16`` also writes them.
doccano's "count grapheme clusters as one character" project setting is not read.
Other fields are ignored; ``id`` becomes the document id (else ``line-<n>``). The text is split into words
and sentences as for the offsets format (:func:`nerkit.formats.offsets.entity_sentences`), with the same
checks and errors (offsets past the text, overlapping spans, a boundary inside a word, a missing ``text``).

Writing: one line ``{"id", "text", "label": [[start, end, label], ...]}`` per document, the shape doccano's
sequence-labelling import takes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, List

from ..corpus import Sentence
from ..errors import NerDataError
from ..files import read_text
from .json_records import json_records
from .labelstudio import utf16_positions, utf16_to_code_points
from .offsets import entity_documents, entity_sentences, write_json_lines


def _entities(record: dict, fail) -> List[Any]:
    """The record's entities as ``[start, end, label]``, from either shape."""
    if "label" in record:
        if not isinstance(record["label"], list):
            raise fail('"label" is not a list of [start, end, label]')
        return record["label"]
    entities = record.get("entities", [])
    if not isinstance(entities, list):
        raise fail('"entities" is not a list')
    converted = []
    for entity in entities:
        if not isinstance(entity, dict) or not {"start_offset", "end_offset", "label"} <= entity.keys():
            raise fail(f"entity {json.dumps(entity, ensure_ascii=False)} has no start_offset, end_offset and label")
        converted.append([entity["start_offset"], entity["end_offset"], entity["label"]])
    return converted


def _document(path: Path, line: int, record: Any, options) -> List[Sentence]:
    def fail(message: str) -> NerDataError:
        return NerDataError(message, path=str(path), line=line)

    if not isinstance(record, dict):
        raise fail('expected an object with "text" and "label" (or "entities")')
    text = record.get("text")
    if not isinstance(text, str):
        raise fail('missing "text"' if text is None else '"text" is not a string')
    document_id = record.get("id")
    document_id = None if document_id is None or isinstance(document_id, (bool, dict, list)) else str(document_id)
    entities, where = _entities(record, fail), f"{path}:{line}"
    astral = any(ord(character) > 0xFFFF for character in text)
    if astral and options.offset_unit == "utf16":
        entities = utf16_to_code_points(text, entities)
    elif astral and options.offset_unit == "auto" and entities:
        try:
            return entity_sentences(text, entities, document_id, fail, where, options, line=line)
        except NerDataError as as_code_points:
            try:
                sentences = entity_sentences(text, utf16_to_code_points(text, entities), document_id, fail, where, options, line=line)
            except NerDataError:
                raise as_code_points from None
            options.report.note(f"{where}: entities fit the words as UTF-16 offsets; converted to code points",
                                kind="UTF-16 offsets converted")
            return sentences
    return entity_sentences(text, entities, document_id, fail, where, options, line=line)


def read(path: Path, options) -> Iterator[Sentence]:
    """Sentences of a doccano JSONL export (or a JSON list of the same records), document by document."""
    for line, record in json_records(path, read_text(path, options.encoding)):
        yield from _document(path, line, record, options)


def write(sentences: List[Sentence], path: Path, options) -> None:
    """One doccano line ``{"id", "text", "label"}`` per document (ids reading made up are left out)."""
    records = (document_record(*document[:3], unit=options.offset_unit) for document in entity_documents(sentences))
    write_json_lines(records, path, options)


def document_record(document_id, text: str, entities, unit: str = "codepoints") -> dict:
    """One doccano line (offsets in UTF-16 code units with ``unit="utf16"``); also ``predict_ner.py --format
    doccano``'s pre-annotations."""
    positions = utf16_positions(text) if unit == "utf16" else None
    record = {} if document_id is None else {"id": document_id}
    label = [[start, end, label] if positions is None else [positions[start], positions[end], label] for start, end, label in entities]
    record.update(text=text, label=label)
    return record
