"""The unit every module passes around: one sentence of words with one tag per word.

A ``Sentence`` keeps what it knows about where it came from, so that every conversion keeps document
boundaries and errors can point at a line. Dataset columns use Hugging Face's names (``tokens``,
``ner_tags``) plus ``document_id`` and ``sentence_index``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator, List, Optional, Tuple

Offset = Tuple[int, int]


@dataclass
class Sentence:
    """Words and their tags, with provenance.

    ``offsets`` are character spans of each word in ``text`` (end exclusive) when the source had raw text
    (offset JSON, BRAT); ``line`` is the 1-based line in the source file where the sentence starts.

    >>> s = Sentence(["Ada", "Lovelace"], ["B-PER", "I-PER"], document_id="doc1")
    >>> len(s), s.document_id
    (2, 'doc1')
    """

    tokens: List[str]
    ner_tags: List[str]
    document_id: Optional[str] = None
    sentence_index: int = 0
    text: Optional[str] = None
    offsets: Optional[List[Offset]] = None
    line: Optional[int] = None
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.tokens)

    def to_record(self) -> dict:
        """The Hugging Face ``datasets`` row for this sentence."""
        return {
            "tokens": list(self.tokens),
            "ner_tags": list(self.ner_tags),
            "document_id": self.document_id if self.document_id is not None else "",
            "sentence_index": self.sentence_index,
        }


def number_sentences(sentences: Iterable[Sentence]) -> Iterator[Sentence]:
    """Give each sentence its position inside its document (0, 1, 2, ... per ``document_id``)."""
    last_document = object()
    index = 0
    for sentence in sentences:
        if sentence.document_id != last_document:
            last_document = sentence.document_id
            index = 0
        sentence.sentence_index = index
        index += 1
        yield sentence
