"""The model card: the ``README.md`` a training run leaves beside its model.

The card's fixed text is the template ``templates/model_card.md`` (``string.Template`` placeholders); the
functions here render the parts that depend on the run: the summary, the results (scores per type, training
facts, plots, the confusion table), the data and hyper-parameter tables, the command line, and the
``transformers`` usage example (``templates/usage_pipeline.md``, or ``templates/usage_case_feature.md`` for a
model that reads case through ``token_type_ids``: standard loading with ``trust_remote_code=True``, see
:mod:`nerkit.standard_loading`). A part with nothing to say renders as nothing.

Each rendered part is its lines followed by one blank line, so parts join like paragraphs.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path
from string import Template
from typing import Mapping, Optional, Sequence

from ..schemes import entity_types
from ..words import split_words
from .confusion import EntityConfusion, confusion_level, is_plain_label_set
from .plots import learning_curve_points

# Next to this file: the package is used from a checkout, not installed, so no package-data lookup.
TEMPLATES = Path(__file__).resolve().parent / "templates"
EXAMPLE = "Ada Lovelace met Charles Babbage in London."


def model_card(run_info: Mapping, eval_scores: Optional[Mapping] = None, files: Sequence[str] = (),
               confusion: Optional[EntityConfusion] = None, log_history: Sequence[Mapping] = ()) -> str:
    """The ``README.md`` of a trained model.

    ``run_info``: :meth:`nerkit.reports.RunFacts.to_dict`'s keys, plus ``split`` (the split ``eval_scores``
    and ``confusion`` describe), ``other_scores`` (scores of the other splits), ``train_metrics``
    (``train_loss``, ``train_runtime``, ``epoch``) and ``case_feature``; every key may be missing.
    """
    base = str(run_info.get("base_model") or "unknown")
    labels = list(run_info.get("labels") or [])
    plain = is_plain_label_set(labels)
    output_dir = str(run_info.get("output_dir") or ".")
    task = "token classification" if plain else "named-entity recognition"
    tags = ["token-classification"] + ([] if plain else ["ner"]) + ["nerkit"]
    card = _template("model_card.md").substitute(
        tag_lines="".join(f"- {tag}\n" for tag in tags),
        base_model_line=f"base_model: {base}\n" if _looks_like_hub_id(base) else "",
        title=f"{Path(output_dir).name or 'NER model'}: {task}",
        summary=_summary(run_info, base, labels, log_history),
        results=_results(run_info, eval_scores, files, confusion, log_history),
        data=_data_section(run_info.get("data") or {}, plain),
        hyperparameters=_hyperparameters_section(run_info.get("hyperparameters") or {}),
        reproduce=_reproduce_section(run_info.get("command")),
        model_dir=shlex.quote(output_dir),
        example=shlex.quote(EXAMPLE),
        transformers_usage=_transformers_usage(output_dir, bool(run_info.get("case_feature"))),
        files="Files: " + ", ".join(f"`{name}`" for name in files if name != "README.md") + "." if files else "",
    )
    return card.rstrip("\n") + "\n"


def metrics_table(scores: Mapping) -> str:
    """Markdown table of per-type precision / recall / F1 / support, then the micro average."""
    lines = ["| type | precision | recall | F1 | support |", "| --- | ---: | ---: | ---: | ---: |"]
    per_type = scores.get("per_type") or {}
    for name in sorted(per_type):
        row = per_type[name]
        lines.append(f"| {name} | {row['precision']:.4f} | {row['recall']:.4f} | {row['f1']:.4f} | "
                     f"{int(row['number'])} |")
    support = sum(int(row.get("number", 0)) for row in per_type.values())
    lines.append(f"| **overall (micro)** | **{scores.get('precision', 0):.4f}** | **{scores.get('recall', 0):.4f}** | "
                 f"**{scores.get('f1', 0):.4f}** | {support} |")
    if "accuracy" in scores:
        lines.append("")
        lines.append(f"Word-level tag accuracy: {scores['accuracy']:.4f}.")
    return "\n".join(lines)


def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def _block(*lines: str) -> str:
    """One part of the card: its lines, then a blank line."""
    return "\n".join(lines) + "\n\n"


def _summary(run_info: Mapping, base: str, labels: Sequence[str], log_history: Sequence[Mapping]) -> str:
    """The sentence under the title: what was trained (or evaluated) from what, with which script, for which labels."""
    trained = ("train" in (run_info.get("data") or {}) or bool(run_info.get("train_metrics"))
               or bool(learning_curve_points(log_history)[0]))
    what = (f"A token classifier fine-tuned from `{base}`" if trained
            else f"An evaluation of the token classifier `{base}`")
    types = entity_types(labels)
    if is_plain_label_set(labels):
        target = f"label words with {len(types)} plain labels (no spans)"
    else:
        scheme = run_info.get("input_scheme")
        target = f"tag {', '.join(types) if types else 'entities'}" + (f" in {scheme} data" if scheme else "")
    listed = f"; labels: {', '.join(f'`{label}`' for label in labels)}." if labels else "."
    return f"{what} with `{run_info.get('script') or 'run_ner.py'}` (nerkit) to {target}{listed}"


def _results(run_info: Mapping, eval_scores: Optional[Mapping], files: Sequence[str],
             confusion: Optional[EntityConfusion], log_history: Sequence[Mapping]) -> str:
    """Scores of every evaluated split, the training facts, the plots and the confusion table."""
    split = run_info.get("split") or "validation"
    plain = is_plain_label_set(run_info.get("labels") or [])
    if eval_scores:
        how = ("each word scored on its own label; micro averages over every label but O, equal to the accuracy "
               "when no word is O" if plain else "seqeval, exact boundaries and type, one prediction per word")
        text = _block(f"{confusion_level(plain)} scores on the **{split}** split ({how}):", "",
                      metrics_table(eval_scores))
    else:
        text = _block("The run evaluated nothing (no validation or test split).")
    for other_split, scores in (run_info.get("other_scores") or {}).items():
        if scores:
            text += _block(f"On the **{other_split}** split:", "", metrics_table(scores))
    text += _training_facts(run_info.get("train_metrics") or {}, log_history)
    if "learning_curve.png" in files:
        text += _block("![Training loss and validation F1 against steps](learning_curve.png)")
    if "per_type_f1.png" in files:
        text += _block(f"![Precision, recall and F1 per type ({split})](per_type_f1.png)")
    if confusion is not None:
        text += _errors_section(confusion, split, plain, files)
    return text


def _training_facts(train: Mapping, log_history: Sequence[Mapping]) -> str:
    """One line: final training loss, training time, epochs, best validation F1 (what is known of them)."""
    _, f1_points = learning_curve_points(log_history)
    if not train and not f1_points:
        return ""
    facts = []
    if "train_loss" in train:
        facts.append(f"final average training loss {train['train_loss']:.4f}")
    if "train_runtime" in train:
        facts.append(f"training time {train['train_runtime']:.0f} s")
    if "epoch" in train:
        facts.append(f"{_number(train['epoch'])} epochs")
    if f1_points:
        best = max(f1_points, key=lambda point: point[1])
        facts.append(f"best validation F1 {best[1]:.4f} at step {int(best[0])}")
    return _block("Training: " + "; ".join(facts) + ".")


def _errors_section(confusion: EntityConfusion, split: str, plain: bool, files: Sequence[str]) -> str:
    level = confusion_level(plain)
    columns = ("the label predicted for the same word" if plain
               else "the predicted entity with exactly the same boundaries")
    text = (_block("### Errors")
            + _block(f"{level} confusion on the {split} split (`confusion.txt`): rows are gold "
                     f"{'labels' if plain else 'types'}, columns {columns}.")
            + _block("```", confusion.to_text().rstrip("\n"), "```"))
    if "confusion.png" in files:
        text += _block(f"![{level} confusion](confusion.png)")
    return text


def _data_section(data: Mapping[str, Mapping], plain: bool) -> str:
    """Sentences, words and entities per type of every split."""
    if not data:
        return ""
    types = sorted({t for split in data.values() for t in (split.get("entities") or {})})
    header = ["split", "source", "sentences", "words", "entities"] + types
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(["---", "---"] + ["---:"] * (len(header) - 2)) + " |"]
    for name, split in data.items():
        entities = split.get("entities") or {}
        cells = [name, f"`{split['source']}`" if split.get("source") else "", str(split.get("sentences", "")),
                 str(split.get("words", "")), str(sum(entities.values()))] + [str(entities.get(t, 0)) for t in types]
        lines.append("| " + " | ".join(cells) + " |")
    counted = "Entities are words counted per label" if plain else "Entities are counted as IOB2 spans"
    return _block("## Data") + _block(*lines) + _block(counted + "; words are the data's own tokens.")


def _hyperparameters_section(hyperparameters: Mapping) -> str:
    if not hyperparameters:
        return ""
    rows = [f"| {name} | {_number(value)} |" for name, value in hyperparameters.items()]
    return _block("## Training hyper-parameters") + _block("| name | value |", "| --- | --- |", *rows)


def _reproduce_section(command: Optional[str]) -> str:
    if not command:
        return ""
    return _block("## Reproduce") + _block("The command line of this run:") + _block("```bash", str(command), "```")


def _transformers_usage(output_dir: str, case_feature: bool) -> str:
    """How to run the model with ``transformers`` alone."""
    if case_feature:
        # transformers alone leaves token_type_ids at 0; the folder's code sets them (nerkit.standard_loading).
        words = [word for word, _, _ in split_words(EXAMPLE)]
        text = _template("usage_case_feature.md").substitute(model_dir=json.dumps(output_dir), words=json.dumps(words),
                                                             example=json.dumps(EXAMPLE))
    else:
        text = _template("usage_pipeline.md").substitute(model_dir=json.dumps(output_dir), example=json.dumps(EXAMPLE))
    return text.rstrip("\n") + "\n\n"


def _number(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e-3 or abs(value) >= 1e4 else f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def _looks_like_hub_id(name: str) -> bool:
    return bool(name) and not os.path.exists(name) and not name.startswith((".", "/", "~")) and name.count("/") <= 1
