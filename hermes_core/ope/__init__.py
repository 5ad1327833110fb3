"""Off-policy evaluation: estimators, intervals, cross-fitted reward models and a promotion gate.

Conventions (OBP's position-wise slates) are in :mod:`hermes_core.ope.inputs`; each estimator
module carries its formula and paper.
"""

from __future__ import annotations

from hermes_core.ope.base import OffPolicyEstimator, RoundTerms
from hermes_core.ope.direct import DirectMethod
from hermes_core.ope.doubly_robust import (
    DoublyRobust,
    DoublyRobustWithShrinkage,
    SelfNormalizedDoublyRobust,
    SwitchDoublyRobust,
)
from hermes_core.ope.gate import GateDecision, uplift_gate
from hermes_core.ope.importance_weighting import (
    InverseProbabilityWeighting,
    SelfNormalizedInverseProbabilityWeighting,
)
from hermes_core.ope.inputs import OPEInputError, OpeInputs
from hermes_core.ope.intervals import (
    Interval,
    bootstrap_interval,
    bootstrap_intervals,
    bootstrap_replicates,
    cluster_terms,
    normal_interval,
)
from hermes_core.ope.registry import (
    ESTIMATORS,
    OBP_TUNING_GRID,
    estimate_all,
    make_estimators,
    relative_estimation_error,
    round_terms_of_all,
)
from hermes_core.ope.reward_model import (
    RewardFeatures,
    assign_folds,
    cross_fitted_reward_model,
    make_reward_model,
)
from hermes_core.ope.tuning import SlopeTuned, slope_select

__all__ = [
    "ESTIMATORS",
    "OBP_TUNING_GRID",
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
    "SwitchDoublyRobust",
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
]
