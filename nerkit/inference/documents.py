"""Documents to tag and their predictions: words with character offsets, entities, inline text.

A :class:`Document` is one text and its sentences of words ``(word, start, end)``; a
:class:`DocumentPrediction` adds the tags and per-word probabilities the model gave it. An entity is
``{"start", "end", "label", "text", "score"}``: ``start``/``end`` are character offsets (Python ``str``
indices, i.e. Unicode code points, end exclusive) into the document's ``text``, so
``text[start:end] == entity["text"]`` always; ``score`` is the mean, over the entity's words, of the
probability of the tag the model chose for each word (as in :func:`nerkit.inference.writing.word_entities`).

>>> document = Document.from_text("Ada  Lovelace 👩‍💻 met Babbage.")
>>> [word for sentence in document.sentences for word, _, _ in sentence]
['Ada', 'Lovelace', '👩\\u200d💻', 'met', 'Babbage', '.']
>>> prediction = DocumentPrediction(document, [["B-PER", "I-PER", "O", "O", "B-PER", "O"]], [[0.9, 0.7, 1, 1, 0.8, 1]])
>>> [(e["start"], e["end"], e["label"], e["text"], e["score"]) for e in prediction.entities]
[(0, 13, 'PER', 'Ada  Lovelace', 0.8), (22, 29, 'PER', 'Babbage', 0.8)]
>>> inline_text(prediction)
'Ada[B-PER]  Lovelace[I-PER] 👩\\u200d💻 met Babbage[B-PER].'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ..corpus import Sentence
from ..formats.offsets import document_text
from ..schemes import get_spans
from ..words import Word, tokenize_text


@dataclass
class Document:
    """One text and its sentences of words ``(word, start, end)`` with offsets into ``text``.

    ``id`` is written to the output when known; ``gold`` holds the tags of word-level input (one list per
    sentence); ``context_key`` groups sentences that may see each other as context (``--context_size``).
    """

    text: str
    sentences: List[List[Word]]
    id: Any = None
    gold: Optional[List[List[str]]] = None
    context_key: str = ""

    @classmethod
    def from_text(cls, text: str, id: Any = None) -> "Document":
        """Words and sentences of raw text, by the data layer's tokeniser (:mod:`nerkit.words`)."""
        return cls(text=text, sentences=tokenize_text(text), id=id)

    @classmethod
    def from_words(cls, sentences: Sequence[Sequence[str]], id: Any = None, gold=None) -> "Document":
        """Pre-split words; the text is rebuilt (words joined by one space, sentences by a newline)."""
        group = [Sentence(list(words), ["O"] * len(words)) for words in sentences]
        text, offsets, _ = document_text(group)
        words = [[(word, start, end) for word, (start, end) in zip(s.tokens, o)] for s, o in zip(group, offsets)]
        return cls(text=text, sentences=words, id=id, gold=[list(tags) for tags in gold] if gold else None)

    @property
    def word_count(self) -> int:
        return sum(len(sentence) for sentence in self.sentences)


@dataclass
class DocumentPrediction:
    """Tags (output scheme) and per-word probabilities of one document, and its entities."""

    document: Document
    tags: List[List[str]]
    confidence: List[Sequence[float]]
    entities: Optional[List[Dict[str, Any]]] = None

    def __post_init__(self):
        if self.entities is None:
            self.entities = character_entities(self.document, self.tags, self.confidence)

    def to_record(self) -> Dict[str, Any]:
        """The JSON-lines record: id (when known), text, entities, then words, tags, gold tags and offsets."""
        document = self.document
        record: Dict[str, Any] = {}
        if document.id is not None:
            record["id"] = document.id
        record["text"] = document.text
        record["entities"] = self.entities
        record["tokens"] = [word for sentence in document.sentences for word, _, _ in sentence]
        record["tags"] = [tag for tags in self.tags for tag in tags]
        if document.gold is not None:
            record["gold_tags"] = [tag for tags in document.gold for tag in tags]
        record["offsets"] = [[start, end] for sentence in document.sentences for _, start, end in sentence]
        return record


def character_entities(document: Document, tags: Sequence[Sequence[str]], confidence) -> List[Dict[str, Any]]:
    """The entities that ``tags`` (one list per sentence) make in a document, with character offsets into its text;
    ``score`` is the mean probability of their words' tags (``confidence``, one list per sentence)."""
    found = []
    text = document.text
    for words, sentence_tags, probabilities in zip(document.sentences, tags, confidence):
        for label, first, end in get_spans(sentence_tags):
            start_char, end_char = words[first][1], words[end - 1][2]
            score = float(np.mean([float(p) for p in probabilities[first:end]]))
            found.append({"start": start_char, "end": end_char, "label": label, "text": text[start_char:end_char],
                          "score": round(score, 4)})
    return found


def inline_text(prediction: DocumentPrediction) -> str:
    """The document's text with ``[TAG]`` after every word not tagged ``O`` (NeMo's display); spacing kept."""
    text = prediction.document.text
    pieces, position = [], 0
    for words, tags in zip(prediction.document.sentences, prediction.tags):
        for (_, _, end), tag in zip(words, tags):
            if tag != "O":
                pieces.append(text[position:end])
                pieces.append(f"[{tag}]")
                position = end
    pieces.append(text[position:])
    return "".join(pieces)
