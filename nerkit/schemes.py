"""Tagging schemes: IOB1, IOB2 (BIO) and BIOES, as small classes over one shared notion of a span.

A tag is ``O`` or ``P-TYPE`` with ``P`` one of ``B I E S`` (upper case) and a non-empty type, which may itself
contain dashes (``B-creative-work``). Every scheme decodes any tag sequence the way conlleval does, so
``I-X`` after ``O`` still opens an entity; re-encoding the decoded spans gives the valid sequence, and the
number of tags that changed is the number of *repairs*.

>>> IOB2.encode([("PER", 0, 2), ("LOC", 3, 4)], 4)
['B-PER', 'I-PER', 'O', 'B-LOC']
>>> convert(["I-PER", "I-PER", "O", "I-LOC"], "iob1", "bioes")
['B-PER', 'E-PER', 'O', 'S-LOC']
>>> repair(["O", "I-ORG", "I-ORG"], "iob2")
(['O', 'B-ORG', 'I-ORG'], 1)
"""

from __future__ import annotations

from collections import Counter
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

Span = Tuple[str, int, int]  # (type, start word, end word exclusive)

PREFIXES = ("B", "I", "E", "S")


def split_tag(tag: str) -> Tuple[str, Optional[str]]:
    """``'B-PER'`` -> ``('B', 'PER')``; ``'O'`` -> ``('O', None)``; ValueError for anything else.

    >>> split_tag("I-creative-work")
    ('I', 'creative-work')
    """
    if tag == "O":
        return "O", None
    if len(tag) > 2 and tag[1] == "-" and tag[0] in PREFIXES and tag[2:].strip() == tag[2:]:
        return tag[0], tag[2:]
    raise ValueError(f"{tag!r} is not a tag (expected O or B-/I-/E-/S- followed by a type)")


def is_tag(tag: str) -> bool:
    try:
        split_tag(tag)
    except ValueError:
        return False
    return True


def get_spans(tags: Sequence[str]) -> List[Span]:
    """Entity spans of any tag sequence, read the tolerant conlleval way (works for every scheme).

    >>> get_spans(["B-PER", "I-PER", "B-PER", "O", "I-LOC", "E-LOC", "S-ORG"])
    [('PER', 0, 2), ('PER', 2, 3), ('LOC', 4, 6), ('ORG', 6, 7)]
    """
    spans: List[Span] = []
    start: Optional[int] = None
    current: Optional[str] = None
    previous_prefix = "O"
    for index, tag in enumerate(tags):
        prefix, entity_type = split_tag(tag)
        begins = prefix in ("B", "S") or (
            prefix in ("I", "E") and (previous_prefix in ("O", "E", "S") or entity_type != current)
        )
        if current is not None and (prefix == "O" or begins):
            spans.append((current, start, index))
            current = None
        if begins:
            start, current = index, entity_type
        if prefix in ("E", "S") and current is not None:
            spans.append((current, start, index + 1))
            current = None
        previous_prefix = prefix
    if current is not None:
        spans.append((current, start, len(tags)))
    return spans


