"""``metrics/ope.json`` and ``reports/diagnostics/ope.json``, both built from one :class:`OpeResults`.

The notebook collects what the stage ran into an :class:`OpeResults` and writes
:func:`headline_metrics` with :func:`~hermes_core.workspace.write_metrics` and
:func:`stage_diagnostics` with :func:`~hermes_core.workspace.write_diagnostics`; it adds nothing
to either. A part that did not run (no synthetic world, ``ope.obd.enabled: false``) is ``None``
in the results and null in the metrics, so the metrics keep the same keys in every run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hermes_core.ope.open_bandit import PUBLISHED_BTS_FROM_RANDOM_ALL, PUBLISHED_SOURCE, OpenBanditExperimentResult
from hermes_core.ope.params import OpeParams
from hermes_core.ope.calibration import CalibrationReport
from hermes_core.ope.gate_error_rates import CHAMPION, GateErrorRates
from hermes_core.ope.reward_model import RewardModelCrossFit
from hermes_core.ope.shadow import GateRun
from hermes_core.ope.slate_study import SlateStudy
from hermes_core.ope.tables import logging_check, logging_check_summary, obd_table, published_agreement
from hermes_core.ope.world_experiments import WorldStudy

WORLD_METRIC_ESTIMATORS: tuple[str, ...] = ("dm", "ipw", "snipw", "dr")
WORLD_COVERAGE_ESTIMATORS: tuple[str, ...] = ("dr", "ipw")
OBD_METRIC_ESTIMATORS: tuple[str, ...] = ("ipw", "snipw", "dr")
SLATE_METRIC_ESTIMATORS: tuple[str, ...] = ("iips", "rips")
PARITY_METRIC_ESTIMATORS: tuple[str, ...] = ("ipw", "dr")


@dataclass(frozen=True, eq=False)
class OpeResults:
    """Everything one run of the OPE stage produced: the parameters it ran with, the world
    study, the Open Bandit experiments and the gate (``None`` for a part that did not run), the
    sentence on each part's inputs, and the wall time of each part (seconds; not in the metrics)."""

    params: OpeParams
    world_note: str
    study: WorldStudy | None
    obd_note: str
    obd_results: Mapping[str, OpenBanditExperimentResult] | None
    gate_run: GateRun | None
    timings: Mapping[str, float] = field(default_factory=dict)
    slate_study: SlateStudy | None = None
    gate_errors: GateErrorRates | None = None
    obd_parity: OpenBanditExperimentResult | None = None  # experiment 2 under OBP's protocol
    obd_reward_fit: RewardModelCrossFit | None = None  # the reward model on the full random log
    obd_calibration: CalibrationReport | None = None


