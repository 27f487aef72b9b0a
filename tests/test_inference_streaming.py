"""predict_ner.py's input read a document at a time (nerkit/inference/streaming.py): the same documents, format
and gold scheme as reading it whole, the first document before the rest of the file is read, and the inputs
that need reading whole left to ``read_documents``."""

from __future__ import annotations

import pytest

from nerkit.errors import NerDataError
from nerkit.inference.reading import read_documents
from nerkit.inference.streaming import stream_documents

CONLL = "-DOCSTART- O\n\nEU B-ORG\nrejects O\n\nGerman B-MISC\ncall O\n\n-DOCSTART- O\n\nPeter I-PER\nBlackburn I-PER\n"
INPUTS = {
    "text": {"in.txt": "EU rejects German call .\n\nPeter Blackburn went to Brussels . He left.\n"},
    "jsonl": {"in.jsonl": '{"id": "a", "text": "EU rejects German call."}\n\n{"text": "Peter Blackburn"}\n'},
    "conll": {"in.conll": CONLL},
    "conll without documents": {"in.conll": "EU B-ORG\nrejects O\n\nPeter B-PER\n"},
    "words-only conll": {"in.conll": "-DOCSTART-\n\nEU\nrejects\n\nGerman\n\n-DOCSTART-\n\nPeter\n"},
    "text_labels": {"text_in.txt": "EU rejects German call\nPeter Blackburn\n", "labels_in.txt": "B-ORG O B-MISC O\nB-PER I-PER\n"},
}


@pytest.mark.parametrize("kind", sorted(INPUTS))
def test_streamed_documents_are_the_documents_read_whole(kind, tmp_path):
    for name, text in INPUTS[kind].items():
        (tmp_path / name).write_text(text)
    path = tmp_path / next(iter(INPUTS[kind]))
    whole, streamed = read_documents(path), stream_documents(path)
    assert streamed is not None and streamed.format == whole.format
    assert list(streamed.documents) == whole.documents
    assert streamed.gold_scheme == whole.gold_scheme


def test_the_first_document_comes_before_the_rest_of_the_file_is_read(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(f'{{"text": "Document {number}."}}\n' for number in range(50)) + '{"text": \n')
    documents = stream_documents(path).documents
    assert next(documents).text == "Document 0."
    with pytest.raises(NerDataError, match="invalid JSON") as failure:
        list(documents)
    assert failure.value.line == 51


def test_an_input_without_a_word_is_the_same_error(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("\n \n")
    with pytest.raises(NerDataError, match="empty input"):
        list(stream_documents(path).documents)


@pytest.mark.parametrize("name, text", [("in.json", '[{"text": "EU rejects."}]'), ("in.jsonl", '[{"text": "EU rejects."}]'),
                                        ("in.csv", "tokens,ner_tags\nEU,B-ORG\n")])
def test_inputs_that_need_reading_whole_are_left_to_read_documents(name, text, tmp_path):
    (tmp_path / name).write_text(text)
    assert stream_documents(tmp_path / name) is None and stream_documents("-") is None
    assert stream_documents(tmp_path) is None
