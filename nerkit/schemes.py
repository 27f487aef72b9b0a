"""Tagging schemes: IOB1, IOB2 (BIO) and BIOES, as small classes over one shared notion of a span, and
plain labels (POS tags and other classes with no spans) as a scheme of their own.

A tag is ``O`` or ``P-TYPE`` with ``P`` one of ``B I E S`` (upper case) and a non-empty type, which may itself
contain dashes (``B-creative-work``). Every scheme decodes any tag sequence the way conlleval does, so
``I-X`` after ``O`` still opens an entity; re-encoding the decoded spans gives the valid sequence, and the
number of tags that changed is the number of *repairs*.

A plain label (``NNP``, ``PRP$``, ``-LRB-``: any non-empty string without white space) is a one-word unit of
its own, so everything that counts spans counts labelled words for it (``get_spans``), and ``PLAIN`` encodes
and decodes without changing a label:

>>> get_spans(["NNP", "VBZ", "O"])
[('NNP', 0, 1), ('VBZ', 1, 2)]

>>> IOB2.encode([("PER", 0, 2), ("LOC", 3, 4)], 4)
['B-PER', 'I-PER', 'O', 'B-LOC']
>>> convert(["I-PER", "I-PER", "O", "I-LOC"], "iob1", "bioes")
['B-PER', 'E-PER', 'O', 'S-LOC']
>>> repair(["O", "I-ORG", "I-ORG"], "iob2")
(['O', 'B-ORG', 'I-ORG'], 1)
"""

from __future__ import annotations

import re
import urllib.parse
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


_UNSAFE_IN_TAGS = re.compile(r"[%\s]")


def tag_safe_type(label: str) -> str:
    """An entity label as a type a tag can hold: white space (and ``%`` itself) percent-encoded, so that
    ``Titre 2`` is the tag ``B-Titre%202`` in every format and model, and no two labels become one type.

    >>> tag_safe_type("Titre 2"), tag_safe_type("100% sure"), tag_safe_type("PER")
    ('Titre%202', '100%25%20sure', 'PER')
    """
    return _UNSAFE_IN_TAGS.sub(lambda match: "".join(f"%{byte:02X}" for byte in match.group().encode("utf-8")), label)


def original_type(entity_type: str) -> str:
    """The label :func:`tag_safe_type` encoded, for formats that can hold it (Label Studio, doccano, ...).

    >>> original_type("Titre%202"), original_type("100%25%20sure"), original_type(tag_safe_type("a\u3000b")) == "a\u3000b"
    ('Titre 2', '100% sure', True)
    """
    return urllib.parse.unquote(entity_type) if "%" in entity_type else entity_type


def is_tag(tag: str) -> bool:
    try:
        split_tag(tag)
    except ValueError:
        return False
    return True


def is_plain_label(label) -> bool:
    """A label for ``--tagging_scheme none``: any non-empty string with no white space in it.

    >>> is_plain_label("PRP$"), is_plain_label("B-PER"), is_plain_label("two words"), is_plain_label("")
    (True, True, False, False)
    """
    return isinstance(label, str) and bool(label) and label.split() == [label]


def is_label(tag, plain: bool = False) -> bool:
    """A tag (``O``, ``B-PER``...), or with ``plain`` any plain label (``NNP``).

    >>> is_label("NNP"), is_label("NNP", plain=True), is_label("B-PER")
    (False, True, True)
    """
    return is_plain_label(tag) if plain else isinstance(tag, str) and is_tag(tag)


def get_spans(tags: Sequence[str]) -> List[Span]:
    """Entity spans of any tag sequence, read the tolerant conlleval way (works for every scheme); a plain
    label (not a tag) is a one-word span of its own.

    >>> get_spans(["B-PER", "I-PER", "B-PER", "O", "I-LOC", "E-LOC", "S-ORG"])
    [('PER', 0, 2), ('PER', 2, 3), ('LOC', 4, 6), ('ORG', 6, 7)]
    """
    spans: List[Span] = []
    start: Optional[int] = None
    current: Optional[str] = None
    previous_prefix = "O"
    for index, tag in enumerate(tags):
        try:
            prefix, entity_type = split_tag(tag)
        except ValueError:
            prefix, entity_type = "S", tag  # a plain label
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


class _InsideOutside(TaggingScheme):
    """IOB1 and IOB2: one prefix may stand anywhere (``free``), the other only right after a tag of its own
    type (``bound``: I- continues an entity in IOB2, B- separates two adjacent ones in IOB1)."""

    prefixes = ("B", "I")
    free, bound = "", ""

    def allowed(self, previous, tag):
        if tag is None or tag == "O" or tag.startswith(self.free):
            return True
        if not tag.startswith(self.bound):
            return False  # E-/S- are not IOB1/IOB2 tags (repair rewrites them)
        return previous is not None and previous != "O" and previous[2:] == tag[2:]


class _IOB2(_InsideOutside):
    name = "IOB2"
    free, bound = "B-", "I-"

    def encode(self, spans, length):
        tags = ["O"] * length
        for entity_type, start, end in spans:
            tags[start] = f"B-{entity_type}"
            for index in range(start + 1, end):
                tags[index] = f"I-{entity_type}"
        return tags


