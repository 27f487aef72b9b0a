"""``report.html``: one self-contained page (no network; style and script inline) to read a split's errors.

The scores first (F1 bars and seqeval's table per type, then the SemEval-2013 scenarios), the plots (learning curve
and confusion heat map, PNG inline), then the documents worst first, each
sentence that has an entity shown twice, gold then predicted, entities highlighted in a colour per type; an
entity in an error has a red outline, and the sentence's errors are listed under it by class. Two selects filter
the sentences by error class and type (kept in the address, ``#class=missed&type=PER``). Plain labels (POS tags)
get the word-level page: one row per sentence, each labelled word in its gold label's colour, a word labelled
otherwise outlined with ``gold→predicted``, the classes of plain-label errors. Everything that comes
from the data is HTML-escaped. Fixed text is the template ``templates/report.html`` (``string.Template``).
"""

from __future__ import annotations

import base64
import html
from collections import defaultdict
from pathlib import Path
from string import Template
from typing import Dict, List, Sequence, Tuple

from ..files import atomic_write
from ..relaxed_metrics import PLAIN_NOTE
from ..schemes import get_spans
from .errors import error_classes

TEMPLATE = Path(__file__).resolve().parent / "templates" / "report.html"
PREDICTIONS_TEMPLATE = TEMPLATE.with_name("predictions.html")
PALETTE = ("#7aecec", "#feca74", "#bfeeb7", "#aa9cfc", "#ff9561", "#c887fb", "#9cc9cc", "#ffeb80", "#e4e7d2",
           "#f0d0ff", "#bfe1d9", "#ddd")


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _table(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(f'{c:.4f}' if isinstance(c, float) else c)}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _score_tables(per_type: Dict, semeval: Dict, plain: bool = False) -> str:
    seqeval = _table(["label" if plain else "type", "precision", "recall", "f1", "support"],
                     [[name, v["precision"], v["recall"], v["f1"], v["number"]] for name, v in per_type.items()])
    # F1 per type as bars (plain boxes, so the page stays small and needs no image)
    bars = "".join(f'<div class="bar"><span>{_e(name)}</span><i style="width:{200 * float(v["f1"]):.0f}px"></i>'
                   f'{float(v["f1"]):.2f}</div>' for name, v in per_type.items())
    if plain:  # one-word units: every SemEval-2013 scenario is the table above
        return bars + seqeval + f"<p>{_e(PLAIN_NOTE)}</p>"
    scenarios = [name for name in semeval if name != "per_type"]
    rows = [[name, semeval[name]["precision"], semeval[name]["recall"], semeval[name]["f1"],
             *(semeval[name][n] for n in ("correct", "incorrect", "partial", "missed", "spurious"))]
            for name in scenarios]
    rows += [[f"{entity_type} {name}", values[name]["precision"], values[name]["recall"], values[name]["f1"],
              *(values[name][n] for n in ("correct", "incorrect", "partial", "missed", "spurious"))]
             for entity_type, values in semeval.get("per_type", {}).items() for name in scenarios]
    return bars + seqeval + _table(["SemEval-2013", "precision", "recall", "f1", "correct", "incorrect", "partial", "missed",
                             "spurious"], rows)


def _figures(plots: Sequence[Tuple[str, bytes]]) -> str:
    """PNG plots inline (``data:`` addresses), so the page stays one file."""
    return "".join(f'<figure><img alt="{_e(caption)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'
                   f"<figcaption>{_e(caption)}</figcaption></figure>" for caption, png in plots)


def _marked_words(words: Sequence[str], tags: Sequence[str], bad: set, colour: Dict[str, int]) -> str:
    parts, position = [], 0
    for label, start, end in get_spans(tags):
        parts += [_e(w) for w in words[position:start]]
        outline = " bad" if (label, start, end) in bad else ""
        parts.append(f'<mark class="t{colour[label]}{outline}" data-type="{_e(label)}">'
                     f'{_e(" ".join(words[start:end]))}<b>{_e(label)}</b></mark>')
        position = end
    parts += [_e(w) for w in words[position:]]
    return " ".join(parts)


def _labelled_words(words: Sequence[str], gold: Sequence[str], predicted: Sequence[str], colour: Dict[str, int]) -> str:
    """Plain labels, one row: each labelled word in its gold label's colour with that label; a word the model
    labelled otherwise outlined, with ``gold→predicted`` (``O`` for no label)."""
    gold_labels = {start: label for label, start, _ in get_spans(gold)}
    predicted_labels = {start: label for label, start, _ in get_spans(predicted)}
    parts = []
    for index, word in enumerate(words):
        expected, got = gold_labels.get(index), predicted_labels.get(index)
        if expected is None and got is None:
            parts.append(_e(word))
            continue
        label = expected if expected is not None else got
        shown = label if expected == got else f"{expected or 'O'}→{got or 'O'}"
        parts.append(f'<mark class="t{colour[label]}{"" if expected == got else " bad"}" data-type="{_e(label)}">'
                     f"{_e(word)}<b>{_e(shown)}</b></mark>")
    return " ".join(parts)


