"""Property-based tests that no other test module holds yet (issue #7).

Already covered elsewhere, not repeated here:

- IOB2 -> BIOES -> IOB2 and IOB2 -> IOB1 -> IOB2: ``tests/test_schemes.py::test_valid_iob2_survives_round_trips``
  (plus encode/decode, repair and convert properties in the same module);
- windowing with any ``max_seq_length`` / ``stride`` / ``context_size`` gives every word exactly one
  prediction: ``tests/test_features.py::test_any_window_setting_gives_every_word_one_prediction``;
- each format's own write -> read round trip: ``test_round_trip_property`` in ``tests/test_formats_conll.py``,
  ``tests/test_formats_tabular.py`` (json, csv, tsv) and ``tests/test_formats_text_labels.py``.

Here:

- the raw-text formats (offsets, BRAT) round trip any sentences of words they can hold;
- any token/tag corpus survives a chain through every writable format, in any order;
- bytes of any kind fed to every reader give a :class:`NerDataError` or a valid list of sentences, never
  another exception (which would be a traceback for the user).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import List

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from nerkit.corpus import Sentence
from nerkit.errors import NerDataError
from nerkit.formats import FORMATS, FormatOptions, guess_format, read_sentences, write_sentences
from nerkit.schemes import IOB2, get_spans, is_tag
from nerkit.words import split_words

# ------------------------------------------------------------------------------------------------ strategies

TYPES = ["PER", "LOC", "ORG", "MISC", "creative-work", "Disease_Class"]

# Words every format can hold: what nerkit.words keeps as one word (offsets and BRAT re-tokenise raw text),
# never whitespace, never -DOCSTART-.
# Punctuation that never ends a sentence, and multi-part words nerkit.words keeps whole.
INNER_WORDS = [",", ";", ":", "(", ")", "[", "-", "--", "&", "%", "$", "#", "/", "'s", "n't", "e-mail", "O'Brien",
               "3.5", "1,000", "U.S.", "Dr.", "e.g.", "GSK-3beta", "😀", "👨\u200d👩\u200d👧", "Ünïcödé", "東京"]
plain_words = st.one_of(
    st.text(st.characters(categories=("Lu", "Ll", "Lo", "Nd"), exclude_characters="ªº"), min_size=1, max_size=7),
    st.sampled_from(INNER_WORDS),
).filter(lambda word: [w for w, _, _ in split_words(word)] == [word])
# Sentence-ending punctuation and the like inside a sentence would let the splitter cut it; keep it to the end.
final_marks = st.sampled_from(["", "", ".", "!", "?", ",", ";", ")"])


@st.composite
def tagged_sentence(draw):
    """Words with valid IOB2 tags (spans encoded by IOB2, so any entity layout, adjacent ones included)."""
    words = draw(st.lists(plain_words, min_size=1, max_size=8))
    spans, position = [], 0
    while position < len(words):
        length = draw(st.integers(1, len(words) - position))
        if draw(st.booleans()):
            spans.append((draw(st.sampled_from(TYPES)), position, position + length))
        position += length
    tags = IOB2.encode(spans, len(words))
    mark = draw(final_marks)
    if mark:
        words, tags = words + [mark], tags + ["O"]
    return words, tags


@st.composite
def corpora(draw) -> List[Sentence]:
    """1-3 documents of 1-3 sentences; document ids are CoNLL's own (doc-0001...) or all None."""
    with_documents = draw(st.booleans())
    sentences = []
    for number in range(1, draw(st.integers(1, 3)) + 1):
        for index in range(draw(st.integers(1, 3))):
            words, tags = draw(tagged_sentence())
            sentences.append(Sentence(words, tags, document_id=f"doc-{number:04d}" if with_documents else None, sentence_index=index))
    return sentences


# Where each format is written; brat is a folder, text_labels a text*.txt name with its labels*.txt partner.
LOCATIONS = {
    "conll": "c.conll",
    "text_labels": "text_c.txt",
    "json": "c.jsonl",
    "csv": "c.csv",
    "offsets": "c.spacy.jsonl",
    "brat": "c_brat",
    "labelstudio": "c.labelstudio.json",
    "doccano": "c.doccano.jsonl",
    "prodigy": "c.prodigy.jsonl",
}


