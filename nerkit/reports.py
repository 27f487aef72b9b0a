"""What a person sees after training: plots, an entity-level confusion table and a model card.

:func:`write_training_reports` writes into the run's ``output_dir``:

- ``learning_curve.png``: training loss and validation F1 against optimizer steps (from the log history);
- ``per_type_f1.png``: precision, recall and F1 per entity type, with each type's support;
- ``confusion.txt`` and ``confusion.png``: the entity-level confusion table (:func:`entity_confusion`);
- ``README.md``: a model card (base model, data and its statistics, hyper-parameters, metrics per type, the
  command that reproduces the run, usage with ``predict_ner.py`` and ``transformers.pipeline``).

A file whose input is missing (no training logs in an evaluation-only run, no evaluation at all) is skipped;
the card says what there is. Plots use matplotlib's ``Figure`` with the Agg canvas directly: no display, no
``pyplot`` state, whatever backend the caller has chosen. Every file is written atomically.

:func:`report_training_run` is the one call a training script makes after evaluation: it takes the
script's argument objects (``Trainer`` dataclasses or an ``argparse`` namespace) and its evaluators, and a
failure while reporting is logged as a warning instead of failing a finished run.

Entity-level confusion: entities are the spans of :func:`nerkit.schemes.get_spans` (read the conlleval way,
as seqeval does). A gold and a predicted entity *match* when they have exactly the same boundaries; the cell
(gold type, predicted type) counts matches, so the diagonal holds the correct entities and the off-diagonal
cells the type confusions. A gold entity with no predicted entity of the same boundaries is *missed*, a
predicted entity with no gold entity of the same boundaries is *spurious*. Partially overlapping entities
are therefore one missed plus one spurious (the exact-match rule of the CoNLL metrics: row totals are the
gold counts, column totals the predicted counts, so recall = diagonal / row total and precision =
diagonal / column total per type, as seqeval reports); how many missed entities overlap a spurious one
(boundary errors) is counted separately. Plain labels (POS tags...) make every labelled word an entity of its
own (``get_spans``), so the same table is the word-level confusion of labels, and the card says so.

>>> confusion = entity_confusion([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "O", "O", "B-ORG"]])
>>> confusion.count("LOC", "ORG"), confusion.count("PER", MISSED), confusion.count(SPURIOUS, "PER"), confusion.boundary_errors
(1, 1, 1, 1)
"""

from __future__ import annotations

import io
import json
import logging
import os
import shlex
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .files import atomic_write
from .schemes import PLAIN, entity_types, get_spans, scheme_of_labels

logger = logging.getLogger(__name__)

MISSED = "(missed)"
SPURIOUS = "(spurious)"
FILES = ("learning_curve.png", "per_type_f1.png", "confusion.txt", "confusion.png", "README.md")

# Hyper-parameters worth a line in the card, under the names the Trainer and the Accelerate script use.
TRAINING_KEYS = (
    "learning_rate", "num_train_epochs", "max_steps", "max_train_steps", "per_device_train_batch_size",
    "per_device_eval_batch_size", "gradient_accumulation_steps", "weight_decay", "warmup_ratio", "warmup_steps",
    "num_warmup_steps", "lr_scheduler_type", "optim", "max_grad_norm", "label_smoothing_factor", "seed", "fp16",
    "bf16", "mixed_precision", "train_sampling_strategy",
)
DATA_KEYS = (
    "max_seq_length", "stride", "context_size", "pack_length", "pack_attention", "label_all_tokens", "pad_to_max_length", "class_weights",
    "constrained_decoding", "tagging_scheme", "strict", "max_train_samples", "max_eval_samples",
)
SPLIT_FILES = {"train": "train_file", "validation": "validation_file", "test": "test_file"}


# ---------------------------------------------------------------------------------------------------------
# Entity-level confusion
# ---------------------------------------------------------------------------------------------------------


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
            "matrix": {gold: {predicted: self.count(gold, predicted) for predicted in self.columns} for gold in self.rows},
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
        lines.append(f"Boundary errors (missed gold entities overlapping a spurious prediction): {self.boundary_errors}")
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


# ---------------------------------------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------------------------------------


