r"""Each method's loss on a batch of its rows, and the loop that fits a model on a period's rows.

With :math:`s` the model's logit, :math:`y` the row's label and :math:`\ell_1 = -\log\sigma(s)`,
:math:`\ell_0 = -\log\sigma(-s)`, every loss is a mean over the batch
(:func:`method_loss`; formulas and papers in each method's module):

============== ===================================================================================
method          loss per row
============== ===================================================================================
vanilla         :math:`y\ell_1 + (1-y)\ell_0` on the observed label
oracle          the same on the true label
dfm             DFM's negative log-likelihood with :math:`\lambda = e^{r}`, :math:`r` the model's
                second output (:mod:`~hermes_core.delayed_feedback.dfm`)
fnw             :math:`(1+f)\,y\ell_1 + (1-f)(1+f)(1-y)\ell_0`, :math:`f = \sigma(s)` held constant
fsiw            :math:`y\ell_1 / \hat P(S{=}1 \mid Y{=}1, x, E) + (1-y)\,\hat P(Y{=}0 \mid C{=}0, x, E)\,\ell_0`
esdfm           :math:`(1+f_{dp})\,y\ell_1 + (1+f_{dp}) f_{rn}\,(1-y)\ell_0`
defer           :math:`\frac{f}{f - f_{dp}/2}\,y\ell_1 + \frac{1-f}{1-f+f_{dp}/2}\,(1-y)\ell_0`
elapsed_weight  :math:`y\ell_1 + W(E, x)\,(1-y)\ell_0`, :math:`W = \frac{1-f}{1-f(1-e^{-\lambda(x)E})}`
============== ===================================================================================

*The elapsed-weight variant* is the design's proposal as written: observed negatives are weighted
by :math:`W(E, x)`, the posterior probability that they are real negatives
(:mod:`~hermes_core.delayed_feedback.elapsed_weight`), with :math:`f` the model's own prediction
(held constant, as FNW and DEFER do) and :math:`\lambda(x)` the delay rate of the DFM model
pre-trained on the same period (fixed); positives keep weight 1. With the exact :math:`W` the
negatives' term is unbiased, :math:`P(C{=}0)\,W = P(Y{=}0)`, but the positives' is not: its
population minimiser is

.. math::

    p^\star(x, E) = \frac{p\,S}{p\,S + 1 - p}, \qquad S = P(S = 1 \mid Y = 1, x, E) = 1 - e^{-\lambda E},

which equals :math:`p` only when :math:`S = 1` (FSIW's positive weight :math:`1/S` is what
removes that bias). For a click just made, :math:`S \to 0` and :math:`p^\star \to 0`, like the
vanilla learner's :math:`p S`. With the model's own :math:`f` inside :math:`W` (as here) the fit is
the fixed point of :math:`f = pS / (pS + (1 - pS)\,W(f))`, which lies between :math:`pS` and
:math:`p^\star` (``tests/delayed_feedback/test_training.py`` checks both on exact shares).

The loop (:func:`fit_rows`) runs ``epochs`` passes over the rows in an order drawn from the
``numpy`` generator it is given, in mini-batches, with the optimizer it is given (one Adam per
method, kept across pre-training and every window: continuous training). Auxiliary quantities
are per-row arrays computed before the loop (they are constants for the gradient).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from hermes_core.delayed_feedback.defer import defer_loss
from hermes_core.delayed_feedback.dfm import dfm_loss
from hermes_core.delayed_feedback.elapsed_weight import elapsed_negative_weight
from hermes_core.delayed_feedback.esdfm import esdfm_loss
from hermes_core.delayed_feedback.features import ClickFeatures
from hermes_core.delayed_feedback.fnw import fnw_loss
from hermes_core.delayed_feedback.fsiw import fsiw_loss
from hermes_core.delayed_feedback.model import ConversionModel
from hermes_core.delayed_feedback.training_rows import METHODS, TrainingRows
from hermes_core.delayed_feedback.weighted_bce import importance_weighted_bce

AUXILIARY_INPUTS: dict[str, tuple[str, ...]] = {
    "vanilla": (), "oracle": (), "dfm": (), "fnw": (),
    "fsiw": ("p_observed_if_positive", "p_real_negative"),
    "esdfm": ("p_dp", "p_rn"),
    "defer": ("p_dp",),
    "elapsed_weight": ("rate",),
}
"""The per-row auxiliary arrays each method's loss reads."""


def n_outputs(method: str) -> int:
    """Outputs of the method's model: 2 for DFM (logit and log delay rate), else 1."""
    return 2 if method == "dfm" else 1


def elapsed_weights(probability: torch.Tensor, rate: torch.Tensor, elapsed: torch.Tensor,
                    label: torch.Tensor) -> torch.Tensor:
    """Per-row weight of the elapsed-weight variant: 1 on a positive, :math:`W(E, x)` on a negative (detached)."""
    weight = elapsed_negative_weight(probability.detach().double().cpu().numpy(), rate.double().cpu().numpy(),
                                     elapsed.double().cpu().numpy())
    weight_tensor = torch.as_tensor(weight, dtype=probability.dtype, device=probability.device)
    return torch.where(label.to(torch.bool), torch.ones_like(weight_tensor), weight_tensor)


