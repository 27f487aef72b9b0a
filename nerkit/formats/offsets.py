"""spaCy-style character-offset entities: one JSON object per line with the raw text and its entity spans.

::

    {"id": "doc1", "text": "Ada Lovelace met Babbage.", "entities": [[0, 12, "PER"], [17, 24, "PER"]]}

Entities may also be objects ``{"start": 0, "end": 12, "label": "PER"}``; a line may also be spaCy v2's
training tuple ``["text", {"entities": [...]}]``, and the whole file may be one JSON list of such records.
``"id"`` (or ``"document_id"``) becomes the document id; without one a line's id is ``line-<n>``.

Reading: each line is one document. Its text is cut into words and sentences by :mod:`nerkit.words`; every
``Sentence`` keeps the document's full text in ``Sentence.text`` and its words' spans into it in
``Sentence.offsets`` (``extra["char_start"]`` / ``extra["char_end"]`` give the sentence's own span). Tags
are IOB2. Sentences are never split inside an entity: where the splitter would, the sentences are merged
and the merge is noted in ``options.report`` (kind ``"sentences merged"``). Anything else wrong with an
entity is an error naming the file, the line and the entity as ``[start, end, label]``: offsets outside
the text, a start or end between two letters or digits of a word (the word is named; most likely an
off-by-one) or on whitespace, overlapping entities, a label that is not a non-empty string. A label
with white space (Label Studio's "Titre 2") becomes the tag type ``Titre%202``
(:func:`nerkit.schemes.tag_safe_type`, noted in the report) and is written back as it was. A boundary next to punctuation inside a word is fine: the word is cut there
(:func:`nerkit.words.cut_words`, "BRCA1|-associated"), exactly as the BRAT reader does, so BRAT converted
to offsets reads back. Invalid JSON and a missing ``"text"`` are errors.

Writing: one line per document (sentences grouped by ``document_id`` in order of first appearance; a
sentence without a document id is a document of its own). When the sentences carry the text and offsets
they were read with, that text and those offsets are written back unchanged, so offsets -> sentences ->
offsets gives the same text and entities. Otherwise the text is rebuilt: words joined by one space,
sentences joined by a newline (so that reading it again finds the same sentence boundaries).

>>> from nerkit.corpus import Sentence
>>> text, offsets, _ = document_text([Sentence(["Ada", "met", "Bob"], ["B-PER", "O", "B-PER"])])
>>> text, document_entities([Sentence(["Ada", "met", "Bob"], ["B-PER", "O", "B-PER"])], offsets)
('Ada met Bob', [(0, 3, 'PER'), (8, 11, 'PER')])
"""

from __future__ import annotations

import bisect
import json
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from ..corpus import Offset, Sentence
from ..errors import NerDataError
from ..files import atomic_write, read_text
from ..schemes import IOB2, get_spans, original_type, tag_safe_type
from ..words import SPACE_CHARS, Word, cut_words, split_sentences, split_words
from .json_records import json_records

CharEntity = Tuple[int, int, str]  # (start, end exclusive, label) in characters

# ---------------------------------------------------------------------------------------------------------
# Shared with the BRAT reader and writer: entities on words -> sentences, and sentences -> text + entities.


def merge_crossing(spans: Sequence[Offset], entities: Sequence[Offset]) -> Tuple[List[Offset], List[int]]:
    """Sentence spans merged so that no entity crosses a boundary, and the indices of entities that did.

    >>> merge_crossing([(0, 5), (6, 9), (10, 12)], [(3, 8), (10, 11)])
    ([(0, 9), (10, 12)], [0])
    """
    starts = [start for start, _ in spans]
    reach = list(range(len(spans)))  # reach[i]: the last sentence that sentence i must be merged with
    crossing = []
    for index, (start, end) in enumerate(entities):
        first = bisect.bisect_right(starts, start) - 1
        last = bisect.bisect_right(starts, end - 1) - 1
        if first != last:
            crossing.append(index)
            reach[first] = max(reach[first], last)
    merged: List[Offset] = []
    i = 0
    while i < len(spans):
        last, j = reach[i], i
        while j <= last:
            last = max(last, reach[j])
            j += 1
        merged.append((spans[i][0], spans[last][1]))
        i = last + 1
    return merged, crossing


