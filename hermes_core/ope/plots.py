"""Figures of the OPE stage (matplotlib).

Every function returns ``(figure, data)``: ``data`` is the tidy table the figure draws, one row
per plotted bar, point or cell, which the notebook saves beside the PNG with
``hermes_core.figures.save_figure(figure, data, workspace.figures("ope"), "<name>")`` so that
``dvc plots diff`` can compare runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from hermes_core.ope.calibration import CalibrationReport

COLOURS: dict[str, str] = {
    "dm": "#7f7f7f", "ipw": "#b5543c", "snipw": "#e08a3c", "dr": "#3c6fb5", "sndr": "#6fa3e0",
    "switch-dr": "#3c9a5f", "dr-os": "#8c5fb5", "switch-dr-slope": "#86c79b", "dr-os-slope": "#c3a6de",
}  # fmt: skip


def _colour(name: str) -> str | None:
    return COLOURS.get(name)


def world_errors(table: pd.DataFrame, target: str, ci_level: float) -> tuple[Figure, pd.DataFrame]:
    """Mean relative error (bars, ± its std over resamples) and interval coverage (dots, right
    axis, with the nominal level dashed) of every estimator on one target. Data: one row per
    estimator with ``relative_ee_mean``, ``relative_ee_std`` and ``coverage``."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    x = np.arange(len(table))
    ax.bar(x, table["relative_ee_mean"], yerr=table["relative_ee_std"], capsize=3,
           color=[_colour(n) or "#bbbbbb" for n in table.index])  # fmt: skip
    ax.set_xticks(x, table.index, rotation=30, ha="right")
    ax.set_ylabel("mean |V̂ − V| / V")
    right = ax.twinx()
    right.plot(x, table["coverage"], "ko", ms=5, label="coverage")
    right.axhline(ci_level, color="k", ls="--", lw=0.8)
    right.set_ylim(-0.02, 1.05)
    right.set_ylabel(f"coverage of the {ci_level:.0%} interval")
    ax.set_title(f"World, target {target}: error and coverage over {int(table['n_resamples'].iloc[0])} fresh logs")
    fig.tight_layout()
    data = table[["relative_ee_mean", "relative_ee_std", "coverage"]].rename_axis("estimator").reset_index()
    return fig, data.assign(target=target)


VARIANCE_ONLY_MARK = "†"
"""Marks an estimator whose interval covers the sampling variance only (not its bias)."""


def coverage_heatmap(coverage: pd.DataFrame, ci_level: float,
                     scopes: Mapping[str, str] | None = None) -> tuple[Figure, pd.DataFrame]:
    """Coverage (target x estimator) as a heat map, annotated; with ``scopes`` (estimator ->
    :func:`~hermes_core.ope.base.interval_scope`), estimators whose interval is variance-only get
    :data:`VARIANCE_ONLY_MARK` and the figure says what it means. Data: one row per cell
    (``target``, ``estimator``, ``coverage``, and ``interval_scope`` with ``scopes``), targets in
    the rows' order."""
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * coverage.shape[1], 1.2 + 0.42 * coverage.shape[0]))
    image = ax.imshow(coverage.to_numpy(dtype=float), vmin=0, vmax=1, cmap="RdYlGn", aspect="auto")
    scopes = dict(scopes or {})
    labels = [f"{name} {VARIANCE_ONLY_MARK}" if scopes.get(name) == "variance only" else name
              for name in coverage.columns]  # fmt: skip
    ax.set_xticks(range(coverage.shape[1]), labels, rotation=35, ha="right")
    if any(scope == "variance only" for scope in scopes.values()):
        fig.text(0.01, 0.005, f"{VARIANCE_ONLY_MARK} interval covers the sampling variance only: the reward model, "
                 "threshold or SLOPE choice is held fixed, so a bias is never covered", fontsize=7)
    ax.set_yticks(range(coverage.shape[0]), coverage.index)
    for (i, j), value in np.ndenumerate(coverage.to_numpy(dtype=float)):
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8)
    fig.colorbar(image, ax=ax, label=f"share of logs whose {ci_level:.0%} interval holds V")
    ax.set_title("Interval coverage of the true value, by target and estimator")
    fig.tight_layout()
    cells = coverage.rename_axis(index="target", columns="estimator").stack().rename("coverage").reset_index()
    if scopes:
        cells["interval_scope"] = cells["estimator"].map(scopes)
    return fig, cells


