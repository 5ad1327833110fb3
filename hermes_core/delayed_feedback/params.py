"""Parameters of the delayed_feedback stage (the ``delayed_feedback:`` block of ``params.yaml``).

Top-level ``seeds`` and ``device``, then one sub-block per concern: the streaming protocol
(``protocol:``), the conversion model every method trains (``model:``), the auxiliary classifiers
of FSIW, ES-DFM and DEFER (``auxiliary:``), the redrawn delays of the non-exponential comparison
(``delay_comparison:``) and what the notebook's first section shows (``problem:``). The conversion
stream itself (its clicks, delay distribution and attribution window) is the world's
(``world.conversions``). Every key is bounded here; ``params.yaml`` repeats it as a
``# (type) meaning`` comment.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from hermes_core.params import StrictModel

DelayDistribution = Literal["exponential", "weibull", "lognormal"]


class DelayedFeedbackProtocolParams(StrictModel):
    """``delayed_feedback.protocol``: the streaming protocol of ES-DFM (Yang et al. 2021)."""

    pretrain_days: float = Field(30.0, gt=0.0, le=3650.0,
                                 description="clicks before this day pre-train every method (labels as seen then)")
    window_days: float = Field(1.0, gt=0.0, le=365.0, description="length of a training and of a test window")
    n_windows: int | None = Field(None, ge=1, le=100_000,
                                  description="streaming steps; null: every step whose test window ends by the click horizon")
    observation_cutoff_days: float = Field(0.0, ge=0.0, le=365.0,
                                           description="days after a training window ends at which its labels are read "
                                                       "and the model trains; the test window starts then (0: ES-DFM)")
    waiting_window_days: float = Field(0.25, ge=0.0, le=365.0,
                                       description="ES-DFM's elapsed-time window c and DEFER's waiting window w1")


class DelayedFeedbackModelParams(StrictModel):
    """``delayed_feedback.model``: the conversion model every method trains (wide + MLP over embeddings)."""

    embedding_dim: int = Field(8, ge=1, le=512, description="width of each field's embedding")
    hidden_units: int = Field(32, ge=0, le=4096, description="units of the MLP's hidden layer (0: logistic regression)")
    max_vocabulary: int = Field(100_000, ge=16, le=10_000_000,
                                description="rows of a field's table; a larger id space is hashed into this many")
    learning_rate: float = Field(0.003, gt=0.0, le=1.0, description="Adam step size")
    l2: float = Field(0.0, ge=0.0, le=1.0, description="Adam weight decay (L2 penalty)")
    batch_size: int = Field(512, ge=1, le=1_000_000, description="rows per mini-batch")
    pretrain_epochs: int = Field(1, ge=1, le=1000, description="passes over the pre-training rows")
    window_epochs: int = Field(1, ge=1, le=1000, description="passes over each window's rows")


class DelayedFeedbackAuxiliaryParams(StrictModel):
    """``delayed_feedback.auxiliary``: the auxiliary classifiers (fitted at pre-training time, then frozen)."""

    embedding_dim: int = Field(8, ge=1, le=512, description="width of each field's embedding")
    hidden_units: int = Field(32, ge=0, le=4096, description="units of the MLP's hidden layer (0: logistic regression)")
    learning_rate: float = Field(0.003, gt=0.0, le=1.0, description="Adam step size")
    l2: float = Field(0.0001, ge=0.0, le=1.0, description="Adam weight decay (L2 penalty)")
    batch_size: int = Field(512, ge=1, le=1_000_000, description="rows per mini-batch")
    epochs: int = Field(2, ge=1, le=1000, description="passes over a classifier's rows")
    min_steps: int = Field(250, ge=0, le=1_000_000,
                           description="fewest mini-batch steps per classifier (more passes over a small set)")
    label_age_days: float = Field(14.0, ge=0.0, le=3650.0,
                                  description="f_dp and f_rn learn from clicks at least this old at pre-training time")
    fsiw_counterfactual_days: float = Field(7.0, gt=0.0, le=3650.0,
                                            description="FSIW's counterfactual deadline: pretend the data were seen this "
                                                        "many days before pre-training time")
    elapsed_scale_days: float = Field(5.0, gt=0.0, le=3650.0, description="scale of FSIW's elapsed-time inputs")
    fsiw_max_weight: float = Field(20.0, ge=1.0, le=1e6,
                                   description="clip of FSIW's positive weight 1 / P(S=1 | Y=1, x, E)")


class DelayedFeedbackDelayComparisonParams(StrictModel):
    """``delayed_feedback.delay_comparison``: the same clicks with delays redrawn from other distributions."""

    enabled: bool = Field(True, description="run the comparison")
    distributions: tuple[DelayDistribution, ...] = Field(
        ("exponential", "weibull", "lognormal"), min_length=1,
        description="delay distributions compared (each with the world's mean delay per domain)")
    weibull_shape: float = Field(0.5, gt=0.0, le=100.0, description="Weibull shape k (< 1: heavier tail than exponential)")
    lognormal_sigma: float = Field(1.0, gt=0.0, le=10.0, description="log-normal sigma")
    n_seeds: int = Field(3, ge=1, le=100, description="the first n of seeds train every method on each distribution")
    delay_seed: int = Field(20261214, ge=0, description="seed of the redrawn delays")

    @field_validator("distributions")
    @classmethod
    def _distinct(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(values)) != len(values):
            raise ValueError(f"distributions must be distinct, got {values}")
        return values


class DelayedFeedbackProblemParams(StrictModel):
    """``delayed_feedback.problem``: the notebook's picture of the problem and of the weight W(E)."""

    max_elapsed_days: float = Field(30.0, gt=0.0, le=3650.0, description="right end of the elapsed-time axes")
    grid_points: int = Field(121, ge=3, le=100_000, description="points of the elapsed-time grid")
    probabilities: tuple[float, ...] = Field((0.02, 0.1, 0.3), min_length=1,
                                             description="conversion probabilities p of the W(E) curves")

    @field_validator("probabilities")
    @classmethod
    def _probabilities(cls, values: tuple[float, ...]) -> tuple[float, ...]:
        if not all(0.0 < v < 1.0 for v in values):
            raise ValueError(f"probabilities must lie in (0, 1), got {values}")
        return values


