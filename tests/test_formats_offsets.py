"""Offset JSON (spaCy style): reading into sentences, writing back, sniffing, and every error it reports."""

import json

import pytest

from nerkit.corpus import Sentence
from nerkit.errors import NerDataError
from nerkit.formats import FormatOptions, guess_format, read_sentences, write_sentences
from nerkit.formats.json_records import sniff_json_format
from nerkit.formats.offsets import merge_crossing


def write_lines(path, records):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records), encoding="utf-8")
    return path


def read(path, options=None):
    return read_sentences(path, "offsets", options or FormatOptions())


def test_read_one_document_into_sentences(tmp_path):
    text = "Ada Lovelace met Charles Babbage in London. They wrote notes."
    path = write_lines(tmp_path / "d.jsonl", [{"id": "doc7", "text": text, "entities": [[0, 12, "PER"], [17, 32, "PER"], [36, 42, "LOC"]]}])
    first, second = read(path)
    assert first.tokens == ["Ada", "Lovelace", "met", "Charles", "Babbage", "in", "London", "."]
    assert first.ner_tags == ["B-PER", "I-PER", "O", "B-PER", "I-PER", "O", "B-LOC", "O"]
    assert second.tokens == ["They", "wrote", "notes", "."] and second.ner_tags == ["O"] * 4
    assert (first.document_id, first.sentence_index, second.sentence_index) == ("doc7", 0, 1)
    # offsets stay relative to the whole line's text
    assert first.text == second.text == text
    assert all(text[s:e] == token for sentence in (first, second) for token, (s, e) in zip(sentence.tokens, sentence.offsets))
    assert second.offsets[0] == (44, 48) and second.extra["char_start"] == 44
    assert first.line == second.line == 1


def test_dict_entities_tuple_lines_ids_and_blank_lines(tmp_path):
    path = write_lines(
        tmp_path / "d.jsonl",
        [
            {"text": "Rome is old.", "entities": [{"start": 0, "end": 4, "label": "LOC"}]},
            "",
            ["Paris too.", {"entities": [[0, 5, "LOC"]]}],
            {"document_id": 42, "text": "Nothing here.", "entities": []},
            {"text": "No entities key."},
        ],
    )
    sentences = read(path)
    assert [s.document_id for s in sentences] == ["line-1", "line-3", "42", "line-5"]
    assert [s.ner_tags[0] for s in sentences] == ["B-LOC", "B-LOC", "O", "O"]


def test_whole_file_json_list(tmp_path):
    path = tmp_path / "d.json"
    path.write_text('[\n  {"text": "Ada ran.", "entities": [[0, 3, "PER"]]},\n  {"text": "Bob sat.", "entities": []}\n]\n')
    sentences = read(path)
    assert [s.tokens for s in sentences] == [["Ada", "ran", "."], ["Bob", "sat", "."]]
    assert [s.line for s in sentences] == [2, 3]


def test_round_trip_gives_identical_text_and_entities(tmp_path):
    records = [
        {"id": "a", "text": "  Dr. Ada Lovelace (née Byron) met U.S. envoys.\n\nThen BRCA1-associated risk rose 3.5-fold!  ", "entities": [[6, 18, "PER"], [24, 29, "PER"], [35, 39, "LOC"], [54, 59, "GENE"]]},
        {"id": "b", "text": "Émile 👍🏽 liked the café in Zürich.", "entities": [[0, 5, "PER"], [27, 33, "LOC"]]},
        {"id": "c", "text": "nothing to see", "entities": []},
    ]
    source = write_lines(tmp_path / "in.jsonl", records)
    sentences = read(source)
    assert len({s.document_id for s in sentences}) == 3
    write_sentences(sentences, tmp_path / "out.jsonl", "offsets")
    assert [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()] == records


def test_generated_ids_are_not_written_back(tmp_path):
    source = write_lines(tmp_path / "in.jsonl", [{"text": "Ada ran.", "entities": [[0, 3, "PER"]]}])
    write_sentences(read(source), tmp_path / "out.jsonl", "offsets")
    assert json.loads((tmp_path / "out.jsonl").read_text()) == {"text": "Ada ran.", "entities": [[0, 3, "PER"]]}


