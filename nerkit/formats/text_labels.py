"""NeMo / TAO token-classification pairs: ``text*.txt`` holds one sentence per line, words separated by spaces;
its partner ``labels*.txt`` holds one tag per word on the same line number::

    text_train.txt    Ada Lovelace wrote the first program
    labels_train.txt  B-PER I-PER O O O O

``text.txt`` pairs with ``labels.txt``, ``text_train.txt`` with ``labels_train.txt``. The format has no
documents: ``document_id`` is None when reading, and writing a corpus with documents keeps its sentences but
not the boundaries (noted in ``options.report``). ``label_ids.csv`` (one label per line, line number = id,
``O`` first) is written by :func:`write_label_ids`.

>>> import tempfile, pathlib
>>> from nerkit.formats import FormatOptions
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "text.txt").write_text("Ada wrote\\nShe did\\n")
>>> _ = (folder / "labels.txt").write_text("B-PER O\\nO O\\n")
>>> [(s.tokens, s.ner_tags, s.line) for s in read(folder / "text.txt", FormatOptions())]
[(['Ada', 'wrote'], ['B-PER', 'O'], 1), (['She', 'did'], ['O', 'O'], 2)]
"""

from __future__ import annotations

from itertools import zip_longest
from pathlib import Path
from typing import Iterable, Iterator, List, Tuple

from ..corpus import Sentence, number_sentences
from ..errors import NerDataError
from ..files import atomic_write, iter_lines, read_lines
from ..labels import TagChecker, bad_tag_message
from ..schemes import is_label

TEXT_PREFIX, LABELS_PREFIX = "text", "labels"


def partner_paths(path) -> Tuple[Path, Path]:
    """``(text file, labels file)`` for a path naming either one of a pair, or a folder holding one pair.

    >>> partner_paths("data/text_train.txt")
    (PosixPath('data/text_train.txt'), PosixPath('data/labels_train.txt'))
    """
    path = Path(path)
    if path.is_dir():
        return partner_paths(_single_text_file(path))
    name = path.name
    if name.startswith(TEXT_PREFIX):
        return path, path.with_name(LABELS_PREFIX + name[len(TEXT_PREFIX):])
    if name.startswith(LABELS_PREFIX):
        return path.with_name(TEXT_PREFIX + name[len(LABELS_PREFIX):]), path
    raise NerDataError(
        "text_labels files are named text*.txt with a labels*.txt partner (text_train.txt + labels_train.txt)",
        path=str(path),
    )


def _single_text_file(folder: Path) -> Path:
    candidates = sorted(p for p in folder.glob(f"{TEXT_PREFIX}*.txt") if p.is_file())
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise NerDataError("no text*.txt file in this folder", path=str(folder))
    names = ", ".join(p.name for p in candidates)
    raise NerDataError(f"several text files ({names}): name one, or read the folder as train/validation/test splits", path=str(folder))


def read(path: Path, options) -> Iterator[Sentence]:
    """Sentences of a ``text*.txt`` + ``labels*.txt`` pair; ``Sentence.line`` is the shared line number.

    A line blank in both files is skipped; trailing blank lines do not count. Both files are read a line at a
    time, side by side, so memory does not grow with them.
    """
    text_path, labels_path = partner_paths(path)
    if not labels_path.exists():
        raise NerDataError(f"labels file {labels_path.name} not found beside {text_path.name}", path=str(labels_path))
    return number_sentences(_pairs(text_path, labels_path, options))


def _pairs(text_path: Path, labels_path: Path, options) -> Iterator[Sentence]:
    check_tag = TagChecker(labels_path, options.plain_labels)
    lines = zip_longest(iter_lines(text_path, options.encoding), iter_lines(labels_path, options.encoding), fillvalue="")
    pairs = enumerate(lines, 1)
    last_lines = [0, 0]  # each file's last non-blank line so far: its length without trailing blank lines
    skipped = blank_run = 0
    for number, (text, labels) in pairs:
        tokens, tags = text.split(), labels.split()
        if not tokens and not tags:
            blank_run += 1  # skipped, unless only trailing blank lines follow
            continue
        last_lines = [number if tokens else last_lines[0], number if tags else last_lines[1]]
        if len(tokens) != len(tags):
            raise _mismatch(pairs, last_lines, number, len(tokens), len(tags), text_path, labels_path)
        skipped, blank_run = skipped + blank_run, 0
        yield Sentence(tokens, [check_tag(tag, number) for tag in tags], line=number)
    if skipped:
        options.report.note(f"{labels_path.name}: skipped {skipped} blank line(s)", "empty_sentences")


