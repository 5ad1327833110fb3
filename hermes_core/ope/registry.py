"""Estimators by name, and running several of them on one input."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from hermes_core.ope.base import OffPolicyEstimator, RoundTerms
from hermes_core.ope.direct import DirectMethod
from hermes_core.ope.doubly_robust import (
    ClippedDoublyRobust,
    DoublyRobust,
    DoublyRobustWithShrinkage,
    SelfNormalizedDoublyRobust,
    SwitchDoublyRobust,
)
from hermes_core.ope.importance_weighting import (
    InverseProbabilityWeighting,
    SelfNormalizedInverseProbabilityWeighting,
    SubGaussianInverseProbabilityWeighting,
)
from hermes_core.ope.inputs import OpeInputs
from hermes_core.ope.params import OpeEstimatorParams
from hermes_core.ope.tuning import GridScale, SlopeTuned, WeightGridSlopeTuned

ESTIMATORS: dict[str, type[OffPolicyEstimator]] = {
    "dm": DirectMethod,
    "ipw": InverseProbabilityWeighting,
    "snipw": SelfNormalizedInverseProbabilityWeighting,
    "dr": DoublyRobust,
    "sndr": SelfNormalizedDoublyRobust,
    "switch-dr": SwitchDoublyRobust,
    "dr-os": DoublyRobustWithShrinkage,
    "dr-clip": ClippedDoublyRobust,
    "ipw-subgauss": SubGaussianInverseProbabilityWeighting,
}
"""Estimator classes by name (OBP's names). Instantiate with hyperparameters, or use
:func:`make_estimators`."""

OBP_TUNING_GRID: tuple[float, ...] = (10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0, 10000.0, math.inf)
"""Candidate :math:`\\tau` / :math:`\\lambda` that OBP's ``examples/obd`` gives SLOPE for
Switch-DR and DRos."""


DEFAULT_TUNING_QUANTILES: tuple[float, ...] = (0.5, 0.75, 0.9, 0.95, 0.99, 0.999)
"""Quantile levels of the importance weights in a quantile grid (``ope.estimators.tuning_quantiles``)."""
DEFAULT_TUNING_SMALL_VALUES: tuple[float, ...] = (1.0, 2.0, 5.0)
"""Fixed small thresholds of a quantile grid (``ope.estimators.tuning_small_values``)."""

SLOPE_FAMILIES: dict[str, tuple[type[OffPolicyEstimator], str, GridScale]] = {
    "ipw-clip-slope": (InverseProbabilityWeighting, "clip_lambda", "weight"),
    "dr-clip-slope": (ClippedDoublyRobust, "clip_lambda", "weight"),
    "ipw-subgauss-slope": (SubGaussianInverseProbabilityWeighting, "shrinkage_lambda", "inverse"),
    "switch-dr-slope": (SwitchDoublyRobust, "tau", "weight"),
    "dr-os-slope": (DoublyRobustWithShrinkage, "shrinkage_lambda", "squared"),
}
"""The SLOPE-tuned estimators: name -> (family, hyperparameter, how a weight threshold becomes
it; see :class:`~hermes_core.ope.tuning.WeightGridSlopeTuned`)."""


def make_estimators(
    *,
    clip_lambda: float = math.inf,
    switch_tau: float = 100.0,
    dros_lambda: float = 100.0,
    dr_clip_lambda: float = 10.0,
    subgauss_lambda: float = 0.1,
    tuning_grid: Sequence[float] | Literal["quantiles"] | None = None,
    tuning_quantiles: Sequence[float] = DEFAULT_TUNING_QUANTILES,
    tuning_small_values: Sequence[float] = DEFAULT_TUNING_SMALL_VALUES,
    slope_delta: float = 0.05,
) -> dict[str, OffPolicyEstimator]:
    """One instance of every estimator in :data:`ESTIMATORS`, keyed by name.

    With ``tuning_grid`` (not ``None``), five more entries, the :data:`SLOPE_FAMILIES`, pick
    their hyperparameter by SLOPE. IPW-clip, DR-clip and sub-Gaussian IPW always do so on the
    grid built from each input's importance weights (:class:`WeightGridSlopeTuned` with
    ``tuning_quantiles`` and ``tuning_small_values``); Switch-DR and DRos too when ``tuning_grid``
    is ``"quantiles"``, and on the fixed values ``tuning_grid`` (:class:`SlopeTuned`) when it is a
    sequence, as OBP's Open Bandit Dataset example does.
    """
    estimators: dict[str, OffPolicyEstimator] = {
        "dm": DirectMethod(),
        "ipw": InverseProbabilityWeighting(clip_lambda=clip_lambda),
        "snipw": SelfNormalizedInverseProbabilityWeighting(),
        "dr": DoublyRobust(),
        "sndr": SelfNormalizedDoublyRobust(),
        "switch-dr": SwitchDoublyRobust(tau=switch_tau),
        "dr-os": DoublyRobustWithShrinkage(shrinkage_lambda=dros_lambda),
        "dr-clip": ClippedDoublyRobust(clip_lambda=dr_clip_lambda),
        "ipw-subgauss": SubGaussianInverseProbabilityWeighting(shrinkage_lambda=subgauss_lambda),
    }
    if tuning_grid is None:
        return estimators
    for name, (family, parameter, scale) in SLOPE_FAMILIES.items():
        if not isinstance(tuning_grid, str) and name in ("switch-dr-slope", "dr-os-slope"):
            estimators[name] = SlopeTuned(
                candidates=tuple(family(**{parameter: value}) for value in tuning_grid),
                delta=slope_delta,
                label=name,
            )
        else:
            estimators[name] = WeightGridSlopeTuned(
                delta=slope_delta, label=name, family=family, parameter=parameter,
                quantiles=tuple(tuning_quantiles), small_values=tuple(tuning_small_values), scale=scale,
            )  # fmt: skip
    return estimators


def configured_estimators(params: OpeEstimatorParams) -> dict[str, OffPolicyEstimator]:
    """:func:`make_estimators` with the ``ope.estimators`` hyperparameters: IPS clipped at
    ``ipw_clip_lambda``, Switch-DR at ``switch_tau``, DRos at ``dros_lambda``, DR-clip at
    ``dr_clip_lambda``, sub-Gaussian IPW at ``subgauss_lambda``, plus the SLOPE-tuned estimators
    when ``slope_tuning``: on the quantile grid (``tuning_quantiles``, ``tuning_small_values``)
    and, for Switch-DR and DRos when ``tuning_grid`` is a list, on that list and infinity."""
    grid: tuple[float, ...] | Literal["quantiles"] | None = None
    if params.slope_tuning:
        grid = "quantiles" if params.slope_grid is None else params.slope_grid
    return make_estimators(
        clip_lambda=params.clip_lambda,
        switch_tau=params.switch_tau,
        dros_lambda=params.dros_lambda,
        dr_clip_lambda=params.dr_clip,
        subgauss_lambda=params.subgauss_lambda,
        tuning_grid=grid,
        tuning_quantiles=params.tuning_quantiles,
        tuning_small_values=params.tuning_small_values,
        slope_delta=params.slope_delta,
    )


def round_terms_of_all(
    inputs: OpeInputs, estimators: Mapping[str, OffPolicyEstimator] | None = None
) -> dict[str, RoundTerms]:
    """:class:`RoundTerms` of every estimator on one validated input (shared per-round
    quantities are computed once). With the default estimators, those that need a reward model
    are left out when ``inputs`` has none; an estimator asked for by name raises instead."""
    if estimators is None:
        has_model = inputs.estimated_rewards_by_reg_model is not None
        estimators = {
            name: estimator
            for name, estimator in make_estimators().items()
            if has_model or not estimator.uses_reward_model
        }
    return {name: estimator.round_terms(inputs) for name, estimator in estimators.items()}


def estimate_all(*, estimators: Mapping[str, OffPolicyEstimator] | None = None, **arrays: Any) -> dict[str, float]:
    """Policy value by every estimator (default: :func:`make_estimators`) on one input;
    ``arrays`` are the keyword arguments of :meth:`OpeInputs.from_arrays`."""
    inputs = OpeInputs.from_arrays(**arrays)
    return {name: terms.estimate() for name, terms in round_terms_of_all(inputs, estimators).items()}


def relative_estimation_error(estimate: float | np.ndarray, truth: float) -> float | np.ndarray:
    """:math:`|\\hat V - V| / V`, the OBP paper's measure of an estimator on real data
    (Saito et al., 2021, Sec. 5.2)."""
    if truth == 0:
        raise ValueError("relative estimation error is undefined for a true value of 0")
    return np.abs(np.asarray(estimate) - truth) / abs(truth)