CROWDED = 20  # more types than this (POS tag sets) get compact plots


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _save_png(figure, path) -> Path:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    with atomic_write(path, mode="wb") as stream:
        stream.write(buffer.getvalue())
    return Path(path)


def learning_curve_points(log_history: Sequence[Mapping]) -> Tuple[List[Tuple[float, float]], List[Tuple[float, float]]]:
    """(step, training loss) and (step, validation F1) pairs from a ``Trainer`` log history (or the same
    dicts from a custom loop: ``{"step", "loss"}`` and ``{"step", "eval_f1"}``; ``epoch`` when there is no step)."""
    losses, scores = [], []
    for entry in log_history or []:
        x = entry.get("step", entry.get("epoch"))
        if x is None:
            continue
        if "loss" in entry and entry["loss"] is not None:
            losses.append((float(x), float(entry["loss"])))
        for key in ("eval_f1", "eval_overall_f1"):
            if entry.get(key) is not None:
                scores.append((float(x), float(entry[key])))
                break
    return losses, scores


def plot_learning_curve(log_history: Sequence[Mapping], path) -> Optional[Path]:
    """Training loss (left axis) and validation F1 (right axis) against steps; None when nothing was logged."""
    losses, scores = learning_curve_points(log_history)
    if not losses and not scores:
        return None
    figure = _figure(8, 4.5)
    axis = figure.add_subplot(1, 1, 1)
    axis.set_xlabel("step")
    handles = []
    if losses:
        handles += axis.plot([x for x, _ in losses], [y for _, y in losses], color="tab:blue", marker="." if len(losses) < 30 else None, label="training loss")
        axis.set_ylabel("training loss")
    f1_axis = axis.twinx() if losses else axis
    if scores:
        handles += f1_axis.plot([x for x, _ in scores], [y for _, y in scores], color="tab:orange", marker="o", label="validation F1")
        f1_axis.set_ylabel("validation F1")
        f1_axis.set_ylim(0, 1.02)
        best = max(scores, key=lambda point: point[1])
        f1_axis.annotate(f"best {best[1]:.3f}", best, textcoords="offset points", xytext=(0, 8), ha="center", fontsize=8)
    axis.grid(alpha=0.3)
    axis.legend(handles=handles, loc="center right")
    axis.set_title("Learning curve")
    return _save_png(figure, path)


def plot_per_type(per_type: Mapping[str, Mapping[str, float]], path, title: str = "Scores per entity type") -> Optional[Path]:
    """Grouped precision / recall / F1 bars per type (support under each name); None without types."""
    if not per_type:
        return None
    import numpy as np

    types = sorted(per_type)
    positions = np.arange(len(types))
    crowded = len(types) > CROWDED  # POS tag sets: narrower groups, no value over each bar
    figure = _figure(max(6, (0.5 if crowded else 1.3) * len(types) + 2), 4.5)
    axis = figure.add_subplot(1, 1, 1)
    width = 0.26
    for offset, (name, color) in enumerate((("precision", "tab:blue"), ("recall", "tab:green"), ("f1", "tab:orange"))):
        values = [float(per_type[t].get(name, 0.0)) for t in types]
        bars = axis.bar(positions + (offset - 1) * width, values, width, label=name if name != "f1" else "F1", color=color)
        if name == "f1" and not crowded:
            for bar, value in zip(bars, values):
                axis.text(bar.get_x() + bar.get_width() / 2, value + 0.01, f"{value:.2f}", ha="center", va="bottom", fontsize=8)
    axis.set_xticks(positions)
    axis.set_xticklabels([f"{t}\n(n={int(per_type[t].get('number', 0))})" for t in types],
                         fontsize=7 if crowded else None, rotation=90 if crowded else 0)
    axis.set_ylim(0, 1.1)
    axis.set_ylabel("score")
    axis.legend(loc="upper right", ncol=3, fontsize=8)
    axis.grid(axis="y", alpha=0.3)
    axis.set_title(title)
    return _save_png(figure, path)


