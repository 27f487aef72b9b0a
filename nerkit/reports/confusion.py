"""Entity-level confusion: which gold entity became which predicted one.

Entities are the spans of :func:`nerkit.schemes.get_spans` (read the conlleval way, as seqeval does). A gold and
a predicted entity *match* when they have exactly the same boundaries; the cell (gold type, predicted type)
counts matches, so the diagonal holds the correct entities and the off-diagonal cells the type confusions. A
gold entity with no predicted entity of the same boundaries is *missed*, a predicted entity with no gold entity
of the same boundaries is *spurious*. Partially overlapping entities are therefore one missed plus one spurious
(the exact-match rule of the CoNLL metrics: row totals are the gold counts, column totals the predicted counts,
so recall = diagonal / row total and precision = diagonal / column total per type, as seqeval reports); how many
missed entities overlap a spurious one (boundary errors) is counted separately. Plain labels (POS tags...) make
every labelled word an entity of its own (``get_spans``), so the same table is the word-level confusion of
labels.

>>> confusion = entity_confusion([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "O", "O", "B-ORG"]])
>>> confusion.count("LOC", "ORG"), confusion.count("PER", MISSED), confusion.count(SPURIOUS, "PER")
(1, 1, 1)
>>> confusion.boundary_errors
1
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from ..schemes import PLAIN, get_spans, scheme_of_labels

MISSED = "(missed)"
SPURIOUS = "(spurious)"


@dataclass
class EntityConfusion:
    """Counts per (gold type or ``SPURIOUS``, predicted type or ``MISSED``); see the module docstring."""

    types: List[str]
    counts: Counter = field(default_factory=Counter)
    boundary_errors: int = 0

    def count(self, gold: str, predicted: str) -> int:
        return self.counts.get((gold, predicted), 0)

    @property
    def rows(self) -> List[str]:
        return self.types + [SPURIOUS]

    @property
    def columns(self) -> List[str]:
        return self.types + [MISSED]

    def row_total(self, gold: str) -> int:
        return sum(self.count(gold, predicted) for predicted in self.columns)

    def column_total(self, predicted: str) -> int:
        return sum(self.count(gold, predicted) for gold in self.rows)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "types": self.types,
            "matrix": {gold: {predicted: self.count(gold, predicted) for predicted in self.columns}
                       for gold in self.rows},
            "boundary_errors": self.boundary_errors,
        }

    def to_text(self, title: Optional[str] = None) -> str:
        """A plain-text table with row and column totals."""
        columns = self.columns + ["total"]
        corner = "gold \\ predicted"
        width = max([len(corner), len(SPURIOUS)] + [len(t) for t in self.types]) + 2
        cell = max([7] + [len(c) + 2 for c in columns])
        lines = [title] if title else []
        lines.append(f"{corner:<{width}}" + "".join(f"{c:>{cell}}" for c in columns))
        for gold in self.rows:
            values = [("-" if gold == SPURIOUS and predicted == MISSED else str(self.count(gold, predicted)))
                      for predicted in self.columns]
            lines.append(f"{gold:<{width}}" + "".join(f"{v:>{cell}}" for v in values + [str(self.row_total(gold))]))
        totals = [str(self.column_total(predicted)) for predicted in self.columns]
        lines.append(f"{'total':<{width}}" + "".join(f"{v:>{cell}}" for v in totals + [""]))
        lines.append("")
        lines.append("Rows: gold entities by type; columns: the predicted entity with exactly the same boundaries.")
        lines.append(f"{MISSED}: no predicted entity with those boundaries; {SPURIOUS}: a predicted entity with no "
                     "gold entity of the same boundaries.")
        lines.append("Boundary errors (missed gold entities overlapping a spurious prediction): "
                     f"{self.boundary_errors}")
        return "\n".join(lines) + "\n"


def entity_confusion(gold_tags: Sequence[Sequence[str]], predicted_tags: Sequence[Sequence[str]]) -> EntityConfusion:
    """Entity-level confusion of two tag sequences per sentence (any scheme; see the module docstring)."""
    if len(gold_tags) != len(predicted_tags):
        raise ValueError(f"{len(gold_tags)} gold sentences but {len(predicted_tags)} predicted")
    counts: Counter = Counter()
    boundary = 0
    types = set()
    for index, (gold, predicted) in enumerate(zip(gold_tags, predicted_tags)):
        if len(gold) != len(predicted):
            raise ValueError(f"sentence {index}: {len(gold)} gold tags but {len(predicted)} predicted")
        gold_spans = {(start, end): label for label, start, end in get_spans(gold)}
        predicted_spans = {(start, end): label for label, start, end in get_spans(predicted)}
        types.update(gold_spans.values())
        types.update(predicted_spans.values())
        spurious = [bounds for bounds in predicted_spans if bounds not in gold_spans]
        for bounds, label in gold_spans.items():
            if bounds in predicted_spans:
                counts[(label, predicted_spans[bounds])] += 1
                continue
            counts[(label, MISSED)] += 1
            if any(start < bounds[1] and bounds[0] < end for start, end in spurious):
                boundary += 1
        for bounds in spurious:
            counts[(SPURIOUS, predicted_spans[bounds])] += 1
    return EntityConfusion(sorted(types), counts, boundary)


def is_plain_label_set(labels: Sequence[str]) -> bool:
    """Whether a label set is plain labels (POS tags...), whose entities are single labelled words.

    >>> is_plain_label_set(["NN", "VBZ"]), is_plain_label_set(["O", "B-PER", "I-PER"]), is_plain_label_set([])
    (True, False, False)
    """
    return bool(labels) and scheme_of_labels(labels) is PLAIN


def confusion_level(plain: bool) -> str:
    """What the confusion table and the scores compare: words for plain labels, entities otherwise."""
    return "Word-level" if plain else "Entity-level"
