r"""Inverse-propensity-weighted softmax cross-entropy for position-biased clicks.

Clicks :math:`c_i` logged under a ranking are biased towards the top: an item is clicked only if
examined, with probability :math:`p_i` that depends on the position it was shown at. Weighting
each clicked item by :math:`1/p_i` makes a loss that is linear in the relevance labels unbiased
(Joachims, Swaminathan & Schnabel, "Unbiased Learning-to-Rank with Biased Feedback", WSDM 2017,
§4, Proposition 1); Ai, Bi, Luo, Guo & Croft, "Unbiased Learning to Rank with Unbiased Propensity
Estimation", SIGIR 2018, §3, apply it to the softmax cross-entropy:

.. math::

    \mathcal{L}_q = -\frac{1}{Z_q} \sum_{i \in M_q} \frac{c_i}{p_i}
        \log \frac{e^{s_i}}{\sum_{j \in M_q} e^{s_j}},
    \qquad
    Z_q = \begin{cases} \sum_{i \in M_q} c_i & \text{``normalise_by_clicks=True`` (default)} \\
                        1 & \text{``normalise_by_clicks=False``.} \end{cases}

With :math:`Z_q = 1` the loss is linear in the clicks and its expectation over the examinations is
the full-information loss :math:`-\sum_i r_i \log \operatorname{softmax}(s)_i`: Ai et al.'s unbiased
form. With the default :math:`Z_q = \sum_i c_i` (an observed count) and all :math:`p_i = 1` the loss
equals :func:`~hermes_core.losses.softmax_ce.softmax_ce_loss` on the clicks, so switching
propensities on changes nothing else; the click count depends on the examinations, so this form is
not exactly unbiased. ``propensities[b, i]`` is the examination probability of the position item
``i`` of list ``b`` was shown at (the caller maps positions to probabilities, e.g. with a
position-based click model). A list without a click contributes 0; the batch loss is the mean of
:math:`\mathcal{L}_q` over the lists with at least one real item. Not in the name registry: it
needs a fourth argument.
"""

from __future__ import annotations

import torch

from hermes_core.losses._lists import check_lists, masked_log_softmax, mean_over_lists


def ips_softmax_loss(
    scores: torch.Tensor,
    clicks: torch.Tensor,
    mask: torch.Tensor,
    propensities: torch.Tensor,
    *,
    normalise_by_clicks: bool = True,
) -> torch.Tensor:
    """Mean over lists of the softmax cross-entropy with each click weighted by ``1 / propensity``.

    ``scores (B, L)`` float logits, ``clicks (B, L)`` click counts or graded labels ``>= 0``,
    ``mask (B, L)`` bool, ``True`` at a real item, ``propensities (B, L)`` examination
    probabilities in ``(0, 1]`` at every real item (ignored at padding). Raises ``ValueError``
    on bad inputs (module docstring for the formula and ``normalise_by_clicks``).
    """
    clean_scores, clean_clicks = check_lists(scores, clicks, mask)
    if propensities.shape != scores.shape:
        raise ValueError(f"propensities must have the shape of scores {tuple(scores.shape)}, "
                         f"got {tuple(propensities.shape)}")
    real_propensities = propensities[mask]
    if not bool(((real_propensities > 0) & (real_propensities <= 1)).all()):
        raise ValueError("propensities must lie in (0, 1] at every real item (mask True)")
    safe_propensities = torch.where(mask, propensities.to(clean_scores.dtype), torch.ones_like(clean_scores))
    weights = clean_clicks / safe_propensities  # (B, L) c_i / p_i, 0 at padding
    per_list = -(weights * masked_log_softmax(clean_scores, mask)).sum(dim=1)
    if normalise_by_clicks:
        click_counts = clean_clicks.sum(dim=1)
        per_list = per_list / torch.where(click_counts > 0, click_counts, torch.ones_like(click_counts))
    return mean_over_lists(per_list, mask)
