"""Calibration of a reward model's cross-fitted predictions on the logged rounds.

A reward model :math:`\\hat q(x, a, k)` enters DM and the DR family through its values on the
actions the target policy takes; the logs can only check it where they have an observed reward,
on the logged triples :math:`(x_i, a_i, k_i)`. With the cross-fitted predictions
:math:`p_i = \\hat q(x_i, a_i, k_i)` (:func:`logged_predictions`; each from a model that did not
see round :math:`i`) and the observed rewards :math:`r_i \\in [0, 1]`:

- reliability table (:func:`reliability_table`): the rounds sorted by :math:`p_i` and cut into
  ``n_bins`` bins of equal count (sizes differing by at most one), each with its mean prediction,
  observed reward rate and count;
- expected calibration error over those bins, :math:`\\mathrm{ECE} = \\sum_b \\frac{n_b}{n}
  |\\bar r_b - \\bar p_b|` (Naeini, Cooper and Hauskrecht, 2015, "Obtaining Well Calibrated
  Probabilities Using Bayesian Binning", AAAI, with equal-frequency bins; Guo et al., 2017,
  "On Calibration of Modern Neural Networks", ICML, Eq. 3);
- Brier score :math:`\\frac1n \\sum_i (p_i - r_i)^2` (Brier, 1950, Monthly Weather Review 78(1));
- log-loss :math:`-\\frac1n \\sum_i [r_i \\log p_i + (1 - r_i) \\log(1 - p_i)]`, with :math:`p_i`
  clipped to :math:`[\\epsilon, 1 - \\epsilon]`, :math:`\\epsilon = 10^{-15}`, so that a confident
  wrong prediction costs :math:`-\\log \\epsilon \\approx 34.5` instead of infinity;
- the log-loss of the constant base rate :math:`\\bar r = \\frac1n \\sum_i r_i`,
  :math:`-[\\bar r \\log \\bar r + (1 - \\bar r) \\log (1 - \\bar r)]` (0 when :math:`\\bar r` is 0
  or 1): the score of a model that knows nothing but the click rate, which a useful model beats.

With rare clicks (about 4 in 1,000 on the Open Bandit sample) the bins at low predictions hold
few or no clicks, so a bin's observed rate is noisy; the table shows the counts for that reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LOG_LOSS_EPSILON = 1e-15
"""Predictions are clipped to ``[LOG_LOSS_EPSILON, 1 - LOG_LOSS_EPSILON]`` inside the log-loss."""


def logged_predictions(estimated_rewards: np.ndarray, action: np.ndarray, position: np.ndarray) -> np.ndarray:
    """:math:`p_i = \\hat q(x_i, a_i, k_i)` (n,) from ``estimated_rewards`` (n, n_actions, len_list)
    at each round's logged ``action`` and ``position`` (n,)."""
    estimated = np.asarray(estimated_rewards, dtype=np.float64)
    action = np.asarray(action, dtype=np.int64)
    position = np.asarray(position, dtype=np.int64)
    if estimated.ndim != 3:
        raise ValueError(f"estimated_rewards must be (n_rounds, n_actions, len_list), got shape {estimated.shape}")
    n = estimated.shape[0]
    for name, values, upper in (("action", action, estimated.shape[1]), ("position", position, estimated.shape[2])):
        if values.shape != (n,):
            raise ValueError(f"{name} must have shape ({n},), got {values.shape}")
        bad = (values < 0) | (values >= upper)
        if bad.any():
            row = int(np.argmax(bad))
            raise ValueError(f"{name}, row {row}: {values[row]} is outside [0, {upper})")
    return estimated[np.arange(n), action, position]


