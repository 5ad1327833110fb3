r"""Seed-level tables: each method's window-averaged metrics over seeds, its RI, and the ordering check.

For each seed :math:`s` and method :math:`m` the protocol gives click-weighted window averages
:math:`x_{m,s}` of AUC, PR-AUC and NLL (:func:`~hermes_core.delayed_feedback.streaming.average_over_windows`).
The tables report, per method, the mean over seeds :math:`\bar x_m` with the standard deviation
(``ddof=1``; 0 with one seed), minimum and maximum, and two relative improvements
(:func:`~hermes_core.delayed_feedback.streaming.relative_improvement`):

* ``ri_<metric>``: the RI of the seed means, :math:`(\bar x_m - \bar x_v) / (\bar x_o - \bar x_v)`,
  the headline number (a ratio of means is steadier than a mean of ratios when a seed's gap is small);
* ``ri_<metric>_seed_mean``, ``_seed_min``, ``_seed_max``: the RI within each seed, summarised,
  the spread shown beside it.

The *ordering check* of the issue's benchmark, oracle :math:`\ge` correction :math:`\ge` vanilla,
is stated on the seed means for AUC (higher is better) and NLL (lower is better), i.e. an RI in
:math:`[0, 1]`, and counted per seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hermes_core.delayed_feedback.streaming import relative_improvement
from hermes_core.delayed_feedback.training_rows import CORRECTIONS, METHODS

METRICS: tuple[str, ...] = ("auc", "pr_auc", "nll")
METRIC_KEYS: dict[str, str] = {"auc": "auc", "pr_auc": "prauc", "nll": "nll"}
"""The metrics' names in tables (``pr_auc``) and in the stage's JSON (``prauc``, as the issue spells it)."""


def safe_relative_improvement(x_method: float, x_vanilla: float, x_oracle: float) -> float:
    """:func:`relative_improvement`, or NaN where it is undefined (no gap, or a value missing)."""
    try:
        return relative_improvement(x_method, x_vanilla, x_oracle)
    except ValueError:
        return float("nan")


def per_seed_ri(summary: pd.DataFrame) -> pd.DataFrame:
    """RI of every (seed, method) against that seed's vanilla and oracle; columns ``seed``, ``method``, ``ri_<metric>``."""
    rows = []
    for seed, part in summary.groupby("seed", sort=True):
        table = part.set_index("method")
        for method in table.index:
            row = {"seed": seed, "method": method}
            for metric in METRICS:
                row[f"ri_{metric}"] = safe_relative_improvement(table.loc[method, metric], table.loc["vanilla", metric],
                                                                table.loc["oracle", metric])
            rows.append(row)
    return pd.DataFrame(rows)


