"""A model exported by ``export_onnx.py``, run by ONNX Runtime: the forward pass of :class:`~.tagger.NerTagger`
with ``--backend onnx`` (fp32) or ``onnx-int8`` (dynamically quantised weights).

The export folder holds ``model.onnx`` (and ``model_quantized.onnx`` with ``--quantize int8``), the tokenizer
and ``config.json`` with the input layout the model was exported with (:mod:`nerkit.export`). The graph takes
the inputs that layout needs, padded on the right: ``input_ids``, a 2D ``attention_mask``, ``token_type_ids``
with the case feature, and ``position_ids`` for packed sentences kept apart (the graph builds the block mask
from them, :func:`nerkit.packing.block_attention_mask`); it returns ``logits``. Reading, windowing, packing and
decoding are the tagger's, the same as with PyTorch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import numpy as np

from ..errors import SetupError
from ..layout import InputLayout, resolve_window
from ..modeling import load_config, load_tokenizer, recorded_arrangement

# onnxruntime is imported inside the functions that use it: it is optional (requirements-onnx.txt).

ONNX_FILES = {"onnx": "model.onnx", "onnx-int8": "model_quantized.onnx"}
BACKENDS = ("torch", *ONNX_FILES)
INSTALL_HINT = "pip install -r requirements-onnx.txt"


def import_onnxruntime():
    """The ``onnxruntime`` module, or a one-line error that says how to install it."""
    try:
        import onnxruntime
    except ImportError:
        raise SetupError(f"ONNX needs onnxruntime, which is not installed: {INSTALL_HINT}") from None
    return onnxruntime


def cpu_session(path: Path):
    """An ONNX Runtime session on the CPU provider, with every graph optimisation (the default, made explicit)."""
    onnxruntime = import_onnxruntime()
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: no warnings about unused initialisers on every load
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxModel:
    """An exported token classifier: its ONNX Runtime session, config and tokenizer; called with a padded
    numpy batch, it returns float32 logits (the interface of :class:`~.tagger.TorchForward`)."""

    pad_multiple = None

    def __init__(self, session, config, tokenizer, path: Path):
        self.session, self.config, self.tokenizer, self.path = session, config, tokenizer, path
        self.input_names: List[str] = [item.name for item in session.get_inputs()]
        self.device = f"ONNX Runtime CPU ({path.name})"

    @classmethod
    def load(cls, model_args, backend: str) -> "OnnxModel":
        """The export in ``model_args.model_name_or_path``, loaded with :mod:`nerkit.modeling`'s rules."""
        if backend not in ONNX_FILES:
            raise SetupError(f"unknown --backend {backend!r} (choose from {', '.join(BACKENDS)})")
        folder = Path(model_args.model_name_or_path)
        path = folder / ONNX_FILES[backend]
        if not path.is_file():
            hint = " (export with --quantize int8)" if backend == "onnx-int8" else ""
            raise SetupError(f"no {path.name} in this folder: --backend {backend} needs a folder written by "
                             f"export_onnx.py{hint}", path=str(folder))
        session = cpu_session(path)  # first: a missing onnxruntime is said before the slower loading
        config = load_config(model_args)
        return cls(session, config, load_tokenizer(model_args, config), path)

    def __call__(self, batch: Dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run(["logits"], {name: batch[name] for name in self.input_names})[0]

    def exported_layout(self, request, tokenizer) -> InputLayout:
        """The layout recorded at export; the window may be chosen anew, but not how sentences share inputs
        (the graph's inputs were fixed by it)."""
        max_seq_length, stride = resolve_window(request.max_seq_length, request.stride, tokenizer, self.config)
        exported = recorded_arrangement(self.config, str(self.path.parent), warn=False)
        offset = getattr(self.config, "packed_position_offset", None)
        case_feature = bool(getattr(self.config, "case_feature", False))
        if exported is None or case_feature != ("token_type_ids" in self.input_names) or (
                (offset is not None) != ("position_ids" in self.input_names)):
            raise SetupError("config.json does not describe this ONNX graph's inputs: export the model again with "
                             "export_onnx.py", path=str(self.path.parent))
        arrangement = exported
        if request.asks_arrangement:
            arrangement = request.arrangement()
            same = (arrangement.context_size, arrangement.pack_attention) == (exported.context_size, exported.pack_attention)
            if not same or (arrangement.pack_length > 0) != (exported.pack_length > 0):
                raise SetupError(f"this ONNX model was exported for {exported.describe()}; only --pack_length "
                                 "(for packed inputs), --max_seq_length and --stride can change")
        return InputLayout(max_seq_length, stride, arrangement.pack_length, arrangement.context_size,
                           arrangement.pack_attention, offset, case_feature)
