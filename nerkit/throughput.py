"""What a run spent its time and memory on: ``performance.json`` in the output folder, from both scripts.

:class:`TokenCounter` hooks the model's forward pass, so it counts exactly what the model computed in
training (real sub-words and padded positions), whatever sampler, collator or dataloader workers fed it.
:class:`PerformanceLog` gathers those counts, stage timings and words per second, and writes them with the
process's peak resident memory.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from contextlib import contextmanager
from typing import Dict, Optional

from .files import atomic_write
from .packing import real_tokens


class TokenCounter:
    """Counts ``input_ids`` positions (padded) and those holding a sub-word (real) of training forward passes:
    ``attention_mask`` ones, or with the 4D mask of packed sentences, the positions that are not padding."""

    def __init__(self, pad_token_id: Optional[int] = None):
        self.pad_token_id = pad_token_id
        self.real = 0
        self.padded = 0
        self._handle = None

    def attach(self, model) -> "TokenCounter":
        self._handle = model.register_forward_pre_hook(self._count, with_kwargs=True)
        return self

    def detach(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def _count(self, module, args, kwargs):
        if not module.training:
            return
        input_ids, mask = kwargs.get("input_ids"), kwargs.get("attention_mask")
        if input_ids is None:
            return
        self.padded += int(input_ids.numel())
        self.real += real_tokens(input_ids, mask, self.pad_token_id)


def peak_rss_bytes() -> int:
    """Peak resident memory of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


class PerformanceLog:
    """Stage timings and throughput of one run, written as ``performance.json``."""

    def __init__(self):
        self.figures: Dict[str, float] = {}

    @contextmanager
    def timed(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.figures[f"{name}_seconds"] = round(self.figures.get(f"{name}_seconds", 0.0) + time.perf_counter() - start, 3)

    def training(self, counter: TokenCounter, seconds: float) -> None:
        self.figures.update(
            train_seconds=round(seconds, 3),
            train_real_tokens=counter.real,
            train_padded_tokens=counter.padded,
            train_padded_per_real=round(counter.padded / counter.real, 4) if counter.real else None,
            train_real_tokens_per_second=round(counter.real / seconds, 1) if seconds else None,
        )

    def inference(self, prefix: str, words: int, seconds: float) -> None:
        self.figures.update({
            f"{prefix}_words": words,
            f"{prefix}_seconds": round(seconds, 3),
            f"{prefix}_words_per_second": round(words / seconds, 1) if seconds else None,
        })

    def save(self, output_dir: str) -> None:
        self.figures["peak_rss_bytes"] = peak_rss_bytes()
        with atomic_write(os.path.join(output_dir, "performance.json")) as stream:
            json.dump(self.figures, stream, indent=2, sort_keys=True)
            stream.write("\n")
