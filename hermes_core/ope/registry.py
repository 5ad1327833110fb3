"""Estimators by name, and running several of them on one input."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from hermes_core.ope.base import OffPolicyEstimator, RoundTerms
from hermes_core.ope.direct import DirectMethod
from hermes_core.ope.doubly_robust import (
    DoublyRobust,
    DoublyRobustWithShrinkage,
    SelfNormalizedDoublyRobust,
    SwitchDoublyRobust,
)
from hermes_core.ope.importance_weighting import (
    InverseProbabilityWeighting,
    SelfNormalizedInverseProbabilityWeighting,
)
from hermes_core.ope.inputs import OpeInputs
from hermes_core.ope.params import OpeEstimatorParams
from hermes_core.ope.tuning import SlopeTuned

ESTIMATORS: dict[str, type[OffPolicyEstimator]] = {
    "dm": DirectMethod,
    "ipw": InverseProbabilityWeighting,
    "snipw": SelfNormalizedInverseProbabilityWeighting,
    "dr": DoublyRobust,
    "sndr": SelfNormalizedDoublyRobust,
    "switch-dr": SwitchDoublyRobust,
    "dr-os": DoublyRobustWithShrinkage,
}
"""Estimator classes by name (OBP's names). Instantiate with hyperparameters, or use
:func:`make_estimators`."""

OBP_TUNING_GRID: tuple[float, ...] = (10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0, 10000.0, math.inf)
"""Candidate :math:`\\tau` / :math:`\\lambda` that OBP's ``examples/obd`` gives SLOPE for
Switch-DR and DRos."""


def make_estimators(
    *,
    clip_lambda: float = math.inf,
    switch_tau: float = 100.0,
    dros_lambda: float = 100.0,
    tuning_grid: tuple[float, ...] | None = None,
    slope_delta: float = 0.05,
) -> dict[str, OffPolicyEstimator]:
    """One instance of every estimator in :data:`ESTIMATORS`, keyed by name.

    With ``tuning_grid``, two more entries, ``"switch-dr-slope"`` and ``"dr-os-slope"``, pick
    :math:`\\tau` and :math:`\\lambda` from the grid by SLOPE (:class:`SlopeTuned`), as OBP's
    Open Bandit Dataset example does.
    """
    estimators: dict[str, OffPolicyEstimator] = {
        "dm": DirectMethod(),
        "ipw": InverseProbabilityWeighting(clip_lambda=clip_lambda),
        "snipw": SelfNormalizedInverseProbabilityWeighting(),
        "dr": DoublyRobust(),
        "sndr": SelfNormalizedDoublyRobust(),
        "switch-dr": SwitchDoublyRobust(tau=switch_tau),
        "dr-os": DoublyRobustWithShrinkage(shrinkage_lambda=dros_lambda),
    }
    if tuning_grid is not None:
        estimators["switch-dr-slope"] = SlopeTuned(
            candidates=tuple(SwitchDoublyRobust(tau=value) for value in tuning_grid),
            delta=slope_delta,
            label="switch-dr-slope",
        )
        estimators["dr-os-slope"] = SlopeTuned(
            candidates=tuple(DoublyRobustWithShrinkage(shrinkage_lambda=v) for v in tuning_grid),
            delta=slope_delta,
            label="dr-os-slope",
        )
    return estimators


def configured_estimators(params: OpeEstimatorParams) -> dict[str, OffPolicyEstimator]:
    """:func:`make_estimators` with the ``ope.estimators`` hyperparameters: IPS clipped at
    ``ipw_clip_lambda``, Switch-DR at ``switch_tau``, DRos at ``dros_lambda``, plus the
    SLOPE-tuned Switch-DR and DRos on ``tuning_grid`` and infinity when ``slope_tuning``."""
    return make_estimators(
        clip_lambda=params.clip_lambda,
        switch_tau=params.switch_tau,
        dros_lambda=params.dros_lambda,
        tuning_grid=params.slope_grid if params.slope_tuning else None,
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
