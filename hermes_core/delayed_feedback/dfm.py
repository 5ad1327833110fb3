r"""Delayed Feedback Model (DFM): the joint likelihood of conversion and an exponential delay.

Chapelle, "Modeling Delayed Feedback in Display Advertising", KDD 2014.

A click :math:`x` converts eventually with probability :math:`p(x) = \sigma(s(x))`; given that it
converts, its delay is exponential with rate :math:`\lambda(x) = e^{r(x)}` (the model outputs the
logit :math:`s` and the log-rate :math:`r`). At training time a click is either *observed
converted*, with delay :math:`d`, or *not yet converted* after an elapsed time :math:`e` since the
click (a real negative, or a positive whose conversion is still to come). The negative
log-likelihood of one click is

.. math::

    \ell(x) =
    \begin{cases}
        -\log\bigl[p(x)\, \lambda(x)\, e^{-\lambda(x) d}\bigr]
            = -\log\sigma(s) - r + e^{r} d & \text{observed converted, delay } d,\\[4pt]
        -\log\bigl[1 - p(x) + p(x)\, e^{-\lambda(x) e}\bigr]
            = -\operatorname{logaddexp}\bigl(\log\sigma(-s),\ \log\sigma(s) - e^{r} e\bigr)
            & \text{not converted after } e,
    \end{cases}

(the DFM log-likelihood with an exponential delay; Chapelle 2014). The right-hand forms are
the ones computed: :math:`\log\sigma` and ``logaddexp`` keep every term finite for large
:math:`|s|`, large :math:`\lambda e` and :math:`e = 0` (where the second case is exactly 0: a click
just made carries no information).

The attribution window of the world (a conversion later than it never counts) is not part of
the model: the exponential puts mass beyond the window, a misspecification the stage can
measure. Entries of ``delay`` at unconverted clicks and of ``elapsed`` at converted ones are
ignored (``NaN`` allowed) and receive no gradient.
"""

from __future__ import annotations

import torch
from torch.nn import functional

from hermes_core.delayed_feedback.weighted_bce import check_labels


def dfm_negative_log_likelihood(
    logit_p: torch.Tensor,
    log_lambda: torch.Tensor,
    observed: torch.Tensor,
    delay: torch.Tensor,
    elapsed: torch.Tensor,
) -> torch.Tensor:
    """Per-click DFM negative log-likelihood (module docstring), same shape as ``logit_p``.

    ``logit_p``: logit of the eventual conversion probability; ``log_lambda``: log of the delay
    rate (per day); ``observed``: 1 where the conversion has been seen; ``delay``: days from
    click to conversion (used where ``observed`` is 1, must be finite and >= 0 there);
    ``elapsed``: days since the click (used where ``observed`` is 0, finite and >= 0 there).
    All tensors share one shape. Raises ``ValueError`` naming the argument at fault.
    """
    if not logit_p.is_floating_point():
        raise ValueError(f"logit_p must be floating point, got dtype {logit_p.dtype}")
    for name, value in (("log_lambda", log_lambda), ("delay", delay), ("elapsed", elapsed)):
        if value.shape != logit_p.shape:
            raise ValueError(f"{name} must have the shape of logit_p {tuple(logit_p.shape)}, got {tuple(value.shape)}")
    check_labels(observed, logit_p.shape, name="observed")
    converted = observed.to(torch.bool)
    used_delay, used_elapsed = delay[converted], elapsed[~converted]
    if not bool((torch.isfinite(used_delay) & (used_delay >= 0)).all()):
        raise ValueError("delay must be finite and >= 0 wherever observed is 1")
    if not bool((torch.isfinite(used_elapsed) & (used_elapsed >= 0)).all()):
        raise ValueError("elapsed must be finite and >= 0 wherever observed is 0")
    zero = torch.zeros((), dtype=logit_p.dtype, device=logit_p.device)
    # the unused entries become 0 before any arithmetic, so a NaN there cannot leak into a gradient
    clean_delay = torch.where(converted, delay.to(logit_p.dtype), zero)
    clean_elapsed = torch.where(converted, zero, elapsed.to(logit_p.dtype))
    rate = torch.exp(log_lambda)
    log_p = functional.logsigmoid(logit_p)
    converted_nll = -(log_p + log_lambda - rate * clean_delay)
    unconverted_nll = -torch.logaddexp(functional.logsigmoid(-logit_p), log_p - rate * clean_elapsed)
    return torch.where(converted, converted_nll, unconverted_nll)


def dfm_loss(
    logit_p: torch.Tensor,
    log_lambda: torch.Tensor,
    observed: torch.Tensor,
    delay: torch.Tensor,
    elapsed: torch.Tensor,
) -> torch.Tensor:
    """Mean over clicks of :func:`dfm_negative_log_likelihood` (a scalar tensor)."""
    return dfm_negative_log_likelihood(logit_p, log_lambda, observed, delay, elapsed).mean()
