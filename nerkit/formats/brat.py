"""BRAT standoff folders: ``<id>.txt`` holds a document's text, ``<id>.ann`` its annotations.

Only text-bound annotations become entities::

    T1<TAB>SpecificDisease 15 29<TAB>cystic fibrosis
    T2<TAB>Modifier 40 45;50 56<TAB>colon cancer         (discontinuous: fragments joined by ";")

Reading (documents in sorted id order; the id is the file stem, ``Sentence.text`` the whole document text,
``Sentence.offsets`` into it, ``extra["char_start"]`` / ``extra["char_end"]`` the sentence's span):

- the text is read exactly as stored (no newline conversion, so BRAT's character offsets stay valid) and
  cut into words and sentences by :mod:`nerkit.words`; words are additionally cut at entity boundaries
  next to punctuation (:func:`nerkit.words.cut_words`: "BRCA1-associated" with the entity "BRCA1" gives
  "BRCA1" "-" "associated"), so most such mentions need no adjustment;
- every T mention becomes an entity or is reported in ``options.report`` with its file, line and id;
  nothing is dropped silently. ``counts["T lines"]`` counts them all. Report kinds:
  ``"discontinuous"`` (resolved as the full extent, first start to last end, which keeps a phrase such
  as "colon ... cancer" whole), ``"boundary adjusted"`` (whitespace at the edges trimmed, or a boundary
  between two letters or digits, "disorde|r", or inside a grapheme: extended to the enclosing words), ``"overlap dropped"`` (of two
  overlapping or nested mentions the longer is kept, the earlier on a tie), ``"empty span dropped"``
  (only whitespace), ``"sentences merged"`` (an entity crossed a sentence split; the sentences are
  merged, the entity kept);
- other lines (N normalisations, A attributes, R relations, E events, M, ``#`` notes, ``*``) are ignored and
  counted as ``counts["ignored N lines"]`` and so on;
- a span beyond the text, a surface string that differs from the text at its offsets, or a malformed T
  line is a :class:`NerDataError` naming the ``.ann`` file, the line and the T id; so is an ``.ann`` without
  its ``.txt``. A ``.txt`` without ``.ann`` is a document without entities (noted, kind ``"missing .ann"``).
  Hidden files (names starting with ``.``) are skipped.

Writing: one ``.txt`` / ``.ann`` pair per document (see :func:`nerkit.formats.offsets.group_documents`),
each written atomically. The original text is reused when the sentences carry it; otherwise words are
joined by spaces and sentences by newlines. T lines are numbered T1, T2, ... per document; an entity
whose text spans a line break is written as fragments (``s1 e1;s2 e2``) the way BRAT itself does.
Document ids must be safe file names (letters, digits, ``_ - .``, not starting with ``.``).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Sequence, Tuple

from ..corpus import Sentence
from ..errors import NerDataError
from ..files import atomic_write, decode_text, read_text, safe_join
from ..words import SPACE_CHARS, Word, cut_words, split_words
from .offsets import build_sentences, document_entities, document_text, group_documents

_DIGITS = re.compile(r"[0-9]+")
_SAFE_NAME = re.compile(r"\w[\w.\-]{0,199}")
_LINE_BREAKS = re.compile(r"[^\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+")


@dataclass
class Mention:
    """One T line, and where its span ended up (``start``/``end`` change as it is resolved)."""

    tid: str
    label: str
    fragments: List[Tuple[int, int]]
    line: int
    start: int = 0
    end: int = 0

    def shown(self) -> str:
        return f"{self.tid} {self.label} [{self.start}, {self.end}]"


# ---------------------------------------------------------------------------------------------------------
# Reading.


def _document_ids(folder: Path) -> List[Tuple[str, bool]]:
    """``(id, has .ann)`` for every ``.txt`` of the folder, sorted; an ``.ann`` without ``.txt`` is an error."""
    texts, annotations = set(), set()
    for entry in folder.iterdir():
        name = entry.name
        if name.startswith(".") or not entry.is_file():
            continue
        if name.endswith(".txt"):
            texts.add(name[:-4])
        elif name.endswith(".ann"):
            annotations.add(name[:-4])
    orphans = sorted(annotations - texts)
    if orphans:
        raise NerDataError(f"annotation file without its text file {orphans[0]}.txt", path=str(folder / f"{orphans[0]}.ann"))
    return [(stem, stem in annotations) for stem in sorted(texts)]


def _read_exact_text(path: Path, encoding: str) -> str:
    """The text exactly as BRAT counts it: decoded, but with CRLF and any BOM kept (offsets index them)."""
    try:
        raw = path.read_bytes()  # as stored, not decompressed: the offsets index these characters
    except OSError:
        read_text(path, encoding)  # raises the user-facing error: missing, a folder, permission
        raise
    decode_text(raw, encoding, source=str(path))  # raises the user-facing errors: undecodable, NUL bytes
    return raw.decode(encoding)


def _parse_t_line(line: str, number: int, ann: Path, text: str) -> Mention:
    """A T line checked against the text: offsets inside it and the surface string equal to it."""
    fields = line.split("\t")

    def fail(message: str) -> NerDataError:
        return NerDataError(f"{fields[0]}: {message}", path=str(ann), line=number)

    if len(fields) < 2 or " " not in fields[1]:
        raise fail("malformed T line (expected T<n><TAB><type> <start> <end><TAB><text>)")
    label, _, spans = fields[1].partition(" ")
    fragments = []
    for fragment in spans.split(";"):
        pieces = fragment.split()
        if len(pieces) != 2 or not all(_DIGITS.fullmatch(piece) for piece in pieces):
            raise fail(f"malformed span {fragment!r} (expected <start> <end>)")
        start, end = int(pieces[0]), int(pieces[1])
        if end > len(text):
            raise fail(f"span {start} {end} goes beyond the end of the text ({len(text)} characters)")
        if start >= end:
            raise fail(f"span {start} {end} is empty or reversed")
        fragments.append((start, end))
    if len(fields) > 2:
        surface = "\t".join(fields[2:])
        expected = " ".join(text[start:end] for start, end in fragments)
        if surface != expected and surface.split() != expected.split():
            raise fail(f"the text at {spans} is {expected!r} but the .ann says {surface!r}")
    return Mention(fields[0], label, fragments, number)


def _parse_ann(ann: Path, text: str, options) -> List[Mention]:
    mentions = []
    for number, line in enumerate(read_text(ann, options.encoding).split("\n"), start=1):
        if not line.strip():
            continue
        if line.startswith("T"):
            mentions.append(_parse_t_line(line, number, ann, text))
            options.report.counts["T lines"] += 1
        else:
            options.report.counts[f"ignored {line[0]} lines"] += 1
    return mentions


def _extent(mention: Mention, text: str, ann: Path, options) -> bool:
    """Set the mention's single span (full extent, whitespace trimmed); False when nothing is left."""
    start, end = min(s for s, _ in mention.fragments), max(e for _, e in mention.fragments)
    if len(mention.fragments) > 1:
        spans = ";".join(f"{s} {e}" for s, e in mention.fragments)
        options.report.note(
            f"{ann}:{mention.line}: {mention.tid} discontinuous span {spans} resolved as its full extent "
            f"{start} {end} {text[start:end]!r}",
            kind="discontinuous",
        )
    covered = text[start:end]
    stripped = covered.lstrip(SPACE_CHARS)
    trimmed_start = start + len(covered) - len(stripped)
    trimmed_end = trimmed_start + len(stripped.rstrip(SPACE_CHARS))
    mention.start, mention.end = trimmed_start, trimmed_end
    if trimmed_start == trimmed_end:
        options.report.note(f"{ann}:{mention.line}: {mention.tid} covers only whitespace; dropped", kind="empty span dropped")
        return False
    if (trimmed_start, trimmed_end) != (start, end):
        options.report.note(
            f"{ann}:{mention.line}: {mention.tid} [{start}, {end}] has whitespace at its edges; trimmed to "
            f"[{trimmed_start}, {trimmed_end}]",
            kind="boundary adjusted",
        )
    return True


