"""The OPE stage's glue: inputs it needs, the three experiments' runs, tables and metrics.

The notebook ``notebooks/06_ope.ipynb`` calls these functions; the maths lives in the other
modules of :mod:`hermes_core.ope` and in :mod:`hermes_core.adapters.open_bandit`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hermes_core.adapters.open_bandit import (
    PUBLISHED_BTS_FROM_RANDOM_ALL,
    OpenBanditExperimentResult,
    bernoulli_ts_action_dist,
    evaluate_bts_from_random,
    evaluate_random_from_bts,
    read_open_bandit_logs,
)
from hermes_core.ope.base import OffPolicyEstimator
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
from hermes_core.workspace import SHARED_DATA_ENV, Workspace, project_root
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
    set, else ``ope.obd.path`` (relative to the project root)."""
    if os.environ.get(SHARED_DATA_ENV):
        return Path(os.environ[SHARED_DATA_ENV]) / OBD_FOLDER
    path = Path(params.obd.path)
    return path if path.is_absolute() else (project_root() / path).resolve()


def obd_missing_reason(root: Path, campaign: str) -> str | None:
    """Why the Open Bandit sample cannot be used, or ``None`` when its four files are there."""
    needed = [root / policy / campaign / name for policy in ("random", "bts")
              for name in (f"{campaign}.csv", "item_context.csv")]  # fmt: skip
    missing = [str(path) for path in needed if not path.is_file()]
    if missing:
        return (f"Open Bandit sample not found (missing {', '.join(missing)}); set $HERMES_SHARED_DATA or "
                "ope.obd.path. The Open Bandit experiments are skipped and metrics record obd: null.")  # fmt: skip
    return None


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
    (its logged per-slot share, :func:`~hermes_core.adapters.open_bandit.logged_action_share`)
    unless ``ope.obd.bts_prior_yaml`` names OBP's ``prior_bts.yaml``, which is then simulated
    (``n_sim_bts`` draws) as the published run did."""
    if params.obd.bts_prior_yaml is None:
        return None, "BTS's logged action share per slot (context-free; OBP's production prior not supplied)"
    import yaml

    path = Path(params.obd.bts_prior_yaml)
    path = path if path.is_absolute() else project_root() / path
    prior = yaml.safe_load(path.read_text(encoding="utf-8"))[params.obd.campaign]
    simulated = bernoulli_ts_action_dist(np.asarray(prior["alpha"]), np.asarray(prior["beta"]),
                                         n_sim=params.obd.n_sim_bts, seed=params.seed)  # fmt: skip
    return simulated, f"Bernoulli TS simulated from {path.name} ({params.obd.n_sim_bts:,} draws), as published"


def run_obd_experiments(params: OpeParams, root: Path) -> dict[str, OpenBanditExperimentResult]:
    """Experiments 1 and 2 of :mod:`hermes_core.adapters.open_bandit` with the stage's
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


def obd_metrics(results: dict[str, OpenBanditExperimentResult] | None) -> dict[str, object] | None:
    """``{experiment: {estimator: {relative_ee_mean, relative_ee_std}, ground_truth, n_runs}}``."""
    if results is None:
        return None
    metrics: dict[str, object] = {}
    for experiment, result in results.items():
        metrics[experiment] = {
            "ground_truth": result.ground_truth,
            "n_runs": result.n_runs,
            "estimators": {name: {"relative_ee_mean": s["mean"], "relative_ee_std": s["std"]}
                           for name, s in result.summary().items()},  # fmt: skip
        }
    return metrics


# ----------------------------------------------------------------------------- world
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


def world_metrics(study: WorldStudy, params: OpeParams) -> dict[str, object]:
    """Metrics of the world study: the main target's per-estimator ``relative_ee_mean``,
    ``bias``, ``std``, ``coverage`` (``estimators``), the same per target (``by_target``),
    and each target's mean importance weight and divergence."""
    summary = study.summary()
    keep = ["relative_ee_mean", "relative_ee_std", "bias", "std", "coverage"]

    def rows(target: str) -> dict[str, dict[str, float]]:
        return {name: {k: float(v) for k, v in row[keep].items()} for name, row in summary.loc[target].iterrows()}

    targets = study.target_summary()
    return {
        "main_target": params.world_main_target,
        "n_resamples": study.n_resamples,
        "n_requests_per_resample": study.n_requests,
        "interval": f"{study.interval_method} {study.ci_level:g}, request as the resampling unit",
        "estimators": rows(params.world_main_target),
        "by_target": {target: rows(target) for target in targets.index},
        "targets": {target: {"truth_mean": float(r["truth"]), "mean_weight": float(r["mean_weight"]),
                             "kl": float(r["kl"]), "effective_sample_share": float(r["effective_sample_share"])}
                    for target, r in targets.iterrows()},  # fmt: skip
    }


# ----------------------------------------------------------------------------- gate
@dataclass(frozen=True, eq=False)
class GateRun:
    """Shadow logs and gate reports of every challenger on one champion log."""

    shadows: dict[str, ShadowLog]
    reports: dict[str, GateReport]

    def table(self) -> pd.DataFrame:
        return pd.DataFrame({name: report.as_dict() for name, report in self.reports.items()}).T

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


def gate_metrics(run: GateRun, params: OpeParams) -> dict[str, object]:
    """The main challenger's ``uplift``, ``ci_low``, ``ci_high``, ``decision``, ``true_uplift``
    (top level) and every challenger's under ``challengers``; no timings."""
    keep = ("uplift", "ci_low", "ci_high", "decision", "true_uplift", "true_champion_value",
            "true_challenger_value", "decision_right", "level", "method")  # fmt: skip
    every = {name: {k: v for k, v in report.as_dict().items() if k in keep} for name, report in run.reports.items()}
    main = f"softmax-true@{params.gate_challenger_temperature:g}"
    return {"champion": "logging", "challenger": main, **every[main], "challengers": every}
