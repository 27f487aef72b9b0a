"""Raw text or words to tagged words and entities with character offsets: the prediction path of ``predict_ner.py``."""

from .tagger import (
    DEFAULT_CHUNK_SENTENCES,
    DTYPES,
    INPUT_FORMATS,
    OUTPUT_FORMATS,
    Document,
    DocumentPrediction,
    LoadedInput,
    NerTagger,
    PredictionWriter,
    inline_text,
    read_documents,
)
