"""Reading ``predict_ner.py``'s input: a file, a folder or stdin, in any input format, to documents.

Raw text (``text``: one document per line, or the whole input; ``jsonl``: records with a ``"text"`` string) is
cut into words and sentences by :mod:`nerkit.words`, the data layer's tokeniser; the word-level formats of
:mod:`nerkit.formats` are read with their gold tags (a CoNLL file with a single column is words only). The
format is guessed from the name (:data:`nerkit.formats.SUFFIX_FORMATS`) and the first characters
(:func:`guess_input_format`); stdin is read whole and, for the data layer's readers, copied to a temporary file.
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, List, Optional, Sequence

from ..errors import NerDataError
from ..files import decode_text, read_text
from ..formats import FormatOptions, guess_format, read_sentences, suffix_format
from ..formats.conll import DOCSTART, document_name
from ..formats.offsets import document_text, group_documents
from ..schemes import PLAIN, detect_scheme, is_tag
from .documents import Document

INPUT_FORMATS = ("auto", "text", "jsonl", "conll", "text_labels", "json", "csv", "offsets", "brat")


@dataclass
class LoadedInput:
    """Documents read from one input, the format they were read as, and the scheme of their gold tags."""

    documents: List[Document]
    format: str
    gold_scheme: Any = None  # a TaggingScheme for word-level input with tags, else None

    @property
    def sentence_count(self) -> int:
        return sum(len(document.sentences) for document in self.documents)

    @property
    def word_count(self) -> int:
        return sum(document.word_count for document in self.documents)


def read_documents(source, input_format: str = "auto", whole_document: bool = False, encoding: str = "utf-8",
                   options=None, plain_labels: bool = False) -> LoadedInput:
    """Documents of a file, a folder or ``"-"`` (stdin), in any input format (see :func:`guess_input_format`).

    Raw text (``text``, ``jsonl``) is split into words and sentences by :mod:`nerkit.words`; the word-level
    formats of :mod:`nerkit.formats` are read with their gold tags (CoNLL with a single column: words only),
    which are plain labels (any label, scheme ``PLAIN``) with ``plain_labels`` (for a model of plain labels).
    Raises :class:`NerDataError` when the input holds no word at all.
    """
    if input_format not in INPUT_FORMATS:
        raise NerDataError(f"unknown input format {input_format!r} (choose from {', '.join(INPUT_FORMATS)})")
    stdin = str(source) == "-"
    name = "<stdin>" if stdin else str(source)
    path = None if stdin else Path(source)
    if path is not None and not path.exists():
        raise NerDataError("input not found", path=name)
    if stdin:
        text: Optional[str] = _read_stdin(encoding)
    else:
        text = None if path.is_dir() else read_text(path, encoding)
    if input_format == "auto":
        input_format = guess_input_format(path, (text or "")[:65536])

    gold_scheme = None
    if input_format == "text":
        documents = text_documents(text if text is not None else read_text(path, encoding), whole_document)
    elif input_format == "jsonl":
        documents = jsonl_documents(text if text is not None else read_text(path, encoding), name)
    elif input_format == "conll" and text is not None and single_column(text.split("\n")):
        documents = words_only_conll_documents(text.split("\n"))
    else:
        options = options or FormatOptions(encoding=encoding, plain_labels=plain_labels)
        documents = sentence_documents(_read_word_level(path, text, input_format, options, name))
        gold_tags = (tags for document in documents for tags in document.gold)
        gold_scheme = PLAIN if options.plain_labels else detect_scheme(gold_tags)
    loaded = LoadedInput(documents, input_format, gold_scheme)
    if not loaded.word_count:
        raise NerDataError("no text to predict on (empty input)", path=name)
    for number, document in enumerate(loaded.documents):
        if not document.context_key:
            document.context_key = f"#{number}" if input_format in ("text", "jsonl") else ""
    return loaded


def _read_stdin(encoding: str) -> str:
    """All of stdin, decoded as a file is (:func:`nerkit.files.decode_text`)."""
    stream = getattr(sys.stdin, "buffer", None)
    raw = stream.read() if stream is not None else sys.stdin.read().encode(encoding)
    return decode_text(raw, encoding, "<stdin>", stream=True)


def _read_word_level(path: Optional[Path], text: Optional[str], input_format: str, options: FormatOptions, name: str):
    """Sentences of a word-level format by the data layer's reader; errors name ``<stdin>`` for stdin input."""
    with _spooled(path, text, input_format) as readable:
        try:
            return read_sentences(readable, input_format, options)
        except NerDataError as error:
            if path is not None:
                raise
            raise NerDataError(error.message, path=name, line=error.line, where=error.where) from None


