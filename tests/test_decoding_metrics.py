"""Constrained decoding, label handling and seqeval scores against hand-computed values."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nerkit import metrics
from nerkit.decoding import decode, transition_masks, viterbi
from nerkit.errors import NerDataError, UserError
from nerkit.formats import read_sentences
from nerkit.inference.writing import word_entities
from nerkit.labels import labels_from_data, loss_weights_for, pretrained_labels, resolve_labels
from nerkit.losses import token_classification_loss
from nerkit.schemes import first_violation

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"

LABELS = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
ID2LABEL = dict(enumerate(LABELS))


def log_probs(rows):
    rows = np.asarray(rows, dtype=np.float64)
    return rows - np.log(np.exp(rows).sum(axis=-1, keepdims=True))


def test_argmax_can_break_iob2_and_viterbi_cannot():
    # Word 2 prefers I-PER after O: argmax writes the invalid "O I-PER"; Viterbi picks the best valid path.
    scores = [log_probs([[3, 0, 0, 0, 0], [1, 0, 0, 0.5, 2]])]
    argmax_tags, _ = decode(scores, ID2LABEL, constrained=False)
    viterbi_tags, _ = decode(scores, ID2LABEL, constrained=True)
    assert argmax_tags == [["O", "I-PER"]]
    # valid options: O O (3 + 1), O B-PER (3 + 0.5): O O wins in raw scores; check against brute force.
    assert viterbi_tags == [["O", "O"]]


def brute_force(scores, labels):
    start, transitions, end = transition_masks(labels)
    best, best_path = -np.inf, None
    n, k = scores.shape
    for flat in range(k ** n):
        path = [(flat // k ** i) % k for i in range(n)]
        if not start[path[0]] or not end[path[-1]]:
            continue
        if not all(transitions[a, b] for a, b in zip(path, path[1:])):
            continue
        total = scores[np.arange(n), path].sum()
        if total > best:
            best, best_path = total, path
    return best_path


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=6), st.integers(0, 10_000))
def test_viterbi_is_the_best_valid_path(lengths, seed):
    rng = np.random.default_rng(seed)
    scores = [log_probs(rng.normal(size=(n, len(LABELS)))) for n in lengths]
    paths = viterbi(scores, LABELS, batch_size=3)  # several batches of mixed lengths
    for sentence, path in zip(scores, paths):
        tags = [LABELS[i] for i in path]
        assert first_violation(tags, "iob2") is None
        expected = brute_force(sentence, LABELS)
        assert np.isclose(sentence[np.arange(len(path)), path].sum(), sentence[np.arange(len(path)), expected].sum())


def test_scores_against_hand_computed_values():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-LOC", "O"]]
    pred = [["B-PER", "I-PER", "O", "O"], ["B-LOC", "B-PER"]]
    scores = metrics.score(gold, pred)
    # gold: PER(0-2), LOC(3), LOC(0); predicted: PER(0-2), LOC(0), PER(1): 2 correct of 3 predicted, 3 gold
    assert scores["precision"] == pytest.approx(2 / 3)
    assert scores["recall"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx(2 / 3)
    assert scores["accuracy"] == pytest.approx(4 / 6)
    assert scores["per_type"]["LOC"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "number": 2}
    assert scores["per_type"]["PER"]["precision"] == 0.5 and scores["per_type"]["PER"]["number"] == 1
    assert "LOC" in metrics.report(gold, pred) and "0.6667" in metrics.report(gold, pred)


def test_strict_mode_does_not_count_entities_opened_by_i():
    gold = [["B-PER", "I-PER"]]
    pred = [["I-PER", "I-PER"]]
    assert metrics.score(gold, pred)["f1"] == 1.0  # conlleval-style: I-PER after O opens an entity
    assert metrics.score(gold, pred, strict=True)["f1"] == 0.0


def test_flat_results_keep_upstream_keys():
    flat = metrics.flat_results(metrics.score([["B-PER"]], [["B-PER"]]), "eval")
    assert flat["eval_f1"] == 1.0 and flat["eval_PER_f1"] == 1.0 and flat["eval_PER_number"] == 1


def test_entity_spans_for_prediction_files():
    spans = word_entities(["Ada", "Lovelace", "in", "London"], ["B-PER", "I-PER", "O", "B-LOC"], [0.9, 0.7, 1.0, 0.5])
    assert spans == [
        {"label": "PER", "start": 0, "end": 2, "text": "Ada Lovelace", "score": 0.8},
        {"label": "LOC", "start": 3, "end": 4, "text": "London", "score": 0.5},
    ]


class Config:
    def __init__(self, labels):
        self.id2label = dict(enumerate(labels))


def test_label_list_from_data_or_head():
    data = labels_from_data([["B-PER", "O"], ["I-LOC"]])
    assert data == ["B-LOC", "B-PER", "I-LOC", "I-PER", "O"]  # both prefixes of every type, upstream's order
    # upstream run_ner.py on file data: sorted(set(labels)), so the same label ids (and classifier init) as upstream
    tags = [s.ner_tags for s in read_sentences(SAMPLE / "train.conll")]
    assert labels_from_data(tags) == sorted({tag for sentence in tags for tag in sentence})
    assert pretrained_labels(Config(["LABEL_0", "LABEL_1"])) is None
    head = ["B-PER", "I-PER", "O", "B-LOC", "I-LOC"]
    assert resolve_labels(data, Config(head), False, "m") == head  # same set: the head's order is kept
    assert resolve_labels(data, Config(["LABEL_0", "LABEL_1"]), False, "m") == data
    with pytest.raises(UserError, match="--ignore_mismatched_sizes"):
        resolve_labels(data, Config(["O", "B-ORG", "I-ORG"]), False, "m")
    assert resolve_labels(data, Config(["O", "B-ORG", "I-ORG"]), True, "m") == data


def test_class_weights(tmp_path):
    labels = ["O", "B-PER", "I-PER"]
    weights = loss_weights_for("auto", labels, [["O", "O", "O", "B-PER"]])
    # N=4 words, K=2 labels present: O 4/(2*3), B-PER 4/(2*1); I-PER unseen weighs 1
    assert weights == pytest.approx([4 / 6, 2.0, 1.0])
    path = tmp_path / "weights.json"
    path.write_text(json.dumps({"B-PER": 3.0}))
    assert loss_weights_for(str(path), labels, None) == [1.0, 3.0, 1.0]
    path.write_text(json.dumps({"B-ORG": 3.0}))
    with pytest.raises(NerDataError, match="B-ORG"):
        loss_weights_for(str(path), labels, None)
    assert loss_weights_for("none", labels, None) is None


def test_weighted_loss_changes_with_weights():
    import torch

    logits = torch.tensor([[[2.0, 0.0], [0.0, 1.0], [0.0, 0.0]]])
    labels = torch.tensor([[0, 1, -100]])
    plain = token_classification_loss(logits, labels)
    expected = torch.nn.functional.cross_entropy(logits[0, :2], labels[0, :2])
    assert torch.isclose(plain, expected)
    weighted = token_classification_loss(logits, labels, torch.tensor([1.0, 5.0]))
    assert not torch.isclose(plain, weighted)
    # summed over items of an accumulated batch of 4 labelled words
    assert torch.isclose(token_classification_loss(logits, labels, num_items_in_batch=4), expected * 2 / 4)
