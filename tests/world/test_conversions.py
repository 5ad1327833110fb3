"""The click-to-conversion stream: what is observable when, its truth, its replay and persistence.

Streams are drawn from the shared tiny world's users and catalogue (``tests/conftest.py``) with
their own sizes; statistical checks use tolerances of a few standard errors computed in the
test from the sample, so a broken generator fails them while the fixed seeds keep them stable.
"""

from __future__ import annotations

from dataclasses import replace

from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hermes_core.world import World
from hermes_core.world.conversions import (
    AGE_LOGIT,
    AGE_MEAN,
    AGE_STD,
    DEVICE_LOGIT,
    EVENING_LOGIT,
    ConversionStream,
    delay_signals,
    generate_conversion_stream,
)
from hermes_core.world.params import DOMAINS, WorldParams

STREAM_SEED = 7


def with_conversions(params: WorldParams, **changes: Any) -> WorldParams:
    """``params`` with ``world.conversions`` changed (validated like a params file)."""
    data = params.model_dump()
    data["conversions"].update(changes)
    return WorldParams.model_validate(data)


def draw_stream(world: World, seed: int = STREAM_SEED, **changes: Any) -> ConversionStream:
    params = with_conversions(world.params, **changes)
    return generate_conversion_stream(replace(world.model, params=params), np.random.default_rng(seed))


def hand_stream(click_time: list[float], converted: list[bool], delay: list[float], window: float = 10.0,
                cutoff: float = 5.0) -> ConversionStream:
    """A stream written by hand (features are placeholders: only times and labels matter)."""
    n = len(click_time)
    return ConversionStream(
        user=np.zeros(n, np.int64), user_age=np.full(n, 40, np.int64), user_region=np.zeros(n, np.int64),
        item=np.zeros(n, np.int64), domain=np.zeros(n, np.int8), price=np.ones(n), relevance=np.zeros(n, np.int8),
        hour=np.zeros(n, np.int8), device=np.zeros(n, np.int8), click_time_days=np.array(click_time, float),
        conversion_probability=np.full(n, 0.5), converted=np.array(converted, bool),
        delay_days=np.where(converted, np.array(delay, float), np.nan), base_logit=0.0,
        attribution_window_days=window, cutoff_days=cutoff,
    )


@pytest.fixture(scope="module")
def stream(tiny_world: World) -> ConversionStream:
    """20,000 clicks over 60 days, 30% converting, a 20-day window (many conversions fall outside it)."""
    return draw_stream(tiny_world, n_clicks=20_000, conversion_rate=0.3, attribution_window_days=20.0)


# ---------------------------------------------------------------------- what is observable when
@settings(max_examples=80, deadline=None)
@given(t=st.floats(min_value=-1.0, max_value=120.0, allow_nan=False))
def test_labels_at_never_reveal_a_conversion_early_or_beyond_the_window(stream: ConversionStream, t: float) -> None:
    observed = stream.labels_at(t)
    made = stream.click_time_days <= t
    # exactly the clicks made by t, in time order, with their elapsed time
    assert np.array_equal(observed.click, np.flatnonzero(made))
    assert np.all(observed.elapsed_days >= 0.0)
    positive = observed.click[observed.label == 1]
    # never before the conversion happens, never after the window
    assert np.all(stream.click_time_days[positive] + stream.delay_days[positive] <= t)
    assert np.all(stream.delay_days[positive] <= stream.attribution_window_days)
    # and every counted conversion that has happened is shown
    due = made & stream.converted & (np.nan_to_num(stream.delay_days, nan=np.inf) <= stream.attribution_window_days)
    due &= stream.click_time_days + np.nan_to_num(stream.delay_days, nan=np.inf) <= t
    assert np.array_equal(positive, np.flatnonzero(due))
    assert np.allclose(observed.observed_delay_days[observed.label == 1], stream.delay_days[positive])
    assert np.all(np.isnan(observed.observed_delay_days[observed.label == 0]))


@settings(max_examples=40, deadline=None)
@given(t1=st.floats(min_value=0.0, max_value=100.0), step=st.floats(min_value=0.0, max_value=50.0))
def test_a_label_once_observed_stays_observed(stream: ConversionStream, t1: float, step: float) -> None:
    early, late = stream.labels_at(t1), stream.labels_at(t1 + step)
    assert len(late.click) >= len(early.click)
    assert np.all(late.label[: len(early.label)] >= early.label)


def test_a_conversion_beyond_the_window_never_counts(stream: ConversionStream) -> None:
    late = stream.converted & (np.nan_to_num(stream.delay_days) > stream.attribution_window_days)
    # with a 20-day window and a 9-day log-normal mean for products some conversions are late
    assert late.sum() > 10
    assert not stream.true_label[late].any()
    assert not stream.labels_at(1e9).label[late].any()
    assert np.array_equal(stream.labels_at(1e9).label.astype(bool), stream.true_label)


