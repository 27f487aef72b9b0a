"""Raw text or words to tagged words and entities with character offsets: the prediction path of ``predict_ner.py``.

The same steps as training and ``run_ner.py --do_predict``, in the same code, so a model sees at prediction time
exactly the words and inputs it saw in training:

1. **Words.** Raw text goes through :func:`nerkit.words.tokenize_text` (the data layer's offset-keeping word
   tokeniser and sentence splitter); word-level files go through :func:`nerkit.formats.read_sentences`. Every
   word keeps its character span in its document's text.
2. **Inputs.** :func:`nerkit.features.tokenize_dataset` and :func:`nerkit.features.build_features` (labels
   ``None``): one input per sentence, overlapping windows for a sentence longer than the model's maximum, so
   no word is lost; optional document context.
3. **Logits.** Inputs sorted by length, padded per batch with ``tokenizer.pad``, one forward pass per batch
   under ``torch.inference_mode()`` (autocast for bfloat16 / float16 where the device has them).
4. **Tags.** :func:`nerkit.decoding.word_log_probs` merges windows (each word is read where it has the most
   context), :func:`nerkit.decoding.decode` takes the argmax or the constrained Viterbi path.
5. **Entities.** :func:`nerkit.schemes.get_spans` over the tags (read the tolerant conlleval way); tags are
   written back as the valid sequence of those spans in the output scheme. An entity is
   ``{"start", "end", "label", "text", "score"}``: ``start``/``end`` are character offsets (Python ``str``
   indices, i.e. Unicode code points, end exclusive) into the document's ``text``, so
   ``text[start:end] == entity["text"]`` always; ``score`` is the mean, over the entity's words, of the
   probability of the tag the model chose for each word (as in :func:`nerkit.predictions.entities`).

Documents are processed in chunks of whole documents (``chunk_size`` sentences), so memory stays bounded on
large inputs; inside a chunk inputs are sorted by length to keep padding small.

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

import contextlib
import json
import logging
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

import numpy as np

from .errors import NerDataError
from .schemes import PLAIN, detect_scheme, get_scheme, get_spans, is_plain_label, is_tag
from .words import Word, tokenize_text

logger = logging.getLogger(__name__)

INPUT_FORMATS = ("auto", "text", "jsonl", "conll", "text_labels", "json", "csv", "offsets", "brat")
OUTPUT_FORMATS = ("jsonl", "conll", "inline")
DTYPES = ("auto", "float32", "bfloat16", "float16")
CONLL_SUFFIXES = (".conll", ".conllu", ".iob", ".iob1", ".iob2", ".bio", ".bioes", ".iobes", ".tsv", ".col")
DEFAULT_CHUNK_SENTENCES = 1024


# ---------------------------------------------------------------------------------------------------------
# Documents and predictions
# ---------------------------------------------------------------------------------------------------------


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
        from .corpus import Sentence
        from .formats.offsets import document_text

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
            self.entities = document_entities(self.document, self.tags, self.confidence)

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


def document_entities(document: Document, tags: Sequence[Sequence[str]], confidence) -> List[Dict[str, Any]]:
    """Entities of a document with character offsets; ``score`` is the mean probability of their words' tags."""
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


