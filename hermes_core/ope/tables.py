"""The tables the OPE notebook shows: selections and reshapes of the stage's results, in display units.

Nothing here estimates anything new: every number is a column of the world study's summary
(:meth:`~hermes_core.ope.world_experiments.WorldStudy.summary`), of an Open Bandit experiment's
:meth:`~hermes_core.ope.open_bandit.OpenBanditExperimentResult.summary`, or a plain mean and
standard error over logs (:func:`logging_check_summary`, :func:`bias_t_statistic`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from hermes_core.data.readers.open_bandit import read_open_bandit_logs
from hermes_core.ope.conclusions import obd_agreement
from hermes_core.ope.open_bandit import PUBLISHED_BTS_FROM_RANDOM_ALL, OpenBanditExperimentResult
from hermes_core.ope.params import OpeParams
from hermes_core.ope.world_experiments import WorldStudy

HEADLINE_ESTIMATORS: tuple[str, ...] = ("dm", "ipw", "snipw", "dr", "sndr", "switch-dr", "dr-os")
"""The seven estimators of the issue, in the order of OBP's table."""

DISPLAY_UNITS: dict[str, tuple[float, str]] = {
    "relative_ee_mean": (100.0, "mean relative error (%)"),
    "relative_ee_std": (100.0, "sd of relative error (%)"),
    "bias": (1e3, "bias (10⁻³)"),
    "std": (1e3, "sd of V̂ − V (10⁻³)"),
    "rmse": (1e3, "RMSE (10⁻³)"),
    "interval_width": (1e3, "interval width (10⁻³)"),
    "coverage": (100.0, "coverage (%)"),
    "coverage_wilson_low": (100.0, "coverage, Wilson 95% low (%)"),
    "coverage_wilson_high": (100.0, "coverage, Wilson 95% high (%)"),
    "coverage_of_mean_truth": (100.0, "coverage of the mean truth (%)"),
}
"""How each summary column is shown: relative errors and coverages in percent, values in
10⁻³ clicks per impression, so that one column never mixes notations."""


INTERVAL_SCOPE_COLUMN = "interval covers"
"""Display name of ``interval_scope``: "sampling error", or "variance only" for an estimator whose
interval resamples rounds around a possibly biased centre (:func:`~hermes_core.ope.base.interval_scope`)."""


def in_display_units(summary: pd.DataFrame) -> pd.DataFrame:
    """The :data:`DISPLAY_UNITS` columns of a summary table, scaled and renamed with their unit
    (other columns, e.g. ``n_resamples``, are left out: the caption states them), followed by
    what each interval covers (:data:`INTERVAL_SCOPE_COLUMN`) when the summary says it."""
    kept = [column for column in summary.columns if column in DISPLAY_UNITS]
    scaled = summary[kept].astype(float).mul([DISPLAY_UNITS[c][0] for c in kept], axis=1)
    scaled.columns = [DISPLAY_UNITS[c][1] for c in kept]
    if "interval_scope" in summary:
        scaled[INTERVAL_SCOPE_COLUMN] = summary["interval_scope"]
    return scaled


# ----------------------------------------------------------------------------- world study
def world_table(study: WorldStudy, target: str) -> pd.DataFrame:
    """The summary rows of one target, estimators in the order of the study."""
    summary = study.summary()
    return summary.loc[target]


def main_target_table(study: WorldStudy, target: str) -> pd.DataFrame:
    """:func:`world_table` of ``target`` restricted to :data:`HEADLINE_ESTIMATORS` and the
    SLOPE-tuned ``*-slope`` rows, in that order (the notebook's §4.1 table and figure)."""
    main = world_table(study, target)
    return main.loc[list(HEADLINE_ESTIMATORS) + [name for name in main.index if name.endswith("-slope")]]


def target_overview(study: WorldStudy) -> pd.DataFrame:
    """Per target, the mean over logs of its truth, the logged click rate, the mean importance
    weight, the KL divergence from the logging policy and the effective sample share."""
    return study.target_summary()[["truth", "logged_click_rate", "mean_weight", "kl", "effective_sample_share"]]


def estimator_by_target(study: WorldStudy, column: str) -> pd.DataFrame:
    """One summary column as a (target x estimator) table."""
    return study.summary()[column].unstack("estimator").loc[
        study.diagnostics["target"].unique(), study.estimates["estimator"].unique()
    ]


