"""The label set a model is trained with, and the rules its tags follow: for training and convert_iob.py alike.

- Single tags: :func:`bad_tag_message` says why a value is not a tag (or plain label); :class:`TagChecker`
  is the check every reader runs.
- Tag sequences: :func:`validate_tags` reads a corpus in its tagging scheme, repairs invalid sequences
  (``I-PER`` after ``O`` in IOB2, an unclosed ``B-`` in BIOES, ...) and counts the repairs; under
  ``--strict`` the first one is an error naming the file and line instead.
- The label list: from the data (every split given, IOB2; in the order a hub dataset's ``ClassLabel``
  declares, else sorted, as upstream ``run_ner.py`` does) or from the pretrained model when it already is a
  token classifier. When both exist and their sets are equal, the head's order is kept (fine-tuning a trained
  NER model on new data); when they differ, a clear error unless ``--ignore_mismatched_sizes`` asks for a new
  head.
- Loss weights per label: :func:`inverse_frequency_weights` (also what ``convert_iob.py --stats`` reports)
  and :func:`loss_weights_for`, the ``--class_weights`` setting.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from typing import Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

from .corpus import Sentence
from .errors import NerDataError, SetupError
from .files import read_text
from .schemes import (
    IOB2,
    PLAIN,
    TaggingScheme,
    detect_scheme,
    entity_types,
    first_violation,
    get_scheme,
    is_label,
    is_tag,
    repair,
)

_DEFAULT_NAME = re.compile(r"^LABEL_\d+$")


# ---------------------------------------------------------------------------------------------------------
# Single tags
# ---------------------------------------------------------------------------------------------------------
def bad_tag_message(tag, plain: bool = False) -> str:
    """Why ``tag`` is not a tag, with a hint for the usual slips (``B_PER``, ``b-per``, ``PER``, POS tags).

    >>> bad_tag_message("B_PER")
    "tag 'B_PER' is not a tag (expected O or B-/I-/E-/S- followed by a type; did you mean 'B-PER'?)"
    >>> bad_tag_message("two words", plain=True)
    "label 'two words' is not a label (expected a non-empty string without white space)"
    """
    if plain:
        return f"label {tag!r} is not a label (expected a non-empty string without white space)"
    message = f"tag {tag!r} is not a tag (expected O or B-/I-/E-/S- followed by a type"
    if isinstance(tag, str):
        guesses = [tag.upper() if len(tag) <= 1 else tag[0].upper() + tag[1:]]
        if len(tag) > 2 and tag[1] in "_.:":
            guesses.append(f"{tag[0].upper()}-{tag[2:]}")
        guess = next((g for g in guesses if g != tag and is_tag(g)), None)
        if guess:
            return f"{message}; did you mean {guess!r}?)"
        if tag and tag != "O" and is_tag(f"B-{tag}"):
            return (f"{message}; a bare type like {tag!r} needs a prefix, e.g. 'B-{tag}', unless these are labels "
                    "without spans, such as POS tags: then choose the tagging scheme none)")
    return message + ")"


class TagChecker:
    """Validates tags (or plain labels) with :func:`nerkit.schemes.is_label`, remembering the good ones (a
    corpus has few)."""

    def __init__(self, path, plain: bool = False):
        self.path, self.plain = path, plain
        self.valid: set = set()

    def problem(self, tag) -> Optional[str]:
        """Why ``tag`` is not a tag (:func:`bad_tag_message`), or None when it is one."""
        if not isinstance(tag, str):  # a list or object where a tag should be (unhashable: test first)
            return bad_tag_message(tag, self.plain)
        if tag in self.valid:
            return None
        if not is_label(tag, self.plain):
            return bad_tag_message(tag, self.plain)
        self.valid.add(tag)
        return None

    def __call__(self, tag, line: Optional[int] = None, where: Optional[str] = None) -> str:
        """``tag`` itself when valid, else :class:`NerDataError` naming ``path``, ``line`` and ``where``."""
        problem = self.problem(tag)
        if problem is not None:
            raise NerDataError(problem, path=str(self.path), line=line, where=where)
        return tag


# ---------------------------------------------------------------------------------------------------------
# Tag sequences: validation, repair, --strict
# ---------------------------------------------------------------------------------------------------------
Location = Tuple[Optional[str], Optional[int], Optional[str]]  # (path, line, where) for NerDataError


@dataclasses.dataclass
class ValidationReport:
    """What :func:`validate_tags` found: the scheme it read the tags in and the repairs it made.

    ``repairs`` counts changed tags, ``repaired_sentences`` the sentences holding at least one; ``examples``
    holds the first few as ``file:line: ...`` lines.
    """

    scheme: str
    detected: bool
    repairs: int = 0
    repaired_sentences: int = 0
    examples: List[str] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def explain_violation(sentence: Sentence, index: int, scheme: TaggingScheme, location: Location) -> NerDataError:
    """The ``--strict`` error of convert_iob.py: which tag cannot follow which, on which word; the sentence's
    position when its line is unknown."""
    tags = sentence.ner_tags
    previous = tags[index - 1] if index > 0 else None
    if index == len(tags) - 1 and scheme.allowed(previous, tags[index]):
        follows = "end a sentence"
    else:
        follows = f"follow {previous!r}" if index > 0 else "open a sentence"
    return _located_error(f"word {index + 1} {sentence.tokens[index]!r}: tag {tags[index]!r} cannot {follows} in "
                          f"{scheme.name} (--strict; without it the tag is repaired)", location)


def name_violation(sentence: Sentence, index: int, scheme: TaggingScheme, location: Location) -> NerDataError:
    """The ``--strict`` error of the training scripts: the tag, its word and the scheme, at the line where the
    sentence starts (word N is on that line + N - 1 only in CoNLL; a JSON, CSV or text_labels sentence is one
    record). Its wording differs from :func:`explain_violation` because the tests of each CLI assert their own."""
    path, line, _ = location
    return NerDataError(
        f"tag {sentence.ner_tags[index]!r} on word {index + 1} ({sentence.tokens[index]!r}) "
        f"breaks the {scheme} scheme (--strict)",
        path=path,
        line=line,
    )


StrictError = Callable[[Sentence, int, TaggingScheme, Location], NerDataError]


def validate_tags(sentences: Sequence[Sentence], scheme=None, strict: bool = False, path=None, max_examples: int = 5,
                  strict_error: StrictError = explain_violation):
    """Check and repair the tags of ``sentences``; returns ``(sentences, ValidationReport)``.

    The scheme is detected from the corpus when ``scheme`` is None (``nerkit.schemes.detect_scheme``).
    Each sentence whose tags the scheme does not allow is replaced by a copy with the repaired tags
    (``nerkit.schemes.repair``: same entities, conlleval reading); the others are returned as they are.
    With ``strict=True`` the first invalid sentence raises :class:`NerDataError` (``strict_error`` words it)
    naming ``path`` (or the sentence's own ``extra["path"]``), the sentence's first line and the offending tag.

    >>> fixed, report = validate_tags([Sentence(["a", "b"], ["O", "I-ORG"], line=3)], scheme="iob2", path="x.conll")
    >>> fixed[0].ner_tags, report.repairs, report.examples
    (['O', 'B-ORG'], 1, ["x.conll:3: word 2 'b': I-ORG -> B-ORG"])
    >>> validate_tags([Sentence(["a", "b"], ["O", "I-ORG"], line=3)], scheme="iob2", strict=True, path="x.conll")
    Traceback (most recent call last):
    ...
    nerkit.errors.NerDataError: x.conll:3: word 2 'b': tag 'I-ORG' cannot follow 'O' in IOB2 (--strict; without it the tag is repaired)
    """
    sentences = list(sentences)
    _check_words_and_tags(sentences, path, plain=scheme is not None and get_scheme(scheme) is PLAIN)
    detected = scheme is None
    scheme = detect_scheme(s.ner_tags for s in sentences) if detected else get_scheme(scheme)
    report = ValidationReport(scheme=scheme.name, detected=detected)
    result = list(repaired_sentences(sentences, scheme, report, strict, path, max_examples, strict_error, check=False))
    return result, report


def repaired_sentences(sentences: Iterable[Sentence], scheme: TaggingScheme, report: ValidationReport, strict: bool = False,
                       path=None, max_examples: int = 5, strict_error: StrictError = explain_violation,
                       check: bool = True) -> Iterator[Sentence]:
    """:func:`validate_tags` one sentence at a time, for a corpus read as a stream (its scheme known): each
    sentence checked (unless ``check`` is off: the caller did), repaired, counted in ``report``, and yielded.

    >>> report = ValidationReport(scheme="IOB2", detected=False)
    >>> [s.ner_tags for s in repaired_sentences([Sentence(["a"], ["I-ORG"]), Sentence(["b"], ["O"])], IOB2, report)]
    [['B-ORG'], ['O']]
    >>> report.repairs, report.repaired_sentences
    (1, 1)
    """
    checker = TagChecker(path, scheme is PLAIN)
    for position, sentence in enumerate(sentences):
        if check:
            _check_sentence(checker, sentence, path, position)
        fixed, changed = repair(sentence.ner_tags, scheme)
        if not changed:
            yield sentence
            continue
        location = _location(sentence, path, position)
        if strict:
            index = first_violation(sentence.ner_tags, scheme)
            if index is None:  # repair and first_violation agree (tested); guard anyway
                index = next(i for i, (old, new) in enumerate(zip(sentence.ner_tags, fixed)) if old != new)
            raise strict_error(sentence, index, scheme, location)
        report.repairs += changed
        report.repaired_sentences += 1
        if len(report.examples) < max_examples:
            report.examples.append(_repair_example(sentence, fixed, location))
        yield dataclasses.replace(sentence, ner_tags=fixed)


def _located_error(message: str, location: Location) -> NerDataError:
    path, line, where = location
    return NerDataError(message, path=path, line=line, where=where)


def _location(sentence: Sentence, path, position: int) -> Location:
    """(path, line, where) of a sentence for an error message; ``where`` when the line is unknown."""
    path = sentence.extra.get("path", path) if sentence.extra else path
    if sentence.line is not None:
        return (None if path is None else str(path)), sentence.line, None
    where = f"sentence {position + 1}"
    if sentence.document_id:
        where += f" (document {sentence.document_id})"
    return (None if path is None else str(path)), None, where


def _repair_example(sentence: Sentence, fixed: Sequence[str], location: Location) -> str:
    """``file:line: word 2 'b': I-ORG -> B-ORG`` for each tag the repair changed."""
    place = str(_located_error("", location)).rstrip(": ")
    diffs = [f"word {i + 1} {sentence.tokens[i]!r}: {old} -> {new}"
             for i, (old, new) in enumerate(zip(sentence.ner_tags, fixed)) if old != new]
    return f"{place}: {'; '.join(diffs)}"


def _check_words_and_tags(sentences: Sequence[Sentence], path, plain: bool) -> None:
    """Words and tags line up and every tag is a tag (or a plain label): readers check this already,
    sentences built in code may not have been."""
    checker = TagChecker(path, plain)
    for position, sentence in enumerate(sentences):
        _check_sentence(checker, sentence, path, position)


def _check_sentence(checker: TagChecker, sentence: Sentence, path, position: int) -> None:
    if len(sentence.tokens) != len(sentence.ner_tags):
        raise _located_error(f"{len(sentence.tokens)} words but {len(sentence.ner_tags)} tags", _location(sentence, path, position))
    for index, tag in enumerate(sentence.ner_tags):
        problem = checker.problem(tag)
        if problem is not None:
            raise _located_error(f"word {index + 1}: {problem}", _location(sentence, path, position))


# ---------------------------------------------------------------------------------------------------------
# The label list
# ---------------------------------------------------------------------------------------------------------
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
            raise SetupError(f"{model_name} has no trained labels and no training data was given to learn them from")
        return data_labels
    if data_labels is None or set(data_labels) <= set(head):
        return head  # predicting or evaluating with a trained model: its labels, its order
    if ignore_mismatched_sizes:
        return data_labels
    missing = sorted(set(data_labels) - set(head))
    raise SetupError(
        f"the labels of {model_name} ({len(head)}) differ from the data's: the data has {', '.join(missing[:5])}"
        f"{' ...' if len(missing) > 5 else ''} which the model lacks; pass --ignore_mismatched_sizes for a new head"
    )


# ---------------------------------------------------------------------------------------------------------
# Loss weights
# ---------------------------------------------------------------------------------------------------------
def inverse_frequency_weights(label_counts: Mapping[str, int],
                              labels: Optional[Iterable[str]] = None) -> Dict[str, float]:
    """Inverse-frequency weight of each label, scaled so that the mean weight over all tokens is 1.

    With ``n_l`` tokens of label ``l``, ``N = sum(n_l)`` tokens and ``K`` labels with ``n_l > 0``::

        w_l = N / (K * n_l)        so that   sum_l n_l * w_l / N = sum_l 1 / K = 1

    i.e. every present label carries the same total weight ``N / K``, and a loss weighted this way keeps the
    scale of the unweighted one. A label listed in ``labels`` but absent from the corpus gets ``1.0``: it
    never occurs as a target, so its weight does not change the loss; 1.0 keeps it neutral should the
    weights be reused elsewhere. (Absent labels are not counted in ``K``.)

    >>> inverse_frequency_weights({"O": 6, "B-PER": 2}, labels=["O", "B-PER", "I-PER"])
    {'O': 0.6666666666666666, 'B-PER': 2.0, 'I-PER': 1.0}
    """
    labels = list(labels) if labels is not None else list(label_counts)
    for label in label_counts:
        if label not in labels:
            labels.append(label)
    total = sum(label_counts.values())
    present = sum(1 for count in label_counts.values() if count > 0)
    return {label: total / (present * label_counts[label]) if label_counts.get(label, 0) > 0 else 1.0
            for label in labels}


def loss_weights_for(setting: str, label_list: List[str],
                     train_tags: Optional[Iterable[Sequence[str]]]) -> Optional[List[float]]:
    """Loss weight per label id for ``--class_weights``: ``none``, ``auto`` (:func:`inverse_frequency_weights`
    over the training words: a label seen as often as the average weighs 1, one never seen weighs 1 too) or a
    JSON file ``{label: weight}`` (or the ``stats.json`` of ``convert_iob.py --stats``; unnamed labels weigh 1).
    """
    if setting in (None, "", "none"):
        return None
    if setting == "auto":
        if train_tags is None:
            raise SetupError("--class_weights auto needs training data")
        counts = Counter(tag for tags in train_tags for tag in tags)
        weights = inverse_frequency_weights(counts, label_list)
        return [weights[label] for label in label_list]
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