def test_fake_negative_share_of_a_hand_built_stream() -> None:
    # clicks at days 0, 1, 2, 3, 4; conversions at 0+1=1, 2+4=6 (counted), 3+12=15 (beyond the 10-day window)
    s = hand_stream([0, 1, 2, 3, 4], [True, False, True, True, False], [1, 0, 4, 12, 0])
    # at t=5: labels 1, 0, 0, 0, 0; the negatives' true labels are 0, 1, 0, 0: one fake negative of four
    assert s.labels_at(5.0).label.tolist() == [1, 0, 0, 0, 0]
    assert s.fake_negative_share(5.0) == pytest.approx(1 / 4)
    # at t=2.5: clicks 0..2; label 1, 0, 0; the negatives (clicks 1, 2) hold one eventual positive
    assert s.fake_negative_share(2.5) == pytest.approx(1 / 2)
    assert s.fake_negative_share(100.0) == 0.0
    assert np.isnan(hand_stream([0.0], [True], [0.5]).fake_negative_share(1.0))  # no negative at all


@pytest.mark.parametrize("t", [3.0, 30.0, 59.5, 75.0])
def test_fake_negative_share_matches_a_count_over_the_replayed_events(stream: ConversionStream, t: float) -> None:
    seen_clicks: set[int] = set()
    seen_conversions: set[int] = set()
    for event in stream.replay(until=t):
        (seen_clicks if event.kind == "click" else seen_conversions).add(event.click)
    negatives = seen_clicks - seen_conversions
    fake = sum(1 for c in negatives if stream.true_label[c])
    assert stream.fake_negative_share(t) == pytest.approx(fake / len(negatives), abs=1e-12)


# ---------------------------------------------------------------------- replay
def test_replay_is_in_time_order_with_each_click_before_its_conversion(stream: ConversionStream) -> None:
    events = list(stream.replay())
    times = np.array([e.time_days for e in events])
    assert np.all(np.diff(times) >= 0.0)
    assert sum(e.kind == "click" for e in events) == stream.n_clicks
    conversions = [e.click for e in events if e.kind == "conversion"]
    assert sorted(conversions) == np.flatnonzero(stream.true_label).tolist()
    position = {(e.kind, e.click): k for k, e in enumerate(events)}
    assert all(position[("click", c)] < position[("conversion", c)] for c in conversions)


def test_replay_breaks_ties_clicks_first() -> None:
    # click 1 converts with zero delay (its conversion ties with itself at 1.0); click 0 converts
    # at 0.5 + 1.5 = 2.0, tying with click 2 (all exact in binary floating point)
    s = hand_stream([0.5, 1.0, 2.0], [True, True, False], [1.5, 0.0, 0.0])
    order = [(e.kind, e.click) for e in s.replay()]
    assert order == [("click", 0), ("click", 1), ("conversion", 1), ("click", 2), ("conversion", 0)]
    assert [(e.kind, e.click) for e in s.replay(until=1.0)] == order[:3]


# ---------------------------------------------------------------------- the generative model
@pytest.mark.parametrize("distribution", ["lognormal", "exponential", "weibull"])
def test_delay_means_per_domain_match_the_parameters(tiny_world: World, distribution: str) -> None:
    means = {"movie": 2.0, "music": 1.0, "product": 8.0, "news": 0.5}
    s = draw_stream(tiny_world, n_clicks=40_000, conversion_rate=0.4, delay_distribution=distribution,
                    delay_shape=1.2, delay_mean_days=means)
    for d, name in enumerate(DOMAINS):
        delays = s.delay_days[s.converted & (s.domain == d)]
        assert len(delays) > 500, name
        standard_error = delays.std(ddof=1) / np.sqrt(len(delays))
        assert abs(delays.mean() - means[name]) < 4.0 * standard_error, (name, delays.mean())
        assert np.all(delays > 0.0)
    if distribution == "lognormal":  # sigma of log-delay is the shape parameter
        log_delay = np.log(s.delay_days[s.converted & (s.domain == DOMAINS.index("product"))])
        assert log_delay.std(ddof=1) == pytest.approx(1.2, abs=4 * 1.2 / np.sqrt(2 * len(log_delay)))


def test_conversion_rate_is_calibrated(stream: ConversionStream) -> None:
    # b0 is solved so that the mean probability over the drawn clicks is the target exactly
    assert stream.conversion_probability.mean() == pytest.approx(0.3, abs=1e-9)
    standard_error = np.sqrt(0.3 * 0.7 / stream.n_clicks)
    assert abs(stream.converted.mean() - 0.3) < 4 * standard_error


