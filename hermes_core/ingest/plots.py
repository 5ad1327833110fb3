"""The ingest stage's figures. Each function returns ``(figure, data)``: ``data`` is the tidy
table of the numbers the figure draws, one row per bar, point or histogram bin, which the
notebook saves beside the PNG with :func:`hermes_core.figures.save_figure`.

Figure names (PNG and CSV stems in ``reports/figures/ingest/``): ``quarantine_by_reason``,
``event_mix``, ``popularity_long_tail``, ``activity_per_user``, ``conversion_delays``, ``kg_two_hop_lift``,
``sequence_hit_rates``, ``history_affinity_share``, ``modality_oracle``, ``mainstream_exposure``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from hermes_core.ingest.profile import DataProfile, interactions_by_domain, observed_conversion_delays

if TYPE_CHECKING:
    from hermes_core.world.exposure_signals import ExposureSignals
    from hermes_core.world.modality_signals import ModalitySignals
    from hermes_core.world.sequence_signals import SequenceSignals

COHORT_COLOURS = {"mainstream": "#b5543c", "independent": "#3c6fb5", "unknown": "#555555"}

DELAY_BINS = 60
DELAY_RANGE_DAYS = (0.0, 15.0)
"""The conversion-delay histogram: 60 bins of a quarter of a day over the first 15 days."""

ACTIVITY_EDGES = 40
"""The activity histogram's bin edges (so 39 bins), evenly spaced in log10."""


def plot_quarantine_reasons(by_reason: dict[str, int]) -> tuple[Figure, pd.DataFrame]:
    """Horizontal bars of quarantined records per reason (first reason of each record).

    Data: ``reason, records``, one row per bar from bottom to top (fewest records first). With
    nothing quarantined the figure says so in words and the data hold the single row
    ``("none", 0)``, so that the data file exists and says the same.
    """
    fig, ax = plt.subplots(figsize=(7, 0.4 * max(3, len(by_reason)) + 1))
    if by_reason:
        series = pd.Series(by_reason).sort_values()
        ax.barh(series.index, series.to_numpy(), color="#b5543c")
        ax.set_title(f"Quarantine by reason: {series.sum():,} records (first reason of each record)")
        data = pd.DataFrame({"reason": series.index.astype(str), "records": series.to_numpy(dtype=int)})
    else:
        ax.text(0.5, 0.5, "no record was quarantined", ha="center", va="center", transform=ax.transAxes)
        ax.set_title("Quarantine by reason")
        data = pd.DataFrame({"reason": ["none"], "records": [0]})
    ax.set_xlabel("quarantined records")
    fig.tight_layout()
    return fig, data


def _event_mix_panels(by_domain: pd.DataFrame, profile: DataProfile, delays: pd.DataFrame | None) -> list[str]:
    """The panels the source supports, in drawing order."""
    panels: list[str] = []
    if by_domain.shape[0] > 1 or by_domain.shape[1] > 1 or profile.rating_counts is None:
        panels.append("domain")
    if profile.rating_counts is not None:
        panels.append("ratings")
    if delays is not None and len(delays):
        panels.append("delays")
    return panels


