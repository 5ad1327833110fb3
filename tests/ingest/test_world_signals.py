"""The world's delayed-conversion signals, read off its truth, and the figure's data."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from hermes_core.ingest import plots  # noqa: E402
from hermes_core.ingest.world_signals import (  # noqa: E402
    DELAY_SIGNAL_GOALS,
    SignalGoal,
    conversion_signals_table,
    delay_histogram,
    kg_signals,
    kg_signals_table,
)
from hermes_core.world.kg_signals import TWO_HOP_LIFT_GOAL  # noqa: E402
from hermes_core.world.conversions import delay_signals  # noqa: E402


def test_goal_bounds_are_inclusive_and_nan_never_meets_a_goal() -> None:
    band = SignalGoal(0.10, 0.30)
    assert [band.met(v) for v in (0.0999, 0.10, 0.2, 0.30, 0.3001)] == [False, True, True, True, False]
    assert SignalGoal(low=0.3).met(1.0) and not SignalGoal(low=0.3).met(float("nan"))
    assert band.text() == "10% to 30%" and SignalGoal(low=0.3).text() == "≥ 30%"


def test_the_table_reads_the_stream_and_judges_each_goal(tiny_world) -> None:  # type: ignore[no-untyped-def]
    signals = delay_signals(tiny_world.conversions)
    table = conversion_signals_table(signals)
    by_key = table.set_index("key")
    for key, goal in DELAY_SIGNAL_GOALS.items():
        assert by_key.loc[key, "value"] == signals[key]
        assert by_key.loc[key, "met"] == goal.met(signals[key])
    # the share after 7 days, recomputed from the truth arrays
    stream = tiny_world.conversions
    delays = stream.delay_days[stream.true_label]
    assert by_key.loc["conversions_after_7d", "value"] == pytest.approx(np.mean(delays > 7.0))


def test_the_histogram_counts_every_counted_conversion_once(tiny_world) -> None:  # type: ignore[no-untyped-def]
    stream = tiny_world.conversions
    histogram = delay_histogram(stream, n_bins=12)
    assert histogram["conversions"].sum() == int(stream.true_label.sum())
    movie = histogram[histogram["domain"] == "movie"]
    edges = np.append(movie["bin_low"].to_numpy(), movie["bin_high"].iloc[-1])
    delays = stream.delay_days[stream.true_label & (stream.domain == 0)]
    np.testing.assert_array_equal(movie["conversions"].to_numpy(), np.histogram(delays, bins=edges)[0])


def test_the_figure_draws_the_histogram_it_returns(tiny_world) -> None:  # type: ignore[no-untyped-def]
    stream = tiny_world.conversions
    histogram = delay_histogram(stream, n_bins=8)
    fig, data = plots.plot_conversion_delays(histogram, delay_signals(stream), stream.attribution_window_days)
    assert data is histogram
    drawn = sum(float(np.sum(patch.get_data().values)) for patch in fig.axes[0].patches)
    assert drawn == histogram["conversions"].sum()
    plt.close(fig)


def test_the_kg_table_judges_only_two_hop_relations_and_the_figure_draws_each_lift(tiny_world) -> None:  # type: ignore[no-untyped-def]
    table = kg_signals_table(tiny_world)
    two_hop = table["hops"] == 2
    assert list(table["met"][two_hop]) == [bool(v >= TWO_HOP_LIFT_GOAL) for v in table["lift"][two_hop]]
    assert table["met"][~two_hop].isna().all()
    entry = kg_signals(table)
    assert entry["best_two_hop_lift"] == table["lift"][two_hop].max()
    assert entry["relations"]["created_by"]["pairs"] == table.set_index("relation").loc["created_by", "pairs"]
    fig, data = plots.plot_kg_hop_lift(table, TWO_HOP_LIFT_GOAL)
    widths = [patch.get_width() for patch in fig.axes[0].patches]
    np.testing.assert_allclose(widths, table["lift"].to_numpy())
    assert list(data["relation"])[-1] == "collaborated_with (3 hops)"
    plt.close(fig)


def _signals(full: float, last: float, static: float, full_ci: tuple[float, float] | None = None,
             last_ci: tuple[float, float] | None = None):  # type: ignore[no-untyped-def]
    from hermes_core.world.sequence_signals import SequenceSignals

    full_ratio, last_ratio = full / last, last / static
    return SequenceSignals(held_out_days=14.0, k=10, n_sessions=5, n_events=40, n_events_long_history=20,
                           hit_rate={"full_history": full, "last_click": last, "static": static, "popularity": 0.05},
                           full_over_last_click=full_ratio, last_click_over_static=last_ratio,
                           history_variance_share=0.1, top10_not_in_static=0.4,
                           full_over_last_click_ci=full_ci or (full_ratio - 0.01, full_ratio + 0.01),
                           last_click_over_static_ci=last_ci or (last_ratio - 0.01, last_ratio + 0.01),
                           n_bootstrap=1000)


def test_sequence_table_judges_both_ratios_against_the_goal() -> None:
    from hermes_core.ingest.world_signals import sequence_signals_table

    table = sequence_signals_table(_signals(0.30, 0.25, 0.20))
    assert table.loc["HR ratio: full history / last click", "value"] == pytest.approx(1.2)
    assert table.loc["HR ratio: full history / last click", "met"]  # 1.20 >= 1.15
    assert table.loc["HR ratio: last click / static", "met"]  # 1.25 >= 1.15
    table = sequence_signals_table(_signals(0.25, 0.25, 0.24))
    assert not table.loc["HR ratio: full history / last click", "met"]
    assert not table.loc["HR ratio: last click / static", "met"]  # 1.04


def test_sequence_verdict_reports_a_tie_only_when_the_ratio_is_one() -> None:
    from hermes_core.ingest.world_signals import sequence_verdict

    tie = sequence_verdict(_signals(0.2, 0.2, 0.16))
    assert "exactly as often as the last click (ratio 1.00" in tie and "1.25× over static taste (meets" in tie
    lift = sequence_verdict(_signals(0.3, 0.2, 0.16))
    assert "exactly as often" not in lift and "1.50× over the last click (meets the 1.15 goal, the whole" in lift
    assert "beyond the resampling noise" in lift


def test_sequence_verdict_reads_each_ratio_with_its_interval() -> None:
    from hermes_core.ingest.world_signals import sequence_verdict

    # point estimate 1.18 above the goal, interval 1.12 to 1.24 reaching below it: met at the point only
    text = sequence_verdict(_signals(0.236, 0.2, 0.1, full_ci=(1.12, 1.24)))
    assert "1.18× over the last click (meets the 1.15 goal at the point estimate only" in text
    assert "interval 1.12 to 1.24" in text and "beyond the resampling noise" in text
    # below the goal with an interval reaching it; an interval including 1 is a tie with the last click
    text = sequence_verdict(_signals(0.22, 0.2, 0.1, full_ci=(0.98, 1.2)))
    assert "falls short of the 1.15 goal at the point estimate, though" in text and "a tie with the last click" in text
    text = sequence_verdict(_signals(0.21, 0.2, 0.1, full_ci=(1.01, 1.08)))
    assert "falls short of the 1.15 goal, the whole" in text


def test_kg_verdict_names_the_strongest_two_hop_relation() -> None:
    import pandas as pd

    from hermes_core.ingest.world_signals import kg_verdict

    table = pd.DataFrame({"relation": ["created_by", "has_theme", "collaborated_with"], "hops": [2, 2, 3],
                          "p_relevant": [0.42, 0.6, 0.9], "base_rate": [0.3, 0.3, 0.3], "lift": [1.4, 2.0, 3.0]})
    # the 3-hop row is not a candidate even though its lift is the largest
    assert kg_verdict(table).startswith("The strongest 2-hop relation, `has_theme`, has a lift of 2.00")
    assert "meets the goal of 1.5" in kg_verdict(table)


def test_feature_table_reads_the_hidden_factor_fit(tiny_world) -> None:  # type: ignore[no-untyped-def]
    from hermes_core.ingest.world_signals import feature_signals_table
    from hermes_core.world.feature_signals import hidden_factor_r2

    expected = hidden_factor_r2(tiny_world)
    table = feature_signals_table(expected)
    assert table["value"].tolist() == [expected["mean_r2"], expected["max_r2"]]
    assert table["met"].iloc[0] == (expected["mean_r2"] <= 0.3)


def _modality(gain: float, low: float, high: float, n_intent: int = 50):  # type: ignore[no-untyped-def]
    from hermes_core.world.modality_signals import ModalitySignals

    return ModalitySignals(k=10, n_cold_items=20, n_sessions=100, n_intent_sessions=n_intent,
                           ndcg_concatenation=0.6, ndcg_oracle=0.6 + gain, gain=gain,
                           gain_intent_sessions=2 * gain if n_intent else float("nan"), gain_ci_low=low,
                           gain_ci_high=high, level=0.95, n_bootstrap=1000, seed=0)


def test_modality_table_judges_the_gain_and_the_verdict_reads_the_interval() -> None:
    from hermes_core.ingest.world_signals import modality_signals_table, modality_verdict
    from hermes_core.world.modality_signals import MODALITY_GAIN_GOAL

    table = modality_signals_table(_modality(0.03, 0.02, 0.04)).set_index("key")
    assert table.loc["gain", "value"] == 0.03 and table.loc["gain", "met"] and table["met"].drop("gain").isna().all()
    assert table.loc["ndcg_oracle", "value"] == pytest.approx(0.63)
    assert not modality_signals_table(_modality(0.019, 0.01, 0.03)).set_index("key").loc["gain", "met"]
    text = modality_verdict(_modality(0.03, 0.02, 0.04))
    assert "from 0.600 to 0.630: a gain of +0.030 [+0.020, +0.040]" in text
    assert f"meets the goal of +{MODALITY_GAIN_GOAL:g}" in text and "within the noise" not in text
    assert "+0.060 on the 50 sessions with an intent" in text
    noisy = modality_verdict(_modality(0.01, -0.005, 0.025, n_intent=0))
    assert "within the noise" in noisy and "falls short of" in noisy and "no session has an intent" in noisy


def _exposure(impressions: float, saturated: float = 0.5):  # type: ignore[no-untyped-def]
    from hermes_core.world.exposure_signals import ExposureSignals

    return ExposureSignals(k=10, n_users=100, popularity_in_relevance=False, mainstream_share_top10=0.25,
                           mainstream_share_items=0.2, mainstream_share_warm_items=0.21,
                           mainstream_share_impressions=impressions, top_grade_items=40.0, top10_pairs_tied=0.9,
                           tied_pairs_affinity_differs=1.0, tied_pairs_click_differs=0.4,
                           top10_grade_saturated=saturated, similarity_fatigue=0.5, expected_clicks_fatigue=1.5,
                           expected_clicks_no_fatigue=1.6, fatigue_cost=1 - 1.5 / 1.6, near_duplicate_slates=0.75,
                           near_duplicate_pairs=3.0)


def test_exposure_table_reads_each_number_and_the_verdict_follows_them() -> None:
    from hermes_core.ingest.world_signals import exposure_signals_table, exposure_verdict

    signals = _exposure(0.5)
    table = exposure_signals_table(signals).set_index("key")
    for key in table.index:
        assert table.loc[key, "value"] == getattr(signals, key)
    text = exposure_verdict(signals)
    assert "20.0% of the items and 25.0% of users' true top-10 (popularity is not part of relevance)" in text
    assert "50.0% of the logged impressions: the logged slates over-expose them 2.00× against merit" in text
    assert "40.0 items at the top grade" in text and "the click model only 40% (50% of top-10 items" in text
    assert "1.500 expected clicks against 1.600" in text and "costs 6.2% of the clicks" in text
    assert "expose them only 0.80× as much as merit" in exposure_verdict(_exposure(0.2))


def _effects(placebo: float):  # type: ignore[no-untyped-def]
    from hermes_core.world.feature_effects import FeatureEffects

    return FeatureEffects(n_users=1000, region_domain_r2=0.2, region_domain_r2_by_domain={"movie": 0.2},
                          age_style_r2=0.6, placebo_domain_r2=placebo, placebo_style_r2=0.0001, n_sessions=300,
                          context_std=0.3, static_std=2.0, context_over_static=0.15)


def test_feature_effects_table_judges_the_placebo_and_the_verdict_flags_a_leak() -> None:
    from hermes_core.ingest.world_signals import feature_effects_table, feature_effects_verdict, placebo_r2_limit
    from hermes_core.world.feature_effects import expected_age_style_r2

    table = feature_effects_table(_effects(0.002)).set_index("key")
    assert table.loc["placebo_domain_r2", "met"] and table.loc["placebo_style_r2", "met"]
    assert table.loc["age_style_r2", "value"] == 0.6 and table.loc["context_over_static", "value"] == 0.15
    # 1,000 users: the 99 % noise limit is 6.635 / 1000
    assert placebo_r2_limit(1000) == 6.635 / 1000
    assert not feature_effects_table(_effects(2 * placebo_r2_limit(1000))).set_index("key").loc["placebo_domain_r2", "met"]
    text = feature_effects_verdict(_effects(0.002), 0.6)
    assert "region explains R² 0.200" in text and "age R² 0.600" in text
    assert f"population value {expected_age_style_r2(0.6):.3f}" in text
    assert "noise, as a feature without effect must" in text
    assert "by 0.15 of the static affinity's standard deviation" in text
    assert "check the world" in feature_effects_verdict(_effects(0.05), 0.6)


def test_injection_counts_are_the_truths_labels(tiny_world) -> None:  # type: ignore[no-untyped-def]
    from hermes_core.ingest.world_signals import injection_counts, injection_table, injection_verdict

    counts = injection_counts(tiny_world)
    descriptions, queries = tiny_world.catalogue.descriptions, tiny_world.queries.text
    assert counts["descriptions"] == len(descriptions) and counts["queries"] == len(queries)
    assert counts["injected_descriptions"] == sum(bool(flag) for flag in tiny_world.catalogue.injected)
    assert counts["injected_queries"] == sum(bool(flag) for flag in tiny_world.queries.injected)
    # round(share * n) texts are chosen (world.injections)
    assert counts["injected_descriptions"] == round(tiny_world.params.injection_share * len(descriptions))
    assert counts["injected_description_share"] == counts["injected_descriptions"] / len(descriptions)
    table = injection_table(counts)
    assert table.loc["text queries", "injected"] == counts["injected_queries"]
    start = f"{counts['injected_descriptions']} of {len(descriptions)} item descriptions"
    assert injection_verdict(counts).startswith(start)


@pytest.fixture(scope="module")
def tiny_signals(tiny_world):  # type: ignore[no-untyped-def]
    from hermes_core.ingest.world_signals import measure_world_signals

    return measure_world_signals(tiny_world)


def test_measured_signals_carry_every_new_signal_into_the_diagnostics(  # type: ignore[no-untyped-def]
        tiny_world, tiny_signals) -> None:
    import json

    from hermes_core.ingest.world_signals import injection_counts
    from hermes_core.world.exposure_signals import exposure_signals
    from hermes_core.world.feature_effects import feature_effects
    from hermes_core.world.modality_signals import modality_signals

    assert tiny_signals.modality == modality_signals(tiny_world, seed=tiny_world.params.seed)
    assert tiny_signals.exposure == exposure_signals(tiny_world)
    assert tiny_signals.feature_effects == feature_effects(tiny_world)
    assert tiny_signals.injections == injection_counts(tiny_world)
    entry = json.loads(json.dumps(tiny_signals.as_dict()))
    assert entry["modality"]["gain"] == tiny_signals.modality.gain and "meets_goal" in entry["modality"]
    assert entry["exposure"]["fatigue_cost"] == tiny_signals.exposure.fatigue_cost
    assert entry["feature_effects"]["age_style_r2"] == tiny_signals.feature_effects.age_style_r2
    assert entry["injections"] == tiny_signals.injections


def test_headline_reads_every_figure_from_the_diagnostics_entry(  # type: ignore[no-untyped-def]
        tiny_signals) -> None:
    # each headline number is the figure at its documented place of the diagnostics' world_signals
    # entry (as_dict, the JSON a researcher reads in full), under the name metrics/ingest.json gives it
    from hermes_core.ingest.world_signals import HEADLINE_KEYS
    from hermes_core.workspace import MAX_HEADLINE_METRICS

    headline = tiny_signals.headline()
    assert list(headline) == list(HEADLINE_KEYS) and 10 + len(headline) <= MAX_HEADLINE_METRICS
    assert len(headline) == 12  # dvc exp show --only-changed must fit in 40 columns (tests/test_pipeline_e2e.py)
    entry = tiny_signals.as_dict()
    conversions, kg, sequences = entry["conversions"], entry["kg"], entry["sequences"]
    modality, exposure, effects = entry["modality"], entry["exposure"], entry["feature_effects"]
    expected = {
        "conversions_after_7d": conversions["conversions_after_7d"],
        "last_week_unobserved": conversions["last_week_unobserved"],
        "best_two_hop_lift": max(kg["relations"][r]["lift"] for r in ("created_by", "has_genre", "has_theme",
                                                                       "has_style")),
        "full_over_last_click": sequences["hit_rate"]["full_history"] / sequences["hit_rate"]["last_click"],
        "last_click_over_static": sequences["hit_rate"]["last_click"] / sequences["hit_rate"]["static"],
        "history_variance_share": sequences["history_variance_share"],
        "modality_oracle_gain": modality["ndcg_oracle"] - modality["ndcg_concatenation"],
        "mainstream_share_top10": exposure["mainstream_share_top10"],
        "mainstream_share_items": exposure["mainstream_share_items"],
        "fatigue_cost": exposure["fatigue_cost"],
        "dense_hidden_r2": entry["features"]["max_r2"],
        "placebo_r2": max(effects["placebo_domain_r2"], effects["placebo_style_r2"]),
    }
    assert headline == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert all(isinstance(value, float) for value in headline.values())
