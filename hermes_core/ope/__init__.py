"""Off-policy evaluation: estimators, intervals, cross-fitted reward models and a promotion gate.

Conventions (OBP's position-wise slates) are in :mod:`hermes_core.ope.inputs`; each estimator
module carries its formula and paper.

The stage's faces: ``params`` (the ``ope:`` block), ``stage`` (what ``notebooks/06_ope.ipynb``
calls, in order), ``metrics`` (``metrics/ope.json`` and the diagnostics from one ``OpeResults``),
``tables`` and ``plots`` (what the notebook shows; every figure returns its data table) and
``conclusions`` (the sentences of its last section). The ideas: ``inputs``, ``base``, ``direct``,
``importance_weighting``, ``doubly_robust``, ``tuning`` and ``registry`` (the estimators);
``intervals``; ``reward_model``; ``policies`` (the target policies); ``world_experiments``
(the study on the synthetic world); ``open_bandit`` (OBP's published experiments); ``gate`` and
``shadow`` (shadow mode and the champion/challenger gate).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "ClippedDoublyRobust": "hermes_core.ope.doubly_robust",
    "DirectMethod": "hermes_core.ope.direct",
    "DoublyRobust": "hermes_core.ope.doubly_robust",
    "DoublyRobustWithShrinkage": "hermes_core.ope.doubly_robust",
    "ESTIMATORS": "hermes_core.ope.registry",
    "GateDecision": "hermes_core.ope.gate",
    "Interval": "hermes_core.ope.intervals",
    "InverseProbabilityWeighting": "hermes_core.ope.importance_weighting",
    "OBP_TUNING_GRID": "hermes_core.ope.registry",
    "OPEInputError": "hermes_core.ope.inputs",
    "OffPolicyEstimator": "hermes_core.ope.base",
    "OpeInputs": "hermes_core.ope.inputs",
    "RewardFeatures": "hermes_core.ope.reward_model",
    "RoundTerms": "hermes_core.ope.base",
    "SelfNormalizedDoublyRobust": "hermes_core.ope.doubly_robust",
    "SelfNormalizedInverseProbabilityWeighting": "hermes_core.ope.importance_weighting",
    "SlopeTuned": "hermes_core.ope.tuning",
    "SubGaussianInverseProbabilityWeighting": "hermes_core.ope.importance_weighting",
    "SwitchDoublyRobust": "hermes_core.ope.doubly_robust",
    "WeightGridSlopeTuned": "hermes_core.ope.tuning",
    "assign_folds": "hermes_core.ope.reward_model",
    "bootstrap_interval": "hermes_core.ope.intervals",
    "bootstrap_intervals": "hermes_core.ope.intervals",
    "bootstrap_replicates": "hermes_core.ope.intervals",
    "cluster_terms": "hermes_core.ope.intervals",
    "cross_fitted_reward_model": "hermes_core.ope.reward_model",
    "estimate_all": "hermes_core.ope.registry",
    "make_estimators": "hermes_core.ope.registry",
    "make_reward_model": "hermes_core.ope.reward_model",
    "normal_interval": "hermes_core.ope.intervals",
    "relative_estimation_error": "hermes_core.ope.registry",
    "round_terms_of_all": "hermes_core.ope.registry",
    "slope_select": "hermes_core.ope.tuning",
    "uplift_gate": "hermes_core.ope.gate",
    "weight_quantile_grid": "hermes_core.ope.tuning",
}


def __getattr__(name: str) -> Any:
    """Import on first use, so that reading ``hermes_core.ope.params`` (every parameter check
    does) does not pay for scikit-learn and the estimators."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hermes_core.ope' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "ESTIMATORS",
    "OBP_TUNING_GRID",
    "ClippedDoublyRobust",
    "DirectMethod",
    "DoublyRobust",
    "DoublyRobustWithShrinkage",
    "GateDecision",
    "Interval",
    "InverseProbabilityWeighting",
    "OPEInputError",
    "OffPolicyEstimator",
    "OpeInputs",
    "RewardFeatures",
    "RoundTerms",
    "SelfNormalizedDoublyRobust",
    "SelfNormalizedInverseProbabilityWeighting",
    "SlopeTuned",
    "SubGaussianInverseProbabilityWeighting",
    "SwitchDoublyRobust",
    "WeightGridSlopeTuned",
    "assign_folds",
    "bootstrap_interval",
    "bootstrap_intervals",
    "bootstrap_replicates",
    "cluster_terms",
    "cross_fitted_reward_model",
    "estimate_all",
    "make_estimators",
    "make_reward_model",
    "normal_interval",
    "relative_estimation_error",
    "round_terms_of_all",
    "slope_select",
    "uplift_gate",
    "weight_quantile_grid",
]
