"""JSON and CSV corpora: one sentence per record, with a list of words and a list of tags.

JSON comes as JSON lines (one object per line), as one list of objects, or wrapped the Hugging Face way in
``{"data": [...]}``::

    {"tokens": ["EU", "rejects", "German"], "ner_tags": ["B-ORG", "O", "B-MISC"], "document_id": "d1", "sentence_index": 0}

CSV (TSV for ``.tsv``) has a header; the word and tag cells hold a JSON list, a Python-literal list or
space-separated words::

    tokens,ner_tags,document_id,sentence_index
    "[""EU"", ""rejects""]","[""B-ORG"", ""O""]",d1,0

Fields: ``options.tokens_field`` / ``options.tags_field``; by default ``tokens`` / ``ner_tags``, else the one
field that holds lists of words and the one that holds tags (all valid tags, or all integers, which need
``options.label_list``). ``document_id`` and ``sentence_index`` are kept, ``id`` goes to ``Sentence.extra``.

The registry sends both formats here: :func:`read` and :func:`write` pick CSV for ``.csv``/``.tsv`` names and
JSON otherwise (reading an unknown suffix looks at the first character instead).

>>> import tempfile, pathlib
>>> from nerkit.formats import FormatOptions
>>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny.jsonl"
>>> _ = path.write_text('{"words": ["Ada", "wrote"], "labels": [1, 0]}\\n')
>>> [(s.tokens, s.ner_tags) for s in read(path, FormatOptions(label_list=["O", "B-PER"]))]
[(['Ada', 'wrote'], ['B-PER', 'O'])]
"""

from __future__ import annotations

import ast
import csv
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from ..corpus import Sentence
from ..errors import NerDataError
from ..files import atomic_write, iter_lines, read_text
from ..labels import bad_tag_message
from ..schemes import is_label
from .fields import SAMPLE, choose_fields, tag_namer

CSV_SUFFIXES = (".csv", ".tsv")
COLUMNS = ("tokens", "ner_tags", "document_id", "sentence_index")
_UNREADABLE_IN_CSV = re.compile("[\r\n\x00]")


@dataclass
class _Record:
    """One JSON object or CSV row, with where it came from for error messages."""

    fields: Dict[str, Any]
    line: Optional[int] = None
    where: Optional[str] = None
    last_line: Optional[int] = None  # CSV: a record may span lines (quoted line breaks)


def is_csv(path) -> bool:
    return Path(path).suffix.lower() in CSV_SUFFIXES


# ---------------------------------------------------------------------------------------------------- reading


def read(path: Path, options) -> Iterator[Sentence]:
    """Sentences of a JSON or CSV file (see the module docstring for how the kind is chosen)."""
    path = Path(path)
    if is_csv(path):
        return read_csv(path, options)
    if path.suffix.lower() in (".json", ".jsonl", ".ndjson"):
        return read_json(path, options)
    first = next((line.lstrip() for line in iter_lines(path, options.encoding) if line.strip()), "")
    return (read_json if first[:1] in ("{", "[") else read_csv)(path, options)


def read_json(path: Path, options) -> Iterator[Sentence]:
    """Sentences of a JSON lines file, a JSON list of objects or a ``{"data": [...]}`` object. JSON lines are
    read a line at a time (memory does not grow with the file); a list or an object is read whole.

    >>> import tempfile, pathlib
    >>> from nerkit.formats import FormatOptions
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny.json"
    >>> _ = path.write_text('{"data": [{"tokens": ["Hi", "Ada"], "ner_tags": ["O", "B-PER"], "document_id": "d1"}]}')
    >>> [(s.tokens, s.document_id) for s in read_json(path, FormatOptions())]
    [(['Hi', 'Ada'], 'd1')]
    """
    path = Path(path)
    return _sentences(_file_json_records(path, options.encoding), path, options, _json_list)


def read_csv(path: Path, options) -> Iterator[Sentence]:
    """Sentences of a CSV (or ``.tsv``) file with a header row, read a line at a time."""
    path = Path(path)
    # iter_lines drops the line ends (CR LF and CR alike): give the csv module LF back, as read_text would.
    lines = (line + "\n" for line in iter_lines(path, options.encoding))
    return _sentences(_csv_records(lines, path), path, options, _cell_list)


def _file_json_records(path: Path, encoding: str) -> Iterator[_Record]:
    """The records of a JSON file: a stream when it is JSON lines (a first line that is a whole object, then
    more), else what :func:`_json_records` finds in the whole text."""
    lines = enumerate(iter_lines(path, encoding), 1)
    first = next(((number, line) for number, line in lines if line.strip()), None)
    if first is None:
        return
    try:
        item = json.loads(first[1]) if first[1].lstrip().startswith("{") else None
    except json.JSONDecodeError:
        item = None  # an object over several lines
    second = next(((number, line) for number, line in lines if line.strip()), None) if isinstance(item, dict) else None
    if second is None:
        yield from _json_records(read_text(path, encoding), path)
        return
    yield _Record(item, line=first[0])
    yield from _json_lines(itertools.chain([second], lines), path)


