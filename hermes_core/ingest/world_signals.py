"""What the world can test: the size of each signal a later stage's method must find.

A method can only be told apart from a baseline when the world holds a signal of a known,
measured size. This module reads those sizes off the world's truth and sets them against the
goals a later stage needs (issue 9, "World v2"): delayed conversions, the knowledge graph's
multi-hop relevance, the sessions' history, the side features' leak of the hidden factor, the
modality intent, exposure against merit with ties and similarity fatigue, the planted feature
effects and the injected instructions. For the click-to-conversion stream of the delayed-feedback
stage (:mod:`hermes_core.world.conversions`):

* the share of counted conversions arriving more than 1, 7 and 14 days after their click: a
  correction for delayed labels matters only if many arrive late (goal: 10-30 % after 7 days);
* among the eventual positives clicked in the last 7 days before the cut-off, the share still
  unobserved at the cut-off: the fake negatives a naive model trains on (goal: at least 30 %).

and the knowledge graph (:mod:`hermes_core.world.kg_signals`): for each relation, how much likelier
an item reached in 2 hops (3 through collaborations) from a relevant item is relevant than any item
of its domain (goal: one 2-hop relation at 1.5 times the base rate or more); also the session
signals (:mod:`hermes_core.world.sequence_signals`) and the hidden factor's fit on the side features
(:mod:`hermes_core.world.feature_signals`); the modality oracle's cold-start gain
(:mod:`hermes_core.world.modality_signals`, goal: at least +0.02 NDCG@10); merit against exposure,
grade ties and the cost of similarity fatigue on users' true top-10
(:mod:`hermes_core.world.exposure_signals`); the measured size of the planted feature effects
(:mod:`hermes_core.world.feature_effects`); and the count of planted prompt injections
(:func:`injection_counts`).

:func:`measure_world_signals` measures them all once (:class:`WorldSignals`); the tables, verdicts
(sentences computed from the numbers, never typed by hand), the headline numbers
(:meth:`WorldSignals.headline`) and the diagnostics read that result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hermes_core.world import World
from hermes_core.world.conversions import ConversionStream, delay_signals
from hermes_core.world.exposure_signals import ExposureSignals, exposure_signals
from hermes_core.world.feature_effects import FeatureEffects, expected_age_style_r2, feature_effects
from hermes_core.world.feature_signals import HIDDEN_R2_GOAL, hidden_factor_r2
from hermes_core.world.kg_signals import TWO_HOP_LIFT_GOAL, kg_hop_lift_table
from hermes_core.world.modality_signals import MODALITY_GAIN_GOAL, ModalitySignals, modality_signals
from hermes_core.world.params import DOMAINS
from hermes_core.world.sequence_signals import RATIO_GOAL, SequenceSignals, sequence_signals


@dataclass(frozen=True)
class SignalGoal:
    """A signal's goal: ``low <= value <= high`` (either end may be open)."""

    low: float | None = None
    high: float | None = None

    def met(self, value: float) -> bool:
        return bool(np.isfinite(value)) and (self.low is None or value >= self.low) and (
            self.high is None or value <= self.high)

    def text(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.low:.0%} to {self.high:.0%}"
        return f"≥ {self.low:.0%}" if self.low is not None else f"≤ {self.high:.0%}"


DELAY_SIGNAL_GOALS: dict[str, SignalGoal] = {
    "conversions_after_7d": SignalGoal(0.10, 0.30),
    "last_week_unobserved": SignalGoal(low=0.30),
}
"""The delayed-feedback goals of issue 9 ("Conversions and delays")."""

DELAY_SIGNAL_LABELS: dict[str, str] = {
    "conversions_after_1d": "conversions arriving after 1 day",
    "conversions_after_7d": "conversions arriving after 7 days",
    "conversions_after_14d": "conversions arriving after 14 days",
    "conversions_beyond_window": "eventual conversions beyond the attribution window (never counted)",
    "last_week_unobserved": "last week's eventual positives unobserved at the cut-off",
    "fake_negative_share": "clicks observed negative at the cut-off that convert later",
    "counted_conversion_rate": "clicks with a counted conversion",
}


def conversion_signals_table(signals: dict[str, float]) -> pd.DataFrame:
    """One row per delayed-feedback signal (``signals``: :func:`~hermes_core.world.conversions.delay_signals`
    of the world's stream at its cut-off): ``value``, the ``goal`` (blank where the issue sets none)
    and whether it is ``met``."""
    rows = []
    for key, label in DELAY_SIGNAL_LABELS.items():
        goal = DELAY_SIGNAL_GOALS.get(key)
        rows.append({"signal": label, "key": key, "value": signals[key],
                     "goal": goal.text() if goal else "", "met": goal.met(signals[key]) if goal else None})
    return pd.DataFrame(rows).set_index("signal")


