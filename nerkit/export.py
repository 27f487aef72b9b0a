"""A trained model to an ONNX folder that ``predict_ner.py --backend onnx`` and ``NerTagger`` read.

- The model is loaded as ``predict_ner.py`` loads it (:meth:`nerkit.inference.NerTagger.load`), so the export
  has the input layout prediction decides: the case feature (``token_type_ids``) and, for packed sentences kept
  apart, ``position_ids``, from which the graph builds the block attention mask itself
  (:func:`nerkit.packing.block_attention_mask` traced into it), so a consumer passes a plain 2D mask.
- ``torch.onnx.export`` (TorchScript exporter, opset :data:`OPSET`) with dynamic batch and sequence axes;
  optimum's exporter would do the same but does not install with transformers 5.
- Graph optimisation: ONNX Runtime's transformer fusions (layer norm, GELU) for the BERT family, offline; the
  session's own optimisations at load for every model.
- ``--quantize int8``: ONNX Runtime's dynamic quantisation (int8 weights, one scale per output channel;
  activations quantised per batch at run time) of the optimised graph.
- Every export is checked on the spot: the fp32 graph's logits must equal PyTorch's on a probe batch of another
  shape than the traced one (:data:`LOGITS_TOLERANCE`), or the export is refused.

Files are written into a temporary folder beside the output and renamed into place at the end, so a failure
leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Dict, List

import numpy as np

from .errors import SetupError
from .inference.onnx_backend import ONNX_FILES, cpu_session, import_onnxruntime
from .modeling import record_input_layout
from .packing import block_attention_mask, padded_position_ids
from .standard_loading import write_standard_loading

logger = logging.getLogger(__name__)

OPSET = 17
LOGITS_TOLERANCE = 1e-3  # fp32 graph against PyTorch, largest absolute difference of a logit
# Model types whose graphs ONNX Runtime's BERT fusions apply to.
BERT_FUSION_TYPES = {"bert", "roberta", "xlm-roberta", "camembert", "electra", "distilbert"}


def graph_input_names(tagger) -> List[str]:
    """The inputs the tagger's layout gives the model, in the graph's order."""
    names = ["input_ids", "attention_mask"]
    if tagger.spec.case_feature:
        names.append("token_type_ids")
    if tagger.spec.apart_pack_length is not None:
        names.append("position_ids")
    return names


def probe_batch(tagger, names: List[str], rows: int, length: int, seed: int) -> Dict[str, np.ndarray]:
    """Random ordinary sub-words, the last row shorter (padding), two sentences an input where packed."""
    rng = np.random.default_rng(seed)
    special = set(tagger.tokenizer.all_special_ids)
    vocabulary = np.array([i for i in range(min(len(tagger.tokenizer), 5000)) if i not in special])
    batch = {"input_ids": rng.choice(vocabulary, size=(rows, length)).astype(np.int64),
             "attention_mask": np.ones((rows, length), dtype=np.int64)}
    batch["attention_mask"][-1, length - length // 3:] = 0
    if "token_type_ids" in names:
        batch["token_type_ids"] = rng.integers(0, 2, size=(rows, length)).astype(np.int64)
    if "position_ids" in names:
        offset = tagger.spec.packed_position_offset or 0
        half = length // 2
        row = [offset + i for i in range(half)] + [offset + i for i in range(length - half)]
        batch["position_ids"] = padded_position_ids([row] * rows, length)
    return batch


def _exportable(model, names: List[str]):
    """The model as a module of the graph's inputs, returning logits only."""
    import torch

    class LogitsOnly(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *inputs):
            named = dict(zip(names, inputs))
            if "position_ids" in named:
                named["attention_mask"] = block_attention_mask(named["position_ids"], named["attention_mask"])
            return self.model(**named).logits

    return LogitsOnly().eval()


