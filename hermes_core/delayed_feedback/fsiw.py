r"""Feedback Shift Importance Weighting (FSIW).

Yasui, Morishita, Fujita & Shibata, "A Feedback Shift Correction in Predicting Conversion Rates
under Delayed Feedback", WWW 2020.

Setting: a training set built at time :math:`T` from clicks with elapsed times
:math:`E = T - t_{click}`. :math:`Y` is the eventual label, :math:`S` whether a positive's
conversion has happened within :math:`E`, :math:`C = Y S` the label observed at :math:`T`. The
feature distribution is the same at training and at serving time; only the label distribution
shifts (a *feedback shift*). Since :math:`C = 1` implies :math:`Y = 1`,

.. math::

    P(C = 1 \mid x, E) = P(Y = 1 \mid x)\, P(S = 1 \mid Y = 1, x, E), \qquad
    P(C = 0 \mid x, E) = 1 - P(C = 1 \mid x, E),

and the importance weights :math:`P(Y = c \mid x) / P(C = c \mid x, E)` of an observed label
:math:`c` are

.. math::

    w^+ = \frac{P(Y=1 \mid x)}{P(C=1 \mid x, E)} = \frac{1}{P(S = 1 \mid Y = 1, x, E)}, \qquad
    w^- = \frac{P(Y=0 \mid x)}{P(C=0 \mid x, E)} = P(Y = 0 \mid C = 0, x, E),

.. math::

    \mathcal{L}_{\mathrm{FSIW}} = -\frac{1}{n} \sum_i \Bigl[
        \frac{c_i}{\hat P(S=1 \mid Y=1, x_i, E_i)} \log f_\theta(x_i)
        + (1 - c_i)\, \hat P(Y=0 \mid C=0, x_i, E_i) \log\bigl(1 - f_\theta(x_i)\bigr)\Bigr].

The two probabilities come from auxiliary classifiers that take the elapsed time as a feature,
trained on data with a *counterfactual deadline*: pretend the data were observed at
:math:`T_{obs} = T - \delta` and use what is known at :math:`T` as their labels
(:func:`fsiw_auxiliary_data`). This follows the authors' definitions as implemented in the
reference code of ES-DFM (``ThyrixYang/es_dfm``, ``src/data.py``: ``to_fsiw_1`` and
``to_fsiw_0``; ``src/loss.py``: ``fsiw_loss``, weights ``1 / prob1`` and ``prob0``).

With zero delays every positive is observed at once: :math:`P(S=1 \mid \cdot) = 1` and
:math:`P(Y=0 \mid C=0, \cdot) = 1`, both weights are 1 and the loss is the plain cross-entropy.
Under DFM's exponential delay, :math:`w^-` is the elapsed-time weight of
:mod:`~hermes_core.delayed_feedback.elapsed_weight`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from hermes_core.delayed_feedback.ingestion import check_times
from hermes_core.delayed_feedback.weighted_bce import check_labels, check_probability, importance_weighted_bce


def fsiw_weights(
    p_observed_if_positive: torch.Tensor,
    p_real_negative_if_unobserved: torch.Tensor,
    observed_label: torch.Tensor,
    *,
    max_weight: float = math.inf,
) -> torch.Tensor:
    """Per-row FSIW weight: :math:`1 / P(S=1 \\mid Y=1, x, E)` on an observed positive,
    :math:`P(Y=0 \\mid C=0, x, E)` on an observed negative (module docstring).

    All three tensors share one shape; the probabilities lie in [0, 1]. A positive's weight is
    clipped at ``max_weight`` (default: no clipping). Returned detached (constants for the
    gradient). Raises ``ValueError`` on bad inputs,
    including a positive row whose weight is infinite (``p_observed_if_positive`` 0, no clipping).
    """
    shape = p_observed_if_positive.shape
    check_probability("p_observed_if_positive", p_observed_if_positive, shape)
    check_probability("p_real_negative_if_unobserved", p_real_negative_if_unobserved, shape)
    check_labels(observed_label, shape, name="observed_label")
    if not max_weight >= 1:
        raise ValueError(f"max_weight must be >= 1 (1 / probability is never below 1), got {max_weight!r}")
    positive = observed_label.to(torch.bool)
    with torch.no_grad():
        positive_weight = torch.clamp(1.0 / p_observed_if_positive, max=max_weight)
    if not bool(torch.isfinite(positive_weight[positive]).all()):
        raise ValueError("p_observed_if_positive is 0 at an observed positive: infinite weight (set max_weight)")
    return torch.where(positive, positive_weight, p_real_negative_if_unobserved).detach()


def fsiw_loss(
    logits: torch.Tensor,
    observed_label: torch.Tensor,
    p_observed_if_positive: torch.Tensor,
    p_real_negative_if_unobserved: torch.Tensor,
    *,
    max_weight: float = math.inf,
) -> torch.Tensor:
    """Mean FSIW loss (module docstring); the auxiliary probabilities are constants for the gradient."""
    weight = fsiw_weights(p_observed_if_positive, p_real_negative_if_unobserved, observed_label,
                          max_weight=max_weight)
    return importance_weighted_bce(logits, observed_label, weight).mean()


class FsiwAuxiliaryData(NamedTuple):
    """Training data of FSIW's two auxiliary classifiers at a counterfactual observation time.

    ``positive_*`` trains :math:`P(S=1 \\mid Y=1, x, E)` on the clicks known to convert;
    ``negative_*`` trains :math:`P(Y=0 \\mid C=0, x, E)` on the clicks unconverted at the
    observation time. ``*_click`` index the clicks, ``*_label`` are bool, ``*_elapsed`` the
    elapsed-time feature (observation time - click time, days).
    """

    positive_click: np.ndarray
    positive_label: np.ndarray  # converted by the observation time
    positive_elapsed: np.ndarray
    negative_click: np.ndarray
    negative_label: np.ndarray  # no known conversion at all: a real negative
    negative_elapsed: np.ndarray


def fsiw_auxiliary_data(
    click_time: np.ndarray, conversion_time: np.ndarray, observation_time: float
) -> FsiwAuxiliaryData:
    """The two auxiliary data sets of FSIW, pretending the data were seen at ``observation_time``.

    ``conversion_time``: counted conversions *as known when the training set is built* (time
    :math:`T`; ``NaN`` where none is known), so that the labels use only information available at
    :math:`T`; ``observation_time`` is :math:`T - \\delta`, the counterfactual deadline. Clicks made
    at or before ``observation_time`` are used:

    * positive set: clicks with a known conversion; label 1 iff converted by ``observation_time``;
    * negative set: clicks not converted by ``observation_time``; label 1 iff no known conversion.
    """
    click, conversion = check_times(click_time, conversion_time)
    observation_time = float(observation_time)
    made = click <= observation_time
    known_positive = np.isfinite(conversion)
    observed = known_positive & (conversion <= observation_time)
    positive = np.flatnonzero(made & known_positive)
    negative = np.flatnonzero(made & ~observed)
    return FsiwAuxiliaryData(
        positive_click=positive,
        positive_label=observed[positive],
        positive_elapsed=observation_time - click[positive],
        negative_click=negative,
        negative_label=~known_positive[negative],
        negative_elapsed=observation_time - click[negative],
    )