@contextlib.contextmanager
def _spooled(path: Optional[Path], text: Optional[str], input_format: str):
    """The input as a path for the data layer's readers: the file itself, or stdin copied to a temporary file."""
    if path is not None:
        yield path
        return
    suffix = {"json": ".jsonl", "csv": ".csv", "offsets": ".jsonl"}.get(input_format, ".conll")
    if input_format in ("brat", "text_labels"):
        raise NerDataError(f"--input_format {input_format} reads files from a folder; it cannot read stdin")
    with tempfile.TemporaryDirectory(prefix="predict-ner-") as folder:
        spooled = Path(folder) / f"stdin{suffix}"
        spooled.write_text(text or "", encoding="utf-8")
        yield spooled


# ---------------------------------------------------------------------------------------------------------
# Guessing the format
# ---------------------------------------------------------------------------------------------------------


def guess_input_format(path: Optional[Path], head: str) -> str:
    """``text`` / ``jsonl`` (raw text) or a data-layer format, from the path and the first characters.

    Folders follow :func:`nerkit.formats.guess_format`; a name whose suffix says CSV or CoNLL
    (:data:`nerkit.formats.SUFFIX_FORMATS`: ``.csv``, ``.conll``/``.iob``/``.bio``/...) is read as such;
    ``.json``/``.jsonl`` whose first record has a ``"text"`` string and no ``"tokens"`` are raw-text JSON lines
    (other JSON: the data layer decides); everything else (``.txt``, CoNLL-2003's ``eng.testb``, stdin) is JSON
    lines when its first non-blank character is ``{``, CoNLL when its lines are columns ending in a tag
    (:func:`looks_like_tagged_columns`), else plain text.
    """
    if path is not None:
        if path.is_dir():
            return guess_format(path)
        read_as = suffix_format(path.name)
        if read_as in ("csv", "conll"):
            return read_as
        if guess_format(path) == "text_labels":
            return "text_labels"
        if read_as == "json":
            first = _first_json_record(head)
            raw_text = isinstance(first, dict) and isinstance(first.get("text"), str) and "tokens" not in first
            if first is None or raw_text:
                return "jsonl"
            return guess_format(path)
    if head.lstrip().startswith("{"):
        return "jsonl"
    return "conll" if looks_like_tagged_columns(head) else "text"


def looks_like_tagged_columns(head: str, lines: int = 200) -> bool:
    r"""Whether every non-blank line among the first ``lines`` has two or more fields and ends in a tag.

    >>> looks_like_tagged_columns("-DOCSTART- -X- -X- O\n\nEU NNP B-NP I-ORG\nrejects VBZ B-VP O\n")
    True
    >>> looks_like_tagged_columns("Ada Lovelace met Charles Babbage in London.\nSo it goes O\n")
    False
    """
    rows = head.split("\n")
    if len(rows) > 1 and not head.endswith("\n"):
        rows = rows[:-1]  # the head may end inside a line
    fields = [row.split() for row in rows[:lines] if row.strip()]
    return bool(fields) and all(len(row) >= 2 and is_tag(row[-1]) for row in fields)


def _first_json_record(head: str):
    stripped = head.lstrip()
    try:
        if stripped.startswith("["):
            decoder = json.JSONDecoder()
            inner = stripped[1:].lstrip()
            return decoder.raw_decode(inner)[0] if inner else None
        line = next((line for line in stripped.split("\n") if line.strip()), "")
        return json.loads(line) if line else None
    except json.JSONDecodeError:
        return None  # reading as JSON lines gives the error with its line number


def single_column(lines: Sequence[str]) -> bool:
    for line in lines:
        columns = line.split()
        if columns and columns[0] != DOCSTART:
            return len(columns) == 1
    return False


# ---------------------------------------------------------------------------------------------------------
# Documents of each kind of input
# ---------------------------------------------------------------------------------------------------------


def text_documents(text: str, whole: bool = False) -> List[Document]:
    """One document per line (``whole=False``; blank lines give empty documents, so output lines stay aligned
    with input lines), or the whole text as one document."""
    if whole:
        return [Document.from_text(text)]
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [Document.from_text(line) for line in lines]


