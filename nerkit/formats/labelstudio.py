"""Label Studio's JSON export of a text NER project: a JSON list of tasks, regions as character offsets.

::

    [{"id": 1, "data": {"text": "Ada met Bob"},
      "annotations": [{"id": 5, "was_cancelled": false, "created_at": "2026-11-30T05:00:00Z",
        "result": [{"from_name": "label", "to_name": "text", "type": "labels",
                    "value": {"start": 0, "end": 3, "text": "Ada", "labels": ["PER"]}}]}],
      "predictions": []}]

Reading: the text is ``data[<field>]``; the field is ``--text_column_name`` when given, else the ``to_name`` of
the ``labels`` results when it names a data field (as ``<Text name="text" value="$text"/>`` does), else
``text``, else the only string in ``data``; regions whose ``to_name`` names no data field (``<Text name="doc"
value="$sentence"/>``) are read when all of the task's are on that one object. Which annotation (``options.annotation``): ``latest`` (default:
the last one that is not ``was_cancelled``, by ``updated_at`` / ``created_at``, then position), ``first``, an
annotation id, or ``predictions`` (the latest prediction; predictions are read only then). A task with none
is skipped and counted. Results of other types (choices, relations, ...) and ``labels`` results on another
object are ignored and counted in the read report; a ``labels`` result must hold exactly one label.

Offsets: Label Studio stores code points (its frontend converts the browser's UTF-16 positions; its editor
tests, "Should calculate offsets by code points in text", check this), so ``options.offset_unit`` is
``codepoints`` by default in effect. Exports of old versions counted UTF-16 code units: with ``auto`` a
region whose ``value.text`` matches only when read as UTF-16 makes the task read as UTF-16 (counted in the
report), and ``utf16`` forces it (for reading and writing). Checks and errors are the offsets format's.

Writing: a JSON list of tasks ``{"data": {"text", "document_id"}, "annotations": [{"result": [...]}]}``, one
``labels`` region per entity (``from_name`` ``label``, ``to_name`` ``text``), the form Label Studio imports.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from ..corpus import Sentence
from ..errors import NerDataError
from ..files import atomic_write, read_text
from .json_records import json_records
from .offsets import entity_documents, entity_sentences

OFFSET_UNITS = ("auto", "codepoints", "utf16")


def utf16_positions(text: str) -> List[int]:
    """The UTF-16 code-unit position of every code point of ``text``, and of its end.

    >>> utf16_positions("a😀b")
    [0, 1, 3, 4]
    """
    positions, position = [0], 0
    for character in text:
        position += 2 if ord(character) > 0xFFFF else 1
        positions.append(position)
    return positions


def _choose(task: Dict[str, Any], choice: str) -> Optional[Dict[str, Any]]:
    """The annotation (or prediction) of a task that ``choice`` names; None when there is none."""
    if choice == "predictions":
        candidates = task.get("predictions") or []
    else:
        candidates = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
    candidates = [c for c in candidates if isinstance(c, dict)]
    if choice not in ("latest", "first", "predictions"):
        return next((c for c in candidates if str(c.get("id")) == choice), None)
    ordered = sorted(enumerate(candidates), key=lambda item: (str(item[1].get("updated_at") or item[1].get("created_at") or ""), item[0]))
    if not ordered:
        return None
    return ordered[0 if choice == "first" else -1][1]


def _text_field(data: Dict[str, Any], results: Sequence[Any], options, fail) -> str:
    if options.tokens_field:
        if options.tokens_field not in data:
            raise fail(f'no text field {options.tokens_field!r} in "data"')
        return options.tokens_field
    targets = {r.get("to_name") for r in results if isinstance(r, dict) and r.get("type") == "labels"}
    named = [name for name in targets if isinstance(data.get(name), str)]
    if len(named) == 1:
        return named[0]
    if "text" in data:
        return "text"
    strings = [name for name, value in data.items() if isinstance(value, str) and name != "document_id"]  # ours
    if len(strings) == 1:
        return strings[0]
    raise fail('missing text field: no "text" in "data" and no single string field (give --text_column_name)')


def _region(result: Dict[str, Any], fail) -> Tuple[Any, Any, Any, Any]:
    """``(start, end, label, region text)`` of one ``labels`` result."""
    value = result.get("value")
    shown = result.get("id", json.dumps(value, ensure_ascii=False))
    if not isinstance(value, dict):
        raise fail(f"result {shown} has no value")
    labels = value.get("labels")
    if not isinstance(labels, list) or not labels:
        raise fail(f"result {shown} has no labels")
    if len(labels) > 1:
        raise fail(f"result {shown} has several labels {labels}; one region, one label")
    return value.get("start"), value.get("end"), labels[0], value.get("text")


def _in_code_points(text: str, regions: List[Tuple[Any, Any, Any, Any]], unit: str, where: str, options) -> List[list]:
    """Regions as ``[start, end, label]`` in code points, converted from UTF-16 when the unit says so."""
    entities = [[start, end, label] for start, end, label, _ in regions]
    if unit == "codepoints" or all(ord(character) <= 0xFFFF for character in text):
        return entities
    index = {position: number for number, position in enumerate(utf16_positions(text))}
    if unit == "auto":
        def matches(start, end, shown):
            return shown is None or text[start:end] == shown
        as_utf16 = [(index.get(s), index.get(e), label, shown) for s, e, label, shown in regions]
        fits_code_points = all(matches(s, e, shown) for s, e, _, shown in regions if isinstance(s, int) and isinstance(e, int))
        fits_utf16 = all(s is not None and e is not None and matches(s, e, shown) for s, e, _, shown in as_utf16)
        if fits_code_points or not fits_utf16:
            return entities
        options.report.note(f"{where}: region texts match UTF-16 offsets; converted to code points", kind="UTF-16 offsets converted")
    return utf16_to_code_points(text, entities)


def utf16_to_code_points(text: str, entities: Sequence[Sequence[Any]]) -> List[list]:
    """``[start, end, label]`` entities counted in UTF-16 code units, counted in code points (an offset inside a
    surrogate pair, or past the text, is kept as it was for the checks to report).

    >>> utf16_to_code_points("😀 Ada", [[3, 6, "PER"]])
    [[2, 5, 'PER']]
    """
    index = {position: number for number, position in enumerate(utf16_positions(text))}
    return [[index.get(start, start), index.get(end, end), label] for start, end, label in entities]


def _task(path: Path, line: int, task: Any, options) -> List[Sentence]:
    task_id = task.get("id") if isinstance(task, dict) else None
    label = f"task {task_id}" if task_id is not None else f"the task at line {line}"

    def fail(message: str) -> NerDataError:
        return NerDataError(f"{label}: {message}", path=str(path), line=line)

    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        raise fail('expected a task with "data"')
    where = f"{path}:{line}: {label}"
    chosen = _choose(task, options.annotation)
    if chosen is None:
        by_id = options.annotation == "predictions" and any(isinstance(p, int) for p in task.get("predictions") or [])
        why = " (the JSON export lists predictions by id only: read the tasks from the API)" if by_id else ""
        options.report.note(f"{where}: no annotation to read ({options.annotation}){why}; skipped", kind="tasks without annotation")
        return []
    results = chosen.get("result") or []
    if not isinstance(results, list):
        raise fail('"result" is not a list')
    data = task["data"]
    field = _text_field(data, results, options, fail)
    text = data.get(field)
    if not isinstance(text, str):
        raise fail(f'missing text field {field!r} in "data"' if text is None else f'data field {field!r} is not a string')
    # The <Text> object the regions are on: named like the data field (name="text" value="$text"), or, when the
    # config names them apart (name="doc" value="$sentence"), the one object all regions are on.
    targets = {r.get("to_name") for r in results if isinstance(r, dict) and r.get("type") == "labels"} - {None}
    on = field
    if len(targets) == 1 and field not in targets and not isinstance(data.get(*targets), str):
        on = next(iter(targets))
    regions = []
    for result in results:
        if isinstance(result, dict) and result.get("type") == "labels" and result.get("to_name", on) in (on, None):
            regions.append(_region(result, fail))
        else:
            kind = result.get("type") if isinstance(result, dict) else type(result).__name__
            options.report.note(f"{where}: result of type {kind!r} ignored", kind="results ignored")
    entities = _in_code_points(text, regions, options.offset_unit, where, options)
    document_id = data.get("document_id", task_id)
    document_id = None if document_id is None else str(document_id)
    return entity_sentences(text, entities, document_id, fail, where, options, line=line)


def read(path: Path, options) -> Iterator[Sentence]:
    """Sentences of a Label Studio JSON export (or JSON lines of tasks), task by task."""
    if options.offset_unit not in OFFSET_UNITS:
        raise NerDataError(f"unknown offset unit {options.offset_unit!r} (choose from {', '.join(OFFSET_UNITS)})")
    for line, task in json_records(path, read_text(path, options.encoding)):
        yield from _task(path, line, task, options)


def regions(text: str, entities, unit: str = "codepoints", prefix: str = "r", from_name: str = "label",
            to_name: str = "text") -> List[Dict[str, Any]]:
    """Label Studio ``labels`` results for ``(start, end, label)`` entities of ``text``, for the ``<Labels>``
    control ``from_name`` on the ``<Text>`` object ``to_name``."""
    positions = utf16_positions(text) if unit == "utf16" else None
    results = []
    for number, (start, end, label) in enumerate(entities):
        value = {"start": start, "end": end, "text": text[start:end], "labels": [label]}
        if positions is not None:
            value.update(start=positions[start], end=positions[end])
        results.append({"id": f"{prefix}{number}", "from_name": from_name, "to_name": to_name, "type": "labels",
                        "value": value})
    return results


def write(sentences: List[Sentence], path: Path, options) -> None:
    """A JSON list of Label Studio tasks, one per document, its entities as one annotation."""
    unit = "utf16" if options.offset_unit == "utf16" else "codepoints"
    tasks = []
    for document_id, text, entities, _ in entity_documents(sentences):
        tasks.append({"data": task_data(document_id, text), "annotations": [{"result": regions(text, entities, unit)}]})
    with atomic_write(path, encoding=options.encoding) as stream:  # one task a line, still one JSON list
        stream.write("[\n" + ",\n".join(json.dumps(task, ensure_ascii=False) for task in tasks) + "\n]\n")


def task_data(document_id, text: str, field: str = "text") -> Dict[str, Any]:
    """A task's ``data``: the text (under ``field``), and our document id when there is one."""
    return {field: text} if document_id is None else {field: text, "document_id": document_id}
