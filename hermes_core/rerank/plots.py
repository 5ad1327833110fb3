"""Figures of the rerank stage (matplotlib); every function returns ``(figure, data)``, the tidy
table the figure draws, which the notebook saves beside the PNG (``hermes_core.figures.save_figure``)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullFormatter

COLOURS: dict[str, str] = {"before": "#222222", "mmr": "#3c6fb5", "parity": "#b5543c", "singh_joachims": "#3c9a5f",
                           "fair": "#8c5fb5"}  # fmt: skip
NAMES: dict[str, str] = {"before": "unreranked", "mmr": "MMR (λ)", "parity": "exposure parity (tolerance)",
                         "singh_joachims": "Singh–Joachims LP (pool)", "fair": "FA*IR (p)"}  # fmt: skip
KNOB_SYMBOL: dict[str, str] = {"lam": "λ", "tolerance": "tol", "candidates": "n", "p": "p"}


def _errors(frame: pd.DataFrame, measure: str) -> np.ndarray:
    """``(2, n)`` distances from the point to its interval's ends (0 where the interval is missing)."""
    low = (frame[measure] - frame[f"{measure}_low"]).to_numpy(dtype=float)
    high = (frame[f"{measure}_high"] - frame[measure]).to_numpy(dtype=float)
    return np.nan_to_num(np.clip(np.vstack([low, high]), 0.0, None))


def _plain_log_axis(axis: object, values: Sequence[float]) -> None:
    """Ticks of a log axis at round values spanning ``values``, written plainly (0.8, 1, 1.25)."""
    finite = np.asarray([v for v in values if np.isfinite(v) and v > 0], dtype=float)
    if finite.size == 0:
        return
    fine = finite.max() / finite.min() <= 4.0
    candidates = (np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0]) if fine
                  else np.array([0.01, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 100.0, 1000.0, 10000.0]))  # fmt: skip
    ticks = candidates[(candidates >= finite.min() * 0.95) & (candidates <= finite.max() * 1.05)]
    axis.set_major_locator(FixedLocator(ticks))
    axis.set_major_formatter(FormatStrFormatter("%g"))
    axis.set_minor_formatter(NullFormatter())