def test_write_without_text_rebuilds_it(tmp_path):
    sentences = [
        Sentence(["Ada", "met", "Bob", "Smith", "."], ["B-PER", "O", "B-PER", "I-PER", "O"], document_id="d1"),
        Sentence(["Bye", "!"], ["O", "O"], document_id="d1"),
        Sentence(["Rome"], ["B-LOC"]),
        Sentence(["Oslo"], ["B-LOC"]),
    ]
    write_sentences(sentences, tmp_path / "out.jsonl", "offsets")
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert lines == [
        {"id": "d1", "text": "Ada met Bob Smith .\nBye !", "entities": [[0, 3, "PER"], [8, 17, "PER"]]},
        {"text": "Rome", "entities": [[0, 4, "LOC"]]},
        {"text": "Oslo", "entities": [[0, 4, "LOC"]]},
    ]
    again = read(tmp_path / "out.jsonl")
    assert [(s.tokens, s.ner_tags) for s in again] == [(s.tokens, s.ner_tags) for s in sentences]


def test_boundary_next_to_punctuation_cuts_the_word(tmp_path):
    path = write_lines(tmp_path / "d.jsonl", [{"text": "A BRCA1-associated tumour-suppressor.", "entities": [[2, 7, "GENE"], [19, 25, "DIS"]]}])
    (sentence,) = read(path)
    assert sentence.tokens == ["A", "BRCA1", "-", "associated", "tumour", "-", "suppressor", "."]
    assert sentence.ner_tags == ["O", "B-GENE", "O", "O", "B-DIS", "O", "O", "O"]


def test_entity_across_a_sentence_split_merges_the_sentences(tmp_path):
    text = "He met Dr. Who. Jones Ltd. Then nothing. Bye now."
    options = FormatOptions()
    path = write_lines(tmp_path / "d.jsonl", [{"text": text, "entities": [[11, 21, "PER"]]}])
    sentences = read(path, options)
    assert [" ".join(s.tokens) for s in sentences] == ["He met Dr. Who . Jones Ltd. Then nothing .", "Bye now ."]
    assert sentences[0].ner_tags[3:6] == ["B-PER", "I-PER", "I-PER"]
    assert options.report.counts["sentences merged"] == 1
    assert '[11, 21, "PER"]' in options.report.notes[0] and "d.jsonl:1" in options.report.notes[0]


def test_merge_crossing_chains():
    assert merge_crossing([(0, 2), (3, 5), (6, 8), (9, 10)], [(1, 4), (4, 7)]) == ([(0, 8), (9, 10)], [0, 1])
    assert merge_crossing([(0, 2), (3, 5)], []) == ([(0, 2), (3, 5)], [])


TEXT = "Ada met Bob here."


