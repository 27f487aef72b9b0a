"""The token-classification loss with optional class weights, for the Trainer and the Accelerate loop alike."""

from __future__ import annotations

from typing import Optional, Sequence

import torch

from .inputs import IGNORE_INDEX


def token_classification_loss(logits: torch.Tensor, labels: torch.Tensor, class_weights: Optional[torch.Tensor] = None,
                              num_items_in_batch: Optional[int] = None, label_smoothing: float = 0.0) -> torch.Tensor:
    """Cross-entropy over labelled positions (labels != -100), optionally weighted per class and label-smoothed.

    With ``num_items_in_batch`` (gradient accumulation), the sum is divided by the labelled positions of the
    whole accumulated batch rather than averaged per micro-batch, so accumulation does not change the loss.
    """
    logits = logits.view(-1, logits.shape[-1]).float()
    labels = labels.view(-1).to(logits.device)
    weight = None if class_weights is None else class_weights.to(logits.device, dtype=logits.dtype)
    if num_items_in_batch is None:
        return torch.nn.functional.cross_entropy(logits, labels, weight=weight, ignore_index=IGNORE_INDEX,
                                                 label_smoothing=label_smoothing)
    # Sum over this micro-batch divided by the labelled positions of the whole accumulated (and, under DDP,
    # gathered) batch: accumulation and world size then leave the loss scale unchanged. With weights this is the
    # weighted sum over the plain count, a constant factor from cross_entropy's weighted mean.
    total = torch.nn.functional.cross_entropy(logits, labels, weight=weight, ignore_index=IGNORE_INDEX, reduction="sum",
                                              label_smoothing=label_smoothing)
    return total / num_items_in_batch


class WeightedLoss:
    """``compute_loss_func`` for the Trainer: ``(outputs, labels, num_items_in_batch) -> loss``.

    ``label_smoothing``: the Trainer's ``--label_smoothing_factor``, which it applies only when no
    ``compute_loss_func`` is given, so it is applied here.
    """

    def __init__(self, class_weights: Optional[Sequence[float]], label_smoothing: float = 0.0):
        self.class_weights = None if class_weights is None else torch.tensor(class_weights, dtype=torch.float32)
        self.label_smoothing = label_smoothing

    def __call__(self, outputs, labels, num_items_in_batch=None):
        logits = outputs["logits"] if isinstance(outputs, dict) else outputs.logits
        # Evaluation goes through NerTrainer.evaluation_loop, whose loss is the plain cross-entropy (split_loss).
        return token_classification_loss(logits, labels, self.class_weights, num_items_in_batch, self.label_smoothing)


def per_input_loss(logits, labels, class_weights=None):
    """Per input: the summed (weighted) cross-entropy over labelled positions, and the summed weights.

    Summing these over a whole split and dividing gives the mean loss per labelled word-piece, the same number
    :func:`token_classification_loss` gives for the split as one batch, however it is batched.
    """
    logits = logits.float()
    labels = labels.to(logits.device)
    weight = None if class_weights is None else class_weights.to(logits.device, dtype=logits.dtype)
    losses = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), weight=weight, ignore_index=IGNORE_INDEX,
        reduction="none",
    ).view(labels.shape)
    labelled = labels != IGNORE_INDEX
    if weight is None:
        weights = labelled.to(logits.dtype)
    else:
        zero = torch.zeros((), dtype=logits.dtype, device=logits.device)
        weights = torch.where(labelled, weight[labels.clamp_min(0)], zero)
    return losses.sum(dim=1), weights.sum(dim=1)


def split_loss(logits, labels, class_weights=None, rows_at_once: int = 1024) -> Optional[float]:
    """The (weighted) cross-entropy averaged over every labelled position of a whole split, from its gathered
    logits and labels (arrays or tensors, padded with label -100); None when no position is labelled.

    The same number for any batching, and the one :func:`per_input_loss` sums batch by batch.

    >>> round(split_loss([[[0.0, 0.0], [5.0, 0.0]]], [[0, -100]]), 4)  # log(2): two equal logits, one labelled
    0.6931
    """
    logits, labels = torch.as_tensor(logits), torch.as_tensor(labels)
    loss_sum, weight_sum = 0.0, 0.0
    for start in range(0, len(labels), rows_at_once):  # bounds the memory of the per-position losses
        sums, counts = per_input_loss(logits[start : start + rows_at_once], labels[start : start + rows_at_once],
                                      class_weights)
        loss_sum += float(sums.double().sum())
        weight_sum += float(counts.double().sum())
    return loss_sum / weight_sum if weight_sum > 0 else None