def plot_confusion(confusion: EntityConfusion, path, title: str = "Entity-level confusion") -> Optional[Path]:
    """The confusion table as a heat map: colour by share of the row, every cell annotated with its count."""
    if not confusion.types:
        return None
    import numpy as np

    rows, columns = confusion.rows, confusion.columns
    counts = np.array([[confusion.count(g, p) for p in columns] for g in rows], dtype=float)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    # Up to CROWDED types every cell carries its count; a POS tag set (45 labels) gets a plain heat map with
    # smaller cells (its counts are in confusion.txt): 2,000 annotated cells took 0.45 GB and 7 s to draw.
    crowded = len(columns) > CROWDED
    size = 1.0 + (0.3 if crowded else 0.9) * len(columns)
    figure = _figure(size + 1.5, size)
    axis = figure.add_subplot(1, 1, 1)
    image = axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i, gold in enumerate(rows if not crowded else []):
        for j, predicted in enumerate(columns):
            if gold == SPURIOUS and predicted == MISSED:
                continue
            axis.text(j, i, f"{int(counts[i, j])}", ha="center", va="center", fontsize=9,
                      color="white" if shares[i, j] > 0.6 else "black")
    axis.set_xticks(range(len(columns)))
    axis.set_xticklabels(columns, rotation=90 if crowded else 30, ha="center" if crowded else "right",
                         fontsize=7 if crowded else None)
    axis.set_yticks(range(len(rows)))
    axis.set_yticklabels(rows, fontsize=7 if crowded else None)
    axis.set_xlabel("predicted (same boundaries)")
    axis.set_ylabel("gold")
    axis.set_title(title)
    figure.colorbar(image, ax=axis, fraction=0.046, pad=0.04, label="share of row")
    return _save_png(figure, path)


# ---------------------------------------------------------------------------------------------------------
# Model card
# ---------------------------------------------------------------------------------------------------------


def _number(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e-3 or abs(value) >= 1e4 else f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def metrics_table(scores: Mapping) -> str:
    """Markdown table of per-type precision / recall / F1 / support, then the micro average."""
    lines = ["| type | precision | recall | F1 | support |", "| --- | ---: | ---: | ---: | ---: |"]
    per_type = scores.get("per_type") or {}
    for name in sorted(per_type):
        row = per_type[name]
        lines.append(f"| {name} | {row['precision']:.4f} | {row['recall']:.4f} | {row['f1']:.4f} | {int(row['number'])} |")
    support = sum(int(row.get("number", 0)) for row in per_type.values())
    lines.append(f"| **overall (micro)** | **{scores.get('precision', 0):.4f}** | **{scores.get('recall', 0):.4f}** | "
                 f"**{scores.get('f1', 0):.4f}** | {support} |")
    if "accuracy" in scores:
        lines.append("")
        lines.append(f"Word-level tag accuracy: {scores['accuracy']:.4f}.")
    return "\n".join(lines)


def _data_table(data: Mapping[str, Mapping]) -> str:
    types = sorted({t for split in data.values() for t in (split.get("entities") or {})})
    header = ["split", "source", "sentences", "words", "entities"] + types
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(["---", "---"] + ["---:"] * (len(header) - 2)) + " |"]
    for name, split in data.items():
        entities = split.get("entities") or {}
        cells = [name, f"`{split['source']}`" if split.get("source") else "", str(split.get("sentences", "")),
                 str(split.get("words", "")), str(sum(entities.values()))] + [str(entities.get(t, 0)) for t in types]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _looks_like_hub_id(name: str) -> bool:
    return bool(name) and not os.path.exists(name) and not name.startswith((".", "/", "~")) and name.count("/") <= 1


