"""JSON records of a file (JSON lines, or one JSON list) with their line numbers, and which character-offset
format the first record is in.

The character-offset formats (offsets, doccano, prodigy, labelstudio) and the token format json all hold
JSON records; :func:`sniff_json_format` tells them apart by the first record's fields:

=============  ==================================================================
labelstudio    an object with ``data`` and ``annotations`` or ``predictions``
doccano        ``text`` and ``label`` (a list), or ``entities`` of ``{start_offset, ...}``
prodigy        ``text`` and ``spans``
offsets        ``text`` and ``entities`` (or spaCy v2's ``["text", {"entities": ...}]``)
json           anything else
=============  ==================================================================

>>> sniff_record({"text": "Ada", "label": [[0, 3, "PER"]]}), sniff_record({"data": {"text": "Ada"}, "annotations": []})
('doccano', 'labelstudio')
>>> sniff_record({"text": "Ada", "spans": []}), sniff_record(["Ada", {"entities": []}]), sniff_record({"tokens": []})
('prodigy', 'offsets', 'json')
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator, Tuple

from ..errors import NerDataError
from ..files import read_head

SNIFF_BYTES = 64 * 1024

_WHITESPACE = re.compile(r"\s*")


def sniff_record(record: Any) -> str:
    """The format one JSON record is in (see the table above)."""
    if isinstance(record, list) and len(record) == 2 and isinstance(record[0], str):
        return "offsets" if isinstance(record[1], dict) and "entities" in record[1] else "json"
    if not isinstance(record, dict):
        return "json"
    if isinstance(record.get("data"), dict) and ("annotations" in record or "predictions" in record):
        return "labelstudio"
    if not isinstance(record.get("text"), str):
        return "json"
    if isinstance(record.get("label"), list):
        return "doccano"
    if "spans" in record:
        return "prodigy"
    entities = record.get("entities")
    if isinstance(entities, list) and entities and isinstance(entities[0], dict) and "start_offset" in entities[0]:
        return "doccano"
    return "offsets" if "entities" in record else "json"


def _first_record(head: str) -> Any:
    """The first record of a JSON lines file or a JSON list, from the start of the file."""
    decoder = json.JSONDecoder()
    head = head.lstrip()
    if head.startswith("["):
        position = len(head) - len(head[1:].lstrip())
        first, _ = decoder.raw_decode(head, position)
        if not isinstance(first, str):
            return first  # a list of records
    record, _ = decoder.raw_decode(head)
    return record


def sniff_json_format(path) -> str:
    """The format of a JSON file from its first record (:func:`sniff_record`); ``"json"`` when unsure.

    Reads at most the first 64 KB (decompressed); anything unreadable or unparsable there is left to the JSON reader.
    """
    head = read_head(path, SNIFF_BYTES)
    try:
        return sniff_record(_first_record(head.decode("utf-8", errors="replace").lstrip("\ufeff"))) if head else "json"
    except ValueError:
        return "json"


def json_records(path: Path, content: str) -> Iterator[Tuple[int, Any]]:
    """``(line, record)`` for each record of a JSON lines file or of a JSON list."""
    decoder = json.JSONDecoder()
    stripped = content.lstrip()
    if stripped.startswith("["):
        position = _WHITESPACE.match(content, content.index("[") + 1).end()
        try:
            first, _ = decoder.raw_decode(content, position)
        except ValueError:
            first = None
        if not isinstance(first, str):
            yield from _list_records(path, content, position)
            return
    for number, line in enumerate(content.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except ValueError as error:
            raise NerDataError(f"invalid JSON: {error}", path=str(path), line=number) from None


def _list_records(path: Path, content: str, position: int) -> Iterator[Tuple[int, Any]]:
    decoder = json.JSONDecoder()
    while position < len(content) and content[position] != "]":
        line = content.count("\n", 0, position) + 1
        try:
            record, position = decoder.raw_decode(content, position)
        except ValueError as error:
            raise NerDataError(f"invalid JSON: {error}", path=str(path), line=line) from None
        yield line, record
        position = _WHITESPACE.match(content, position).end()
        if position < len(content) and content[position] == ",":
            position = _WHITESPACE.match(content, position + 1).end()
        elif position < len(content) and content[position] != "]":
            raise NerDataError("invalid JSON: expected ',' or ']' in the list", path=str(path), line=line)
    if position >= len(content):
        raise NerDataError("invalid JSON: the list is not closed with ']'", path=str(path))
