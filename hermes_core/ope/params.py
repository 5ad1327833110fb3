"""The ``ope:`` block of ``params.yaml``: every knob of the off-policy-evaluation stage, bounded.

Sub-blocks, one per part of the stage, with one vocabulary across the project (``seed``,
``n_bootstrap``, ``ci_level``, ``method``)::

    ope.seed                 every random draw of the stage
    ope.intervals            the estimators' confidence intervals
    ope.estimators           the estimators' hyperparameters and the cross-fitted reward model
    ope.world                the resampling study on fresh logs of the synthetic world
    ope.gate                 the champion/challenger gate run on shadow-mode logs
    ope.obd                  the two published Open Bandit Dataset experiments

The lower bounds admit a ``tiny`` profile (a handful of bootstrap resamples, 2 folds, one OBD
run) so that notebook tests stay fast; the upper bounds keep a typo from asking for hours.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, field_validator, model_validator

from hermes_core.params import StrictModel


def _positive_finite(values: tuple[float, ...]) -> tuple[float, ...]:
    """1 to 32 values, each finite and in (0, 1e9]."""
    if not 1 <= len(values) <= 32:
        raise ValueError(f"needs 1 to 32 values, got {len(values)}")
    bad = [v for v in values if not (v > 0 and math.isfinite(v) and v <= 1e9)]
    if bad:
        raise ValueError(f"values must be finite and in (0, 1e9], got {bad}")
    return values


class OpeIntervalParams(StrictModel):
    """``ope.intervals``: the confidence interval of every estimate (:mod:`hermes_core.ope.intervals`)."""

    method: Literal["bootstrap", "normal"] = "bootstrap"
    n_bootstrap: int = Field(1000, ge=10, le=100_000)
    ci_level: float = Field(0.95, ge=0.5, le=0.999)

    @property
    def alpha(self) -> float:
        """Significance level of the intervals, ``1 - ci_level``."""
        return 1.0 - self.ci_level


class OpeEstimatorParams(StrictModel):
    """``ope.estimators``: the estimators' hyperparameters and their reward model."""

    reward_model: Literal["logistic", "logistic-cv", "lightgbm"] = "logistic-cv"
    # the inverse regularisation C that "logistic-cv" compares by cross-validated log-loss inside each training fold
    reward_model_cv_grid: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0)
    reward_model_cv_folds: int = Field(3, ge=2, le=10)
    n_folds: int = Field(3, ge=2, le=20)
    position_handling: Literal["one-hot", "per-position"] = "one-hot"
    calibration_bins: int = Field(10, ge=2, le=100)
    ipw_clip_lambda: float | None = Field(None, gt=0.0, le=1e9)
    switch_tau: float = Field(5.0, gt=0.0, le=1e9)
    dros_lambda: float = Field(100.0, ge=0.0, le=1e9)
    # None: no clipping, DR-clip is DR.
    dr_clip_lambda: float | None = Field(5.0, gt=0.0, le=1e9)
    subgauss_lambda: float = Field(0.1, ge=0.0, le=1.0)
    slope_tuning: bool = True
    # "quantiles": each input's grid is built from its importance weights (WeightGridSlopeTuned);
    # a list: the fixed grid of Switch-DR's tau and DRos's lambda (plus infinity), as OBP's example.
    tuning_grid: Literal["quantiles"] | tuple[float, ...] = "quantiles"
    tuning_quantiles: tuple[float, ...] = (0.5, 0.75, 0.9, 0.95, 0.99, 0.999)
    tuning_small_values: tuple[float, ...] = (1.0, 2.0, 5.0)
    slope_delta: float = Field(0.05, gt=0.0, lt=0.5)
    max_chunk_elements: int = Field(1 << 24, ge=1 << 10, le=1 << 28)

    @field_validator("tuning_grid")
    @classmethod
    def _positive_finite_grid(cls, values: str | tuple[float, ...]) -> str | tuple[float, ...]:
        return values if isinstance(values, str) else _positive_finite(values)

    @field_validator("reward_model_cv_grid")
    @classmethod
    def _positive_cv_grid(cls, values: tuple[float, ...]) -> tuple[float, ...]:
        values = _positive_finite(values)
        if len(values) < 2 or list(values) != sorted(set(values)):
            raise ValueError(f"reward_model_cv_grid needs 2 or more strictly increasing values, got {values}")
        return values

    @field_validator("tuning_small_values")
    @classmethod
    def _positive_finite_small_values(cls, values: tuple[float, ...]) -> tuple[float, ...]:
        return _positive_finite(values)

    @field_validator("tuning_quantiles")
    @classmethod
    def _quantile_levels(cls, values: tuple[float, ...]) -> tuple[float, ...]:
        if not 1 <= len(values) <= 32 or not all(0.0 < v <= 1.0 for v in values):
            raise ValueError(f"tuning_quantiles needs 1 to 32 levels in (0, 1], got {values}")
        return values

    @model_validator(mode="after")
    def _sorted_grid(self) -> OpeEstimatorParams:
        lists = {"tuning_quantiles": self.tuning_quantiles, "tuning_small_values": self.tuning_small_values}
        if not isinstance(self.tuning_grid, str):
            lists["tuning_grid"] = self.tuning_grid
        for key, values in lists.items():
            if list(values) != sorted(set(values)):
                raise ValueError(f"{key} must be strictly increasing")
        return self

    @property
    def clip_lambda(self) -> float:
        """IPW clipping threshold, ``math.inf`` when ``ipw_clip_lambda`` is null."""
        return math.inf if self.ipw_clip_lambda is None else self.ipw_clip_lambda

    @property
    def dr_clip(self) -> float:
        """DR-clip's clipping threshold, ``math.inf`` when ``dr_clip_lambda`` is null."""
        return math.inf if self.dr_clip_lambda is None else self.dr_clip_lambda

    @property
    def slope_grid(self) -> tuple[float, ...] | None:
        """SLOPE's fixed candidates for Switch-DR and DRos: ``tuning_grid`` plus infinity (plain
        DR), as OBP's example; ``None`` when ``tuning_grid`` is ``"quantiles"`` (built per input
        from the importance weights)."""
        if isinstance(self.tuning_grid, str):
            return None
        return (*self.tuning_grid, math.inf)


