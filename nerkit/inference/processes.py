"""``predict_ner.py`` as several processes (``torchrun --nproc_per_node N predict_ner.py ...``): each process
tags its share of the input's chunks of whole documents, and the first one writes every prediction in input
order.

The chunks are the ones a single process makes (:meth:`nerkit.inference.NerTagger.predict_chunks`), dealt to
the processes in turn, so every chunk is batched and computed as one process computes it: the output is
byte-identical to a single process's at the same thread count. The processes meet over gloo (CPU tensors, what
``gather_object`` needs); each uses its own GPU when the machine has them (``cuda:LOCAL_RANK``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from ..errors import SetupError


@dataclass(frozen=True)
class Processes:
    rank: int = 0
    world_size: int = 1

    @property
    def first(self) -> bool:
        return self.rank == 0


def join_processes() -> Processes:
    """One process (no launcher), or this process's place among those a launcher started (``WORLD_SIZE``)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world_size <= 1:
        return Processes()
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("gloo")
    return Processes(dist.get_rank(), dist.get_world_size())


def device_for(name: str, processes: Processes) -> str:
    """``--device auto`` under a launcher on a machine with GPUs: this process's own GPU."""
    import torch

    if processes.world_size > 1 and (name or "auto").lower() == "auto" and torch.cuda.is_available():
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if local_rank >= torch.cuda.device_count():
            raise SetupError(f"{os.environ.get('LOCAL_WORLD_SIZE', local_rank + 1)} processes on a machine with "
                             f"{torch.cuda.device_count()} GPU(s): start at most one a GPU, or pass --device cpu")
        return f"cuda:{local_rank}"
    return name


def gather_in_order(own: Sequence[Tuple[int, list]], processes: Processes) -> Optional[list]:
    """Every process's ``(chunk index, predictions)``; on the first process all predictions in chunk order, on
    the others None."""
    if processes.world_size == 1:
        return [prediction for _, chunk in sorted(own, key=lambda item: item[0]) for prediction in chunk]
    import torch.distributed as dist

    gathered: Optional[List] = [None] * processes.world_size if processes.first else None
    dist.gather_object(list(own), gathered, dst=0)
    if not processes.first:
        return None
    chunks = sorted((item for part in gathered for item in part), key=lambda item: item[0])
    return [prediction for _, chunk in chunks for prediction in chunk]


def leave_processes(processes: Processes) -> None:
    if processes.world_size > 1:
        import torch.distributed as dist

        dist.barrier()  # the first process has written the output
        dist.destroy_process_group()
