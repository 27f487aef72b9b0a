"""The label list a model is trained with, and the loss weights per label.

Labels come from the data (every split given, IOB2; in the order a hub dataset's ``ClassLabel`` declares,
else sorted, as upstream ``run_ner.py`` does) or from the pretrained model when it already is a token
classifier. When both exist and their sets are equal, the head's order is kept (fine-tuning a trained NER
model on new data); when they differ, a clear error unless ``--ignore_mismatched_sizes`` asks for a new head.
"""

from __future__ import annotations

import json
import re
from typing import Dict, Iterable, List, Optional, Sequence

from .errors import NerDataError
from .files import read_text
from .schemes import IOB2, entity_types

_DEFAULT_NAME = re.compile(r"^LABEL_\d+$")


def labels_from_data(tag_lists: Iterable[Sequence[str]], declared: Optional[Sequence[str]] = None,
                     plain: bool = False) -> List[str]:
    """The IOB2 label list for every type seen in the data (both prefixes of each, so none is missing), in
    upstream's order: the same label ids as upstream's model, and so the same classifier initialisation (with
    upstream's batching, our run reproduces upstream's F1 on CoNLL-2003 exactly).

    Upstream's order is sorted for file data, and the dataset's own for a hub dataset's ``ClassLabel``
    (``declared``): the model's label ids are then the dataset's tag ids. That order is kept when it names
    every label needed, in IOB2, once; otherwise (BIOES names, say) the sorted list. Plain labels (``plain``,
    no spans) are the labels seen, or the declared ones when those name each seen label once.

    >>> labels_from_data([["B-PER", "O"], ["B-LOC", "I-LOC"]])
    ['B-LOC', 'B-PER', 'I-LOC', 'I-PER', 'O']
    >>> labels_from_data([["B-PER", "O"]], declared=["O", "B-PER", "I-PER", "B-LOC", "I-LOC"])
    ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC']
    >>> labels_from_data([["B-PER", "O"]], declared=["O", "S-PER", "B-PER", "I-PER", "E-PER"])
    ['B-PER', 'I-PER', 'O']
    >>> labels_from_data([["NNP", "VBZ"], ["DT", "NN"]], plain=True)
    ['DT', 'NN', 'NNP', 'VBZ']
    """
    seen = set()
    for tags in tag_lists:
        seen.update(tags)
    if plain:
        if declared and len(set(declared)) == len(declared) and seen <= set(declared):
            return list(declared)
        return sorted(seen)
    if declared:
        needed = set(IOB2.labels(entity_types(seen | set(declared))))
        if len(set(declared)) == len(declared) and set(declared) == needed:
            return list(declared)
    return sorted(IOB2.labels(entity_types(seen)))


def pretrained_labels(config) -> Optional[List[str]]:
    """The pretrained head's labels in id order, or None when the model is not a token classifier yet."""
    id2label = getattr(config, "id2label", None) or {}
    labels = [id2label[i] for i in sorted(id2label, key=int)]
    if not labels or all(_DEFAULT_NAME.match(str(label)) for label in labels):
        return None
    return labels


def resolve_labels(data_labels: Optional[List[str]], config, ignore_mismatched_sizes: bool, model_name: str) -> List[str]:
    """Pick the label list (see the module docstring)."""
    head = pretrained_labels(config)
    if head is None:
        if data_labels is None:
            raise NerDataError(f"{model_name} has no trained labels and no training data was given to learn them from")
        return data_labels
    if data_labels is None or set(data_labels) <= set(head):
        return head  # predicting or evaluating with a trained model: its labels, its order
    if ignore_mismatched_sizes:
        return data_labels
    missing = sorted(set(data_labels) - set(head))
    raise NerDataError(
        f"the labels of {model_name} ({len(head)}) differ from the data's: the data has {', '.join(missing[:5])}"
        f"{' ...' if len(missing) > 5 else ''} which the model lacks; pass --ignore_mismatched_sizes for a new head"
    )


def class_weights(setting: str, label_list: List[str], train_tags: Optional[Iterable[Sequence[str]]]) -> Optional[List[float]]:
    """Loss weight per label id: ``none``, ``auto`` (inverse frequency) or a JSON file ``{label: weight}``.

    ``auto`` is ``w = N / (K * n_label)`` over the training words, so a label seen as often as the average
    weighs 1; a label never seen in training weighs 1 too.
    """
    if setting in (None, "", "none"):
        return None
    if setting == "auto":
        if train_tags is None:
            raise NerDataError("--class_weights auto needs training data")
        counts: Dict[str, int] = {label: 0 for label in label_list}
        for tags in train_tags:
            for tag in tags:
                counts[tag] = counts.get(tag, 0) + 1
        total = sum(counts.values())
        present = [label for label in label_list if counts[label]]
        return [total / (len(present) * counts[label]) if counts[label] else 1.0 for label in label_list]
    try:
        given = json.loads(read_text(setting))
    except json.JSONDecodeError as error:
        raise NerDataError(f"not valid JSON: {error.msg}", path=setting, line=error.lineno) from None
    if isinstance(given, dict) and isinstance(given.get("class_weights"), dict):
        given = given["class_weights"]  # a stats.json from convert_iob.py --stats
    if not isinstance(given, dict):
        raise NerDataError("expected a JSON object {label: weight}", path=setting)
    unknown = sorted(set(given) - set(label_list))
    if unknown:
        raise NerDataError(f"weights for labels the model does not have: {', '.join(unknown[:5])}", path=setting)
    return [float(given.get(label, 1.0)) for label in label_list]
