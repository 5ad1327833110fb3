r"""Importance-weighted binary cross-entropy: the loss that every weighting method of delayed feedback uses.

Training rows come from an observed distribution :math:`q(x, y)` (fake negatives, duplicated
rows) while the model should fit the true :math:`p(x, y)`. Importance sampling rewrites the true
risk as a weighted risk on the observed rows:

.. math::

    \mathbb{E}_{p}[\ell(f(x), y)] = \mathbb{E}_{q}\Bigl[\frac{p(x, y)}{q(x, y)}\, \ell(f(x), y)\Bigr],
    \qquad
    \mathcal{L} = -\frac{1}{n} \sum_{i=1}^{n}
        \bigl[y_i\, w^+_i \log \sigma(s_i) + (1 - y_i)\, w^-_i \log \sigma(-s_i)\bigr],

with :math:`s_i` the logit of row :math:`i`, :math:`y_i` its observed label and :math:`w^+_i`,
:math:`w^-_i` the weights of a positive and of a negative row. Each method (FNW, FSIW, ES-DFM,
DEFER) differs only in its weights; like the papers, the weights are treated as constants
(stop-gradient) even when they come from the model's own prediction (as in the authors' code of
ES-DFM, ``ThyrixYang/es_dfm``, ``src/loss.py``, for FNW, FSIW and ES-DFM). The helpers here also
validate the inputs of those losses.
"""

from __future__ import annotations

import torch
from torch.nn import functional


def check_rows(logits: torch.Tensor, labels: torch.Tensor, **probabilities: torch.Tensor) -> torch.Tensor:
    """Validate a batch of rows and return the labels as a tensor of the logits' dtype.

    ``logits`` floating point of any shape; ``labels`` of the same shape with values in {0, 1}
    (bool, int or float); each keyword argument a tensor of the same shape with values in
    [0, 1] (a probability). Raises ``ValueError`` naming the argument at fault.
    """
    if not logits.is_floating_point():
        raise ValueError(f"logits must be floating point, got dtype {logits.dtype}")
    check_labels(labels, logits.shape)
    for name, value in probabilities.items():
        check_probability(name, value, logits.shape)
    return labels.to(logits.dtype)


def check_labels(labels: torch.Tensor, shape: torch.Size, name: str = "labels") -> None:
    """Raise ``ValueError`` unless ``labels`` has ``shape`` and only the values 0 and 1."""
    if labels.shape != shape:
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(labels.shape)}")
    as_float = labels.to(torch.float64)
    if not bool(((as_float == 0) | (as_float == 1)).all()):
        raise ValueError(f"{name} must hold only 0 and 1 (observed labels)")


def check_probability(name: str, value: torch.Tensor, shape: torch.Size) -> None:
    """Raise ``ValueError`` unless ``value`` has ``shape`` and lies in [0, 1] (no NaN)."""
    if value.shape != shape:
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(value.shape)}")
    if not bool(((value >= 0) & (value <= 1)).all()):
        raise ValueError(f"{name} must lie in [0, 1] (a probability), got values outside or NaN")


def importance_weighted_bce(logits: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Per-row loss :math:`-w\\,[y \\log\\sigma(s) + (1 - y) \\log\\sigma(-s)]` (module docstring).

    ``weight`` is each row's importance weight, :math:`w^+` on a positive row and :math:`w^-` on a
    negative one (each method's ``*_weights`` function returns it); it is detached (a constant
    for the gradient). ``logits``, ``labels`` (0/1) and ``weight`` share one shape. Returns a
    tensor of that shape; the methods' losses take its mean. Raises ``ValueError`` on bad inputs.
    """
    targets = check_rows(logits, labels)
    if weight.shape != logits.shape:
        raise ValueError(f"weight must have shape {tuple(logits.shape)}, got {tuple(weight.shape)}")
    if not bool((torch.isfinite(weight) & (weight >= 0)).all()):
        raise ValueError("weight must be finite and >= 0")
    # BCE with logits is the stable form of -[y log sigma(s) + (1 - y) log sigma(-s)]
    per_row = functional.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    return weight.detach().to(logits.dtype) * per_row