def plot_event_mix(tables: dict[str, pd.DataFrame], profile: DataProfile,
                   delay_label: str = "") -> tuple[Figure, pd.DataFrame]:
    """What was logged, one panel per view that the source supports:

    events by item domain and event type (when there is more than one of either), the count of
    each rating value (when there are ratings) and the observed click-to-conversion delays per
    domain (when conversions can be matched to their clicks).

    Data: ``panel, series, x, value``, one row per bar or bin. ``domain``: series = event type,
    x = item domain, value = events; ``ratings``: series ``ratings``, x = rating value, value =
    ratings; ``delays``: series = item domain, x = the bin's left edge in days, value = the
    histogram's density in that bin (per day; each domain's bins integrate to 1 over the range).
    """
    by_domain = interactions_by_domain(tables)
    delays = observed_conversion_delays(tables) if {"click", "conversion"} <= set(profile.events_by_type) else None
    panels = _event_mix_panels(by_domain, profile, delays)
    rows: list[dict[str, object]] = []
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 3.4), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        if panel == "domain":
            by_domain.plot.bar(ax=ax, logy=True, rot=0)
            ax.set_ylabel("events (log scale)")
            ax.set_title("Interactions by item domain and event type")
            rows += [{"panel": panel, "series": str(event_type), "x": str(domain), "value": float(count)}
                     for event_type in by_domain.columns for domain, count in by_domain[event_type].items()]
        elif panel == "ratings":
            counts = profile.rating_counts
            assert counts is not None
            ax.bar([f"{value:g}" for value in counts.index], counts.to_numpy(), color="#3c6fb5")
            ax.set_xlabel("rating value")
            ax.set_ylabel("ratings")
            ax.set_title(f"Rating distribution: {counts.sum():,} ratings, mean {profile.mean_rating:.2f}")
            rows += [{"panel": panel, "series": "ratings", "x": f"{value:g}", "value": float(count)}
                     for value, count in counts.items()]
        else:
            assert delays is not None
            for domain, group in delays.groupby("domain"):
                density, edges, _ = ax.hist(group["delay_days"], bins=DELAY_BINS, range=DELAY_RANGE_DAYS,
                                            histtype="step", label=str(domain), density=True)
                rows += [{"panel": panel, "series": str(domain), "x": f"{edge:g}", "value": float(value)}
                         for edge, value in zip(edges[:-1], density)]
            ax.set_xlabel("click-to-conversion delay (days)")
            ax.set_ylabel("density")
            ax.legend()
            ax.set_title(f"{len(delays):,} observed conversion delays{f' ({delay_label})' if delay_label else ''}")
    fig.tight_layout()
    return fig, pd.DataFrame(rows, columns=["panel", "series", "x", "value"])


def plot_long_tail(popularity: pd.DataFrame, profile: DataProfile) -> tuple[Figure, pd.DataFrame]:
    """Items by popularity rank (log-log), split by creator cohort when the source has cohorts.

    ``popularity`` is :func:`hermes_core.ingest.profile.popularity_by_cohort`. Data: ``cohort,
    rank, item_id, events``, one row per item in rank order; the figure draws ``events + 1``
    (so that items without events stay on the log axis).
    """
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for cohort, group in popularity.groupby("cohort", sort=True):
        label = f"{cohort} ({len(group):,} items)" if cohort != "unknown" else f"all items ({len(group):,})"
        ax.loglog(group["rank"], group["events"] + 1, ".", ms=3, alpha=0.6,
                  color=COHORT_COLOURS.get(str(cohort), "#555555"), label=label)
    ax.set_xlabel("item rank by popularity")
    ax.set_ylabel(f"{profile.event_type}s + 1 (log)")
    ax.legend()
    ax.set_title(f"Popularity long tail: the top 10% of items take {profile.top10pct_share:.1%} of "
                 f"{profile.event_type}s")
    fig.tight_layout()
    data = pd.DataFrame({"cohort": popularity["cohort"].astype(str).to_numpy(), "rank": popularity["rank"].to_numpy(),
                         "item_id": popularity.index.astype(str), "events": popularity["events"].to_numpy()})
    return fig, data