def delay_histogram(stream: ConversionStream, n_bins: int = 40) -> pd.DataFrame:
    """Counted conversions per domain in log-spaced delay bins (days): ``domain, bin_low,
    bin_high, conversions``; the bins span the smallest to the largest counted delay."""
    delays = stream.delay_days[stream.true_label]
    if len(delays) == 0:
        return pd.DataFrame(columns=["domain", "bin_low", "bin_high", "conversions"])
    low, high = max(float(delays.min()), 1e-3), float(delays.max())
    edges = np.logspace(np.log10(low), np.log10(high), n_bins + 1)
    edges[0], edges[-1] = min(edges[0], float(delays.min())), high
    domains = stream.domain[stream.true_label]
    frames = []
    for index, name in enumerate(DOMAINS):
        counts, _ = np.histogram(delays[domains == index], bins=edges)
        frames.append(pd.DataFrame({"domain": name, "bin_low": edges[:-1], "bin_high": edges[1:],
                                    "conversions": counts}))
    return pd.concat(frames, ignore_index=True)


def kg_signals_table(world: World) -> pd.DataFrame:
    """:func:`~hermes_core.world.kg_signals.kg_hop_lift_table` of the world, with ``met``: whether a
    2-hop relation reaches :data:`~hermes_core.world.kg_signals.TWO_HOP_LIFT_GOAL` (``None`` for the
    3-hop collaboration path, which the goal does not cover)."""
    table = kg_hop_lift_table(world)
    table["met"] = [bool(lift >= TWO_HOP_LIFT_GOAL) if hops == 2 else None
                    for lift, hops in zip(table["lift"], table["hops"])]
    return table


def kg_signals(table: pd.DataFrame) -> dict[str, Any]:
    """The diagnostics' ``kg`` entry of a :func:`kg_signals_table`: per relation its ``hops``,
    ``p_relevant``, ``base_rate``, ``lift`` and ``pairs``; the best 2-hop lift and the goal."""
    by_relation = {row.relation: {"hops": int(row.hops), "p_relevant": float(row.p_relevant),
                                  "base_rate": float(row.base_rate), "lift": float(row.lift),
                                  "pairs": int(row.pairs)} for row in table.itertuples()}
    two_hop = table.loc[table["hops"] == 2, "lift"]
    return {"relations": by_relation, "best_two_hop_lift": float(two_hop.max()) if len(two_hop) else None,
            "two_hop_lift_goal": TWO_HOP_LIFT_GOAL}


def kg_verdict(table: pd.DataFrame) -> str:
    """One sentence on the strongest 2-hop relation of a :func:`kg_signals_table` against the goal."""
    two_hop = table[table["hops"] == 2]
    if two_hop.empty:
        return "No 2-hop relation was measured."
    best = two_hop.sort_values("lift").iloc[-1]
    verdict = "meets" if best["lift"] >= TWO_HOP_LIFT_GOAL else "falls short of"
    return (f"The strongest 2-hop relation, `{best['relation']}`, has a lift of {best['lift']:.2f} "
            f"(P(grade ≥ 3) {best['p_relevant']:.3f} against {best['base_rate']:.3f}): it {verdict} "
            f"the goal of {TWO_HOP_LIFT_GOAL:g}.")


SCORER_LABELS: dict[str, str] = {
    "full_history": "contextual affinity, full session history",
    "last_click": "contextual affinity, last click only",
    "static": "static affinity (no history)",
    "popularity": "popularity",
}


def sequence_signals_table(signals: SequenceSignals) -> pd.DataFrame:
    """The sequence signals as (signal, value, ci_low, ci_high, goal, met) rows: next-click HR@k of
    the four truth scorers, the two ratios the issue sets goals for (with their session-bootstrap
    intervals), the history's share of the contextual affinity's variance and the top-10 turnover."""
    rows = [{"signal": f"HR@{signals.k}: {SCORER_LABELS[name]}", "value": rate, "goal": "", "met": None}
            for name, rate in signals.hit_rate.items()]
    for key, label in (("full_over_last_click", "HR ratio: full history / last click"),
                       ("last_click_over_static", "HR ratio: last click / static")):
        low, high = getattr(signals, f"{key}_ci")
        rows.append({"signal": label, "value": getattr(signals, key), "ci_low": low, "ci_high": high,
                     "goal": f"≥ {RATIO_GOAL:g}", "met": signals.meets_goals[key]})
    rows.append({"signal": "share of contextual-affinity variance due to history",
                 "value": signals.history_variance_share, "goal": "", "met": None})
    rows.append({"signal": "share of top-10 contextual items not in the static top-10",
                 "value": signals.top10_not_in_static, "goal": "", "met": None})
    return pd.DataFrame(rows, columns=["signal", "value", "ci_low", "ci_high", "goal", "met"]).set_index("signal")