def error_vs_divergence(sweep: pd.DataFrame, estimators: tuple[str, ...]) -> tuple[Figure, pd.DataFrame]:
    """Mean relative error of ``estimators`` against KL(target ‖ logging) and against the 1%
    quantile of the logging propensity of what the target plays, one point per target. Data:
    one row per (target, estimator) with ``kl``, ``pscore_p01_played`` and ``relative_ee_mean``."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, column, label in ((axes[0], "kl", "mean KL(target ‖ logging) per slot"),
                              (axes[1], "pscore_p01_played", "1% quantile of π_b over what the target plays")):  # fmt: skip
        order = sweep.sort_values(column)
        for name in estimators:
            ax.plot(order[column], order[f"relative_ee_mean[{name}]"], "o-", ms=4, label=name,
                    color=_colour(name))  # fmt: skip
        for target, row in order.iterrows():
            ax.annotate(str(target).replace("softmax-true@", "T="), (row[column], 0), fontsize=7,
                        rotation=90, va="bottom", ha="center", xycoords=("data", "axes fraction"))  # fmt: skip
        ax.set_xlabel(label)
    axes[1].set_xscale("log")
    axes[1].invert_xaxis()
    axes[0].set_ylabel("mean |V̂ − V| / V")
    axes[0].set_yscale("log")
    axes[1].legend(fontsize=8, ncol=2)
    fig.suptitle("Relative error as the target moves away from the logging policy")
    fig.tight_layout()
    points = [{"target": str(target), "estimator": name, "kl": float(row["kl"]),
               "pscore_p01_played": float(row["pscore_p01_played"]),
               "relative_ee_mean": float(row[f"relative_ee_mean[{name}]"])}
              for target, row in sweep.iterrows() for name in estimators]  # fmt: skip
    return fig, pd.DataFrame(points)


def clipping_and_normalisation(table: pd.DataFrame, target: str, rmse: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Left: |bias|, standard deviation and RMSE (over resamples) of IPW, its clipped variants,
    SNIPW, DR and SNDR on one target. Right: every variant's RMSE divided by plain IPW's, per
    target (``rmse``: targets x variants, rows in the order to draw). Data: one row per drawn
    value (``panel``, ``target``, ``estimator``, ``measure``, ``value``): the left panel's
    ``abs_bias``, ``std`` and ``rmse``, the right panel's ``rmse_over_ipw``."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [1, 1.2]})
    x = np.arange(len(table))
    left.bar(x - 0.2, table["bias"].abs(), width=0.4, label="|bias|", color="#b5543c")
    left.bar(x + 0.2, table["std"], width=0.4, label="std", color="#3c6fb5")
    left.plot(x, table["rmse"], "kD", ms=5, label="RMSE")
    left.set_xticks(x, table.index, rotation=25, ha="right")
    left.set_ylabel("clicks per impression")
    left.set_title(f"target {target}")
    left.legend(fontsize=8)
    ratio = rmse.div(rmse["ipw"], axis=0)
    clipped = [name for name in ratio.columns if name.startswith("ipw-clip")]
    clip_colours = dict(zip(clipped, plt.get_cmap("copper")(np.linspace(0.15, 0.75, max(1, len(clipped))))))
    for name in ratio.columns.drop("ipw"):
        style = "--" if name in clip_colours else "-"
        colour = clip_colours.get(name, _colour(name))
        right.plot(np.arange(len(ratio)), ratio[name], style, marker="o", ms=4, label=name, color=colour)
    right.axhline(1.0, color="k", lw=0.8)
    right.set_yscale("log")
    right.set_xticks(np.arange(len(ratio)), ratio.index, rotation=25, ha="right")
    right.set_ylabel("RMSE / RMSE of plain IPW")
    right.set_title("every target (left to right: rarer logged actions)")
    right.legend(fontsize=7, ncol=2)
    fig.suptitle("What clipping and self-normalisation buy")
    fig.tight_layout()
    left_rows = [{"panel": "left", "target": target, "estimator": str(name), "measure": measure, "value": float(value)}
                 for name in table.index
                 for measure, value in (("abs_bias", abs(table.loc[name, "bias"])), ("std", table.loc[name, "std"]),
                                        ("rmse", table.loc[name, "rmse"]))]  # fmt: skip
    right_rows = [{"panel": "right", "target": str(row_target), "estimator": str(name), "measure": "rmse_over_ipw",
                   "value": float(ratio.loc[row_target, name])}
                  for row_target in ratio.index for name in ratio.columns.drop("ipw")]  # fmt: skip
    return fig, pd.DataFrame(left_rows + right_rows)


def obd_comparison(agreement: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Experiment 2: our mean relative error beside OBP's, each ± two standard errors of its
    mean (``agreement``: :func:`hermes_core.ope.conclusions.obd_agreement`, whose columns
    ``ours_se`` and ``published_se`` are std / sqrt(runs)). Data: one row per estimator with
    ``ours``, ``ours_se``, ``published``, ``published_se`` and ``within_2_se``."""
    fig, ax = plt.subplots(figsize=(8, 3.4))
    x = np.arange(len(agreement))
    ax.bar(x - 0.2, agreement["ours"], 0.4, yerr=2 * agreement["ours_se"], capsize=3, label="Hermes",
           color="#3c6fb5")  # fmt: skip
    ax.bar(x + 0.2, agreement["published"], 0.4, yerr=2 * agreement["published_se"], capsize=3,
           label="OBP (published)", color="#bbbbbb")  # fmt: skip
    for i, within in enumerate(agreement["within_2_se"]):
        if not within:
            ax.annotate("≠", (i, 0), xycoords=("data", "axes fraction"), ha="center", va="bottom", fontsize=11)
    ax.set_xticks(x, agreement.index, rotation=25, ha="right")
    ax.set_ylabel("mean relative estimation error")
    ax.set_title("Open Bandit, experiment 2: BTS on the random logs (bars: ± 2 SE of the mean; ≠: differ)")
    ax.legend(loc="upper left", ncol=2)
    fig.tight_layout()
    columns = ["ours", "ours_se", "published", "published_se", "within_2_se"]
    return fig, agreement[columns].rename_axis("estimator").reset_index()