class OpeWorldParams(StrictModel):
    """``ope.world``: the resampling study on fresh logs of the synthetic world
    (:mod:`hermes_core.ope.world_experiments`)."""

    n_log_resamples: int = Field(20, ge=1, le=1000)
    # None: every fresh world log has as many requests as the ingested one (world.n_requests).
    n_requests: int | None = Field(5000, ge=50, le=1_000_000)
    main_target: str = "greedy-true"
    target_temperatures: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
    ipw_clip_sweep: tuple[float, ...] = (5.0, 20.0, 100.0)
    # The fresh logs' similarity fatigue: 0 keeps clicks position-based (what the position-wise
    # estimators and the marginal-based true values assume); None: the world's own.
    similarity_fatigue: float | None = Field(0.0, ge=0.0, le=1.0)

    @field_validator("target_temperatures", "ipw_clip_sweep")
    @classmethod
    def _positive_finite_values(cls, values: tuple[float, ...]) -> tuple[float, ...]:
        return _positive_finite(values)

    @model_validator(mode="after")
    def _known_main_target(self) -> OpeWorldParams:
        if self.main_target not in self.target_names:
            raise ValueError(
                f"main_target {self.main_target!r} is not one of the world's target policies "
                f"{list(self.target_names)} (softmax-true@T for T in target_temperatures)"
            )
        return self

    @property
    def target_names(self) -> tuple[str, ...]:
        """Names of the world's target policies (``hermes_core.world.policies.standard_targets``)."""
        softmax = tuple(f"softmax-true@{temperature:g}" for temperature in self.target_temperatures)
        return ("uniform", "logging", "greedy-true", *softmax)


