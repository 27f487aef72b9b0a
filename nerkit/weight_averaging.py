"""An exponential moving average of the weights during training (EMA), for the Trainer and the Accelerate loop.

The averaged weights replace the model's when training ends, so evaluation, prediction and the saved model use
them; checkpoints carry the average, so a resumed run continues it.
"""

from __future__ import annotations

import os
from typing import Dict

import torch
from safetensors.torch import load_file, save_file
from transformers import TrainerCallback

AVERAGE_FILE = "weight_average.safetensors"


class WeightAverage:
    """The average of a model's trainable weights: ``decay`` of the old average plus the rest of the new weights
    after every optimizer step, with a shorter memory early on (``min(decay, (1 + t) / (10 + t))`` at step
    ``t``) so that the first steps' random head does not linger.

    >>> model = torch.nn.Linear(1, 1, bias=False)
    >>> _ = torch.nn.init.constant_(model.weight, 0.0)
    >>> average = WeightAverage(model, decay=0.5)
    >>> _ = torch.nn.init.constant_(model.weight, 1.0)
    >>> average.update(model)  # step 1: min(0.5, 2/11) of the old average
    >>> round(float(average.shadow["weight"]), 4)
    0.8182
    """

    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.steps = 0
        self.shadow: Dict[str, torch.Tensor] = {
            name: parameter.detach().float().clone() for name, parameter in model.named_parameters()
            if parameter.requires_grad
        }

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.steps += 1
        decay = min(self.decay, (1 + self.steps) / (10 + self.steps))
        names = list(self.shadow)
        parameters = dict(model.named_parameters())
        torch._foreach_lerp_([self.shadow[name] for name in names],
                             [parameters[name].detach().float() for name in names], 1.0 - decay)

    @torch.no_grad()
    def copy_to(self, model: torch.nn.Module) -> None:
        """Put the averaged weights into ``model``."""
        for name, parameter in model.named_parameters():
            if name in self.shadow:
                parameter.copy_(self.shadow[name].to(parameter.dtype))

    def save(self, folder: str) -> None:
        save_file(dict(self.shadow, **{"__steps__": torch.tensor(self.steps)}), os.path.join(folder, AVERAGE_FILE))

    def load(self, folder: str) -> bool:
        """Continue the average saved in a checkpoint ``folder``; False when it holds none."""
        path = os.path.join(folder, AVERAGE_FILE)
        if not os.path.isfile(path):
            return False
        saved = load_file(path)
        self.steps = int(saved.pop("__steps__"))
        self.shadow = {name: saved[name] for name in self.shadow}
        return True


class WeightAverageCallback(TrainerCallback):
    """The Trainer's side: starts the average with training, updates it after each optimizer step and puts it
    into the model when training ends."""

    def __init__(self, decay: float):
        self.decay = decay
        self.average = None

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.average = WeightAverage(model, self.decay)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        self.average.update(model)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        self.average.copy_to(model)