def method_loss(method: str, outputs: torch.Tensor, label: torch.Tensor, elapsed: torch.Tensor, delay: torch.Tensor,
                auxiliary: dict[str, torch.Tensor], max_fsiw_weight: float = float("inf")) -> torch.Tensor:
    """Mean loss of ``method`` on one batch (module docstring).

    ``outputs`` ``(batch, n_outputs(method))``; ``label``, ``elapsed`` (days), ``delay`` (days, NaN
    where not an observed positive) ``(batch,)``; ``auxiliary`` the arrays of
    :data:`AUXILIARY_INPUTS`, each ``(batch,)``.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    missing = [name for name in AUXILIARY_INPUTS[method] if name not in auxiliary]
    if missing:
        raise ValueError(f"method {method!r} needs the auxiliary inputs {', '.join(missing)}")
    logits = outputs[:, 0]
    if method in ("vanilla", "oracle"):
        return importance_weighted_bce(logits, label, torch.ones_like(logits)).mean()
    if method == "dfm":
        return dfm_loss(logits, outputs[:, 1], label, delay, elapsed)
    if method == "fnw":
        return fnw_loss(logits, label)
    if method == "fsiw":
        return fsiw_loss(logits, label, auxiliary["p_observed_if_positive"], auxiliary["p_real_negative"],
                         max_weight=max_fsiw_weight)
    if method == "esdfm":
        return esdfm_loss(logits, label, auxiliary["p_dp"], auxiliary["p_rn"])
    if method == "defer":
        return defer_loss(logits, label, auxiliary["p_dp"])
    weight = elapsed_weights(torch.sigmoid(logits.detach()), auxiliary["rate"], elapsed, label)
    return importance_weighted_bce(logits, label, weight).mean()


@dataclass(frozen=True)
class FitConfig:
    """Architecture and optimisation of one model (the main model's or an auxiliary classifier's)."""

    embedding_dim: int
    hidden_units: int
    learning_rate: float
    l2: float  # Adam's weight_decay (an L2 penalty added to the gradient)
    batch_size: int
    epochs: int


def make_optimizer(model: ConversionModel, config: FitConfig) -> torch.optim.Optimizer:
    """Adam with the config's step size and L2 penalty."""
    return torch.optim.Adam(model.parameters(), lr=config.learning_rate, weight_decay=config.l2)


@dataclass(frozen=True)
class FitLog:
    """What one call of :func:`fit_rows` did."""

    n_rows: int
    n_steps: int
    mean_loss: float  # mean batch loss of the last epoch (NaN without rows)
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.n_rows / self.seconds if self.seconds > 0 else float("nan")


def fit_rows(model: ConversionModel, optimizer: torch.optim.Optimizer, method: str, features: ClickFeatures,
             rows: TrainingRows, auxiliary: dict[str, np.ndarray], *, epochs: int, batch_size: int,
             rng: np.random.Generator, device: torch.device | str = "cpu",
             max_fsiw_weight: float = float("inf")) -> FitLog:
    """Fit ``model`` on ``rows`` (``features`` holds one row per click, indexed by ``rows.click``).

    ``epochs`` passes, each in the order ``rng.permutation``, batches of ``batch_size``. Returns a
    :class:`FitLog` (rows counts every pass). No rows: nothing happens.
    """
    if epochs < 0 or batch_size < 1:
        raise ValueError(f"epochs must be >= 0 and batch_size >= 1, got {epochs} and {batch_size}")
    for name, values in auxiliary.items():
        if len(values) != rows.n_rows:
            raise ValueError(f"auxiliary input {name!r} has {len(values)} entries for {rows.n_rows} rows")
    started = time.perf_counter()
    if rows.n_rows == 0 or epochs == 0:
        return FitLog(0, 0, float("nan"), time.perf_counter() - started)
    row_features = features.take(rows.click)
    categorical = torch.as_tensor(row_features.categorical, device=device)
    numeric = torch.as_tensor(row_features.numeric, device=device)
    label = torch.as_tensor(rows.label, dtype=torch.float32, device=device)
    elapsed = torch.as_tensor(rows.elapsed, dtype=torch.float32, device=device)
    delay = torch.as_tensor(rows.delay, dtype=torch.float32, device=device)
    aux = {name: torch.as_tensor(np.asarray(values), dtype=torch.float32, device=device)
           for name, values in auxiliary.items()}
    model.train()
    n_steps, epoch_loss, epoch_steps = 0, torch.zeros((), device=device), 0
    for _ in range(epochs):
        epoch_loss, epoch_steps = torch.zeros((), device=device), 0
        order = torch.as_tensor(rng.permutation(rows.n_rows), device=device)
        for start in range(0, rows.n_rows, batch_size):
            batch = order[start:start + batch_size]
            outputs = model(categorical[batch], numeric[batch])
            loss = method_loss(method, outputs, label[batch], elapsed[batch], delay[batch],
                               {name: values[batch] for name, values in aux.items()}, max_fsiw_weight)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            epoch_loss = epoch_loss + loss.detach()  # summed on the device: no synchronisation per step
            epoch_steps += 1
            n_steps += 1
    return FitLog(rows.n_rows * epochs, n_steps, float(epoch_loss) / epoch_steps, time.perf_counter() - started)
