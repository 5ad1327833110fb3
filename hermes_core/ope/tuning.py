"""Data-driven choice of an estimator's hyperparameter by SLOPE (Lepski's principle), on a fixed
grid (:class:`SlopeTuned`) or on one built from each input's importance weights
(:class:`WeightGridSlopeTuned`, :func:`weight_quantile_grid`)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np
from scipy import stats

from hermes_core.ope.base import OffPolicyEstimator, RoundTerms
from hermes_core.ope.inputs import OpeInputs

SLOPE_CONSTANT = math.sqrt(6.0) - 1.0
"""The constant :math:`C = \\sqrt{6} - 1` of SLOPE's interval test (Su et al., 2020b, Alg. 1)."""


def slope_select(terms: Sequence[RoundTerms], delta: float = 0.05) -> int:
    """Index of the candidate that SLOPE selects.

    Each candidate :math:`j` gets an estimate :math:`\\hat\\theta_j` and a confidence width
    :math:`c_j = t_{n-1, 1-\\delta}\\, s_j / \\sqrt{n}` (Student-t, from the round rewards).
    Candidates are visited from the widest to the narrowest width (least to most biased);
    candidate :math:`i` is accepted while
    :math:`|\\hat\\theta_j - \\hat\\theta_i| \\le c_i + C c_j` for every accepted :math:`j`, and the
    last accepted one is returned.

    References
    ----------
    Yi Su, Pavithra Srinath and Akshay Krishnamurthy. "Adaptive Estimator Selection for
    Off-Policy Evaluation." ICML 2020, Alg. 1; the Student-t widths and the sort by width follow
    George Tucker and Jonathan Lee, "Improved Estimator Selection for Off-Policy Evaluation",
    2021, as in OBP's ``BaseOffPolicyEstimatorTuning._tune_hyperparam_with_slope``.
    """
    if not terms:
        raise ValueError("slope_select needs at least one candidate")
    if not 0 < delta < 1:
        raise ValueError(f"delta must lie in (0, 1), got {delta!r}")
    n = terms[0].n_rounds
    t_quantile = float(stats.t(max(n - 1, 1)).ppf(1.0 - delta))
    estimates, widths = [], []
    for candidate in terms:
        rewards = candidate.round_rewards()
        estimates.append(float(rewards.mean()))
        widths.append(t_quantile * float(np.sqrt(np.var(rewards) / max(n - 1, 1))))
    order = np.argsort(widths, kind="stable")[::-1]
    accepted: list[int] = []
    for index in order:
        consistent = all(
            abs(estimates[j] - estimates[index]) <= widths[index] + SLOPE_CONSTANT * widths[j]
            for j in accepted
        )
        if not consistent:
            break
        accepted.append(int(index))
    return accepted[-1]


@dataclass(frozen=True)
class SlopeTuned(OffPolicyEstimator):
    """An estimator family whose hyperparameter SLOPE picks on each input (see
    :func:`slope_select`); e.g. Switch-DR over several :math:`\\tau`.

    The choice is made once on the full sample; intervals built from :meth:`round_terms` keep
    that choice fixed across bootstrap resamples.
    """

    candidates: tuple[OffPolicyEstimator, ...] = field(default_factory=tuple)
    delta: float = 0.05
    label: str = "slope"
    name: ClassVar[str] = "slope"

    def __post_init__(self) -> None:
        if not self.candidates:
            raise ValueError("SlopeTuned needs at least one candidate estimator")

    @property
    def uses_reward_model(self) -> bool:  # type: ignore[override]
        return any(candidate.uses_reward_model for candidate in self.candidates)

    def candidates_for(self, inputs: OpeInputs) -> tuple[OffPolicyEstimator, ...]:
        """The candidates SLOPE chooses among on these inputs (here: always ``candidates``)."""
        return self.candidates

    def choose(self, inputs: OpeInputs) -> tuple[OffPolicyEstimator, RoundTerms]:
        """The candidate SLOPE selects on these inputs and its round terms (computed once)."""
        candidates = self.candidates_for(inputs)
        terms = [candidate.round_terms(inputs) for candidate in candidates]
        index = slope_select(terms, self.delta)
        return candidates[index], terms[index]

    def select(self, inputs: OpeInputs) -> OffPolicyEstimator:
        """The candidate SLOPE selects on these inputs."""
        return self.choose(inputs)[0]

    def chosen_value(self, inputs: OpeInputs) -> float:
        """The hyperparameter value (:math:`\\tau`, :math:`\\lambda`) of the candidate SLOPE
        selects on these inputs (:func:`hyperparameter_value`)."""
        return hyperparameter_value(self.select(inputs))

    def round_terms(self, inputs: OpeInputs) -> RoundTerms:
        return self.choose(inputs)[1]


def hyperparameter_value(estimator: OffPolicyEstimator) -> float:
    """The value of an estimator's single hyperparameter (its one dataclass field), e.g. ``tau``
    of Switch-DR; :class:`ValueError` for an estimator with none or several."""
    values = [getattr(estimator, f.name) for f in dataclasses.fields(estimator)]
    if len(values) != 1:
        raise ValueError(f"{type(estimator).__name__} has {len(values)} hyperparameters, not one")
    return float(values[0])