class OpeSlateParams(StrictModel):
    """``ope.slate``: slate estimators on fresh world logs under each click model
    (:mod:`hermes_core.ope.slate_study`)."""

    click_models: tuple[Literal["position-based", "cascade"], ...] = ("position-based", "cascade")
    n_logs: int = Field(8, ge=1, le=1000)
    n_requests: int = Field(2000, ge=50, le=1_000_000)
    truth_samples: int = Field(100, ge=2, le=100_000)
    # logging slates per request of the oracle bias check (expected clicks, first log, main target); 0 = none
    expected_samples: int = Field(20, ge=0, le=10_000)

    @field_validator("click_models")
    @classmethod
    def _distinct_models(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        if not values or len(set(values)) != len(values):
            raise ValueError(f"click_models must name 1 or 2 distinct click models, got {values}")
        return values


class OpeGateParams(StrictModel):
    """``ope.gate``: the champion/challenger gate on shadow-mode logs (:mod:`hermes_core.ope.shadow`)."""

    ci_level: float = Field(0.95, ge=0.5, le=0.999)
    method: Literal["bootstrap", "normal"] = "bootstrap"
    challenger_temperature: float = Field(0.5, gt=0.0, le=1e3)
    shadow_batch_size: int = Field(1000, ge=1, le=1_000_000)
    error_rate_logs: int = Field(100, ge=1, le=10_000)
    error_rate_requests: int = Field(1000, ge=50, le=1_000_000)
    error_rate_relative_uplift: float = Field(0.05, gt=0.0, lt=1.0)

    @property
    def main_challenger(self) -> str:
        """Name of the main challenger, Plackett-Luce on true relevance at ``challenger_temperature``."""
        return f"softmax-true@{self.challenger_temperature:g}"


class OpenBanditParams(StrictModel):
    """``ope.obd``: the two published Open Bandit Dataset experiments (Saito et al., 2021)."""

    # True: run the two experiments, and a missing sample is an error (MissingDataError), not a skip.
    enabled: bool = True
    path: str = "../shared/data/open_bandit_dataset"
    campaign: Literal["all", "men", "women"] = "all"
    # 200 runs: the Monte-Carlo standard error sd / sqrt(n) of each mean error is sqrt(30/200) ~ 0.39 of the
    # published table's (30 runs).
    n_bootstrap: int = Field(200, ge=1, le=1000)
    include_affinity_features: bool = False
    # None: BTS's action distribution is its logged per-slot share (logged_action_share);
    # a path to OBP's obp/policy/conf/prior_bts.yaml simulates BTS from that prior, as published.
    bts_prior_yaml: str | None = None
    n_sim_bts: int = Field(1_000_000, ge=1000, le=10_000_000)
    # "hermes": SeedSequence resamples, the stage's reward model, BTS as configured above; "obp": OBP 0.5's example
    # exactly (RandomState(b) resamples, per-position logistic C=100 on label-encoded item features, KFold folds,
    # Bernoulli TS simulated from prior_bts.yaml with RandomState(obp_random_state), OBP's seven estimators).
    protocol: Literal["hermes", "obp"] = "hermes"
    # The item feature whose value is an item's category for MIPS (experiment 2, hermes protocol).
    mips_item_feature: Literal["item_feature_1", "item_feature_2", "item_feature_3"] = "item_feature_1"
    # Runs of the OBP-protocol parity table shown beside the main one (0: none); 30 = the published table's.
    parity_runs: int = Field(30, ge=0, le=1000)
    obp_random_state: int = Field(12345, ge=0)


class OpeParams(StrictModel):
    """Knobs of the OPE stage (``hermes_core.ope``), one sub-block per part."""

    seed: int = Field(20261126, ge=0)
    intervals: OpeIntervalParams = OpeIntervalParams()
    estimators: OpeEstimatorParams = OpeEstimatorParams()
    world: OpeWorldParams = OpeWorldParams()
    slate: OpeSlateParams = OpeSlateParams()
    gate: OpeGateParams = OpeGateParams()
    obd: OpenBanditParams = OpenBanditParams()
