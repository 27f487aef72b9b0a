"""The training run's pictures: the learning curve, scores per entity type and the confusion heat map.

Plots use matplotlib's ``Figure`` with the Agg canvas directly: no display, no ``pyplot`` state, whatever
backend the caller has chosen. Every file is written atomically. A plot whose input is missing returns None
and writes nothing.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..files import atomic_write
from .confusion import MISSED, SPURIOUS, EntityConfusion, confusion_level, entity_confusion

CROWDED = 20  # more types than this (POS tag sets) get compact plots


def _figure(width: float, height: float):
    # matplotlib is imported on the first plot, not with the package: the confusion table and the model card
    # (and their tests) do not pay its import time, and a broken matplotlib fails only the plots.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def png_bytes(figure) -> bytes:
    """A figure as PNG bytes (what the files hold, and what ``report.html`` embeds)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def _save_png(figure, path) -> Optional[Path]:
    if figure is None:
        return None
    with atomic_write(path, mode="wb") as stream:
        stream.write(png_bytes(figure))
    return Path(path)


Points = List[Tuple[float, float]]


def learning_curve_points(log_history: Sequence[Mapping]) -> Tuple[Points, Points]:
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
    return _save_png(learning_curve_figure(log_history), path)


def learning_curve_figure(log_history: Sequence[Mapping]):
    """The learning curve's figure (see :func:`plot_learning_curve`); None when nothing was logged."""
    losses, scores = learning_curve_points(log_history)
    if not losses and not scores:
        return None
    figure = _figure(8, 4.5)
    axis = figure.add_subplot(1, 1, 1)
    axis.set_xlabel("step")
    handles = []
    if losses:
        handles += axis.plot([x for x, _ in losses], [y for _, y in losses], color="tab:blue",
                             marker="." if len(losses) < 30 else None, label="training loss")
        axis.set_ylabel("training loss")
    f1_axis = axis.twinx() if losses else axis
    if scores:
        handles += f1_axis.plot([x for x, _ in scores], [y for _, y in scores], color="tab:orange", marker="o",
                                label="validation F1")
        f1_axis.set_ylabel("validation F1")
        f1_axis.set_ylim(0, 1.02)
        best = max(scores, key=lambda point: point[1])
        f1_axis.annotate(f"best {best[1]:.3f}", best, textcoords="offset points", xytext=(0, 8), ha="center",
                         fontsize=8)
    axis.grid(alpha=0.3)
    axis.legend(handles=handles, loc="center right")
    axis.set_title("Learning curve")
    return figure


def plot_per_type(per_type: Mapping[str, Mapping[str, float]], path,
                  title: str = "Scores per entity type") -> Optional[Path]:
    """Grouped precision / recall / F1 bars per type (support under each name); None without types."""
    if not per_type:
        return None
    types = sorted(per_type)
    positions = np.arange(len(types))
    crowded = len(types) > CROWDED  # POS tag sets: narrower groups, no value over each bar
    figure = _figure(max(6, (0.5 if crowded else 1.3) * len(types) + 2), 4.5)
    axis = figure.add_subplot(1, 1, 1)
    width = 0.26
    for offset, (name, color) in enumerate((("precision", "tab:blue"), ("recall", "tab:green"), ("f1", "tab:orange"))):
        values = [float(per_type[t].get(name, 0.0)) for t in types]
        bars = axis.bar(positions + (offset - 1) * width, values, width, label=name if name != "f1" else "F1",
                        color=color)
        if name == "f1" and not crowded:
            for bar, value in zip(bars, values):
                axis.text(bar.get_x() + bar.get_width() / 2, value + 0.01, f"{value:.2f}", ha="center", va="bottom",
                          fontsize=8)
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
    return _save_png(confusion_figure(confusion, title), path)


def confusion_figure(confusion: EntityConfusion, title: str = "Entity-level confusion"):
    """The confusion heat map's figure (see :func:`plot_confusion`); None without types."""
    if not confusion.types:
        return None
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
    return figure


def report_plots(log_history: Sequence[Mapping], gold_tags: Sequence[Sequence[str]],
                 predicted_tags: Sequence[Sequence[str]], split: str, plain: bool = False) -> List[Tuple[str, bytes]]:
    """``(caption, PNG bytes)`` for ``report.html``: the learning curve, when the run logged one (the figure of
    ``learning_curve.png``), and the split's own confusion heat map (that of ``confusion.png`` for the split the
    training reports describe)."""
    title = f"{confusion_level(plain)} confusion ({split})"
    figures = [("Learning curve", learning_curve_figure(log_history)),
               (title, confusion_figure(entity_confusion(gold_tags, predicted_tags), title))]
    return [(caption, png_bytes(figure)) for caption, figure in figures if figure is not None]
