#!/usr/bin/env python
"""INT8 quantisation choices for an ONNX export, each scored: ONNX Runtime's dynamic quantisation (what
``export_onnx.py --quantize int8`` writes) against static quantisation calibrated on a file's sentences.

Rows:

- ``fp32``: ``model.onnx`` of ``export_onnx.py`` (the reference);
- ``dynamic``: its ``model_quantized.onnx`` (int8 weights, one scale per output channel; activations quantised per
  batch at run time);
- ``static-minmax``, ``static-percentile``, ``static-entropy``: the weight matrix products of the graph before
  ONNX Runtime's fusions (the session fuses at load) in QDQ form, int8 weights per channel and uint8 activations
  with one scale per tensor, from ONNX Runtime's calibrator of that name over the first
  ``--calibration_sentences`` of ``--calibration_file``, read as ``predict_ner.py`` reads it and batched as it
  batches (for the histogram methods, whose inputs must share a shape, one input at a time padded to one length).

Each row tags ``--validation_file`` through ``NerTagger`` with ``predict_ner.py``'s defaults (constrained
decoding, batches of ``--batch_size``) and gives F1 (seqeval, entity level), words per CPU second of the
process (every thread, so that other jobs on the machine count less), the model file's size, and ONNX Runtime's
profile of its graph on the first calibration batch in one thread (CPU seconds a forward pass, each operator
type's share). Choices belong on a development file, never the test file.

    OMP_NUM_THREADS=1 taskset -c 1 python benchmarks/bench_quantization.py --model out/conll \\
        --calibration_file ../shared/data/conll2003/eng.testa \\
        --validation_file ../shared/data/conll2003/eng.testa --output_dir bench/quantization
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Dict, List

import numpy as np

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPOSITORY)

from bench_ner import machine  # noqa: E402

from nerkit.export import export_folder, export_graph, quiet_root_logging  # noqa: E402
from nerkit.export_scoring import read_gold, score_backend  # noqa: E402
from nerkit.inference import NerTagger  # noqa: E402
from nerkit.inference.onnx_backend import ONNX_FILES  # noqa: E402
from nerkit.inference.reading import read_documents  # noqa: E402

STATIC_METHODS = ("minmax", "percentile", "entropy")
PREDICT_OPTIONS = {"constrained": True}  # predict_ner.py's default, with --batch_size


class RecordingForward:
    """A tagger's forward pass that keeps every batch it was given (the calibration inputs)."""

    def __init__(self, forward):
        self.forward, self.pad_multiple, self.batches = forward, forward.pad_multiple, []

    def __call__(self, batch: Dict[str, np.ndarray]) -> np.ndarray:
        self.batches.append(batch)
        return self.forward(batch)


def calibration_batches(export_dir: Path, path: str, sentences: int, options: Dict) -> List[Dict[str, np.ndarray]]:
    """The fp32 export's input batches for the first ``sentences`` sentences of ``path`` (whole documents)."""
    tagger = NerTagger.load(str(export_dir), backend="onnx", **options)
    recording = tagger.forward = RecordingForward(tagger.forward)
    documents, count = [], 0
    for document in read_documents(path).documents:
        documents.append(document)
        count += len(document.sentences)
        if count >= sentences:
            break
    list(tagger.predict(documents))
    return recording.batches


def padded_to(batch: Dict[str, np.ndarray], length: int) -> Dict[str, np.ndarray]:
    """``batch`` padded on the right to ``length`` (zeros: padding ids, mask 0, position 0)."""
    return {name: np.pad(array, ((0, 0), (0, length - array.shape[1]))) for name, array in batch.items()}


