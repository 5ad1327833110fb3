"""Figures of the delayed-feedback stage (matplotlib); every function returns ``(figure, data)``, the tidy
table the figure draws, which the notebook saves beside the PNG (``hermes_core.figures.save_figure``)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from hermes_core.delayed_feedback.training_rows import CORRECTIONS, METHOD_LABELS, METHODS
from hermes_core.world.params import DOMAINS

COLOURS: dict[str, str] = {"vanilla": "#999999", "oracle": "#222222", "dfm": "#3c6fb5", "fnw": "#b5543c",
                           "fsiw": "#8c5fb5", "esdfm": "#3c9a5f", "defer": "#d49a2a", "elapsed_weight": "#c04c8c"}
GROUP_COLOURS: dict[str, str] = {"all": "#222222", "movie": "#3c6fb5", "music": "#3c9a5f", "product": "#b5543c",
                                 "news": "#8c5fb5"}
METRIC_TITLES: dict[str, str] = {"auc": "AUC", "pr_auc": "PR-AUC (average precision)", "nll": "NLL (lower is better)"}


def unseen_share(unseen: pd.DataFrame, exponential: pd.DataFrame, window_days: float) -> tuple[Figure, pd.DataFrame]:
    """Share of counted conversions still unseen against the elapsed time, per domain (solid) and
    the exponential with the same mean (dashed); the training window's length is marked."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, log_scale in zip(axes, (False, True)):
        for group in ["all", *DOMAINS]:
            rows = unseen[unseen["group"] == group]
            if rows.empty:
                continue
            ax.plot(rows["elapsed_days"], rows["unseen_share"], color=GROUP_COLOURS[group], lw=2 if group == "all" else 1.2,
                    label=f"{group} (n = {int(rows['n_conversions'].iloc[0]):,})")
            model = exponential[exponential["group"] == group]
            ax.plot(model["elapsed_days"], model["unseen_share"], color=GROUP_COLOURS[group], ls="--", lw=0.9)
        ax.axvline(window_days, color="#777777", ls=":", lw=1)
        ax.set_xlabel("elapsed time since the click E (days)")
        ax.set_ylabel("share of counted conversions not yet seen")
        if log_scale:
            ax.set_yscale("log")
            ax.set_ylim(1e-4, 1.05)
            ax.set_title("same, log scale (dashed: exponential with the same mean)")
        else:
            ax.set_title(f"Unseen conversions vs elapsed time (dotted: one window, {window_days:g} d)")
            ax.legend(fontsize=8)
    fig.tight_layout()
    data = pd.concat([unseen.assign(curve="empirical"), exponential.assign(curve="exponential_same_mean")],
                     ignore_index=True)
    return fig, data[["curve", "group", "elapsed_days", "unseen_share"]]