def words_and_tags(sentences):
    return [(list(s.tokens), list(s.ner_tags)) for s in sentences]


# ------------------------------------------------------------------------------------------------ round trips


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sentences=corpora(), format_name=st.sampled_from(["offsets", "brat", "labelstudio", "doccano", "prodigy"]))
def test_raw_text_formats_round_trip_words_tags_and_documents(sentences, format_name):
    """Offsets, BRAT and the annotation tools' formats store text plus character spans; sentences of words come
    back word for word."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / LOCATIONS[format_name]
        write_sentences(sentences, path, format_name)
        back = read_sentences(path, format_name)
    assert words_and_tags(back) == words_and_tags(sentences)
    if sentences[0].document_id is not None:
        assert [s.document_id for s in back] == [s.document_id for s in sentences]
        assert [s.sentence_index for s in back] == [s.sentence_index for s in sentences]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sentences=corpora(), order=st.permutations(FORMATS))
def test_any_corpus_survives_a_chain_through_every_format(sentences, order):
    """conll -> brat -> csv -> ... in any order: every word and tag arrives unchanged, and the document
    boundaries survive every step between formats that keep documents."""
    current = sentences
    with tempfile.TemporaryDirectory() as folder:
        for step, format_name in enumerate(order):
            path = Path(folder) / f"{step}" / LOCATIONS[format_name]
            write_sentences(current, path, format_name)
            current = read_sentences(path, format_name)
            assert words_and_tags(current) == words_and_tags(sentences), format_name
    if "text_labels" not in order and sentences[0].document_id is not None:
        assert [s.document_id is None for s in current] == [False] * len(sentences)


# ------------------------------------------------------------------------------------------------ random bytes

# Pieces that reach deep into the readers (structure, tags, JSON, CSV quoting, BRAT lines) mixed with raw
# bytes, so most inputs decode and get past the first check instead of failing on byte one.
FRAGMENTS = [
    b"\n", b"\r\n", b"\r", b" ", b"\t", b"\t\n", b"", b"\x00", b"\xef\xbb\xbf", b"\xe9", b"\xff",
    b"Ada", b"Lovelace", b".", b",", b"-", b"'", b"0", b"3", b"12", b"-1", b"99999999999999999999",
    b"O", b"B-PER", b"I-PER", b"E-LOC", b"S-ORG", b"B_PER", b"b-per", b"PER", b"B-", b"-DOCSTART-", b"-X-",
    b"{", b"}", b"[", b"]", b":", b'"', b'""', b"'", b"null", b"true", b"1.5", b"1e999", b"NaN",
    b'"tokens"', b'"ner_tags"', b'"text"', b'"entities"', b'"id"', b'"document_id"', b'"sentence_index"',
    b'"data"', b'"label"', b'"start"', b'"end"', b'["Ada", "wrote"]', b'["B-PER", "O"]', b"[0, 3, \"PER\"]",
    b'{"tokens": ["Ada"], "ner_tags": ["B-PER"]}', b'{"text": "Ada wrote", "entities": [[0, 3, "PER"]]}',
    b"tokens,ner_tags\n", b"T1\tPER 0 3\tAda", b"T2\tLOC 4 9;10 12\t", b"#1\tAnnotatorNotes T1\tx", b"N1\t",
    b"\\", b"\\u0000", b"\\ud800", "é".encode(), "\u2028".encode(), "😀".encode(), "\u200b".encode(),
]
noisy_bytes = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.binary(max_size=4)), max_size=40).map(b"".join)


def check_reader(path: Path, format_name, options: FormatOptions = None) -> None:
    """The property: an error the CLI turns into one line, or sentences a trainer can use."""
    try:
        sentences = read_sentences(path, format_name, options or FormatOptions())
    except NerDataError as error:
        assert str(error).strip() and "\n" not in str(error).strip(), repr(str(error))
        return
    assert isinstance(sentences, list) and sentences
    for sentence in sentences:
        assert isinstance(sentence, Sentence)
        assert len(sentence.tokens) == len(sentence.ner_tags) > 0
        assert all(isinstance(token, str) and token for token in sentence.tokens)
        assert all(isinstance(tag, str) and is_tag(tag) for tag in sentence.ner_tags)
        get_spans(sentence.ner_tags)  # every tag sequence decodes


RANDOM = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SINGLE_FILE = {"conll": "in.conll", "json": "in.jsonl", "csv": "in.csv", "offsets": "in.spacy.jsonl"}


@RANDOM
@given(data=noisy_bytes, format_name=st.sampled_from(sorted(SINGLE_FILE) + [None]), name=st.sampled_from(["in.conll", "in.jsonl", "in.json", "in.csv", "in.tsv", "in.txt"]))
def test_random_bytes_to_single_file_readers(data, format_name, name):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        check_reader(path, format_name)


@RANDOM
@given(data=noisy_bytes, label_list=st.sampled_from([None, ["O", "B-PER", "I-PER"], ["O"]]), name=st.sampled_from(["in.jsonl", "in.csv"]))
def test_random_bytes_to_json_and_csv_with_a_label_list(data, label_list, name):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        check_reader(path, "csv" if name.endswith(".csv") else "json", FormatOptions(label_list=label_list))


@RANDOM
@given(text=noisy_bytes, labels=noisy_bytes)
def test_random_bytes_to_text_labels(text, labels):
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "text_x.txt").write_bytes(text)
        (Path(folder) / "labels_x.txt").write_bytes(labels)
        check_reader(Path(folder) / "text_x.txt", "text_labels")
        check_reader(Path(folder), None)  # a folder holding one pair


@RANDOM
@given(documents=st.lists(st.tuples(noisy_bytes, st.one_of(st.none(), noisy_bytes)), min_size=1, max_size=3))
def test_random_bytes_to_brat(documents):
    with tempfile.TemporaryDirectory() as folder:
        for number, (text, annotations) in enumerate(documents):
            (Path(folder) / f"d{number}.txt").write_bytes(text)
            if annotations is not None:
                (Path(folder) / f"d{number}.ann").write_bytes(annotations)
        check_reader(Path(folder), "brat")


@settings(max_examples=100, deadline=None)
@given(data=noisy_bytes, name=st.sampled_from(["a.conll", "b.jsonl", "c.csv", "d.spacy.jsonl", "e.json", "f"]))
def test_format_guessing_never_fails_with_a_traceback(data, name):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            assert guess_format(path) in FORMATS
        except NerDataError:
            pass


# Any JSON value, biased towards the shapes the readers expect, so the type checks on every field are reached.
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 30), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=6),
    st.sampled_from(["O", "B-PER", "I-PER", "PER", "Ada", "", " ", "0", "1"]),
)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(
    st.sampled_from(["tokens", "ner_tags", "text", "entities", "id", "document_id", "sentence_index", "words", "labels",
                     "start", "end", "label", "data", "x"]), inner, max_size=5)), max_leaves=12)
records = st.one_of(
    json_values,
    st.fixed_dictionaries({"tokens": json_values, "ner_tags": json_values}, optional={"document_id": json_values, "sentence_index": json_values}),
    st.fixed_dictionaries({"text": st.one_of(st.text(max_size=12), json_values), "entities": st.lists(
        st.one_of(st.lists(st.one_of(st.integers(-2, 14), json_scalars), min_size=3, max_size=3), json_values), max_size=3)},
        optional={"id": json_values}),
)


@RANDOM
@given(lines=st.lists(records, min_size=1, max_size=4), as_list=st.booleans(), format_name=st.sampled_from(["json", "offsets", "csv", None]))
@example(lines=[{"tokens": ["a", "b"], "ner_tags": [[], "O"]}], as_list=False, format_name="json")  # was a TypeError
@example(lines=[{"tokens": ["a"], "ner_tags": [{"B": 1}]}], as_list=True, format_name="csv")
def test_any_json_records_to_json_offsets_and_csv_readers(lines, as_list, format_name):
    import json

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("in.csv" if format_name == "csv" else "in.jsonl")
        if format_name == "csv":
            import csv
            import io

            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(["tokens", "ner_tags"])
            for record in lines:
                values = record if isinstance(record, dict) else {"tokens": record}
                writer.writerow([json.dumps(values.get("tokens")), json.dumps(values.get("ner_tags"))])
            path.write_text(buffer.getvalue())
        else:
            path.write_text(json.dumps(lines) if as_list else "".join(json.dumps(line) + "\n" for line in lines))
        check_reader(path, format_name, FormatOptions(label_list=["O", "B-PER", "I-PER"]))