class TaggingScheme:
    """How a scheme writes spans as tags, which labels it uses and which transitions it allows."""

    name = ""
    prefixes: Tuple[str, ...] = ()

    def encode(self, spans: Iterable[Span], length: int) -> List[str]:
        raise NotImplementedError

    def decode(self, tags: Sequence[str]) -> List[Span]:
        return get_spans(tags)

    def labels(self, entity_types: Iterable[str]) -> List[str]:
        """The full label list for these types: ``O`` first, then each type's prefixes in scheme order."""
        return ["O"] + [f"{prefix}-{t}" for t in sorted(set(entity_types)) for prefix in self.prefixes]

    def allowed(self, previous: Optional[str], tag: Optional[str]) -> bool:
        """May ``tag`` follow ``previous``? ``None`` stands for the sentence boundary on either side."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.name


class _IOB2(TaggingScheme):
    name = "IOB2"
    prefixes = ("B", "I")

    def encode(self, spans, length):
        tags = ["O"] * length
        for entity_type, start, end in spans:
            tags[start] = f"B-{entity_type}"
            for index in range(start + 1, end):
                tags[index] = f"I-{entity_type}"
        return tags

    def allowed(self, previous, tag):
        if tag is None or tag == "O" or tag.startswith("B-"):
            return True
        if not tag.startswith("I-"):
            return False  # E-/S- are not IOB2 tags (repair rewrites them)
        # I-X continues a B-X or I-X only.
        return previous is not None and previous != "O" and previous[2:] == tag[2:]


class _IOB1(TaggingScheme):
    name = "IOB1"
    prefixes = ("B", "I")

    def encode(self, spans, length):
        tags = ["O"] * length
        previous_end, previous_type = -1, None
        for entity_type, start, end in sorted(spans, key=lambda span: span[1]):
            adjacent_same = start == previous_end and entity_type == previous_type
            tags[start] = f"{'B' if adjacent_same else 'I'}-{entity_type}"
            for index in range(start + 1, end):
                tags[index] = f"I-{entity_type}"
            previous_end, previous_type = end, entity_type
        return tags

    def allowed(self, previous, tag):
        if tag is None or tag == "O" or tag.startswith("I-"):
            return True
        if not tag.startswith("B-"):
            return False  # E-/S- are not IOB1 tags (repair rewrites them)
        # B-X only separates two adjacent entities of the same type.
        return previous is not None and previous != "O" and previous[2:] == tag[2:]


class _BIOES(TaggingScheme):
    name = "BIOES"
    prefixes = ("B", "I", "E", "S")

    def encode(self, spans, length):
        tags = ["O"] * length
        for entity_type, start, end in spans:
            if end - start == 1:
                tags[start] = f"S-{entity_type}"
                continue
            tags[start] = f"B-{entity_type}"
            for index in range(start + 1, end - 1):
                tags[index] = f"I-{entity_type}"
            tags[end - 1] = f"E-{entity_type}"
        return tags

    def allowed(self, previous, tag):
        previous_open = previous is not None and previous[0] in "BI"
        if tag is None or tag == "O" or tag[0] in "BS":
            return not previous_open
        return previous_open and previous[2:] == tag[2:]


IOB1, IOB2, BIOES = _IOB1(), _IOB2(), _BIOES()
SCHEMES: Dict[str, TaggingScheme] = {"iob1": IOB1, "iob2": IOB2, "bio": IOB2, "bioes": BIOES, "iobes": BIOES}


def get_scheme(name) -> TaggingScheme:
    if isinstance(name, TaggingScheme):
        return name
    try:
        return SCHEMES[str(name).lower()]
    except KeyError:
        raise ValueError(f"unknown tagging scheme {name!r} (choose from iob1, iob2, bioes)") from None


def convert(tags: Sequence[str], source, target) -> List[str]:
    """Re-encode ``tags`` (read in ``source``) in ``target``; invalid input is repaired on the way."""
    return get_scheme(target).encode(get_scheme(source).decode(tags), len(tags))


def repair(tags: Sequence[str], scheme) -> Tuple[List[str], int]:
    """The valid sequence in ``scheme`` with the same entities, and how many tags had to change."""
    fixed = convert(tags, scheme, scheme)
    return fixed, sum(1 for old, new in zip(tags, fixed) if old != new)


def first_violation(tags: Sequence[str], scheme) -> Optional[int]:
    """Index of the first tag that ``scheme`` does not allow where it stands, or None."""
    scheme = get_scheme(scheme)
    previous = None
    for index, tag in enumerate(tags):
        if not scheme.allowed(previous, tag):
            return index
        previous = tag
    if tags and not scheme.allowed(tags[-1], None):
        return len(tags) - 1
    return None


def detect_scheme(tag_sequences: Iterable[Sequence[str]]) -> TaggingScheme:
    """Guess the scheme of a corpus from how its entities start.

    E-/S- prefixes mean BIOES. Otherwise an entity that opens with ``I-`` (after ``O``, another type or the
    sentence start) is IOB1 evidence, one that opens with ``B-`` there is IOB2 evidence; the majority wins,
    so a handful of annotation slips does not flip the guess. No entities at all: IOB2.

    >>> detect_scheme([["I-PER", "O", "I-LOC", "B-LOC"]]).name
    'IOB1'
    """
    votes: Counter = Counter()
    for tags in tag_sequences:
        previous_prefix, previous_type = "O", None
        for tag in tags:
            prefix, entity_type = split_tag(tag)
            if prefix in ("E", "S"):
                return BIOES
            opens = previous_prefix == "O" or entity_type != previous_type
            if prefix != "O" and opens:
                votes[prefix] += 1
            previous_prefix, previous_type = prefix, entity_type
    return IOB1 if votes["I"] > votes["B"] else IOB2


def entity_types(tags: Iterable[str]) -> List[str]:
    """Sorted entity types named by a collection of tags."""
    return sorted({split_tag(tag)[1] for tag in tags if tag != "O"})
