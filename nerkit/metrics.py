"""Entity-level scores with seqeval, computed locally (``evaluate.load("seqeval")`` needs the hub).

Scores are always per word: gold and predicted tag lists have one tag per input word, whatever happened to
sub-words, so ``--label_all_tokens`` cannot inflate entity counts.

Plain labels (POS tags: labels that are not ``O``/``B-X``/...) are scored per word: each labelled word is a
unit of its own (seqeval reads it as ``S-label``), so precision, recall and F1 are per label over the words,
micro-averaged over every label but ``O``; with no ``O`` in the label set, all three equal the accuracy.

>>> scores = score([["NNP", "VBZ", "DT", "NN"]], [["NNP", "VBZ", "DT", "JJ"]])
>>> scores["accuracy"], scores["f1"], sorted(scores["per_type"]), scores["per_type"]["NN"]["recall"]
(0.75, 0.75, ['DT', 'JJ', 'NN', 'NNP', 'VBZ'], 0.0)

>>> scores = score([["B-PER", "I-PER", "O"]], [["B-PER", "I-PER", "B-LOC"]])
>>> round(scores["precision"], 2), scores["recall"], round(scores["accuracy"], 2)
(0.5, 1.0, 0.67)
"""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

from seqeval.metrics import accuracy_score, classification_report
from seqeval.scheme import IOB2 as SEQEVAL_IOB2

from .schemes import is_tag

Tags = Sequence[Sequence[str]]


def _mode(strict: bool) -> dict:
    return {"mode": "strict", "scheme": SEQEVAL_IOB2} if strict else {}


def _as_seqeval_tags(gold: Tags, predicted: Tags, strict: bool) -> Tuple[List[List[str]], List[List[str]], bool]:
    """Both sides as lists; plain labels become one-word ``S-`` units (see the module docstring), for which
    seqeval's strict IOB2 mode has no meaning, so strict is dropped for them."""
    gold, predicted = [list(s) for s in gold], [list(s) for s in predicted]
    if all(is_tag(tag) for tag in {tag for side in (gold, predicted) for sentence in side for tag in sentence}):
        return gold, predicted, strict

    def units(tags: List[str]) -> List[str]:
        return ["O" if tag == "O" else f"S-{tag}" for tag in tags]

    return [units(s) for s in gold], [units(s) for s in predicted], False


def score(gold: Tags, predicted: Tags, strict: bool = False) -> Dict:
    """Overall precision / recall / F1 / token accuracy, and the same per entity type with its support."""
    gold, predicted, strict = _as_seqeval_tags(gold, predicted, strict)
    if not any(tag != "O" for sentence in gold for tag in sentence) and not any(
        tag != "O" for sentence in predicted for tag in sentence
    ):
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0, "accuracy": accuracy_score(gold, predicted) if gold else 0.0, "per_type": {}}
    # The dict form of seqeval's report serves both modes (the array API has no strict switch).
    table = classification_report(gold, predicted, output_dict=True, zero_division=0, **_mode(strict))
    per_type = {
        name: {"precision": float(row["precision"]), "recall": float(row["recall"]), "f1": float(row["f1-score"]),
               "number": int(row["support"])}
        for name, row in sorted(table.items()) if not name.endswith(" avg")
    }
    micro = table["micro avg"]
    return {
        "precision": float(micro["precision"]),
        "recall": float(micro["recall"]),
        "f1": float(micro["f1-score"]),
        "accuracy": float(accuracy_score(gold, predicted)),
        "per_type": per_type,
    }


def _types(tags: Tags) -> set:
    from seqeval.metrics.sequence_labeling import get_entities

    return {entity_type for entity_type, _, _ in get_entities([list(s) for s in tags])}


def flat_results(scores: Dict, prefix: str, entity_level: bool = True) -> Dict[str, float]:
    """The scores as flat ``{prefix}_overall_f1``-style keys for ``*_results.json`` and the Trainer's logs.

    ``{prefix}_f1`` etc. stay for compatibility with upstream's keys; per type keys are added when asked.
    """
    results = {f"{prefix}_{name}": scores[name] for name in ("precision", "recall", "f1", "accuracy")}
    if entity_level:
        for entity_type, values in scores["per_type"].items():
            for name, value in values.items():
                results[f"{prefix}_{entity_type}_{name}"] = value
    return results


def report(gold: Tags, predicted: Tags, strict: bool = False) -> str:
    """seqeval's classification report (per type, with support), four digits."""
    gold, predicted, strict = _as_seqeval_tags(gold, predicted, strict)
    if not _types(gold) and not _types(predicted):
        return "no entities in the gold or predicted tags\n"
    return classification_report(gold, predicted, digits=4, zero_division=0, **_mode(strict))