def _change(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """NDCG@10 change against the unreranked list in percent, ``-loss``, and its paired interval's
    ``(2, n)`` error bars."""
    change = -100.0 * frame["ndcg_relative_loss"].to_numpy(dtype=float)
    low = -100.0 * frame["ndcg_relative_loss_high"].to_numpy(dtype=float)
    high = -100.0 * frame["ndcg_relative_loss_low"].to_numpy(dtype=float)
    return change, np.nan_to_num(np.clip(np.vstack([change - low, high - change]), 0.0, None))


def _annotate(ax: plt.Axes, part: pd.DataFrame, x: str, y: np.ndarray, colour: str) -> None:
    """One label per distinct point (settings giving the same point share it: "tol=0.1, 0.05")."""
    symbol = KNOB_SYMBOL.get(str(part["knob"].iat[0]), "")
    groups: dict[tuple[float, float], list[str]] = {}
    for value, px, py in zip(part["value"], part[x], y):
        groups.setdefault((round(float(px), 6), round(float(py), 6)), []).append(f"{value:g}")
    for (px, py), values in groups.items():
        ax.annotate(f"{symbol}={', '.join(values)}", (px, py), textcoords="offset points", xytext=(4, 4), fontsize=7,
                    color=colour)  # fmt: skip


def _sweep_curve(ax: plt.Axes, sweep: pd.DataFrame, policy: str, x: str, annotate: bool = True) -> None:
    part = sweep[sweep["policy"] == policy].sort_values("value")
    if part.empty:
        return
    colour = COLOURS[policy]
    change, errors = _change(part)
    ax.errorbar(part[x], change, yerr=errors, fmt="o-", color=colour, ms=4, lw=1.4, capsize=2, label=NAMES[policy])
    chosen = part["operating_point"].to_numpy(dtype=bool)
    ax.scatter(part[x][chosen], change[chosen], s=160, facecolors="none", edgecolors=colour, linewidths=2, zorder=5)
    if annotate:
        _annotate(ax, part, x, change, colour)


def _before(ax: plt.Axes, sweep: pd.DataFrame, x: str) -> None:
    row = sweep[sweep["policy"] == "before"].iloc[0]
    ax.scatter([row[x]], [0.0], marker="*", s=220, color=COLOURS["before"], zorder=6, label="unreranked")
    ax.axhline(0.0, color="#bbbbbb", lw=0.8)


def diversity_tradeoff(sweep: pd.DataFrame, level: float = 0.95) -> tuple[Figure, pd.DataFrame]:
    """NDCG@10 change against intra-list diversity: MMR's λ sweep as a curve, the fairness policies'
    sweep points beside it, the unreranked list as a star at 0 and each operating point circled.
    Bars: the paired bootstrap interval (at ``level``) of the relative change over users."""
    fig, ax = plt.subplots(figsize=(7.2, 4.6))
    _sweep_curve(ax, sweep, "mmr", "ild")
    for policy in ("parity", "singh_joachims", "fair"):
        _sweep_curve(ax, sweep, policy, "ild", annotate=False)
    _before(ax, sweep, "ild")
    ax.set_xlabel("intra-list diversity (mean pairwise 1 − cos of the item vectors)")
    ax.set_ylabel("NDCG@10 change against unreranked (%)")
    ax.set_title(f"What diversity costs in relevance: MMR's λ sweep\n(bars: paired {level:.0%} bootstrap; circled: "
                 "operating points)", fontsize=10)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig, _tidy(sweep, ["ild", "ild_low", "ild_high"])


def exposure_tradeoff(sweep: pd.DataFrame, ratio_band: tuple[float, float],
                      level: float = 0.95) -> tuple[Figure, pd.DataFrame]:
    """NDCG@10 change against the true disparate-exposure ratio: the sweeps of parity (tolerance),
    the LP (pool size) and FA*IR (p), the target band shaded and parity (1) dashed. MMR, which does
    not aim at exposure, is left to the Pareto figure (its low-λ points would squash the axis)."""
    fig, ax = plt.subplots(figsize=(7.2, 4.6))
    ax.axvspan(*ratio_band, color="#e8f0e8", zorder=0, label=f"target band [{ratio_band[0]:g}, {ratio_band[1]:g}]")
    ax.axvline(1.0, color="#888888", lw=0.8, ls="--")
    policies = ("parity", "singh_joachims", "fair")
    for policy in policies:
        _sweep_curve(ax, sweep, policy, "exposure_ratio")
    _before(ax, sweep, "exposure_ratio")
    shown = sweep[sweep["policy"].isin((*policies, "before"))]
    ax.set_xscale("log")
    _plain_log_axis(ax.xaxis, [*shown["exposure_ratio"], *ratio_band])
    ax.set_xlabel("disparate-exposure ratio: exposure/merit of the protected cohort over the other's (log scale)")
    ax.set_ylabel("NDCG@10 change against unreranked (%)")
    ax.set_title(f"What fair exposure costs in relevance\n(bars: paired {level:.0%} bootstrap; circled: operating points)",
                 fontsize=10)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig, _tidy(shown, ["exposure_ratio", "exposure_ratio_low", "exposure_ratio_high"])


def _tidy(sweep: pd.DataFrame, extra: Sequence[str]) -> pd.DataFrame:
    columns = ["policy", "label", "knob", "value", "ndcg_at_10", "ndcg_relative_loss", "ndcg_relative_loss_low",
               "ndcg_relative_loss_high", *extra, "operating_point"]
    return sweep[columns].reset_index(drop=True)


def pareto_fronts(sweep: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """All methods' points in two planes, the Pareto front of each drawn as a step line: NDCG@10
    against ILD (both higher is better) and against the distance from parity
    :math:`|\\log \\mathrm{DER}|` (lower is better)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    planes = (("ild", "front_ild", "intra-list diversity (higher is better)"),
              ("parity_distance", "front_parity", "|log disparate-exposure ratio| (lower is better)"))
    for ax, (x, flag, label) in zip(axes, planes):
        for policy in ("before", "mmr", "parity", "singh_joachims", "fair"):
            part = sweep[sweep["policy"] == policy]
            ax.scatter(part[x], part["ndcg_at_10"], s=60 if policy == "before" else 22, color=COLOURS[policy],
                       marker="*" if policy == "before" else "o", label=NAMES[policy], zorder=3)  # fmt: skip
        front = sweep[sweep[flag]].sort_values(x, ascending=(x == "ild"))
        ax.step(front[x], front["ndcg_at_10"], where="post", color="#444444", lw=1, ls="--", zorder=2,
                label="Pareto front")  # fmt: skip
        ax.set_xlabel(label)
        ax.set_ylabel("NDCG@10")
    axes[0].legend(fontsize=7, loc="lower left")
    fig.suptitle("Pareto fronts of all methods' sweep points (one point per setting)")
    fig.tight_layout()
    columns = ["policy", "label", "ndcg_at_10", "ild", "exposure_ratio", "parity_distance", "front_ild",
               "front_parity"]
    return fig, sweep[columns].reset_index(drop=True)


def policy_summary(headline: pd.DataFrame, level: float = 0.95) -> tuple[Figure, pd.DataFrame]:
    """Each measure per policy at its operating point, with its bootstrap interval over users (at ``level``)."""
    measures = [("ndcg_at_10", "NDCG@10"), ("expected_clicks", "expected clicks"), ("ild", "intra-list diversity"),
                ("coverage", "category coverage"), ("exposure_ratio", "disparate-exposure ratio"),
                ("exposure_gini", "Gini of item exposure")]  # fmt: skip
    measures = [(m, t) for m, t in measures if headline[m].notna().any()]
    fig, axes = plt.subplots(1, len(measures), figsize=(2.3 * len(measures), 3.4))
    names = list(headline.index)
    x = np.arange(len(names))
    for ax, (measure, title) in zip(np.atleast_1d(axes), measures):
        ax.bar(x, headline[measure], color=[COLOURS.get(n, "#999999") for n in names],
               yerr=_errors(headline, measure), capsize=2)  # fmt: skip
        low = np.nanmin(headline[f"{measure}_low"].fillna(headline[measure]))
        high = np.nanmax(headline[f"{measure}_high"].fillna(headline[measure]))
        pad = 0.15 * (high - low) if high > low else 0.05 * abs(high) + 1e-3
        ax.set_ylim(low - pad, high + pad)
        ax.set_xticks(x, names, rotation=40, ha="right", fontsize=8)
        ax.set_title(title, fontsize=9)
        if measure == "exposure_ratio":
            ax.axhline(1.0, color="#888888", lw=0.8, ls="--")
    fig.suptitle(f"Operating points (bars: {level:.0%} bootstrap interval over users; the axes do not start at 0)",
                 fontsize=10)
    fig.tight_layout()
    columns = [c for m, _ in measures for c in (m, f"{m}_low", f"{m}_high")]
    return fig, headline[columns].reset_index()


def parity_path(report: dict) -> tuple[Figure, pd.DataFrame]:
    """The bisection of the shared multiplier: the log-boost :math:`\\log m` tried at each step, and
    the estimated ratio each gave against it (a non-decreasing step function of the boost)."""
    frame = pd.DataFrame({"evaluation": np.arange(1, len(report["multiplier_path"]) + 1),
                          "multiplier": report["multiplier_path"], "estimated_ratio": report["ratio_path"]})
    frame["log_boost"] = np.log(frame["multiplier"])
    finite = frame[np.isfinite(frame["estimated_ratio"]) & (frame["estimated_ratio"] > 0)]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    left.plot(frame["evaluation"], frame["log_boost"], "o-", color=COLOURS["parity"], ms=3)
    left.set_yscale("symlog", linthresh=1e-3)
    left.set_xlabel("evaluation (bisection step)")
    left.set_ylabel("log-boost log m (symlog)")
    left.set_title(f"m converged to {report['multiplier']:.6g} (boosting {report['boosted_cohort']})", fontsize=9)
    right.scatter(finite["log_boost"], finite["estimated_ratio"], color=COLOURS["parity"], s=14)
    right.axhline(1.0, color="#888888", lw=0.8, ls="--")
    right.set_yscale("log")
    right.set_xscale("symlog", linthresh=1e-3)
    right.set_xlim(0.0, 1.5 * max(float(finite["log_boost"].max()), 1e-3))
    _plain_log_axis(right.yaxis, finite["estimated_ratio"])
    right.set_xlabel("log-boost log m (linear below 0.001)")
    right.set_ylabel("estimated ratio (policy's relevance)")
    right.set_title("estimated ratio against the boost: monotone steps", fontsize=9)
    fig.tight_layout()
    return fig, frame


def example_slate(example: pd.DataFrame, protected_name: str) -> tuple[Figure, pd.DataFrame]:
    """One list before and after, position by position: a cell per item coloured by cohort, holding
    the ranker's rank and the true grade (which no policy sees)."""
    fig, axes = plt.subplots(1, 2, figsize=(7.5, 0.28 * len(example) + 1.2), sharey=True)
    for ax, side in zip(axes, ("before", "after")):
        colours = np.where(example[f"{side}_cohort"] == protected_name, "#e6b8a8", "#b8c9e6")
        ax.barh(example.index, np.ones(len(example)), color=colours, edgecolor="white")
        for position, rank, grade in zip(example.index, example[f"{side}_rank"], example[f"{side}_grade"]):
            ax.annotate(f"rank {rank:>3}   grade {grade:.0f}", (0.04, position), va="center", fontsize=7)
        ax.set_title(f"{side} (red: {protected_name}, blue: the other cohort)", fontsize=9)
        ax.set_xticks([])
        ax.set_xlim(0, 1)
    axes[0].set_yticks(example.index)
    axes[0].invert_yaxis()
    axes[0].set_ylabel("position")
    fig.tight_layout()
    return fig, example.reset_index()


def measured_on(table: pd.DataFrame) -> str:
    """How many lists the timings were measured on: ``1,000``, or ``1,000; the LP on its sample of 200``
    when the LP re-ranked a ``singh_joachims.users`` sample."""
    counts = table["lists"].astype(int)
    most = int(counts.max())
    text = f"{most:,}"
    if "singh_joachims" in counts.index and int(counts["singh_joachims"]) < most:
        text += f"; the LP on its sample of {int(counts['singh_joachims']):,}"
    return text


def timing(table: pd.DataFrame, n_lists: int) -> tuple[Figure, pd.DataFrame]:
    """Seconds per policy at its operating point, extrapolated to ``n_lists`` lists (log scale)."""
    column = f"seconds_for_{n_lists}"
    frame = table.drop(index="before", errors="ignore")
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.barh(frame.index, frame[column], color=[COLOURS.get(n, "#999999") for n in frame.index])
    for name, seconds in frame[column].items():
        ax.annotate(f"{seconds:.1f} s", (seconds, name), xytext=(3, 0), textcoords="offset points", va="center",
                    fontsize=8)  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel(f"seconds for {n_lists:,} lists (measured on {measured_on(table)}, linear)")
    ax.set_title(f"Re-ranking {int(frame['candidates'].iat[0])} candidates to {int(frame['slate'].iat[0])} "
                 "(this machine; varies with load)", fontsize=9)
    fig.tight_layout()
    return fig, frame.reset_index()[["policy", "setting", "lists", "seconds", "ms_per_list", column]]


def movielens_points(headline: pd.DataFrame, level: float = 0.95) -> tuple[Figure, pd.DataFrame]:
    """MovieLens 100K: each policy's NDCG@10 against its disparate-exposure ratio, both intervals (at ``level``)."""
    fig, ax = plt.subplots(figsize=(6.2, 4))
    ax.axvline(1.0, color="#888888", lw=0.8, ls="--")
    for name, row in headline.iterrows():
        frame = headline.loc[[name]]
        ax.errorbar(frame["exposure_ratio"], frame["ndcg_at_10"], xerr=_errors(frame, "exposure_ratio"),
                    yerr=_errors(frame, "ndcg_at_10"), fmt="*" if name == "before" else "o",
                    color=COLOURS.get(name, "#999999"), ms=12 if name == "before" else 6, capsize=2,
                    label=NAMES.get(name, name))  # fmt: skip
    ax.set_xscale("log")
    _plain_log_axis(ax.xaxis, [*headline["exposure_ratio_low"], *headline["exposure_ratio_high"], 1.0])
    ax.set_xlabel("disparate-exposure ratio (held-out merit; log scale)")
    ax.set_ylabel("NDCG@10 (held-out ratings)")
    ax.set_title(f"MovieLens 100K, operating points (bars: {level:.0%} bootstrap)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    columns = ["ndcg_at_10", "ndcg_at_10_low", "ndcg_at_10_high", "exposure_ratio", "exposure_ratio_low",
               "exposure_ratio_high"]
    return fig, headline[columns].reset_index()


__all__ = ["COLOURS", "diversity_tradeoff", "example_slate", "exposure_tradeoff", "measured_on", "movielens_points",
           "pareto_fronts", "parity_path", "policy_summary", "timing"]
