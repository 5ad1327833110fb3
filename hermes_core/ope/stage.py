"""The OPE stage's glue: inputs it needs, the three experiments' runs, tables and metrics.

The notebook ``notebooks/06_ope.ipynb`` calls these functions; the maths lives in the other
modules of :mod:`hermes_core.ope` and in :mod:`hermes_core.data.readers.open_bandit`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hermes_core.data.readers.open_bandit import (
    PUBLISHED_BTS_FROM_RANDOM_ALL,
    PUBLISHED_SOURCE,
    OpenBanditExperimentResult,
    bernoulli_ts_action_dist,
    evaluate_bts_from_random,
    evaluate_random_from_bts,
    read_open_bandit_logs,
)
from hermes_core.evaluation.verdict import truth_in_interval
from hermes_core.ope.base import OffPolicyEstimator
from hermes_core.ope.conclusions import obd_agreement
from hermes_core.ope.params import OpeParams
from hermes_core.ope.registry import make_estimators
from hermes_core.ope.shadow import (
    GateReport,
    ShadowLog,
    gate_on_shadow_log,
    learned_policy,
    requests_of,
    run_shadow_mode,
    softmax_true_policy,
    uniform_policy,
)
from hermes_core.ope.world_experiments import WorldStudy, fit_world_log, resample_seeds
from hermes_core.workspace import (
    SHARED_DATA_ENV,
    MissingDataError,
    Workspace,
    resolve_project_path,
    shared_data_dir,
)
from hermes_core.world.policies import resimulate
from hermes_core.world.world import World

HEADLINE_ESTIMATORS: tuple[str, ...] = ("dm", "ipw", "snipw", "dr", "sndr", "switch-dr", "dr-os")
"""The seven estimators of the issue, in the order of OBP's table."""

OBD_FOLDER = "open_bandit_dataset"
EXPERIMENTS: dict[str, str] = {
    "random-from-bts": "1 · evaluate uniform random on the Bernoulli TS logs",
    "bts-from-random": "2 · evaluate Bernoulli TS on the uniform random logs (published)",
}


# ----------------------------------------------------------------------------- inputs
def load_world(workspace: Workspace) -> tuple[World | None, str]:
    """The ingest stage's world and a sentence on it; ``None`` with the reason when
    ``data/world`` holds none (e.g. ``data.source`` is MovieLens)."""
    try:
        world = World.load(workspace.world)
    except FileNotFoundError:
        return None, (f"No synthetic world at {workspace.world}: the ingest stage wrote none (data.source is "
                      "not 'world', or ingest has not run). The world experiments and the gate are skipped.")  # fmt: skip
    p = world.params
    where = workspace.world.relative_to(workspace.root)  # no absolute path: the note goes to the metrics
    return world, (f"World loaded from <output root>/{where}: {p.n_users:,} users, {p.n_items:,} items, "
                   f"{p.n_requests:,} logged requests of {p.slate_size} slots from {p.candidates_per_request} "
                   f"candidates (logging temperature {p.logging_temperature:g}).")  # fmt: skip


def obd_root(params: OpeParams) -> Path:
    """The Open Bandit folder: ``$HERMES_SHARED_DATA/open_bandit_dataset`` when that variable is
    set (:func:`~hermes_core.workspace.shared_data_dir`), else ``ope.obd.path``, a relative path
    being resolved against the original repository
    (:func:`~hermes_core.workspace.resolve_project_path`, which also works inside DVC's experiment
    copies under ``.dvc/tmp/exps/``)."""
    if os.environ.get(SHARED_DATA_ENV):
        return shared_data_dir() / OBD_FOLDER
    return resolve_project_path(params.obd.path)


def obd_needed_files(root: Path, campaign: str) -> list[Path]:
    """The four files the two experiments read: each policy's log and item file."""
    return [root / policy / campaign / name for policy in ("random", "bts")
            for name in (f"{campaign}.csv", "item_context.csv")]  # fmt: skip


