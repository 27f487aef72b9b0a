"""Raw text or words to tagged words and entities with character offsets: the prediction path of ``predict_ner.py``.

- :mod:`.documents`: :class:`Document` (a text and its words with offsets), :class:`DocumentPrediction`
  (its tags and entities), :func:`inline_text`.
- :mod:`.reading`: the input (file, folder or stdin, any format) to documents: :func:`read_documents`.
- :mod:`.tagger`: :class:`NerTagger`, a trained model that tags documents.
- :mod:`.devices`: ``--device`` and ``--dtype``.
- :mod:`.writing`: every prediction file: :class:`PredictionWriter` for documents, and the training scripts'
  :func:`~nerkit.inference.writing.write_conll` / :func:`~nerkit.inference.writing.write_jsonl`.
"""

from .devices import DTYPES, resolve_device, resolve_dtype
from .documents import Document, DocumentPrediction, character_entities, inline_text
from .reading import INPUT_FORMATS, LoadedInput, guess_input_format, looks_like_tagged_columns, read_documents
from .tagger import DEFAULT_CHUNK_SENTENCES, NerTagger, model_labels, quiet_transformers
from .writing import OUTPUT_FORMATS, ConllWriter, PredictionWriter, write_conll, write_jsonl

__all__ = [
    "DEFAULT_CHUNK_SENTENCES",
    "DTYPES",
    "INPUT_FORMATS",
    "OUTPUT_FORMATS",
    "ConllWriter",
    "Document",
    "DocumentPrediction",
    "LoadedInput",
    "NerTagger",
    "PredictionWriter",
    "character_entities",
    "guess_input_format",
    "inline_text",
    "looks_like_tagged_columns",
    "model_labels",
    "quiet_transformers",
    "read_documents",
    "resolve_device",
    "resolve_dtype",
    "write_conll",
    "write_jsonl",
]
