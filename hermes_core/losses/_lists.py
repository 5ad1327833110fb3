"""Input checks and reductions shared by the rank-stage losses on padded lists.

Every list loss takes ``scores`` and ``labels`` ``(B, L)`` and a bool ``mask`` ``(B, L)``, ``True``
at a real item. The helpers here make padding inert: padded entries are replaced by zeros
through :func:`torch.where` (so they receive exactly zero gradient, even when they hold ``inf`` or
``NaN``), and a batch's loss is the mean of the per-list losses over the lists with at least one
real item.
"""

from __future__ import annotations

import torch


def check_lists(scores: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate a padded batch and return ``(scores, labels)`` with padded entries set to 0.

    Raises ``ValueError`` naming the argument at fault: ``scores`` not 2-D or not floating point,
    ``labels`` or ``mask`` of another shape, ``mask`` not bool or without any ``True`` entry, or a
    real item's label negative or not finite (labels are graded relevance ``>= 0``; a padded
    entry's label is ignored).
    """
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-D (B, L), got shape {tuple(scores.shape)}")
    if not scores.is_floating_point():
        raise ValueError(f"scores must be floating point, got dtype {scores.dtype}")
    if labels.shape != scores.shape:
        raise ValueError(f"labels must have the shape of scores {tuple(scores.shape)}, got {tuple(labels.shape)}")
    if mask.shape != scores.shape:
        raise ValueError(f"mask must have the shape of scores {tuple(scores.shape)}, got {tuple(mask.shape)}")
    if mask.dtype != torch.bool:
        raise ValueError(f"mask must be a bool tensor (True = real item), got dtype {mask.dtype}")
    if not bool(mask.any()):
        raise ValueError("mask has no True entry: the batch holds no real item to average over")
    real_labels = labels[mask]
    if not bool(torch.isfinite(real_labels).all()) or bool((real_labels < 0).any()):
        raise ValueError("labels must be finite and >= 0 at every real item (mask True)")
    zero = torch.zeros((), dtype=scores.dtype, device=scores.device)
    clean_scores = torch.where(mask, scores, zero)
    clean_labels = torch.where(mask, labels.to(scores.dtype), zero)
    return clean_scores, clean_labels


def mean_over_lists(per_list: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``per_list (B,)`` over the lists with at least one real item in ``mask (B, L)``."""
    nonempty = mask.any(dim=1)  # (B,)
    return per_list[nonempty].mean()


def real_pairs(labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``(B, L, L)`` bool, ``True`` at ``(b, i, j)`` when both items are real and ``labels[b, i] > labels[b, j]``."""
    both_real = mask[:, :, None] & mask[:, None, :]
    return both_real & (labels[:, :, None] > labels[:, None, :])


def ideal_dcg(labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    r"""``(B,)`` ideal DCG :math:`\sum_r (2^{y_{(r)}} - 1) / \log_2(1 + r)` of the real items, best grades first."""
    gains = torch.where(mask, torch.exp2(labels) - 1.0, torch.zeros_like(labels))
    sorted_gains = gains.sort(dim=1, descending=True).values  # padded gains 0 sort last among ties
    ranks = torch.arange(1, labels.shape[1] + 1, dtype=labels.dtype, device=labels.device)
    return (sorted_gains / torch.log2(1.0 + ranks)).sum(dim=1)


def masked_log_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``(B, L)`` log-softmax of each row over its real items; 0 at padded entries and in empty rows.

    Written with a detached per-row maximum and :func:`torch.where` before every ``exp``/``log``,
    so that no ``inf`` arises even in an empty row, and padded entries get exactly zero gradient.
    """
    nonempty = mask.any(dim=1, keepdim=True)  # (B, 1)
    row_max = scores.detach().masked_fill(~mask, float("-inf")).amax(dim=1, keepdim=True)
    row_max = torch.where(nonempty, row_max, torch.zeros_like(row_max))
    shifted = torch.where(mask, scores - row_max, torch.zeros_like(scores))
    total = torch.where(mask, torch.exp(shifted), torch.zeros_like(scores)).sum(dim=1, keepdim=True)
    log_total = torch.log(torch.where(nonempty, total, torch.ones_like(total)))
    return torch.where(mask, shifted - log_total, torch.zeros_like(scores))
