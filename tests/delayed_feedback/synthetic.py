"""A small hand-built conversion stream and protocol settings for the stage's tests (no world needed)."""

from __future__ import annotations

import numpy as np

from hermes_core.delayed_feedback.protocol import ProtocolConfig
from hermes_core.delayed_feedback.training import FitConfig
from hermes_core.world.conversions import ConversionStream


def synthetic_stream(n: int = 900, days: float = 12.0, seed: int = 0, zero_delay: bool = False,
                     mean_delay: float = 1.5, attribution_window: float = 5.0) -> ConversionStream:
    """``n`` clicks uniform over ``days``; conversion depends on the domain, device and user; delays
    exponential with ``mean_delay`` days (or exactly 0 with ``zero_delay``)."""
    rng = np.random.default_rng(seed)
    click_time = np.sort(rng.uniform(0.0, days, n))
    user = rng.integers(0, 40, n)
    domain = rng.integers(0, 4, n)
    device = rng.integers(0, 3, n)
    logit = -1.6 + 1.0 * (domain == 1) + 0.6 * (device == 1) + 0.5 * (user % 3 == 0)
    probability = 1.0 / (1.0 + np.exp(-logit))
    converted = rng.random(n) < probability
    delay = np.zeros(n) if zero_delay else rng.exponential(mean_delay, n)
    return ConversionStream(
        user=user.astype(np.int64), user_age=rng.integers(16, 80, n).astype(np.int64),
        user_region=rng.integers(0, 5, n).astype(np.int64), item=rng.integers(0, 30, n).astype(np.int64),
        domain=domain.astype(np.int8), price=rng.lognormal(3.0, 0.5, n), relevance=np.zeros(n, np.int8),
        hour=np.floor((click_time % 1.0) * 24).astype(np.int8), device=device.astype(np.int8),
        click_time_days=click_time, conversion_probability=probability, converted=converted,
        delay_days=np.where(converted, delay, np.nan), base_logit=-1.6, attribution_window_days=attribution_window,
        cutoff_days=days,
    )  # fmt: skip


def small_config(waiting_window: float = 0.0, n_windows: int | None = 4, cutoff: float = 0.0) -> ProtocolConfig:
    """Pre-train 6 days, 1-day windows, a tiny model: a protocol run in about a second."""
    return ProtocolConfig(
        pretrain_days=6.0, window_days=1.0, n_windows=n_windows, observation_cutoff_days=cutoff, horizon_days=12.0,
        waiting_window_days=waiting_window, model=FitConfig(4, 8, 0.01, 0.0, 64, 2), window_epochs=1,
        auxiliary=FitConfig(4, 8, 0.01, 0.0, 64, 2), auxiliary_min_steps=10, label_age_days=2.0,
        fsiw_counterfactual_days=1.0, elapsed_scale_days=1.0, max_fsiw_weight=20.0,
    )  # fmt: skip