def plot_activity(profile: DataProfile) -> tuple[Figure, pd.DataFrame]:
    r"""Histogram of main events per active user (log bins); the title gives the medians over all
    users and over active users and the share of users without any event.

    Data: ``bin_low, bin_high, users``, one row per bin: 39 bins between 40 edges evenly spaced
    in :math:`\log_{10}` from 1 to the largest count + 1; a bin holds ``bin_low <= count < bin_high``
    (the last one also its right edge).
    """
    per_user = profile.events_per_user
    active = per_user[per_user > 0]
    fig, ax = plt.subplots(figsize=(7, 3.4))
    data = pd.DataFrame(columns=["bin_low", "bin_high", "users"])
    if len(active):
        users, edges, _ = ax.hist(active, bins=np.logspace(0, np.log10(active.max() + 1), ACTIVITY_EDGES),
                                  color="#3c6fb5")
        data = pd.DataFrame({"bin_low": edges[:-1], "bin_high": edges[1:], "users": users.astype(int)})
    ax.set_xscale("log")
    ax.set_xlabel(f"{profile.event_type}s per user (users with ≥ 1; log scale)")
    ax.set_ylabel("users")
    name = f"{profile.event_type.capitalize()}s per user"
    if profile.users_without_events:
        title = (f"{name}: median {profile.median_per_user_all:g} over all {profile.n_users:,} users, "
                 f"{profile.median_per_user_active:g} over the {len(active):,} active;\n"
                 f"{profile.users_without_events:,} users ({profile.users_without_events_share:.1%}) have none")
    else:
        title = (f"{name}: every one of the {profile.n_users:,} users has at least {per_user.min():,};\n"
                 f"median {profile.median_per_user_all:g}, maximum {per_user.max():,}")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig, data


def plot_conversion_delays(histogram: pd.DataFrame, signals: dict[str, float],
                           window_days: float) -> tuple[Figure, pd.DataFrame]:
    """Counted conversions per domain over their click-to-conversion delay (log days), with the 7-day
    mark and the attribution window dotted (``histogram``:
    :func:`~hermes_core.ingest.world_signals.delay_histogram`). The data is the histogram itself."""
    fig, ax = plt.subplots(figsize=(7, 3.4))
    for domain, part in histogram.groupby("domain", sort=False):
        ax.stairs(part["conversions"].to_numpy(), np.append(part["bin_low"].to_numpy(), part["bin_high"].iloc[-1]),
                  label=str(domain))
    ax.axvline(7.0, color="grey", linestyle=":")
    ax.axvline(window_days, color="black", linestyle=":")
    ax.set_xscale("log")
    ax.set_xlabel("click-to-conversion delay (days, log scale); dotted: 7 days and the attribution window")
    ax.set_ylabel("counted conversions")
    ax.set_title(f"{signals['conversions_after_7d']:.1%} of conversions arrive after 7 days; "
                 f"{signals['last_week_unobserved']:.1%} of last week's positives are unseen at the cut-off",
                 fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig, histogram


def plot_kg_hop_lift(table: pd.DataFrame, goal: float) -> tuple[Figure, pd.DataFrame]:
    """Horizontal bars of each relation's lift (P(grade >= 3 | reached) / same-domain base rate),
    with the lift 1 (no signal) and the ``goal`` lines dotted (``table``:
    :func:`~hermes_core.ingest.world_signals.kg_signals_table`).

    Data: ``relation, hops, p_relevant, base_rate, lift, pairs``, one row per bar, bottom to top;
    ``relation`` names the 3-hop collaboration path with its hop count.
    """
    data = table[["relation", "hops", "p_relevant", "base_rate", "lift", "pairs"]].copy()
    data["relation"] = [f"{r} ({h} hops)" if h != 2 else r for r, h in zip(data["relation"], data["hops"])]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(data) + 1.4))
    colours = ["#3c6fb5" if h == 2 else "#999999" for h in data["hops"]]
    ax.barh(data["relation"], data["lift"], color=colours)
    ax.axvline(1.0, color="black", linestyle=":")
    ax.axvline(goal, color="#b5543c", linestyle="--")
    ax.set_xlabel(f"lift = P(grade ≥ 3 | reached) / same-domain rate (dotted: 1; dashed: goal {goal:g})")
    best = data.loc[data["hops"] == 2, "lift"].max()
    ax.set_title(f"Multi-hop relevance through the knowledge graph: best 2-hop lift {best:.2f}", fontsize=10)
    fig.tight_layout()
    return fig, data.reset_index(drop=True)