def gate_intervals(table: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Estimated uplift with its interval and the true uplift, per challenger; an interval that
    misses the true uplift is drawn in red. Data: one row per challenger with ``uplift``,
    ``ci_low``, ``ci_high``, ``true_uplift``, ``decision`` and ``interval_holds_truth``."""
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.6 * len(table)))
    y = np.arange(len(table))
    uplift = table["uplift"].astype(float)
    low, high = table["ci_low"].astype(float), table["ci_high"].astype(float)
    truth = table["true_uplift"].astype(float)
    holds = (low <= truth) & (truth <= high)
    for mask, colour, label in ((holds, "#3c6fb5", "DR uplift, interval holds the truth"),
                                (~holds, "#b5543c", "DR uplift, interval MISSES the truth")):  # fmt: skip
        if mask.any():
            ax.errorbar(uplift[mask], y[mask.to_numpy()], xerr=[(uplift - low)[mask], (high - uplift)[mask]],
                        fmt="o", color=colour, capsize=4, label=label)  # fmt: skip
    ax.plot(truth, y, "k*", ms=10, label="true uplift")
    ax.axvline(0, color="#b5543c", lw=1)
    ax.set_yticks(y, [f"{name}\n→ {decision}" for name, decision in zip(table.index, table["decision"])])
    ax.set_xlabel("V(challenger) − V(champion), clicks per impression")
    ax.set_title("Champion/challenger gate on the shadow log (champion: the logging policy)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    data = pd.DataFrame({"challenger": [str(name) for name in table.index], "uplift": uplift.to_numpy(),
                         "ci_low": low.to_numpy(), "ci_high": high.to_numpy(), "true_uplift": truth.to_numpy(),
                         "decision": table["decision"].to_numpy(),
                         "interval_holds_truth": holds.to_numpy()})  # fmt: skip
    return fig, data


SLATE_COLOURS: dict[str, str] = {"iips": "#b5543c", "rips": "#3c6fb5", "cascade-dr": "#3c9a5f", "sips": "#8c5fb5",
                                 "pi": "#7f7f7f"}  # fmt: skip


def slate_errors(summary: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Relative RMSE of every slate estimator against how far the target is from the logging policy
    (mean KL of the position marginals), one panel per click model; ``summary`` is
    :meth:`~hermes_core.ope.slate_study.SlateStudy.summary`. Data: one row per (click model,
    target, estimator) with ``kl``, ``relative_rmse``, ``bias`` and ``coverage``."""
    models = list(dict.fromkeys(summary.index.get_level_values("click_model")))
    fig, axes = plt.subplots(1, len(models), figsize=(5.2 * len(models), 3.8), sharey=True, squeeze=False)
    for ax, model in zip(axes[0], models):
        part = summary.xs(model, level="click_model")
        for estimator in dict.fromkeys(part.index.get_level_values("estimator")):
            rows = part.xs(estimator, level="estimator").sort_values("kl")
            ax.plot(rows["kl"], rows["relative_rmse"], "o-", label=estimator, color=SLATE_COLOURS.get(estimator))
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):  # plain numbers, no crowded minor labels
            axis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
            axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("mean KL(target ‖ logging) of the position marginals")
        ax.set_title(f"{model} clicks")
    axes[0][0].set_ylabel("RMSE / true value")
    axes[0][-1].legend(fontsize=8)
    fig.suptitle("Slate estimators on fresh world logs: error as the target moves away from the logging policy")
    fig.tight_layout()
    data = summary[["kl", "relative_rmse", "bias", "coverage"]].reset_index()
    return fig, data


