"""Writing predictions, one writer for every prediction file: ``predict_ner.py``'s documents and the training
scripts' word-aligned prediction files (``--do_predict``).

- :class:`PredictionWriter`: documents (:class:`~nerkit.inference.documents.DocumentPrediction`) to a stream as
  JSON lines (one record per document, entities with character offsets), CoNLL columns, inline text, or
  pre-annotations that Label Studio, doccano and Prodigy import (:func:`least_confidence` is the task score).
- :func:`write_conll` / :func:`write_jsonl`: the training scripts' files, exactly one entry per input word, in
  input order, with sentence and document breaks kept (atomic writes).
- :class:`ConllWriter`: the CoNLL lines of both, ``word [gold] predicted`` per word and ``-DOCSTART-`` between
  documents.
"""

from __future__ import annotations

import json
from typing import Any, List, Optional, Sequence

from ..errors import NerDataError
from ..files import atomic_write
from ..formats import doccano, labelstudio, prodigy
from ..formats.labelling_config import LabellingConfig
from ..reports.html_report import PredictionPage
from ..schemes import get_spans, original_type
from .documents import DocumentPrediction, inline_text

OUTPUT_FORMATS = ("jsonl", "conll", "inline", "html", "labelstudio", "doccano", "prodigy")


def least_confidence(prediction: DocumentPrediction) -> float:
    """How sure the model is of a document: the lowest probability it gave any word's predicted tag (1.0
    for a document without words). The minimum, not the mean: one unsure word is enough for a person to look,
    and a long document must not hide it among sure ones; ``O`` words count, so a doubtful miss shows too.

    >>> from nerkit.inference.documents import Document
    >>> least_confidence(DocumentPrediction(Document("a b", [[("a", 0, 1), ("b", 2, 3)]]), [["O", "O"]], [[0.9, 0.55]]))
    0.55
    """
    scores = [float(score) for sentence in prediction.confidence for score in sentence]
    return round(min(scores), 4) if scores else 1.0


class ConllWriter:
    """``word [gold] predicted`` per line, a blank line after each sentence, and ``-DOCSTART- O`` (``-DOCSTART-
    O O`` with gold tags) before each document that has an id, once per run of sentences of that document.

    With gold tags the file is conlleval's input: it takes the last column as the predicted tag and the one
    before as the gold tag, so the document line must carry ``O`` in both (``-X-`` there would be read as a
    gold entity, one missed entity per document).

    >>> import io
    >>> stream = io.StringIO()
    >>> writer = ConllWriter(stream)
    >>> writer.write([["Ada", "wrote"]], [["B-PER", "O"]], document_id="d1")
    >>> writer.write([["Bob"]], [["B-PER"]], document_id="d1")
    >>> print(stream.getvalue(), end="")
    -DOCSTART- O
    <BLANKLINE>
    Ada B-PER
    wrote O
    <BLANKLINE>
    Bob B-PER
    <BLANKLINE>
    """

    def __init__(self, stream):
        self.stream = stream
        self._previous_document: Any = object()  # the first document with an id gets its -DOCSTART- line

    def write(self, sentences: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]],
              gold: Optional[Sequence[Sequence[str]]] = None, document_id: Any = None) -> None:
        """Sentences of words with their predicted (and gold) tags; ``document_id`` None: no document named."""
        if document_id is not None and document_id != self._previous_document:
            self.stream.write("-DOCSTART- O O\n\n" if gold is not None else "-DOCSTART- O\n\n")
        self._previous_document = document_id
        lines = []
        for index, words in enumerate(sentences):
            for position, word in enumerate(words):
                columns = [word] + ([gold[index][position]] if gold is not None else []) + [predicted[index][position]]
                lines.append(" ".join(columns))
            lines.append("")
        self.stream.write("".join(line + "\n" for line in lines))


