"""CoNLL / IOB column files: one word per line, blank lines between sentences, ``-DOCSTART-`` between documents.

Any number of columns, separated by runs of spaces/TABs (``options.delimiter`` None) or by exactly one
``"\\t"`` / ``" "``; the word is in ``options.token_column`` (default 0) and the tag in
``options.tag_column`` (default -1, the last column)::

    -DOCSTART- -X- -X- O

    EU NNP B-NP B-ORG
    rejects VBZ B-VP O

Documents: every ``-DOCSTART-`` line opens a new document, numbered ``doc-0001``, ``doc-0002``, ... in file
order (counting only documents that hold a sentence, so a write/read round trip gives the same ids).
Sentences before the first ``-DOCSTART-`` (or in a file without any) have ``document_id`` None. CoNLL cannot
store document *names*: writing ids that are not this counter keeps the grouping, not the names (noted in
``options.report``).

>>> import tempfile, pathlib
>>> from nerkit.formats import FormatOptions
>>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny.conll"
>>> _ = path.write_text("-DOCSTART- O\\n\\nAda B-PER\\nwrote O\\n\\nShe O\\n")
>>> [(s.document_id, s.tokens, s.line) for s in read(path, FormatOptions())]
[('doc-0001', ['Ada', 'wrote'], 3), ('doc-0001', ['She'], 6)]
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, Optional

from ..corpus import Sentence, number_sentences
from ..errors import NerDataError
from ..files import atomic_write, iter_lines
from ..labels import TagChecker, bad_tag_message
from ..schemes import is_label

DOCSTART = "-DOCSTART-"
_SPACES = re.compile(r"[ \t]+")
# What the reader treats as structure: a word holding one of these could not be read back as one word.
_UNWRITABLE = re.compile(r"[ \t\r\n]")


def document_name(number: int) -> str:
    """The id of the ``number``-th document (1-based) of a CoNLL file: ``doc-0001``."""
    return f"doc-{number:04d}"


def _splitter(delimiter: Optional[str]) -> Callable[[str], List[str]]:
    if delimiter is None:
        return lambda line: _SPACES.split(line.strip(" \t"))
    return lambda line: line.split(delimiter)


def _column_name(index: int) -> str:
    return f"column {index}" if index >= 0 else f"column {index} (counted from the end)"


def read(path: Path, options) -> Iterator[Sentence]:
    """Sentences of a CoNLL file, each with its document id, index in the document and first line.

    Blank or whitespace-only lines (WNUT-17 separates sentences with a lone TAB) end a sentence; several in a
    row are one break. Every token line must have as many columns as the first one.
    """
    return number_sentences(_read_sentences(Path(path), options))


def _read_sentences(path: Path, options) -> Iterator[Sentence]:
    split = _splitter(options.delimiter)
    token_column, tag_column = options.token_column, options.tag_column
    check_tag = TagChecker(path, options.plain_labels)
    width = width_line = None
    documents, document_id, in_new_document = 0, None, False
    tokens: List[str] = []
    tags: List[str] = []
    start = 0
    found = docstarts = 0

    for number, line in enumerate(iter_lines(path, options.encoding), 1):
        if not line.strip():
            if tokens:
                yield Sentence(tokens, tags, document_id=document_id, line=start)
                found += 1
                tokens, tags = [], []
            continue
        columns = split(line)
        if columns[0] == DOCSTART:
            # A boundary even when no blank line separates it from the sentence above.
            if tokens:
                yield Sentence(tokens, tags, document_id=document_id, line=start)
                found += 1
                tokens, tags = [], []
            docstarts += 1
            in_new_document = True
            continue
        if width is None:
            _check_columns_exist(columns, token_column, tag_column, path, number)
            width, width_line = len(columns), number
        elif len(columns) != width:
            raise NerDataError(
                f"expected {width} columns (like line {width_line}), got {len(columns)}: {line.strip()!r}",
                path=str(path),
                line=number,
            )
        token = columns[token_column]
        if not token:
            raise NerDataError("empty word (two delimiters in a row?)", path=str(path), line=number)
        if not tokens:
            start = number
            if in_new_document:
                documents += 1
                document_id, in_new_document = document_name(documents), False
        tokens.append(token)
        tags.append(check_tag(columns[tag_column], number))

    if tokens:
        yield Sentence(tokens, tags, document_id=document_id, line=start)
        found += 1
    if not found:
        what = f"only {docstarts} -DOCSTART- line(s) and no sentence" if docstarts else "no sentence (empty file)"
        raise NerDataError(f"{what}: expected word/tag lines", path=str(path))


def _check_columns_exist(columns: List[str], token_column: int, tag_column: int, path: Path, line: int) -> None:
    for option, index in (("token_column", token_column), ("tag_column", tag_column)):
        if not -len(columns) <= index < len(columns):
            raise NerDataError(
                f"line has {len(columns)} column(s) but --{option} selects {_column_name(index)}",
                path=str(path),
                line=line,
            )


def write(sentences: Iterable[Sentence], path: Path, options) -> None:
    """Write ``word TAG`` lines (TAB-separated when ``options.delimiter == "\\t"``), a blank line after each
    sentence and a ``-DOCSTART- O`` line (plus blank line) wherever the document changes; each sentence as it
    comes, so memory does not grow with the corpus.

    Refuses words or tags holding spaces, TABs or line breaks, and the word ``-DOCSTART-``: the file could
    not be read back as the same sentences.
    """
    path = Path(path)
    delimiter = "\t" if options.delimiter == "\t" else " "
    previous = object()  # no document yet: even a first document_id of None differs from it
    documents = 0
    renamed = orphaned = skipped = 0
    try:
        with atomic_write(path, encoding=options.encoding) as stream:
            for position, sentence in enumerate(sentences):
                if not sentence.tokens:
                    skipped += 1
                    continue
                _check_writable(sentence, position, path, options.plain_labels)
                lines: List[str] = []
                if sentence.document_id != previous:
                    if sentence.document_id is not None:
                        documents += 1
                        renamed += sentence.document_id != document_name(documents)
                        lines.extend((f"{DOCSTART}{delimiter}O", ""))
                    elif documents:
                        orphaned += 1  # will be read back as part of the document above it
                    previous = sentence.document_id
                if position - skipped == 0 and sentence.tokens[0].startswith("\ufeff") and not lines:
                    # Readers strip one BOM at the start of a file: a first word that starts with one keeps it
                    # behind ours.
                    stream.write("\ufeff")
                lines.extend(f"{token}{delimiter}{tag}" for token, tag in zip(sentence.tokens, sentence.ner_tags))
                stream.write("".join(line + "\n" for line in lines) + "\n")
    except UnicodeEncodeError as error:
        raise NerDataError(f"cannot encode {error.object[error.start:error.end]!r} as {options.encoding}", path=str(path)) from None
    _note_losses(options, renamed, orphaned, skipped)


def _check_writable(sentence: Sentence, position: int, path: Path, plain: bool = False) -> None:
    where = f"sentence {position + 1}" + (f" of document {sentence.document_id}" if sentence.document_id else "")
    if len(sentence.tokens) != len(sentence.ner_tags):
        raise NerDataError(f"{len(sentence.tokens)} words but {len(sentence.ner_tags)} tags", path=str(path), where=where)
    for token, tag in zip(sentence.tokens, sentence.ner_tags):
        if not token or _UNWRITABLE.search(token) or token == DOCSTART:
            raise NerDataError(
                f"word {token!r} cannot be written to a CoNLL file (empty, whitespace inside, or -DOCSTART-)",
                path=str(path),
                where=where,
            )
        if _UNWRITABLE.search(tag) or not is_label(tag, plain):
            raise NerDataError(bad_tag_message(tag, plain), path=str(path), where=where)


def _note_losses(options, renamed: int, orphaned: int, skipped: int) -> None:
    report = options.report
    if renamed:
        report.note("conll keeps document boundaries but not document names: documents are written as doc-0001, doc-0002, ...", "conll_document_names")
    if orphaned:
        report.note(f"conll: {orphaned} run(s) of sentences without a document follow a document and will read back as part of it", "conll_orphan_sentences")
    if skipped:
        report.note(f"conll: skipped {skipped} empty sentence(s)", "empty_sentences")
