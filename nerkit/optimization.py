"""AdamW's parameter groups, with optional layer-wise learning-rate decay, for the Trainer and the Accelerate loop.

Layer-wise decay gives the classifier the full learning rate and each layer below it ``decay`` times its upper
neighbour's, down to the embeddings: the pretrained lower layers move less than the new head.
"""

from __future__ import annotations

import re
from typing import Dict, Iterable, List, Optional

import torch
from transformers.trainer_pt_utils import get_parameter_names

from .errors import SetupError

NO_DECAY = [r"bias", r"layernorm", r"rmsnorm", r"(?:^|\.)norm(?:$|\.)", r"_norm(?:$|\.)"]
LAYER_INDEX = re.compile(r"\.(?:layer|layers|h|block|blocks)\.(\d+)\.")  # BERT, DistilBERT, GPT-2, T5-like names
EMBEDDINGS = re.compile(r"(?:^|\.)(?:embeddings|embed_tokens|wte|wpe|word_embedding)")


def layer_depth(name: str, num_layers: int) -> int:
    """How deep a parameter sits: 0 for the embeddings, ``i + 1`` for transformer layer ``i``, ``num_layers + 1``
    for everything above the layers (final norm, pooler, classifier).

    >>> [layer_depth(n, 6) for n in ("bert.embeddings.word_embeddings.weight",
    ...  "bert.encoder.layer.5.output.dense.weight", "classifier.weight")]
    [0, 6, 7]
    """
    found = LAYER_INDEX.search(name)
    if found:
        return int(found.group(1)) + 1
    if EMBEDDINGS.search(name):
        return 0
    return num_layers + 1


def number_of_layers(model) -> int:
    """The transformer layers the model's config declares."""
    config = model.config
    for key in ("num_hidden_layers", "n_layers", "n_layer", "num_layers"):
        if isinstance(getattr(config, key, None), int):
            return getattr(config, key)
    raise SetupError(f"--layerwise_lr_decay: cannot tell how many layers a {type(model).__name__} has")


def parameter_groups(model, learning_rate: float, weight_decay: float, layerwise_lr_decay: float = 1.0,
                     decay_names: Optional[Iterable[str]] = None) -> List[Dict[str, object]]:
    """Groups for AdamW: no weight decay on biases and norm weights (as the Trainer's), and with
    ``layerwise_lr_decay`` < 1 a learning rate per depth, ``learning_rate * decay ** (top - depth)``.

    ``decay_names``: the names that take weight decay (default: the Trainer's rule). Each group records its
    ``lr``, which schedules scale like any optimizer's initial learning rate.
    """
    if not 0 < layerwise_lr_decay <= 1:
        raise SetupError(f"--layerwise_lr_decay must be in (0, 1], got {layerwise_lr_decay}")
    decay = set(decay_names if decay_names is not None else get_parameter_names(model, [torch.nn.LayerNorm], NO_DECAY))
    named = [(name, parameter) for name, parameter in model.named_parameters() if parameter.requires_grad]
    if layerwise_lr_decay == 1:
        depths, top = {name: 0 for name, _ in named}, 0
    else:
        top = number_of_layers(model) + 1
        depths = {name: layer_depth(name, top - 1) for name, _ in named}
        if not any(0 < depth < top for depth in depths.values()):
            raise SetupError(f"--layerwise_lr_decay: no parameter of a {type(model).__name__} is named like a "
                             "numbered layer (…layer.N.…)")
    groups: Dict[tuple, Dict[str, object]] = {}
    for name, parameter in named:
        key = (depths[name], name not in decay)  # decayed group first, as the Trainer's
        if key not in groups:
            groups[key] = {"params": [], "weight_decay": weight_decay if name in decay else 0.0,
                           "lr": learning_rate * layerwise_lr_decay ** (top - depths[name])}
        groups[key]["params"].append(parameter)
    return [groups[key] for key in sorted(groups)]