def build_sentences(
    text: str,
    words: Sequence[Word],
    entities: Sequence[CharEntity],
    document_id: Optional[str],
    line: Optional[int] = None,
) -> Tuple[List[Sentence], List[int]]:
    """IOB2-tagged sentences of one document, and the indices of the entities that crossed a sentence split.

    ``entities`` must start at a word's start and end at a word's end and must not overlap (readers check
    that first). Each sentence gets the full ``text`` and its words' offsets into it.

    >>> text = "Ada slept. Bob Smith woke."
    >>> sentences, crossing = build_sentences(text, split_words(text), [(11, 20, "PER")], "d")
    >>> [(s.tokens, s.ner_tags) for s in sentences]
    [(['Ada', 'slept', '.'], ['O', 'O', 'O']), (['Bob', 'Smith', 'woke', '.'], ['B-PER', 'I-PER', 'O', 'O'])]
    """
    spans, crossing = merge_crossing(split_sentences(text), [(start, end) for start, end, _ in entities])
    first_word = {start: index for index, (_, start, _) in enumerate(words)}
    last_word = {end: index for index, (_, _, end) in enumerate(words)}
    word_spans = [(label, first_word[start], last_word[end] + 1) for start, end, label in entities]
    tags = IOB2.encode(word_spans, len(words))
    word_starts = [start for _, start, _ in words]
    sentences = []
    for start, end in spans:
        low, high = bisect.bisect_left(word_starts, start), bisect.bisect_left(word_starts, end)
        if low == high:
            continue
        sentences.append(
            Sentence(
                tokens=[word for word, _, _ in words[low:high]],
                ner_tags=tags[low:high],
                document_id=document_id,
                sentence_index=len(sentences),
                text=text,
                offsets=[(s, e) for _, s, e in words[low:high]],
                line=line,
                extra={"char_start": start, "char_end": end},
            )
        )
    return sentences, crossing


def group_documents(sentences: Sequence[Sentence]) -> List[List[Sentence]]:
    """Sentences grouped by ``document_id`` in order of first appearance; ``None`` ids stay alone."""
    groups: Dict[Any, List[Sentence]] = {}
    for position, sentence in enumerate(sentences):
        key = ("id", sentence.document_id) if sentence.document_id is not None else ("alone", position)
        groups.setdefault(key, []).append(sentence)
    return list(groups.values())


def _carries_text(group: Sequence[Sentence]) -> bool:
    """Do all sentences share one text, with offsets that still spell their tokens?"""
    text = group[0].text
    if text is None:
        return False
    for sentence in group:
        if sentence.text is not text and sentence.text != text:
            return False
        if sentence.offsets is None or len(sentence.offsets) != len(sentence.tokens):
            return False
        if any(text[start:end] != token for token, (start, end) in zip(sentence.tokens, sentence.offsets)):
            return False
    return True


def document_text(group: Sequence[Sentence]) -> Tuple[str, List[List[Offset]], bool]:
    """The text of one document, each sentence's word offsets into it, and whether the text was reused.

    Rebuilt text joins words with one space and sentences with a newline.
    """
    if _carries_text(group):
        return group[0].text, [list(sentence.offsets) for sentence in group], True
    parts: List[str] = []
    offsets: List[List[Offset]] = []
    position = 0
    for sentence in group:
        sentence_offsets = []
        if sentence.tokens:
            if parts:
                parts.append("\n")
                position += 1
            for index, token in enumerate(sentence.tokens):
                if index:
                    parts.append(" ")
                    position += 1
                parts.append(token)
                sentence_offsets.append((position, position + len(token)))
                position += len(token)
        offsets.append(sentence_offsets)
    return "".join(parts), offsets, False


def document_entities(group: Sequence[Sentence], offsets: Sequence[Sequence[Offset]]) -> List[CharEntity]:
    """Character-offset entities ``(start, end, label)`` of one document, from each sentence's tags."""
    entities: List[CharEntity] = []
    for sentence, sentence_offsets in zip(group, offsets):
        try:
            spans = get_spans(sentence.ner_tags)
        except ValueError as error:
            raise NerDataError(str(error), where=f"document {sentence.document_id!r}") from None
        for label, first, end in spans:
            entities.append((sentence_offsets[first][0], sentence_offsets[end - 1][1], label))
    return entities


