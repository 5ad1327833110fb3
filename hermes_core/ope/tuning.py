"""Data-driven choice of an estimator's hyperparameter by SLOPE (Lepski's principle), on a fixed
grid (:class:`SlopeTuned`) or on one built from each input's importance weights
(:class:`WeightGridSlopeTuned`, :func:`weight_quantile_grid`)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar, Literal

import numpy as np
from scipy import stats

from hermes_core.ope.base import OffPolicyEstimator, RoundTerms
from hermes_core.ope.inputs import OpeInputs

SLOPE_CONSTANT = math.sqrt(6.0) - 1.0
"""The constant :math:`C = \\sqrt{6} - 1` of SLOPE's interval test (Su et al., 2020b, Alg. 1)."""


def slope_accept_last(estimates: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """SLOPE's acceptance rule on several samples at once: ``estimates`` and ``widths``
    (n_candidates, B) give, per column, the index of the last accepted candidate, (B,).

    Per column, candidates are visited from the widest to the narrowest width (a stable sort
    of the widths, reversed, as in :func:`slope_select`); candidate :math:`i` is accepted while
    :math:`|\\hat\\theta_j - \\hat\\theta_i| \\le c_i + C c_j` holds for every accepted :math:`j`.
    """
    estimates = np.asarray(estimates, dtype=np.float64)
    widths = np.asarray(widths, dtype=np.float64)
    n_candidates, n_columns = estimates.shape
    columns = np.arange(n_columns)
    # np.argsort(..., kind="stable")[::-1] per column, as slope_select orders one sample
    order = np.argsort(widths, axis=0, kind="stable")[::-1]  # (n_candidates, B)
    ordered_estimate = estimates[order, columns]
    ordered_width = widths[order, columns]
    chosen = order[0].copy()
    active = np.ones(n_columns, dtype=bool)
    for step in range(1, n_candidates):
        estimate_i, width_i = ordered_estimate[step], ordered_width[step]
        gap = np.abs(ordered_estimate[:step] - estimate_i)  # against every earlier (accepted) candidate
        consistent = np.all(gap <= width_i + SLOPE_CONSTANT * ordered_width[:step], axis=0)
        active &= consistent
        chosen = np.where(active, order[step], chosen)
    return chosen


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

    The point estimate uses the choice made on the full sample. A bootstrap interval built from
    :meth:`round_terms` redoes the choice on every resample (:class:`SlopeSelectedTerms`), so the
    selection's own variability is part of the interval; a normal interval keeps the full-sample
    choice fixed.
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

    @property
    def unbiased_by_design(self) -> bool:
        return False  # the chosen candidate trades bias for variance

    def round_terms(self, inputs: OpeInputs) -> RoundTerms:
        """The chosen candidate's terms, carrying every candidate's round rewards so that a
        bootstrap redoes the selection on each resample (:class:`SlopeSelectedTerms`)."""
        candidates = self.candidates_for(inputs)
        terms = [candidate.round_terms(inputs) for candidate in candidates]
        chosen = terms[slope_select(terms, self.delta)]
        return SlopeSelectedTerms(
            correction=chosen.correction, direct=chosen.direct, normaliser=chosen.normaliser,
            candidate_rewards=shared_arrays([term.round_rewards() for term in terms]), delta=self.delta,
        )  # fmt: skip


def shared_arrays(arrays: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    """``arrays`` with every repeat replaced by the first equal array object: candidates whose
    threshold acts on no weight have identical round rewards, and the bootstrap resamples each
    distinct array object once (:func:`~hermes_core.ope.intervals.bootstrap_replicates`)."""
    distinct: list[np.ndarray] = []
    out = []
    for array in arrays:
        same = next((kept for kept in distinct if np.array_equal(kept, array)), None)
        if same is None:
            distinct.append(array)
            same = array
        out.append(same)
    return tuple(out)


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


@dataclass(frozen=True, eq=False)
class SlopeSelectedTerms(RoundTerms):
    """Round terms of the candidate SLOPE chose, plus every candidate's round rewards, so that a
    bootstrap can redo the selection on each resample.

    ``correction``/``direct``/``normaliser`` are the chosen candidate's: the estimate, the
    round rewards and the influence function are exactly its own. Resampled, :meth:`columns`
    gives each candidate's round rewards :math:`\\Gamma_{ij}` and their squares, so the
    resampled means give each candidate's estimate :math:`\\bar\\Gamma^*_j` and variance
    :math:`\\overline{\\Gamma^2}^*_j - (\\bar\\Gamma^*_j)^2`; :meth:`estimate_from_means`
    applies SLOPE's rule (:func:`slope_accept_last`, widths
    :math:`t_{n-1,1-\\delta}\\, s^*_j/\\sqrt{n-1}` as in :func:`slope_select`) to every resample
    and returns the chosen candidate's resampled estimate. Clustered
    (:func:`~hermes_core.ope.intervals.cluster_terms`), the candidates' rewards are averaged
    within groups first, so the widths are those of the resampling unit. Candidates must not be
    self-normalised (their round rewards then average to their estimate on any resample).
    """

    candidate_rewards: tuple[np.ndarray, ...] = ()  # one (n,) array per candidate
    delta: float = 0.05

    @cached_property
    def _columns(self) -> tuple[np.ndarray, ...]:
        # built once, and one square per distinct array: bootstrap_replicates matches columns by identity
        squares: dict[int, np.ndarray] = {}
        parts = []
        for rewards in self.candidate_rewards:
            if id(rewards) not in squares:
                squares[id(rewards)] = rewards * rewards
            parts.extend((rewards, squares[id(rewards)]))
        return tuple(parts)

    def columns(self) -> list[np.ndarray]:
        return list(self._columns)

    def estimate_from_means(self, means: list[np.ndarray]) -> np.ndarray:
        first = np.asarray(means[0::2], dtype=np.float64)  # (n_candidates, B)
        second = np.asarray(means[1::2], dtype=np.float64)
        n = self.n_rounds
        t_quantile = float(stats.t(max(n - 1, 1)).ppf(1.0 - self.delta))
        widths = t_quantile * np.sqrt(np.clip(second - first**2, 0.0, None) / max(n - 1, 1))
        chosen = slope_accept_last(first, widths)
        return first[chosen, np.arange(first.shape[1])]

    def grouped(self, mean_by_group: Callable[[np.ndarray | None], np.ndarray | None]) -> SlopeSelectedTerms:
        """The same terms with every array averaged within groups by ``mean_by_group``."""
        grouped: dict[int, np.ndarray] = {}  # shared arrays stay shared
        for rewards in self.candidate_rewards:
            if id(rewards) not in grouped:
                grouped[id(rewards)] = mean_by_group(rewards)
        return SlopeSelectedTerms(
            correction=mean_by_group(self.correction), direct=mean_by_group(self.direct),
            normaliser=mean_by_group(self.normaliser),
            candidate_rewards=tuple(grouped[id(r)] for r in self.candidate_rewards), delta=self.delta,
        )  # fmt: skip