def gate_error_rates(summary: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Promote rate of each challenger over many logs with its Wilson 95% interval, beside the
    true uplift; ``summary`` is :meth:`~hermes_core.ope.gate_error_rates.GateErrorRates.summary`.
    Data: one row per challenger with ``true_uplift_mean``, ``promote_rate`` and its bounds."""
    fig, ax = plt.subplots(figsize=(7.5, 0.9 + 0.55 * len(summary)))
    y = np.arange(len(summary))
    rate = summary["promote_rate"].astype(float)
    low, high = summary["promote_rate_low"].astype(float), summary["promote_rate_high"].astype(float)
    ax.errorbar(rate, y, xerr=[rate - low, high - rate], fmt="o", color="#3c6fb5", capsize=4,
                label="share of logs promoted (Wilson 95%)")  # fmt: skip
    ax.set_yticks(y, [f"{name}\nΔ = {uplift:+.4f}" for name, uplift in
                      zip(summary.index, summary["true_uplift_mean"].astype(float))])  # fmt: skip
    if "one_sided_level" in summary:
        ax.axvline(float(summary["one_sided_level"].iloc[0]), color="#b5543c", lw=1, ls="--",
                   label="one-sided level: the most a not-better challenger may be promoted")  # fmt: skip
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.6, len(summary) - 0.4 + 0.6)
    ax.set_xlabel("promote rate over independent logs")
    ax.set_title("The gate's decisions over many logs (Δ: mean true uplift)")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    data = summary[["true_uplift_mean", "promote_rate", "promote_rate_low", "promote_rate_high"]]
    return fig, data.rename_axis("challenger").reset_index()


def reliability(report: CalibrationReport, title: str) -> tuple[Figure, pd.DataFrame]:
    """Reliability diagram of a reward model: per equal-count bin, the mean prediction against the
    observed click rate (the diagonal is perfect calibration), the constant click rate as a
    horizontal line. Data: one row per bin with ``count``, ``mean_predicted``, ``observed_rate``."""
    bins = pd.DataFrame([asdict(bin_) for bin_ in report.bins])
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    top = float(max(bins["mean_predicted"].max(), bins["observed_rate"].max())) * 1.1 or 1.0
    ax.plot([0, top], [0, top], color="#999999", lw=1, label="perfect calibration")
    ax.axhline(report.base_rate, color="#b5543c", lw=1, ls="--", label=f"constant click rate {report.base_rate:.4f}")
    ax.plot(bins["mean_predicted"], bins["observed_rate"], "o-", color="#3c6fb5", label="equal-count bins")
    ax.set_xlabel("mean predicted click probability")
    ax.set_ylabel("observed click rate")
    ax.set_title(f"{title}\nECE {report.expected_calibration_error:.4f}, log-loss skill {report.log_loss_skill:+.3f}",
                 fontsize=9)  # fmt: skip
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig, bins[["count", "mean_predicted", "observed_rate"]].rename_axis("bin").reset_index()