def _sentence_block(words, gold, predicted, records: List[Dict], colour: Dict[str, int], plain: bool) -> str:
    """One sentence: gold and predicted rows (entities), or one row of labelled words (plain labels), and its
    errors listed under it."""
    if plain:
        rows = f'<p class="row"><i>labels</i>{_labelled_words(words, gold, predicted, colour)}</p>'
    else:
        bad_gold = {(r["gold"]["label"], r["gold"]["start"], r["gold"]["end"]) for r in records if r["gold"]}
        bad_pred = {(r["predicted"]["label"], r["predicted"]["start"], r["predicted"]["end"])
                    for r in records if r["predicted"]}
        rows = (f'<p class="row"><i>gold</i>{_marked_words(words, gold, bad_gold, colour)}</p>'
                f'<p class="row"><i>predicted</i>{_marked_words(words, predicted, bad_pred, colour)}</p>')
    errors = f'<ul class="errs">{"".join(_error_item(r) for r in records)}</ul>' if records else ""
    return f'<div class="s">{rows}{errors}</div>'


def _error_item(record: Dict) -> str:
    gold, predicted = record["gold"], record["predicted"]
    side = gold or predicted
    text = " / ".join(f"{name} {_e(span['label'])} «{_e(span['text'])}»" for name, span in
                      (("gold", gold), ("predicted", predicted)) if span is not None)
    return (f'<li class="err" data-cls="{record["class"]}" data-type="{_e(side["label"])}">'
            f'{record["class"].replace("_", " ")}: {text}</li>')


def render_report(title: str, tokens, gold, predicted, document_ids, sentence_indices, errors: List[Dict],
                  per_type: Dict, semeval: Dict, per_document: Sequence[Dict],
                  plots: Sequence[Tuple[str, bytes]] = (), plain: bool = False) -> str:
    """The page, as text; the arguments are one list per sentence, ``errors`` as from :mod:`.errors`, ``plots``
    ``(caption, PNG bytes)`` shown after the tables (:func:`nerkit.reports.plots.report_plots`); ``plain``: the
    tags are plain labels (POS tags), shown word by word."""
    types = sorted({label for side in (gold, predicted) for tags in side for label, _, _ in get_spans(tags)})
    colour = {label: index % len(PALETTE) for index, label in enumerate(types)}
    by_sentence = defaultdict(list)
    for record in errors:
        by_sentence[(record["document_id"] or None, record["sentence_index"])].append(record)
    order = {row["document_id"]: rank for rank, row in enumerate(per_document)}
    score_rows = {row["document_id"]: row for row in per_document}
    documents: Dict[str, List[int]] = defaultdict(list)
    for index, document in enumerate(document_ids):
        documents[document or ""].append(index)
    blocks = []
    for document in sorted(documents, key=lambda d: order.get(d, len(order))):
        sentences = []
        for index in documents[document]:
            if not get_spans(gold[index]) and not get_spans(predicted[index]):
                continue
            records = by_sentence.get((document or None, int(sentence_indices[index])), [])
            sentences.append(_sentence_block(tokens[index], gold[index], predicted[index], records, colour, plain))
        if sentences:
            row = score_rows.get(document)
            score = "" if row is None else f' (F1 {row["f1"]:.4f}, {row["gold"]} gold, {row["predicted"]} predicted)'
            blocks.append(f'<div class="doc"><h3>{_e(document or "no document")}{_e(score)}</h3>{"".join(sentences)}</div>')
    options = "".join(f'<option value="{_e(label)}">{_e(label)}</option>' for label in types)
    unit, kind = ("words with a wrong label", "label") if plain else ("errors", "type")
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        title=_e(title), kind=kind,
        summary=_e(f"{len(tokens)} sentences, {len(errors)} {unit}; sentences without "
                   f"{'labelled words' if plain else 'entities'} are left out."),
        type_colours="".join(f".t{index}{{background:{PALETTE[index]}}}" for index in sorted(set(colour.values()))),
        score_tables=_score_tables(per_type, semeval, plain), figures=_figures(plots),
        class_options="".join(f'<option value="{name}">{name.replace("_", " ")}</option>'
                              for name in error_classes(plain)),
        type_options=options, documents="\n".join(blocks))


def write_report(path, *args, **kwargs) -> None:
    with atomic_write(path) as stream:
        stream.write(render_report(*args, **kwargs))


class PredictionPage:
    """``predict_ner.py --format html``: documents with their predicted entities highlighted on the raw text,
    written to a stream one document at a time (:meth:`close` ends the page; the colours per type go last)."""

    def __init__(self, stream):
        self.stream, self.colour = stream, {}
        self._head, self._tail = PREDICTIONS_TEMPLATE.read_text(encoding="utf-8").split("<!-- documents -->")
        self._started = False

    def write(self, document_id, text: str, entities: Sequence[Dict]) -> None:
        """One document: its text and its entities (character offsets ``start``/``end``, ``label``, ``score``)."""
        if not self._started:
            self.stream.write(self._head)
            self._started = True
        parts, position = [], 0
        for entity in sorted(entities, key=lambda entity: entity["start"]):
            index = self.colour.setdefault(entity["label"], len(self.colour) % len(PALETTE))
            score = f' title="{entity["score"]:.2f}"' if "score" in entity else ""
            parts += [_e(text[position:entity["start"]]),
                      f'<mark class="t{index}" data-type="{_e(entity["label"])}"{score}>'
                      f'{_e(text[entity["start"]:entity["end"]])}<b>{_e(entity["label"])}</b></mark>']
            position = entity["end"]
        parts.append(_e(text[position:]))
        heading = "" if document_id is None else f"<h3>{_e(document_id)}</h3>"
        self.stream.write(f'<div class="doc">{heading}<p>{"".join(parts)}</p></div>\n')

    def close(self) -> None:
        if not self._started:
            self.stream.write(self._head)
        colours = "".join(f".t{index}{{background:{PALETTE[index]}}}" for index in sorted(set(self.colour.values())))
        self.stream.write(f"<style>{colours}</style>{self._tail}")