def quantize_static_graph(raw: Path, target: Path, batches: List[Dict[str, np.ndarray]], method: str) -> None:
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    if method != "minmax":  # histograms are gathered across batches, which must then share a shape: one row each
        length = max(batch["input_ids"].shape[1] for batch in batches)
        batches = [padded_to({name: array[row : row + 1] for name, array in batch.items()}, length)
                   for batch in batches for row in range(batch["input_ids"].shape[0])]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.remaining = iter(batches)

        def get_next(self):
            return next(self.remaining, None)

    graph = onnx.load(str(raw))
    weights = {initializer.name for initializer in graph.graph.initializer}
    # Only products with a weight matrix; the attention's products of two activations stay fp32, as in dynamic.
    nodes = [node.name for node in graph.graph.node if node.op_type == "MatMul" and set(node.input) & weights]
    methods = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
               "entropy": CalibrationMethod.Entropy}
    with quiet_root_logging():
        quantize_static(str(raw), str(target), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8, nodes_to_quantize=nodes,
                        op_types_to_quantize=["MatMul"], calibrate_method=methods[method],
                        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def operator_shares(path: Path, batch: Dict[str, np.ndarray], runs: int = 4) -> Dict[str, object]:
    """ONNX Runtime's profile of ``runs`` passes over ``batch`` (after one warm-up) in a session of one thread:
    CPU seconds a pass and each operator type's share of the kernels' time, in percent."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.enable_profiling = True
    options.profile_file_prefix = str(path.parent / f"profile-{path.stem}")
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {item.name: batch[item.name] for item in session.get_inputs()}
    session.run(["logits"], feed)
    started = time.process_time()
    for _ in range(runs):
        session.run(["logits"], feed)
    seconds = (time.process_time() - started) / runs
    profile = Path(session.end_profiling())
    kernels: Counter = Counter()
    for event in json.loads(profile.read_text()):
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            kernels[event["args"]["op_name"]] += event["dur"]
    profile.unlink()
    total = sum(kernels.values()) or 1
    return {"cpu_seconds_per_pass": round(seconds, 3), "shape": list(batch["input_ids"].shape),
            "operator_percent": {name: round(100 * time_ / total, 1) for name, time_ in kernels.most_common()}}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="A trained model folder (a training run's output_dir).")
    parser.add_argument("--calibration_file", required=True, help="Sentences for static calibration (any word-level file).")
    parser.add_argument("--calibration_sentences", type=int, default=640)
    parser.add_argument("--validation_file", required=True, help="A file with gold tags to score every row on.")
    parser.add_argument("--output_dir", required=True, help="Where the exports and bench.json go (must not exist).")
    parser.add_argument("--batch_size", type=int, default=32, help="Inputs per forward pass (predict_ner.py's default).")
    parser.add_argument("--methods", default=",".join(STATIC_METHODS), help="Static calibration methods to run.")
    args = parser.parse_args(argv)
    methods = [name for name in args.methods.split(",") if name]
    if set(methods) - set(STATIC_METHODS):
        raise SystemExit(f"bench_quantization.py: --methods takes {', '.join(STATIC_METHODS)}")
    output = Path(args.output_dir)
    if output.exists():
        raise SystemExit(f"bench_quantization.py: {output} exists; give a new --output_dir")
    output.mkdir(parents=True)

    options = dict(PREDICT_OPTIONS, batch_size=args.batch_size)
    tagger = NerTagger.load(args.model, device="cpu", dtype="float32", **options)
    export_dir = output / "export"
    export_folder(tagger, export_dir, quantize=True)
    raw = output / "unfused.onnx"
    export_graph(tagger, raw)
    batches = calibration_batches(export_dir, args.calibration_file, args.calibration_sentences, options)

    folders = {"fp32": (export_dir, "onnx"), "dynamic": (export_dir, "onnx-int8")}
    for method in methods:
        folder = output / f"static-{method}"
        shutil.copytree(export_dir, folder, ignore=shutil.ignore_patterns("*.onnx"))
        quantize_static_graph(raw, folder / ONNX_FILES["onnx-int8"], batches, method)
        folders[f"static-{method}"] = (folder, "onnx-int8")

    gold = read_gold(args.validation_file)
    rows = {}
    for name, (folder, backend) in folders.items():
        result = score_backend(folder, backend, gold, options)
        result.pop("_tags")
        result["profile"] = operator_shares(folder / ONNX_FILES[backend], batches[0])
        rows[name] = result
        top = ", ".join(f"{op} {share}%" for op, share in list(result["profile"]["operator_percent"].items())[:5])
        print(f"{name}: one pass over a batch of {result['profile']['shape']}: "
              f"{result['profile']['cpu_seconds_per_pass']} CPU s ({top})", flush=True)
        print(f"{name}: F1 {100 * result['f1']:.2f}, {result['words_per_cpu_second']:.0f} words per CPU second, "
              f"{result['model_bytes'] / 2**20:.1f} MiB", flush=True)
    report = {"machine": machine(), "model": args.model, "calibration_file": args.calibration_file,
              "calibration_sentences": args.calibration_sentences, "calibration_batches": len(batches),
              "validation_file": args.validation_file, "rows": rows}
    with open(output / "bench.json", "w", encoding="utf-8") as stream:
        json.dump(report, stream, indent=2, sort_keys=True, default=str)


if __name__ == "__main__":
    main()