def _goal_reading(value: float, interval: tuple[float, float], level: float) -> str:
    """How a ratio stands against :data:`RATIO_GOAL` once its interval is read too."""
    low, high = interval
    span = f"{level:.0%} session-bootstrap interval {low:.2f} to {high:.2f}"
    if low >= RATIO_GOAL:
        return f"meets the {RATIO_GOAL:g} goal, the whole {span} above it"
    if value >= RATIO_GOAL:
        return (f"meets the {RATIO_GOAL:g} goal at the point estimate only: the {span} reaches below it, "
                f"so another draw of the world could fall short")
    if high >= RATIO_GOAL:
        return f"falls short of the {RATIO_GOAL:g} goal at the point estimate, though the {span} reaches it"
    return f"falls short of the {RATIO_GOAL:g} goal, the whole {span} below it"


def sequence_verdict(signals: SequenceSignals) -> str:
    """What the two ratios say against the goal, each read with its interval, so that it is false
    if the numbers change."""
    full, last = signals.full_over_last_click, signals.last_click_over_static
    parts = [f"Over {signals.n_events:,} next clicks of {signals.n_sessions:,} held-out sessions (last "
             f"{signals.held_out_days:g} days), the last click lifts HR@{signals.k} {last:.2f}× over static taste "
             f"({_goal_reading(last, signals.last_click_over_static_ci, signals.ci_level)})"]
    if abs(full - 1.0) < 1e-12:
        parts.append(f"the full history ranks the next click in the top {signals.k} exactly as often as the last click "
                     f"(ratio 1.00; {signals.n_events_long_history:,} of the events have more than one earlier click)")
    else:
        low = signals.full_over_last_click_ci[0]
        parts.append(f"the full history lifts it {full:.2f}× over the last click "
                     f"({_goal_reading(full, signals.full_over_last_click_ci, signals.ci_level)}; "
                     + ("the gain over the last click itself is beyond the resampling noise, the interval above 1)"
                        if low > 1.0 else "an interval that includes 1: a tie with the last click within the noise)"))
    return "; ".join(parts) + "."


def feature_signals_table(result: dict[str, float]) -> pd.DataFrame:
    """The hidden factor's :math:`R^2` on the dense side features (mean and largest over its
    coordinates; ``result``: :func:`~hermes_core.world.feature_signals.hidden_factor_r2`) against the goal."""
    goal = SignalGoal(high=HIDDEN_R2_GOAL)
    return pd.DataFrame([
        {"signal": "R² of the hidden factor on dense_features, mean over coordinates", "value": result["mean_r2"],
         "goal": goal.text(), "met": goal.met(result["mean_r2"])},
        {"signal": "R² of the hidden factor on dense_features, largest coordinate", "value": result["max_r2"],
         "goal": "", "met": None},
    ]).set_index("signal")



def _row(key: str, label: str, value: float, goal: str = "", met: bool | None = None) -> dict[str, Any]:
    return {"signal": label, "key": key, "value": value, "goal": goal, "met": met}


def modality_signals_table(signals: ModalitySignals) -> pd.DataFrame:
    """The modality oracle's cold-start NDCG@k (:func:`~hermes_core.world.modality_signals.modality_signals`)
    as (signal, key, value, goal, met) rows; the goal is judged on the mean gain."""
    k = signals.k
    return pd.DataFrame([
        _row("ndcg_concatenation", f"cold-start NDCG@{k}: concatenation (no intent)", signals.ndcg_concatenation),
        _row("ndcg_oracle", f"cold-start NDCG@{k}: concatenation with the session's true intent", signals.ndcg_oracle),
        _row("gain", "oracle gain, all sessions", signals.gain, f"≥ +{MODALITY_GAIN_GOAL:g}", signals.meets_goal),
        _row("gain_ci_low", f"oracle gain, {signals.level:.0%} bootstrap interval: low", signals.gain_ci_low),
        _row("gain_ci_high", f"oracle gain, {signals.level:.0%} bootstrap interval: high", signals.gain_ci_high),
        _row("gain_intent_sessions", "oracle gain, sessions with a modality intent", signals.gain_intent_sessions),
    ]).set_index("signal")


