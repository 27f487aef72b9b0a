"""Logits of a split to word tags, scores, reports and prediction files: the last steps both scripts share.

:class:`WordLevelEvaluator` is a ``compute_metrics`` for the ``Trainer`` (it also takes plain arrays from
the Accelerate loop): it merges windows, decodes, scores per word with seqeval, and keeps the decoded tags so
the caller can write them without decoding twice.
"""

from __future__ import annotations

import json
import os
from typing import Dict, List, Optional, Sequence

import numpy as np

from . import metrics
from .decoding import decode, pad_logits, word_log_probs
from .files import atomic_write
from .inference.writing import write_conll, write_jsonl
from .relaxed_metrics import SCENARIOS, document_scores, scores_table, semeval_scores
from .reports.errors import split_errors, write_errors
from .reports.html_report import write_report
from .reports.plots import report_plots
from .schemes import PLAIN, convert, scheme_of_labels

SPLIT_NAMES = {"eval": "validation", "predict": "test"}  # result prefixes and the splits they score


class WordLevelEvaluator:
    """Scores one split's logits per word; ``tags``/``confidence``/``scores`` hold the last result."""

    def __init__(self, features, raw_split, id2label: Dict[int, str], constrained: bool = False,
                 strict: bool = False, entity_level: bool = True):
        self.features, self.raw_split = features, raw_split
        self.id2label = id2label
        self.constrained, self.strict, self.entity_level = constrained, strict, entity_level
        self.lengths = [len(tokens) for tokens in raw_split["tokens"]]
        self.tags: Optional[List[List[str]]] = None
        self.confidence = None
        self.scores: Optional[Dict] = None

    def decode(self, logits) -> List[List[str]]:
        if isinstance(logits, (list, tuple)) and not isinstance(logits, np.ndarray):
            logits = pad_logits([np.asarray(row) for row in logits])
        word_scores = word_log_probs(np.asarray(logits), self.features, self.lengths)
        self.tags, self.confidence = decode(word_scores, self.id2label, self.constrained)
        return self.tags

    def __call__(self, evaluation) -> Dict[str, float]:
        logits = evaluation.predictions if hasattr(evaluation, "predictions") else evaluation
        if isinstance(logits, tuple):
            logits = logits[0]
        predicted = self.decode(logits)
        self.scores = metrics.score(self.raw_split["ner_tags"], predicted, strict=self.strict)
        flat = metrics.flat_results(self.scores, prefix="overall", entity_level=self.entity_level)
        # Upstream's key names (precision, recall, f1, accuracy) plus overall_* for seqeval-style readers.
        flat.update({name: self.scores[name] for name in ("precision", "recall", "f1", "accuracy")})
        return flat

    def report(self) -> str:
        return metrics.report(self.raw_split["ner_tags"], self.tags, strict=self.strict)


def save_json(data: Dict, path) -> None:
    with atomic_write(path) as stream:
        json.dump(data, stream, indent=2, sort_keys=True)
        stream.write("\n")


def save_results(output_dir: str, prefix: str, results: Dict) -> None:
    """``{prefix}_results.json``, merged into ``all_results.json`` as the Trainer's ``save_metrics`` does."""
    save_json(results, os.path.join(output_dir, f"{prefix}_results.json"))
    all_path = os.path.join(output_dir, "all_results.json")
    combined = {}
    if os.path.exists(all_path):
        with open(all_path, encoding="utf-8") as stream:
            combined = json.load(stream)
    combined.update(results)
    save_json(combined, all_path)


def save_split_outputs(output_dir: str, prefix: str, evaluator: WordLevelEvaluator, results: Dict,
                       input_scheme, write_predictions: bool, log_history: Sequence[Dict] = ()) -> None:
    """``{prefix}_results.json`` (with per-type, SemEval-2013 and per-document scores), ``{prefix}_report.txt``,
    the error list (``errors.jsonl`` for the prediction split, ``{prefix}_errors.jsonl`` for others), the page
    that shows them (``report.html`` / ``{prefix}_report.html``, with the learning curve of ``log_history`` and
    the split's confusion heat map) and, on request, predictions.

    Predictions, errors and the scores beside seqeval's are in the input's tagging scheme, next to the gold tags
    as given.
    """
    raw = evaluator.raw_split
    model_scheme = scheme_of_labels(list(evaluator.id2label.values()))
    plain = PLAIN in (model_scheme, input_scheme)
    if plain:  # plain labels are written as the model has them
        predicted = evaluator.tags
    else:
        predicted = [convert(tags, model_scheme, input_scheme) for tags in evaluator.tags]
    documents, gold = raw["document_id"], raw["gold_tags"]
    semeval = semeval_scores(gold, predicted)
    per_document = document_scores(gold, predicted, documents)
    full = dict(results)
    full[f"{prefix}_per_type"] = evaluator.scores["per_type"] if evaluator.scores else {}
    full.update({f"{prefix}_{name}_f1": semeval[name]["f1"] for name in SCENARIOS if name != "strict"})
    full[f"{prefix}_semeval"], full[f"{prefix}_per_document"] = semeval, per_document
    save_results(output_dir, prefix, full)
    with atomic_write(os.path.join(output_dir, f"{prefix}_report.txt")) as stream:
        stream.write(evaluator.report() + "\n" + scores_table(semeval, per_document, plain))
    errors = split_errors(raw["tokens"], gold, predicted, documents, raw["sentence_index"], evaluator.confidence,
                          plain)
    write_errors(os.path.join(output_dir, "errors.jsonl" if prefix == "predict" else f"{prefix}_errors.jsonl"),
                 errors)
    write_report(os.path.join(output_dir, "report.html" if prefix == "predict" else f"{prefix}_report.html"),
                 f"{prefix} split: errors", raw["tokens"], gold, predicted, documents, raw["sentence_index"], errors,
                 full[f"{prefix}_per_type"], semeval, per_document,
                 report_plots(log_history, gold, predicted, SPLIT_NAMES.get(prefix, prefix), plain), plain)
    if write_predictions:
        name = "predictions" if prefix == "predict" else f"{prefix}_predictions"
        write_conll(os.path.join(output_dir, f"{name}.conll"), raw["tokens"], predicted, gold, documents)
        write_jsonl(
            os.path.join(output_dir, f"{name}.jsonl"), raw["tokens"], predicted, gold, documents,
            raw["sentence_index"], evaluator.confidence,
        )