def plot_sequence_hit_rates(table: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Horizontal bars of next-click HR@k of the truth scorers (the ``HR@`` rows of
    :func:`~hermes_core.ingest.world_signals.sequence_signals_table`). Data: ``scorer, hit_rate``."""
    rows = table[table.index.str.startswith("HR@")]
    data = pd.DataFrame({"scorer": [name.split(": ", 1)[1] for name in rows.index],
                         "hit_rate": rows["value"].to_numpy(dtype=float)})
    fig, ax = plt.subplots(figsize=(7, 2.8))
    ax.barh(data["scorer"], data["hit_rate"], color="#3c6fb5")
    ax.invert_yaxis()
    ax.set_xlabel(rows.index[0].split(":", 1)[0] + " of the next click (whole warm catalogue)")
    ax.set_title("Which truth predicts the next click of a held-out session", fontsize=10)
    fig.tight_layout()
    return fig, data


HISTORY_SHARE_COLOURS = ("#999999", "#3c6fb5")
"""The two parts of each stacked bar of :func:`plot_history_share`: what static taste keeps, what the history adds."""


def plot_history_share(signals: SequenceSignals) -> tuple[Figure, pd.DataFrame]:
    r"""History's share of the contextual affinity ``s(u, i | h) = s(u, i) + b(h, i)``, two stacked bars
    (``signals``: :func:`~hermes_core.world.sequence_signals.sequence_signals`):

    * the variance of contextual affinity over (held-out event, warm item) pairs split into the static
      share and the history's share ``Cov(b, s + b) / Var(s + b)`` (the two sum to 1 by construction;
      Shorrocks 1982);
    * the top-10 items by contextual affinity split into those also in the static top-10 and those not.

    Data: ``panel, part, share``, four rows, each panel's two shares summing to 1, drawn left to right.
    """
    history, turnover = signals.history_variance_share, signals.top10_not_in_static
    data = pd.DataFrame({
        "panel": ["variance of contextual affinity"] * 2 + ["top-10 items by contextual affinity"] * 2,
        "part": ["static taste s(u, i)", "session history b(h, i)",
                 "also in the static top-10", "not in the static top-10"],
        "share": [1.0 - history, history, 1.0 - turnover, turnover],
    })
    fig, axes = plt.subplots(2, 1, figsize=(9, 2.9))
    for ax, (panel, part) in zip(axes, data.groupby("panel", sort=False)):
        left = 0.0
        for colour, row in zip(HISTORY_SHARE_COLOURS, part.itertuples()):
            ax.barh([0], [row.share], left=left, color=colour, label=f"{row.part}: {row.share:.1%}")
            left += row.share
        ax.set_xlim(min(0.0, float(part["share"].min())), max(1.0, float(part["share"].max())))
        ax.set_yticks([])
        ax.set_title(panel, fontsize=9)
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    axes[-1].set_xlabel(f"share ({signals.n_events:,} next clicks of {signals.n_sessions:,} held-out sessions)")
    fig.suptitle(f"The session history carries {history:.0%} of the variance of contextual affinity and "
                 f"changes {turnover:.0%} of the top-10", fontsize=10)
    fig.tight_layout()
    return fig, data


def plot_modality_oracle(signals: ModalitySignals, goal: float) -> tuple[Figure, pd.DataFrame]:
    """The modality oracle on the cold items (``signals``:
    :func:`~hermes_core.world.modality_signals.modality_signals`): left, mean cold-start NDCG@k of
    concatenation without and with the session's true modality intent over all scored sessions;
    right, the oracle's gain over all sessions (with its bootstrap interval) and over the sessions
    with an intent, against 0 (dotted) and the ``goal`` (dashed).

    Data: ``panel, series, value, ci_low, ci_high``, one row per bar, top to bottom in each panel;
    the interval is NaN where none was measured.
    """
    nan = float("nan")
    data = pd.DataFrame([
        ("ndcg", "concatenation (no intent)", signals.ndcg_concatenation, nan, nan),
        ("ndcg", "concatenation + true intent (oracle)", signals.ndcg_oracle, nan, nan),
        ("gain", f"all {signals.n_sessions:,} sessions", signals.gain, signals.gain_ci_low, signals.gain_ci_high),
        ("gain", f"{signals.n_intent_sessions:,} sessions with an intent", signals.gain_intent_sessions, nan, nan),
    ], columns=["panel", "series", "value", "ci_low", "ci_high"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 2.8))
    ndcg = data[data["panel"] == "ndcg"]
    bars = left.barh(ndcg["series"], ndcg["value"], color=["#999999", "#3c6fb5"])
    left.bar_label(bars, fmt="%.3f", padding=2, fontsize=8)
    left.invert_yaxis()
    left.set_xlim(0.0, 1.1)
    left.set_xlabel(f"mean NDCG@{signals.k} over the cold items")
    gain = data[data["panel"] == "gain"]
    bars = right.barh(gain["series"], gain["value"], color="#3c6fb5")
    right.bar_label(bars, fmt="%+.3f", label_type="center", color="white", fontsize=8)
    measured = gain[gain["ci_low"].notna()]
    right.errorbar(measured["value"], measured["series"], fmt="none", ecolor="black", capsize=3,
                   xerr=[measured["value"] - measured["ci_low"], measured["ci_high"] - measured["value"]])
    right.invert_yaxis()
    right.axvline(0.0, color="black", linestyle=":")
    right.axvline(goal, color="#b5543c", linestyle="--")
    right.margins(x=0.2)
    right.set_xlabel(f"oracle gain in NDCG@{signals.k} (dashed: goal +{goal:g})")
    right.set_title(f"bar: {signals.level:.0%} bootstrap interval over sessions", fontsize=9)
    fig.suptitle(f"Knowing the session's modality intent gains {signals.gain:+.3f} NDCG@{signals.k} "
                 f"on {signals.n_cold_items:,} cold items", fontsize=10)
    fig.tight_layout()
    return fig, data


def plot_mainstream_exposure(signals: ExposureSignals) -> tuple[Figure, pd.DataFrame]:
    """Merit against exposure (``signals``: :func:`~hermes_core.world.exposure_signals.exposure_signals`):
    horizontal bars of the mainstream creators' share of the catalogue's items, of users' true top-k
    (merit) and of the logged impressions (exposure), top to bottom, with the items' share dotted.

    Data: ``group, mainstream_share``, one row per bar, top to bottom.
    """
    k = signals.k
    data = pd.DataFrame({
        "group": ["catalogue items", f"users' true top-{k} (merit)", "logged impressions (exposure)"],
        "mainstream_share": [signals.mainstream_share_items, signals.mainstream_share_top10,
                             signals.mainstream_share_impressions],
    })
    fig, ax = plt.subplots(figsize=(8, 2.6))
    bars = ax.barh(data["group"], data["mainstream_share"],
                   color=["#999999", "#3c6fb5", COHORT_COLOURS["mainstream"]])
    ax.bar_label(bars, fmt="%.3f", label_type="center", color="white", fontsize=8)
    ax.invert_yaxis()
    ax.axvline(signals.mainstream_share_items, color="black", linestyle=":")
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("share from mainstream creators (dotted: their share of the items)")
    over = (signals.mainstream_share_impressions / signals.mainstream_share_top10
            if signals.mainstream_share_top10 else float("nan"))
    ax.set_title(f"Mainstream creators hold {signals.mainstream_share_top10:.1%} of merit and "
                 f"{signals.mainstream_share_impressions:.1%} of exposure ({over:.2f}×)\n"
                 f"(popularity {'is' if signals.popularity_in_relevance else 'is not'} part of relevance)", fontsize=10)
    fig.tight_layout()
    return fig, data
