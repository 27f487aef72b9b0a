"""The streaming data path: files read line by line into on-disk Arrow splits, cached by file, inputs built in
pool-sized batches, with the same results as reading everything at once."""

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from transformers import AutoTokenizer

from nerkit.arguments import DataTrainingArguments
from nerkit.data import load_data
from nerkit.errors import NerDataError
from nerkit.features import build_features, tokenize_dataset
from nerkit.files import iter_lines, read_text
from nerkit.inputs import FeatureSpec, build_inputs
from nerkit.layout import special_tokens

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 1 << 20])
def test_lines_read_in_chunks_are_the_lines_of_the_whole_text(tmp_path, chunk_size):
    path = tmp_path / "mixed.txt"
    path.write_bytes("\ufeffAda B-PER\r\nwrote O\r\rIt O\n\nÉmile B-PER\r\n\n".encode("utf-8"))
    assert list(iter_lines(path, chunk_size=chunk_size)) == read_text(path).split("\n")[:-1]


@pytest.mark.parametrize("chunk_size", [1, 5, 1 << 20])
def test_bad_bytes_read_in_chunks_name_the_same_line(tmp_path, chunk_size):
    path = tmp_path / "bad.conll"
    path.write_bytes("Ada B-PER\n\nÉmile O\nx\xff O\n".encode("utf-8").replace(b"\xc3\xbf", b"\xff"))
    with pytest.raises(NerDataError) as whole:
        read_text(path)
    with pytest.raises(NerDataError) as streamed:
        list(iter_lines(path, chunk_size=chunk_size))
    assert str(streamed.value) == str(whole.value) and ":4:" in str(whole.value)


def _load(path, cache_dir, **arguments):
    data_args = DataTrainingArguments(train_file=str(path), **arguments)
    return load_data(data_args, SimpleNamespace(cache_dir=str(cache_dir)), splits=("train",))


def test_a_file_becomes_an_arrow_split_on_disk_that_a_changed_file_replaces(tmp_path):
    corpus = tmp_path / "train.conll"
    corpus.write_text("-DOCSTART- O\n\nAda I-PER\nwrote O\n\nBob I-PER\n", encoding="utf-8")
    first = _load(corpus, tmp_path / "cache")
    split = first.splits["train"]
    assert split.cache_files and all(Path(f["filename"]).is_relative_to(tmp_path / "cache") for f in split.cache_files)
    assert first.input_scheme.name == "IOB1" and split["ner_tags"] == [["B-PER", "O"], ["B-PER"]]
    assert split["gold_tags"] == [["I-PER", "O"], ["I-PER"]] and split["line"] == [3, 6]
    assert split["document_id"] == ["doc-0001", "doc-0001"] and split["sentence_index"] == [0, 1]

    again = _load(corpus, tmp_path / "cache").splits["train"]
    assert again.cache_files == split.cache_files  # read from the cache, not from the file

    corpus.write_text("Eve B-LOC\nsang O\n", encoding="utf-8")
    os.utime(corpus, ns=(1, 1))  # whatever the clock: a different modification time
    changed = _load(corpus, tmp_path / "cache")
    assert changed.splits["train"]["tokens"] == [["Eve", "sang"]] and changed.input_scheme.name == "IOB2"


def test_scheme_votes_repairs_and_notes_come_back_from_the_cache(tmp_path):
    corpus = tmp_path / "train.conll"
    corpus.write_text("Ada B-PER\nwrote O\nit I-ORG\n", encoding="utf-8")
    first = _load(corpus, tmp_path / "cache")
    cached = _load(corpus, tmp_path / "cache")
    for loaded in (first, cached):
        assert loaded.input_scheme.name == "IOB2" and loaded.repairs == {"train": 1}
        assert loaded.splits["train"]["ner_tags"] == [["B-PER", "O", "B-ORG"]]
    with pytest.raises(NerDataError, match=r"train.conll:1: tag 'I-ORG' on word 3"):
        _load(corpus, tmp_path / "cache", strict=True)


def test_max_samples_read_only_that_many_sentences(tmp_path):
    loaded = _load(SAMPLE / "train.conll", tmp_path / "cache", max_train_samples=7)
    assert len(loaded.splits["train"]) == 7


def test_empty_and_malformed_files_are_one_line_errors_from_inside_the_arrow_building(tmp_path):
    empty = tmp_path / "empty.conll"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(NerDataError, match="empty"):
        _load(empty, tmp_path / "cache")
    bad = tmp_path / "bad.conll"
    bad.write_text("Ada B-PER\n" * 3000 + "Bob B_PER\n", encoding="utf-8")
    with pytest.raises(NerDataError, match=r"bad.conll:3001: tag 'B_PER'"):
        _load(bad, tmp_path / "cache")


def _saved_dataset(folder: Path, rows: dict, names=("O", "B-PER", "I-PER")) -> Path:
    """A ``save_to_disk`` folder with one train split whose tags are ClassLabel ids, as hub datasets have them."""
    import datasets

    features = {"tokens": datasets.Sequence(datasets.Value("string")),
                "ner_tags": datasets.Sequence(datasets.ClassLabel(names=list(names)))}
    if "document_id" in rows:
        features["document_id"] = datasets.Value("string")
    split = datasets.Dataset.from_dict(rows, features=datasets.Features(features))
    datasets.DatasetDict({"train": split}).save_to_disk(str(folder))
    return folder


def _load_saved(folder, cache_dir, **arguments):
    data_args = DataTrainingArguments(dataset_name=str(folder), **arguments)
    return load_data(data_args, SimpleNamespace(cache_dir=str(cache_dir)), splits=("train",))


def _files_under(folder: Path) -> dict:
    return {path: path.stat().st_mtime_ns for path in folder.rglob("*")}


