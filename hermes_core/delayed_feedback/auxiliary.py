r"""The auxiliary classifiers of FSIW, ES-DFM and DEFER, fitted once at the end of pre-training.

At the pre-training time :math:`P` a pipeline knows the conversions that happened by :math:`P`;
every auxiliary classifier learns only from that (no label from after :math:`P`) and stays fixed
while the stream runs, as in the reference code of ES-DFM (``ThyrixYang/es_dfm``, ``src/main.py``:
the auxiliary models are pre-trained, then loaded frozen by the streaming run).

* :math:`f_{dp}(x)`, probability of a *delayed positive* (converts after the waiting window
  :math:`c`), and :math:`f_{rn}(x)`, probability that a click unconverted at :math:`c` is a real
  negative (ES-DFM; DEFER reuses :math:`f_{dp}` with :math:`w_1 = c`), labelled by
  :func:`~hermes_core.delayed_feedback.esdfm.esdfm_auxiliary_labels` on the clicks at least
  ``label_age_days`` old at :math:`P`. A conversion later than that age is still unknown at
  :math:`P`, so those clicks count as negatives: the price of using only data available then
  (the share of counted conversions later than the age is printed by the notebook);
* FSIW's :math:`\hat P(S{=}1 \mid Y{=}1, x, E)` and :math:`\hat P(Y{=}0 \mid C{=}0, x, E)` with
  the elapsed time :math:`E` as an extra input, on the data of
  :func:`~hermes_core.delayed_feedback.fsiw.fsiw_auxiliary_data` at the counterfactual deadline
  :math:`P - \delta` (``fsiw_counterfactual_days``).

A classifier whose labels hold a single class is the constant maximum-likelihood fit, exactly 0
or 1 (:class:`BinaryClassifier`; one without any rows is an error naming the parameter to change): with zero delays :math:`f_{dp} = 0` and :math:`f_{rn} = 1`
exactly, so the corrections' weights are exactly 1 (the zero-delay test relies on it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hermes_core.delayed_feedback.esdfm import esdfm_auxiliary_labels
from hermes_core.delayed_feedback.features import ClickFeatures
from hermes_core.delayed_feedback.fsiw import fsiw_auxiliary_data
from hermes_core.delayed_feedback.model import ConversionModel, model_shape, predict_probability
from hermes_core.delayed_feedback.training import AUXILIARY_INPUTS, FitConfig, fit_rows, make_optimizer
from hermes_core.delayed_feedback.training_rows import ClickTimes, TrainingRows

AUXILIARY_NAMES: tuple[str, ...] = ("delayed_positive", "real_negative", "fsiw_observed", "fsiw_real_negative")
MIN_LOGIT_SHARE = 1e-6


@dataclass(frozen=True, eq=False)
class BinaryClassifier:
    """A fitted auxiliary classifier: a model, or a constant probability when trained on one class.

    ``elapsed_scale_days`` is set when the classifier reads the elapsed time (FSIW's).
    """

    model: ConversionModel | None
    constant: float | None
    n_rows: int
    positive_share: float
    elapsed_scale_days: float | None = None

    def predict(self, features: ClickFeatures, elapsed_days: np.ndarray | None = None,
                device: torch.device | str = "cpu") -> np.ndarray:
        """Probabilities ``(n,)`` float64 on the rows of ``features`` (with their elapsed times if it reads them)."""
        if self.elapsed_scale_days is not None:
            if elapsed_days is None:
                raise ValueError("this classifier reads the elapsed time: pass elapsed_days")
            features = features.with_elapsed(elapsed_days, self.elapsed_scale_days)
        if self.model is None:
            return np.full(features.n_rows, float(self.constant))
        return predict_probability(self.model, features, device)


def fit_classifier(features: ClickFeatures, label: np.ndarray, config: FitConfig, seed: int,
                   device: torch.device | str = "cpu", elapsed_days: np.ndarray | None = None,
                   elapsed_scale_days: float | None = None, min_steps: int = 0, name: str = "auxiliary classifier",
                   empty_hint: str = "") -> BinaryClassifier:
    """A classifier of ``label`` (bool ``(n,)``) on ``features``, by cross-entropy (:func:`fit_rows`, method ``oracle``).

    ``config.epochs`` passes, or more when that makes fewer than ``min_steps`` mini-batch steps (a
    small training set, such as FSIW's positives, needs more passes than a large one). A single
    class: the constant fit (0 or 1). No rows: ``ValueError`` naming ``name`` and ``empty_hint``
    (the parameter at fault). The model starts at the labels' base-rate logit; its initialisation
    and batch order come from ``seed``.
    """
    label = np.asarray(label, dtype=bool)
    if len(label) != features.n_rows:
        raise ValueError(f"{len(label)} labels for {features.n_rows} rows")
    reads_elapsed = elapsed_scale_days is not None
    if reads_elapsed:
        if elapsed_days is None:
            raise ValueError("elapsed_scale_days given without elapsed_days")
        features = features.with_elapsed(elapsed_days, elapsed_scale_days)
    n = len(label)
    if n == 0:
        raise ValueError(f"the {name} has no training rows" + (f": {empty_hint}" if empty_hint else ""))
    share = float(label.mean())
    if label.all() or not label.any():
        constant = 1.0 if label.all() else 0.0
        return BinaryClassifier(None, constant, n, share, elapsed_scale_days if reads_elapsed else None)
    clipped = min(max(share, MIN_LOGIT_SHARE), 1 - MIN_LOGIT_SHARE)
    model = ConversionModel(model_shape(features, config.embedding_dim, config.hidden_units), seed,
                            (float(np.log(clipped / (1 - clipped))),)).to(device)
    rows = TrainingRows(np.arange(n, dtype=np.int64), label.astype(np.float32), np.zeros(n), np.full(n, np.nan))
    steps_per_epoch = -(-n // config.batch_size)
    epochs = max(config.epochs, -(-min_steps // steps_per_epoch))
    fit_rows(model, make_optimizer(model, config), "oracle", features, rows, {}, epochs=epochs,
             batch_size=config.batch_size, rng=np.random.default_rng(seed), device=device)
    return BinaryClassifier(model, None, n, share, elapsed_scale_days if reads_elapsed else None)


@dataclass(frozen=True, eq=False)
class AuxiliaryModels:
    """The four auxiliary classifiers fitted at ``fitted_at`` (days)."""

    delayed_positive: BinaryClassifier  # f_dp: converts after the waiting window (ES-DFM, DEFER)
    real_negative: BinaryClassifier  # f_rn: never converts, given unconverted at the waiting window (ES-DFM)
    fsiw_observed: BinaryClassifier  # P(S=1 | Y=1, x, E): a positive is already observed after E
    fsiw_real_negative: BinaryClassifier  # P(Y=0 | C=0, x, E): an unconverted click is a real negative
    fitted_at: float
    waiting_window: float

    def summary(self) -> dict[str, dict[str, float]]:
        """Rows and positive share of each classifier's training data."""
        return {name: {"rows": float(getattr(self, name).n_rows), "positive_share": getattr(self, name).positive_share,
                       "constant": getattr(self, name).constant}
                for name in AUXILIARY_NAMES}


def auxiliary_seed(seed: int, k: int) -> int:
    """Classifier ``k``'s seed (torch and numpy) in the run of ``seed``: distinct across runs, unlike ``seed + k``."""
    return int(np.random.SeedSequence([seed, k]).generate_state(1)[0])


def fit_auxiliary(times: ClickTimes, features: ClickFeatures, at: float, waiting_window: float, label_age_days: float,
                  fsiw_counterfactual_days: float, elapsed_scale_days: float, config: FitConfig, seed: int,
                  device: torch.device | str = "cpu", min_steps: int = 0) -> AuxiliaryModels:
    """Fit the four classifiers on what is known at ``at`` (module docstring); classifier ``k``'s seed
    comes from ``SeedSequence([seed, k])`` (:func:`auxiliary_seed`), each for at least ``min_steps`` steps
    (:func:`fit_classifier`)."""
    known = times.known_conversion_time(at)
    settled = np.flatnonzero(times.click_time <= at - label_age_days)
    labels = esdfm_auxiliary_labels(times.click_time[settled], known[settled], waiting_window)
    observed_negative = settled[labels.observed_negative]
    ages = (f"delayed_feedback.auxiliary.label_age_days ({label_age_days:g}) leaves no click old enough at "
            f"delayed_feedback.protocol.pretrain_days ({at:g}): lower label_age_days")
    delayed_positive = fit_classifier(features.take(settled), labels.delayed_positive, config, auxiliary_seed(seed, 0),
                                      device, min_steps=min_steps, name="ES-DFM/DEFER f_dp classifier",
                                      empty_hint=ages)
    real_negative = fit_classifier(features.take(observed_negative), labels.real_negative[labels.observed_negative],
                                   config, auxiliary_seed(seed, 1), device, min_steps=min_steps,
                                   name="ES-DFM f_rn classifier",
                                   empty_hint=ages if not len(settled) else
                                   "every settled click converted within delayed_feedback.protocol.waiting_window_days "
                                   f"({waiting_window:g}): lower waiting_window_days or label_age_days")
    made = np.flatnonzero(times.click_time < at)
    fsiw = fsiw_auxiliary_data(times.click_time[made], known[made], at - fsiw_counterfactual_days)
    early = bool((times.click_time[made] <= at - fsiw_counterfactual_days).any())
    deadline = (f"delayed_feedback.auxiliary.fsiw_counterfactual_days ({fsiw_counterfactual_days:g}) leaves no click "
                f"made by the counterfactual deadline before delayed_feedback.protocol.pretrain_days ({at:g}): lower "
                "fsiw_counterfactual_days")
    fsiw_observed = fit_classifier(features.take(made[fsiw.positive_click]), fsiw.positive_label, config,
                                   auxiliary_seed(seed, 2), device, fsiw.positive_elapsed, elapsed_scale_days,
                                   min_steps, name="FSIW P(S=1 | Y=1, x, E) classifier",
                                   empty_hint=deadline.replace("no click", "no click with a known conversion") if early
                                   else deadline)
    fsiw_real_negative = fit_classifier(features.take(made[fsiw.negative_click]), fsiw.negative_label, config,
                                        auxiliary_seed(seed, 3), device, fsiw.negative_elapsed, elapsed_scale_days,
                                        min_steps, name="FSIW P(Y=0 | C=0, x, E) classifier", empty_hint=deadline)
    return AuxiliaryModels(delayed_positive, real_negative, fsiw_observed, fsiw_real_negative, float(at),
                           float(waiting_window))


@dataclass(frozen=True, eq=False)
class ClickAuxiliary:
    """Per-click auxiliary predictions that do not depend on the elapsed time, ``(n_clicks,)`` each."""

    p_dp: np.ndarray
    p_rn: np.ndarray
    rate: np.ndarray  # lambda(x) of the pre-trained DFM model, per day (NaN before it is known)


def click_auxiliary(models: AuxiliaryModels, features: ClickFeatures, device: torch.device | str = "cpu") -> ClickAuxiliary:
    """:math:`f_{dp}` and :math:`f_{rn}` for every click (the rate is filled in after DFM's pre-training)."""
    p_dp = models.delayed_positive.predict(features, device=device)
    p_rn = models.real_negative.predict(features, device=device)
    return ClickAuxiliary(p_dp, p_rn, np.full(features.n_rows, np.nan))


def auxiliary_inputs(method: str, rows: TrainingRows, models: AuxiliaryModels, per_click: ClickAuxiliary,
                     features: ClickFeatures, device: torch.device | str = "cpu") -> dict[str, np.ndarray]:
    """The per-row auxiliary arrays ``method``'s loss reads (:data:`~hermes_core.delayed_feedback.training.AUXILIARY_INPUTS`)."""
    wanted = AUXILIARY_INPUTS[method]
    out: dict[str, np.ndarray] = {}
    if "p_dp" in wanted:
        out["p_dp"] = per_click.p_dp[rows.click]
    if "p_rn" in wanted:
        out["p_rn"] = per_click.p_rn[rows.click]
    if "rate" in wanted:
        rate = per_click.rate[rows.click]
        if not np.isfinite(rate).all():
            raise ValueError("the elapsed-weight variant needs the DFM model's delay rates: pre-train dfm first")
        out["rate"] = rate
    if "p_observed_if_positive" in wanted:
        row_features = features.take(rows.click)
        out["p_observed_if_positive"] = models.fsiw_observed.predict(row_features, rows.elapsed, device)
        out["p_real_negative"] = models.fsiw_real_negative.predict(row_features, rows.elapsed, device)
    return out
