"""Every export scored: PyTorch, ONNX fp32 and INT8 on the same file with gold tags (``export_onnx.py
--validation_file``), through the one prediction path (:class:`nerkit.inference.NerTagger`, with ``predict_ner.py``'s defaults:
constrained decoding, the layout recorded in the model), so the scores are those a user of ``predict_ner.py
--backend ...`` gets.

Per backend: seqeval precision / recall / F1 overall and per type (:func:`nerkit.metrics.score`), words per
second of the whole prediction (wall clock, and per CPU second of the process's threads), the time from loading to the first document's prediction, the model file's
size, and the share of sentences whose entities equal PyTorch's. :func:`verdict` compares them with the limits
(F1 in points, 0-100): fp32 within :data:`FP32_TOLERANCE` of PyTorch, INT8 within ``max_f1_drop``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from .errors import NerDataError
from .inference import NerTagger, read_documents
from .inference.onnx_backend import ONNX_FILES
from .metrics import score
from .schemes import get_spans

FP32_TOLERANCE = 0.05  # F1 points
DEFAULT_MAX_F1_DROP = 0.5  # F1 points, INT8 against PyTorch


def read_gold(path: str):
    """The validation documents, which must carry gold tags."""
    loaded = read_documents(path)
    if any(document.gold is None for document in loaded.documents):
        raise NerDataError("--validation_file needs gold tags (a word-level file such as CoNLL)", path=path)
    return loaded


def model_file_size(folder: Path, backend: str) -> int:
    """Bytes of the backend's weights file(s)."""
    if backend in ONNX_FILES:
        return (folder / ONNX_FILES[backend]).stat().st_size
    return sum(path.stat().st_size for path in folder.glob("*.safetensors")) or sum(
        path.stat().st_size for path in folder.glob("*.bin"))


def score_backend(folder: Path, backend: str, loaded, options: Dict) -> Dict:
    """Load, predict on every document, score; the predicted tags are kept under ``"_tags"``."""
    started = time.perf_counter()
    tagger = NerTagger.load(str(folder), backend=backend, **options)
    next(iter(tagger.predict(loaded.documents[:1], output_scheme=loaded.gold_scheme)))
    first = time.perf_counter() - started
    started, cpu_started = time.perf_counter(), time.process_time()
    predictions = list(tagger.predict(loaded.documents, output_scheme=loaded.gold_scheme))
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    tags = [sentence for prediction in predictions for sentence in prediction.tags]
    gold = [sentence for document in loaded.documents for sentence in document.gold]
    scores = score(gold, tags)
    return {"backend": backend, "model_file": str(folder / ONNX_FILES[backend]) if backend in ONNX_FILES else str(folder),
            "model_bytes": model_file_size(folder, backend), "precision": scores["precision"],
            "recall": scores["recall"], "f1": scores["f1"], "per_type": scores["per_type"],
            "words_per_second": loaded.word_count / max(seconds, 1e-9), "predict_seconds": seconds,
            # CPU seconds of every thread of the process: the cost, even where other processes share the cores.
            "words_per_cpu_second": loaded.word_count / max(cpu_seconds, 1e-9), "predict_cpu_seconds": cpu_seconds,
            "load_to_first_prediction_seconds": first,
            "dtype": str(tagger.dtype).replace("torch.", "") if tagger.dtype is not None else "float32",
            "_tags": tags}


def same_entities(reference: Sequence[Sequence[str]], other: Sequence[Sequence[str]]) -> float:
    """The share of sentences whose entities (type and words) are the same in both tag lists."""
    if not reference:
        return 1.0
    same = sum(sorted(get_spans(a)) == sorted(get_spans(b)) for a, b in zip(reference, other))
    return same / len(reference)


def score_export(model_dir: Path, export_dir: Path, validation_file: str, backends: List[str], options: Dict) -> Dict:
    """The report of ``export_report.json``: one entry per backend, PyTorch first."""
    loaded = read_gold(validation_file)
    results = [score_backend(model_dir, "torch", loaded, options)]
    results += [score_backend(export_dir, backend, loaded, options) for backend in backends]
    reference = results[0]["_tags"]
    for result in results:
        result["same_entities_as_pytorch"] = same_entities(reference, result.pop("_tags"))
        result["f1_minus_pytorch"] = 100 * (result["f1"] - results[0]["f1"])
    return {"validation_file": validation_file, "documents": len(loaded.documents),
            "sentences": loaded.sentence_count, "words": loaded.word_count,
            "backends": {result.pop("backend"): result for result in results}}


def verdict(report: Dict, max_f1_drop: float) -> Optional[str]:
    """None when the export keeps its F1, else the one-line reason (F1 in points)."""
    backends = report["backends"]
    fp32 = backends.get("onnx")
    if fp32 is not None and abs(fp32["f1_minus_pytorch"]) > FP32_TOLERANCE:
        return (f"ONNX fp32 F1 differs from PyTorch's by {fp32['f1_minus_pytorch']:+.2f} points (more than "
                f"{FP32_TOLERANCE}): the export is not faithful")
    int8 = backends.get("onnx-int8")
    if int8 is not None and -int8["f1_minus_pytorch"] > max_f1_drop:
        return (f"INT8 loses {-int8['f1_minus_pytorch']:.2f} F1 points against PyTorch (more than --max_f1_drop "
                f"{max_f1_drop})")
    return None
