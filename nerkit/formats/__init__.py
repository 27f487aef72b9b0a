"""Readers and writers for every word-level NER format, behind one registry.

Each format module has ``read(path, options) -> Iterator[Sentence]`` and ``write(sentences, path, options)``.
Readers validate tags (``nerkit.schemes.split_tag``, or ``is_plain_label`` with ``plain_labels``) and raise
:class:`nerkit.errors.NerDataError` with file and line; writers go through :func:`nerkit.files.atomic_write`.

=============  ===========================================================  =======================
format         what                                                          guessed from
=============  ===========================================================  =======================
conll          token/tag columns, space or TAB, ``-DOCSTART-`` documents    .conll .txt .iob .bio ...
text_labels    ``text.txt`` + ``labels.txt``, one sentence per line         text*.txt with labels*.txt
json           JSON lines (or a JSON list) of ``tokens`` + ``ner_tags``     .json .jsonl
csv            CSV with ``tokens`` and ``ner_tags`` columns                 .csv
offsets        spaCy style: ``{"text", "entities": [[start, end, label]]}`` .spacy.jsonl / by content
brat           folder of ``.txt`` + ``.ann`` standoff files                 a folder holding .ann
labelstudio    Label Studio JSON export: tasks with ``data`` + ``annotations``  .labelstudio.json / by content
doccano        doccano JSONL: ``{"text", "label": [[start, end, label]]}``   .doccano.jsonl / by content
prodigy        Prodigy JSONL: ``{"text", "tokens", "spans", "answer"}``      .prodigy.jsonl / by content
=============  ===========================================================  =======================
"""

from __future__ import annotations

import importlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Sequence

from ..corpus import Sentence
from ..errors import NerDataError
from ..files import without_compression
from .json_records import sniff_json_format

FORMATS = ("conll", "text_labels", "json", "csv", "offsets", "brat", "labelstudio", "doccano", "prodigy")
_MODULES = {
    "conll": "conll",
    "text_labels": "text_labels",
    "json": "tabular",
    "csv": "tabular",
    "offsets": "offsets",
    "brat": "brat",
    "labelstudio": "labelstudio",
    "doccano": "doccano",
    "prodigy": "prodigy",
}

# What the end of a file's name says about its format when reading it and when writing it; the first match wins
# (".spacy.jsonl" before ".jsonl"). Read as "json": JSON records, whose first record decides between json
# (tokens), offsets, doccano, prodigy and labelstudio (see nerkit.formats.json_records); None: the name says nothing (reading: the content decides) or names no format
# to write in. One table for guess_format, predict_ner.py's input guess and convert_iob.py's output guess.
SUFFIX_FORMATS = (
    # suffix        read as   written as
    (".spacy.jsonl", "json", "offsets"),
    (".spacy.json", "json", "offsets"),
    (".labelstudio.json", "json", "labelstudio"),
    (".doccano.jsonl", "json", "doccano"),
    (".prodigy.jsonl", "json", "prodigy"),
    (".jsonl", "json", "json"),
    (".ndjson", "json", "json"),
    (".json", "json", "json"),
    (".csv", "csv", "csv"),
    (".tsv", "conll", "csv"),  # TAB-separated CoNLL columns are read; TSV is written by the csv writer
    (".conll", "conll", "conll"),
    (".conllu", "conll", "conll"),
    (".txt", None, "conll"),
    (".iob", "conll", "conll"),
    (".iob1", "conll", None),
    (".iob2", "conll", None),
    (".bio", "conll", "conll"),
    (".bioes", "conll", "conll"),
    (".iobes", "conll", "conll"),
    (".col", "conll", None),
)


@dataclass
class ReadReport:
    """What a reader noticed and resolved without failing: counts plus one line per notable event."""

    counts: Counter = field(default_factory=Counter)
    notes: List[str] = field(default_factory=list)

    def note(self, message: str, kind: str = "note") -> None:
        self.counts[kind] += 1
        self.notes.append(message)


