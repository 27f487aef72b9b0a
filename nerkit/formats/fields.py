"""Which fields of JSON or CSV records hold the words and the tags, and how a tag value becomes a tag.

Used by the JSON/CSV reader (:mod:`nerkit.formats.tabular`): the fields named by the options, else the usual
names (``tokens``, ``ner_tags``; for plain labels also ``pos_tags``, ``tags``, ``labels``), else the one pair of
fields whose values are lists of words and lists of tags of the same lengths.

>>> from nerkit.formats import FormatOptions
>>> choose_fields([{"words": ["Ada"], "labels": ["B-PER"]}], FormatOptions(), Path("x.jsonl"), list)
('words', 'labels')
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, List, Optional, Tuple

from ..errors import NerDataError
from ..labels import TagChecker
from ..schemes import is_tag

META_FIELDS = ("document_id", "id", "sentence_index")
SAMPLE = 20  # records looked at when guessing which fields hold words and tags


def is_int_tag(value) -> bool:
    # CSV cells and some JSON exports give integer ids as digit strings.
    return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and value.isdigit())


def tag_namer(options, path: Path) -> Callable:
    """A function turning a tag value (name or integer id) into a validated tag name."""
    checker = TagChecker(path, options.plain_labels)
    label_list = list(options.label_list) if options.label_list is not None else None

    def to_tag(value):
        if is_int_tag(value):
            if label_list is None:
                raise ValueError(f"integer tags need a label list (--label_list); found tag {value!r}")
            number = int(value)
            if not 0 <= number < len(label_list):
                raise ValueError(f"tag id {number} is outside the label list ({len(label_list)} labels)")
            value = label_list[number]
        problem = checker.problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    return to_tag


def choose_fields(records: List[dict], options, path: Path, as_list: Callable) -> Tuple[str, str]:
    """The fields holding words and tags: the options, else ``tokens``/``ner_tags`` (plain labels: ``pos_tags``,
    ``ner_tags``, ``tags`` or ``labels``, the first there), else the one clear pair."""
    sample = records[:SAMPLE]
    fields = list(dict.fromkeys(name for fields in sample for name in fields))
    for flag, name in (("--text_column_name", options.tokens_field), ("--label_column_name", options.tags_field)):
        if name is not None and name not in fields:
            raise NerDataError(f"no field {name!r} ({flag}); the records have: {', '.join(fields)}", path=str(path))
    tokens_field = options.tokens_field or ("tokens" if "tokens" in fields else None)
    tag_names = ("pos_tags", "ner_tags", "tags", "labels") if options.plain_labels else ("ner_tags",)
    tags_field = options.tags_field or next((name for name in tag_names if name in fields), None)
    if tokens_field and tags_field:
        return tokens_field, tags_field

    columns = {name: _column(sample, name, as_list) for name in fields if name not in META_FIELDS}
    word_fields = [tokens_field] if tokens_field else [n for n, c in columns.items() if c is not None and _looks_like_words(c)]
    tag_fields = [tags_field] if tags_field else [n for n, c in columns.items() if c is not None and _looks_like_tags(c, options.plain_labels)]
    pairs = [
        (w, t)
        for w in word_fields
        for t in tag_fields
        if w != t and (columns.get(w) is None or columns.get(t) is None or all(len(a) == len(b) for a, b in zip(columns[w], columns[t])))
    ]
    if len(pairs) == 1:
        options.report.note(f"{path.name}: words from field {pairs[0][0]!r}, tags from field {pairs[0][1]!r}", "guessed_fields")
        return pairs[0]
    raise NerDataError(
        f"cannot tell which fields hold the words and the tags (fields: {', '.join(fields)}; "
        f"word lists: {', '.join(word_fields) or 'none'}; tag lists: {', '.join(tag_fields) or 'none'}); "
        "name them with --text_column_name and --label_column_name",
        path=str(path),
    )


def _column(sample: List[dict], name: str, as_list: Callable) -> Optional[List[list]]:
    """The field's values as lists over the sample, or None when some record lacks it or it is no list."""
    values = []
    for fields in sample:
        if name not in fields:
            return None
        try:
            values.append(as_list(fields[name]))
        except ValueError:
            return None
    return values


def _looks_like_words(column: List[list]) -> bool:
    items = [item for value in column for item in value]
    return bool(items) and all(isinstance(item, str) and item for item in items) and not _looks_like_tags(column)


def _looks_like_tags(column: List[list], plain: bool = False) -> bool:
    items = [item for value in column for item in value]
    if not items:
        return False
    # Plain labels look like words: only integer ids tell them apart.
    return all(is_int_tag(item) for item in items) or (not plain and all(isinstance(item, str) and is_tag(item) for item in items))
