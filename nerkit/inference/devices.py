"""Where and in which precision ``predict_ner.py`` runs the model: ``--device`` and ``--dtype``."""

from __future__ import annotations

from ..errors import SetupError
from ..runtime import cpu_has_bf16

# torch is imported inside the functions that use it: it takes seconds to import, and predict_ner.py's --help
# and its errors about the input or the arguments should not wait for it.

DTYPES = ("auto", "float32", "bfloat16", "float16")


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
        raise SetupError(f"unknown --device {name!r} (auto, cpu, cuda, cuda:N or mps)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SetupError(f"--device {name}: no CUDA device is available (use --device cpu or auto)")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise SetupError(f"--device {name}: MPS is not available (use --device cpu or auto)")
    return device


def resolve_dtype(name: str, device):
    """The autocast dtype (None: plain float32). ``auto``: bfloat16 on a CUDA device that supports it, else
    float16 on CUDA; on a CPU bfloat16 where it has bf16 instructions (as the training scripts,
    :mod:`nerkit.runtime`), else float32. bfloat16 / float16 are refused where the device has no support for them."""
    import torch

    name = (name or "auto").lower()
    if name not in DTYPES:
        raise SetupError(f"unknown --dtype {name!r} (choose from {', '.join(DTYPES)})")
    if name == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if device.type == "cpu" and cpu_has_bf16() else None
    if name == "float32":
        return None
    if name == "bfloat16":
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise SetupError("--dtype bfloat16: this GPU does not support bfloat16 (use float16)")
        return torch.bfloat16
    if device.type == "cpu":
        raise SetupError("--dtype float16 needs a GPU; on a CPU use bfloat16 or float32")
    return torch.float16
