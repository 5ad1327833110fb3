r"""DElayed FEedback modeling with Real negatives (DEFER).

Gu, Sheng, Fan, Zhou & Zhu, "Real Negatives Matter: Continuous Training with Real Negatives for
Delayed Feedback Modeling", KDD 2021 (arXiv:2104.14121).

*Stream* (:func:`defer_stream`). Each click waits a window :math:`w_1` and is ingested at click
time + :math:`w_1` with the label observed then. Then every click is ingested a second time with
its *true* label: a positive when its conversion is known (a delayed positive at its
conversion; an immediate positive, converted within :math:`w_1`, together with its first copy at
click time + :math:`w_1`), a real negative at the end of the attribution window :math:`w_a`, once
it is certain that no conversion will count. The paper's point is that duplicating real negatives
as well as positives keeps the feature distribution: every click appears exactly twice, so
:math:`q(x) = p(x)` (FNW and ES-DFM duplicate only positives, so :math:`q(x) \ne p(x)`). The
timing of an immediate positive's copy is this module's choice; the distribution :math:`q`, and so
the weights, do not depend on it.

*Importance weights* (derived here). Let :math:`p = p(y=1 \mid x)` and :math:`f_{dp}(x) = P(\text{converts
after } w_1 \mid x)`, so that :math:`p - f_{dp}` is the probability of an immediate positive. Per
click the stream holds 2 rows; the positive ones are 2 for an immediate positive (both copies),
1 for a delayed positive (the duplicate) and 0 for a real negative:

.. math::

    q(y = 1 \mid x) = \frac{2 (p - f_{dp}) + f_{dp}}{2} = p(y = 1 \mid x) - \tfrac{1}{2} f_{dp}(x),
    \qquad
    q(y = 0 \mid x) = p(y = 0 \mid x) + \tfrac{1}{2} f_{dp}(x),

and since :math:`q(x) = p(x)` the importance weights are the ratios of the conditionals,

.. math::

    w^+ = \frac{p(y=1 \mid x)}{p(y=1 \mid x) - \frac{1}{2} f_{dp}(x)}, \qquad
    w^- = \frac{p(y=0 \mid x)}{p(y=0 \mid x) + \frac{1}{2} f_{dp}(x)},

with :math:`p(y \mid x)` replaced by the model's own prediction :math:`f_\theta(x)` and
:math:`f_{dp}` by an auxiliary classifier (trained like ES-DFM's, with window :math:`w_1`:
:func:`~hermes_core.delayed_feedback.esdfm.esdfm_auxiliary_labels`), both constants for the
gradient. The same expressions, ``2 * py1 / (2 * py1 - dp_prob)`` and ``2 * py0 / (2 * py0 +
dp_prob)``, appear in the authors' code (``gusuperstar/defer``, ``src/loss.py``,
``delay_tn_importance_weight_loss_full``, commented out as "version1" beside other variants;
that code clips the positive weight to [1, 3]). A delayed positive is a positive, so
:math:`f_{dp} \le p`; the estimate of :math:`f_{dp}` is clipped to :math:`[0, f_\theta]`, which
keeps :math:`w^+ \in [1, 2]` and :math:`w^- \in [\tfrac{1 - p}{1 - p/2}, 1]`.

With zero delays (every conversion within :math:`w_1`) :math:`f_{dp} = 0`: each click is ingested
twice with its true label and both weights are 1.
"""

from __future__ import annotations

import numpy as np
import torch

from hermes_core.delayed_feedback.ingestion import (
    DELAYED_POSITIVE,
    FIRST,
    IMMEDIATE_POSITIVE,
    REAL_NEGATIVE,
    IngestedRows,
    assemble,
    check_times,
    check_window,
)
from hermes_core.delayed_feedback.weighted_bce import check_labels, check_probability, importance_weighted_bce


def defer_weights(probability: torch.Tensor, p_dp: torch.Tensor, observed_label: torch.Tensor) -> torch.Tensor:
    """Per-row DEFER weight (module docstring): :math:`p / (p - f_{dp}/2)` on a positive row,
    :math:`(1 - p) / (1 - p + f_{dp}/2)` on a negative one.

    ``probability``: the model's prediction :math:`f_\\theta(x)`; ``p_dp``: :math:`f_{dp}(x)`,
    clipped to ``[0, probability]``; ``observed_label`` (0/1); one shape for all. A positive row
    with ``probability`` 0 gets weight 1 (the ratio is 0/0 there). Returned detached (constants for
    the gradient). Raises ``ValueError`` on bad inputs.
    """
    check_probability("probability", probability, probability.shape)
    check_probability("p_dp", p_dp, probability.shape)
    check_labels(observed_label, probability.shape, name="observed_label")
    with torch.no_grad():
        delayed = torch.minimum(p_dp, probability)
        # the denominator is >= probability / 2, so it vanishes only where probability does
        positive_weight = torch.where(probability > 0, probability / (probability - 0.5 * delayed),
                                      torch.ones_like(probability))
        negative_weight = (1.0 - probability) / (1.0 - probability + 0.5 * delayed)  # denominator >= 1/2
    return torch.where(observed_label.to(torch.bool), positive_weight, negative_weight).detach()


def defer_loss(logits: torch.Tensor, observed_label: torch.Tensor, p_dp: torch.Tensor) -> torch.Tensor:
    """Mean DEFER loss over the rows of the DEFER stream; weights use ``sigmoid(logits)`` detached."""
    weight = defer_weights(torch.sigmoid(logits.detach()), p_dp, observed_label)
    return importance_weighted_bce(logits, observed_label, weight).mean()


def defer_stream(
    click_time: np.ndarray,
    conversion_time: np.ndarray,
    window: float,
    attribution_window: float,
    t_now: float = np.inf,
) -> IngestedRows:
    """The DEFER training stream up to ``t_now`` (days, inclusive); module docstring.

    ``window`` is the waiting window :math:`w_1`, ``attribution_window`` :math:`w_a \\ge w_1`;
    ``conversion_time`` holds counted conversions only (``NaN`` elsewhere), so every finite
    delay must be at most ``attribution_window``. Rows per click:

    * ``first``: at click + ``window``, label 1 iff converted within ``window``;
    * ``immediate_positive``: label 1, at click + ``window``, if converted within ``window``;
    * ``delayed_positive``: label 1, at the conversion, if converted after ``window``;
    * ``real_negative``: label 0, at click + ``attribution_window``, if never converted.
    """
    click, conversion = check_times(click_time, conversion_time)
    window = check_window("window", window)
    attribution_window = check_window("attribution_window", attribution_window)
    if window > attribution_window:
        raise ValueError(f"window ({window}) must not exceed attribution_window ({attribution_window})")
    converted = np.isfinite(conversion)
    late = np.flatnonzero(converted & (conversion - click > attribution_window))
    if len(late):
        raise ValueError(f"conversion_time of click {int(late[0])} is later than the attribution window: "
                         "pass counted conversions only (NaN for the others)")
    within = converted & (conversion - click <= window)
    immediate = np.flatnonzero(within)
    delayed = np.flatnonzero(converted & ~within)
    never = np.flatnonzero(~converted)
    n = len(click)
    return assemble(
        [
            (np.arange(n), click + window, within, FIRST),
            (immediate, click[immediate] + window, np.ones(len(immediate)), IMMEDIATE_POSITIVE),
            (delayed, conversion[delayed], np.ones(len(delayed)), DELAYED_POSITIVE),
            (never, click[never] + attribution_window, np.zeros(len(never)), REAL_NEGATIVE),
        ],
        t_now,
    )