def sweep_formats(columns: list[str] | pd.Index) -> dict[str, str]:
    """Format of each :func:`sweep_table` column for ``DataFrame.style.format``: one notation
    per column (percent for errors and the sample share, scientific for propensities)."""
    fixed = {"truth": "{:.4f}", "kl": "{:.3f}", "min_pscore_played": "{:.1e}", "pscore_p01_played": "{:.1e}",
             "max_weight": "{:.1f}", "effective_sample_share": "{:.1%}"}  # fmt: skip
    return {c: fixed.get(c, "{:.2%}" if c.startswith("relative_ee_mean[") else "{:.4g}") for c in columns}


def sweep_table(study: WorldStudy, estimators: tuple[str, ...]) -> pd.DataFrame:
    """For every target that is not the logging policy: its divergence diagnostics beside the
    mean relative error of ``estimators`` (columns ``relative_ee_mean[<estimator>]``)."""
    errors = study.summary()["relative_ee_mean"].unstack("estimator")[list(estimators)]
    errors.columns = [f"relative_ee_mean[{name}]" for name in errors.columns]
    diagnostics = study.target_summary()[["truth", "kl", "min_pscore_played", "pscore_p01_played",
                                          "max_weight", "effective_sample_share"]]  # fmt: skip
    return diagnostics.join(errors).drop(index="logging", errors="ignore").sort_values("kl")


def logging_check(study: WorldStudy) -> pd.DataFrame:
    """Target = the logging policy, per resample: the mean importance weight (every
    :math:`w_i = \\pi_b / \\pi_b = 1`), IPW minus the log's on-policy click rate (0 when all weights
    are 1), and IPW minus the truth :math:`V` of that log (the estimator's error)."""
    logging = study.diagnostics[study.diagnostics["target"] == "logging"].set_index("resample")
    ipw = study.estimates.query("target == 'logging' and estimator == 'ipw'").set_index("resample")["estimate"]
    return pd.DataFrame({
        "truth": logging["truth"],
        "logged_click_rate": logging["logged_click_rate"],
        "ipw": ipw,
        "mean_weight": logging["mean_weight"],
        "ipw_minus_click_rate": ipw - logging["logged_click_rate"],
        "ipw_minus_truth": ipw - logging["truth"],
    })


def bias_t_statistic(errors: pd.Series) -> float:
    """:math:`\\bar e / (s_e / \\sqrt R)` over ``R`` resamples: |t| below about 2 means no bias
    detectable at that number of resamples (NaN with fewer than 2 or zero spread)."""
    if len(errors) < 2 or errors.std(ddof=1) == 0:
        return math.nan
    return float(errors.mean() / (errors.std(ddof=1) / math.sqrt(len(errors))))


LOGGING_CHECK_ROWS: dict[str, str] = {
    "mean weight − 1": "mean_weight",
    "IPS − on-policy click rate": "ipw_minus_click_rate",
    "IPS − truth V of the log": "ipw_minus_truth",
}
"""Rows of :func:`logging_check_summary` and the :func:`logging_check` column behind each."""


def logging_check_summary(check: pd.DataFrame, scale: float = 1e3) -> pd.DataFrame:
    """:func:`logging_check` over the logs, in units of ``1/scale`` (10⁻³ by default): per row of
    :data:`LOGGING_CHECK_ROWS`, the ``mean``, its ``standard error`` :math:`s/\\sqrt R` (ddof 1,
    NaN with one log), ``min`` and ``max`` over the ``R`` logs. The mean weight enters as
    ``mean_weight - 1`` so that every row is a deviation from its exact value (0)."""
    rows = {}
    for label, column in LOGGING_CHECK_ROWS.items():
        values = (check[column] - 1.0 if column == "mean_weight" else check[column]) * scale
        rows[label] = {
            "mean": float(values.mean()),
            "standard error": float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else math.nan,
            "min": float(values.min()),
            "max": float(values.max()),
        }
    return pd.DataFrame(rows).T


def clipping_variants(params: OpeParams) -> list[str]:
    """IPS, its clipped variants (``ope.world.ipw_clip_sweep``), SNIPS, DR and SNDR, in that order."""
    return ["ipw", *(f"ipw-clip@{clip:g}" for clip in params.world.ipw_clip_sweep), "snipw", "dr", "sndr"]