def _checked(predicted: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    predicted = np.asarray(predicted, dtype=np.float64)
    observed = np.asarray(observed, dtype=np.float64)
    if predicted.ndim != 1 or predicted.shape != observed.shape or predicted.size == 0:
        raise ValueError(f"predicted and observed must be non-empty (n,) arrays, got {predicted.shape} and "
                         f"{observed.shape}")  # fmt: skip
    for name, values in (("predicted", predicted), ("observed", observed)):
        bad = ~np.isfinite(values) | (values < 0) | (values > 1)
        if bad.any():
            row = int(np.argmax(bad))
            raise ValueError(f"{name}, row {row}: {float(values[row])!r} is not a probability in [0, 1]")
    return predicted, observed


@dataclass(frozen=True)
class ReliabilityBin:
    """One equal-count bin of :func:`reliability_table`."""

    count: int
    mean_predicted: float
    observed_rate: float
    lowest_predicted: float
    highest_predicted: float


def reliability_table(predicted: np.ndarray, observed: np.ndarray, n_bins: int = 10) -> tuple[ReliabilityBin, ...]:
    """Equal-count reliability bins of predictions (n,) against observed rewards (n,).

    The rounds are ordered by prediction (stable sort, so ties keep their row order) and cut into
    ``min(n_bins, n)`` consecutive bins whose sizes differ by at most one (the first
    ``n mod n_bins`` bins hold one more, as ``numpy.array_split``); equal predictions may fall
    on both sides of a cut.
    """
    predicted, observed = _checked(predicted, observed)
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    order = np.argsort(predicted, kind="stable")
    bins = []
    for rows in np.array_split(order, min(n_bins, predicted.size)):
        p, r = predicted[rows], observed[rows]
        bins.append(ReliabilityBin(int(rows.size), float(p.mean()), float(r.mean()), float(p.min()), float(p.max())))
    return tuple(bins)


def expected_calibration_error(bins: tuple[ReliabilityBin, ...]) -> float:
    """:math:`\\sum_b \\frac{n_b}{n} |\\bar r_b - \\bar p_b|` over the bins of :func:`reliability_table`."""
    total = sum(b.count for b in bins)
    return float(sum(b.count * abs(b.observed_rate - b.mean_predicted) for b in bins) / total)


def brier_score(predicted: np.ndarray, observed: np.ndarray) -> float:
    """:math:`\\frac1n \\sum_i (p_i - r_i)^2`."""
    predicted, observed = _checked(predicted, observed)
    return float(np.mean((predicted - observed) ** 2))


def log_loss(predicted: np.ndarray, observed: np.ndarray) -> float:
    """:math:`-\\frac1n \\sum_i [r_i \\log p_i + (1 - r_i) \\log(1 - p_i)]`, :math:`p_i` clipped to
    :math:`[\\epsilon, 1 - \\epsilon]` (:data:`LOG_LOSS_EPSILON`)."""
    predicted, observed = _checked(predicted, observed)
    p = np.clip(predicted, LOG_LOSS_EPSILON, 1.0 - LOG_LOSS_EPSILON)
    return float(-np.mean(observed * np.log(p) + (1.0 - observed) * np.log1p(-p)))


def base_rate_log_loss(observed: np.ndarray) -> float:
    """Log-loss of predicting the mean reward :math:`\\bar r` for every round:
    :math:`-[\\bar r \\log \\bar r + (1 - \\bar r) \\log(1 - \\bar r)]`, 0 when :math:`\\bar r \\in \\{0, 1\\}`."""
    _, observed = _checked(np.zeros_like(np.asarray(observed, dtype=np.float64)), observed)
    rate = float(observed.mean())
    if rate in (0.0, 1.0):
        return 0.0
    return -(rate * math.log(rate) + (1.0 - rate) * math.log1p(-rate))


@dataclass(frozen=True)
class CalibrationReport:
    """Calibration of predictions against observed rewards (see the module docstring)."""

    bins: tuple[ReliabilityBin, ...]
    n_rounds: int
    expected_calibration_error: float
    brier: float
    log_loss: float
    base_rate: float  # mean observed reward
    base_rate_log_loss: float
    mean_predicted: float

    @property
    def log_loss_skill(self) -> float:
        """:math:`1 - \\mathrm{LL} / \\mathrm{LL}_{\\bar r}`: the share of the base rate's log-loss the
        model removes (negative when it does worse than the constant; NaN when the base rate's is 0)."""
        return 1.0 - self.log_loss / self.base_rate_log_loss if self.base_rate_log_loss > 0 else math.nan

    def as_dict(self) -> dict[str, float | int]:
        """The scalars, for the metrics and diagnostics."""
        return {
            "n_rounds": self.n_rounds, "n_bins": len(self.bins),
            "expected_calibration_error": self.expected_calibration_error, "brier": self.brier,
            "log_loss": self.log_loss, "base_rate": self.base_rate, "base_rate_log_loss": self.base_rate_log_loss,
            "log_loss_skill": self.log_loss_skill, "mean_predicted": self.mean_predicted,
        }  # fmt: skip


def calibration_report(predicted: np.ndarray, observed: np.ndarray, n_bins: int = 10) -> CalibrationReport:
    """:class:`CalibrationReport` of predictions (n,) against observed rewards (n,), both in [0, 1]."""
    predicted, observed = _checked(predicted, observed)
    bins = reliability_table(predicted, observed, n_bins)
    return CalibrationReport(
        bins=bins, n_rounds=int(predicted.size), expected_calibration_error=expected_calibration_error(bins),
        brier=brier_score(predicted, observed), log_loss=log_loss(predicted, observed),
        base_rate=float(observed.mean()), base_rate_log_loss=base_rate_log_loss(observed),
        mean_predicted=float(predicted.mean()),
    )  # fmt: skip


def reward_model_calibration(estimated_rewards: np.ndarray, action: np.ndarray, position: np.ndarray,
                             reward: np.ndarray, n_bins: int = 10) -> CalibrationReport:  # fmt: skip
    """:func:`calibration_report` of cross-fitted ``estimated_rewards`` (n, n_actions, len_list)
    at the logged (round, action, position) against the observed ``reward`` (n,)."""
    return calibration_report(logged_predictions(estimated_rewards, action, position), reward, n_bins)