def _mismatch(pairs: Iterator[Tuple[int, Tuple[str, str]]], last_lines: List[int], number: int, words: int, labels: int,
              text_path: Path, labels_path: Path) -> NerDataError:
    """The error for a line whose words and labels differ in number: the files' line counts when those differ
    (read on to the end to count them), since one missing line shifts every line after it; else this line's."""
    for later, (text, label_line) in pairs:
        last_lines = [later if text.strip() else last_lines[0], later if label_line.strip() else last_lines[1]]
    if last_lines[0] != last_lines[1]:
        return NerDataError(
            f"{text_path.name} has {last_lines[0]} lines but {labels_path.name} has {last_lines[1]}; "
            "they need one line per sentence each",
            path=str(labels_path),
        )
    return NerDataError(f"{labels} labels for {words} words on this line of {labels_path.name}", path=str(labels_path), line=number)


def write(sentences: Iterable[Sentence], path: Path, options) -> None:
    """Write ``path`` (a ``text*.txt`` name) and its ``labels*.txt`` partner, each atomically, a sentence at a time.

    Words must be free of whitespace (NeMo splits lines on it). Empty sentences are left out, since a blank
    line is no sentence; document boundaries are lost (both noted in ``options.report``).
    """
    text_path, labels_path = partner_paths(path)
    empty = documents = 0
    previous_document = None
    with atomic_write(text_path, encoding=options.encoding) as text_stream, \
            atomic_write(labels_path, encoding=options.encoding) as labels_stream:
        for position, sentence in enumerate(sentences):
            if sentence.document_id is not None and sentence.document_id != previous_document:
                documents += 1
            previous_document = sentence.document_id
            if not sentence.tokens:
                empty += 1
                continue
            _check_writable(sentence, position, text_path, options.plain_labels)
            text_stream.write(" ".join(sentence.tokens) + "\n")
            labels_stream.write(" ".join(sentence.ner_tags) + "\n")
    _note_losses(documents, empty, options)


def _check_writable(sentence: Sentence, position: int, path: Path, plain: bool = False) -> None:
    where = f"sentence {position + 1}"
    if len(sentence.tokens) != len(sentence.ner_tags):
        raise NerDataError(f"{len(sentence.tokens)} words but {len(sentence.ner_tags)} tags", path=str(path), where=where)
    for token, tag in zip(sentence.tokens, sentence.ner_tags):
        if token.split() != [token]:
            raise NerDataError(f"word {token!r} is empty or holds whitespace: NeMo text files cannot keep it", path=str(path), where=where)
        if not is_label(tag, plain) or tag.split() != [tag]:
            raise NerDataError(bad_tag_message(tag, plain), path=str(path), where=where)


def _note_losses(documents: int, empty: int, options) -> None:
    if documents:
        options.report.note(
            f"text_labels cannot represent document boundaries: {documents} document(s) written as plain sentences",
            "lost_documents",
        )
    if empty:
        options.report.note(f"text_labels: left out {empty} empty sentence(s)", "empty_sentences")


def write_label_ids(labels: Iterable[str], path, plain: bool = False) -> List[str]:
    """Write NeMo's ``label_ids.csv``: one label per line, line number = id, ``O`` first, the rest sorted
    (NeMo's ``create_label_ids`` order; NeMo pads with ``O``, so plain label sets get it too). Returns the
    labels in file order.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "label_ids.csv"
    >>> write_label_ids(["I-PER", "B-PER", "O", "B-PER"], path)
    ['O', 'B-PER', 'I-PER']
    """
    labels = set(labels)
    for label in labels:
        if not is_label(label, plain):
            raise NerDataError(bad_tag_message(label, plain), path=str(path))
    ordered = ["O"] + sorted(labels - {"O"})
    with atomic_write(path) as stream:
        stream.write("".join(label + "\n" for label in ordered))
    return ordered


def read_label_ids(path) -> List[str]:
    """The labels of a ``label_ids.csv`` in id order (blank lines are an error: they would shift the ids)."""
    lines = read_lines(path)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            raise NerDataError("blank line in a label ids file (it would shift every id after it)", path=str(path), line=number)
    return [line.strip() for line in lines]