def model_card(run_info: Mapping, eval_scores: Optional[Mapping] = None, files: Sequence[str] = (),
               confusion: Optional[EntityConfusion] = None, log_history: Sequence[Mapping] = ()) -> str:
    """The ``README.md`` of a trained model (``run_info`` keys: see :func:`collect_run_info`)."""
    base = str(run_info.get("base_model") or "unknown")
    script = run_info.get("script") or "run_ner.py"
    split = run_info.get("split") or "validation"
    labels = list(run_info.get("labels") or [])
    plain = _plain_labels(labels)
    types = entity_types(labels)
    output_dir = str(run_info.get("output_dir") or ".")
    front = ["---", "library_name: transformers", "pipeline_tag: token-classification",
             "tags:", "- token-classification"] + ([] if plain else ["- ner"]) + ["- nerkit"]
    if _looks_like_hub_id(base):
        front.append(f"base_model: {base}")
    front.append("---")

    task = "token classification" if plain else "named-entity recognition"
    out = front + ["", f"# {Path(output_dir).name or 'NER model'}: {task}", ""]
    data = run_info.get("data") or {}
    trained = "train" in data or bool(run_info.get("train_metrics")) or bool(learning_curve_points(log_history)[0])
    what = f"A token classifier fine-tuned from `{base}`" if trained else f"An evaluation of the token classifier `{base}`"
    target = f"label words with {len(types)} plain labels (no spans)" if plain else \
        f"tag {', '.join(types) if types else 'entities'}" + (f" in {run_info['input_scheme']} data" if run_info.get("input_scheme") else "")
    out.append(f"{what} with `{script}` (nerkit) to {target}"
               + (f"; labels: {', '.join(f'`{label}`' for label in labels)}." if labels else "."))
    out.append("")

    out += ["## Results", ""]
    if eval_scores:
        how = ("each word scored on its own label; micro averages over every label but O, equal to the accuracy "
               "when no word is O" if plain else "seqeval, exact boundaries and type, one prediction per word")
        out += [f"{_level(plain)} scores on the **{split}** split ({how}):", "", metrics_table(eval_scores), ""]
    else:
        out += ["The run evaluated nothing (no validation or test split).", ""]
    for other_split, scores in (run_info.get("other_scores") or {}).items():
        if scores:
            out += [f"On the **{other_split}** split:", "", metrics_table(scores), ""]
    train = run_info.get("train_metrics") or {}
    _, f1_points = learning_curve_points(log_history)
    if train or f1_points:
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
        out += ["Training: " + "; ".join(facts) + ".", ""]
    if "learning_curve.png" in files:
        out += ["![Training loss and validation F1 against steps](learning_curve.png)", ""]
    if "per_type_f1.png" in files:
        out += [f"![Precision, recall and F1 per type ({split})](per_type_f1.png)", ""]
    if confusion is not None:
        columns = "the label predicted for the same word" if plain else "the predicted entity with exactly the same boundaries"
        out += ["### Errors", "", f"{_level(plain)} confusion on the {split} split (`confusion.txt`): rows are gold "
                f"{'labels' if plain else 'types'}, columns {columns}.", "", "```",
                confusion.to_text().rstrip("\n"), "```", ""]
        if "confusion.png" in files:
            out += [f"![{_level(plain)} confusion](confusion.png)", ""]

    if data:
        out += ["## Data", "", _data_table(data), "",
                ("Entities are words counted per label" if plain else "Entities are counted as IOB2 spans")
                + "; words are the data's own tokens.", ""]

    hyper = run_info.get("hyperparameters") or {}
    if hyper:
        out += ["## Training hyper-parameters", "", "| name | value |", "| --- | --- |"]
        out += [f"| {name} | {_number(value)} |" for name, value in hyper.items()]
        out.append("")

    command = run_info.get("command")
    if command:
        out += ["## Reproduce", "", "The command line of this run:", "", "```bash", str(command), "```", ""]

    example = "Ada Lovelace met Charles Babbage in London."
    out += [
        "## Usage", "",
        "Raw text, with the word tokeniser and sentence splitter used for the training data, long documents "
        "windowed (no word lost), character offsets into the text:", "",
        "```bash",
        f"python predict_ner.py --model {shlex.quote(output_dir)} --input texts.txt --output entities.jsonl",
        f"echo {shlex.quote(example)} | python predict_ner.py --model {shlex.quote(output_dir)} --input - --output - --format inline",
        "```", "",
    ]
    if run_info.get("case_feature"):
        # transformers' pipeline leaves token_type_ids at 0, which would hide every capital from this model.
        from .words import split_words

        words = json.dumps([word for word, _, _ in split_words(example)])
        out += [
            "This model reads case through `token_type_ids` (1 on the sub-words of words with an upper-case letter, "
            "`--case_feature`): `transformers.pipeline` does not set them, so with `transformers` alone build "
            "them yourself:", "",
            "```python",
            "import torch",
            "from transformers import AutoModelForTokenClassification, AutoTokenizer",
            "",
            f"model_dir = {json.dumps(output_dir)}",
            "tokenizer = AutoTokenizer.from_pretrained(model_dir)",
            "model = AutoModelForTokenClassification.from_pretrained(model_dir).eval()",
            f"words = {words}",
            "inputs = tokenizer(words, is_split_into_words=True, return_tensors=\"pt\")",
            "word_ids = inputs.word_ids()",
            "inputs[\"token_type_ids\"] = torch.tensor([[int(w is not None and words[w] != words[w].lower()) for w in word_ids]])",
            "with torch.no_grad():",
            "    best = model(**inputs).logits.argmax(-1)[0].tolist()",
            "tags = [model.config.id2label[best[i]] for i, w in enumerate(word_ids)",
            "        if w is not None and (i == 0 or word_ids[i - 1] != w)]  # first sub-word of each word",
            "print(list(zip(words, tags)))",
            "```", "",
        ]
    else:
        out += [
            "With `transformers` alone (the tokenizer's own word splitting; one window of at most the model's "
            "maximum length unless you pass `stride`):", "",
            "```python",
            "from transformers import pipeline",
            "",
            f"ner = pipeline(\"token-classification\", model={json.dumps(output_dir)}, aggregation_strategy=\"first\")",
            f"print(ner({json.dumps(example)}))",
            "```", "",
        ]
    out += ["Files: " + ", ".join(f"`{name}`" for name in files if name != "README.md") + "." if files else "", ""]
    return "\n".join(out).rstrip("\n") + "\n"