def locate_obd(params: OpeParams) -> Path | None:
    """The Open Bandit folder to read, or ``None`` when ``ope.obd.enabled`` is false.

    Enabled and a file missing is an error, not a silent skip: raises
    :class:`~hermes_core.workspace.MissingDataError` naming the missing files, the resolved folder
    and the three ways out (``ope.obd.path``, ``$HERMES_SHARED_DATA``, ``ope.obd.enabled: false``).
    """
    if not params.obd.enabled:
        return None
    root = obd_root(params)
    missing = [path for path in obd_needed_files(root, params.obd.campaign) if not path.is_file()]
    if missing:
        origin = (f"${SHARED_DATA_ENV}/{OBD_FOLDER}" if os.environ.get(SHARED_DATA_ENV)
                  else f"ope.obd.path = {params.obd.path!r}")  # fmt: skip
        raise MissingDataError(
            f"Open Bandit sample incomplete: missing {', '.join(str(p) for p in missing)} in the folder {root} "
            f"(resolved from {origin}). Point ope.obd.path (relative to the repository) or ${SHARED_DATA_ENV} "
            f"(its {OBD_FOLDER}/ subfolder) at the sample, or set ope.obd.enabled: false to skip the "
            "Open Bandit experiments."
        )
    return root


def obd_skip_note(params: OpeParams) -> str:
    """The sentence the notebook and the diagnostics give when the experiments are switched off."""
    return ("Open Bandit experiments skipped by the parameter ope.obd.enabled: false; their metrics are "
            "recorded as null.")


def stage_estimators(params: OpeParams) -> dict[str, OffPolicyEstimator]:
    """The seven estimators with the ``ope`` hyperparameters, plus the SLOPE-tuned Switch-DR
    and DRos when ``slope_tuning`` (used on the Open Bandit sample)."""
    return make_estimators(
        clip_lambda=params.clip_lambda,
        switch_tau=params.switch_tau,
        dros_lambda=params.dros_lambda,
        tuning_grid=params.slope_grid if params.slope_tuning else None,
        slope_delta=params.slope_delta,
    )


# ----------------------------------------------------------------------------- Open Bandit
def bts_target(params: OpeParams, root: Path) -> tuple[np.ndarray | None, str]:
    """Bernoulli TS's action distribution for experiment 2 and how it was obtained: ``None``
    (its logged per-slot share, :func:`~hermes_core.data.readers.open_bandit.logged_action_share`)
    unless ``ope.obd.bts_prior_yaml`` names OBP's ``prior_bts.yaml``, which is then simulated
    (``n_sim_bts`` draws) as the published run did."""
    if params.obd.bts_prior_yaml is None:
        return None, "BTS's logged action share per slot (context-free; OBP's production prior not supplied)"
    import yaml

    path = resolve_project_path(params.obd.bts_prior_yaml)
    prior = yaml.safe_load(path.read_text(encoding="utf-8"))[params.obd.campaign]
    simulated = bernoulli_ts_action_dist(np.asarray(prior["alpha"]), np.asarray(prior["beta"]),
                                         n_sim=params.obd.n_sim_bts, seed=params.seed)  # fmt: skip
    return simulated, f"Bernoulli TS simulated from {path.name} ({params.obd.n_sim_bts:,} draws), as published"


def run_obd_experiments(params: OpeParams, root: Path) -> dict[str, OpenBanditExperimentResult]:
    """Experiments 1 and 2 of :mod:`hermes_core.data.readers.open_bandit` with the stage's
    estimators, reward model, folds and ``ope.obd`` settings."""
    common = dict(
        n_runs=params.obd.n_bootstrap_runs, seed=params.seed, reward_model=params.reward_model,
        n_folds=params.n_folds, position_handling=params.position_handling,
        estimators=stage_estimators(params), include_affinity=params.obd.include_affinity_features,
    )  # fmt: skip
    target, _ = bts_target(params, root)
    return {
        "random-from-bts": evaluate_random_from_bts(root, params.obd.campaign, **common),
        "bts-from-random": evaluate_bts_from_random(root, params.obd.campaign, bts_action_dist=target, **common),
    }


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


def obd_table(results: dict[str, OpenBanditExperimentResult], slope_tuning: bool) -> pd.DataFrame:
    """Relative estimation error (mean, std over bootstrap runs) of every estimator in both
    experiments, with the published mean and std of experiment 2 beside ours."""
    rows = []
    for name in results["bts-from-random"].relative_errors:
        row: dict[str, object] = {"estimator": name}
        for experiment, result in results.items():
            summary = result.summary()[name]
            row[(experiment, "mean")] = summary["mean"]
            row[(experiment, "std")] = summary["std"]
        published = published_row(name, slope_tuning)
        mean, std = PUBLISHED_BTS_FROM_RANDOM_ALL[published] if published else (math.nan, math.nan)
        row[("published bts-from-random", "mean")] = mean
        row[("published bts-from-random", "std")] = std
        rows.append(row)
    table = pd.DataFrame(rows).set_index("estimator")
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    return table


