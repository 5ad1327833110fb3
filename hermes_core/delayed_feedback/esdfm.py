r"""Elapsed-time Sampling Delayed Feedback Model (ES-DFM).

Yang, Li, Han, Zhuang, Zhan, Zeng & Tong, "Capturing Delayed Feedback in Conversion Rate
Prediction via Elapsed-Time Sampling", AAAI 2021 (arXiv:2012.03245).

*Stream* (:func:`esdfm_stream`). Each click waits an elapsed-time window :math:`c` and is
ingested at click time + :math:`c` with the label observed then (1 iff converted within
:math:`c`); a click that converts later (a *delayed positive*) is ingested again, with label 1, at
its conversion. Per click with eventual positive probability :math:`p(y=1 \mid x)` and
:math:`f_{dp}(x) = P(\text{delayed positive} \mid x)` (converts, after :math:`c`), the stream
holds :math:`1 + f_{dp}(x)` rows, :math:`p(y=1 \mid x)` of them positive, so

.. math::

    q(y = 1 \mid x) = \frac{p(y=1 \mid x)}{1 + f_{dp}(x)}, \qquad
    q(y = 0 \mid x) = \frac{p(y=0 \mid x) + f_{dp}(x)}{1 + f_{dp}(x)}.

*Weights.* With :math:`f_{rn}(x) = P(\text{real negative} \mid \text{observed negative at } c, x)
= p(y=0 \mid x) / (p(y=0 \mid x) + f_{dp}(x))`, the ratios :math:`p(y \mid x) / q(y \mid x)` are

.. math::

    w^+ = 1 + f_{dp}(x), \qquad w^- = \bigl(1 + f_{dp}(x)\bigr)\, f_{rn}(x),

    \mathcal{L}_{\mathrm{ES\text{-}DFM}} = -\frac{1}{n} \sum_i \bigl[y_i\, w^+_i \log f_\theta(x_i)
        + (1 - y_i)\, w^-_i \log(1 - f_\theta(x_i))\bigr],

with :math:`f_{dp}` and :math:`f_{rn}` two auxiliary classifiers whose outputs are constants for
the gradient (authors' code ``ThyrixYang/es_dfm``, ``src/loss.py``,
``delay_tn_importance_weight_loss``: ``pos_weight = 1 + dp_prob``, ``neg_weight = (1 + dp_prob)
* tn_prob``, both under ``stop_gradient``).

*Auxiliary labels* (:func:`esdfm_auxiliary_labels`; ``src/data.py``: ``to_dp``, ``to_tn``):
:math:`f_{dp}` is trained on every click, label "converts after :math:`c`"; :math:`f_{rn}` on the
clicks unconverted at :math:`c` (real negatives and delayed positives), label "never converts".

Special cases: :math:`c = 0` with only positive delays gives :math:`f_{dp} = p` and
:math:`f_{rn} = 1 - p`, FNW's weights :math:`1 + p` and :math:`(1 + p)(1 - p)`. If no conversion
comes after :math:`c` (e.g. zero delays), :math:`f_{dp} = 0`, :math:`f_{rn} = 1`, the stream holds
each click once with its true label and both weights are 1.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from hermes_core.delayed_feedback.ingestion import (
    DELAYED_POSITIVE,
    FIRST,
    IngestedRows,
    assemble,
    check_times,
    check_window,
)
from hermes_core.delayed_feedback.weighted_bce import check_labels, check_probability, importance_weighted_bce


def esdfm_weights(p_dp: torch.Tensor, p_rn: torch.Tensor, observed_label: torch.Tensor) -> torch.Tensor:
    """Per-row ES-DFM weight: :math:`1 + f_{dp}` on a positive row, :math:`(1 + f_{dp}) f_{rn}` on a negative one.

    ``p_dp``: :math:`f_{dp}(x)`, probability of a delayed positive; ``p_rn``: :math:`f_{rn}(x)`,
    probability of a real negative given an observed negative; ``observed_label`` (0/1). One
    shape for all. Returned detached (constants for the gradient). Raises ``ValueError`` on bad
    inputs.
    """
    check_probability("p_dp", p_dp, p_dp.shape)
    check_probability("p_rn", p_rn, p_dp.shape)
    check_labels(observed_label, p_dp.shape, name="observed_label")
    return torch.where(observed_label.to(torch.bool), 1.0 + p_dp, (1.0 + p_dp) * p_rn).detach()


def esdfm_loss(
    logits: torch.Tensor, observed_label: torch.Tensor, p_dp: torch.Tensor, p_rn: torch.Tensor
) -> torch.Tensor:
    """Mean ES-DFM loss over the rows of the ES-DFM stream (module docstring); weights detached."""
    weight = esdfm_weights(p_dp, p_rn, observed_label)
    return importance_weighted_bce(logits, observed_label, weight).mean()


class EsdfmAuxiliaryLabels(NamedTuple):
    """Labels of ES-DFM's auxiliary classifiers, one entry per click (bool arrays ``(n,)``)."""

    delayed_positive: np.ndarray  # f_dp's label (trained on every click): converts after the window
    observed_negative: np.ndarray  # f_rn's rows: not converted within the window
    real_negative: np.ndarray  # f_rn's label (meaningful where observed_negative): no conversion


def esdfm_auxiliary_labels(
    click_time: np.ndarray, conversion_time: np.ndarray, window: float
) -> EsdfmAuxiliaryLabels:
    """The labels of :math:`f_{dp}` and :math:`f_{rn}` for an elapsed-time window ``window`` (days).

    ``conversion_time``: counted conversions as known to the training data (``NaN`` where none):
    pass only clicks whose labels are settled (e.g. clicks older than the attribution window at
    pre-training time), since a conversion still to come would be taken for a real negative.
    """
    click, conversion = check_times(click_time, conversion_time)
    window = check_window("window", window)
    converted = np.isfinite(conversion)
    within = converted & (conversion - click <= window)
    return EsdfmAuxiliaryLabels(
        delayed_positive=converted & ~within,
        observed_negative=~within,
        real_negative=~converted,
    )


def esdfm_stream(
    click_time: np.ndarray, conversion_time: np.ndarray, window: float, t_now: float = np.inf
) -> IngestedRows:
    """The ES-DFM training stream up to ``t_now`` (days, inclusive).

    Each click at click time + ``window`` with label 1 iff its counted conversion came within
    ``window`` (kind ``first``); each conversion later than that a duplicate with label 1 at the
    conversion time (kind ``delayed_positive``).
    """
    click, conversion = check_times(click_time, conversion_time)
    window = check_window("window", window)
    converted = np.isfinite(conversion)
    within = converted & (conversion - click <= window)
    delayed = np.flatnonzero(converted & ~within)
    n = len(click)
    return assemble(
        [
            (np.arange(n), click + window, within, FIRST),
            (delayed, conversion[delayed], np.ones(len(delayed)), DELAYED_POSITIVE),
        ],
        t_now,
    )
