"""Scores beside seqeval's: SemEval-2013 task 9.1 scores with nervaluate, and scores per document.

- :func:`semeval_scores`: ``strict`` (boundaries and type), ``exact`` (boundaries, any type), ``partial``
  (overlap counts half, any type) and ``type`` (some overlap, right type), overall and per type, with the
  counts behind each (correct, incorrect, partial, missed, spurious). Spans are read from the tags the tolerant
  conlleval way (:func:`nerkit.schemes.get_spans`, any scheme), and each sentence is one nervaluate document.
- :func:`document_scores`: seqeval's precision / recall / F1 for each document, worst first.

>>> gold = [["B-PER", "I-PER", "O", "B-LOC"]]
>>> scores = semeval_scores(gold, [["B-PER", "O", "O", "B-ORG"]])
>>> {name: round(scores[name]["f1"], 2) for name in SCENARIOS}
{'strict': 0.0, 'exact': 0.5, 'partial': 0.75, 'type': 0.5}
"""

from __future__ import annotations

from typing import Dict, List, Sequence

from . import metrics
from .schemes import get_spans

# Our name for each of nervaluate's scenarios.
SCENARIOS = {"strict": "strict", "exact": "exact", "partial": "partial", "type": "ent_type"}
COUNTS = ("correct", "incorrect", "partial", "missed", "spurious")
PLAIN_NOTE = ("Word-level scores: with plain labels each labelled word is one unit, so the SemEval-2013 strict and "
              "type scores are the micro-averaged scores above, and exact and partial (boundaries, any label) only "
              "count whether a word was labelled at all; their table is left out.")


def _entities(tags: Sequence[Sequence[str]]) -> List[List[dict]]:
    # nervaluate's spans end on their last word (inclusive); ours end after it.
    return [[{"label": label, "start": start, "end": end - 1} for label, start, end in get_spans(sentence)]
            for sentence in tags]


def _row(result) -> Dict:
    row = {name: int(getattr(result, name)) for name in COUNTS}
    row.update(precision=float(result.precision), recall=float(result.recall), f1=float(result.f1))
    return row


def semeval_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> Dict:
    """``{scenario: {precision, recall, f1, correct, ...}, "per_type": {type: {scenario: {...}}}}``."""
    from nervaluate import Evaluator

    true, pred = _entities(gold), _entities(predicted)
    types = sorted({entity["label"] for side in (true, pred) for sentence in side for entity in sentence})
    if not types:
        empty = {name: 0 for name in COUNTS} | {"precision": 0.0, "recall": 0.0, "f1": 0.0}
        return {**{name: dict(empty) for name in SCENARIOS}, "per_type": {}}
    results = Evaluator(true, pred, tags=types, loader="dict").evaluate()
    scores = {name: _row(results["overall"][key]) for name, key in SCENARIOS.items()}
    scores["per_type"] = {entity_type: {name: _row(results["entities"][entity_type][key])
                                        for name, key in SCENARIOS.items()}
                          for entity_type in sorted(results["entities"])}
    return scores


def document_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]],
                    document_ids: Sequence[str]) -> List[Dict]:
    """Precision / recall / F1 (seqeval, as the overall scores) and entity counts of each document, worst
    first: lowest F1, then most gold entities. Sentences without a document id are left out. A document with
    no entity, gold or predicted, has nothing wrong: it scores 1 (seqeval would say 0 and rank it among the
    worst).

    >>> rows = document_scores([["B-PER"], ["B-LOC"], ["O"]], [["B-PER"], ["O"], ["O"]], ["a", "b", "c"])
    >>> [(row["document_id"], row["f1"], row["gold"], row["predicted"]) for row in rows]
    [('b', 0.0, 1, 0), ('a', 1.0, 1, 1), ('c', 1.0, 0, 0)]
    """
    sentences: Dict[str, List[int]] = {}
    for index, document in enumerate(document_ids):
        if document:
            sentences.setdefault(document, []).append(index)
    rows = []
    for document, indices in sentences.items():
        document_gold, document_predicted = [gold[i] for i in indices], [predicted[i] for i in indices]
        gold_count = sum(len(get_spans(tags)) for tags in document_gold)
        predicted_count = sum(len(get_spans(tags)) for tags in document_predicted)
        if gold_count == predicted_count == 0:
            scores = {"precision": 1.0, "recall": 1.0, "f1": 1.0}
        else:
            scores = metrics.score(document_gold, document_predicted)
        rows.append({"document_id": document, "precision": scores["precision"], "recall": scores["recall"],
                     "f1": scores["f1"], "gold": gold_count, "predicted": predicted_count})
    return sorted(rows, key=lambda row: (row["f1"], -row["gold"]))


def scores_table(scores: Dict, worst_documents: Sequence[Dict] = (), plain: bool = False) -> str:
    """The SemEval-2013 scores (overall, then per type) and the worst documents, as plain text. For plain labels
    (``plain``) a word is the unit and the scenarios say nothing seqeval's scores do not: :data:`PLAIN_NOTE`.

    >>> print(scores_table(semeval_scores([["B-PER"]], [["B-PER"]])).splitlines()[2])
    strict         1.0000     1.0000     1.0000        1        0        0        0        0
    """
    header = f"{'scenario':<10} {'precision':>10} {'recall':>10} {'f1':>10} " + " ".join(f"{n:>8}" for n in COUNTS)
    lines = [PLAIN_NOTE] if plain else ["SemEval-2013 scores (nervaluate)", header]

    def add(label: str, rows: Dict) -> None:
        for name in SCENARIOS:
            row = rows[name]
            lines.append(f"{label + name:<10} {row['precision']:>10.4f} {row['recall']:>10.4f} {row['f1']:>10.4f} "
                         + " ".join(f"{row[n]:>8}" for n in COUNTS))

    for entity_type, rows in [] if plain else [("", scores), *scores["per_type"].items()]:
        if entity_type:
            lines.append(f"\n{entity_type}")
        add("  " if entity_type else "", rows)
    if worst_documents:
        counted = "; gold and predicted: labelled words" if plain else ""
        lines += ["", f"worst documents (of {len(worst_documents)}{counted})",
                  f"{'document':<20} {'precision':>10} {'recall':>10} {'f1':>10} {'gold':>6} {'predicted':>9}"]
        for row in worst_documents[:10]:
            lines.append(f"{row['document_id']:<20} {row['precision']:>10.4f} {row['recall']:>10.4f} {row['f1']:>10.4f} "
                         f"{row['gold']:>6} {row['predicted']:>9}")
    return "\n".join(lines) + "\n"