# ----------------------------------------------------------------------------- world
DISPLAY_UNITS: dict[str, tuple[float, str]] = {
    "relative_ee_mean": (100.0, "mean relative error (%)"),
    "relative_ee_std": (100.0, "sd of relative error (%)"),
    "bias": (1e3, "bias (10⁻³)"),
    "std": (1e3, "sd of V̂ − V (10⁻³)"),
    "rmse": (1e3, "RMSE (10⁻³)"),
    "interval_width": (1e3, "interval width (10⁻³)"),
    "coverage": (100.0, "coverage (%)"),
    "coverage_of_mean_truth": (100.0, "coverage of the mean truth (%)"),
}
"""How each summary column is shown: relative errors and coverages in percent, values in
10⁻³ clicks per impression, so that one column never mixes notations."""


def in_display_units(summary: pd.DataFrame) -> pd.DataFrame:
    """The :data:`DISPLAY_UNITS` columns of a summary table, scaled and renamed with their unit
    (other columns, e.g. ``n_resamples``, are left out: the caption states them)."""
    kept = [column for column in summary.columns if column in DISPLAY_UNITS]
    scaled = summary[kept].astype(float).mul([DISPLAY_UNITS[c][0] for c in kept], axis=1)
    scaled.columns = [DISPLAY_UNITS[c][1] for c in kept]
    return scaled


def sweep_formats(columns: list[str] | pd.Index) -> dict[str, str]:
    """Format of each :func:`sweep_table` column for ``DataFrame.style.format``: one notation
    per column (percent for errors and the sample share, scientific for propensities)."""
    fixed = {"truth": "{:.4f}", "kl": "{:.3f}", "min_pscore_played": "{:.1e}", "pscore_p01_played": "{:.1e}",
             "max_weight": "{:.1f}", "effective_sample_share": "{:.1%}"}  # fmt: skip
    return {c: fixed.get(c, "{:.2%}" if c.startswith("relative_ee_mean[") else "{:.4g}") for c in columns}


def world_table(study: WorldStudy, target: str) -> pd.DataFrame:
    """The summary rows of one target, estimators in the order of the study."""
    summary = study.summary()
    return summary.loc[target]


def estimator_by_target(study: WorldStudy, column: str) -> pd.DataFrame:
    """One summary column as a (target x estimator) table."""
    return study.summary()[column].unstack("estimator").loc[
        study.diagnostics["target"].unique(), study.estimates["estimator"].unique()
    ]


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
    """IPS, its clipped variants (``ope.ipw_clip_sweep``), SNIPS, DR and SNDR, in that order."""
    return ["ipw", *(f"ipw-clip@{clip:g}" for clip in params.ipw_clip_sweep), "snipw", "dr", "sndr"]


