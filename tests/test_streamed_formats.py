"""The formats convert_iob.py and training read and write as streams (CoNLL, text_labels, JSON lines, CSV): a
reader gives its first sentences before it has read the rest of the file, so memory does not grow with it (an
error further on still comes, with its line); a writer that fails half way leaves no file."""

from __future__ import annotations

import pytest

from nerkit.corpus import Sentence
from nerkit.errors import NerDataError
from nerkit.formats import FormatOptions, iter_sentences, write_sentences

GOOD = 30  # more than the records JSON and CSV readers look at first to choose their fields (fields.SAMPLE)

# GOOD one-word sentences, then what breaks the file: (file contents, the error's line, words of its message).
WORDS = [f"w{number}" for number in range(GOOD)]
BROKEN = {
    "conll": ({"in.conll": "".join(f"{word} O\n\n" for word in WORDS) + "Bob B-PER extra\n"}, 2 * GOOD + 1,
              "expected 2 columns"),
    "json": ({"in.jsonl": "".join(f'{{"tokens": ["{word}"], "ner_tags": ["O"]}}\n' for word in WORDS) + '{"tokens": ["Bob"\n'},
             GOOD + 1, "invalid JSON"),
    "csv": ({"in.csv": "tokens,ner_tags\n" + "".join(f"{word},O\n" for word in WORDS) + '"Bob,B-PER\n'}, GOOD + 2,
            "unterminated quote"),
    "text_labels": ({"text_in.txt": "".join(word + "\n" for word in WORDS) + "Bob\n",
                     "labels_in.txt": "".join("O\n" for _ in WORDS)}, None, f"has {GOOD + 1} lines but"),
}


@pytest.mark.parametrize("format_name", sorted(BROKEN))
def test_a_reader_yields_sentences_before_the_rest_of_the_file_is_read(format_name, tmp_path):
    contents, line, message = BROKEN[format_name]
    for name, text in contents.items():
        (tmp_path / name).write_text(text)
    sentences = iter_sentences(tmp_path / next(iter(contents)), format_name, FormatOptions())
    first = next(sentences)
    assert (first.tokens, first.ner_tags) == (["w0"], ["O"])
    with pytest.raises(NerDataError) as failure:
        list(sentences)
    assert failure.value.line == line and message in str(failure.value)


@pytest.mark.parametrize("format_name, name", [("conll", "out.conll"), ("json", "out.jsonl"), ("csv", "out.csv"),
                                               ("text_labels", "text_out.txt")])
def test_a_streamed_writer_leaves_nothing_when_its_input_fails_half_way(format_name, name, tmp_path):
    # The writer has written sentences when the reader behind it fails: no file, not even a partial one, appears.
    def sentences():
        for number in range(3):
            yield Sentence([f"w{number}"], ["O"], document_id="d1")
        raise NerDataError("the input broke off", path="in.conll", line=9)

    with pytest.raises(NerDataError, match="broke off"):
        write_sentences(sentences(), tmp_path / name, format_name)
    assert list(tmp_path.iterdir()) == []

    write_sentences(iter([Sentence(["Ada"], ["B-PER"], document_id="d1")] * 3), tmp_path / name, format_name)
    assert (tmp_path / name).read_text().count("Ada") == 3