def modality_verdict(signals: ModalitySignals) -> str:
    """What the oracle's gain says against the goal, read so that it is false if the numbers change."""
    judged = "meets" if signals.meets_goal else "falls short of"
    interval = (f"{signals.gain:+.3f} [{signals.gain_ci_low:+.3f}, {signals.gain_ci_high:+.3f}] "
                f"({signals.level:.0%} bootstrap interval over sessions)")
    excludes_zero = signals.gain_ci_low > 0.0 or signals.gain_ci_high < 0.0
    noise = "" if excludes_zero else "; the interval contains 0, so the gain is within the noise"
    intent = (f", {signals.gain_intent_sessions:+.3f} on the {signals.n_intent_sessions:,} sessions with an intent"
              if signals.n_intent_sessions else ", and no session has an intent")
    return (f"Ranking the {signals.n_cold_items:,} cold items for {signals.n_sessions:,} sessions by concatenated "
            f"content, knowing the session's true modality intent moves NDCG@{signals.k} from "
            f"{signals.ndcg_concatenation:.3f} to {signals.ndcg_oracle:.3f}: a gain of {interval}{intent}{noise}; "
            f"it {judged} the goal of +{MODALITY_GAIN_GOAL:g}.")


def exposure_signals_table(signals: ExposureSignals) -> pd.DataFrame:
    """Merit against exposure, grade ties and the cost of similarity fatigue
    (:func:`~hermes_core.world.exposure_signals.exposure_signals`) as (signal, key, value, goal, met)
    rows; the issue sets no goal on these, it asks for them to be reported."""
    k = signals.k
    rows = [
        ("mainstream_share_items", "mainstream share of the catalogue"),
        ("mainstream_share_top10", f"mainstream share of users' true top-{k}"),
        ("mainstream_share_impressions", "mainstream share of logged impressions"),
        ("top_grade_items", "items at the top grade per user (mean)"),
        ("top10_pairs_tied", f"pairs in a top-{k} with equal grades"),
        ("tied_pairs_affinity_differs", "of those, pairs the continuous affinity orders"),
        ("tied_pairs_click_differs", "of those, pairs the click model's continuous grade orders"),
        ("top10_grade_saturated", f"top-{k} items at the click model's ceiling (continuous grade 4)"),
        ("expected_clicks_fatigue", f"expected clicks of the top-{k} in affinity order"),
        ("expected_clicks_no_fatigue", "the same without similarity fatigue"),
        ("fatigue_cost", "share of those clicks lost to similarity fatigue"),
        ("near_duplicate_slates", f"top-{k} slates with a near-duplicate pair"),
        ("near_duplicate_pairs", f"near-duplicate pairs per top-{k} slate (mean)"),
    ]
    return pd.DataFrame([_row(key, label, float(getattr(signals, key))) for key, label in rows]).set_index("signal")


def exposure_verdict(signals: ExposureSignals) -> str:
    """Three sentences on merit against exposure, ties and fatigue, computed from the numbers."""
    s, k = signals, signals.k
    cause = f"popularity is {'' if s.popularity_in_relevance else 'not '}part of relevance"
    over = s.mainstream_share_impressions / s.mainstream_share_top10 if s.mainstream_share_top10 else float("nan")
    exposure = (f"over-expose them {over:.2f}× against merit" if over > 1.0 else
                f"expose them only {over:.2f}× as much as merit")
    merit = (f"Mainstream creators make {s.mainstream_share_items:.1%} of the items and "
             f"{s.mainstream_share_top10:.1%} of users' true top-{k} ({cause}), but "
             f"{s.mainstream_share_impressions:.1%} of the logged impressions: the logged slates {exposure}.")
    ties = (f"Each user has {s.top_grade_items:.1f} items at the top grade on average, and "
            f"{s.top10_pairs_tied:.0%} of the pairs in a top-{k} share a grade; the continuous affinity orders "
            f"{s.tied_pairs_affinity_differs:.0%} of those, the click model only {s.tied_pairs_click_differs:.0%} "
            f"({s.top10_grade_saturated:.0%} of top-{k} items sit at its ceiling).")
    fatigue = (f"Shown in affinity order, a top-{k} draws {s.expected_clicks_fatigue:.3f} expected clicks against "
               f"{s.expected_clicks_no_fatigue:.3f} without similarity fatigue (φ = {s.similarity_fatigue:g}): "
               f"repeating similar items costs {s.fatigue_cost:.1%} of the clicks, and "
               f"{s.near_duplicate_slates:.1%} of these slates hold a near-duplicate pair.")
    return " ".join((merit, ties, fatigue))