def _json_records(text: str, path: Path) -> Iterator[_Record]:
    start = text.lstrip()[:1]
    if not start:
        return
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        if start == "{" and error.msg == "Extra data":
            yield from _json_lines(enumerate(text.split("\n"), 1), path)  # the first object parsed, then more: JSON lines
            return
        raise NerDataError(f"invalid JSON: {error.msg} (column {error.colno})", path=str(path), line=error.lineno) from None
    if isinstance(document, dict) and isinstance(document.get("data"), list):
        document = document["data"]  # Hugging Face's field="data" layout
    if isinstance(document, dict):
        yield _Record(_as_object(document, path, line=1), line=1)  # a JSON lines file of one line
        return
    if not isinstance(document, list):
        raise NerDataError(f"expected JSON objects, a list of them or {{\"data\": [...]}}, got {type(document).__name__}", path=str(path))
    for index, item in enumerate(document):
        where = f"record {index}"
        yield _Record(_as_object(item, path, where=where), where=where)


def _json_lines(lines: Iterable[Tuple[int, str]], path: Path) -> Iterator[_Record]:
    for number, line in lines:
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise NerDataError(f"invalid JSON: {error.msg} (column {error.colno})", path=str(path), line=number) from None
        yield _Record(_as_object(item, path, line=number), line=number)


def _as_object(item, path: Path, line: Optional[int] = None, where: Optional[str] = None) -> dict:
    if not isinstance(item, dict):
        raise NerDataError(f"expected a JSON object with words and tags, got {type(item).__name__}", path=str(path), line=line, where=where)
    return item


def _csv_records(lines: Iterable[str], path: Path) -> Iterator[_Record]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    # strict: an unterminated quote raises at the end of the file instead of swallowing the rest silently.
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    header: Optional[List[str]] = None
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            if "unexpected end of data" in str(error):
                raise NerDataError("unterminated quote: the quoted cell opened here never closes", path=str(path), line=start) from None
            raise NerDataError(f"bad CSV: {error}", path=str(path), line=reader.line_num) from None
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [name.strip() for name in row]
            continue
        # A short row keeps its missing columns as None, so the error names the missing cell.
        fields = {name: row[i] if i < len(row) else None for i, name in enumerate(header)}
        yield _Record(fields, line=start, last_line=reader.line_num)


def _json_list(value):
    """JSON values are already typed: lists stay lists, anything else is not a list."""
    if isinstance(value, list):
        return value
    raise ValueError(f"holds {'a string' if isinstance(value, str) else type(value).__name__}, expected a list")


def _cell_list(cell):
    """A CSV cell as a list: a JSON list, a Python-literal list (never ``eval``) or space-separated words.

    >>> _cell_list('["EU", "rejects"]'), _cell_list("['EU', 'rejects']"), _cell_list("EU rejects")
    (['EU', 'rejects'], ['EU', 'rejects'], ['EU', 'rejects'])
    """
    if cell is None:
        raise ValueError("is missing (fewer cells than header columns)")
    stripped = cell.strip()
    if not stripped.startswith("["):
        return stripped.split()
    try:
        value = json.loads(stripped)
    except ValueError:
        try:
            value = ast.literal_eval(stripped)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise ValueError(f"starts with '[' but is neither a JSON nor a Python list: {_short(stripped)}") from None
    if not isinstance(value, list):
        raise ValueError(f"holds {type(value).__name__}, expected a list")
    return value