def jsonl_documents(text: str, source: str = "<input>") -> List[Document]:
    """Documents of JSON lines (or a JSON list) of objects with a ``"text"`` string (``"id"`` kept); blank lines
    skipped."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as error:
            raise NerDataError(f"invalid JSON: {error.msg}", path=source, line=error.lineno) from None
        numbered = [(None, record) for record in records] if isinstance(records, list) else [(1, records)]
    else:
        numbered = []
        for number, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            try:
                numbered.append((number, json.loads(line)))
            except json.JSONDecodeError as error:
                message = f"invalid JSON: {error.msg} (column {error.colno})"
                raise NerDataError(message, path=source, line=number) from None
    return [jsonl_document(number, record, position, source) for position, (number, record) in enumerate(numbered)]


def jsonl_document(number: Optional[int], record, position: int, source: str) -> Document:
    """The document of one JSON record (``number``: its line, None in a JSON list, ``position``: its place)."""
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise NerDataError('expected a JSON object with a "text" string', path=source, line=number,
                           where=None if number else f"record {position + 1}")
    return Document.from_text(record["text"], id=record.get("id", record.get("document_id")))


def words_only_conll_documents(lines: Sequence[str]) -> List[Document]:
    """Documents of a CoNLL file with only a word column: sentences split at blank lines, ``-DOCSTART-`` opens
    a document (without any, every sentence is a document of its own).

    >>> [(d.id, [len(s) for s in d.sentences]) for d in words_only_conll_documents(["Ada", "", "Bob", "ran"])]
    [(None, [1]), (None, [2])]
    >>> [(d.id, [len(s) for s in d.sentences]) for d in words_only_conll_documents(["-DOCSTART-", "Ada", "", "Bob"])]
    [('doc-0001', [1, 1])]
    """
    return list(iter_words_only_documents(lines))


def iter_words_only_documents(lines: Iterable[str]) -> Iterator[Document]:
    """:func:`words_only_conll_documents` one document at a time."""
    sentences: List[List[str]] = []
    sentence: List[str] = []
    document_id, count = None, 0
    for line in lines:
        columns = line.split()
        if columns and columns[0] != DOCSTART:
            sentence.append(columns[0])
            continue
        if sentence:
            sentences.append(sentence)
            sentence = []
        if (columns or document_id is None) and sentences:  # -DOCSTART- ends a document; without documents, every sentence does
            yield _words_document(sentences, document_id)
            sentences = []
        if columns:
            count += 1
            document_id = document_name(count)
    if sentence:
        sentences.append(sentence)
    if sentences:
        yield _words_document(sentences, document_id)


def _words_document(sentences: List[List[str]], document_id: Optional[str]) -> Document:
    document = Document.from_words(sentences, id=document_id)
    document.context_key = document_id or ""
    return document


def sentence_documents(sentences) -> List[Document]:
    """Documents of word-level sentences (``nerkit.corpus.Sentence``), grouped by document id.

    Sentences read with their text (offset JSON, BRAT) keep it and their offsets; others get the text rebuilt
    by :func:`nerkit.formats.offsets.document_text` (one space between words, a newline between sentences).
    """
    return [group_document(group) for group in group_documents(sentences)]


def group_document(group: Sequence) -> Document:
    """The document of one group of sentences (one ``document_id``), with their gold tags."""
    text, offsets, _ = document_text(group)
    words = [[(token, start, end) for token, (start, end) in zip(s.tokens, o)] for s, o in zip(group, offsets)]
    first = group[0]
    document_id = None if first.extra.get("generated_id") else first.document_id
    return Document(text=text, sentences=words, id=document_id, gold=[list(s.ner_tags) for s in group],
                    context_key=first.document_id or "")


# ---------------------------------------------------------------------------------------------------------
# Gold tags from another file
# ---------------------------------------------------------------------------------------------------------


def _word_line(sentence, position: int, format_name: str) -> Optional[int]:
    """The line of a sentence's word: one word a line in CoNLL, the sentence's record line elsewhere."""
    if sentence.line is None:
        return None
    return sentence.line + position if format_name == "conll" else sentence.line


def attach_gold(loaded: LoadedInput, gold_path, input_name: str, options: Optional[FormatOptions] = None) -> None:
    """Gold tags for the documents of ``loaded`` from another file (any word-level format), whose words must
    be the input's words in the same order (sentence breaks may differ: the tags follow the input's sentences).

    A word that differs, or one file ending before the other, is a :class:`NerDataError` naming the gold file's
    line, the word's number, both words, and where the input has it.
    """
    options = options or FormatOptions()
    format_name = guess_format(Path(gold_path))
    sentences = read_sentences(gold_path, format_name, options)
    gold_words = [(word, tag, sentence, position) for sentence in sentences
                  for position, (word, tag) in enumerate(zip(sentence.tokens, sentence.ner_tags))]
    places = [(word, document.id if document.id is not None else count, index)
              for count, document in enumerate(loaded.documents, 1)
              for index, sentence in enumerate(document.sentences, 1) for word, _, _ in sentence]
    for number, ((word, _, sentence, position), (expected, document, index)) in enumerate(zip(gold_words, places), 1):
        if word != expected:
            raise NerDataError(f"word {number} is {word!r} here but {expected!r} in {input_name} (document {document}, "
                               f"sentence {index}): gold and predictions must have the same words", path=str(gold_path),
                               line=_word_line(sentence, position, format_name))
    if len(gold_words) != len(places):
        fewer = "the gold file" if len(gold_words) < len(places) else input_name
        raise NerDataError(f"{len(gold_words)} words here, {len(places)} in {input_name}: {fewer} ends first, after "
                           f"word {min(len(gold_words), len(places))}; gold and predictions must have the same words",
                           path=str(gold_path))
    tags = iter(tag for _, tag, _, _ in gold_words)
    for document in loaded.documents:
        document.gold = [[next(tags) for _ in sentence] for sentence in document.sentences]
    loaded.gold_scheme = PLAIN if options.plain_labels else detect_scheme(sentence.ner_tags for sentence in sentences)