# ---------------------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------------------


def write_training_reports(output_dir, log_history: Sequence[Mapping] = (), eval_scores: Optional[Mapping] = None,
                           gold_tags: Optional[Sequence[Sequence[str]]] = None,
                           predicted_tags: Optional[Sequence[Sequence[str]]] = None,
                           run_info: Optional[Mapping] = None) -> Dict[str, Path]:
    """Write the plots, the confusion table and the model card; return ``{file name: path}`` of what was written.

    ``eval_scores`` is :func:`nerkit.metrics.score`'s dict for the split ``run_info["split"]`` (default
    validation); ``gold_tags`` / ``predicted_tags`` are that split's tags per sentence (any scheme).
    """
    folder = Path(output_dir)
    run_info = dict(run_info or {})
    run_info.setdefault("output_dir", str(output_dir))
    split = run_info.get("split") or "validation"
    written: Dict[str, Path] = {}

    def keep(name, path):
        if path is not None:
            written[name] = path

    keep("learning_curve.png", plot_learning_curve(log_history, folder / "learning_curve.png"))
    plain = _plain_labels(run_info.get("labels") or [])
    if eval_scores:
        keep("per_type_f1.png", plot_per_type(eval_scores.get("per_type") or {}, folder / "per_type_f1.png",
                                              title=f"Scores per {'label' if plain else 'entity type'} ({split})"))
    confusion = None
    if gold_tags is not None and predicted_tags is not None:
        confusion = entity_confusion(gold_tags, predicted_tags)
        with atomic_write(folder / "confusion.txt") as stream:
            stream.write(confusion.to_text(f"{_level(plain)} confusion ({split})"))
        written["confusion.txt"] = folder / "confusion.txt"
        keep("confusion.png", plot_confusion(confusion, folder / "confusion.png", title=f"{_level(plain)} confusion ({split})"))
    names = [name for name in FILES if name in written] + ["README.md"]
    with atomic_write(folder / "README.md") as stream:
        stream.write(model_card(run_info, eval_scores, names, confusion, log_history))
    written["README.md"] = folder / "README.md"
    return written


def _plain_labels(labels: Sequence[str]) -> bool:
    """A model of plain labels (POS tags...): its entities are single labelled words."""
    return bool(labels) and scheme_of_labels(labels) is PLAIN


def _level(plain: bool) -> str:
    return "Word-level" if plain else "Entity-level"


def _plain(value):
    value = getattr(value, "value", value)  # enums (lr_scheduler_type, optim)
    return value if isinstance(value, (int, float, str, bool)) else str(value)