def clipping_tables(study: WorldStudy, params: OpeParams, sweep: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(main, rmse)``: the main target's relative error, bias, std, RMSE and coverage of every
    :func:`clipping_variants` estimator, and the RMSE of each on every non-logging target
    (rows from the most to the least often logged actions, by the sweep's 1% propensity quantile)."""
    summary = study.summary()
    variants = clipping_variants(params)
    main = summary.loc[params.world.main_target].loc[variants, ["relative_ee_mean", "bias", "std", "rmse", "coverage"]]
    order = sweep.sort_values("pscore_p01_played", ascending=False).index
    rmse = summary["rmse"].unstack("estimator").loc[order, variants]
    return main, rmse


# ----------------------------------------------------------------------------- Open Bandit
def obd_log_summary(root: Path, campaign: str) -> pd.DataFrame:
    """Rounds, items, click rate and propensity range of the two logs."""
    rows = {}
    for policy in ("random", "bts"):
        logs = read_open_bandit_logs(root, policy, campaign)  # type: ignore[arg-type]
        rows[policy] = {"rounds": logs.n_rounds, "items": logs.n_actions, "slots": logs.len_list,
                        "clicks": int(logs.reward.sum()), "click_rate": float(logs.reward.mean()),
                        "min_pscore": float(logs.pscore.min()), "max_pscore": float(logs.pscore.max())}  # fmt: skip
    return pd.DataFrame(rows).T


def published_row(name: str, slope_tuning: bool) -> str | None:
    """The row of OBP's published table that our estimator ``name`` corresponds to: Switch-DR
    and DRos were tuned by SLOPE there, so they match our ``*-slope`` rows when we tune too."""
    base = name.removesuffix("-slope")
    if base not in PUBLISHED_BTS_FROM_RANDOM_ALL:
        return None
    if base in ("switch-dr", "dr-os") and slope_tuning != name.endswith("-slope"):
        return None
    return base


def obd_table(results: Mapping[str, OpenBanditExperimentResult], slope_tuning: bool) -> pd.DataFrame:
    """Relative estimation error (mean, std over bootstrap runs, and ``mc_se``, the Monte-Carlo
    standard error of the mean :math:`s / \\sqrt{n_\\text{runs}}`) of every estimator of experiment 2
    in both experiments (NaN where an estimator ran in experiment 2 only), with the published mean
    and std of experiment 2 beside ours."""
    rows = []
    for name in results["bts-from-random"].relative_errors:
        row: dict[str, object] = {"estimator": name}
        for experiment, result in results.items():
            # an estimator run in one experiment only (MIPS needs the known uniform behaviour of experiment 2)
            summary = result.summary().get(name, {"mean": math.nan, "std": math.nan, "mc_se": math.nan})
            row[(experiment, "mean")] = summary["mean"]
            row[(experiment, "std")] = summary["std"]
            row[(experiment, "mc_se")] = summary["mc_se"]
        published = published_row(name, slope_tuning)
        mean, std = PUBLISHED_BTS_FROM_RANDOM_ALL[published] if published else (math.nan, math.nan)
        row[("published bts-from-random", "mean")] = mean
        row[("published bts-from-random", "std")] = std
        rows.append(row)
    table = pd.DataFrame(rows).set_index("estimator")
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    return table


def published_agreement(results: Mapping[str, OpenBanditExperimentResult], table: pd.DataFrame) -> pd.DataFrame:
    """Experiment 2 of ``table`` (:func:`obd_table`) against OBP's published means, within two
    standard errors of their difference (:func:`~hermes_core.ope.conclusions.obd_agreement`),
    each side's standard error being that of its mean: ours :math:`s / \\sqrt{n_\\text{runs}}`,
    OBP's :math:`s / \\sqrt{30}`."""
    ours, published = table["bts-from-random"], table["published bts-from-random"]
    return obd_agreement(ours["mean"], ours["std"], results["bts-from-random"].n_runs,
                         published["mean"], published["std"])  # fmt: skip


# ----------------------------------------------------------------------------- metrics
def headline_table(metrics: Mapping[str, Mapping[str, float | int | None]]) -> pd.DataFrame:
    """:func:`~hermes_core.ope.metrics.headline_metrics` as a two-column table (block, metric) ->
    value, ``None`` as NaN."""
    rows = [(block, key, math.nan if value is None else float(value))
            for block, values in metrics.items() for key, value in values.items()]  # fmt: skip
    return pd.DataFrame(rows, columns=["block", "metric", "value"]).set_index(["block", "metric"])