# ---------------------------------------------------------------------------------------------------------
# Reading.


def _show(start: Any, end: Any, label: Any) -> str:
    return json.dumps([start, end, label], ensure_ascii=False)


def _unpack(record: Any, fail) -> Tuple[str, list, Optional[str]]:
    """``(text, raw entities, document id)`` of one record, in either of the accepted shapes."""
    if isinstance(record, list) and len(record) == 2 and isinstance(record[1], dict):
        text, annotations = record[0], record[1]
    elif isinstance(record, dict):
        text, annotations = record.get("text"), record
    else:
        raise fail('expected an object with "text" and "entities"')
    if text is None:
        raise fail('missing "text"')
    if not isinstance(text, str):
        raise fail('"text" is not a string')
    entities = annotations.get("entities", [])
    if not isinstance(entities, list):
        raise fail('"entities" is not a list')
    document_id = annotations.get("id", annotations.get("document_id"))
    if document_id is not None and (isinstance(document_id, bool) or not isinstance(document_id, (str, int))):
        raise fail('"id" is not a string or a number')
    return text, entities, None if document_id is None else str(document_id)


def _entity(raw: Any, text: str, fail) -> CharEntity:
    """One entity, checked on its own: shape, types, range, label, not only whitespace."""
    if isinstance(raw, dict) and {"start", "end", "label"} <= raw.keys():
        start, end, label = raw["start"], raw["end"], raw["label"]
    elif isinstance(raw, list) and len(raw) == 3:
        start, end, label = raw
    else:
        raise fail(f'entity {json.dumps(raw, ensure_ascii=False)} is not [start, end, label] or {{"start", "end", "label"}}')
    shown = _show(start, end, label)
    if not all(isinstance(value, int) and not isinstance(value, bool) for value in (start, end)):
        raise fail(f"entity {shown}: start and end must be integers")
    if not isinstance(label, str):
        raise fail(f"entity {shown}: the label is not a string")
    if not label.strip():
        raise fail(f"entity {shown}: the label is empty")
    if not 0 <= start <= len(text) or not 0 <= end <= len(text):
        raise fail(f"entity {shown} is outside the text (length {len(text)})")
    if start >= end:
        raise fail(f"entity {shown} is empty or reversed (start must be before end)")
    if not text[start:end].strip(SPACE_CHARS):
        raise fail(f"entity {shown} covers only whitespace")
    return start, end, label


def _check_on_words(entity: CharEntity, words: Sequence[Word], starts: Sequence[int], fail) -> None:
    """An error naming the word an entity starts or ends inside of (or the whitespace it starts or ends on).

    ``starts`` are the words' start offsets (for bisection).
    """
    start, end, label = entity
    for offset, side in ((start, "starts"), (end, "ends")):
        # the word holding the entity's first character, or its last one
        index = bisect.bisect_right(starts, offset if side == "starts" else offset - 1) - 1
        word, word_start, word_end = words[index] if index >= 0 else ("", -1, -1)
        inside_word = word_start <= (offset if side == "starts" else offset - 1) < word_end
        if not inside_word:
            raise fail(f"entity {_show(start, end, label)} {side} on whitespace")
        if (side == "starts" and offset != word_start) or (side == "ends" and offset != word_end):
            raise fail(
                f"entity {_show(start, end, label)} {side} inside the word {word!r} "
                f"[{word_start}, {word_end}] (a boundary may fall next to punctuation inside a word, not between two letters or digits)"
            )


def _tag_safe(label: str, options) -> str:
    """The label as a tag type (:func:`nerkit.schemes.tag_safe_type`), each label mapped noted once."""
    safe = tag_safe_type(label)
    if safe != label:
        note = f"label {label!r} is the tag type {safe!r} (written back as {label!r} to offsets and the tools' formats)"
        if note not in options.report.notes:
            options.report.note(note, kind="labels mapped")
    return safe


