"""``predict_ner.py``'s input a document at a time, so that memory does not grow with it.

:func:`stream_documents` reads a file as :func:`nerkit.inference.reading.read_documents` does, with the same
documents, format guess, gold scheme and errors, but yields each document as it is read: raw text (one document
per line), JSON lines, CoNLL (tagged, or words only) and text_labels. What needs the whole input stays with
``read_documents``: stdin, folders, ``--document``, a JSON list, the other word-level formats (whose documents
may be spread over the file), and whatever needs every document at once (``--gold``, ``--errors``,
``--sort uncertainty``, several processes; ``predict_ner.py`` decides).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

from ..errors import NerDataError
from ..files import iter_lines
from ..formats import FormatOptions, iter_sentences
from ..schemes import PLAIN, detect_scheme
from .documents import Document
from .reading import (
    INPUT_FORMATS,
    group_document,
    guess_input_format,
    iter_words_only_documents,
    jsonl_document,
    single_column,
)

STREAMED_FORMATS = ("text", "jsonl", "conll", "text_labels")
HEAD = 65536  # characters the format is guessed from, as read_documents does


@dataclass
class StreamedInput:
    """Documents read one at a time (a single pass), the format they are read as, the scheme of their gold tags."""

    documents: Iterator[Document]
    format: str
    gold_scheme: Any = None


def stream_documents(source, input_format: str = "auto", encoding: str = "utf-8",
                     plain_labels: bool = False) -> Optional[StreamedInput]:
    """The documents of the file ``source`` as a stream, or None when it is not a file in a streamed format."""
    if input_format not in INPUT_FORMATS or str(source) == "-":
        return None
    path = Path(source)
    if not path.is_file():
        return None
    head = _head(path, encoding)
    if input_format == "auto":
        input_format = guess_input_format(path, head)
    if input_format not in STREAMED_FORMATS or (input_format == "jsonl" and head.lstrip().startswith("[")):
        return None
    name, gold_scheme = str(path), None
    if input_format == "text":
        documents = (Document.from_text(line) for line in iter_lines(path, encoding))
    elif input_format == "jsonl":
        documents = _jsonl_documents(path, encoding)
    elif input_format == "conll" and single_column(head.split("\n")):
        documents = iter_words_only_documents(iter_lines(path, encoding))
    else:
        options = FormatOptions(encoding=encoding, plain_labels=plain_labels)
        # The gold scheme is the whole input's: a first pass that only counts.
        gold_scheme = PLAIN if plain_labels else detect_scheme(s.ner_tags for s in iter_sentences(path, input_format, options))
        sentences = iter_sentences(path, input_format, options)
        documents = (group_document(list(group)) for group in _consecutive_documents(sentences))
    return StreamedInput(_numbered(documents, input_format, name), input_format, gold_scheme)


def _head(path: Path, encoding: str) -> str:
    head, size = [], 0
    for line in iter_lines(path, encoding):
        head.append(line + "\n")
        size += len(line) + 1
        if size >= HEAD:
            break
    return "".join(head)[:HEAD]


def _jsonl_documents(path: Path, encoding: str) -> Iterator[Document]:
    for position, (number, line) in enumerate((n, line) for n, line in enumerate(iter_lines(path, encoding), 1) if line.strip()):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise NerDataError(f"invalid JSON: {error.msg} (column {error.colno})", path=str(path), line=number) from None
        yield jsonl_document(number, record, position, str(path))


def _consecutive_documents(sentences):
    """Runs of sentences with one ``document_id``, as ``group_documents`` groups them: a sentence without one
    is a document of its own. In CoNLL and text_labels files a document's sentences are always consecutive."""
    for key, group in itertools.groupby(sentences, key=lambda sentence: sentence.document_id):
        if key is None:
            yield from ([sentence] for sentence in group)
        else:
            yield group


def _numbered(documents: Iterator[Document], input_format: str, name: str) -> Iterator[Document]:
    """Context keys as read_documents gives them, and its error for an input without a word."""
    words = 0
    for number, document in enumerate(documents):
        if not document.context_key:
            document.context_key = f"#{number}" if input_format in ("text", "jsonl") else ""
        words += document.word_count
        yield document
    if not words:
        raise NerDataError("no text to predict on (empty input)", path=name)