class PredictionWriter:
    """Writes predictions to a text stream as JSON lines, CoNLL columns or inline text.

    - ``jsonl``: :meth:`DocumentPrediction.to_record`, one line per document.
    - ``conll``: ``word tag`` (``word gold tag`` for input with gold tags), a blank line after each sentence
      and ``-DOCSTART- O`` before each document that has an id.
    - ``inline``: :func:`inline_text`, one document per line (a document's own line breaks are kept).
    """

    def __init__(self, stream, format: str = "jsonl"):
        if format not in OUTPUT_FORMATS:
            raise NerDataError(f"unknown output format {format!r} (choose from {', '.join(OUTPUT_FORMATS)})")
        self.stream, self.format = stream, format
        self._previous_id: Any = object()

    def write(self, prediction: DocumentPrediction) -> None:
        getattr(self, f"_write_{self.format}")(prediction)

    def _write_jsonl(self, prediction: DocumentPrediction) -> None:
        self.stream.write(json.dumps(prediction.to_record(), ensure_ascii=False) + "\n")

    def _write_inline(self, prediction: DocumentPrediction) -> None:
        line = inline_text(prediction)
        self.stream.write(line if line.endswith("\n") else line + "\n")

    def _write_conll(self, prediction: DocumentPrediction) -> None:
        document = prediction.document
        if document.id is not None and document.id != self._previous_id:
            self.stream.write("-DOCSTART- -X- O\n\n" if document.gold is not None else "-DOCSTART- O\n\n")
        self._previous_id = document.id
        lines = []
        for index, (words, tags) in enumerate(zip(document.sentences, prediction.tags)):
            gold = document.gold[index] if document.gold is not None else None
            for position, ((word, _, _), tag) in enumerate(zip(words, tags)):
                lines.append(f"{word} {gold[position]} {tag}" if gold is not None else f"{word} {tag}")
            lines.append("")
        self.stream.write("".join(line + "\n" for line in lines))


# ---------------------------------------------------------------------------------------------------------
# Reading input
# ---------------------------------------------------------------------------------------------------------


@dataclass
class LoadedInput:
    """Documents read from one input, the format they were read as, and the scheme of their gold tags."""

    documents: List[Document]
    format: str
    gold_scheme: Any = None  # a TaggingScheme for word-level input with tags, else None

    @property
    def sentence_count(self) -> int:
        return sum(len(document.sentences) for document in self.documents)

    @property
    def word_count(self) -> int:
        return sum(document.word_count for document in self.documents)


def decode_bytes(data: bytes, encoding: str = "utf-8", source: str = "<stdin>") -> str:
    """Bytes to text as :func:`nerkit.files.read_text` does for files: BOM dropped, ``\\n`` line ends, clear errors."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise NerDataError(f"byte 0x{data[error.start]:02x} cannot be decoded as {encoding} (try --encoding latin-1)",
                           path=source, line=line) from None
    except LookupError:
        raise NerDataError(f"unknown encoding {encoding!r}", path=source) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        raise NerDataError("NUL byte in text input (binary data or wrong --encoding?)", path=source,
                           line=text[: text.index("\x00")].count("\n") + 1)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def text_documents(text: str, whole: bool = False) -> List[Document]:
    """One document per line (``whole=False``; blank lines give empty documents, so output lines stay aligned
    with input lines), or the whole text as one document."""
    if whole:
        return [Document.from_text(text)]
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [Document.from_text(line) for line in lines]


def jsonl_documents(text: str, source: str = "<input>") -> List[Document]:
    """Documents of JSON lines (or a JSON list) of objects with a ``"text"`` string (``"id"`` kept); blank lines skipped."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as error:
            raise NerDataError(f"invalid JSON: {error.msg}", path=source, line=error.lineno) from None
        numbered = [(None, record) for record in records] if isinstance(records, list) else [(1, records)]
    else:
        numbered = []
        for number, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            try:
                numbered.append((number, json.loads(line)))
            except json.JSONDecodeError as error:
                raise NerDataError(f"invalid JSON: {error.msg} (column {error.colno})", path=source, line=number) from None
    documents = []
    for position, (number, record) in enumerate(numbered):
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise NerDataError('expected a JSON object with a "text" string', path=source, line=number,
                               where=None if number else f"record {position + 1}")
        document_id = record.get("id", record.get("document_id"))
        documents.append(Document.from_text(record["text"], id=document_id))
    return documents


