"""JSON (lines, list, {"data": [...]}) and CSV corpora: reading, field choice, writing, round trips, bad inputs."""

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nerkit.corpus import Sentence
from nerkit.errors import NerDataError
from nerkit.formats import FormatOptions, conll, read_sentences, tabular, write_sentences


def write_file(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def read(path: Path, **options):
    return list(tabular.read(path, FormatOptions(**options)))


def expect_error(path: Path, line, *fragments, **options) -> str:
    with pytest.raises(NerDataError) as caught:
        read(path, **options)
    message = str(caught.value)
    assert path.name in message, message
    if line is not None:
        assert f"{path.name}:{line}" in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def as_tuples(sentences):
    return [(s.tokens, s.ner_tags, s.document_id, s.sentence_index) for s in sentences]


RECORDS = [
    {"tokens": ["EU", "rejects", "German"], "ner_tags": ["B-ORG", "O", "B-MISC"], "document_id": "d1", "sentence_index": 0, "id": "7"},
    {"tokens": ["Peter"], "ner_tags": ["B-PER"], "document_id": "d1", "sentence_index": 1, "id": "8"},
]


# ---------------------------------------------------------------------------------------------------- JSON shapes


def test_json_lines(tmp_path):
    path = write_file(tmp_path, "train.jsonl", "\n".join(json.dumps(r) for r in RECORDS) + "\n\n")
    sentences = read(path)
    assert as_tuples(sentences) == [(r["tokens"], r["ner_tags"], "d1", r["sentence_index"]) for r in RECORDS]
    assert [s.line for s in sentences] == [1, 2]
    assert [s.extra for s in sentences] == [{"id": "7"}, {"id": "8"}]


@pytest.mark.parametrize("wrap", [lambda r: r, lambda r: {"version": "1", "data": r}])
def test_json_list_and_data_wrapper(tmp_path, wrap):
    path = write_file(tmp_path, "train.json", json.dumps(wrap(RECORDS), indent=2))
    assert as_tuples(read(path)) == [(r["tokens"], r["ner_tags"], "d1", r["sentence_index"]) for r in RECORDS]


def test_single_object_file_and_bom_crlf(tmp_path):
    path = write_file(tmp_path, "one.json", "\ufeff" + json.dumps(RECORDS[0]) + "\r\n")
    assert read(path)[0].tokens == ["EU", "rejects", "German"]


def test_missing_indexes_are_numbered_per_document_and_empty_ids_are_none(tmp_path):
    records = [
        {"tokens": ["a"], "ner_tags": ["O"], "document_id": "x"},
        {"tokens": ["b"], "ner_tags": ["O"], "document_id": "x"},
        {"tokens": ["c"], "ner_tags": ["O"], "document_id": ""},
        {"tokens": [], "ner_tags": []},
    ]
    path = write_file(tmp_path, "docs.jsonl", "\n".join(json.dumps(r) for r in records))
    options = FormatOptions()
    sentences = list(tabular.read(path, options))
    assert [(s.document_id, s.sentence_index) for s in sentences] == [("x", 0), ("x", 1), (None, 0)]
    assert options.report.counts["empty_sentences"] == 1


def test_unicode_and_unknown_suffix_sniffing(tmp_path):
    record = {"tokens": ["Zürich", "東京", "\"quoted\"", "a,b", "two words"], "ner_tags": ["B-LOC", "B-LOC", "O", "O", "O"]}
    path = write_file(tmp_path, "corpus.data", json.dumps(record, ensure_ascii=False) + "\n")
    assert read(path)[0].tokens == record["tokens"]
    latin = write_file(tmp_path, "latin.jsonl", json.dumps(record | {"tokens": ["Zürich"] * 5}, ensure_ascii=False), encoding="latin-1")
    assert read(latin, encoding="latin-1")[0].tokens[0] == "Zürich"
    expect_error(latin, 1, "latin-1")


# ------------------------------------------------------------------------------------------------------ fields


def test_fields_are_guessed_when_unambiguous(tmp_path):
    # Upstream bug: a JSON whose first key is not the words trained on the wrong field.
    record = {"id": "0", "title": "Reuters", "words": ["Ada", "wrote"], "labels": ["B-PER", "O"]}
    path = write_file(tmp_path, "guess.jsonl", json.dumps(record))
    options = FormatOptions()
    sentence = list(tabular.read(path, options))[0]
    assert (sentence.tokens, sentence.ner_tags) == (["Ada", "wrote"], ["B-PER", "O"])
    assert "'words'" in options.report.notes[0] and "'labels'" in options.report.notes[0]


def test_ambiguous_fields_ask_for_column_names(tmp_path):
    record = {"words": ["Ada", "wrote"], "lemmas": ["Ada", "write"], "labels": ["B-PER", "O"]}
    path = write_file(tmp_path, "ambiguous.jsonl", json.dumps(record))
    message = expect_error(path, None, "words, lemmas, labels", "--text_column_name", "--label_column_name")
    assert "word lists: words, lemmas" in message
    assert read(path, tokens_field="lemmas", tags_field="labels")[0].tokens == ["Ada", "write"]
    expect_error(path, None, "no field 'text' (--text_column_name)", tokens_field="text")


def test_integer_tags_need_a_label_list(tmp_path):
    path = write_file(tmp_path, "ids.jsonl", '{"tokens": ["Ada", "wrote"], "ner_tags": [1, 0]}\n{"tokens": ["x"], "ner_tags": [5]}\n')
    expect_error(path, 1, "integer tags need a label list (--label_list)")
    expect_error(path, 2, "tag id 5 is outside the label list (2 labels)", label_list=["O", "B-PER"])
    path.write_text('{"tokens": ["Ada", "wrote"], "ner_tags": ["1", 0]}\n')
    assert read(path, label_list=["O", "B-PER"])[0].ner_tags == ["B-PER", "O"]
    expect_error(path, 1, "tag 'PER' is not a tag", label_list=["O", "PER"])


# -------------------------------------------------------------------------------------------------- bad JSON


def test_invalid_json_line(tmp_path):
    path = write_file(tmp_path, "bad.jsonl", json.dumps(RECORDS[0]) + "\n" + '{"tokens": ["a"], "ner_tags": ["O"]\n')
    expect_error(path, 2, "invalid JSON", "Expecting ',' delimiter")
    broken_list = write_file(tmp_path, "bad.json", '[\n  {"tokens": ["a"],\n   "ner_tags": ["O"]},\n  {"tokens": [}\n]')
    expect_error(broken_list, 4, "invalid JSON")
    expect_error(write_file(tmp_path, "first.jsonl", '{"tokens": ]\n{"tokens": ["a"], "ner_tags": ["O"]}\n'), 1, "invalid JSON")


def test_token_field_holding_a_string(tmp_path):
    path = write_file(tmp_path, "string.jsonl", json.dumps(RECORDS[0]) + "\n" + '{"tokens": "Ada wrote", "ner_tags": ["B-PER", "O"]}\n')
    expect_error(path, 2, "field 'tokens' holds a string, expected a list")


def test_length_mismatch_bad_tags_and_bad_records(tmp_path):
    expect_error(write_file(tmp_path, "length.jsonl", '{"tokens": ["a", "b"], "ner_tags": ["O"]}'), 1, "2 words in 'tokens' but 1 tags")
    expect_error(write_file(tmp_path, "tag.jsonl", '{"tokens": ["a"], "ner_tags": ["O"]}\n{"tokens": ["a"], "ner_tags": ["b-per"]}'), 2, "'B-per'")
    expect_error(write_file(tmp_path, "word.jsonl", '{"tokens": ["a", ""], "ner_tags": ["O", "O"]}'), 1, "expected a non-empty string")
    expect_error(write_file(tmp_path, "number.jsonl", '{"tokens": ["a"], "ner_tags": ["O"]}\n[1, 2]'), 2, "expected a JSON object")
    expect_error(write_file(tmp_path, "missing.json", '[{"tokens": ["a"], "ner_tags": ["O"]}, {"tokens": ["b"]}]'), None, "(record 1)", "no field 'ner_tags'")
    expect_error(write_file(tmp_path, "scalar.json", "42"), None, "got int")
    expect_error(write_file(tmp_path, "empty.jsonl", "\n \n"), None, "empty file")


# -------------------------------------------------------------------------------------------------------- CSV


def test_csv_cells_json_python_and_spaces(tmp_path):
    text = (
        "tokens,ner_tags,document_id,sentence_index\n"
        '"[""EU"", ""rejects""]","[""B-ORG"", ""O""]",d1,0\n'
        "\"['Peter', \"\"O'Neil\"\"]\",\"['B-PER', 'I-PER']\",d1,1\n"
        "Paris is,B-LOC O,,\n"
    )
    sentences = read(write_file(tmp_path, "train.csv", text))
    assert as_tuples(sentences) == [
        (["EU", "rejects"], ["B-ORG", "O"], "d1", 0),
        (["Peter", "O'Neil"], ["B-PER", "I-PER"], "d1", 1),
        (["Paris", "is"], ["B-LOC", "O"], None, 0),
    ]
    assert [s.line for s in sentences] == [2, 3, 4]


def test_tsv_and_integer_tags_in_space_separated_cells(tmp_path):
    path = write_file(tmp_path, "train.tsv", "words\tlabels\nAda wrote\t1 0\n")
    assert read(path, label_list=["O", "B-PER"])[0].ner_tags == ["B-PER", "O"]


def test_csv_never_evaluates_cells(tmp_path, capsys):
    path = write_file(tmp_path, "evil.csv", "tokens,ner_tags\n\"[__import__('os').system('echo pwned')]\",[\"O\"]\n")
    expect_error(path, 2, "neither a JSON nor a Python list")
    assert "pwned" not in capsys.readouterr().out


def test_csv_unterminated_quote_reports_where_it_opened(tmp_path):
    text = 'tokens,ner_tags\nAda,B-PER\n"Bob,B-PER\nCy,B-PER\nDan,B-PER\n'
    expect_error(write_file(tmp_path, "quote.csv", text), 3, "unterminated quote")


def test_csv_quote_that_swallows_lines_is_pointed_out(tmp_path):
    text = 'tokens,ner_tags\nAda,B-PER\n"Bob,B-PER\nCy",B-PER\n'
    expect_error(write_file(tmp_path, "swallow.csv", text), 3, "runs from line 3 to 4", "unbalanced quote")


def test_csv_missing_cells_and_bad_lists(tmp_path):
    expect_error(write_file(tmp_path, "short.csv", "tokens,ner_tags\nAda B-PER\n"), 2, "field 'ner_tags' is missing")
    expect_error(write_file(tmp_path, "dict.csv", 'tokens,ner_tags\nAda,"[""O"""\n'), 2, "neither a JSON nor a Python list")
    expect_error(write_file(tmp_path, "length.csv", "tokens,ner_tags\nAda wrote,O\n"), 2, "2 words in 'tokens' but 1 tags")


# ------------------------------------------------------------------------------------------------------ writing


def test_json_lines_writer_output(tmp_path):
    sentences = [Sentence(["Zürich", "a b"], ["B-LOC", "O"], document_id="d1", sentence_index=3), Sentence(["x"], ["O"])]
    path = tmp_path / "out.jsonl"
    tabular.write(sentences, path, FormatOptions())
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == '{"tokens": ["Zürich", "a b"], "ner_tags": ["B-LOC", "O"], "document_id": "d1", "sentence_index": 3}'
    assert json.loads(lines[1]) == {"tokens": ["x"], "ner_tags": ["O"], "sentence_index": 0}


def test_csv_writer_output(tmp_path):
    path = tmp_path / "out.csv"
    tabular.write([Sentence(["a,\"b\""], ["O"], document_id="d,1"), Sentence(["c"], ["O"])], path, FormatOptions())
    assert path.read_text().splitlines() == [
        "tokens,ner_tags,document_id,sentence_index",
        '"[""a,\\""b\\""""]","[""O""]","d,1",0',
        '"[""c""]","[""O""]",,0',
    ]


def test_writers_refuse_bad_sentences(tmp_path):
    for name in ("out.jsonl", "out.csv"):
        with pytest.raises(NerDataError, match="is not a tag"):
            tabular.write([Sentence(["a"], ["PER"])], tmp_path / name, FormatOptions())
        with pytest.raises(NerDataError, match="1 words but 2 tags"):
            tabular.write([Sentence(["a"], ["O", "O"])], tmp_path / name, FormatOptions())
        assert not (tmp_path / name).exists()
    with pytest.raises(NerDataError, match="line break or NUL"):
        tabular.write([Sentence(["a"], ["O"], document_id="two\nlines")], tmp_path / "out.csv", FormatOptions())


def test_registry_json_and_csv(tmp_path):
    sentences = [Sentence(["Ada"], ["B-PER"], document_id="d1")]
    write_sentences(sentences, tmp_path / "a.csv", "csv")
    write_sentences(sentences, tmp_path / "a.jsonl", "json")
    assert as_tuples(read_sentences(tmp_path / "a.csv", "csv")) == as_tuples(sentences)
    assert as_tuples(read_sentences(tmp_path / "a.jsonl", "json")) == as_tuples(sentences)


# ---------------------------------------------------------------------------------------------------- round trip

words = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8)
tags = st.one_of(st.just("O"), st.builds("{}-{}".format, st.sampled_from("BIES"), st.from_regex(r"[A-Za-z][A-Za-z_-]{0,6}", fullmatch=True)))
document_ids = st.one_of(st.none(), st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"), min_size=1, max_size=6))
sentences = st.lists(
    st.builds(
        lambda pairs, document_id, index: Sentence([w for w, _ in pairs], [t for _, t in pairs], document_id=document_id, sentence_index=index),
        st.lists(st.tuples(words, tags), min_size=1, max_size=5),
        document_ids,
        st.integers(0, 1000),
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=60, deadline=None)
@given(sentences=sentences, name=st.sampled_from(["round.jsonl", "round.json", "round.csv", "round.tsv"]))
def test_round_trip_property(sentences, name):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        tabular.write(sentences, path, FormatOptions())
        assert as_tuples(read(path)) == as_tuples(sentences)


# ------------------------------------------------------------------------------------------------ real corpora


def test_conll2003_through_json_keeps_words_tags_and_documents(shared_data, tmp_path):
    original = list(conll.read(shared_data / "conll2003" / "eng.train", FormatOptions()))
    tabular.write(original, tmp_path / "train.jsonl", FormatOptions())
    middle = read(tmp_path / "train.jsonl")
    assert as_tuples(middle) == as_tuples(original)
    assert len({s.document_id for s in middle}) == 946
    conll.write(middle, tmp_path / "train.conll", FormatOptions())
    assert as_tuples(conll.read(tmp_path / "train.conll", FormatOptions())) == as_tuples(original)
