"""nerkit.schemes: tags, spans, the three schemes, conversion, repair, violations and detection."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nerkit.schemes import (
    BIOES,
    IOB1,
    IOB2,
    convert,
    detect_scheme,
    entity_types,
    first_violation,
    get_scheme,
    get_spans,
    is_tag,
    repair,
    split_tag,
)

ALL_SCHEMES = [IOB1, IOB2, BIOES]
TYPES = ["PER", "LOC", "creative-work"]  # a type with dashes in it on purpose


# ------------------------------------------------------------------------------------------------ split_tag


@pytest.mark.parametrize(
    "tag, expected",
    [("O", ("O", None)), ("B-PER", ("B", "PER")), ("I-creative-work", ("I", "creative-work")), ("E-X", ("E", "X")), ("S-LOC", ("S", "LOC"))],
)
def test_split_tag_accepts(tag, expected):
    assert split_tag(tag) == expected
    assert is_tag(tag)


@pytest.mark.parametrize("tag", ["B_PER", "PER", "b-per", "B-", "B- PER", "B-PER ", " B-PER", "", "o", "X-PER", "BPER", "I--"[:2], "O-PER"])
def test_split_tag_rejects(tag):
    with pytest.raises(ValueError, match="is not a tag"):
        split_tag(tag)
    assert not is_tag(tag)


# ------------------------------------------------------------------------------------------------ spans


def test_get_spans_reads_every_scheme_the_conlleval_way():
    assert get_spans(["B-PER", "I-PER", "O", "B-LOC"]) == [("PER", 0, 2), ("LOC", 3, 4)]  # IOB2
    assert get_spans(["I-PER", "I-PER", "B-PER", "O", "I-LOC"]) == [("PER", 0, 2), ("PER", 2, 3), ("LOC", 4, 5)]  # IOB1
    assert get_spans(["B-PER", "E-PER", "S-PER", "O", "S-LOC"]) == [("PER", 0, 2), ("PER", 2, 3), ("LOC", 4, 5)]  # BIOES
    # Invalid sequences still give spans: I- after O opens one, a type change closes one.
    assert get_spans(["O", "I-ORG", "I-ORG", "I-LOC"]) == [("ORG", 1, 3), ("LOC", 3, 4)]
    assert get_spans(["B-PER", "I-LOC"]) == [("PER", 0, 1), ("LOC", 1, 2)]
    assert get_spans([]) == []


def test_encode_each_scheme():
    spans = [("PER", 0, 2), ("PER", 2, 3), ("LOC", 4, 5)]
    assert IOB2.encode(spans, 6) == ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "O"]
    # IOB1 uses B- only where an entity directly follows one of the same type.
    assert IOB1.encode(spans, 6) == ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "O"]
    assert BIOES.encode(spans, 6) == ["B-PER", "E-PER", "S-PER", "O", "S-LOC", "O"]
    assert BIOES.encode([("X", 0, 3)], 3) == ["B-X", "I-X", "E-X"]


def test_labels_lists_o_then_each_type_in_prefix_order():
    assert IOB2.labels(["PER", "LOC", "PER"]) == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    assert BIOES.labels(["X"]) == ["O", "B-X", "I-X", "E-X", "S-X"]
    assert entity_types(["O", "B-PER", "I-LOC", "S-PER"]) == ["LOC", "PER"]


def test_get_scheme_names_and_aliases():
    assert get_scheme("IOB2") is IOB2 and get_scheme("bio") is IOB2
    assert get_scheme("iobes") is BIOES and get_scheme(IOB1) is IOB1
    with pytest.raises(ValueError, match="unknown tagging scheme"):
        get_scheme("bilou")


# ------------------------------------------------------------------------------------------------ convert / repair


def test_convert_examples():
    assert convert(["I-PER", "I-PER", "O", "I-LOC"], "iob1", "bioes") == ["B-PER", "E-PER", "O", "S-LOC"]
    assert convert(["I-PER", "B-PER"], "iob1", "iob2") == ["B-PER", "B-PER"]
    assert convert(["B-PER", "B-PER"], "iob2", "iob1") == ["I-PER", "B-PER"]
    assert convert(["S-X", "B-Y", "E-Y"], "bioes", "iob2") == ["B-X", "B-Y", "I-Y"]


@pytest.mark.parametrize(
    "tags, scheme, fixed, count",
    [
        (["O", "I-ORG", "I-ORG"], "iob2", ["O", "B-ORG", "I-ORG"], 1),
        (["B-PER", "I-LOC"], "iob2", ["B-PER", "B-LOC"], 1),
        (["I-PER", "B-PER"], "iob1", ["I-PER", "B-PER"], 0),  # valid IOB1: B- separates two PER
        (["B-PER", "O"], "iob1", ["I-PER", "O"], 1),
        (["B-PER", "O"], "bioes", ["S-PER", "O"], 1),
        (["B-PER", "I-PER"], "bioes", ["B-PER", "E-PER"], 1),
        (["I-X", "I-X", "O", "E-Y"], "bioes", ["B-X", "E-X", "O", "S-Y"], 3),
        (["B-X", "S-X"], "iob2", ["B-X", "B-X"], 1),  # a BIOES tag in IOB2 data is repaired too
        (["O", "O"], "iob2", ["O", "O"], 0),
    ],
)
def test_repair_counts(tags, scheme, fixed, count):
    assert repair(tags, scheme) == (fixed, count)


# ------------------------------------------------------------------------------------------------ first_violation


@pytest.mark.parametrize(
    "tags, scheme, index",
    [
        (["B-X", "I-X", "O"], "iob2", None),
        (["O", "I-X"], "iob2", 1),
        (["I-X"], "iob2", 0),
        (["B-X", "I-Y"], "iob2", 1),
        (["B-X", "E-X"], "iob2", 1),  # E- is no IOB2 prefix
        (["I-X", "I-X", "B-X"], "iob1", None),
        (["O", "B-X"], "iob1", 1),
        (["I-Y", "B-X"], "iob1", 1),
        (["B-X", "I-X", "E-X", "S-Y"], "bioes", None),
        (["B-X"], "bioes", 0),  # never closed: the violation is at the end
        (["B-X", "I-X"], "bioes", 1),
        (["S-X", "I-X"], "bioes", 1),
        (["B-X", "O"], "bioes", 1),
        (["B-X", "E-Y"], "bioes", 1),
        ([], "iob2", None),
    ],
)
def test_first_violation(tags, scheme, index):
    assert first_violation(tags, scheme) == index


# ------------------------------------------------------------------------------------------------ detect_scheme


def test_detect_scheme():
    conll2003_like = [["I-ORG", "O", "I-MISC", "O"], ["I-PER", "I-PER"], ["I-LOC", "B-LOC", "O"]]
    assert detect_scheme(conll2003_like) is IOB1
    assert detect_scheme([["B-ORG", "O", "B-MISC"], ["B-PER", "I-PER"]]) is IOB2
    assert detect_scheme([["B-PER", "E-PER", "O"], ["S-LOC"]]) is BIOES
    assert detect_scheme([["O", "O"], []]) is IOB2  # no evidence at all
    # A few slips do not flip the guess: the majority of entity starts decides.
    assert detect_scheme([["B-X", "O"]] * 5 + [["O", "I-X"]]) is IOB2
    assert detect_scheme([["I-X", "O"]] * 5 + [["B-X", "O"]]) is IOB1
    # B- between two entities of one type is no IOB2 evidence: it is how IOB1 separates them.
    assert detect_scheme([["I-X", "B-X"], ["I-Y"]]) is IOB1


# ------------------------------------------------------------------------------------------------ properties

segments = st.lists(
    st.one_of(
        st.tuples(st.just("O"), st.integers(1, 3)),
        st.tuples(st.sampled_from(TYPES), st.integers(1, 4)),
    ),
    max_size=12,
)


def spans_of(segment_list):
    """Non-overlapping spans (maybe adjacent, maybe of one type) and the sequence length."""
    spans, position = [], 0
    for kind, length in segment_list:
        if kind != "O":
            spans.append((kind, position, position + length))
        position += length
    return spans, position


any_tags = st.lists(st.sampled_from(["O"] + [f"{p}-{t}" for p in "BIES" for t in ("PER", "LOC")]), max_size=15)


@given(segments)
def test_valid_iob2_survives_round_trips(segment_list):
    spans, length = spans_of(segment_list)
    iob2 = IOB2.encode(spans, length)
    assert convert(convert(iob2, "iob2", "bioes"), "bioes", "iob2") == iob2
    assert convert(convert(iob2, "iob2", "iob1"), "iob1", "iob2") == iob2


@given(segments)
def test_every_scheme_encodes_valid_sequences_that_decode_to_the_same_spans(segment_list):
    spans, length = spans_of(segment_list)
    for scheme in ALL_SCHEMES:
        tags = scheme.encode(spans, length)
        assert scheme.decode(tags) == spans
        assert first_violation(tags, scheme) is None
        assert repair(tags, scheme) == (tags, 0)
    if spans:
        assert detect_scheme([BIOES.encode(spans, length)]) is BIOES


@settings(max_examples=300)
@given(any_tags)
def test_repair_agrees_with_first_violation_and_keeps_the_spans(tags):
    for scheme in ALL_SCHEMES:
        fixed, count = repair(tags, scheme)
        assert count == sum(old != new for old, new in zip(tags, fixed))
        assert (count == 0) == (first_violation(tags, scheme) is None), (scheme, tags, fixed)
        assert first_violation(fixed, scheme) is None
        assert repair(fixed, scheme) == (fixed, 0)
        assert get_spans(fixed) == get_spans(tags)


@given(any_tags, st.sampled_from(ALL_SCHEMES), st.sampled_from(ALL_SCHEMES))
def test_convert_gives_valid_target_sequences(tags, source, target):
    converted = convert(tags, source, target)
    assert len(converted) == len(tags)
    assert first_violation(converted, target) is None
    assert get_spans(converted) == get_spans(tags)