def _words_only_conll(lines: Sequence[str]) -> List[Document]:
    """A CoNLL file with only a word column: sentences split at blank lines, ``-DOCSTART-`` opens a document."""
    from .formats.conll import DOCSTART, document_name

    documents: List[Document] = []
    current: List[List[str]] = []
    sentence: List[str] = []
    document_id, count = None, 0

    def flush_sentence():
        nonlocal sentence
        if sentence:
            current.append(sentence)
            sentence = []

    def flush_document():
        nonlocal current
        flush_sentence()
        if current:
            documents.append(Document.from_words(current, id=document_id))
            documents[-1].context_key = document_id or ""
            current = []

    for line in lines:
        columns = line.split()
        if not columns:
            flush_sentence()
            if document_id is None:
                flush_document()  # without documents, every sentence is a record of its own
        elif columns[0] == DOCSTART:
            flush_document()
            count += 1
            document_id = document_name(count)
        else:
            sentence.append(columns[0])
    flush_document()
    return documents


def _single_column(lines: Sequence[str]) -> bool:
    for line in lines:
        columns = line.split()
        if columns and columns[0] != "-DOCSTART-":
            return len(columns) == 1
    return False


def sentence_documents(sentences) -> List[Document]:
    """Documents of word-level sentences (``nerkit.corpus.Sentence``), grouped by document id.

    Sentences read with their text (offset JSON, BRAT) keep it and their offsets; others get the text rebuilt
    by :func:`nerkit.formats.offsets.document_text` (one space between words, a newline between sentences).
    """
    from .formats.offsets import document_text, group_documents

    documents = []
    for group in group_documents(sentences):
        text, offsets, _ = document_text(group)
        words = [[(token, start, end) for token, (start, end) in zip(s.tokens, o)] for s, o in zip(group, offsets)]
        first = group[0]
        document_id = None if first.extra.get("generated_id") else first.document_id
        documents.append(Document(text=text, sentences=words, id=document_id,
                                  gold=[list(s.ner_tags) for s in group], context_key=first.document_id or ""))
    return documents


def guess_input_format(path: Optional[Path], head: str) -> str:
    """``text`` / ``jsonl`` (raw text) or a data-layer format, from the path and the first characters.

    Folders and ``.csv`` follow :func:`nerkit.formats.guess_format`; ``.conll``/``.iob``/``.bio``/... are
    CoNLL; ``.json``/``.jsonl`` whose first record has a ``"text"`` string and no ``"tokens"`` are raw-text JSON
    lines (other JSON: the data layer decides); everything else (``.txt``, CoNLL-2003's ``eng.testb``, stdin) is
    JSON lines when its first non-blank character is ``{``, CoNLL when its lines are columns ending in a tag
    (:func:`looks_like_tagged_columns`), else plain text.
    """
    from .formats import guess_format

    if path is not None:
        if path.is_dir():
            return guess_format(path)
        name = path.name.lower()
        if name.endswith(".csv"):
            return "csv"
        if name.endswith(CONLL_SUFFIXES):
            return "conll"
        if guess_format(path) == "text_labels":
            return "text_labels"
        if name.endswith((".json", ".jsonl", ".ndjson")):
            first = _first_json_record(head)
            if first is None or (isinstance(first, dict) and isinstance(first.get("text"), str) and "tokens" not in first):
                return "jsonl"
            return guess_format(path)
    if head.lstrip().startswith("{"):
        return "jsonl"
    return "conll" if looks_like_tagged_columns(head) else "text"


def looks_like_tagged_columns(head: str, lines: int = 200) -> bool:
    r"""Whether every non-blank line among the first ``lines`` has two or more fields and ends in a tag.

    >>> looks_like_tagged_columns("-DOCSTART- -X- -X- O\n\nEU NNP B-NP I-ORG\nrejects VBZ B-VP O\n")
    True
    >>> looks_like_tagged_columns("Ada Lovelace met Charles Babbage in London.\nSo it goes O\n")
    False
    """
    rows = head.split("\n")
    if len(rows) > 1 and not head.endswith("\n"):
        rows = rows[:-1]  # the head may end inside a line
    fields = [row.split() for row in rows[:lines] if row.strip()]
    return bool(fields) and all(len(row) >= 2 and is_tag(row[-1]) for row in fields)