GridScale = Literal["weight", "squared", "inverse"]


def weight_quantile_grid(
    weights: np.ndarray, quantiles: Sequence[float], small_values: Sequence[float]
) -> tuple[float, ...]:
    """Candidate thresholds on the importance weight, built from one input's weights.

    :math:`\\{Q_p(w^{+}) : p \\in \\text{quantiles}\\} \\cup \\text{small\\_values} \\cup \\{\\infty\\}`,
    sorted and deduplicated, where :math:`Q_p(w^{+})` is the :math:`p`-quantile (linear
    interpolation, ``numpy.quantile``'s default) of the *positive* weights: a zero weight carries no
    correction whatever the threshold, so it would only drag the quantiles to 0. The quantiles put
    thresholds where the weights are, so that at least one of them switches (clips) the largest
    weights whatever their scale; the small values reach below the data's median; :math:`\\infty`
    keeps the untouched estimator (DR, IPW) among the candidates.
    """
    weights = np.asarray(weights, dtype=np.float64)
    positive = weights[weights > 0]
    values = [*map(float, small_values), math.inf]
    if positive.size:
        values.extend(float(v) for v in np.quantile(positive, np.asarray(quantiles, dtype=np.float64)))
    return tuple(sorted(set(values)))


def _to_hyperparameter(threshold: float, scale: GridScale) -> float:
    """A weight threshold :math:`\\tau` as the hyperparameter of a family (see
    :class:`WeightGridSlopeTuned`)."""
    if scale == "weight":
        return threshold
    if scale == "squared":
        return threshold * threshold
    return 0.0 if math.isinf(threshold) else min(1.0, 1.0 / threshold)


@dataclass(frozen=True)
class WeightGridSlopeTuned(SlopeTuned):
    """:class:`SlopeTuned` whose grid is built on each input from its importance weights.

    The weight thresholds :math:`\\tau` of :func:`weight_quantile_grid` (the weights' quantiles at
    ``quantiles``, ``small_values`` and :math:`\\infty`) become the hyperparameter ``parameter`` of
    ``family`` by ``scale``:

    * ``"weight"``: :math:`\\tau` itself (Switch-DR's :math:`\\tau`, the clipping :math:`\\lambda`
      of IPW and DR);
    * ``"squared"``: :math:`\\tau^2` (DRos, whose :math:`\\hat w_\\lambda = w / (1 + w^2/\\lambda)`
      compares :math:`\\lambda` with :math:`w^2`: weights below :math:`\\tau` keep at least half
      their size, larger ones are shrunk towards 0);
    * ``"inverse"``: :math:`\\min\\{1, 1/\\tau\\}` (sub-Gaussian IPW, whose shrunk weight never exceeds
      :math:`1/\\lambda`; :math:`\\tau = \\infty` gives :math:`\\lambda = 0`, plain IPW), a grid in
      :math:`[0, 1]`.

    Selection is :meth:`SlopeTuned.select`'s on these candidates; ``candidates`` is unused.
    """

    family: type[OffPolicyEstimator] | None = None
    parameter: str = ""
    quantiles: tuple[float, ...] = (0.5, 0.75, 0.9, 0.95, 0.99, 0.999)
    small_values: tuple[float, ...] = (1.0, 2.0, 5.0)
    scale: GridScale = "weight"

    def __post_init__(self) -> None:
        if self.family is None:
            raise ValueError("WeightGridSlopeTuned needs an estimator family")
        names = [f.name for f in dataclasses.fields(self.family)]
        if self.parameter not in names:
            raise ValueError(f"{self.family.__name__} has no hyperparameter {self.parameter!r} (has {names})")
        if not self.quantiles or not all(0.0 <= q <= 1.0 for q in self.quantiles):
            raise ValueError(f"quantiles must be 1 or more levels in [0, 1], got {self.quantiles!r}")
        if not all(v > 0 and math.isfinite(v) for v in self.small_values):
            raise ValueError(f"small_values must be finite and > 0, got {self.small_values!r}")
        if self.scale not in ("weight", "squared", "inverse"):
            raise ValueError(f"scale must be weight, squared or inverse, got {self.scale!r}")

    @property
    def uses_reward_model(self) -> bool:  # type: ignore[override]
        return bool(self.family is not None and self.family.uses_reward_model)

    def grid_from_weights(self, weights: np.ndarray) -> tuple[float, ...]:
        """The hyperparameter values tried on an input with these importance weights, sorted and
        deduplicated (:func:`weight_quantile_grid` mapped by ``scale``)."""
        thresholds = weight_quantile_grid(weights, self.quantiles, self.small_values)
        return tuple(sorted({_to_hyperparameter(tau, self.scale) for tau in thresholds}))

    def candidates_for(self, inputs: OpeInputs) -> tuple[OffPolicyEstimator, ...]:
        assert self.family is not None
        grid = self.grid_from_weights(inputs.importance_weight)
        return tuple(self.family(**{self.parameter: value}) for value in grid)
