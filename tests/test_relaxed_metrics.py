"""SemEval-2013 scores (nervaluate) against a hand-counted example, and per-document scores."""

import pytest

from nerkit import metrics
from nerkit.relaxed_metrics import document_scores, scores_table, semeval_scores

# Three sentences, five gold entities and five predicted:
# 1. PER "words 2-3" predicted exactly;
# 2. LOC 1-2 exactly; LOC 3-4 predicted as LOC 4 only (same type, wrong boundary);
# 3. ORG 0 predicted as LOC 0 (right boundaries, wrong type); PER 2 missed; MISC 3 spurious.
GOLD = [["O", "O", "B-PER", "I-PER", "O"],
        ["O", "B-LOC", "I-LOC", "B-LOC", "I-LOC", "O"],
        ["B-ORG", "O", "B-PER", "O"]]
PREDICTED = [["O", "O", "B-PER", "I-PER", "O"],
             ["O", "B-LOC", "I-LOC", "O", "B-LOC", "O"],
             ["B-LOC", "O", "O", "B-MISC"]]

# Counted by hand from the SemEval-2013 definitions; precision = recall here, as 5 are gold and 5 predicted.
HAND_COUNTED = {
    # scenario: (correct, incorrect, partial, missed, spurious, precision)
    "strict": (2, 2, 0, 1, 1, 2 / 5),           # the cut LOC and the ORG->LOC are incorrect
    "exact": (3, 1, 0, 1, 1, 3 / 5),            # ORG->LOC has the right boundaries
    "partial": (3, 0, 1, 1, 1, (3 + 0.5) / 5),  # the cut LOC counts half
    "type": (3, 1, 0, 1, 1, 3 / 5),             # the cut LOC overlaps with the right type; ORG->LOC is wrong
}


@pytest.mark.parametrize("scenario", sorted(HAND_COUNTED))
def test_overall_scores_match_the_hand_count(scenario):
    row = semeval_scores(GOLD, PREDICTED)[scenario]
    correct, incorrect, partial, missed, spurious, precision = HAND_COUNTED[scenario]
    assert (row["correct"], row["incorrect"], row["partial"], row["missed"], row["spurious"]) == (
        correct, incorrect, partial, missed, spurious)
    assert row["precision"] == pytest.approx(precision) and row["recall"] == pytest.approx(precision)
    assert row["f1"] == pytest.approx(precision)


def test_strict_agrees_with_seqeval_and_per_type_is_hand_counted():
    scores = semeval_scores(GOLD, PREDICTED)
    assert scores["strict"]["f1"] == pytest.approx(metrics.score(GOLD, PREDICTED)["f1"])
    assert sorted(scores["per_type"]) == ["LOC", "MISC", "ORG", "PER"]
    # LOC alone: gold LOC 1-2 and 3-4; predicted LOC 1-2, LOC 4 and LOC 0 (which is ORG in the gold).
    loc = scores["per_type"]["LOC"]
    assert (loc["strict"]["correct"], loc["strict"]["incorrect"], loc["strict"]["spurious"]) == (1, 1, 1)
    assert loc["type"]["precision"] == pytest.approx(2 / 3) and loc["type"]["recall"] == 1.0
    assert scores["per_type"]["PER"]["strict"]["missed"] == 1
    assert scores["per_type"]["MISC"]["exact"]["spurious"] == 1


def test_iob1_reads_like_iob2_and_no_entities_is_zero():
    iob1 = [["I-PER", "I-PER", "O", "I-LOC"]]
    iob2 = [["B-PER", "I-PER", "O", "B-LOC"]]
    assert semeval_scores(iob1, iob2)["strict"]["f1"] == 1.0
    assert semeval_scores([["O"]], [["O"]])["exact"] == {"correct": 0, "incorrect": 0, "partial": 0, "missed": 0,
                                                          "spurious": 0, "precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_documents_worst_first_and_in_the_table():
    rows = document_scores(GOLD, PREDICTED, ["doc-0001", "doc-0002", "doc-0002"])
    assert [row["document_id"] for row in rows] == ["doc-0002", "doc-0001"]
    assert rows[0]["gold"] == 4 and rows[0]["predicted"] == 4
    assert rows[0]["f1"] == pytest.approx(metrics.score(GOLD[1:], PREDICTED[1:])["f1"])
    assert rows[1]["f1"] == 1.0
    table = scores_table(semeval_scores(GOLD, PREDICTED), rows)
    assert "partial        0.7000" in table and "doc-0002" in table.split("worst documents")[1]


def test_plain_labels_score_per_word():
    scores = semeval_scores([["NNP", "VBD", "NN"]], [["NNP", "VBN", "NN"]])
    assert scores["exact"]["f1"] == 1.0 and scores["strict"]["f1"] == pytest.approx(2 / 3)
    # exact and partial say only that every word has a label: the word-level report leaves them out
    rows = document_scores([["NNP", "VBD", "NN"]], [["NNP", "VBN", "NN"]], ["d1"])
    table = scores_table(scores, rows, plain=True)
    assert "SemEval-2013 scores (nervaluate)" not in table and "\nexact " not in table
    assert table.startswith("Word-level scores") and "labelled words" in table and "d1" in table


def test_a_document_without_entities_is_not_among_the_worst():
    # a news brief with no names, tagged with none, is right; one with a missed name is the one to look at
    rows = document_scores([["O", "O"], ["B-PER", "O"], ["O"]], [["O", "O"], ["O", "O"], ["B-LOC"]],
                           ["brief", "missed", "spurious"])
    assert [row["document_id"] for row in rows][-1] == "brief"
    assert rows[-1]["f1"] == 1.0 and {row["f1"] for row in rows[:2]} == {0.0}