def clipping_tables(study: WorldStudy, params: OpeParams, sweep: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(main, rmse)``: the main target's relative error, bias, std, RMSE and coverage of every
    :func:`clipping_variants` estimator, and the RMSE of each on every non-logging target
    (rows from the most to the least often logged actions, by the sweep's 1% propensity quantile)."""
    summary = study.summary()
    variants = clipping_variants(params)
    main = summary.loc[params.world_main_target].loc[variants, ["relative_ee_mean", "bias", "std", "rmse", "coverage"]]
    order = sweep.sort_values("pscore_p01_played", ascending=False).index
    rmse = summary["rmse"].unstack("estimator").loc[order, variants]
    return main, rmse


# ----------------------------------------------------------------------------- gate
@dataclass(frozen=True, eq=False)
class GateRun:
    """Shadow logs and gate reports of every challenger on one champion log."""

    shadows: dict[str, ShadowLog]
    reports: dict[str, GateReport]

    def table(self) -> pd.DataFrame:
        """One row per challenger: :meth:`GateReport.as_dict` and ``true_uplift_in_interval``
        (whether the uplift interval holds the world's true uplift)."""
        rows = {name: {**report.as_dict(), "true_uplift_in_interval": truth_in_interval(
                    report.true_uplift, report.decision.ci_low, report.decision.ci_high)}
                for name, report in self.reports.items()}  # fmt: skip
        return pd.DataFrame(rows).T

    def costs(self) -> pd.DataFrame:
        """Challenger scoring cost per challenger (timings: not deterministic, not in metrics)."""
        rows = {name: {**shadow.cost_summary(), "top_slot_agreement": shadow.top_slot_agreement()}
                for name, shadow in self.shadows.items()}  # fmt: skip
        return pd.DataFrame(rows).T


def run_gate(world: World, params: OpeParams) -> GateRun:
    """Shadow mode then the gate, on one fresh champion log of ``world_n_requests`` requests
    (seeded apart from the study's resamples), for three challengers: softmax-true at
    ``gate_challenger_temperature`` (truly better than the champion), uniform (truly worse), and
    a policy from a click model fitted on the first requests of the ingested log
    (``reward-model@T``, realistic: it knows only what the logs show)."""
    n_requests = params.world_n_requests or world.params.n_requests
    seed = resample_seeds(params.seed + 1, 1)[0]
    logs = resimulate(world, seed, n_requests)
    world_log = fit_world_log(world, logs, n_folds=params.n_folds, seed=seed, reward_model=params.reward_model,
                              position_handling=params.position_handling,
                              max_chunk_elements=params.max_chunk_elements)  # fmt: skip
    train = requests_of(world.logs, np.arange(min(n_requests, world.logs.slate.shape[0])))
    temperature = params.gate_challenger_temperature
    challengers = [softmax_true_policy(temperature), uniform_policy(),
                   learned_policy(world, train, temperature, seed=params.seed)]  # fmt: skip
    shadows, reports = {}, {}
    for challenger in challengers:
        shadow = run_shadow_mode(world, logs, challenger, batch_size=params.shadow_batch_size, seed=seed)
        shadows[challenger.name] = shadow
        reports[challenger.name] = gate_on_shadow_log(world, shadow, world_log, params)
    return GateRun(shadows, reports)


# ----------------------------------------------------------------------------- metrics
WORLD_METRIC_ESTIMATORS: tuple[str, ...] = ("dm", "ipw", "snipw", "dr")
WORLD_COVERAGE_ESTIMATORS: tuple[str, ...] = ("dr", "ipw")
OBD_METRIC_ESTIMATORS: tuple[str, ...] = ("ipw", "snipw", "dr")


def headline_metrics(study: WorldStudy | None, obd_results: Mapping[str, OpenBanditExperimentResult] | None,
                     gate_run: GateRun | None, params: OpeParams) -> dict[str, dict[str, float | int | None]]:
    """``metrics/ope.json``: eleven headline numbers, two levels, ``None`` where a part did not run.

    * ``world``, on ``ope.world_main_target``: ``<est>_mean_relative_error`` (mean over the fresh
      logs of :math:`|\\hat V - V| / V`) of DM, IPS, SNIPS and DR, and ``<est>_coverage`` (share
      of logs whose interval holds :math:`V`) of DR and IPS;
    * ``obd_bts_from_random``, Open Bandit experiment 2 (the published one):
      ``<est>_mean_relative_error`` of IPS, SNIPS and DR over the bootstrap runs;
    * ``gate``: ``right_decision_share`` over the challengers, and ``main_promoted`` (1 when the
      ``gate_challenger_temperature`` challenger was promoted, else 0).

    Everything else (per-target tables, notes, the Open Bandit table, gate details, timings)
    goes to :func:`stage_diagnostics`. No timing enters here.
    """
    world: dict[str, float | int | None] = {f"{name}_mean_relative_error": None for name in WORLD_METRIC_ESTIMATORS}
    world.update({f"{name}_coverage": None for name in WORLD_COVERAGE_ESTIMATORS})
    if study is not None:
        main = study.summary().loc[params.world_main_target]
        for name in WORLD_METRIC_ESTIMATORS:
            world[f"{name}_mean_relative_error"] = float(main.loc[name, "relative_ee_mean"])
        for name in WORLD_COVERAGE_ESTIMATORS:
            world[f"{name}_coverage"] = float(main.loc[name, "coverage"])
    obd: dict[str, float | int | None] = {f"{name}_mean_relative_error": None for name in OBD_METRIC_ESTIMATORS}
    if obd_results is not None:
        summary = obd_results["bts-from-random"].summary()
        for name in OBD_METRIC_ESTIMATORS:
            obd[f"{name}_mean_relative_error"] = summary[name]["mean"]
    gate: dict[str, float | int | None] = {"right_decision_share": None, "main_promoted": None}
    if gate_run is not None:
        reports = gate_run.reports
        gate["right_decision_share"] = float(np.mean([report.right for report in reports.values()]))
        gate["main_promoted"] = int(reports[main_challenger(params)].decision.decision == "promote")
    return {"world": world, "obd_bts_from_random": obd, "gate": gate}


def headline_table(metrics: Mapping[str, Mapping[str, float | int | None]]) -> pd.DataFrame:
    """:func:`headline_metrics` as a two-column table (block, metric) -> value, ``None`` as NaN."""
    rows = [(block, key, math.nan if value is None else float(value))
            for block, values in metrics.items() for key, value in values.items()]  # fmt: skip
    return pd.DataFrame(rows, columns=["block", "metric", "value"]).set_index(["block", "metric"])


def main_challenger(params: OpeParams) -> str:
    """Name of the gate's main challenger, Plackett-Luce on true relevance at ``gate_challenger_temperature``."""
    return f"softmax-true@{params.gate_challenger_temperature:g}"


def _nested(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """A (target, estimator)-indexed frame as ``{target: {estimator: {column: value}}}``."""
    out: dict[str, dict[str, Any]] = {}
    for (target, estimator), row in frame.iterrows():
        out.setdefault(str(target), {})[str(estimator)] = {k: float(v) for k, v in row.items()}
    return out


def stage_diagnostics(params: OpeParams, *, world_note: str, study: WorldStudy | None,
                      logging_summary: pd.DataFrame | None, obd_note: str,
                      obd_results: Mapping[str, OpenBanditExperimentResult] | None,
                      obd_summary: pd.DataFrame | None, gate_run: GateRun | None,
                      timings: Mapping[str, float]) -> dict[str, Any]:
    """``reports/diagnostics/ope.json``: everything behind :func:`headline_metrics`.

    ``world``: the note, protocol (target, logs, requests, interval), every (target, estimator)
    summary row, every target's diagnostics and the logging-policy check (10⁻³ units);
    ``obd``: the note, each experiment's truth, runs and per-estimator summary, and the
    comparison with the published table (:func:`hermes_core.ope.conclusions.obd_agreement`);
    ``gate``: every challenger's report (with whether its interval holds the true uplift) and
    its scoring cost; ``timings_seconds``: wall time of each part (varies between runs).
    """
    world: dict[str, Any] = {"note": world_note}
    if study is not None:
        world.update({
            "main_target": params.world_main_target,
            "n_resamples": study.n_resamples,
            "n_requests_per_resample": study.n_requests,
            "interval": f"{study.interval_method} {study.ci_level:g}, request as the resampling unit",
            "summary": _nested(study.summary()),
            "targets": {str(target): {k: float(v) for k, v in row.items()}
                        for target, row in study.target_summary().iterrows()},  # fmt: skip
        })  # fmt: skip
        if logging_summary is not None:
            world["logging_check_per_mille"] = {str(k): dict(v) for k, v in logging_summary.T.to_dict().items()}
    obd: dict[str, Any] = {"enabled": params.obd.enabled, "campaign": params.obd.campaign, "note": obd_note}
    if obd_results is not None:
        obd["experiments"] = {
            experiment: {"ground_truth": result.ground_truth, "n_runs": result.n_runs, "estimators": result.summary()}
            for experiment, result in obd_results.items()
        }  # fmt: skip
        obd["published_source"] = PUBLISHED_SOURCE
        if obd_summary is not None:
            ours, published = obd_summary["bts-from-random"], obd_summary["published bts-from-random"]
            agreement = obd_agreement(ours["mean"], ours["std"], obd_results["bts-from-random"].n_runs,
                                      published["mean"], published["std"])  # fmt: skip
            obd["agreement_with_published"] = {str(name): {k: (bool(v) if k == "within_2_se" else float(v))
                                                           for k, v in row.items()}
                                               for name, row in agreement.iterrows()}  # fmt: skip
    gate: dict[str, Any] | None = None
    if gate_run is not None:
        gate = {"champion": "logging", "main_challenger": main_challenger(params),
                "challengers": gate_run.table().T.to_dict(),
                "scoring_costs": {str(name): {k: float(v) for k, v in row.items()}
                                  for name, row in gate_run.costs().iterrows()}}  # fmt: skip
    return {"world": world, "obd": obd, "gate": gate, "timings_seconds": dict(timings)}