def entity_sentences(
    text: str,
    raw_entities: Sequence[Any],
    document_id: Optional[str],
    fail: Callable[[str], NerDataError],
    where: str,
    options,
    words: Optional[Sequence[Word]] = None,
    line: Optional[int] = None,
) -> List[Sentence]:
    """The sentences of one document from its text and raw ``[start, end, label]`` entities, all checked.

    Shared by every character-offset reader. ``fail`` makes the error for this document, ``where`` names it
    in the read report. A document without an id (None) gets ``line-<line>``, marked ``extra["generated_id"]``
    so that writers leave it out. ``words`` are the tool's own words (Prodigy's tokens), else the text is split by
    :mod:`nerkit.words` and cut at entity boundaries next to punctuation ("BRCA1|-associated", as for BRAT).
    """
    entities = sorted((_entity(raw, text, fail) for raw in raw_entities), key=lambda e: (e[0], e[1]))
    for previous, current in zip(entities, entities[1:]):
        if current[0] < previous[1]:
            raise fail(f"entity {_show(*current)} overlaps entity {_show(*previous)}")
    entities = [(start, end, _tag_safe(label, options)) for start, end, label in entities]
    if words is None:
        words = cut_words(split_words(text), [offset for start, end, _ in entities for offset in (start, end)])
    starts = [start for _, start, _ in words]
    for entity in entities:
        _check_on_words(entity, words, starts, fail)
    if not words:
        options.report.note(f"{where}: empty text, no sentences", kind="empty documents")
        return []
    sentences, crossing = build_sentences(text, words, entities, document_id or f"line-{line}", line=line)
    for index in crossing:
        options.report.note(
            f"{where}: entity {_show(*entities[index])} crosses a sentence boundary; sentences merged",
            kind="sentences merged",
        )
    if document_id is None:
        for sentence in sentences:
            sentence.extra["generated_id"] = True
    return sentences


def _document(path: Path, line: int, record: Any, options) -> List[Sentence]:
    def fail(message: str) -> NerDataError:
        return NerDataError(message, path=str(path), line=line)

    text, raw_entities, document_id = _unpack(record, fail)
    return entity_sentences(text, raw_entities, document_id, fail, f"{path}:{line}", options, line=line)


def read(path: Path, options) -> Iterator[Sentence]:
    """Sentences of an offsets JSON lines file (or JSON list), document by document."""
    content = read_text(path, options.encoding)
    for line, record in json_records(path, content):
        yield from _document(path, line, record, options)


# ---------------------------------------------------------------------------------------------------------
# Writing.


def entity_documents(sentences: Sequence[Sentence]) -> Iterator[Tuple[Optional[str], str, List[CharEntity], List[List[Offset]]]]:
    """``(document id, text, entities, each sentence's word offsets)`` per document, for every offsets writer.

    The id is None when the document had none (or reading made one up). Labels are as the tools hold them
    (:func:`nerkit.schemes.original_type`: ``Titre%202`` -> ``Titre 2``).
    """
    for group in group_documents(sentences):
        text, offsets, _ = document_text(group)
        document_id = group[0].document_id
        if group[0].extra.get("generated_id"):
            document_id = None
        entities = [(start, end, original_type(label)) for start, end, label in document_entities(group, offsets)]
        yield document_id, text, entities, offsets


def write_json_lines(records: Iterable[Dict[str, Any]], path: Path, options) -> None:
    """One JSON object per line, atomically."""
    lines = [json.dumps(record, ensure_ascii=False) + "\n" for record in records]
    with atomic_write(path, encoding=options.encoding) as stream:
        stream.write("".join(lines))


def write(sentences: List[Sentence], path: Path, options) -> None:
    """One JSON line ``{"id", "text", "entities"}`` per document (ids that reading made up are left out)."""
    records = []
    for document_id, text, entities, _ in entity_documents(sentences):
        record: Dict[str, Any] = {} if document_id is None else {"id": document_id}
        record["text"] = text
        record["entities"] = [[start, end, label] for start, end, label in entities]
        records.append(record)
    write_json_lines(records, path, options)
