"""errors.jsonl: every disagreement between gold and predicted entities, classified as in SemEval-2013 / MUC."""

import json
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from nerkit.reports.errors import ERROR_CLASSES, classify, count_by_class, sentence_errors, split_errors, write_errors
from nerkit.schemes import get_spans

TAGS = ["O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-ORG"]
sentences = st.integers(1, 14).flatmap(lambda n: st.tuples(st.lists(st.sampled_from(TAGS), min_size=n, max_size=n),
                                                           st.lists(st.sampled_from(TAGS), min_size=n, max_size=n)))


def overlap(a, b) -> bool:
    return a[1] < b[2] and b[1] < a[2]


@settings(max_examples=300, deadline=None)
@given(sentences)
def test_every_disagreement_is_listed_once_and_classified_by_its_definition(pair):
    gold_tags, predicted_tags = pair
    gold, predicted = get_spans(gold_tags), get_spans(predicted_tags)
    errors = classify(gold, predicted)
    # each predicted entity that is not gold: exactly one record; each gold entity not predicted: at least one
    assert Counter(p for _, _, p in errors if p is not None) == Counter(set(predicted) - set(gold))
    assert {g for _, g, _ in errors if g is not None} == set(gold) - set(predicted)
    for kind, g, p in errors:
        assert kind in ERROR_CLASSES
        if kind == "missed":
            assert p is None and [h for _, h, _ in errors].count(g) == 1  # held against no prediction
        elif kind == "spurious":
            assert g is None and not any(overlap(p, h) for h in gold)
        elif kind == "wrong_type":
            assert g[1:] == p[1:] and g[0] != p[0]
        elif kind == "wrong_boundary":
            assert overlap(g, p) and g[1:] != p[1:] and g[0] == p[0]
        else:
            assert overlap(g, p) and g[1:] != p[1:] and g[0] != p[0]
            assert not any(overlap(h, p) and h[0] == p[0] for h in gold)  # a same-type overlap would be chosen


def test_no_error_when_tags_agree_and_a_document_without_entities():
    assert sentence_errors(["Ada", "wrote"], ["B-PER", "O"], ["B-PER", "O"]) == []
    assert split_errors([["It", "rained"]], [["O", "O"]], [["O", "O"]], ["doc-0001"], [0]) == []


def test_iob1_and_iob2_of_the_same_entities_give_the_same_errors():
    words = ["Bob", "Alice", "met", "Carol", "Smith"]
    iob1 = ["I-PER", "B-PER", "O", "I-PER", "I-PER"]
    iob2 = ["B-PER", "B-PER", "O", "B-PER", "I-PER"]
    predicted = ["B-PER", "I-PER", "O", "B-ORG", "O"]
    assert sentence_errors(words, iob1, predicted) == sentence_errors(words, iob2, predicted)
    assert [r["class"] for r in sentence_errors(words, iob1, predicted)] == [
        "wrong_boundary", "missed", "wrong_type_and_boundary"]


def test_records_carry_offsets_scores_and_context(tmp_path):
    words = ["Yesterday", "the", "Bank", "of", "Oakhallow", "hired", "Anna", "Velk", "in", "Paris", "."]
    offsets, position = [], 0
    for word in words:
        offsets.append((position, position + len(word)))
        position += len(word) + 1
    text = " ".join(words)
    gold = ["O", "O", "B-ORG", "I-ORG", "I-ORG", "O", "B-PER", "I-PER", "O", "B-LOC", "O"]
    predicted = ["O", "O", "O", "O", "B-LOC", "O", "B-PER", "I-PER", "O", "O", "B-MISC"]
    confidence = [0.9] * 4 + [0.6] + [0.9] * 5 + [0.3]
    records = sentence_errors(words, gold, predicted, "doc-0007", 4, confidence, offsets)
    assert [r["class"] for r in records] == ["wrong_type_and_boundary", "missed", "spurious"]
    first = records[0]
    assert (first["document_id"], first["sentence_index"]) == ("doc-0007", 4)
    assert first["gold"] == {"label": "ORG", "start": 2, "end": 5, "text": "Bank of Oakhallow",
                             "char_start": 14, "char_end": 31}
    assert text[first["gold"]["char_start"]:first["gold"]["char_end"]] == "Bank of Oakhallow"
    assert first["predicted"]["label"] == "LOC" and first["predicted"]["score"] == 0.6
    assert first["left"] == ["Yesterday", "the"] and first["right"] == ["hired", "Anna", "Velk", "in", "Paris"]
    assert records[1]["predicted"] is None and records[2]["gold"] is None
    assert count_by_class(records) == {"missed": 1, "spurious": 1, "wrong_type": 0, "wrong_boundary": 0,
                                       "wrong_type_and_boundary": 1}
    path = tmp_path / "errors.jsonl"
    write_errors(path, records)
    assert [json.loads(line) for line in path.read_text().splitlines()] == records


def test_plain_labels_are_one_word_units():
    records = sentence_errors(["Ada", "wrote", "code"], ["NNP", "VBD", "NN"], ["NNP", "VBN", "NN"])
    assert [(r["class"], r["gold"]["label"], r["predicted"]["label"]) for r in records] == [("wrong_type", "VBD", "VBN")]
    # told the tags are plain labels, the error is a word with the wrong label; O in the set: missed, spurious
    records = split_errors([["Ada", "wrote", "code", "here"]], [["NNP", "VBD", "O", "RB"]], [["NNP", "VBN", "NN", "O"]],
                           plain=True)
    assert [(r["class"], r["gold"] and r["gold"]["text"], r["predicted"] and r["predicted"]["text"]) for r in records] == [
        ("wrong_label", "wrote", "wrote"), ("spurious", None, "code"), ("missed", "here", None)]
    assert count_by_class(records, plain=True) == {"wrong_label": 1, "missed": 1, "spurious": 1}