def test_click_features_agree_with_the_world_and_the_documented_logit(tiny_world: World,
                                                                      stream: ConversionStream) -> None:
    # features follow their clicks through the sort by time
    assert np.all(np.diff(stream.click_time_days) >= 0) and stream.click_time_days[-1] < 60.0
    assert np.array_equal(stream.hour, np.floor(24 * (stream.click_time_days % 1.0)).astype(np.int8))
    assert np.array_equal(stream.relevance, tiny_world.pair_relevance(stream.user, stream.item))
    assert np.array_equal(stream.user_age, tiny_world.users.age[stream.user])
    assert np.array_equal(stream.domain, tiny_world.catalogue.domain[stream.item])
    assert not tiny_world.catalogue.is_cold[stream.item].any()
    # the logit of the module docstring, recomputed from the world's own tables
    p, scales = tiny_world.params, tiny_world.scales
    price = tiny_world.catalogue.price[stream.item]
    z_price = (np.log(price) - scales.log_price_mean) / scales.log_price_std
    hour = stream.hour
    logit = (stream.base_logit + p.conversion_relevance_coef * stream.relevance
             + p.conversion_price_coef * z_price * (stream.domain == DOMAINS.index("product"))
             + DEVICE_LOGIT[stream.device] + EVENING_LOGIT * ((hour >= 18) & (hour < 23))
             + AGE_LOGIT * (stream.user_age - AGE_MEAN) / AGE_STD)
    assert np.allclose(np.log(stream.conversion_probability / (1 - stream.conversion_probability)), logit)
    # relevant clicks convert more: grade 4 against grade 0 (0.4 logit per grade)
    assert stream.converted[stream.relevance == 4].mean() > stream.converted[stream.relevance == 0].mean()


def test_delay_signals_of_a_hand_built_stream() -> None:
    # window 10, cut-off 5; counted conversions have delays 1 and 4; the 12-day one is beyond the window
    s = hand_stream([0, 1, 2, 3, 4], [True, False, True, True, False], [1, 0, 4, 12, 0])
    signals = delay_signals(s)
    assert signals["conversions_after_1d"] == pytest.approx(1 / 2)  # delay 4 > 1, delay 1 is not
    assert signals["conversions_after_7d"] == 0.0
    assert signals["conversions_beyond_window"] == pytest.approx(1 / 3)
    # clicks in (-2, 5] with true label 1: clicks 0 and 2; click 2 converts at 6 > 5
    assert signals["last_week_unobserved"] == pytest.approx(1 / 2)
    assert signals["fake_negative_share"] == pytest.approx(1 / 4)
    assert (signals["n_clicks"], signals["n_conversions"]) == (5.0, 2.0)


# ---------------------------------------------------------------------- determinism and persistence
def small_params(world: World, **changes: Any) -> WorldParams:
    return with_conversions(world.params, n_clicks=3_000, **changes)


def stream_arrays(s: ConversionStream) -> dict[str, np.ndarray]:
    return {f.name: np.asarray(getattr(s, f.name)) for f in fields(s)}


def test_same_seed_same_stream_and_another_seed_another(tiny_world: World) -> None:
    params = small_params(tiny_world)
    first, second = World.generate(params).conversions, World.generate(params).conversions
    for name, value in stream_arrays(first).items():
        assert np.array_equal(value, stream_arrays(second)[name], equal_nan=value.dtype.kind == "f"), name
    other = World.generate(params.model_copy(update={"seed": params.seed + 1})).conversions
    assert not np.array_equal(other.click_time_days, first.click_time_days)


def test_the_stream_has_its_own_seed_stream(tiny_world: World) -> None:
    # changing the stream's parameters leaves every other component of the world untouched
    first = World.generate(small_params(tiny_world))
    second = World.generate(small_params(tiny_world, delay_distribution="weibull", conversion_rate=0.2))
    assert np.array_equal(first.logs.conversion_time, second.logs.conversion_time, equal_nan=True)
    assert np.array_equal(first.catalogue.dense_features, second.catalogue.dense_features)
    assert np.array_equal(first.relevance(np.arange(20)), second.relevance(np.arange(20)))
    assert first.conversions.n_clicks == second.conversions.n_clicks == 3_000
    assert not np.array_equal(first.conversions.converted, second.conversions.converted)


def test_save_and_load_round_trip_byte_stable(tiny_world: World, tmp_path: Path) -> None:
    world = World.generate(small_params(tiny_world))
    world.save(tmp_path / "a")
    loaded = World.load(tmp_path / "a")
    for name, value in stream_arrays(world.conversions).items():
        again = stream_arrays(loaded.conversions)[name]
        assert value.dtype == again.dtype, name
        assert np.array_equal(value, again, equal_nan=value.dtype.kind == "f"), name
    loaded.save(tmp_path / "b")
    assert (tmp_path / "a" / "conversions.npz").read_bytes() == (tmp_path / "b" / "conversions.npz").read_bytes()
    # a world saved before the stream existed regenerates the same stream
    (tmp_path / "a" / "conversions.npz").unlink()
    assert np.array_equal(World.load(tmp_path / "a").conversions.delay_days, world.conversions.delay_days,
                          equal_nan=True)
    with pytest.raises(FileNotFoundError, match="no conversion stream"):
        ConversionStream.load(tmp_path / "nowhere.npz")