def export_graph(tagger, path: Path) -> List[str]:
    """``tagger.model`` (PyTorch, CPU) to an fp32 ONNX graph at ``path``; its input names."""
    import torch

    names = graph_input_names(tagger)
    sample = probe_batch(tagger, names, rows=2, length=16, seed=0)
    axes = {name: {0: "batch", 1: "sequence"} for name in [*names, "logits"]}
    module = _exportable(tagger.model.float().to("cpu"), names)
    try:
        with torch.no_grad(), exporter_output_hidden():
            torch.onnx.export(module, tuple(torch.from_numpy(sample[name]) for name in names), str(path),
                              input_names=names, output_names=["logits"], dynamic_axes=axes, opset_version=OPSET,
                              dynamo=False)
    except Exception as error:  # noqa: BLE001 - any exporter failure means: this architecture cannot be exported
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise SetupError(f"{type(tagger.model).__name__} cannot be exported to ONNX: {first}") from None
    return names


@contextlib.contextmanager
def exporter_output_hidden():
    """No tracer warnings, and none of the graph dump the TorchScript exporter writes to the process's stdout when
    it fails (from C++, past ``sys.stdout``): the failure is said in one line."""
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile() as sink, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        os.dup2(sink.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def optimize_graph(path: Path, config) -> None:
    """ONNX Runtime's transformer fusions, in place, for the BERT family (others keep the session's own)."""
    if getattr(config, "model_type", None) not in BERT_FUSION_TYPES:
        return
    from onnxruntime.transformers.optimizer import optimize_model

    with quiet_root_logging():
        optimized = optimize_model(str(path), model_type="bert", num_heads=int(config.num_attention_heads),
                                   hidden_size=int(config.hidden_size), opt_level=0)
        optimized.save_model_to_file(str(path))


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation of the weights of ``source``'s matrix products into ``target``."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Per channel: one scale per output column keeps the F1 that one scale per matrix loses on CPUs without VNNI
    # (README, "ONNX and INT8"). The fused operators have no ONNX shape inference; their outputs are float32.
    with quiet_root_logging():
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


@contextlib.contextmanager
def quiet_root_logging():
    """ONNX Runtime's optimiser and quantiser log every node, and advice that does not apply here: warnings and
    below are off while they run."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)


def check_logits(tagger, path: Path, names: List[str]) -> float:
    """The largest difference between the graph's logits and PyTorch's on a new probe batch; an error above
    :data:`LOGITS_TOLERANCE`."""
    batch = probe_batch(tagger, names, rows=3, length=23, seed=1)
    expected = tagger.forward(batch)
    got = cpu_session(path).run(["logits"], batch)[0]
    real = batch["attention_mask"].astype(bool)
    difference = float(np.abs(expected - got)[real].max())
    if difference > LOGITS_TOLERANCE:
        raise SetupError(f"{type(tagger.model).__name__} does not export faithfully to ONNX: its logits differ from "
                         f"PyTorch's by {difference:.2g} (more than {LOGITS_TOLERANCE})")
    return difference


def export_folder(tagger, output: Path, quantize: bool) -> Dict[str, object]:
    """Write the export of ``tagger`` (a PyTorch :class:`~nerkit.inference.NerTagger` on the CPU) to ``output``:
    ``model.onnx``, ``model_quantized.onnx`` when ``quantize``, the tokenizer and ``config.json`` with the layout.
    Returns what was done (input names, the fp32 check's difference)."""
    import_onnxruntime()
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # an ordinary folder once renamed, not mkdtemp's private one
    try:
        fp32 = staging / ONNX_FILES["onnx"]
        names = export_graph(tagger, fp32)
        optimize_graph(fp32, tagger.model.config)
        difference = check_logits(tagger, fp32, names)
        if quantize:
            quantize_int8(fp32, staging / ONNX_FILES["onnx-int8"])
        tagger.tokenizer.save_pretrained(staging)
        config = tagger.model.config.__class__.from_dict(tagger.model.config.to_dict())
        record_input_layout(config, tagger.layout)
        config.save_pretrained(staging)
        write_standard_loading(staging)  # the case feature's tokenizer for ONNX Runtime users too, as in the model folder
        staging.rename(output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return {"inputs": names, "opset": OPSET, "max_logit_difference": difference}