class PredictionWriter:
    """Writes document predictions to a text stream as JSON lines, CoNLL columns or inline text.

    - ``jsonl``: :meth:`DocumentPrediction.to_record`, one line per document.
    - ``conll``: :class:`ConllWriter` (``word tag``, ``word gold tag`` for input with gold tags).
    - ``inline``: :func:`inline_text`, one document per line (a document's own line breaks are kept).
    - ``html``: :class:`~nerkit.reports.html_report.PredictionPage`, one self-contained page with the entities
      highlighted on the text; :meth:`close` ends it.
    """

    def __init__(self, stream, format: str = "jsonl", model_version: str = "nerkit",
                 labelling_config: Optional[LabellingConfig] = None):
        if format not in OUTPUT_FORMATS:
            raise NerDataError(f"unknown output format {format!r} (choose from {', '.join(OUTPUT_FORMATS)})")
        self.stream, self.format, self.model_version = stream, format, model_version
        self.labelling_config = labelling_config  # labelstudio: the project's control, object and text field
        self._conll = ConllWriter(stream)
        self._page = PredictionPage(stream) if format == "html" else None
        self._tasks = 0  # labelstudio: tasks written into the JSON list so far

    def write(self, prediction: DocumentPrediction) -> None:
        getattr(self, f"_write_{self.format}")(prediction)

    def close(self) -> None:
        """Ends the output: the page's closing tags for ``html``, the JSON list for ``labelstudio``; nothing for
        the line formats."""
        if self._page is not None:
            self._page.close()
        if self.format == "labelstudio":
            self.stream.write("\n]\n" if self._tasks else "[]\n")

    def _write_html(self, prediction: DocumentPrediction) -> None:
        self._page.write(prediction.document.id, prediction.document.text, prediction.entities)

    def _write_labelstudio(self, prediction: DocumentPrediction) -> None:
        """A task with the entities as one prediction (``model_version``, a score per region and per task), named
        as the labelling config names its ``<Labels>``, ``<Text>`` and text field when one was given."""
        text = prediction.document.text
        entities = prediction.entities
        config = self.labelling_config
        names = {} if config is None else {"from_name": config.from_name, "to_name": config.to_name}
        results = labelstudio.regions(text, [(e["start"], e["end"], original_type(e["label"])) for e in entities], **names)
        for result, entity in zip(results, entities):
            result["score"] = entity["score"]
        data = labelstudio.task_data(prediction.document.id, text, "text" if config is None else config.text_field)
        task = {"data": data, "predictions": [
            {"model_version": self.model_version, "score": least_confidence(prediction), "result": results}]}
        self.stream.write(("[\n" if not self._tasks else ",\n") + json.dumps(task, ensure_ascii=False))
        self._tasks += 1

    def _write_doccano(self, prediction: DocumentPrediction) -> None:
        entities = [(e["start"], e["end"], original_type(e["label"])) for e in prediction.entities]
        record = doccano.document_record(prediction.document.id, prediction.document.text, entities)
        self.stream.write(json.dumps(record, ensure_ascii=False) + "\n")

    def _write_prodigy(self, prediction: DocumentPrediction) -> None:
        document = prediction.document
        entities = [(e["start"], e["end"], original_type(e["label"])) for e in prediction.entities]
        offsets = [[(start, end) for _, start, end in sentence] for sentence in document.sentences]
        record = prodigy.document_record(document.id, document.text, entities, offsets)
        del record["answer"]  # not yet answered: Prodigy asks
        record.setdefault("meta", {})["score"] = least_confidence(prediction)
        self.stream.write(json.dumps(record, ensure_ascii=False) + "\n")

    def _write_jsonl(self, prediction: DocumentPrediction) -> None:
        self.stream.write(json.dumps(prediction.to_record(), ensure_ascii=False) + "\n")

    def _write_inline(self, prediction: DocumentPrediction) -> None:
        line = inline_text(prediction)
        self.stream.write(line if line.endswith("\n") else line + "\n")

    def _write_conll(self, prediction: DocumentPrediction) -> None:
        document = prediction.document
        words = [[word for word, _, _ in sentence] for sentence in document.sentences]
        self._conll.write(words, prediction.tags, document.gold, document.id)


def write_conll(path, tokens: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]],
                gold: Optional[Sequence[Sequence[str]]] = None, document_ids: Optional[Sequence[str]] = None) -> None:
    """``word [gold] predicted`` per line, a blank line between sentences, ``-DOCSTART-`` between documents
    (``document_ids``: one per sentence, ``""`` for none)."""
    with atomic_write(path) as stream:
        writer = ConllWriter(stream)
        for index, words in enumerate(tokens):
            document = document_ids[index] if document_ids is not None else None
            writer.write([words], [predicted[index]], None if gold is None else [gold[index]], document or None)


def word_entities(words: Sequence[str], tags: Sequence[str],
                  confidence: Optional[Sequence[float]] = None) -> List[dict]:
    """Entity spans over word indices (end exclusive), with their words and mean tag probability."""
    spans = []
    for entity_type, start, end in get_spans(tags):
        span = {"label": entity_type, "start": start, "end": end, "text": " ".join(words[start:end])}
        if confidence is not None:
            span["score"] = round(float(sum(confidence[start:end]) / (end - start)), 4)
        spans.append(span)
    return spans


def write_jsonl(path, tokens, predicted, gold=None, document_ids=None, sentence_indices=None, confidence=None) -> None:
    """One JSON object per sentence: words, predicted tags, gold tags when known, and entity spans."""
    with atomic_write(path) as stream:
        for index, words in enumerate(tokens):
            record = {"tokens": list(words), "predicted_tags": list(predicted[index])}
            if gold is not None:
                record["gold_tags"] = list(gold[index])
            if document_ids is not None and document_ids[index]:
                record["document_id"] = document_ids[index]
            if sentence_indices is not None:
                record["sentence_index"] = int(sentence_indices[index])
            scores = None if confidence is None else confidence[index]
            record["entities"] = word_entities(words, predicted[index], scores)
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")
