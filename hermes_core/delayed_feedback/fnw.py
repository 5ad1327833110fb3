r"""Fake Negative Weighted (FNW) and Fake Negative Calibration (FNC).

Ktena, Tejani, Theis, Myana, Dilipkumar, Huszár, Yoo & Shi, "Addressing Delayed Feedback for
Continuous Training with Neural Networks in CTR Prediction", RecSys 2019.

*Stream.* Every click is ingested at once with label 0; when (and if) it converts, a duplicate
is ingested with label 1 (:func:`fnw_stream`). Every eventual positive therefore appears twice,
once as a fake negative, so per click the stream holds :math:`1 + p(y=1 \mid x)` rows of which
:math:`p(y=1 \mid x)` are positive, and the *biased* label distribution is

.. math::

    b(y = 1 \mid x) = \frac{p(y=1 \mid x)}{1 + p(y=1 \mid x)}, \qquad
    b(y = 0 \mid x) = \frac{1}{1 + p(y=1 \mid x)}.

*FNW.* Importance weights :math:`p(y \mid x) / b(y \mid x)` (Ktena et al. assume
:math:`b(x) \approx p(x)`, the point that DEFER later criticises) give, with :math:`p` replaced by
the model's own prediction :math:`f_\theta(x) = \sigma(s)` held constant (stop-gradient),

.. math::

    w^+ = 1 + f_\theta(x), \qquad w^- = \bigl(1 - f_\theta(x)\bigr)\bigl(1 + f_\theta(x)\bigr),

    \mathcal{L}_{\mathrm{FNW}} = -\frac{1}{n} \sum_i \bigl[y_i\, w^+_i \log f_\theta(x_i)
        + (1 - y_i)\, w^-_i \log(1 - f_\theta(x_i))\bigr].

The weights belong to the stream, not to the delays: with zero delay the stream still holds the
fake negative of every positive, and the weights are still needed (they do not become 1).

*FNC.* Train a plain cross-entropy on the same stream, which estimates :math:`b(y=1 \mid x)`, and
invert the relation above at prediction time:

.. math::

    p(y = 1 \mid x) = \frac{b(y = 1 \mid x)}{1 - b(y = 1 \mid x)}.
"""

from __future__ import annotations

import numpy as np
import torch

from hermes_core.delayed_feedback.ingestion import (
    DELAYED_POSITIVE,
    FIRST,
    IngestedRows,
    assemble,
    check_times,
)
from hermes_core.delayed_feedback.weighted_bce import check_labels, check_probability, importance_weighted_bce


def fnw_weights(probability: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-row FNW weight: :math:`1 + p` on a positive row, :math:`(1 - p)(1 + p)` on a negative one.

    ``probability``: the model's prediction :math:`f_\\theta(x)` in [0, 1]; ``labels`` (0/1) of the
    same shape. Returned detached (constants for the gradient). Raises ``ValueError`` on bad inputs.
    """
    check_probability("probability", probability, probability.shape)
    check_labels(labels, probability.shape)
    positive = labels.to(torch.bool)
    return torch.where(positive, 1.0 + probability, (1.0 - probability) * (1.0 + probability)).detach()


def fnw_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean FNW loss over the rows of the FNW stream (module docstring); weights use ``sigmoid(logits)`` detached."""
    weight = fnw_weights(torch.sigmoid(logits.detach()), labels)
    return importance_weighted_bce(logits, labels, weight).mean()


def fnc_calibrate(biased_probability: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """FNC: :math:`p = b / (1 - b)` from a model trained without weights on the FNW stream.

    In theory :math:`b \\le 1/2` (then :math:`p \\le 1`); an estimate above 1/2 would give
    :math:`p > 1`, so the result is clipped to 1. Accepts a numpy array or a tensor in [0, 1].
    """
    if isinstance(biased_probability, torch.Tensor):
        check_probability("biased_probability", biased_probability, biased_probability.shape)
        ratio = biased_probability / (1.0 - biased_probability)
        return torch.clamp(ratio, max=1.0)  # b = 1 gives inf, clipped as well
    biased = np.asarray(biased_probability, dtype=np.float64)
    if not ((biased >= 0) & (biased <= 1)).all():
        raise ValueError("biased_probability must lie in [0, 1] (a probability)")
    with np.errstate(divide="ignore"):
        return np.minimum(biased / (1.0 - biased), 1.0)


def fnw_stream(click_time: np.ndarray, conversion_time: np.ndarray, t_now: float = np.inf) -> IngestedRows:
    """The FNW training stream up to ``t_now`` (days, inclusive).

    Each click at its click time with label 0 (kind ``first``); each counted conversion
    (``conversion_time`` not NaN) a duplicate with label 1 at the conversion time (kind
    ``delayed_positive``, also for a zero delay). See :mod:`~hermes_core.delayed_feedback.ingestion`.
    """
    click, conversion = check_times(click_time, conversion_time)
    converted = np.flatnonzero(np.isfinite(conversion))
    n = len(click)
    return assemble(
        [
            (np.arange(n), click, np.zeros(n), FIRST),
            (converted, conversion[converted], np.ones(len(converted)), DELAYED_POSITIVE),
        ],
        t_now,
    )
