"""The ``world:`` block of ``params.yaml``: every knob of the synthetic world, typed and bounded."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from hermes_core.params import StrictModel

#: The four domains of the universal schema, in the order the world indexes them.
DOMAINS: tuple[str, ...] = ("movie", "music", "product", "news")


class DomainShares(StrictModel):
    """Share of the catalogue in each domain; the four shares sum to 1."""

    movie: float = Field(0.25, ge=0.0, le=1.0)
    music: float = Field(0.25, ge=0.0, le=1.0)
    product: float = Field(0.25, ge=0.0, le=1.0)
    news: float = Field(0.25, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _shares_sum_to_one(self) -> DomainShares:
        total = self.movie + self.music + self.product + self.news
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"domain shares must sum to 1, they sum to {total:.6f}")
        return self


class DelayMeanDays(StrictModel):
    """Mean click-to-conversion delay of each domain, in days."""

    movie: float = Field(1.0, gt=0.0)
    music: float = Field(0.5, gt=0.0)
    product: float = Field(4.0, gt=0.0)
    news: float = Field(0.25, gt=0.0)


class ConversionDelayMeanDays(StrictModel):
    """Mean click-to-conversion delay of each domain in the conversion stream, in days."""

    movie: float = Field(5.0, gt=0.0)
    music: float = Field(3.0, gt=0.0)
    product: float = Field(9.0, gt=0.0)
    news: float = Field(1.5, gt=0.0)


class ConversionParams(StrictModel):
    """``world.conversions``: the click-to-conversion stream of the delayed-feedback stage.

    See :mod:`hermes_core.world.conversions` for the generative story and the logit.
    """

    n_clicks: int = Field(250_000, ge=10)
    click_days: int = Field(60, ge=1)
    conversion_rate: float = Field(0.1, gt=0.0, lt=1.0)
    delay_distribution: Literal["exponential", "weibull", "lognormal"] = "lognormal"
    delay_mean_days: ConversionDelayMeanDays = ConversionDelayMeanDays()
    delay_shape: float = Field(1.0, gt=0.0)
    attribution_window_days: float = Field(30.0, gt=0.0)
    cutoff_days: float = Field(60.0, gt=0.0)


class WorldParams(StrictModel):
    """The synthetic world: catalogue, users, sessions, logging policy and feedback."""

    seed: int = Field(20261126, ge=0)
    n_users: int = Field(5000, ge=10)
    n_items: int = Field(2000, ge=20)
    n_creators: int = Field(320, ge=4)
    domain_shares: DomainShares = DomainShares()
    mainstream_share: float = Field(0.2, gt=0.0, lt=1.0)
    popularity_sigma: float = Field(1.0, ge=0.0, le=4.0)
    mainstream_boost: float = Field(1.5, ge=0.0, le=5.0)
    hidden_dim: int = Field(8, ge=1, le=64)
    dense_dim: int = Field(16, ge=1, le=256)
    cold_item_share: float = Field(0.1, ge=0.0, lt=1.0)
    start_date: str = "2025-01-01"
    log_days: int = Field(90, ge=1)
    cold_window_days: int = Field(30, ge=1)
    n_requests: int = Field(40000, ge=10)
    slate_size: int = Field(5, ge=1, le=10)
    candidates_per_request: int = Field(10, ge=1, le=14)
    mean_session_length: float = Field(4.0, ge=1.0)
    activity_sigma: float = Field(1.0, ge=0.0, le=4.0)
    sequential_strength: float = Field(1.5, ge=0.0)
    history_decay: float = Field(0.9, gt=0.0, le=1.0)
    series_strength: float = Field(3.0, ge=0.0)
    genre_transition_strength: float = Field(0.3, ge=0.0)
    taste_drift: float = Field(0.3, ge=0.0)
    modality_concentration: float = Field(1.0, gt=0.0)
    domain_modality_shift: float = Field(1.0, ge=0.0)
    modality_intent_share: float = Field(0.5, ge=0.0, le=1.0)
    modality_intent_strength: float = Field(2.5, ge=0.0)
    popularity_in_relevance: bool = False
    creator_taste_weight: float = Field(1.0, ge=0.0)
    collaborator_taste_carry: float = Field(0.8, ge=0.0, le=1.0)
    collaboration_style_bias: float = Field(4.0, ge=0.0)
    region_domain_effect: float = Field(0.8, ge=0.0)
    age_style_effect: float = Field(0.6, ge=0.0)
    context_strength: float = Field(0.5, ge=0.0)
    similarity_fatigue: float = Field(0.5, ge=0.0, le=1.0)
    injection_share: float = Field(0.02, ge=0.0, le=0.5)
    logging_temperature: float = Field(2.0, gt=0.0)
    logging_noise: float = Field(1.0, ge=0.0)
    examination_decay: float = Field(1.0, ge=0.0)
    click_floor: float = Field(0.01, ge=0.0, lt=1.0)
    click_ceiling: float = Field(0.6, gt=0.0, le=1.0)
    click_model: Literal["position-based", "cascade"] = "position-based"
    cascade_stop_probability: float = Field(0.7, ge=0.0, le=1.0)
    relevance_shares: tuple[float, float, float, float, float] = (0.5, 0.25, 0.13, 0.08, 0.04)
    conversion_base_logit: float = -3.2
    conversion_relevance_coef: float = Field(0.4, ge=0.0)
    conversion_price_coef: float = Field(-0.5, le=0.0)
    delay_distribution: Literal["exponential", "weibull", "lognormal"] = "exponential"
    delay_mean_days: DelayMeanDays = DelayMeanDays()
    delay_shape: float = Field(1.5, gt=0.0)
    n_queries: int = Field(1500, ge=3)
    image_size: int = Field(64, ge=16, le=512)
    malformed_share: float = Field(0.01, ge=0.0, lt=0.5)
    conversions: ConversionParams = ConversionParams()

    @model_validator(mode="after")
    def _consistent(self) -> WorldParams:
        if self.slate_size > self.candidates_per_request:
            raise ValueError(
                f"slate_size ({self.slate_size}) must not exceed "
                f"candidates_per_request ({self.candidates_per_request})"
            )
        if abs(sum(self.relevance_shares) - 1.0) > 1e-6:
            raise ValueError("relevance_shares (grades 0..4) must sum to 1")
        if self.click_floor >= self.click_ceiling:
            raise ValueError(f"click_floor ({self.click_floor}) must be below click_ceiling ({self.click_ceiling})")
        if self.n_creators > self.n_items:
            raise ValueError(f"n_creators ({self.n_creators}) must not exceed n_items")
        return self
