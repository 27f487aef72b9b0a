"""Annotation-tool exports (doccano, Prodigy, Label Studio): reading, choosing annotations, offsets in code points
or UTF-16, writing back, guessing the format from the content, and the errors they report."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nerkit.errors import NerDataError
from nerkit.formats import FormatOptions, guess_format, read_sentences, write_sentences
from nerkit.formats.labelstudio import utf16_positions
from nerkit.schemes import get_spans

ROOT = Path(__file__).resolve().parent.parent
EMOJI_TEXT = "😀 Ada met Bob 👍 in Paris."  # two astral characters: UTF-16 offsets drift by one after each


def write_lines(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def tagged(sentences):
    return [list(zip(s.tokens, s.ner_tags)) for s in sentences]


def entities(sentences):
    return [(s.document_id, token, tag) for s in sentences for token, tag in zip(s.tokens, s.ner_tags) if tag != "O"]


def ls_task(text, results, task_id=1, **task):
    return {"id": task_id, "data": {"text": text}, "annotations": [{"id": 10, "result": results}], **task}


def region(start, end, label, text=None, to_name="text", kind="labels"):
    value = {"start": start, "end": end, "labels": [label]}
    if text is not None:
        value["text"] = text
    return {"from_name": "label", "to_name": to_name, "type": kind, "value": value}


# --- doccano ---------------------------------------------------------------------------------------------


def test_doccano_both_shapes_guessed_from_content(tmp_path):
    path = write_lines(tmp_path / "export.jsonl", [
        {"id": 1, "text": "Peter lives in Paris", "label": [[0, 5, "PER"], [15, 20, "LOC"]]},
        {"id": 2, "text": "Ada met Bob", "entities": [{"id": 9, "start_offset": 8, "end_offset": 11, "label": "PER"}], "relations": []},
    ])
    both = write_lines(tmp_path / "entities.jsonl", [{"text": "Ada met Bob", "entities": [{"start_offset": 0, "end_offset": 3, "label": "PER"}]}])
    assert guess_format(path) == "doccano" and guess_format(both) == "doccano"
    first, second = read_sentences(path)
    assert tagged([first]) == [[("Peter", "B-PER"), ("lives", "O"), ("in", "O"), ("Paris", "B-LOC")]]
    assert second.ner_tags == ["O", "O", "B-PER"] and (first.document_id, second.document_id) == ("1", "2")
    assert read_sentences(both)[0].ner_tags == ["B-PER", "O", "O"]


def test_doccano_written_and_read_back(tmp_path):
    source = write_lines(tmp_path / "in.jsonl", [{"id": "a", "text": "Ada met Bob.\nThen Eve came.", "label": [[8, 11, "PER"], [18, 21, "PER"]]}])
    sentences = read_sentences(source, "doccano")
    write_sentences(sentences, tmp_path / "out.doccano.jsonl", "doccano")
    record = json.loads((tmp_path / "out.doccano.jsonl").read_text(encoding="utf-8"))
    assert record == {"id": "a", "text": "Ada met Bob.\nThen Eve came.", "label": [[8, 11, "PER"], [18, 21, "PER"]]}


# --- Prodigy ---------------------------------------------------------------------------------------------


def test_prodigy_tokens_are_the_words_and_rejected_answers_are_skipped(tmp_path):
    text = "I don't know Ada."
    tokens = [(0, 1), (2, 4), (4, 7), (8, 12), (13, 16), (16, 17)]  # spaCy splits "do" "n't"; nerkit.words would not
    path = write_lines(tmp_path / "db.jsonl", [
        {"text": text, "tokens": [{"text": text[s:e], "start": s, "end": e, "id": i} for i, (s, e) in enumerate(tokens)],
         "spans": [{"start": 13, "end": 16, "token_start": 4, "token_end": 4, "label": "PER"}], "answer": "accept", "meta": {"id": "p1"}},
        {"text": "Bob slept.", "spans": [{"start": 0, "end": 3, "label": "PER"}], "answer": "reject"},
        {"text": "Eve slept.", "spans": [], "answer": "ignore"},
        {"text": "Eve woke.", "spans": [{"start": 0, "end": 3, "label": "PER"}]},  # no answer: a pre-annotation, read
    ])
    assert guess_format(path) == "prodigy"
    options = FormatOptions()
    first, second = read_sentences(path, options=options)
    assert first.tokens == ["I", "do", "n't", "know", "Ada", "."] and first.ner_tags[4] == "B-PER"
    assert first.document_id == "p1" and second.tokens == ["Eve", "woke", "."] and second.ner_tags[0] == "B-PER"
    assert options.report.counts["prodigy answers skipped"] == 2


def test_prodigy_written_with_tokens_and_inclusive_token_end(tmp_path):
    source = write_lines(tmp_path / "in.jsonl", [{"id": "d", "text": "Ada Lovelace met Bob", "entities": [[0, 12, "PER"]]}])
    write_sentences(read_sentences(source, "offsets"), tmp_path / "out.prodigy.jsonl", "prodigy")
    record = json.loads((tmp_path / "out.prodigy.jsonl").read_text(encoding="utf-8"))
    assert record["spans"] == [{"start": 0, "end": 12, "token_start": 0, "token_end": 1, "label": "PER"}]
    assert [t["text"] for t in record["tokens"]] == ["Ada", "Lovelace", "met", "Bob"] and record["answer"] == "accept"
    assert tagged(read_sentences(tmp_path / "out.prodigy.jsonl")) == tagged(read_sentences(source, "offsets"))


def test_prodigy_token_that_does_not_spell_the_text_is_an_error(tmp_path):
    path = write_lines(tmp_path / "db.jsonl", [{"text": "Ada met Bob", "tokens": [{"text": "Ada", "start": 1, "end": 4}], "spans": []}])
    with pytest.raises(NerDataError, match=r"db.jsonl:1: token 0 \[1, 4\] does not match the text"):
        read_sentences(path, "prodigy")


# --- Label Studio -----------------------------------------------------------------------------------------


def test_labelstudio_latest_annotation_not_cancelled_and_the_choices(tmp_path):
    task = {"id": 3, "data": {"text": "Ada met Bob"}, "annotations": [
        {"id": 1, "created_at": "2026-01-01T00:00:00Z", "result": [region(0, 3, "PER")]},
        {"id": 2, "created_at": "2026-03-01T00:00:00Z", "result": [region(8, 11, "PER")]},
        {"id": 4, "created_at": "2026-05-01T00:00:00Z", "was_cancelled": True, "result": [region(4, 7, "PER")]},
    ], "predictions": [{"model_version": "m1", "result": [region(0, 3, "ORG")]}]}
    path = tmp_path / "project.json"
    path.write_text(json.dumps([task]), encoding="utf-8")
    assert guess_format(path) == "labelstudio"

    def tags(annotation):
        return read_sentences(path, options=FormatOptions(annotation=annotation))[0].ner_tags

    assert tags("latest") == ["O", "O", "B-PER"]
    assert tags("first") == ["B-PER", "O", "O"]
    assert tags("1") == ["B-PER", "O", "O"]
    assert tags("predictions") == ["B-ORG", "O", "O"]
    assert read_sentences(path)[0].document_id == "3"


def test_labelstudio_other_results_and_tasks_without_annotation_are_counted(tmp_path):
    tasks = [
        ls_task("Ada met Bob", [region(0, 3, "PER"), {"type": "choices", "value": {"choices": ["news"]}, "to_name": "text"},
                                {"type": "relation", "from_id": "a", "to_id": "b"}]),
        {"id": 2, "data": {"text": "Eve"}, "annotations": [{"was_cancelled": True, "result": [region(0, 3, "PER")]}]},
    ]
    path = tmp_path / "p.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    options = FormatOptions()
    sentences = read_sentences(path, "labelstudio", options)
    assert tagged(sentences) == [[("Ada", "B-PER"), ("met", "O"), ("Bob", "O")]]
    assert options.report.counts["results ignored"] == 2 and options.report.counts["tasks without annotation"] == 1


def test_labelstudio_text_field_from_to_name_or_option(tmp_path):
    task = {"id": 1, "data": {"title": "x", "body": "Ada met Bob"}, "annotations": [{"result": [region(0, 3, "PER", to_name="body")]}]}
    path = tmp_path / "p.json"
    path.write_text(json.dumps([task]), encoding="utf-8")
    assert read_sentences(path, "labelstudio")[0].tokens == ["Ada", "met", "Bob"]
    with pytest.raises(NerDataError, match="task 1: no text field 'content'"):
        read_sentences(path, "labelstudio", FormatOptions(tokens_field="content"))


def test_labelstudio_regions_on_an_object_named_apart_from_its_data_field(tmp_path):
    """<Text name="doc" value="$sentence"/>: the regions' to_name is the object, not the field; with our
    document_id beside the text, the text is still the one other string."""
    task = {"id": 1, "data": {"sentence": "Ada met Bob", "document_id": "d1"},
            "annotations": [{"result": [region(0, 3, "PER", to_name="doc"), region(8, 11, "PER", to_name="doc")]}]}
    path = tmp_path / "p.json"
    path.write_text(json.dumps([task]), encoding="utf-8")
    options = FormatOptions()
    assert tagged(read_sentences(path, "labelstudio", options)) == [[("Ada", "B-PER"), ("met", "O"), ("Bob", "B-PER")]]
    assert not options.report.counts["results ignored"]


def test_labelstudio_astral_characters_code_points_and_utf16(tmp_path):
    ada, paris = EMOJI_TEXT.index("Ada"), EMOJI_TEXT.index("Paris")
    units = utf16_positions(EMOJI_TEXT)
    assert (units[ada], units[paris]) == (ada + 1, paris + 2)
    expected = [("1", "Ada", "B-PER"), ("1", "Paris", "B-LOC")]
    as_code_points = [region(ada, ada + 3, "PER", "Ada"), region(paris, paris + 5, "LOC", "Paris")]
    as_utf16 = [region(units[ada], units[ada + 3], "PER", "Ada"), region(units[paris], units[paris + 5], "LOC", "Paris")]
    for name, results, unit in (("cp", as_code_points, "auto"), ("cp2", as_code_points, "codepoints"),
                                ("u16", as_utf16, "auto"), ("u16b", as_utf16, "utf16")):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps([ls_task(EMOJI_TEXT, results)]), encoding="utf-8")
        options = FormatOptions(offset_unit=unit)
        assert entities(read_sentences(path, "labelstudio", options)) == expected, name
        assert options.report.counts["UTF-16 offsets converted"] == (name == "u16")
    # without region texts auto cannot tell: code points, what Label Studio stores; UTF-16 then needs the option
    bare = [region(units[ada], units[ada + 3], "PER"), region(units[paris], units[paris + 5], "LOC")]
    path = tmp_path / "bare.json"
    path.write_text(json.dumps([ls_task(EMOJI_TEXT, bare)]), encoding="utf-8")
    assert entities(read_sentences(path, "labelstudio", FormatOptions(offset_unit="utf16"))) == expected
    with pytest.raises(NerDataError, match="task 1: entity"):
        read_sentences(path, "labelstudio")
    # writing: code points by default, UTF-16 when asked; both read back to the same entities
    sentences = read_sentences(tmp_path / "cp.json", "labelstudio")
    for unit in ("codepoints", "utf16"):
        out = tmp_path / f"out-{unit}.labelstudio.json"
        write_sentences(sentences, out, "labelstudio", FormatOptions(offset_unit=unit))
        written = json.loads(out.read_text(encoding="utf-8"))[0]["annotations"][0]["result"]
        assert written[0]["value"]["start"] == (ada if unit == "codepoints" else units[ada])
        assert entities(read_sentences(out, "labelstudio", FormatOptions(offset_unit=unit))) == expected


@pytest.mark.parametrize(
    "results, data, message",
    [
        ([region(0, 30, "PER")], {"text": "Ada met Bob"}, r"task 7: entity \[0, 30, \"PER\"\] is outside the text"),
        ([region(0, 7, "PER"), region(4, 11, "PER")], {"text": "Ada met Bob"}, "task 7: entity .* overlaps entity"),
        ([region(0, 3, "PER")], {"title": 3}, "task 7: missing text field"),
        ([{"id": "r9", "type": "labels", "to_name": "text", "value": {"start": 0, "end": 3, "labels": []}}], {"text": "Ada"},
         "task 7: result r9 has no labels"),
    ],
)
def test_labelstudio_errors_name_the_file_and_task(tmp_path, results, data, message):
    path = tmp_path / "p.json"
    path.write_text(json.dumps([{"id": 7, "data": data, "annotations": [{"result": results}]}]), encoding="utf-8")
    with pytest.raises(NerDataError, match=message) as caught:
        read_sentences(path, "labelstudio")
    assert str(caught.value).startswith(f"{path}:1:")


def test_convert_iob_reads_and_writes_each_tool(tmp_path):
    """The CLI path a user takes: a doccano export in, each tool's format out, each read back to the same tags."""
    source = write_lines(tmp_path / "d.jsonl", [{"text": "Peter lives in Paris", "label": [[0, 5, "PER"], [15, 20, "LOC"]]}])
    want = tagged(read_sentences(source))
    for name in ("x.labelstudio.json", "x.prodigy.jsonl", "x.doccano.jsonl"):
        done = subprocess.run([sys.executable, str(ROOT / "convert_iob.py"), "--input", str(source), "--output", str(tmp_path / name)],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert tagged(read_sentences(tmp_path / name)) == want, name


def test_training_scripts_read_each_tool_by_content(tmp_path):
    """Both training scripts load their splits through nerkit.data.load_data: the formats are guessed there too."""
    from nerkit.arguments import DataTrainingArguments
    from nerkit.data import load_data

    write_lines(tmp_path / "train.jsonl", [{"text": "Ada met Bob", "label": [[0, 3, "PER"]]}])
    (tmp_path / "dev.json").write_text(json.dumps([ls_task("Bob met Ada", [region(8, 11, "PER")])]), encoding="utf-8")
    write_lines(tmp_path / "test.jsonl", [{"text": "Eve met Bob", "spans": [{"start": 8, "end": 11, "label": "PER"}], "answer": "accept"}])
    loaded = load_data(DataTrainingArguments(train_file=str(tmp_path / "train.jsonl"), validation_file=str(tmp_path / "dev.json"),
                                             test_file=str(tmp_path / "test.jsonl")))
    assert {split: s[0]["ner_tags"] for split, s in loaded.splits.items()} == {
        "train": ["B-PER", "O", "O"], "validation": ["O", "O", "B-PER"], "test": ["O", "O", "B-PER"]}


def test_labels_with_spaces_are_mapped_reversibly(tmp_path):
    """Label Studio users have labels like "Titre 2": a tag type in every format, the label again in the tools'."""
    text = "Titre Un et Titre Deux"
    results = [region(0, 8, "Titre 2"), region(12, 22, "Titre%202")]  # two labels that must stay two types
    path = tmp_path / "p.json"
    path.write_text(json.dumps([ls_task(text, results)]), encoding="utf-8")
    options = FormatOptions()
    sentences = read_sentences(path, "labelstudio", options)
    assert sentences[0].ner_tags == ["B-Titre%202", "I-Titre%202", "O", "B-Titre%25202", "I-Titre%25202"]
    assert options.report.counts["labels mapped"] == 2
    write_sentences(sentences, tmp_path / "x.conll", "conll")  # a format whose tags cannot hold a space
    conll = read_sentences(tmp_path / "x.conll", "conll")
    for name, format_name in (("back.labelstudio.json", "labelstudio"), ("back.doccano.jsonl", "doccano"), ("back.spacy.jsonl", "offsets")):
        write_sentences(conll, tmp_path / name, format_name)
    written = json.loads((tmp_path / "back.labelstudio.json").read_text(encoding="utf-8"))[0]["annotations"][0]["result"]
    assert [r["value"]["labels"] for r in written] == [["Titre 2"], ["Titre%202"]]
    assert json.loads((tmp_path / "back.doccano.jsonl").read_text(encoding="utf-8"))["label"] == [[0, 8, "Titre 2"], [12, 22, "Titre%202"]]
    assert read_sentences(tmp_path / "back.spacy.jsonl")[0].ner_tags == sentences[0].ner_tags


def character_entities(sentences):
    """(document, entity text, label) of every entity, its text cut from the document text when there is one."""
    found = []
    for s in sentences:
        for label, first, end in get_spans(s.ner_tags):
            text = s.text[s.offsets[first][0]:s.offsets[end - 1][1]] if s.text is not None else " ".join(s.tokens[first:end])
            found.append((s.document_id, text, label))
    return found


@pytest.mark.parametrize("corpus", ["conll2003/eng.testa", "ncbi_disease_brat/test"])
def test_real_corpora_round_trip_through_each_tool(shared_data, tmp_path, corpus):
    """CoNLL-2003 eng.testa and NCBI-disease (BRAT) -> each tool's format -> back: every character of every word and
    every entity (document, text, label) kept; Prodigy, which holds the words, keeps every word as it was."""
    source = read_sentences(shared_data / corpus)
    characters = "".join(t for s in source for t in s.tokens)
    for fmt, name in (("labelstudio", "x.labelstudio.json"), ("doccano", "x.doccano.jsonl"), ("prodigy", "x.prodigy.jsonl")):
        write_sentences(source, tmp_path / name, fmt)
        back = read_sentences(tmp_path / name)
        assert "".join(t for s in back for t in s.tokens) == characters, fmt
        assert character_entities(back) == character_entities(source), fmt
        if fmt == "prodigy" or corpus.startswith("ncbi"):
            assert [t for s in back for t in s.tokens] == [t for s in source for t in s.tokens], fmt


def test_labelstudio_export_with_predictions_by_id_says_so(tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps([{"id": 1, "data": {"text": "Ada"}, "annotations": [], "predictions": [3]},
                                ls_task("Bob", [region(0, 3, "PER")], task_id=2, predictions=[{"result": [region(0, 3, "ORG")]}])]),
                    encoding="utf-8")
    options = FormatOptions(annotation="predictions")
    assert [s.ner_tags for s in read_sentences(path, "labelstudio", options)] == [["B-ORG"]]
    assert options.report.counts["tasks without annotation"] == 1 and "predictions by id only" in options.report.notes[0]


def test_doccano_astral_characters_code_points_and_utf16(tmp_path):
    """doccano's browser counts UTF-16 code units (doccano #2290), Python code points: both read, and written."""
    ada, paris = EMOJI_TEXT.index("Ada"), EMOJI_TEXT.index("Paris")
    units = utf16_positions(EMOJI_TEXT)
    expected = [("d", "Ada", "B-PER"), ("d", "Paris", "B-LOC")]
    as_code_points = [[ada, ada + 3, "PER"], [paris, paris + 5, "LOC"]]
    as_utf16 = [[units[ada], units[ada + 3], "PER"], [units[paris], units[paris + 5], "LOC"]]
    for name, label, unit, converted in (("cp", as_code_points, "auto", 0), ("u16", as_utf16, "auto", 1), ("u16b", as_utf16, "utf16", 0)):
        path = write_lines(tmp_path / f"{name}.jsonl", [{"id": "d", "text": EMOJI_TEXT, "label": label}])
        options = FormatOptions(offset_unit=unit)
        assert entities(read_sentences(path, "doccano", options)) == expected, name
        assert options.report.counts["UTF-16 offsets converted"] == converted, name
    with pytest.raises(NerDataError, match="u16c.jsonl:1: entity"):  # forced code points: UTF-16 offsets miss the words
        read_sentences(write_lines(tmp_path / "u16c.jsonl", [{"id": "d", "text": EMOJI_TEXT, "label": as_utf16}]), "doccano",
                       FormatOptions(offset_unit="codepoints"))
    sentences = read_sentences(tmp_path / "cp.jsonl", "doccano")
    write_sentences(sentences, tmp_path / "out.jsonl", "doccano", FormatOptions(offset_unit="utf16"))
    assert json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8"))["label"] == as_utf16
