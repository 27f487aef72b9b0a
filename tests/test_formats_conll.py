"""CoNLL column files: reading, writing, round trips, every bad input, dataset folder splits."""

import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nerkit.corpus import Sentence
from nerkit.errors import NerDataError
from nerkit.formats import FormatOptions, conll, read_sentences, write_sentences
from nerkit.formats.splits import SPLIT_ALIASES, find_splits, split_of
from nerkit.schemes import convert, get_spans


def write_file(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def read(path: Path, **options):
    return list(conll.read(path, FormatOptions(**options)))


def expect_error(path: Path, line=None, *fragments, **options) -> str:
    with pytest.raises(NerDataError) as caught:
        read(path, **options)
    message = str(caught.value)
    assert path.name in message
    if line is not None:
        assert f"{path.name}:{line}:" in message, message
        assert caught.value.line == line
    for fragment in fragments:
        assert fragment in message, message
    return message


FOUR_COLUMNS = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

BRUSSELS NNP B-NP B-LOC
"""


# ------------------------------------------------------------------------------------------------------ reading


def test_reads_four_columns_with_documents_lines_and_indexes(tmp_path):
    sentences = read(write_file(tmp_path, "tiny.conll", FOUR_COLUMNS))
    assert [s.tokens for s in sentences] == [["EU", "rejects", "German"], ["Peter", "Blackburn"], ["BRUSSELS"]]
    assert [s.ner_tags for s in sentences] == [["B-ORG", "O", "B-MISC"], ["B-PER", "I-PER"], ["B-LOC"]]
    assert [s.document_id for s in sentences] == ["doc-0001", "doc-0001", "doc-0002"]
    assert [s.sentence_index for s in sentences] == [0, 1, 0]
    assert [s.line for s in sentences] == [3, 7, 12]


def test_sentences_before_the_first_docstart_have_no_document(tmp_path):
    path = write_file(tmp_path, "a.txt", "Ada B-PER\n\n-DOCSTART- O\n\nBob B-PER\n")
    assert [(s.tokens, s.document_id) for s in read(path)] == [(["Ada"], None), (["Bob"], "doc-0001")]


def test_file_without_docstart_has_no_documents(tmp_path):
    sentences = read(write_file(tmp_path, "a.txt", "Ada B-PER\n\nBob B-PER\n"))
    assert [s.document_id for s in sentences] == [None, None]
    assert [s.sentence_index for s in sentences] == [0, 1]


def test_docstart_glued_to_a_sentence_still_splits_it(tmp_path):
    path = write_file(tmp_path, "a.txt", "Ada B-PER\n-DOCSTART- O\nBob B-PER\n")
    assert [(s.tokens, s.document_id) for s in read(path)] == [(["Ada"], None), (["Bob"], "doc-0001")]


def test_empty_documents_do_not_use_up_a_number(tmp_path):
    path = write_file(tmp_path, "a.txt", "-DOCSTART- O\n\n-DOCSTART- O\n\nAda B-PER\n\n-DOCSTART- O\nBob O\n")
    assert [s.document_id for s in read(path)] == ["doc-0001", "doc-0002"]


def test_several_blank_and_whitespace_only_lines_are_one_break(tmp_path):
    # WNUT-17 separates most sentences with a line holding a lone TAB.
    path = write_file(tmp_path, "wnut.conll", "\n\nHi\tO\n\t\n  \n\nAda\tB-person\n\t\n")
    sentences = read(path)
    assert [s.tokens for s in sentences] == [["Hi"], ["Ada"]]
    assert [s.line for s in sentences] == [3, 7]


def test_bom_and_crlf_are_tolerated(tmp_path):
    path = write_file(tmp_path, "win.txt", "\ufeffAda B-PER\r\nLovelace I-PER\r\n\r\nok O\r\n")
    sentences = read(path)
    assert [s.tokens for s in sentences] == [["Ada", "Lovelace"], ["ok"]]
    assert sentences[0].ner_tags == ["B-PER", "I-PER"]


def test_latin1_needs_the_encoding_option(tmp_path):
    path = write_file(tmp_path, "latin.txt", "Ada B-PER\n\nZürich B-LOC\n", encoding="latin-1")
    assert read(path, encoding="latin-1")[1].tokens == ["Zürich"]
    expect_error(path, 3, "latin-1")


def test_column_selection(tmp_path):
    path = write_file(tmp_path, "cols.txt", "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n")
    chunks = read(path, tag_column=2)[0]
    assert chunks.tokens == ["EU", "rejects"] and chunks.ner_tags == ["B-NP", "B-VP"]
    swapped = write_file(tmp_path, "swapped.txt", "B-ORG EU\nO rejects\n")
    sentence = read(swapped, token_column=1, tag_column=0)[0]
    assert sentence.tokens == ["EU", "rejects"] and sentence.ner_tags == ["B-ORG", "O"]


def test_tab_delimiter_keeps_spaces_inside_words(tmp_path):
    path = write_file(tmp_path, "tabs.tsv", "New York\tB-LOC\nis\tO\n")
    assert read(path, delimiter="\t")[0].tokens == ["New York", "is"]
    # The same file read on any whitespace has ragged columns.
    expect_error(path, 2, "expected 3 columns", "got 2")


def test_space_delimiter_splits_on_single_spaces(tmp_path):
    path = write_file(tmp_path, "spaces.txt", "Ada B-PER\nwrote  O\n")
    assert read(path)[0].tokens == ["Ada", "wrote"]
    expect_error(path, 2, "expected 2 columns", "got 3", delimiter=" ")


# ------------------------------------------------------------------------------------------------- bad inputs


def test_ragged_columns_name_expected_and_found(tmp_path):
    path = write_file(tmp_path, "ragged.conll", "-DOCSTART- -X- O\n\nEU NNP B-ORG\nrejects VBZ O\n\ncall O\n")
    expect_error(path, 6, "expected 3 columns (like line 3), got 2")


def test_selected_column_missing(tmp_path):
    path = write_file(tmp_path, "two.conll", "\nEU B-ORG\n")
    expect_error(path, 2, "2 column(s)", "--tag_column", tag_column=3)
    expect_error(path, 2, "--token_column", token_column=-3)


@pytest.mark.parametrize(
    "tag, hint",
    [("B_PER", "did you mean 'B-PER'?"), ("b-per", "did you mean 'B-per'?"), ("PER", "'B-PER'"), ("B-", None), ("X-PER", None)],
)
def test_bad_tags(tmp_path, tag, hint):
    path = write_file(tmp_path, "tags.txt", f"Ada O\n\nLovelace {tag}\n")
    message = expect_error(path, 3, f"tag {tag!r} is not a tag")
    if hint:
        assert hint in message


def test_empty_file_and_docstart_only_file(tmp_path):
    expect_error(write_file(tmp_path, "empty.txt", ""), None, "empty file")
    expect_error(write_file(tmp_path, "blank.txt", "\n\t\n\n"), None, "empty file")
    expect_error(write_file(tmp_path, "docs.txt", "-DOCSTART- -X- O\n\n-DOCSTART- -X- O\n"), None, "only 2 -DOCSTART-")
    with pytest.raises(NerDataError, match="no sentence"):
        read_sentences(tmp_path / "docs.txt", "conll")


def test_empty_word_from_doubled_delimiter(tmp_path):
    path = write_file(tmp_path, "tabs.tsv", "Ada\tB-PER\n\tO\n")
    expect_error(path, 2, "empty word", delimiter="\t")


def test_nul_byte_and_missing_file(tmp_path):
    expect_error(write_file(tmp_path, "binary.txt", "Ada B-PER\n\x00 O\n"), 2, "NUL")
    expect_error(tmp_path / "missing.txt", None, "not found")


# ------------------------------------------------------------------------------------------------------ writing


def test_writer_output_and_documents(tmp_path):
    sentences = [
        Sentence(["Ada", "wrote"], ["B-PER", "O"], document_id="doc-0001"),
        Sentence(["Bob"], ["B-PER"], document_id="doc-0001"),
        Sentence(["Paris"], ["B-LOC"], document_id="doc-0002"),
    ]
    path = tmp_path / "out.conll"
    options = FormatOptions()
    conll.write(sentences, path, options)
    assert path.read_text() == "-DOCSTART- O\n\nAda B-PER\nwrote O\n\nBob B-PER\n\n-DOCSTART- O\n\nParis B-LOC\n\n"
    assert options.report.notes == []
    conll.write(sentences, path, FormatOptions(delimiter="\t"))
    assert "Ada\tB-PER\n" in path.read_text()
    assert [(s.tokens, s.document_id) for s in read(path)] == [(s.tokens, s.document_id) for s in sentences]


def test_writer_keeps_grouping_not_names_and_says_so(tmp_path):
    sentences = [Sentence(["a"], ["O"], document_id="x"), Sentence(["b"], ["O"], document_id="x"), Sentence(["c"], ["O"], document_id="y")]
    options = FormatOptions()
    conll.write(sentences, tmp_path / "out.conll", options)
    assert [s.document_id for s in read(tmp_path / "out.conll")] == ["doc-0001", "doc-0001", "doc-0002"]
    assert any("document names" in note for note in options.report.notes)


@pytest.mark.parametrize("token", ["New York", "tab\there", "", "-DOCSTART-", "line\nbreak"])
def test_writer_refuses_words_that_cannot_be_read_back(tmp_path, token):
    with pytest.raises(NerDataError, match="cannot be written") as caught:
        conll.write([Sentence(["ok", token], ["O", "O"])], tmp_path / "out.conll", FormatOptions())
    assert "out.conll" in str(caught.value) and "sentence 1" in str(caught.value)
    assert not (tmp_path / "out.conll").exists()


def test_writer_refuses_bad_tags_and_length_mismatch(tmp_path):
    with pytest.raises(NerDataError, match="is not a tag"):
        conll.write([Sentence(["Ada"], ["PER"])], tmp_path / "out.conll", FormatOptions())
    with pytest.raises(NerDataError, match="2 words but 1 tags"):
        conll.write([Sentence(["Ada", "x"], ["O"])], tmp_path / "out.conll", FormatOptions())


def test_registry_reads_and_writes_conll(tmp_path):
    path = write_file(tmp_path, "tiny.iob", FOUR_COLUMNS)
    sentences = read_sentences(path)
    write_sentences(sentences, tmp_path / "copy.conll", "conll")
    assert [s.tokens for s in read_sentences(tmp_path / "copy.conll")] == [s.tokens for s in sentences]


# ---------------------------------------------------------------------------------------------------- round trip

words = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=8).filter(
    lambda word: not any(c.isspace() for c in word) and word != conll.DOCSTART
)
tags = st.one_of(st.just("O"), st.builds("{}-{}".format, st.sampled_from("BIES"), st.from_regex(r"[A-Za-z][A-Za-z_-]{0,6}", fullmatch=True)))
tagged_words = st.lists(st.tuples(words, tags), min_size=1, max_size=6)
documents = st.lists(st.lists(tagged_words, min_size=1, max_size=3), min_size=1, max_size=3)


def build(documents, with_documents: bool):
    sentences = []
    for number, document in enumerate(documents, 1):
        for index, pairs in enumerate(document):
            sentences.append(
                Sentence([w for w, _ in pairs], [t for _, t in pairs], document_id=conll.document_name(number) if with_documents else None, sentence_index=index)
            )
    if not with_documents:
        for index, sentence in enumerate(sentences):
            sentence.sentence_index = index
    return sentences


def as_tuples(sentences):
    return [(s.tokens, s.ner_tags, s.document_id, s.sentence_index) for s in sentences]


@settings(max_examples=60, deadline=None)
@given(documents=documents, with_documents=st.booleans(), delimiter=st.sampled_from([None, "\t"]))
def test_round_trip_property(documents, with_documents, delimiter):
    sentences = build(documents, with_documents)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "round.conll"
        conll.write(sentences, path, FormatOptions(delimiter=delimiter))
        assert as_tuples(read(path, delimiter=delimiter)) == as_tuples(sentences)


# ---------------------------------------------------------------------------------------------- dataset splits


def test_split_names():
    assert split_of("eng.testa") == "validation" and split_of("eng.testb") == "test" and split_of("eng.train") == "train"
    assert split_of("valid.jsonl") == "validation" and split_of("conll_dev.txt") == "validation"
    assert split_of("interval.txt") is None and split_of("contest.txt") is None
    assert "dev" in SPLIT_ALIASES["validation"]
    with pytest.raises(NerDataError, match="several splits"):
        split_of("train_dev.json")


def test_find_splits_in_folders(tmp_path):
    for name in ("train.conll", "dev.conll", "test.conll", "README.md", "SHA256SUMS", ".hidden"):
        (tmp_path / name).write_text("x")
    assert {k: v.name for k, v in find_splits(tmp_path).items()} == {"train": "train.conll", "validation": "dev.conll", "test": "test.conll"}

    brat = tmp_path / "brat"
    for name in ("train", "devel", "test", "other"):
        (brat / name).mkdir(parents=True)
    assert {k: v.name for k, v in find_splits(brat).items()} == {"train": "train", "validation": "devel", "test": "test"}


def test_find_splits_errors(tmp_path):
    (tmp_path / "valid.jsonl").write_text("x")
    (tmp_path / "dev.jsonl").write_text("x")
    with pytest.raises(NerDataError, match=r"validation split \(dev.jsonl, valid.jsonl\)"):
        find_splits(tmp_path)
    empty = tmp_path / "nothing"
    empty.mkdir()
    (empty / "notes.txt").write_text("x")
    with pytest.raises(NerDataError, match="no train/validation/test"):
        find_splits(empty)


# ------------------------------------------------------------------------------------------------ real corpora


def test_conll2003_train(shared_data):
    sentences = read(shared_data / "conll2003" / "eng.train")
    assert len(sentences) == 14041
    assert sum(len(s) for s in sentences) == 203621
    assert len({s.document_id for s in sentences}) == 946
    spans = Counter(t for s in sentences for t, _, _ in get_spans(convert(s.ner_tags, "iob1", "iob2")))
    assert spans == {"LOC": 7140, "MISC": 3438, "ORG": 6321, "PER": 6600}
    assert sentences[0].line == 3 and sentences[0].tokens[0] == "EU"


def test_conll2003_write_read_keeps_everything(shared_data, tmp_path):
    sentences = read(shared_data / "conll2003" / "eng.testb")
    conll.write(sentences, tmp_path / "testb.conll", FormatOptions())
    assert as_tuples(read(tmp_path / "testb.conll")) == as_tuples(sentences)


def test_wnut17_train(shared_data):
    sentences = read(shared_data / "wnut17" / "wnut17train.conll")
    assert len(sentences) == 3394
    assert sum(len(s) for s in sentences) == 62730
    assert all(s.document_id is None for s in sentences)


def test_find_splits_on_real_folders(shared_data):
    conll2003 = find_splits(shared_data / "conll2003")
    assert {k: v.name for k, v in conll2003.items()} == {"train": "eng.train", "validation": "eng.testa", "test": "eng.testb"}
    wnut = find_splits(shared_data / "wnut17")
    assert {k: v.name for k, v in wnut.items()} == {
        "train": "wnut17train.conll",
        "validation": "emerging.dev.conll",
        "test": "emerging.test.annotated",
    }


def test_first_word_starting_with_a_bom_survives_a_round_trip(tmp_path):
    # Readers strip a BOM at the start of a file; a word that is (or starts with) U+FEFF must not be lost with it.
    sentences = [Sentence(["\ufeff", "Paris"], ["O", "B-LOC"], sentence_index=0)]
    path = tmp_path / "bom.conll"
    conll.write(sentences, path, FormatOptions())
    assert as_tuples(read(path)) == as_tuples(sentences)