PLACEBO_CHI2_99 = 6.635
"""99th percentile of chi-squared with 1 degree of freedom."""


def placebo_r2_limit(n_users: int) -> float:
    """The largest placebo :math:`R^2` the verdict calls noise: with no effect, ``n R^2`` of one
    regressor is asymptotically chi-squared with 1 degree of freedom, so ``6.635 / n`` is its 99th
    percentile (a leak of that size or more is flagged; noise is flagged 1 % of the time)."""
    return PLACEBO_CHI2_99 / max(int(n_users), 1)


def feature_effects_table(effects: FeatureEffects) -> pd.DataFrame:
    """The planted feature effects' sizes (:func:`~hermes_core.world.feature_effects.feature_effects`) as
    (signal, key, value, goal, met) rows; the placebo rows are judged against :func:`placebo_r2_limit`."""
    limit = placebo_r2_limit(effects.n_users)
    return pd.DataFrame([
        _row("region_domain_r2", "R² of region on domain tastes (mean over domains)", effects.region_domain_r2),
        _row("age_style_r2", "R² of age on the looks along the age direction", effects.age_style_r2),
        _row("placebo_domain_r2", "R² of the placebo (newsletter) on domain tastes", effects.placebo_domain_r2,
             f"≤ {limit:.4f}", effects.placebo_domain_r2 <= limit),
        _row("placebo_style_r2", "R² of the placebo (newsletter) on the looks", effects.placebo_style_r2,
             f"≤ {limit:.4f}", effects.placebo_style_r2 <= limit),
        _row("context_over_static", "sd of the hour's term / sd of static affinity", effects.context_over_static),
    ]).set_index("signal")


def feature_effects_verdict(effects: FeatureEffects, age_style_effect: float) -> str:
    """What the planted effects measure, with the age effect's population value for
    ``age_style_effect`` (``world.age_style_effect``) beside it."""
    placebo = max(effects.placebo_domain_r2, effects.placebo_style_r2)
    limit = placebo_r2_limit(effects.n_users)
    placebo_text = ("noise, as a feature without effect must" if placebo <= limit
                    else f"more than the {limit:.4f} noise allows for {effects.n_users:,} users: check the world")
    return (f"Over {effects.n_users:,} users, region explains R² {effects.region_domain_r2:.3f} of the domain tastes "
            f"(mean over domains) and age R² {effects.age_style_r2:.3f} of the looks along the age direction "
            f"(population value {expected_age_style_r2(age_style_effect):.3f}); the placebo newsletter flag explains "
            f"{effects.placebo_domain_r2:.4f} and {effects.placebo_style_r2:.4f}, {placebo_text}. Over "
            f"{effects.n_sessions:,} sessions, the hour of day moves affinity by {effects.context_over_static:.2f} "
            f"of the static affinity's standard deviation.")


def injection_counts(world: World) -> dict[str, float]:
    """How many item descriptions and text queries carry planted instructions (``catalogue.injected``,
    ``queries.injected``): counts, totals and shares, and the configured ``world.injection_share``."""
    descriptions, queries = world.catalogue.injected, world.queries.injected
    return {
        "injected_descriptions": int(descriptions.sum()),
        "descriptions": int(len(descriptions)),
        "injected_description_share": float(descriptions.mean()) if len(descriptions) else float("nan"),
        "injected_queries": int(queries.sum()),
        "queries": int(len(queries)),
        "injected_query_share": float(queries.mean()) if len(queries) else float("nan"),
        "injection_share": float(world.params.injection_share),
    }


def injection_table(counts: dict[str, float]) -> pd.DataFrame:
    """:func:`injection_counts` as one row per kind of text: ``injected``, ``total``, ``share``."""
    return pd.DataFrame([
        {"text": "item descriptions", "injected": counts["injected_descriptions"], "total": counts["descriptions"],
         "share": counts["injected_description_share"]},
        {"text": "text queries", "injected": counts["injected_queries"], "total": counts["queries"],
         "share": counts["injected_query_share"]},
    ]).set_index("text")


