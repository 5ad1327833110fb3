"""What the world can test: the size of each signal a later stage's method must find.

A method can only be told apart from a baseline when the world holds a signal of a known,
measured size. This module reads those sizes off the world's truth and sets them against the
goals a later stage needs (issue 9, "World v2"). Today it covers the click-to-conversion stream
of the delayed-feedback stage (:mod:`hermes_core.world.conversions`):

* the share of counted conversions arriving more than 1, 7 and 14 days after their click: a
  correction for delayed labels matters only if many arrive late (goal: 10-30 % after 7 days);
* among the eventual positives clicked in the last 7 days before the cut-off, the share still
  unobserved at the cut-off: the fake negatives a naive model trains on (goal: at least 30 %).

and the knowledge graph (:mod:`hermes_core.world.kg_signals`): for each relation, how much likelier
an item reached in 2 hops (3 through collaborations) from a relevant item is relevant than any item
of its domain (goal: one 2-hop relation at 1.5 times the base rate or more); also the session
signals (:mod:`hermes_core.world.sequence_signals`) and the hidden factor's fit on the side features
(:mod:`hermes_core.world.feature_signals`).

:func:`measure_world_signals` measures all four once (:class:`WorldSignals`); the tables, verdicts
and the diagnostics read that result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hermes_core.world import World
from hermes_core.world.conversions import ConversionStream, delay_signals
from hermes_core.world.feature_signals import HIDDEN_R2_GOAL, hidden_factor_r2
from hermes_core.world.kg_signals import TWO_HOP_LIFT_GOAL, kg_hop_lift_table
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
    """The sequence signals as (signal, value, goal, met) rows: next-click HR@k of the four truth
    scorers, the two ratios the issue sets goals for, the history's share of the contextual
    affinity's variance and the top-10 turnover."""
    rows = [{"signal": f"HR@{signals.k}: {SCORER_LABELS[name]}", "value": rate, "goal": "", "met": None}
            for name, rate in signals.hit_rate.items()]
    for key, label in (("full_over_last_click", "HR ratio: full history / last click"),
                       ("last_click_over_static", "HR ratio: last click / static")):
        rows.append({"signal": label, "value": getattr(signals, key), "goal": f"≥ {RATIO_GOAL:g}",
                     "met": signals.meets_goals[key]})
    rows.append({"signal": "share of contextual-affinity variance due to history",
                 "value": signals.history_variance_share, "goal": "", "met": None})
    rows.append({"signal": "share of top-10 contextual items not in the static top-10",
                 "value": signals.top10_not_in_static, "goal": "", "met": None})
    return pd.DataFrame(rows).set_index("signal")


def sequence_verdict(signals: SequenceSignals) -> str:
    """What the two ratios say, read so that it is false if the numbers change."""
    full, last = signals.full_over_last_click, signals.last_click_over_static
    parts = [f"Over {signals.n_events:,} next clicks of {signals.n_sessions:,} held-out sessions (last "
             f"{signals.held_out_days:g} days), the last click lifts HR@{signals.k} {last:.2f}× over static taste "
             f"({'meets' if last >= RATIO_GOAL else 'falls short of'} the {RATIO_GOAL:g} goal)"]
    if abs(full - 1.0) < 1e-12:
        parts.append("the full history adds nothing over the last click (ratio exactly 1.00): in this world only the "
                     "last click acts on relevance, so a sequence model cannot beat a first-order one by construction")
    else:
        parts.append(f"the full history lifts it {full:.2f}× over the last click "
                     f"({'meets' if full >= RATIO_GOAL else 'falls short of'} the goal)")
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


@dataclass(frozen=True)
class WorldSignals:
    """Every signal of a world, measured once (:func:`measure_world_signals`); the notebook's
    tables and figures and the diagnostics' ``world_signals`` entry (:meth:`as_dict`) all read it."""

    conversions: dict[str, float]  # delay_signals of world.conversions
    kg: pd.DataFrame  # kg_signals_table
    sequences: SequenceSignals  # sequence_signals at their defaults
    features: dict[str, float]  # hidden_factor_r2

    def as_dict(self) -> dict[str, Any]:
        """The diagnostics' ``world_signals`` entry."""
        return {"conversions": self.conversions, "kg": kg_signals(self.kg), "sequences": self.sequences.as_dict(),
                "features": self.features}


def measure_world_signals(world: World) -> WorldSignals:
    """The delayed-conversion, knowledge-graph, session and side-feature signals of ``world``."""
    return WorldSignals(conversions=delay_signals(world.conversions), kg=kg_signals_table(world),
                        sequences=sequence_signals(world), features=hidden_factor_r2(world))
