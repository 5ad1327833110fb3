r"""ListNet top-one / softmax cross-entropy.

Cao, Qin, Liu, Tsai & Li, "Learning to Rank: From Pairwise Approach to Listwise Approach", ICML 2007.

The target top-one distribution is the labels normalised to sum to one over the real items (not
:math:`\operatorname{softmax}(y)`: with that choice a zero label would still get probability
mass, and binary labels would give a far flatter target), and the model's is the softmax of the
scores over the real items:

.. math::

    \mathcal{L}_q = -\sum_{i \in M_q} \frac{y_i}{\sum_{j \in M_q} y_j}
        \log \frac{e^{s_i}}{\sum_{j \in M_q} e^{s_j}}.

This is Cao et al. 2007, §4.2 (eq. 6, top-one probability) with the identity as the label
transformation, the form analysed by Bruch et al., "An Analysis of the Softmax Cross Entropy Loss
for Learning-to-Rank with Binary Relevance", ICTIR 2019; with one relevant item per list it equals
the sampled softmax. A list without a relevant item (all real labels 0) has no target
distribution and contributes 0. The batch loss is the mean of :math:`\mathcal{L}_q` over the lists
with at least one real item.
"""

from __future__ import annotations

import torch

from hermes_core.losses._lists import check_lists, masked_log_softmax, mean_over_lists


def softmax_ce_loss(scores: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over lists of the cross-entropy between ``labels / labels.sum()`` and ``softmax(scores)``.

    ``scores (B, L)`` float logits, ``labels (B, L)`` graded relevance ``>= 0``, ``mask (B, L)``
    bool, ``True`` at a real item (module docstring). Raises ``ValueError`` on bad inputs.
    """
    clean_scores, clean_labels = check_lists(scores, labels, mask)
    label_sums = clean_labels.sum(dim=1, keepdim=True)  # (B, 1)
    targets = clean_labels / torch.where(label_sums > 0, label_sums, torch.ones_like(label_sums))
    per_list = -(targets * masked_log_softmax(clean_scores, mask)).sum(dim=1)
    return mean_over_lists(per_list, mask)
