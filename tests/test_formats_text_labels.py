"""NeMo text.txt + labels.txt pairs: reading, writing, label_ids.csv, round trips and bad inputs."""

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nerkit.corpus import Sentence
from nerkit.errors import NerDataError
from nerkit.formats import FormatOptions, conll, read_sentences, text_labels, write_sentences
from nerkit.formats.splits import find_splits


def pair(folder: Path, text: str, labels: str, suffix: str = "", encoding: str = "utf-8") -> Path:
    (folder / f"labels{suffix}.txt").write_bytes(labels.encode(encoding))
    path = folder / f"text{suffix}.txt"
    path.write_bytes(text.encode(encoding))
    return path


def read(path: Path, **options):
    return list(text_labels.read(path, FormatOptions(**options)))


def test_reads_pairs_with_lines(tmp_path):
    path = pair(tmp_path, "Ada Lovelace wrote\nin  London .\n", "B-PER I-PER O\nO B-LOC O\n", "_train")
    sentences = read(path)
    assert [s.tokens for s in sentences] == [["Ada", "Lovelace", "wrote"], ["in", "London", "."]]
    assert [s.ner_tags for s in sentences] == [["B-PER", "I-PER", "O"], ["O", "B-LOC", "O"]]
    assert [(s.line, s.sentence_index, s.document_id) for s in sentences] == [(1, 0, None), (2, 1, None)]


def test_partner_is_found_from_either_file_or_a_folder(tmp_path):
    path = pair(tmp_path, "Ada\n", "B-PER\n", "_dev")
    assert read(tmp_path / "labels_dev.txt")[0].tokens == ["Ada"]
    assert read(tmp_path)[0].tokens == ["Ada"]
    assert text_labels.partner_paths(path) == (path, tmp_path / "labels_dev.txt")
    pair(tmp_path, "Bob\n", "B-PER\n", "_test")
    with pytest.raises(NerDataError, match="several text files"):
        read(tmp_path)


def test_blank_pairs_are_skipped_and_trailing_blanks_ignored(tmp_path):
    options = FormatOptions()
    path = pair(tmp_path, "Ada\n\nBob\n\n\n", "B-PER\n\nB-PER\n")
    sentences = list(text_labels.read(path, options))
    assert [s.line for s in sentences] == [1, 3]
    assert options.report.counts["empty_sentences"] == 1


def test_bom_crlf_and_latin1(tmp_path):
    path = pair(tmp_path, "\ufeffAda wrote\r\nZürich\r\n", "B-PER O\r\nB-LOC\r\n")
    assert [s.tokens for s in read(path)] == [["Ada", "wrote"], ["Zürich"]]
    latin = pair(tmp_path, "Zürich\n", "B-LOC\n", "_latin", encoding="latin-1")
    assert read(latin, encoding="latin-1")[0].tokens == ["Zürich"]
    with pytest.raises(NerDataError, match=r"text_latin.txt:1:.*latin-1"):
        read(latin)


def test_line_count_mismatch_names_both_files(tmp_path):
    path = pair(tmp_path, "Ada\nBob\nCy\n", "B-PER\nB-PER\n", "_train")
    with pytest.raises(NerDataError) as caught:
        read(path)
    message = str(caught.value)
    assert "text_train.txt has 3 lines" in message and "labels_train.txt has 2" in message


def test_word_label_count_mismatch_names_line_and_counts(tmp_path):
    path = pair(tmp_path, "Ada wrote\nBob did it\n", "B-PER O\nB-PER O\n")
    with pytest.raises(NerDataError) as caught:
        read(path)
    assert str(caught.value).startswith(f"{tmp_path / 'labels.txt'}:2: 2 labels for 3 words")


def test_bad_tag_and_missing_partner(tmp_path):
    path = pair(tmp_path, "Ada wrote\nBob\n", "B-PER O\nB_PER\n")
    with pytest.raises(NerDataError, match=r"labels.txt:2: tag 'B_PER' is not a tag.*'B-PER'"):
        read(path)
    lonely = tmp_path / "alone"
    lonely.mkdir()
    (lonely / "text.txt").write_text("Ada\n")
    with pytest.raises(NerDataError, match="labels.txt not found"):
        read(lonely / "text.txt")
    with pytest.raises(NerDataError, match="text\\*.txt"):
        read(tmp_path / "corpus.txt")