def headline_metrics(results: OpeResults) -> dict[str, dict[str, float | int | None]]:
    """``metrics/ope.json``: the headline numbers, two levels, ``None`` where a part did not run.

    * ``world``, on ``ope.world.main_target``: ``<est>_mean_relative_error`` (mean over the fresh
      logs of :math:`|\\hat V - V| / V`) of DM, IPS, SNIPS and DR, and ``<est>_coverage`` (share
      of logs whose interval holds :math:`V`) of DR and IPS;
    * ``obd_bts_from_random``, Open Bandit experiment 2 (the published one):
      ``<est>_mean_relative_error`` of IPS, SNIPS and DR over the bootstrap runs and
      ``<est>_relative_ee_mc_se``, its Monte-Carlo standard error :math:`s / \\sqrt{n_\\text{runs}}`;
      ``<est>_parity_mean_relative_error`` of IPS and DR under OBP's own protocol (the parity
      table, ``ope.obd.parity_runs`` runs); ``reward_model_log_loss_skill`` of the stage's reward
      model on the full random log (1 − its log-loss / the constant click rate's);
    * ``gate``: ``right_decision_share`` over the challengers, ``main_promoted`` (1 when the
      ``ope.gate.challenger_temperature`` challenger was promoted, else 0), and the error rates over
      many logs (:func:`pooled_gate_error_rates`);
    * ``slate``, on the main target: ``<model>_<est>_relative_rmse`` (RMSE over logs / true value)
      of IIPS and RIPS under each click model of ``ope.slate.click_models`` (``position`` or
      ``cascade``).

    Everything else (per-target tables, notes, the Open Bandit tables, gate details, timings)
    goes to :func:`stage_diagnostics`. No timing enters here.
    """
    params = results.params
    world: dict[str, float | int | None] = {f"{name}_mean_relative_error": None for name in WORLD_METRIC_ESTIMATORS}
    world.update({f"{name}_coverage": None for name in WORLD_COVERAGE_ESTIMATORS})
    if results.study is not None:
        main = results.study.summary().loc[params.world.main_target]
        for name in WORLD_METRIC_ESTIMATORS:
            world[f"{name}_mean_relative_error"] = float(main.loc[name, "relative_ee_mean"])
        for name in WORLD_COVERAGE_ESTIMATORS:
            world[f"{name}_coverage"] = float(main.loc[name, "coverage"])
    obd: dict[str, float | int | None] = {f"{name}_mean_relative_error": None for name in OBD_METRIC_ESTIMATORS}
    obd.update({f"{name}_relative_ee_mc_se": None for name in OBD_METRIC_ESTIMATORS})
    obd.update({f"{name}_parity_mean_relative_error": None for name in PARITY_METRIC_ESTIMATORS})
    obd["reward_model_log_loss_skill"] = None
    if results.obd_results is not None:
        summary = results.obd_results["bts-from-random"].summary()
        for name in OBD_METRIC_ESTIMATORS:
            obd[f"{name}_mean_relative_error"] = summary[name]["mean"]
            obd[f"{name}_relative_ee_mc_se"] = summary[name]["mc_se"]
    if results.obd_parity is not None:
        parity = results.obd_parity.summary()
        for name in PARITY_METRIC_ESTIMATORS:
            obd[f"{name}_parity_mean_relative_error"] = parity[name]["mean"]
    if results.obd_calibration is not None:
        obd["reward_model_log_loss_skill"] = results.obd_calibration.log_loss_skill
    gate: dict[str, float | int | None] = {"right_decision_share": None, "main_promoted": None}
    if results.gate_run is not None:
        reports = results.gate_run.reports
        gate["right_decision_share"] = float(np.mean([report.right for report in reports.values()]))
        gate["main_promoted"] = int(reports[params.gate.main_challenger].decision.decision == "promote")
    gate.update(pooled_gate_error_rates(results.gate_errors))
    slate: dict[str, float | int | None] = {
        f"{model.split('-')[0]}_{name}_relative_rmse": None
        for model in params.slate.click_models for name in SLATE_METRIC_ESTIMATORS
    }  # fmt: skip
    if results.slate_study is not None:
        summary = results.slate_study.summary()
        for model in params.slate.click_models:
            for name in SLATE_METRIC_ESTIMATORS:
                key = (model, params.world.main_target, name)
                if key in summary.index:
                    slate[f"{model.split('-')[0]}_{name}_relative_rmse"] = float(summary.loc[key, "relative_rmse"])
    return {"world": world, "obd_bts_from_random": obd, "gate": gate, "slate": slate}


def pooled_gate_error_rates(errors: GateErrorRates | None) -> dict[str, float | None]:
    """The gate's two error rates over every (log, challenger) pair of the error-rate experiment, the
    champion's A/A control left out: ``error_rate_promote_not_better`` = P(promote | true uplift
    <= 0) and ``error_rate_keep_better`` = P(keep | true uplift > 0), each pair classified by its
    own log's true uplift (None when the experiment did not run or a class is empty)."""
    if errors is None:
        return {"error_rate_promote_not_better": None, "error_rate_keep_better": None}
    table = errors.decisions[errors.decisions["challenger"] != CHAMPION]
    promoted = table["decision"].eq("promote").to_numpy()
    better = table["true_uplift"].astype(float).to_numpy() > 0
    not_better = ~better
    return {
        "error_rate_promote_not_better": float(promoted[not_better].mean()) if not_better.any() else None,
        "error_rate_keep_better": float((~promoted[better]).mean()) if better.any() else None,
    }