def _drop_overlaps(mentions: Sequence[Mention], ann: Path, options, why: str = "") -> List[Mention]:
    """Non-overlapping mentions in text order: the longer of two overlapping ones wins, the earlier on a tie."""
    kept_starts: List[int] = []
    kept: List[Mention] = []
    order = sorted(range(len(mentions)), key=lambda i: (-(mentions[i].end - mentions[i].start), mentions[i].start, i))
    for index in order:
        mention = mentions[index]
        position = bisect.bisect_left(kept_starts, mention.start)
        neighbours = kept[max(0, position - 1) : position + 1]
        clash = next((other for other in neighbours if other.start < mention.end and mention.start < other.end), None)
        if clash is not None:
            options.report.note(
                f"{ann}:{mention.line}: {mention.shown()} overlaps {clash.shown()}{why}; dropped, the longer is kept",
                kind="overlap dropped",
            )
            continue
        kept_starts.insert(position, mention.start)
        kept.insert(position, mention)
    return kept


def _align(mentions: Sequence[Mention], words: Sequence[Word], ann: Path, options) -> None:
    """Extend mentions that still start or end inside a word to that word's edges (reported)."""
    starts = [start for _, start, _ in words]
    for mention in mentions:
        first = words[bisect.bisect_right(starts, mention.start) - 1]
        last = words[bisect.bisect_right(starts, mention.end - 1) - 1]
        if (first[1], last[2]) != (mention.start, mention.end):
            options.report.note(
                f"{ann}:{mention.line}: {mention.shown()} is not on word boundaries (inside {first[0]!r} / "
                f"{last[0]!r}); extended to [{first[1]}, {last[2]}]",
                kind="boundary adjusted",
            )
            mention.start, mention.end = first[1], last[2]


