"""Compressed input: gzip, bzip2, xz and Zstandard files read directly by every reader, recognised by name and by
their first bytes, the format guessed from the name without the compression suffix."""

import bz2
import gzip
import json
import lzma
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard

from nerkit.errors import NerDataError
from nerkit.files import read_text
from nerkit.formats import guess_format, read_sentences

ROOT = Path(__file__).resolve().parent.parent
COMPRESSORS = {
    ".gz": gzip.compress,
    ".bz2": bz2.compress,
    ".xz": lzma.compress,
    ".zst": lambda data: zstandard.ZstdCompressor().compress(data),
}
TAGS = ["B-PER", "O", "B-PER"]
# file name -> content holding one sentence "Ada met Bob" tagged as TAGS
FILES = {
    "train.conll": "Ada B-PER\nmet O\nBob B-PER\n",
    "train.jsonl": json.dumps({"tokens": ["Ada", "met", "Bob"], "ner_tags": TAGS}) + "\n",
    "train.csv": 'tokens,ner_tags\nAda met Bob,B-PER O B-PER\n',
    "train.spacy.jsonl": json.dumps({"text": "Ada met Bob", "entities": [[0, 3, "PER"], [8, 11, "PER"]]}) + "\n",
    "d.jsonl": json.dumps({"text": "Ada met Bob", "label": [[0, 3, "PER"], [8, 11, "PER"]]}) + "\n",
    "p.jsonl": json.dumps({"text": "Ada met Bob", "spans": [{"start": 0, "end": 3, "label": "PER"}, {"start": 8, "end": 11, "label": "PER"}]}) + "\n",
    "ls.json": json.dumps([{"id": 1, "data": {"text": "Ada met Bob"}, "annotations": [{"result": [
        {"type": "labels", "to_name": "text", "value": {"start": s, "end": e, "labels": ["PER"]}} for s, e in ((0, 3), (8, 11))]}]}]),
}
FORMAT_OF = {"train.conll": "conll", "train.jsonl": "json", "train.csv": "csv", "train.spacy.jsonl": "offsets",
             "d.jsonl": "doccano", "p.jsonl": "prodigy", "ls.json": "labelstudio"}


@pytest.mark.parametrize("suffix", sorted(COMPRESSORS))
@pytest.mark.parametrize("name", sorted(FILES))
def test_every_format_read_compressed_by_name(tmp_path, name, suffix):
    path = tmp_path / (name + suffix)
    path.write_bytes(COMPRESSORS[suffix](FILES[name].encode("utf-8")))
    assert guess_format(path) == FORMAT_OF[name]
    sentences = read_sentences(path)
    assert [(s.tokens, s.ner_tags) for s in sentences] == [(["Ada", "met", "Bob"], TAGS)]


@pytest.mark.parametrize("suffix", sorted(COMPRESSORS))
def test_compressed_content_without_the_suffix_is_recognised_by_its_first_bytes(tmp_path, suffix):
    path = tmp_path / "train.conll"  # a compressed file under a plain name
    path.write_bytes(COMPRESSORS[suffix](FILES["train.conll"].encode("utf-8")))
    assert read_sentences(path)[0].ner_tags == TAGS
    ls = tmp_path / "export.json"
    ls.write_bytes(COMPRESSORS[suffix](FILES["ls.json"].encode("utf-8")))
    assert guess_format(ls) == "labelstudio"


def test_text_labels_pair_compressed(tmp_path):
    (tmp_path / "text.txt.gz").write_bytes(gzip.compress(b"Ada met Bob\n"))
    (tmp_path / "labels.txt.gz").write_bytes(gzip.compress(b"B-PER O B-PER\n"))
    assert guess_format(tmp_path / "text.txt.gz") == "text_labels"
    assert read_sentences(tmp_path / "text.txt.gz")[0].ner_tags == TAGS


def test_a_truncated_compressed_file_is_a_data_error(tmp_path):
    path = tmp_path / "train.conll.gz"
    path.write_bytes(gzip.compress(FILES["train.conll"].encode("utf-8") * 50)[:30])
    with pytest.raises(NerDataError, match=r"train.conll.gz: cannot decompress \(gzip\)"):
        read_text(path)


def test_plain_text_that_starts_like_a_magic_number_is_left_alone(tmp_path):
    path = tmp_path / "train.conll"
    path.write_text("BZh O\nmet O\n", encoding="utf-8")  # "BZh" without bzip2's block-size digit
    assert read_sentences(path)[0].tokens == ["BZh", "met"]


def test_convert_iob_reads_a_compressed_corpus(tmp_path):
    source = tmp_path / "eng.train.zst"
    source.write_bytes(COMPRESSORS[".zst"](FILES["train.conll"].encode("utf-8")))
    done = subprocess.run([sys.executable, str(ROOT / "convert_iob.py"), "--input", str(source), "--output", str(tmp_path / "out.jsonl")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8"))["ner_tags"] == TAGS


def test_predict_ner_input_compressed_raw_text(tmp_path):
    from nerkit.inference.reading import read_documents

    for name in ("raw.txt.gz", "raw"):  # by name and by content
        (tmp_path / name).write_bytes(gzip.compress(b"Ada met Bob in Paris.\n"))
        loaded = read_documents(str(tmp_path / name))
        assert loaded.format == "text" and [w for w, _, _ in loaded.documents[0].sentences[0]][:3] == ["Ada", "met", "Bob"]