class _IOB1(_InsideOutside):
    name = "IOB1"
    free, bound = "I-", "B-"

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


class _Plain(TaggingScheme):
    """Labels with no spans (part-of-speech tags, say): each word's label stands alone, every sequence is
    valid, and ``O`` (if the label set has it) is just another label that counts as no unit."""

    name = "plain"

    def encode(self, spans, length):
        tags = ["O"] * length
        for label, start, end in spans:
            tags[start:end] = [label] * (end - start)
        return tags

    def decode(self, tags):
        return [(tag, index, index + 1) for index, tag in enumerate(tags) if tag != "O"]

    def labels(self, entity_types):
        return sorted(set(entity_types))  # a plain label is its own type (see corpus_labels for O)

    def allowed(self, previous, tag):
        return True


IOB1, IOB2, BIOES, PLAIN = _IOB1(), _IOB2(), _BIOES(), _Plain()
SCHEMES: Dict[str, TaggingScheme] = {
    "iob1": IOB1, "iob2": IOB2, "bio": IOB2, "bioes": BIOES, "iobes": BIOES, "none": PLAIN, "plain": PLAIN,
}


def get_scheme(name) -> TaggingScheme:
    if isinstance(name, TaggingScheme):
        return name
    try:
        return SCHEMES[str(name).lower()]
    except KeyError:
        raise ValueError(f"unknown tagging scheme {name!r} (choose from iob1, iob2, bioes, none)") from None


def convert(tags: Sequence[str], source, target) -> List[str]:
    """Re-encode ``tags`` (read in ``source``) in ``target``; invalid input is repaired on the way. Plain
    labels have no spans to re-encode: they go through unchanged, and span tags do not become plain ones."""
    source, target = get_scheme(source), get_scheme(target)
    if PLAIN in (source, target):
        if source is not target:
            raise ValueError(f"cannot convert between plain labels and {target if source is PLAIN else source} tags")
        return list(tags)
    return target.encode(source.decode(tags), len(tags))


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
    votes = SchemeVotes()
    for tags in tag_sequences:
        votes.add(tags)
        if votes.bioes:
            break
    return votes.scheme()


class SchemeVotes:
    """:func:`detect_scheme` one sentence at a time, for a corpus read as a stream; ``counts`` can be saved and
    given back (a cached corpus is not read again).

    >>> votes = SchemeVotes()
    >>> votes.add(["B-PER", "I-PER", "O"]); votes.add(["I-LOC"]); votes.add(["B-ORG"])
    >>> votes.counts, votes.scheme().name
    ({'B': 2, 'I': 1, 'bioes': 0}, 'IOB2')
    """

    def __init__(self, counts: Optional[Dict[str, int]] = None):
        self.counts = dict(counts) if counts else {"B": 0, "I": 0, "bioes": 0}

    @property
    def bioes(self) -> bool:
        return bool(self.counts["bioes"])

    def add(self, tags: Sequence[str]) -> None:
        previous_prefix, previous_type = "O", None
        for tag in tags:
            prefix, entity_type = split_tag(tag)
            if prefix in ("E", "S"):
                self.counts["bioes"] = 1
                return
            opens = previous_prefix == "O" or entity_type != previous_type
            if prefix != "O" and opens:
                self.counts[prefix] += 1
            previous_prefix, previous_type = prefix, entity_type

    def scheme(self) -> TaggingScheme:
        if self.bioes:
            return BIOES
        return IOB1 if self.counts["I"] > self.counts["B"] else IOB2


def entity_types(tags: Iterable[str]) -> List[str]:
    """Sorted entity types named by a collection of tags (a plain label is its own type)."""
    return sorted({label for tag in tags if tag != "O" for label, _, _ in get_spans([tag])})


def corpus_labels(tags: Iterable[str], scheme) -> List[str]:
    """Every label ``scheme`` uses for the types these tags name, ``O`` first (plain labels: the labels seen,
    with ``O`` only when it is among them).

    >>> corpus_labels(["B-PER", "O"], IOB2), corpus_labels(["NN", "DT", "NN"], PLAIN)
    (['O', 'B-PER', 'I-PER'], ['DT', 'NN'])
    """
    tags = set(tags)
    if get_scheme(scheme) is PLAIN:  # the labels themselves, even one that looks like a tag (B-X)
        return (["O"] if "O" in tags else []) + sorted(tags - {"O"})
    return get_scheme(scheme).labels(entity_types(tags))


def scheme_of_labels(labels: Iterable[str]) -> TaggingScheme:
    """The scheme a model's label set is in: BIOES when it has E-/S- labels, plain when any label is not a
    tag, else IOB2 (the scheme models are trained in).

    >>> scheme_of_labels(["O", "B-PER", "I-PER"]).name, scheme_of_labels(["NN", "NNP", "VBZ"]).name
    ('IOB2', 'plain')
    """
    labels = list(labels)
    if not all(is_tag(label) for label in labels):
        return PLAIN
    return BIOES if any(split_tag(label)[0] in ("E", "S") for label in labels) else IOB2