def injection_verdict(counts: dict[str, float]) -> str:
    """One sentence on the planted instructions, from :func:`injection_counts`."""
    return (f"{counts['injected_descriptions']:,} of {counts['descriptions']:,} item descriptions "
            f"({counts['injected_description_share']:.1%}) and {counts['injected_queries']:,} of {counts['queries']:,} "
            f"text queries ({counts['injected_query_share']:.1%}) carry planted instructions, labelled in the truth "
            f"(configured share {counts['injection_share']:.1%}).")


HEADLINE_KEYS: tuple[str, ...] = (
    "conversions_after_7d", "last_week_unobserved", "best_two_hop_lift", "full_over_last_click",
    "last_click_over_static", "history_variance_share", "modality_oracle_gain", "mainstream_share_top10",
    "mainstream_share_items", "fatigue_cost", "dense_hidden_r2", "placebo_r2",
)
"""The numbers of :meth:`WorldSignals.headline`, in order: one per signal issue 9 sets a goal on
or asks to report, twelve in all, so that ``dvc exp show --only-changed`` for one changed parameter
still fits in 40 columns (issue 7). Every other figure (the hit rates, each relation's lift, the
NDCG levels, the shares of impressions, the feature effects, the intervals) is in the diagnostics'
``world_signals`` entry (:meth:`as_dict`) and in notebook 01 section 7."""


@dataclass(frozen=True)
class WorldSignals:
    """Every signal of a world, measured once (:func:`measure_world_signals`); the notebook's
    tables and figures and the diagnostics' ``world_signals`` entry (:meth:`as_dict`) all read it."""

    conversions: dict[str, float]  # delay_signals of world.conversions
    kg: pd.DataFrame  # kg_signals_table
    sequences: SequenceSignals  # sequence_signals at their defaults
    features: dict[str, float]  # hidden_factor_r2
    modality: ModalitySignals  # modality_signals at their defaults
    exposure: ExposureSignals  # exposure_signals at their defaults
    feature_effects: FeatureEffects  # feature_effects
    injections: dict[str, float]  # injection_counts

    def as_dict(self) -> dict[str, Any]:
        """The diagnostics' ``world_signals`` entry."""
        return {"conversions": self.conversions, "kg": kg_signals(self.kg), "sequences": self.sequences.as_dict(),
                "features": self.features, "modality": self.modality.as_dict(), "exposure": self.exposure.as_dict(),
                "feature_effects": self.feature_effects.as_dict(), "injections": self.injections}

    def headline(self) -> dict[str, float | None]:
        """The :data:`HEADLINE_KEYS` numbers, flat, for ``metrics/ingest.json: world_signals``
        (``dense_hidden_r2`` is the largest hidden coordinate's :math:`R^2`, ``placebo_r2`` the larger
        of the placebo's two :math:`R^2`)."""
        values: dict[str, Any] = {
            "conversions_after_7d": self.conversions["conversions_after_7d"],
            "last_week_unobserved": self.conversions["last_week_unobserved"],
            "best_two_hop_lift": kg_signals(self.kg)["best_two_hop_lift"],
            "full_over_last_click": self.sequences.full_over_last_click,
            "last_click_over_static": self.sequences.last_click_over_static,
            "history_variance_share": self.sequences.history_variance_share,
            "modality_oracle_gain": self.modality.gain,
            "mainstream_share_top10": self.exposure.mainstream_share_top10,
            "mainstream_share_items": self.exposure.mainstream_share_items,
            "fatigue_cost": self.exposure.fatigue_cost,
            "dense_hidden_r2": self.features["max_r2"],
            "placebo_r2": max(self.feature_effects.placebo_domain_r2, self.feature_effects.placebo_style_r2),
        }
        return {key: None if values[key] is None or not np.isfinite(values[key]) else float(values[key])
                for key in HEADLINE_KEYS}


def measure_world_signals(world: World) -> WorldSignals:
    """The delayed-conversion, knowledge-graph, session, side-feature, modality, exposure,
    feature-effect and injection signals of ``world``; the bootstrap intervals draw from
    ``world.seed`` (``params.yaml``), so the same world gives the same numbers."""
    seed = world.params.seed
    return WorldSignals(conversions=delay_signals(world.conversions), kg=kg_signals_table(world),
                        sequences=sequence_signals(world, seed=seed), features=hidden_factor_r2(world),
                        modality=modality_signals(world, seed=seed), exposure=exposure_signals(world),
                        feature_effects=feature_effects(world), injections=injection_counts(world))