def split_statistics(raw_datasets, sources: Optional[Mapping[str, str]] = None) -> Dict[str, Dict[str, Any]]:
    """Sentences, words and entities per type of every split of a ``DatasetDict`` (``tokens``/``ner_tags``)."""
    data = {}
    for name in ("train", "validation", "test"):
        if raw_datasets is None or name not in raw_datasets:
            continue
        split = raw_datasets[name]
        tags = split["ner_tags"]
        entities = Counter(label for sentence in tags for label, _, _ in get_spans(sentence))
        data[name] = {"source": (sources or {}).get(name), "sentences": len(split),
                      "words": sum(len(sentence) for sentence in tags),
                      "entities": {t: entities[t] for t in sorted(entities)}}
    return data


def collect_run_info(model_args=None, data_args=None, training_args=None, raw_datasets=None, label_list=None,
                     input_scheme=None, argv: Optional[Sequence[str]] = None, script: Optional[str] = None) -> Dict[str, Any]:
    """The card's facts from a training script's argument objects (dataclasses or ``argparse.Namespace``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    script = script or (os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0].endswith(".py") else "run_ner.py")
    hyper: Dict[str, Any] = {}
    for source, keys in ((training_args, TRAINING_KEYS), (data_args, DATA_KEYS)):
        for key in keys:
            value = getattr(source, key, None) if source is not None else None
            if value is None or (key in ("max_steps", "max_train_steps") and isinstance(value, int) and value <= 0):
                continue
            if key in ("fp16", "bf16", "strict", "label_all_tokens", "pad_to_max_length", "constrained_decoding") and not value:
                continue
            hyper[key] = _plain(value)
    sources = {}
    for split, argument in SPLIT_FILES.items():
        value = getattr(data_args, argument, None) if data_args is not None else None
        if value is None and data_args is not None and getattr(data_args, "dataset_name", None):
            value = f"{data_args.dataset_name}[{split}]"
        if value is not None:
            sources[split] = str(value)
    return {
        "script": script,
        "command": "python " + shlex.join([str(script)] + [str(a) for a in argv]),
        "base_model": getattr(model_args, "model_name_or_path", None),
        "output_dir": getattr(training_args, "output_dir", None),
        "labels": list(label_list) if label_list is not None else None,
        "input_scheme": str(input_scheme) if input_scheme is not None else None,
        "data": split_statistics(raw_datasets, sources),
        "hyperparameters": hyper,
    }


def _saved_config(output_dir) -> Dict[str, Any]:
    """The ``config.json`` saved in ``output_dir`` ({} when there is none)."""
    path = Path(output_dir) / "config.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def report_training_run(output_dir, log_history, evaluators: Mapping, model_args=None, data_args=None,
                        training_args=None, raw_datasets=None, label_list=None, input_scheme=None,
                        argv: Optional[Sequence[str]] = None, script: Optional[str] = None) -> Optional[Dict[str, Path]]:
    """The one call for a training script after evaluation; never raises (a failure is a warning).

    ``script`` defaults to the calling file's name, ``argv`` to ``sys.argv[1:]`` (pass ``main``'s ``argv``).
    ``evaluators`` maps split names to :class:`nerkit.evaluation.WordLevelEvaluator` objects that have been
    called (``scores``/``tags`` set): the plots and the confusion table describe ``validation`` when it was
    evaluated, else ``test``; the card lists the scores of both. ``log_history`` is the Trainer's
    ``trainer.state.log_history`` or a list of ``{"step", "loss"}`` / ``{"step", "eval_f1"}`` dicts.
    """
    if script is None:  # the training script that called us (sys.argv[0] is pytest's in in-process tests)
        script = os.path.basename(sys._getframe(1).f_code.co_filename)
    try:
        run_info = collect_run_info(model_args, data_args, training_args, raw_datasets, label_list, input_scheme,
                                    argv, script)
        done = {name: e for name, e in (evaluators or {}).items() if getattr(e, "scores", None) is not None}
        split = "validation" if "validation" in done else ("test" if "test" in done else None)
        run_info["split"] = split
        run_info["other_scores"] = {name: e.scores for name, e in done.items() if name != split}
        train = {}
        for entry in log_history or []:
            train.update({k: v for k, v in entry.items() if k in ("train_loss", "train_runtime", "epoch")})
        run_info["train_metrics"] = train
        run_info["case_feature"] = _saved_config(output_dir).get("case_feature") is True
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
        logger.warning(f"could not write the training reports: {type(error).__name__}: {error}", exc_info=logger.isEnabledFor(logging.DEBUG))
        return None
