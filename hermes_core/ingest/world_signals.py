"""What the world can test: the size of each signal a later stage's method must find.

A method can only be told apart from a baseline when the world holds a signal of a known,
measured size. This module reads those sizes off the world's truth and sets them against the
goals a later stage needs (issue 9, "World v2"). Today it covers the click-to-conversion stream
of the delayed-feedback stage (:mod:`hermes_core.world.conversions`):

* the share of counted conversions arriving more than 1, 7 and 14 days after their click: a
  correction for delayed labels matters only if many arrive late (goal: 10-30 % after 7 days);
* among the eventual positives clicked in the last 7 days before the cut-off, the share still
  unobserved at the cut-off: the fake negatives a naive model trains on (goal: at least 30 %).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hermes_core.world import World
from hermes_core.world.conversions import ConversionStream, delay_signals
from hermes_core.world.params import DOMAINS


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


def conversion_signals_table(world: World) -> pd.DataFrame:
    """One row per delayed-feedback signal of ``world.conversions`` at its cut-off: ``value``,
    the ``goal`` (blank where the issue sets none) and whether it is ``met``."""
    signals = delay_signals(world.conversions)
    rows = []
    for key, label in DELAY_SIGNAL_LABELS.items():
        goal = DELAY_SIGNAL_GOALS.get(key)
        rows.append({"signal": label, "key": key, "value": signals[key],
                     "goal": goal.text() if goal else "", "met": goal.met(signals[key]) if goal else None})
    return pd.DataFrame(rows).set_index("signal")


def conversion_signals(world: World) -> dict[str, float]:
    """:func:`~hermes_core.world.conversions.delay_signals` of the world's stream (for the diagnostics)."""
    return delay_signals(world.conversions)


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
