r"""ListMLE: Plackett–Luce likelihood of the ground-truth permutation.

Xia, Liu, Wang, Zhang & Li, "Listwise Approach to Learning to Rank: Theory and Algorithm", ICML 2008.

Let :math:`\pi_q` order the :math:`n_q` real items of list :math:`q` by label, highest first. The
loss is the negative log-likelihood of :math:`\pi_q` under the Plackett–Luce model with
parameters :math:`e^{s_i}` (Xia et al. 2008, §3.3, eq. 9 and 10):

.. math::

    \mathcal{L}_q = -\log P(\pi_q \mid s)
        = \sum_{k=1}^{n_q} \Bigl[\log \sum_{l=k}^{n_q} e^{s_{\pi_q(l)}} - s_{\pi_q(k)}\Bigr].

Padded items take no place in the permutation. Items of equal label are ordered by keys drawn
from a :class:`torch.Generator` seeded with ``seed``, so the loss is a deterministic function of
``(scores, labels, mask, seed)`` (allRank's ``listMLE`` shuffles with an unseeded ``randperm``).
Averaging over tie orders is left to the caller (e.g. a new ``seed`` per epoch). A list without a
relevant item (all real labels 0) has no order to learn and contributes 0. The batch loss is the
mean of :math:`\mathcal{L}_q` over the lists with at least one real item.
"""

from __future__ import annotations

import torch

from hermes_core.losses._lists import check_lists, mean_over_lists


def ground_truth_permutation(labels: torch.Tensor, mask: torch.Tensor, *, seed: int = 0) -> torch.Tensor:
    """``(B, L)`` column indices: real items by label descending, ties in a seeded random order, padding last.

    The tie-breaking keys are drawn on the CPU so that a seed gives the same order on every device.
    """
    generator = torch.Generator(device="cpu").manual_seed(seed)
    keys = torch.rand(labels.shape, generator=generator, dtype=torch.float64).to(labels.device)
    by_key = keys.argsort(dim=1)  # (B, L) random order
    sort_labels = labels.detach().masked_fill(~mask, float("-inf"))
    # a stable sort by label of the randomly ordered items keeps that random order within each tie
    by_label = sort_labels.gather(1, by_key).argsort(dim=1, descending=True, stable=True)
    return by_key.gather(1, by_label)


def listmle_loss(
    scores: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor, *, seed: int = 0
) -> torch.Tensor:
    """Mean over lists of the Plackett–Luce negative log-likelihood of the label order.

    ``scores (B, L)`` float, ``labels (B, L)`` graded relevance ``>= 0``, ``mask (B, L)`` bool,
    ``True`` at a real item; ``seed`` orders items of equal label (module docstring). Raises
    ``ValueError`` on bad inputs.
    """
    clean_scores, clean_labels = check_lists(scores, labels, mask)
    permutation = ground_truth_permutation(clean_labels, mask, seed=seed)
    ordered_scores = clean_scores.gather(1, permutation)  # (B, L) s_{pi(1)}, s_{pi(2)}, ...
    ordered_mask = mask.gather(1, permutation)  # real items first
    zeros = torch.zeros_like(ordered_scores)
    # log sum_{l >= k} e^{s_l} by a reversed logcumsumexp, which never underflows however far apart
    # the scores drift (a cumulative sum of e^{s - max} does once the spread passes ~88 in float32);
    # padding (after the real items) holds a finite filler 100 below the row's smallest real score,
    # so its e^{filler} adds under 1e-42 relative and no -inf ever reaches a gradient
    row_min = ordered_scores.detach().masked_fill(~ordered_mask, float("inf")).amin(dim=1, keepdim=True)
    filler = torch.where(torch.isfinite(row_min), row_min - 100.0, torch.zeros_like(row_min))
    filled = torch.where(ordered_mask, ordered_scores, filler.expand_as(ordered_scores))
    log_tail_sums = torch.logcumsumexp(filled.flip(1), dim=1).flip(1)  # (B, L): log sum over l >= k
    per_list = torch.where(ordered_mask, log_tail_sums - filled, zeros).sum(dim=1)
    has_relevant = (clean_labels > 0).any(dim=1)
    per_list = torch.where(has_relevant, per_list, torch.zeros_like(per_list))
    return mean_over_lists(per_list, mask)