def _first_json_record(head: str):
    stripped = head.lstrip()
    try:
        if stripped.startswith("["):
            decoder = json.JSONDecoder()
            inner = stripped[1:].lstrip()
            return decoder.raw_decode(inner)[0] if inner else None
        line = next((line for line in stripped.split("\n") if line.strip()), "")
        return json.loads(line) if line else None
    except json.JSONDecodeError:
        return None  # reading as JSON lines gives the error with its line number


def read_documents(source, input_format: str = "auto", whole_document: bool = False, encoding: str = "utf-8",
                   options=None, plain_labels: bool = False) -> LoadedInput:
    """Documents of a file, a folder or ``"-"`` (stdin), in any input format (see :func:`guess_input_format`).

    Raw text (``text``, ``jsonl``) is split into words and sentences by :mod:`nerkit.words`; the word-level
    formats of :mod:`nerkit.formats` are read with their gold tags (CoNLL with a single column: words only),
    which are plain labels (any label, scheme ``PLAIN``) with ``plain_labels`` (for a model of plain labels).
    Raises :class:`NerDataError` when the input holds no word at all.
    """
    from .files import read_text
    from .formats import FormatOptions, read_sentences

    if input_format not in INPUT_FORMATS:
        raise NerDataError(f"unknown input format {input_format!r} (choose from {', '.join(INPUT_FORMATS)})")
    stdin = str(source) == "-"
    name = "<stdin>" if stdin else str(source)
    path = None if stdin else Path(source)
    if path is not None and not path.exists():
        raise NerDataError("input not found", path=name)
    if stdin:
        stream = getattr(sys.stdin, "buffer", None)
        raw = stream.read() if stream is not None else sys.stdin.read().encode(encoding)
        text: Optional[str] = decode_bytes(raw, encoding, name)
    else:
        text = None if path.is_dir() else read_text(path, encoding)
    if input_format == "auto":
        input_format = guess_input_format(path, (text or "")[:65536])

    gold_scheme = None
    if input_format == "text":
        documents = text_documents(text if text is not None else read_text(path, encoding), whole_document)
    elif input_format == "jsonl":
        documents = jsonl_documents(text if text is not None else read_text(path, encoding), name)
    elif input_format == "conll" and text is not None and _single_column(text.split("\n")):
        documents = _words_only_conll(text.split("\n"))
    else:
        options = options or FormatOptions(encoding=encoding, plain_labels=plain_labels)
        with _spooled(path, text, input_format) as readable:
            try:
                sentences = read_sentences(readable, input_format, options)
            except NerDataError as error:
                if not stdin:
                    raise
                raise NerDataError(error.message, path=name, line=error.line, where=error.where) from None
        documents = sentence_documents(sentences)
        gold_scheme = PLAIN if options.plain_labels else detect_scheme(tags for document in documents for tags in document.gold)
    loaded = LoadedInput(documents, input_format, gold_scheme)
    if not loaded.word_count:
        raise NerDataError("no text to predict on (empty input)", path=name)
    for number, document in enumerate(loaded.documents):
        if not document.context_key:
            document.context_key = f"#{number}" if input_format in ("text", "jsonl") else ""
    return loaded


@contextlib.contextmanager
def _spooled(path: Optional[Path], text: Optional[str], input_format: str):
    """The input as a path for the data layer's readers: the file itself, or stdin copied to a temporary file."""
    if path is not None:
        yield path
        return
    suffix = {"json": ".jsonl", "csv": ".csv", "offsets": ".jsonl"}.get(input_format, ".conll")
    if input_format in ("brat", "text_labels"):
        raise NerDataError(f"--input_format {input_format} reads files from a folder; it cannot read stdin")
    with tempfile.TemporaryDirectory(prefix="predict-ner-") as folder:
        spooled = Path(folder) / f"stdin{suffix}"
        spooled.write_text(text or "", encoding="utf-8")
        yield spooled