@pytest.mark.parametrize(
    "entities, problem, shown",
    [
        ([[0, 99, "PER"]], "outside the text", '[0, 99, "PER"]'),
        ([[-1, 3, "PER"]], "outside the text", '[-1, 3, "PER"]'),
        ([[3, 3, "PER"]], "empty or reversed", '[3, 3, "PER"]'),
        ([[8, 5, "PER"]], "empty or reversed", '[8, 5, "PER"]'),
        ([[0, 2, "PER"]], "ends inside the word 'Ada'", '[0, 2, "PER"]'),
        ([[9, 11, "PER"]], "starts inside the word 'Bob'", '[9, 11, "PER"]'),
        ([[3, 7, "PER"]], "starts on whitespace", '[3, 7, "PER"]'),
        ([[0, 4, "PER"]], "ends on whitespace", '[0, 4, "PER"]'),
        ([[3, 4, "PER"]], "covers only whitespace", '[3, 4, "PER"]'),
        ([[0, 7, "PER"], [4, 11, "PER"]], 'overlaps entity [0, 7, "PER"]', '[4, 11, "PER"]'),
        ([[0, 3, "PER"], [0, 3, "PER"]], "overlaps", '[0, 3, "PER"]'),
        ([[0, 3, 7]], "label is not a string", "[0, 3, 7]"),
        ([[0, 3, ""]], "the label is empty", '[0, 3, ""]'),
        ([[0, "3", "PER"]], "must be integers", '[0, "3", "PER"]'),
        ([[0, 3]], "is not [start, end, label]", "[0, 3]"),
        ([{"start": 0, "label": "PER"}], "is not [start, end, label]", '{"start": 0, "label": "PER"}'),
    ],
)
def test_bad_entities_name_file_line_and_entity(tmp_path, entities, problem, shown):
    path = write_lines(tmp_path / "bad.jsonl", [{"text": "Fine.", "entities": []}, {"text": TEXT, "entities": entities}])
    with pytest.raises(NerDataError) as caught:
        read(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:2: ")
    assert problem in message and shown in message


@pytest.mark.parametrize(
    "line, problem",
    [
        ('{"text": "Ada", "entities": [[0, 3, "PER"]]', "invalid JSON"),
        ('{"entities": []}', 'missing "text"'),
        ('{"text": 5, "entities": []}', '"text" is not a string'),
        ('{"text": "Ada", "entities": {"0": "PER"}}', '"entities" is not a list'),
        ('{"text": "Ada", "entities": [], "id": [1]}', '"id" is not a string'),
        ("42", 'expected an object with "text"'),
    ],
)
def test_bad_records_name_file_and_line(tmp_path, line, problem):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "Fine.", "entities": []}\n\n' + line + "\n")
    with pytest.raises(NerDataError) as caught:
        read(path)
    assert str(caught.value).startswith(f"{path}:3: ") and problem in str(caught.value)


def test_bad_json_list_names_the_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('[\n {"text": "Ada.", "entities": []},\n {"text": "Bob.", "entities": [[0, 9, "PER"]]}\n]')
    with pytest.raises(NerDataError, match=r"bad.json:3: entity \[0, 9, \"PER\"\] is outside"):
        read(path)
    path.write_text('[\n {"text": "Ada.", "entities": []}\n {"text": "Bob."}\n]')
    with pytest.raises(NerDataError, match=r"bad.json:2: invalid JSON: expected ','"):
        read(path)


def test_empty_text_is_noted_and_skipped(tmp_path):
    options = FormatOptions()
    path = write_lines(tmp_path / "d.jsonl", [{"text": " \n ", "entities": []}, {"text": "Ada.", "entities": []}])
    assert [s.tokens for s in read(path, options)] == [["Ada", "."]]
    assert options.report.counts["empty documents"] == 1


@pytest.mark.parametrize(
    "content, expected",
    [
        ('{"text": "Ada", "entities": [[0, 3, "PER"]]}\n', "offsets"),
        ('\ufeff\n\n{"text": "Ada", "entities": []}\n', "offsets"),
        ('["Ada", {"entities": [[0, 3, "PER"]]}]\n', "offsets"),
        ('[\n {"text": "Ada", "entities": []},\n {"text": "Bob", "entities": []}\n]', "offsets"),
        ('{"tokens": ["Ada"], "ner_tags": ["B-PER"]}\n', "json"),
        ('[{"tokens": ["Ada"], "ner_tags": ["B-PER"]}]', "json"),
        ('{"data": [{"tokens": ["Ada"], "ner_tags": ["B-PER"]}]}', "json"),
        ('{"text": ["Ada"], "entities": []}\n', "json"),
        ("not json at all", "json"),
        ("", "json"),
    ],
)
def test_sniff_json_format(tmp_path, content, expected):
    path = tmp_path / "data.jsonl"
    path.write_text(content, encoding="utf-8")
    assert sniff_json_format(path) == expected


def test_sniff_reads_only_the_start_of_a_long_list(tmp_path):
    path = tmp_path / "big.json"
    record = {"text": "Ada Lovelace wrote notes. " * 20, "entities": [[0, 12, "PER"]]}
    path.write_text("[" + ",\n".join(json.dumps(record) for _ in range(2000)) + "]")
    assert path.stat().st_size > 64 * 1024
    assert sniff_json_format(path) == "offsets" and guess_format(path) == "offsets"
    assert sniff_json_format(tmp_path / "missing.json") == "json"