def method_table(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per method (in :data:`METHODS` order): seed mean, sd, min and max of each metric, the RI of
    the means and the per-seed RI's mean, min and max (module docstring). ``summary`` has columns
    ``seed``, ``method``, ``auc``, ``pr_auc``, ``nll``."""
    ri = per_seed_ri(summary)
    out = []
    present = [m for m in METHODS if m in set(summary["method"])] + sorted(set(summary["method"]) - set(METHODS))
    means = summary.groupby("method")[list(METRICS)].mean()
    for method in present:
        part = summary[summary["method"] == method]
        row: dict[str, object] = {"method": method, "n_seeds": int(part["seed"].nunique())}
        for metric in METRICS:
            values = part[metric].to_numpy(dtype=np.float64)
            row[f"{metric}_mean"] = float(values.mean())
            row[f"{metric}_sd"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
            row[f"{metric}_min"], row[f"{metric}_max"] = float(values.min()), float(values.max())
        for metric in METRICS:
            row[f"ri_{metric}"] = safe_relative_improvement(means.loc[method, metric], means.loc["vanilla", metric],
                                                            means.loc["oracle", metric])
            seeds = ri.loc[ri["method"] == method, f"ri_{metric}"].to_numpy(dtype=np.float64)
            row[f"ri_{metric}_seed_mean"] = float(np.nanmean(seeds)) if np.isfinite(seeds).any() else float("nan")
            row[f"ri_{metric}_seed_min"] = float(np.nanmin(seeds)) if np.isfinite(seeds).any() else float("nan")
            row[f"ri_{metric}_seed_max"] = float(np.nanmax(seeds)) if np.isfinite(seeds).any() else float("nan")
        out.append(row)
    return pd.DataFrame(out).set_index("method")


def oracle_gap(table: pd.DataFrame, metric: str) -> float:
    """How much better the oracle's seed mean is than the vanilla learner's (AUC, PR-AUC: higher is
    better; NLL: lower); not above 0 means there is no gap for a correction to close."""
    sign = -1.0 if metric == "nll" else 1.0
    return float(sign * (table.loc["oracle", f"{metric}_mean"] - table.loc["vanilla", f"{metric}_mean"]))


def ordering_check(table: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """Per correction: does oracle >= it >= vanilla hold on the seed means of AUC and of NLL (the
    oracle better than the vanilla learner and RI in [0, 1]), and in how many seeds."""
    ri = per_seed_ri(summary)
    rows = []
    for method in [m for m in CORRECTIONS if m in table.index]:
        seeds = ri[ri["method"] == method]
        row = {"method": method}
        for metric in ("auc", "nll"):
            value = table.loc[method, f"ri_{metric}"]
            sign = -1.0 if metric == "nll" else 1.0
            means = summary.pivot_table(index="seed", columns="method", values=metric)
            seed_gap = (sign * (means["oracle"] - means["vanilla"])).reindex(seeds["seed"]).to_numpy() > 0
            has_gap = oracle_gap(table, metric) > 0
            row[f"{metric}_between"] = bool(has_gap and 0.0 <= value <= 1.0) if np.isfinite(value) else False
            row[f"{metric}_seeds_between"] = int((seed_gap & (seeds[f"ri_{metric}"] >= 0).to_numpy()
                                                  & (seeds[f"ri_{metric}"] <= 1).to_numpy()).sum())
            difference = sign * (table.loc[method, f"{metric}_mean"] - table.loc["vanilla", f"{metric}_mean"])
            row[f"{metric}_above_vanilla"] = bool(difference >= 0.0) if np.isfinite(difference) else False
        row["n_seeds"] = int(len(seeds))
        rows.append(row)
    return pd.DataFrame(rows).set_index("method")


def over_time(windows: pd.DataFrame) -> pd.DataFrame:
    """Per (method, window): the mean over seeds of each metric and the test window's start (days)."""
    grouped = windows.groupby(["method", "window"], sort=False)
    table = grouped[list(METRICS) + ["observed_at", "train_positive_share", "test_positive_share"]].mean()
    for metric in METRICS:
        table[f"{metric}_min"] = grouped[metric].min()
        table[f"{metric}_max"] = grouped[metric].max()
    return table.reset_index()


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`method_table` as text for the notebook: ``mean ± sd`` of each metric, each RI of the
    means with the per-seed ``[min, max]``."""
    out = pd.DataFrame(index=table.index)
    for metric, title in (("auc", "AUC"), ("pr_auc", "PR-AUC"), ("nll", "NLL")):
        out[title] = [f"{m:.4f} ± {s:.4f}" for m, s in zip(table[f"{metric}_mean"], table[f"{metric}_sd"])]
    for metric, title in (("auc", "RI-AUC"), ("pr_auc", "RI-PR-AUC"), ("nll", "RI-NLL")):
        out[title] = [f"{v:.3f} [{lo:.3f}, {hi:.3f}]" if np.isfinite(v) else "–"
                      for v, lo, hi in zip(table[f"ri_{metric}"], table[f"ri_{metric}_seed_min"],
                                           table[f"ri_{metric}_seed_max"])]
    out["seeds"] = table["n_seeds"]
    return out