# ---------------------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------------------


def resolve_device(name: str = "auto"):
    """``auto``: CUDA when available, else Apple MPS, else CPU; a clear error for a device that is not there."""
    import torch

    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise NerDataError(f"unknown --device {name!r} (auto, cpu, cuda, cuda:N or mps)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise NerDataError(f"--device {name}: no CUDA device is available (use --device cpu or auto)")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise NerDataError(f"--device {name}: MPS is not available (use --device cpu or auto)")
    return device


def resolve_dtype(name: str, device):
    """The autocast dtype (None: plain float32). ``auto``: bfloat16 on a CUDA device that supports it, else
    float16 on CUDA; on a CPU bfloat16 where it has bf16 instructions (as the training scripts,
    :mod:`nerkit.runtime`), else float32. bfloat16 / float16 are refused where the device has no support for them."""
    import torch

    name = (name or "auto").lower()
    if name not in DTYPES:
        raise NerDataError(f"unknown --dtype {name!r} (choose from {', '.join(DTYPES)})")
    if name == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        from .runtime import cpu_has_bf16

        return torch.bfloat16 if device.type == "cpu" and cpu_has_bf16() else None
    if name == "float32":
        return None
    if name == "bfloat16":
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise NerDataError("--dtype bfloat16: this GPU does not support bfloat16 (use float16)")
        return torch.bfloat16
    if device.type == "cpu":
        raise NerDataError("--dtype float16 needs a GPU; on a CPU use bfloat16 or float32")
    return torch.float16


def _check_model_location(name: str) -> str:
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists():
            raise NerDataError("no config.json here: --model needs a trained model folder (a run's output_dir)", path=name)
        return str(path)
    if path.exists():
        raise NerDataError("is a file: --model needs a model folder", path=name)
    first = name.split("/")[0]
    looks_local = path.is_absolute() or name.startswith((".", "~")) or "\\" in name or name.count("/") > 1 or (
        "/" in name and Path(first).is_dir())
    if looks_local:
        raise NerDataError("model folder not found", path=name)
    return name  # a hub id


def model_labels(config) -> List[str]:
    """The model's labels in id order: NER tags, or plain labels (POS tags...); an error for an untrained
    head's ``LABEL_0``..."""
    from .labels import pretrained_labels

    labels = [config.id2label[index] for index in range(config.num_labels)]
    bad = [label for label in labels if not is_plain_label(label)]
    if pretrained_labels(config) is None or bad:
        shown = bad or labels
        raise NerDataError(
            f"the model's labels are not NER tags or other trained labels ({', '.join(map(repr, shown[:3]))}): --model "
            "needs a token classifier trained for NER (or another tagging task), whose config.json maps ids to O, "
            "B-TYPE, I-TYPE ... (or NN, VB ...)"
        )
    return labels


class NerTagger:
    """A token classifier with its tokenizer, ready to tag documents (see the module docstring).

    >>> # tagger = NerTagger.load("output/sample")
    >>> # tagger.predict_texts(["Ada Lovelace met Babbage in London."])[0]["entities"]
    """

    def __init__(self, model, tokenizer, device=None, dtype=None, batch_size: int = 32,
                 max_seq_length: Optional[int] = None, stride: Optional[int] = None, context_size: Optional[int] = None,
                 constrained: bool = False, chunk_size: int = DEFAULT_CHUNK_SENTENCES, pack_length: Optional[int] = None,
                 pack_attention: Optional[str] = None):
        import torch

        from .schemes import scheme_of_labels
        from .features import FeatureSpec
        from .layout import LayoutRequest
        from .modeling import decide_input_layout

        if batch_size < 1:
            raise NerDataError(f"--batch_size must be at least 1, got {batch_size}")
        request = LayoutRequest(max_seq_length, stride, pack_length, context_size, pack_attention)
        self.device = device if device is not None else torch.device("cpu")
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.dtype = dtype
        self.batch_size, self.chunk_size = batch_size, max(1, chunk_size)
        self.labels = model_labels(model.config)
        self.id2label = dict(enumerate(self.labels))
        self.scheme = scheme_of_labels(self.labels)
        self.constrained = constrained
        # The inputs the model was trained on (recorded in its config) unless asked otherwise.
        self.layout = decide_input_layout(request, self.model, tokenizer, "the model", do_train=False)
        self.spec = FeatureSpec.for_layout(self.layout)

    @classmethod
    def load(cls, model: str, device: str = "auto", dtype: str = "auto", trust_remote_code: bool = False, **options):
        """Model and tokenizer from a trained folder (or hub id), with the training scripts' loading rules
        (:mod:`nerkit.modeling`: prefix space for byte-level BPE, fast tokenizer required, one-line errors)."""
        from .arguments import ModelArguments
        from .modeling import load_config, load_model, load_tokenizer

        model_args = ModelArguments(model_name_or_path=_check_model_location(str(model)), trust_remote_code=trust_remote_code)
        torch_device = resolve_device(device)
        autocast_dtype = resolve_dtype(dtype, torch_device)
        config = load_config(model_args)
        labels = model_labels(config)
        tokenizer = load_tokenizer(model_args, config)
        network = load_model(model_args, config, labels)
        return cls(network, tokenizer, torch_device, autocast_dtype, **options)

    # --- prediction ---------------------------------------------------------------------------------------

    def predict(self, documents: Sequence[Document], output_scheme=None, progress: bool = False) -> Iterator[DocumentPrediction]:
        """Predictions for ``documents``, in order; tags in ``output_scheme`` (default: the model's)."""
        from tqdm.auto import tqdm

        target = get_scheme(output_scheme) if output_scheme is not None else self.scheme
        if PLAIN in (target, self.scheme) and target is not self.scheme:
            raise NerDataError(f"the model's labels are {self.scheme} and cannot be written as {target} tags")
        total = sum(len(document.sentences) for document in documents)
        with tqdm(total=total, unit="sentence", desc="Predicting", disable=not progress or not total,
                  dynamic_ncols=True) as bar:
            for chunk in self._chunks(documents):
                sentences = [words for document in chunk for words in document.sentences]
                keys = [document.context_key for document in chunk for _ in document.sentences]
                tags, confidence = self._predict_sentences(sentences, keys, bar) if sentences else ([], [])
                position = 0
                for document in chunk:
                    count = len(document.sentences)
                    raw = tags[position : position + count]
                    probabilities = confidence[position : position + count]
                    position += count
                    written = [target.encode(get_spans(sentence), len(sentence)) for sentence in raw]
                    # Entities come from the spans the model's tags make, identical in every scheme.
                    yield DocumentPrediction(document, written, probabilities,
                                             document_entities(document, raw, probabilities))

    def predict_texts(self, texts: Sequence[str], output_scheme=None) -> List[Dict[str, Any]]:
        """JSON-lines records (:meth:`DocumentPrediction.to_record`) for raw texts."""
        return [p.to_record() for p in self.predict([Document.from_text(t) for t in texts], output_scheme)]

    def _chunks(self, documents: Sequence[Document]) -> Iterator[List[Document]]:
        """Whole documents, about ``chunk_size`` sentences a chunk, never splitting a context group."""
        chunk: List[Document] = []
        size = 0
        for document in documents:
            if chunk and size >= self.chunk_size and (not document.context_key or document.context_key != chunk[-1].context_key):
                yield chunk
                chunk, size = [], 0
            chunk.append(document)
            size += len(document.sentences)
        if chunk:
            yield chunk

    def _predict_sentences(self, sentences: Sequence[Sequence[Word]], keys: Sequence[str], bar):
        import datasets

        from .decoding import decode, pad_logits, word_log_probs
        from .features import build_features, tokenize_dataset

        words = [[word for word, _, _ in sentence] for sentence in sentences]
        string_list = datasets.Sequence(datasets.Value("string"))
        raw = datasets.Dataset.from_dict(
            {"tokens": words, "ner_tags": [[] for _ in words], "document_id": list(keys)},
            features=datasets.Features({"tokens": string_list, "ner_tags": string_list,
                                        "document_id": datasets.Value("string")}),
        )
        with _datasets_progress_off():
            tokenized = tokenize_dataset(raw, self.tokenizer, uncached=True)
            features = build_features(tokenized, self.tokenizer, None, self.spec, load_from_cache_file=False)
        columns = [name for name in ("input_ids", "token_type_ids", "position_ids") if name in features.column_names]
        logits = self._logits({name: features[name] for name in columns}, sentences_per_input(features), bar)
        scores = word_log_probs(pad_logits(logits), features, [len(w) for w in words])
        return decode(scores, self.id2label, self.constrained)

    def _logits(self, columns: Dict[str, List[List[int]]], progress: Sequence[float], bar) -> List[np.ndarray]:
        """One forward pass per batch of inputs sorted by length; logits trimmed to each input's length.
        ``columns``: ``input_ids``, and ``token_type_ids`` (the case feature) and ``position_ids`` (packed
        sentences kept apart) when the inputs have them. ``progress[i]``: how many sentences input ``i`` is
        worth on the progress bar."""
        import torch

        from .packing import add_sentence_mask

        input_ids, position_ids = columns["input_ids"], columns.get("position_ids")

        order = sorted(range(len(input_ids)), key=lambda index: -len(input_ids[index]))
        results: List[Optional[np.ndarray]] = [None] * len(input_ids)
        done, shown = 0.0, 0
        autocast = (torch.autocast(device_type=self.device.type, dtype=self.dtype) if self.dtype is not None
                    else contextlib.nullcontext())
        multiple = 8 if self.device.type == "cuda" else None
        with torch.inference_mode(), autocast:
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                inputs = {"input_ids": [input_ids[i] for i in batch], "attention_mask": [[1] * len(input_ids[i]) for i in batch]}
                if "token_type_ids" in columns:
                    inputs["token_type_ids"] = [columns["token_type_ids"][i] for i in batch]
                encoded = self.tokenizer.pad(inputs, padding=True, pad_to_multiple_of=multiple, padding_side="right",
                                             return_tensors="pt")
                if position_ids is not None:
                    encoded = add_sentence_mask(dict(encoded), [position_ids[i] for i in batch])
                output = self.model(**{name: tensor.to(self.device) for name, tensor in encoded.items()})
                logits = output.logits.float().cpu().numpy()
                for row, index in enumerate(batch):
                    results[index] = logits[row, : len(input_ids[index])]
                done += sum(progress[i] for i in batch)
                step = int(round(done)) - shown
                if step > 0:
                    bar.update(step)
                    shown += step
        return results  # type: ignore[return-value]


def sentences_per_input(features) -> np.ndarray:
    """How much of a sentence each input holds: 1/windows for a windowed sentence, N for N packed ones."""
    from .decoding import ragged_column

    word_sentence, offsets = ragged_column(features, "word_sentence")
    row = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    pairs = np.unique(np.stack([row, word_sentence])[:, word_sentence >= 0], axis=1)  # (input, sentence), once each
    windows = np.bincount(pairs[1])  # inputs per sentence
    return np.bincount(pairs[0], weights=1.0 / windows[pairs[1]], minlength=len(offsets) - 1)


@contextlib.contextmanager
def _datasets_progress_off():
    """No ``datasets.map`` bars per chunk (the prediction bar covers them); the caller's setting is restored."""
    import datasets

    enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if enabled:
            datasets.enable_progress_bars()