class DelayedFeedbackParams(StrictModel):
    """Knobs of the delayed_feedback stage (``hermes_core.delayed_feedback``)."""

    seeds: tuple[int, ...] = Field((0, 1, 2), min_length=1,
                                   description="seeds of every model's initialisation and batch order (tables: mean and spread)")
    device: str = Field("auto", description="auto | cpu | cuda[:n]")
    cpu_threads: int = Field(1, ge=0, le=1024,
                             description="torch CPU threads while the stage runs (0: torch's default); the models are "
                                         "small, so one thread is fastest")
    protocol: DelayedFeedbackProtocolParams = DelayedFeedbackProtocolParams()
    model: DelayedFeedbackModelParams = DelayedFeedbackModelParams()
    auxiliary: DelayedFeedbackAuxiliaryParams = DelayedFeedbackAuxiliaryParams()
    delay_comparison: DelayedFeedbackDelayComparisonParams = DelayedFeedbackDelayComparisonParams()
    problem: DelayedFeedbackProblemParams = DelayedFeedbackProblemParams()

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, values: tuple[int, ...]) -> tuple[int, ...]:
        if len(set(values)) != len(values) or min(values) < 0:
            raise ValueError(f"seeds must be distinct non-negative integers, got {values}")
        return values

    @model_validator(mode="after")
    def _comparison_seeds(self) -> DelayedFeedbackParams:
        if self.delay_comparison.n_seeds > len(self.seeds):
            raise ValueError(f"delay_comparison.n_seeds ({self.delay_comparison.n_seeds}) exceeds the number of seeds "
                             f"({len(self.seeds)})")
        return self