def _short(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


# ------------------------------------------------------------------------------------------ records -> sentences


def _sentences(records: Iterable[_Record], path: Path, options, as_list: Callable) -> Iterator[Sentence]:
    records = iter(records)
    head = list(itertools.islice(records, SAMPLE))  # the fields are chosen from the first records
    if not head:
        raise NerDataError("no records (empty file)", path=str(path))
    tokens_field, tags_field = choose_fields([record.fields for record in head], options, path, as_list)
    to_tag = tag_namer(options, path)
    previous_document, index, skipped = object(), 0, 0
    for record in itertools.chain(head, records):
        sentence = _sentence(record, tokens_field, tags_field, as_list, to_tag, path)
        if not sentence.tokens:
            skipped += 1
            continue
        # Records without sentence_index are numbered within their document, like corpus.number_sentences.
        index = 0 if sentence.document_id != previous_document else index + 1
        previous_document = sentence.document_id
        explicit = _index(record.fields.get("sentence_index"))
        sentence.sentence_index = index if explicit is None else explicit
        yield sentence
    if skipped:
        options.report.note(f"{path.name}: skipped {skipped} record(s) with no words", "empty_sentences")


def _sentence(record: _Record, tokens_field: str, tags_field: str, as_list: Callable, to_tag: Callable, path: Path) -> Sentence:
    def fail(message: str):
        if record.last_line and record.last_line > record.line:
            message += f" (this record runs from line {record.line} to {record.last_line}: an unbalanced quote?)"
        return NerDataError(message, path=str(path), line=record.line, where=record.where)

    values = {}
    for field_name in (tokens_field, tags_field):
        if field_name not in record.fields:
            raise fail(f"no field {field_name!r} (fields: {', '.join(map(str, record.fields))})")
        try:
            values[field_name] = as_list(record.fields[field_name])
        except ValueError as error:
            raise fail(f"field {field_name!r} {error}") from None
    tokens, raw_tags = values[tokens_field], values[tags_field]
    if len(tokens) != len(raw_tags):
        raise fail(f"{len(tokens)} words in {tokens_field!r} but {len(raw_tags)} tags in {tags_field!r}")
    for position, token in enumerate(tokens):
        if not isinstance(token, str) or not token:
            raise fail(f"word {position} of {tokens_field!r} is {token!r}, expected a non-empty string")
    try:
        tags = [to_tag(tag) for tag in raw_tags]
    except ValueError as error:
        raise fail(str(error)) from None
    document_id = record.fields.get("document_id")
    extra = {"id": record.fields["id"]} if "id" in record.fields else {}
    return Sentence(
        tokens,
        tags,
        document_id=None if document_id in (None, "") else str(document_id),
        line=record.line,
        extra=extra,
    )


def _index(value) -> Optional[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


# ---------------------------------------------------------------------------------------------------- writing


def write(sentences: Iterable[Sentence], path: Path, options) -> None:
    """CSV for ``.csv``/``.tsv`` names, JSON lines otherwise; each sentence written as it comes."""
    (write_csv if is_csv(path) else write_json)(sentences, Path(path), options)


def write_json(sentences: Iterable[Sentence], path: Path, options) -> None:
    """JSON lines: ``{"tokens", "ner_tags", "document_id" (when set), "sentence_index"}``, plus ``id`` when the
    sentence was read with one. Non-ASCII text is written as is (UTF-8)."""
    with atomic_write(path, encoding=options.encoding) as stream:
        for position, sentence in enumerate(sentences):
            _check_writable(sentence, position, path, options.plain_labels)
            record: Dict[str, Any] = {"tokens": list(sentence.tokens), "ner_tags": list(sentence.ner_tags)}
            if sentence.document_id is not None:
                record["document_id"] = sentence.document_id
            record["sentence_index"] = sentence.sentence_index
            if "id" in sentence.extra:
                record["id"] = sentence.extra["id"]
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")


def write_csv(sentences: Iterable[Sentence], path: Path, options) -> None:
    """CSV with columns ``tokens``, ``ner_tags`` (JSON lists), ``document_id`` (empty for none) and
    ``sentence_index``; TAB-separated for a ``.tsv`` name."""
    with atomic_write(path, encoding=options.encoding) as stream:
        writer = csv.writer(stream, delimiter="\t" if path.suffix.lower() == ".tsv" else ",", lineterminator="\n")
        writer.writerow(COLUMNS)
        for position, sentence in enumerate(sentences):
            _check_writable(sentence, position, path, options.plain_labels)
            if sentence.document_id is not None and _UNREADABLE_IN_CSV.search(sentence.document_id):
                # read_text turns CR into LF and refuses NUL, so such an id would not come back the same
                raise NerDataError(f"document id {sentence.document_id!r} holds a line break or NUL", path=str(path),
                                   where=f"sentence {position + 1}")
            writer.writerow(
                [
                    json.dumps(list(sentence.tokens), ensure_ascii=False),
                    json.dumps(list(sentence.ner_tags), ensure_ascii=False),
                    "" if sentence.document_id is None else sentence.document_id,
                    sentence.sentence_index,
                ]
            )


def _check_writable(sentence: Sentence, position: int, path: Path, plain: bool = False) -> None:
    where = f"sentence {position + 1}"
    if len(sentence.tokens) != len(sentence.ner_tags):
        raise NerDataError(f"{len(sentence.tokens)} words but {len(sentence.ner_tags)} tags", path=str(path), where=where)
    for token in sentence.tokens:
        if not isinstance(token, str) or not token:
            raise NerDataError(f"word {token!r} is not a non-empty string", path=str(path), where=where)
    for tag in sentence.ner_tags:
        if not is_label(tag, plain):
            raise NerDataError(bad_tag_message(tag, plain), path=str(path), where=where)
