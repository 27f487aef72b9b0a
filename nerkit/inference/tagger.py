"""The tagger: a trained token classifier and its tokenizer, from documents to tags and entities.

The same steps as training and ``run_ner.py --do_predict``, in the same code, so a model sees at prediction time
exactly the words and inputs it saw in training:

1. **Words.** Raw text goes through :func:`nerkit.words.tokenize_text` (the data layer's offset-keeping word
   tokeniser and sentence splitter); word-level files go through :func:`nerkit.formats.read_sentences`. Every
   word keeps its character span in its document's text.
2. **Inputs.** :func:`nerkit.features.tokenize_dataset` and :func:`nerkit.features.build_features` (labels
   ``None``): one input per sentence, overlapping windows for a sentence longer than the model's maximum, so
   no word is lost; optional document context.
3. **Logits.** Inputs sorted by length, padded per batch with ``tokenizer.pad``, one forward pass per batch:
   :class:`TorchForward` (``torch.inference_mode()``, autocast for bfloat16 / float16 where the device has
   them), or ONNX Runtime for a model exported by ``export_onnx.py`` (:mod:`.onnx_backend`); every other step
   is the same for both.
4. **Tags.** :func:`nerkit.decoding.word_log_probs` merges windows (each word is read where it has the most
   context), :func:`nerkit.decoding.decode` takes the argmax or the constrained Viterbi path.
5. **Entities.** :func:`nerkit.schemes.get_spans` over the tags (read the tolerant conlleval way); tags are
   written back as the valid sequence of those spans in the output scheme; entities get character offsets
   into the document's text and a score (:func:`nerkit.inference.documents.character_entities`).

Documents are processed in chunks of whole documents (``chunk_size`` sentences), so memory stays bounded on
large inputs; inside a chunk inputs are sorted by length to keep padding small.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from tqdm.auto import tqdm

from ..arguments import ModelArguments
from ..decoding import decode, pad_logits, ragged_column, word_log_probs
from ..errors import SetupError
from ..features import FeatureSpec, build_features, tokenize_dataset
from ..labels import pretrained_labels
from ..layout import LayoutRequest
from ..modeling import decide_input_layout, load_config, load_model, load_tokenizer, missing_model_error
from ..packing import block_attention_mask, padded_position_ids
from ..schemes import PLAIN, get_scheme, get_spans, is_plain_label, scheme_of_labels
from ..words import Word
from .devices import resolve_device, resolve_dtype
from .documents import Document, DocumentPrediction, character_entities
from .onnx_backend import OnnxModel

# torch, transformers (through nerkit.modeling) and datasets are imported inside the functions that use them:
# they take seconds to import, and predict_ner.py's --help and its errors about the input or the arguments
# should not wait for them.

DEFAULT_CHUNK_SENTENCES = 1024


def _model_location(name: str) -> str:
    """A trained model folder (``~`` expanded) or a hub id; a clear error for a local path that is no model folder."""
    path = Path(name).expanduser()
    if path.is_file():
        raise SetupError("is a file: --model needs a model folder", path=name)
    error = missing_model_error(name)
    if error is not None:
        raise error
    return str(path) if path.is_dir() else name


def model_labels(config) -> List[str]:
    """The model's labels in id order: NER tags, or plain labels (POS tags...); an error for an untrained
    head's ``LABEL_0``..."""
    labels = [config.id2label[index] for index in range(config.num_labels)]
    bad = [label for label in labels if not is_plain_label(label)]
    if pretrained_labels(config) is None or bad:
        shown = bad or labels
        raise SetupError(
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
        """``model``: a PyTorch token classifier, or an ONNX export (:class:`~.onnx_backend.OnnxModel`, which
        brings the layout it was exported with and runs on ONNX Runtime's CPU provider)."""
        if batch_size < 1:
            raise SetupError(f"--batch_size must be at least 1, got {batch_size}")
        request = LayoutRequest(max_seq_length, stride, pack_length, context_size, pack_attention)
        self.tokenizer = tokenizer
        self.batch_size, self.chunk_size = batch_size, max(1, chunk_size)
        self.labels = model_labels(model.config)
        self.id2label = dict(enumerate(self.labels))
        self.scheme = scheme_of_labels(self.labels)
        self.constrained = constrained
        if isinstance(model, OnnxModel):
            self.model, self.device, self.dtype, self.forward = model, model.device, None, model
            self.layout = model.exported_layout(request, tokenizer)
        else:
            import torch

            self.device = device if device is not None else torch.device("cpu")
            self.model = model.to(self.device).eval()
            self.dtype = dtype
            self.forward = TorchForward(self.model, self.device, dtype)
            # The inputs the model was trained on (recorded in its config) unless asked otherwise.
            self.layout = decide_input_layout(request, self.model, tokenizer, "the model", do_train=False)
        self.spec = FeatureSpec.for_layout(self.layout)

    @classmethod
    def load(cls, model: str, device: str = "auto", dtype: str = "auto", trust_remote_code: bool = False,
             backend: str = "torch", **options):
        """Model and tokenizer from a trained folder (or hub id), with the training scripts' loading rules
        (:mod:`nerkit.modeling`: prefix space for byte-level BPE, fast tokenizer required, one-line errors).
        ``backend``: ``torch``, or ``onnx`` / ``onnx-int8`` for a folder written by ``export_onnx.py``."""
        model_args = ModelArguments(model_name_or_path=_model_location(str(model)), trust_remote_code=trust_remote_code)
        if backend != "torch":
            if (device or "auto").lower() not in ("auto", "cpu") or (dtype or "auto") not in ("auto", "float32"):
                raise SetupError(f"--backend {backend} runs on the CPU at the export's own precision; --device "
                                 f"{device} and --dtype {dtype} are for --backend torch")
            exported = OnnxModel.load(model_args, backend)
            return cls(exported, exported.tokenizer, **options)
        torch_device = resolve_device(device)
        autocast_dtype = resolve_dtype(dtype, torch_device)
        config = load_config(model_args)
        labels = model_labels(config)
        tokenizer = load_tokenizer(model_args, config)
        network = load_model(model_args, config, labels)
        return cls(network, tokenizer, torch_device, autocast_dtype, **options)

    # --- prediction ---------------------------------------------------------------------------------------

    def predict(self, documents: Iterable[Document], output_scheme=None, progress: bool = False) -> Iterator[DocumentPrediction]:
        """Predictions for ``documents``, in order; tags in ``output_scheme`` (default: the model's). An iterator
        of documents is read a chunk at a time."""
        for _, chunk in self.predict_chunks(documents, output_scheme, progress):
            yield from chunk

    def predict_chunks(self, documents: Iterable[Document], output_scheme=None, progress: bool = False,
                       share: Tuple[int, int] = (0, 1)) -> Iterator[Tuple[int, List[DocumentPrediction]]]:
        """``(chunk index, predictions)`` for the chunks of whole documents (:meth:`_chunks`) numbered ``i`` with
        ``i % share[1] == share[0]``: one process's share when several split the input
        (:mod:`nerkit.inference.processes`); each chunk is computed as it is when one process does them all."""
        target = get_scheme(output_scheme) if output_scheme is not None else self.scheme
        if PLAIN in (target, self.scheme) and target is not self.scheme:
            raise SetupError(f"the model's labels are {self.scheme} and cannot be written as {target} tags")
        chunks = ((index, chunk) for index, chunk in enumerate(self._chunks(documents)) if index % share[1] == share[0])
        total = None  # documents read as they come (nerkit.inference.streaming): no total for the bar
        if isinstance(documents, Sequence):
            chunks = list(chunks)
            total = sum(len(document.sentences) for _, chunk in chunks for document in chunk)
        with tqdm(total=total, unit="sentence", desc="Predicting", disable=not progress or total == 0,
                  dynamic_ncols=True) as bar:
            for chunk_index, chunk in chunks:
                sentences = [words for document in chunk for words in document.sentences]
                keys = [document.context_key for document in chunk for _ in document.sentences]
                tags, confidence = self._predict_sentences(sentences, keys, bar) if sentences else ([], [])
                position, predictions = 0, []
                for document in chunk:
                    count = len(document.sentences)
                    raw = tags[position : position + count]
                    probabilities = confidence[position : position + count]
                    position += count
                    written = [target.encode(get_spans(sentence), len(sentence)) for sentence in raw]
                    # Entities come from the spans the model's tags make, identical in every scheme.
                    predictions.append(DocumentPrediction(document, written, probabilities,
                                                          character_entities(document, raw, probabilities)))
                yield chunk_index, predictions

    def predict_texts(self, texts: Sequence[str], output_scheme=None) -> List[Dict[str, Any]]:
        """JSON-lines records (:meth:`DocumentPrediction.to_record`) for raw texts."""
        return [p.to_record() for p in self.predict([Document.from_text(t) for t in texts], output_scheme)]

    def _chunks(self, documents: Iterable[Document]) -> Iterator[List[Document]]:
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
        input_ids, position_ids = columns["input_ids"], columns.get("position_ids")

        order = sorted(range(len(input_ids)), key=lambda index: -len(input_ids[index]))
        results: List[Optional[np.ndarray]] = [None] * len(input_ids)
        done, shown = 0.0, 0
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            inputs = {"input_ids": [input_ids[i] for i in batch], "attention_mask": [[1] * len(input_ids[i]) for i in batch]}
            if "token_type_ids" in columns:
                inputs["token_type_ids"] = [columns["token_type_ids"][i] for i in batch]
            encoded = dict(self.tokenizer.pad(inputs, padding=True, pad_to_multiple_of=self.forward.pad_multiple,
                                              padding_side="right", return_tensors="np"))
            if position_ids is not None:
                encoded["position_ids"] = padded_position_ids([position_ids[i] for i in batch], encoded["input_ids"].shape[1])
            logits = self.forward({name: array.astype(np.int64) for name, array in encoded.items()})
            for row, index in enumerate(batch):
                results[index] = logits[row, : len(input_ids[index])]
            done += sum(progress[i] for i in batch)
            step = int(round(done)) - shown
            if step > 0:
                bar.update(step)
                shown += step
        return results  # type: ignore[return-value]


class TorchForward:
    """The PyTorch forward pass of :class:`NerTagger`: padded numpy inputs (2D attention mask, and
    ``position_ids`` for packed sentences kept apart) to float32 logits, under ``torch.inference_mode()`` and
    autocast when a dtype is set. :class:`nerkit.inference.onnx_backend.OnnxModel` is the ONNX Runtime one."""

    def __init__(self, model, device, dtype=None):
        self.model, self.device, self.dtype = model, device, dtype
        self.pad_multiple = 8 if device.type == "cuda" else None

    def __call__(self, batch: Dict[str, np.ndarray]) -> np.ndarray:
        import torch

        tensors = {name: torch.from_numpy(array) for name, array in batch.items()}
        if "position_ids" in tensors:
            tensors["attention_mask"] = block_attention_mask(tensors["position_ids"], tensors["attention_mask"])
        autocast = (torch.autocast(device_type=self.device.type, dtype=self.dtype) if self.dtype is not None
                    else contextlib.nullcontext())
        with torch.inference_mode(), autocast:
            output = self.model(**{name: tensor.to(self.device) for name, tensor in tensors.items()})
        return output.logits.float().cpu().numpy()


def sentences_per_input(features) -> np.ndarray:
    """How much of a sentence each input holds: 1/windows for a windowed sentence, N for N packed ones."""
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


@contextlib.contextmanager
def quiet_transformers(quiet: bool):
    """With --quiet, no transformers warnings or loading bars while the model loads (settings restored)."""
    if not quiet:
        yield
        return
    from transformers.utils import logging as hf_logging  # here: importing transformers takes seconds

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