def delay_histogram(delays_by_group: dict[str, np.ndarray], attribution_window_days: float) -> tuple[Figure, pd.DataFrame]:
    """Histogram of the click-to-conversion delays per domain on log-spaced bins (counts per bin)."""
    finite = np.concatenate([d[np.isfinite(d) & (d > 0)] for d in delays_by_group.values()])
    low = max(float(finite.min()), 1e-3) if len(finite) else 1e-3
    high = max(float(finite.max()), attribution_window_days) if len(finite) else attribution_window_days
    bins = np.geomspace(low, high * 1.01, 40)
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    rows = []
    for group, delays in delays_by_group.items():
        counts, edges = np.histogram(delays[np.isfinite(delays)], bins=bins)
        ax.stairs(counts, edges, color=GROUP_COLOURS.get(group), label=group)
        rows.append(pd.DataFrame({"group": group, "bin_low_days": edges[:-1], "bin_high_days": edges[1:], "count": counts}))
    ax.axvline(attribution_window_days, color="#777777", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("delay from click to conversion (days, log scale; dotted: attribution window)")
    ax.set_ylabel("conversions per bin")
    ax.set_title("Delay distribution per domain (every eventual conversion)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig, pd.concat(rows, ignore_index=True)


def elapsed_weight(curves: pd.DataFrame, threshold: float) -> tuple[Figure, pd.DataFrame]:
    """:math:`W(E)` against the elapsed time, one panel per conversion probability, one line per
    domain's mean delay; the prior :math:`1 - p` (dotted) and the design's "close to zero" zone
    (shaded, below ``threshold``)."""
    probabilities = list(dict.fromkeys(curves["probability"]))
    fig, axes = plt.subplots(1, len(probabilities), figsize=(3.7 * len(probabilities), 3.5), sharey=True, squeeze=False)
    for ax, p in zip(axes[0], probabilities):
        part = curves[curves["probability"] == p]
        for delay, rows in part.groupby("delay", sort=False):
            ax.plot(rows["elapsed_days"], rows["weight"], color=GROUP_COLOURS.get(delay),
                    label=f"{delay}: 1/λ = {rows['mean_delay_days'].iloc[0]:g} d")
        ax.axhline(1 - p, color="#777777", ls=":", lw=1)
        ax.axhspan(0, threshold, color="#c04c8c", alpha=0.12)
        ax.set_xscale("symlog", linthresh=0.01)
        ax.set_xlim(0, float(part["elapsed_days"].max()) * 1.05)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("E (days; log scale above 0.01)")
        ax.set_title(f"p = {p:g}: W(0) = 1 - p = {1 - p:g}")
    axes[0][0].set_ylabel("W(E, x)")
    axes[0][0].legend(fontsize=7, loc="lower right")
    fig.suptitle("Elapsed-time weight of an unconverted click (shaded: the design's 'close to zero')", fontsize=10)
    fig.tight_layout()
    return fig, curves.reset_index(drop=True)


def metrics_over_time(over_time: pd.DataFrame, metrics: tuple[str, ...] = ("auc", "pr_auc", "nll")) -> tuple[Figure, pd.DataFrame]:
    """Each metric per test window, one line per method (mean over seeds; band: seed min-max)."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), 3.8), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for method in [m for m in METHODS if m in set(over_time["method"])]:
            rows = over_time[over_time["method"] == method]
            ax.plot(rows["observed_at"], rows[metric], color=COLOURS[method], lw=2 if method in ("vanilla", "oracle") else 1.2,
                    label=METHOD_LABELS[method])
            if f"{metric}_min" in rows:
                ax.fill_between(rows["observed_at"], rows[f"{metric}_min"], rows[f"{metric}_max"], color=COLOURS[method],
                                alpha=0.08, lw=0)
        ax.set_xlabel("start of the test window (day)")
        ax.set_title(METRIC_TITLES[metric])
        if metric == "nll":
            ax.set_yscale("log")
    axes[0][0].legend(fontsize=7, ncol=2)
    fig.suptitle("Metrics over time (train on window k, test on the next; lines: mean over seeds, bands: min-max)",
                 fontsize=10)
    fig.tight_layout()
    return fig, over_time.reset_index(drop=True)


def relative_improvement(table: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """RI-AUC, RI-PR-AUC and RI-NLL of every correction (RI of the seed means; whiskers: per-seed min-max)."""
    methods = [m for m in CORRECTIONS if m in table.index]
    metrics = ("auc", "pr_auc", "nll")
    fig, ax = plt.subplots(figsize=(8.5, 3.8))
    width = 0.8 / len(metrics)
    rows = []
    for j, metric in enumerate(metrics):
        values = table.loc[methods, f"ri_{metric}"].to_numpy(dtype=float)
        low = table.loc[methods, f"ri_{metric}_seed_min"].to_numpy(dtype=float)
        high = table.loc[methods, f"ri_{metric}_seed_max"].to_numpy(dtype=float)
        x = np.arange(len(methods)) + (j - 1) * width
        ax.bar(x, values, width, label=f"RI-{METRIC_TITLES[metric].split(' ')[0]}", color=("#3c6fb5", "#3c9a5f", "#b5543c")[j],
               yerr=[np.clip(values - low, 0, None), np.clip(high - values, 0, None)], capsize=2)
        rows.append(pd.DataFrame({"method": methods, "metric": metric, "ri": values, "seed_min": low, "seed_max": high}))
    ax.axhline(0, color="#999999", lw=1)
    ax.axhline(1, color="#222222", lw=1, ls="--")
    ax.axhline(0.5, color="#777777", lw=0.8, ls=":")
    ax.set_xticks(np.arange(len(methods)), [METHOD_LABELS[m] for m in methods])
    ax.set_ylabel("relative improvement (0 vanilla, 1 oracle)")
    ax.set_title("Share of the vanilla-to-oracle gap each correction closes (dotted: the goal, 0.5)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig, pd.concat(rows, ignore_index=True)


def delay_comparison(tables: dict[str, pd.DataFrame], metric: str = "auc") -> tuple[Figure, pd.DataFrame]:
    """RI of ``metric`` of every correction under each delay distribution (whiskers: per-seed min-max)."""
    distributions = list(tables)
    methods = [m for m in CORRECTIONS if all(m in t.index for t in tables.values())]
    fig, ax = plt.subplots(figsize=(8.5, 3.8))
    width = 0.8 / len(distributions)
    rows = []
    for j, name in enumerate(distributions):
        table = tables[name]
        values = table.loc[methods, f"ri_{metric}"].to_numpy(dtype=float)
        low = table.loc[methods, f"ri_{metric}_seed_min"].to_numpy(dtype=float)
        high = table.loc[methods, f"ri_{metric}_seed_max"].to_numpy(dtype=float)
        x = np.arange(len(methods)) + (j - (len(distributions) - 1) / 2) * width
        ax.bar(x, values, width, label=name, yerr=[np.clip(values - low, 0, None), np.clip(high - values, 0, None)],
               capsize=2, color=("#3c6fb5", "#b5543c", "#3c9a5f", "#8c5fb5")[j % 4])
        rows.append(pd.DataFrame({"distribution": name, "method": methods, "metric": metric, "ri": values,
                                  "seed_min": low, "seed_max": high}))
    ax.axhline(0, color="#999999", lw=1)
    ax.axhline(1, color="#222222", lw=1, ls="--")
    ax.set_xticks(np.arange(len(methods)), [METHOD_LABELS[m] for m in methods])
    ax.set_ylabel(f"RI-{METRIC_TITLES[metric].split(' ')[0]}")
    ax.set_title(f"RI-{METRIC_TITLES[metric].split(' ')[0]} when the delays are redrawn (same clicks, same means)")
    ax.legend(fontsize=8, title="delay distribution", title_fontsize=8)
    fig.tight_layout()
    return fig, pd.concat(rows, ignore_index=True)
