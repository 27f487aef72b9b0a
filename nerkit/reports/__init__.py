"""What a person sees after training: plots, an entity-level confusion table and a model card.

:func:`report_training_run` writes into the run's ``output_dir``:

- ``learning_curve.png``: training loss and validation F1 against optimizer steps (from the log history);
- ``per_type_f1.png``: precision, recall and F1 per entity type, with each type's support;
- ``confusion.txt`` and ``confusion.png``: the entity-level confusion table (:func:`entity_confusion`);
- ``README.md``: a model card (base model, data and its statistics, hyper-parameters, metrics per type, the
  command that reproduces the run, usage with ``predict_ner.py`` and ``transformers.pipeline``).

A file whose input is missing (no training logs in an evaluation-only run, no evaluation at all) is skipped;
the card says what there is.

The modules, one job each:

- ``confusion``: :class:`EntityConfusion` and :func:`entity_confusion` (which gold entity became which);
- ``errors``: the error list (``errors.jsonl``): each disagreement of gold and predicted entities with its
  SemEval-2013 class, place and context, written by ``evaluation.save_split_outputs`` and ``predict_ner.py``;
- ``html_report``: ``report.html``, the scores and the documents with their entities and errors highlighted
  (from ``templates/report.html``), one self-contained page;
- ``plots``: the learning curve, the per-type bars and the confusion heat map (matplotlib, Agg canvas), and
  the PNGs ``report.html`` holds (``report_plots``);
- ``model_card``: :func:`model_card`, rendered from ``templates/model_card.md``;
- ``run_facts``: :class:`RunFacts`, the facts about a run that the training script passes in explicitly;
- ``training_reports``: :func:`write_training_reports` and :func:`report_training_run`, which write the files.

A training script calls, after evaluation::

    facts = RunFacts.from_arguments(script=__file__, argv=argv, model_args=model_args, data_args=data_args,
                                    training_args=training_args, raw_datasets=raw_datasets,
                                    label_list=label_list, input_scheme=input_scheme)
    report_training_run(output_dir, log_history, evaluators, facts)
"""

from .confusion import MISSED, SPURIOUS, EntityConfusion, confusion_level, entity_confusion, is_plain_label_set
from .model_card import metrics_table, model_card
from .plots import learning_curve_points, plot_confusion, plot_learning_curve, plot_per_type
from .run_facts import RunFacts, split_statistics
from .training_reports import FILES, report_training_run, write_training_reports

__all__ = [
    "FILES",
    "MISSED",
    "SPURIOUS",
    "EntityConfusion",
    "RunFacts",
    "confusion_level",
    "entity_confusion",
    "is_plain_label_set",
    "learning_curve_points",
    "metrics_table",
    "model_card",
    "plot_confusion",
    "plot_learning_curve",
    "plot_per_type",
    "report_training_run",
    "split_statistics",
    "write_training_reports",
]