def test_a_saved_dataset_becomes_an_arrow_split_in_our_cache_and_its_folder_is_left_as_it_was(tmp_path):
    rows = {"tokens": [["Ada", "wrote"], [], ["Bob"], ["Eve", "sang"]], "ner_tags": [[1, 0], [], [1], [1, 0]],
            "document_id": ["a", "a", "a", "b"]}
    saved = _saved_dataset(tmp_path / "saved", rows)
    before = _files_under(saved)
    loaded = _load_saved(saved, tmp_path / "cache")
    split = loaded.splits["train"]
    assert split["tokens"] == [["Ada", "wrote"], ["Bob"], ["Eve", "sang"]]  # the empty row dropped
    assert split["ner_tags"] == [["B-PER", "O"], ["B-PER"], ["B-PER", "O"]]
    assert split["document_id"] == ["a", "a", "b"] and split["sentence_index"] == [0, 1, 0]
    assert loaded.label_names == ["O", "B-PER", "I-PER"] and loaded.sources["train"] == f"{saved}[train]"
    assert split.cache_files and all(Path(f["filename"]).is_relative_to(tmp_path / "cache") for f in split.cache_files)
    assert _files_under(saved) == before  # nothing written beside the user's dataset

    again = _load_saved(saved, tmp_path / "cache").splits["train"]
    assert again.cache_files == split.cache_files  # converted once


def test_max_samples_of_a_saved_dataset_count_sentences_not_rows(tmp_path):
    rows = {"tokens": [["Ada"], [], ["Bob"], [], ["Eve"], ["Kim"]], "ner_tags": [[1], [], [1], [], [1], [1]]}
    saved = _saved_dataset(tmp_path / "saved", rows)
    assert _load_saved(saved, tmp_path / "cache", max_train_samples=3).splits["train"]["tokens"] == [["Ada"], ["Bob"], ["Eve"]]
    assert len(_load_saved(saved, tmp_path / "cache", max_train_samples=10).splits["train"]) == 4


@pytest.mark.parametrize("tags, message", [
    ([[1, 0], [3]], r"\[train\]: row 1: tag id out of range of the 3 label names"),
    ([[1, 0], [-1]], r"\[train\]: row 1: tag id out of range of the 3 label names"),  # not the last name
    ([[1, 0], [1, 0]], r"\[train\]: row 1: 1 words but 2 tags"),
])
def test_a_bad_row_of_a_saved_dataset_is_named_in_one_line(tmp_path, tags, message):
    import datasets

    # Plain integer ids (a ClassLabel refuses -1 and 3 when the dataset is built), named by --label_list.
    split = datasets.Dataset.from_dict({"tokens": [["Ada", "wrote"], ["Bob"]], "ner_tags": tags})
    datasets.DatasetDict({"train": split}).save_to_disk(str(tmp_path / "saved"))
    with pytest.raises(NerDataError, match=message):
        _load_saved(tmp_path / "saved", tmp_path / "cache", label_list="O,B-PER,I-PER")


def test_sentences_packed_apart_in_pool_batches_give_the_inputs_of_the_whole_split(tmp_path, tiny_model):
    split = _load(SAMPLE / "train.conll", tmp_path / "cache", max_train_samples=700).splits["train"]
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    tokenized = tokenize_dataset(split, tokenizer, cache_dir=str(tmp_path / "cache"))
    labels = sorted({tag for tags in split["ner_tags"] for tag in tags})
    label2id = {label: index for index, label in enumerate(labels)}
    spec = FeatureSpec(max_seq_length=64, pack_length=64, packed_position_offset=0, pack_seed=3)
    streamed = build_features(tokenized, tokenizer, label2id, spec, load_from_cache_file=False)
    prefix, suffix = special_tokens(tokenizer)
    whole = build_inputs(tokenized[:], list(range(len(tokenized))), label2id, spec, prefix, suffix)
    assert len(tokenized) > 2 * 256  # several pools
    for column in ("input_ids", "labels", "position_ids", "sentence_id", "word_sentence", "word_index"):
        assert streamed[column] == whole[column], column


@pytest.mark.parametrize("spec", [
    FeatureSpec(max_seq_length=64, context_size=16),  # FLERT context from the neighbours of a document
    FeatureSpec(max_seq_length=64, pack_length=64),  # consecutive sentences of a document share an input
    FeatureSpec(max_seq_length=24),  # one sentence per input, long ones in windows
], ids=["context", "packed-together", "one-per-input"])
@pytest.mark.parametrize("batch_size", [7, 1000])
def test_document_batches_give_the_inputs_of_the_whole_split(tmp_path, tiny_model, spec, batch_size):
    """Built a batch at a time, each batch ending where a document ends (the rest kept for the next), the inputs
    are those of the whole split in one batch: batches of 7 cut through most of data/sample's documents."""
    split = _load(SAMPLE / "train.conll", tmp_path / "cache", max_train_samples=700).splits["train"]
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    tokenized = tokenize_dataset(split, tokenizer, cache_dir=str(tmp_path / "cache"))
    labels = sorted({tag for tags in split["ner_tags"] for tag in tags})
    label2id = {label: index for index, label in enumerate(labels)}
    streamed = build_features(tokenized, tokenizer, label2id, spec, load_from_cache_file=False,
                              document_batch_size=batch_size)
    prefix, suffix = special_tokens(tokenizer)
    whole = build_inputs(tokenized[:], list(range(len(tokenized))), label2id, spec, prefix, suffix)
    assert len(set(split["document_id"])) > 20 and len(whole["input_ids"]) > 100
    for column in ("input_ids", "labels", "sentence_id", "word_sentence", "word_index"):
        assert streamed[column] == whole[column], column
