"""The files a training run leaves for a person: plots, the confusion table and the model card.

:func:`report_training_run` is the one call a training script makes after evaluation; it takes the run's
:class:`~nerkit.reports.RunFacts` and its evaluators, and a failure while reporting is logged as a warning
instead of failing a finished run. :func:`write_training_reports` writes the files from plain values.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence

from ..files import atomic_write
from .confusion import confusion_level, entity_confusion, is_plain_label_set
from .model_card import model_card
from .plots import plot_confusion, plot_learning_curve, plot_per_type
from .run_facts import RunFacts

logger = logging.getLogger(__name__)

FILES = ("learning_curve.png", "per_type_f1.png", "confusion.txt", "confusion.png", "README.md")
TRAIN_METRICS = ("train_loss", "train_runtime", "epoch")


def write_training_reports(output_dir, log_history: Sequence[Mapping] = (), eval_scores: Optional[Mapping] = None,
                           gold_tags: Optional[Sequence[Sequence[str]]] = None,
                           predicted_tags: Optional[Sequence[Sequence[str]]] = None,
                           run_info: Optional[Mapping] = None) -> Dict[str, Path]:
    """Write the plots, the confusion table and the model card; return ``{file name: path}`` of what was written.

    ``eval_scores`` is :func:`nerkit.metrics.score`'s dict for the split ``run_info["split"]`` (default
    validation); ``gold_tags`` / ``predicted_tags`` are that split's tags per sentence (any scheme);
    ``run_info`` is what :func:`nerkit.reports.model_card` reads. A file whose input is missing is skipped.
    """
    folder = Path(output_dir)
    run_info = dict(run_info or {})
    run_info.setdefault("output_dir", str(output_dir))
    split = run_info.get("split") or "validation"
    plain = is_plain_label_set(run_info.get("labels") or [])
    written: Dict[str, Optional[Path]] = {
        "learning_curve.png": plot_learning_curve(log_history, folder / "learning_curve.png"),
    }
    if eval_scores:
        written["per_type_f1.png"] = plot_per_type(eval_scores.get("per_type") or {}, folder / "per_type_f1.png",
                                                   title=f"Scores per {'label' if plain else 'entity type'} ({split})")
    confusion = None
    if gold_tags is not None and predicted_tags is not None:
        confusion = entity_confusion(gold_tags, predicted_tags)
        title = f"{confusion_level(plain)} confusion ({split})"
        with atomic_write(folder / "confusion.txt") as stream:
            stream.write(confusion.to_text(title))
        written["confusion.txt"] = folder / "confusion.txt"
        written["confusion.png"] = plot_confusion(confusion, folder / "confusion.png", title=title)
    written = {name: path for name, path in written.items() if path is not None}
    names = [name for name in FILES if name in written] + ["README.md"]
    with atomic_write(folder / "README.md") as stream:
        stream.write(model_card(run_info, eval_scores, names, confusion, log_history))
    written["README.md"] = folder / "README.md"
    return written


def report_training_run(output_dir, log_history, evaluators: Mapping,
                        facts: Optional[RunFacts] = None) -> Optional[Dict[str, Path]]:
    """The one call for a training script after evaluation; never raises (a failure is a warning).

    ``evaluators`` maps split names to :class:`nerkit.evaluation.WordLevelEvaluator` objects that have been
    called (``scores``/``tags`` set): the plots and the confusion table describe ``validation`` when it was
    evaluated, else ``test``; the card lists the scores of both. ``log_history`` is the Trainer's
    ``trainer.state.log_history`` or a list of ``{"step", "loss"}`` / ``{"step", "eval_f1"}`` dicts.
    """
    try:
        done = {name: e for name, e in (evaluators or {}).items() if getattr(e, "scores", None) is not None}
        split = "validation" if "validation" in done else ("test" if "test" in done else None)
        run_info = dict((facts or RunFacts()).to_dict(), split=split,
                        other_scores={name: e.scores for name, e in done.items() if name != split},
                        train_metrics=_train_metrics(log_history),
                        case_feature=_saved_config(output_dir).get("case_feature") is True)
        evaluator = done.get(split) if split else None
        written = write_training_reports(
            output_dir, log_history or [],
            evaluator.scores if evaluator else None,
            evaluator.raw_split["ner_tags"] if evaluator else None,
            evaluator.tags if evaluator else None,
            run_info,
        )
        logger.info(f"Reports written to {output_dir}: {', '.join(sorted(written))}")
        return written
    except Exception as error:  # a finished training run must not fail on a plot
        logger.warning(f"could not write the training reports: {type(error).__name__}: {error}",
                       exc_info=logger.isEnabledFor(logging.DEBUG))
        return None


def _train_metrics(log_history) -> Dict[str, Any]:
    """The last logged training loss, runtime and epoch."""
    train: Dict[str, Any] = {}
    for entry in log_history or []:
        train.update({k: v for k, v in entry.items() if k in TRAIN_METRICS})
    return train


def _saved_config(output_dir) -> Dict[str, Any]:
    """The ``config.json`` saved in ``output_dir`` ({} when there is none)."""
    path = Path(output_dir) / "config.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