def _nested(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """A (target, estimator)-indexed frame as ``{target: {estimator: {column: value}}}``."""
    out: dict[str, dict[str, Any]] = {}
    for (target, estimator), row in frame.iterrows():
        out.setdefault(str(target), {})[str(estimator)] = {k: (v if isinstance(v, str) else float(v))
                                                           for k, v in row.items()}  # fmt: skip
    return out


def _world_diagnostics(results: OpeResults) -> dict[str, Any]:
    world: dict[str, Any] = {"note": results.world_note}
    study = results.study
    if study is None:
        return world
    world.update({
        "main_target": results.params.world.main_target,
        "n_resamples": study.n_resamples,
        "n_requests_per_resample": study.n_requests,
        "interval": f"{study.interval_method} {study.ci_level:g}, request as the resampling unit",
        "summary": _nested(study.summary()),
        "targets": {str(target): {k: float(v) for k, v in row.items()}
                    for target, row in study.target_summary().iterrows()},  # fmt: skip
    })  # fmt: skip
    if not study.reward_model.empty:
        world["reward_model"] = {"model": results.params.estimators.reward_model,
                                 "per_log": study.reward_model.to_dict(orient="records")}  # fmt: skip
    logging_summary = logging_check_summary(logging_check(study))
    world["logging_check_per_mille"] = {str(k): dict(v) for k, v in logging_summary.T.to_dict().items()}
    return world


def _obd_diagnostics(results: OpeResults) -> dict[str, Any]:
    params = results.params
    obd: dict[str, Any] = {"enabled": params.obd.enabled, "campaign": params.obd.campaign, "note": results.obd_note}
    if results.obd_results is None:
        return obd
    obd["experiments"] = {
        experiment: {"ground_truth": result.ground_truth, "n_runs": result.n_runs, "estimators": result.summary(),
                     "slope_choices": result.slope_choice_counts()}
        for experiment, result in results.obd_results.items()
    }  # fmt: skip
    for experiment, result in results.obd_results.items():
        if result.largest_row is not None:
            obd["experiments"][experiment]["largest_row"] = result.largest_row.as_dict()
    if results.obd_parity is not None:
        parity = results.obd_parity
        obd["parity"] = {"protocol": parity.protocol, "n_runs": parity.n_runs, "ground_truth": parity.ground_truth,
                         "estimators": parity.summary(), "slope_choices": parity.slope_choice_counts(),
                         "published": {name: {"mean": mean, "std": std}
                                       for name, (mean, std) in PUBLISHED_BTS_FROM_RANDOM_ALL.items()}}  # fmt: skip
    if results.obd_calibration is not None:
        fit = results.obd_reward_fit
        obd["reward_model"] = {
            "model": params.estimators.reward_model, "log": f"random/{params.obd.campaign}, full sample, cross-fitted",
            "calibration": results.obd_calibration.as_dict(),
            "reliability": [asdict(bin_) for bin_ in results.obd_calibration.bins],
            "chosen_c": [] if fit is None else [float(c) for c in np.asarray(fit.chosen_c).ravel()],
            "c_grid": [] if fit is None else list(fit.c_grid),
        }  # fmt: skip
    obd["published_source"] = PUBLISHED_SOURCE
    agreement = published_agreement(results.obd_results, obd_table(results.obd_results, params.estimators.slope_tuning))
    obd["agreement_with_published"] = {str(name): {k: (bool(v) if k == "within_2_se" else float(v))
                                                   for k, v in row.items()}
                                       for name, row in agreement.iterrows()}  # fmt: skip
    return obd


def stage_diagnostics(results: OpeResults) -> dict[str, Any]:
    """``reports/diagnostics/ope.json``: everything behind :func:`headline_metrics`.

    ``world``: the note, protocol (target, logs, requests, interval), every (target, estimator)
    summary row (with the Wilson interval of its coverage), every target's diagnostics and the
    logging-policy check (10⁻³ units,
    :func:`~hermes_core.ope.tables.logging_check_summary`); ``obd``: the note, each experiment's
    truth, runs, per-estimator summary (mean, std and Monte-Carlo standard error ``mc_se`` of the
    relative error), IPW's largest round term on the full log (``largest_row``, experiment 2,
    :func:`~hermes_core.ope.open_bandit.largest_row_influence`), how many runs chose each value
    of every SLOPE-tuned estimator (:meth:`~hermes_core.ope.open_bandit.OpenBanditExperimentResult.slope_choice_counts`)
    and the comparison with the published table (:func:`~hermes_core.ope.tables.published_agreement`);
    ``gate``: every challenger's report (with whether its interval holds the true uplift) and its
    scoring cost; ``timings_seconds``: wall time of each part (varies between runs).
    """
    gate: dict[str, Any] | None = None
    if results.gate_run is not None:
        gate = {"champion": "logging", "main_challenger": results.params.gate.main_challenger,
                "challengers": results.gate_run.table().T.to_dict(),
                "scoring_costs": {str(name): {k: float(v) for k, v in row.items()}
                                  for name, row in results.gate_run.costs().iterrows()}}  # fmt: skip
    if gate is not None and results.gate_errors is not None:
        errors = results.gate_errors
        gate["error_rates"] = {
            "n_logs": errors.n_logs, "n_requests": errors.n_requests, "ci_level": errors.ci_level,
            "method": errors.method, **pooled_gate_error_rates(errors),
            "by_challenger": {str(name): {k: (v if isinstance(v, str) else float(v)) for k, v in row.items()}
                              for name, row in errors.summary().iterrows()},
        }  # fmt: skip
    slate: dict[str, Any] | None = None
    if results.slate_study is not None:
        study = results.slate_study
        slate = {"n_requests_per_log": study.n_requests, "ci_level": study.ci_level,
                 "summary": {" | ".join(map(str, key)): {k: float(v) for k, v in row.items()}
                             for key, row in study.summary().iterrows()},
                 "oracle_bias": study.expected.to_dict(orient="records")}  # fmt: skip
    return {"world": _world_diagnostics(results), "obd": _obd_diagnostics(results), "gate": gate,
            "slate": slate, "timings_seconds": dict(results.timings)}  # fmt: skip