def test_writer_writes_both_files_and_notes_lost_documents(tmp_path):
    sentences = [Sentence(["Ada", "wrote"], ["B-PER", "O"], document_id="d1"), Sentence([], []), Sentence(["Bob"], ["B-PER"], document_id="d2")]
    options = FormatOptions()
    text_labels.write(sentences, tmp_path / "text_test.txt", options)
    assert (tmp_path / "text_test.txt").read_text() == "Ada wrote\nBob\n"
    assert (tmp_path / "labels_test.txt").read_text() == "B-PER O\nB-PER\n"
    assert options.report.counts["lost_documents"] == 1 and options.report.counts["empty_sentences"] == 1
    assert any("document boundaries" in note for note in options.report.notes)


@pytest.mark.parametrize("token", ["New York", "a\u00a0b", "", "x\ty"])
def test_writer_refuses_words_with_whitespace(tmp_path, token):
    with pytest.raises(NerDataError, match="whitespace"):
        text_labels.write([Sentence([token], ["O"])], tmp_path / "text.txt", FormatOptions())
    assert not (tmp_path / "text.txt").exists() and not (tmp_path / "labels.txt").exists()


def test_label_ids_file(tmp_path):
    path = tmp_path / "label_ids.csv"
    assert text_labels.write_label_ids(["I-LOC", "B-PER", "B-LOC", "O"], path) == ["O", "B-LOC", "B-PER", "I-LOC"]
    assert path.read_text() == "O\nB-LOC\nB-PER\nI-LOC\n"
    assert text_labels.read_label_ids(path) == ["O", "B-LOC", "B-PER", "I-LOC"]
    assert text_labels.write_label_ids(["B-X"], path) == ["O", "B-X"]  # O is always id 0
    with pytest.raises(NerDataError, match="'PER' is not a tag"):
        text_labels.write_label_ids(["PER"], path)
    path.write_text("O\n\nB-X\n")
    with pytest.raises(NerDataError, match="label_ids.csv:2: blank line"):
        text_labels.read_label_ids(path)


def test_registry_guesses_text_labels(tmp_path):
    path = pair(tmp_path, "Ada\n", "B-PER\n", "_train")
    assert read_sentences(path)[0].ner_tags == ["B-PER"]
    write_sentences(read_sentences(path), tmp_path / "out" / "text.txt", "text_labels")
    assert (tmp_path / "out" / "labels.txt").read_text() == "B-PER\n"


def test_nemo_folder_splits(tmp_path):
    for split in ("train", "dev", "test"):
        pair(tmp_path, "Ada\n", "B-PER\n", f"_{split}")
    text_labels.write_label_ids(["B-PER"], tmp_path / "label_ids.csv")
    found = find_splits(tmp_path)
    assert {k: v.name for k, v in found.items()} == {"train": "text_train.txt", "validation": "text_dev.txt", "test": "text_test.txt"}
    assert read(found["validation"])[0].tokens == ["Ada"]


# ---------------------------------------------------------------------------------------------------- round trip

words = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=8).filter(
    lambda word: not any(c.isspace() for c in word)
)
tags = st.one_of(st.just("O"), st.builds("{}-{}".format, st.sampled_from("BIES"), st.from_regex(r"[A-Za-z][A-Za-z_-]{0,6}", fullmatch=True)))
sentences = st.lists(st.lists(st.tuples(words, tags), min_size=1, max_size=6), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(sentences=sentences)
def test_round_trip_property(sentences):
    original = [Sentence([w for w, _ in pairs], [t for _, t in pairs], sentence_index=i) for i, pairs in enumerate(sentences)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "text_x.txt"
        text_labels.write(original, path, FormatOptions())
        back = read(path)
    assert [(s.tokens, s.ner_tags, s.document_id, s.sentence_index) for s in back] == [
        (s.tokens, s.ner_tags, None, s.sentence_index) for s in original
    ]


# ------------------------------------------------------------------------------------------------ real corpora


def test_conll2003_through_text_labels_keeps_words_and_tags(shared_data, tmp_path):
    original = list(conll.read(shared_data / "conll2003" / "eng.train", FormatOptions()))
    options = FormatOptions()
    text_labels.write(original, tmp_path / "text_train.txt", options)
    assert options.report.counts["lost_documents"] == 1
    middle = read(tmp_path / "text_train.txt")
    conll.write(middle, tmp_path / "train.conll", FormatOptions())
    back = list(conll.read(tmp_path / "train.conll", FormatOptions()))
    assert len(back) == 14041
    assert [(s.tokens, s.ner_tags) for s in back] == [(s.tokens, s.ner_tags) for s in original]