def _document(folder: Path, stem: str, has_ann: bool, options) -> List[Sentence]:
    text = _read_exact_text(safe_join(folder, stem + ".txt"), options.encoding)
    ann = safe_join(folder, stem + ".ann")
    mentions: List[Mention] = []
    if has_ann:
        mentions = _parse_ann(ann, text, options)
    else:
        options.report.note(f"{folder / (stem + '.txt')}: no {stem}.ann; a document without entities", kind="missing .ann")
    options.report.counts["documents"] += 1
    mentions = [mention for mention in mentions if _extent(mention, text, ann, options)]
    mentions = _drop_overlaps(mentions, ann, options)
    # Cut words at the entity boundaries first, so that most mentions need no adjustment at all.
    words = cut_words(split_words(text), [offset for m in mentions for offset in (m.start, m.end)])
    if not words:
        options.report.note(f"{folder / (stem + '.txt')}: empty text, no sentences", kind="empty documents")
        return []
    _align(mentions, words, ann, options)
    mentions = _drop_overlaps(mentions, ann, options, why=" after extension to word boundaries")
    entities = [(m.start, m.end, m.label) for m in mentions]
    sentences, crossing = build_sentences(text, words, entities, stem)
    for index in crossing:
        options.report.note(
            f"{ann}:{mentions[index].line}: {mentions[index].shown()} crosses a sentence boundary; sentences merged",
            kind="sentences merged",
        )
    return sentences


def read(path: Path, options) -> Iterator[Sentence]:
    """Sentences of every document of a BRAT folder, documents in sorted id order."""
    folder = Path(path)
    if not folder.is_dir():
        raise NerDataError("expected a BRAT folder of .txt and .ann files", path=str(folder))
    for stem, has_ann in _document_ids(folder):
        yield from _document(folder, stem, has_ann, options)


# ---------------------------------------------------------------------------------------------------------
# Writing.


def _file_names(groups: Sequence[List[Sentence]]) -> List[str]:
    """One safe, unique file stem per document; an error for an id that is not a safe file name."""
    names, seen = [], set()
    for number, group in enumerate(groups, start=1):
        document_id = group[0].document_id
        name = f"document-{number}" if document_id is None else document_id
        if not _SAFE_NAME.fullmatch(name):
            raise NerDataError(
                f"document id {name!r} is not a safe file name (letters, digits, _ - . only, not starting with '.')",
                where=f"document {number}",
            )
        if name.lower() in seen:
            raise NerDataError(f"two documents would both be written to {name}.txt", where=f"document {number}")
        seen.add(name.lower())
        names.append(name)
    return names


def _t_line(number: int, text: str, start: int, end: int, label: str) -> str:
    """``T<n>\\t<label> <spans>\\t<surface>``; a span across line breaks becomes one fragment per line."""
    if any(character in SPACE_CHARS for character in label):
        raise NerDataError(f"entity type {label!r} contains whitespace, which BRAT cannot store")
    fragments = []
    for match in _LINE_BREAKS.finditer(text, start, end):
        piece = match.group()
        stripped = piece.strip(SPACE_CHARS)
        if stripped:
            fragment_start = match.start() + piece.index(stripped)
            fragments.append((fragment_start, fragment_start + len(stripped)))
    spans = ";".join(f"{s} {e}" for s, e in fragments)
    surface = " ".join(text[s:e] for s, e in fragments)
    return f"T{number}\t{label} {spans}\t{surface}\n"


def write(sentences: List[Sentence], path: Path, options) -> None:
    """A BRAT folder with one ``<document_id>.txt`` / ``.ann`` pair per document."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise NerDataError("BRAT output must be a folder, and this is a file", path=str(folder))
    groups = group_documents(sentences)
    for name, group in zip(_file_names(groups), groups):
        text, offsets, reused = document_text(group)
        if not reused:
            text += "\n"
        entities = document_entities(group, offsets)
        annotation = "".join(_t_line(n, text, s, e, label) for n, (s, e, label) in enumerate(entities, start=1))
        with atomic_write(safe_join(folder, name + ".txt"), encoding=options.encoding) as stream:
            stream.write(text)
        with atomic_write(safe_join(folder, name + ".ann"), encoding=options.encoding) as stream:
            stream.write(annotation)