@dataclass
class FormatOptions:
    """Options shared by readers and writers; each format uses the ones that apply to it."""

    encoding: str = "utf-8"
    token_column: int = 0  # conll: which column holds the word
    tag_column: int = -1  # conll: which column holds the tag
    delimiter: Optional[str] = None  # conll: None = any run of spaces/TABs; writing uses a space
    tokens_field: Optional[str] = None  # json/csv: None = "tokens", or the one unambiguous list-of-words field
    tags_field: Optional[str] = None  # json/csv: None = "ner_tags", or the one unambiguous tags field
    label_list: Optional[Sequence[str]] = None  # json/csv: names for integer tags
    plain_labels: bool = False  # tags are plain labels (POS tags...), not O / B-X / I-X (nerkit.schemes.PLAIN)
    annotation: str = "latest"  # labelstudio: latest, first, an annotation id, or predictions
    offset_unit: str = "auto"  # labelstudio: codepoints, utf16, or auto (code points unless region texts say UTF-16)
    report: ReadReport = field(default_factory=ReadReport)


def _module(format_name: str):
    if format_name not in _MODULES:
        raise NerDataError(f"unknown format {format_name!r} (choose from {', '.join(FORMATS)})")
    return importlib.import_module(f"{__name__}.{_MODULES[format_name]}")


def guess_format(path) -> str:
    """The format a path most likely holds; a clear error when nothing fits. A compressed file's format is
    guessed from its name without the compression suffix (``train.conll.gz``: conll) and its decompressed content."""
    path = Path(path)
    if path.is_dir():
        if any(path.glob("*.ann")):
            return "brat"
        if any(path.glob("text*.txt")) and any(path.glob("labels*.txt")):
            return "text_labels"
        raise NerDataError("cannot tell the format of this folder (give --input_format)", path=str(path))
    name = without_compression(path.name).lower()
    read_as = suffix_format(name)
    if read_as == "csv":
        return "csv"
    if read_as == "json":
        return sniff_json_format(path)
    if name.startswith("text") and name.endswith(".txt") and path.with_name("labels" + path.name[4:]).exists():
        return "text_labels"
    return "conll"


def suffix_format(name: str, writing: bool = False) -> Optional[str]:
    """The format the end of a file name says it is read as (or written in, with ``writing``); see
    :data:`SUFFIX_FORMATS`. Reading looks past a compression suffix (``.gz .bz2 .xz .zst``).

    >>> suffix_format("train.SPACY.jsonl"), suffix_format("train.spacy.jsonl", writing=True), suffix_format("a.txt")
    ('json', 'offsets', None)
    """
    name = name.lower() if writing else without_compression(name).lower()
    for suffix, read_as, written_as in SUFFIX_FORMATS:
        if name.endswith(suffix):
            return written_as if writing else read_as
    return None


def read_sentences(path, format: Optional[str] = None, options: Optional[FormatOptions] = None) -> List[Sentence]:
    """All sentences of ``path`` in ``format`` (guessed when None)."""
    sentences = list(iter_sentences(path, format, options))
    if not sentences:
        raise NerDataError(EMPTY_INPUT, path=str(path))
    return sentences


EMPTY_INPUT = "no sentences found (empty input)"


def iter_sentences(path, format: Optional[str] = None, options: Optional[FormatOptions] = None) -> Iterator[Sentence]:
    """The sentences of ``path`` one at a time, as the reader produces them (none: the caller says so)."""
    options = options or FormatOptions()
    format = format or guess_format(path)
    module = _module(format)
    # json and csv share a module; a format-specific reader wins so an explicit --input_format is obeyed.
    return iter(getattr(module, f"read_{format}", module.read)(Path(path), options))


# Formats whose writers take the sentences one at a time (memory does not grow with the corpus); the others
# need them all at once (a JSON array, documents rebuilt from their sentences).
STREAMED_WRITERS = ("conll", "text_labels", "json", "csv")


def write_sentences(sentences: Iterable[Sentence], path, format: str, options: Optional[FormatOptions] = None) -> None:
    """Write ``sentences`` to ``path`` in ``format``, atomically; as they come for :data:`STREAMED_WRITERS`."""
    module = _module(format)
    sentences = iter(sentences) if format in STREAMED_WRITERS else list(sentences)
    getattr(module, f"write_{format}", module.write)(sentences, Path(path), options or FormatOptions())
