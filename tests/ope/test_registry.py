"""Estimators by name (``hermes_core.ope.registry``): the names, the stage's configured set, and
running several estimators on one validated input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hermes_core.ope import (
    ESTIMATORS,
    ClippedDoublyRobust,
    DoublyRobust,
    InverseProbabilityWeighting,
    OpeInputs,
    SlopeTuned,
    SubGaussianInverseProbabilityWeighting,
    WeightGridSlopeTuned,
    estimate_all,
    relative_estimation_error,
    round_terms_of_all,
)
from hermes_core.ope.params import OpeEstimatorParams
from hermes_core.ope.registry import configured_estimators
from tests.ope.problems import random_problem


def test_registry_names_and_model_free_defaults() -> None:
    assert list(ESTIMATORS) == ["dm", "ipw", "snipw", "dr", "sndr", "switch-dr", "dr-os", "dr-clip", "ipw-subgauss"]
    assert all(ESTIMATORS[name].name == name for name in ESTIMATORS)
    data = random_problem(8)
    del data["estimated_rewards_by_reg_model"]
    # Without a reward model only the model-free estimators run by default.
    assert set(estimate_all(**data)) == {"ipw", "snipw", "ipw-subgauss"}
    inputs = OpeInputs.from_arrays(**data)
    assert set(round_terms_of_all(inputs)) == {"ipw", "snipw", "ipw-subgauss"}


def test_estimate_all_equals_each_estimator_on_the_same_arrays() -> None:
    """``estimate_all`` validates the arrays once (``OpeInputs.from_arrays``) and gives every
    estimator the same value it gives alone on the raw arrays."""
    data = random_problem(3)
    values = estimate_all(**data, estimators={"ipw": InverseProbabilityWeighting(), "dr": DoublyRobust()})
    assert values == {"ipw": InverseProbabilityWeighting().estimate_policy_value(**data),
                      "dr": DoublyRobust().estimate_policy_value(**data)}  # fmt: skip


def test_configured_estimators_carry_the_ope_hyperparameters() -> None:
    params = OpeEstimatorParams(ipw_clip_lambda=7.0, switch_tau=20.0, dros_lambda=3.0, tuning_grid=(1.0, 2.0),
                                slope_delta=0.1, dr_clip_lambda=4.0, subgauss_lambda=0.2,
                                tuning_quantiles=(0.5, 0.9), tuning_small_values=(3.0,))  # fmt: skip
    estimators = configured_estimators(params)
    assert list(estimators) == ["dm", "ipw", "snipw", "dr", "sndr", "switch-dr", "dr-os", "dr-clip", "ipw-subgauss",
                                "ipw-clip-slope", "dr-clip-slope", "ipw-subgauss-slope", "switch-dr-slope",
                                "dr-os-slope"]  # fmt: skip
    assert estimators["ipw"] == InverseProbabilityWeighting(clip_lambda=7.0)
    assert estimators["switch-dr"].tau == 20.0 and estimators["dr-os"].shrinkage_lambda == 3.0
    assert estimators["dr-clip"] == ClippedDoublyRobust(clip_lambda=4.0)
    assert estimators["ipw-subgauss"] == SubGaussianInverseProbabilityWeighting(shrinkage_lambda=0.2)
    # A listed grid: Switch-DR and DRos on that list plus infinity ...
    tuned = estimators["switch-dr-slope"]
    assert type(tuned) is SlopeTuned and tuned.delta == 0.1
    assert [candidate.tau for candidate in tuned.candidates] == [1.0, 2.0, math.inf]
    # ... while the clipped and sub-Gaussian ones always build their grid from the weights.
    clip = estimators["dr-clip-slope"]
    assert isinstance(clip, WeightGridSlopeTuned) and clip.delta == 0.1
    assert (clip.family, clip.parameter, clip.quantiles, clip.small_values) == (
        ClippedDoublyRobust, "clip_lambda", (0.5, 0.9), (3.0,))
    assert "switch-dr-slope" not in configured_estimators(OpeEstimatorParams(slope_tuning=False))


def test_default_configuration_tunes_every_family_on_the_quantile_grid() -> None:
    """``tuning_grid: quantiles`` (the default): the five SLOPE-tuned estimators build their
    grid from the input's weights; Switch-DR's from the weights, DRos's from their squares,
    sub-Gaussian IPW's from their inverses."""
    estimators = configured_estimators(OpeEstimatorParams())
    tuned = {name: e for name, e in estimators.items() if name.endswith("-slope")}
    assert len(tuned) == 5 and all(isinstance(e, WeightGridSlopeTuned) for e in tuned.values())
    assert {name: e.scale for name, e in tuned.items()} == {  # type: ignore[attr-defined]
        "ipw-clip-slope": "weight", "dr-clip-slope": "weight", "ipw-subgauss-slope": "inverse",
        "switch-dr-slope": "weight", "dr-os-slope": "squared"}  # fmt: skip
    data = random_problem(2)
    values = estimate_all(**data, estimators=estimators)
    assert all(np.isfinite(v) for v in values.values())


def test_relative_estimation_error_by_hand() -> None:
    """|0.3 - 0.2| / 0.2 = 0.5 and |0.1 - 0.2| / 0.2 = 0.5; a truth of 0 has no relative error."""
    np.testing.assert_allclose(relative_estimation_error(np.array([0.3, 0.1]), 0.2), [0.5, 0.5])
    with pytest.raises(ValueError, match="true value of 0"):
        relative_estimation_error(0.1, 0.0)
