"""What ``notebooks/06_ope.ipynb`` runs, in the order it runs it.

1. :func:`load_world`: the ingest stage's synthetic world (or why there is none);
2. :func:`run_world_study`: every estimator on fresh logs of that world, against the truth
   (:mod:`hermes_core.ope.world_experiments`);
3. :func:`locate_obd`, then :func:`run_obd_experiments` and :func:`obd_note`: OBP's two
   published Open Bandit experiments (:mod:`hermes_core.ope.open_bandit`), or
   :func:`obd_skip_note` when ``ope.obd.enabled`` is false;
4. :func:`run_slate_study`: the slate estimators on fresh world logs under the position-based and
   the cascade click model (:mod:`hermes_core.ope.slate_study`);
5. :func:`run_gate`: shadow mode and the champion/challenger gate (:mod:`hermes_core.ope.shadow`),
   then :func:`run_gate_errors`: the same gate's error rates over many independent logs
   (:mod:`hermes_core.ope.gate_error_rates`).

The notebook then shows :mod:`hermes_core.ope.tables` and :mod:`hermes_core.ope.plots`, writes
:mod:`hermes_core.ope.metrics` from an :class:`~hermes_core.ope.metrics.OpeResults`, and states
:mod:`hermes_core.ope.conclusions`. The maths lives in those modules; this one only wires the
``ope`` parameters into them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hermes_core.data.readers.open_bandit import read_item_context, read_open_bandit_logs
from hermes_core.ope.base import OffPolicyEstimator
from hermes_core.ope.marginalized import LoggedPolicyMIPS, LoggedPolicySelfNormalizedMIPS
from hermes_core.ope.calibration import CalibrationReport, reward_model_calibration
from hermes_core.ope.reward_model import RewardModelCrossFit, cross_fit_reward_model
from hermes_core.ope.open_bandit import (
    OpenBanditExperimentResult,
    evaluate_bts_from_random,
    evaluate_random_from_bts,
)
from hermes_core.ope.params import OpeParams
from hermes_core.ope.policies import bernoulli_ts_action_dist, learned_policy, softmax_true_policy, uniform_policy
from hermes_core.ope.registry import configured_estimators
from hermes_core.ope.shadow import GateRun, gate_on_shadow_log, requests_of, run_shadow_mode
from hermes_core.ope.gate_error_rates import GateErrorRates, run_gate_error_rates
from hermes_core.ope.slate_study import run_slate_study
from hermes_core.ope.world_experiments import fit_configured_world_log, resample_seeds, run_world_study
from hermes_core.workspace import SHARED_DATA_ENV, MissingDataError, Workspace, resolve_project_path, shared_dataset_dir
from hermes_core.world.policies import resimulate
from hermes_core.world.world import World

__all__ = [
    "load_world",
    "run_world_study",
    "locate_obd",
    "obd_skip_note",
    "run_obd_experiments",
    "run_obd_parity",
    "obd_reward_model_fit",
    "obd_note",
    "run_slate_study",
    "run_gate",
    "run_gate_errors",
]

OBD_FOLDER = "open_bandit_dataset"


# ----------------------------------------------------------------------------- 1 · the world
def load_world(workspace: Workspace, params: OpeParams | None = None) -> tuple[World | None, str]:
    """The ingest stage's world and a sentence on it; ``None`` with the reason when
    ``data/world`` holds none (e.g. ``data.source`` is MovieLens).

    With ``params``, the world's click model for the fresh logs of the study and the gate takes
    ``ope.world.similarity_fatigue`` (:meth:`World.with_similarity_fatigue`): at 0 the clicks are
    position-based, the assumption under which the position-wise estimators are unbiased and the
    true values (:meth:`World.policy_value`, computed from the marginals) are exact. With the
    world's own fatigue, a slate's clicks depend on the items shown together, which no
    position-wise estimator or marginal-based truth can see."""
    try:
        world = World.load(workspace.world)
    except FileNotFoundError:
        return None, (f"No synthetic world at {workspace.world}: the ingest stage wrote none (data.source is "
                      "not 'world', or ingest has not run). The world experiments and the gate are skipped.")  # fmt: skip
    p = world.params
    fatigue = None if params is None else params.world.similarity_fatigue
    if fatigue is not None:
        world = world.with_similarity_fatigue(fatigue)
    where = workspace.world.relative_to(workspace.root)  # no absolute path: the note goes to the metrics
    clicks = ""
    if fatigue is not None:
        clicks = (f" The fresh logs' clicks use similarity fatigue {fatigue:g} (ope.world.similarity_fatigue; the "
                  f"world's own is {p.similarity_fatigue:g})")
        clicks += ": position-based, as the estimators assume." if fatigue == 0 else "."
    return world, (f"World loaded from <output root>/{where}: {p.n_users:,} users, {p.n_items:,} items, "
                   f"{p.n_requests:,} logged requests of {p.slate_size} slots from {p.candidates_per_request} "
                   f"candidates (logging temperature {p.logging_temperature:g}).{clicks}")  # fmt: skip


# ----------------------------------------------------------------------------- 3 · Open Bandit
def obd_root(params: OpeParams) -> Path:
    """The Open Bandit folder: ``$HERMES_SHARED_DATA/open_bandit_dataset`` when that variable is
    set, else ``ope.obd.path``, a relative path being resolved against the original repository,
    also from DVC's experiment copies under ``.dvc/tmp/exps/``
    (:func:`~hermes_core.workspace.shared_dataset_dir`)."""
    return shared_dataset_dir(OBD_FOLDER, params.obd.path, "ope.obd.path")[0]


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
    root, origin = shared_dataset_dir(OBD_FOLDER, params.obd.path, "ope.obd.path")
    missing = [path for path in obd_needed_files(root, params.obd.campaign) if not path.is_file()]
    if missing:
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


def bts_target(params: OpeParams) -> np.ndarray | None:
    """Bernoulli TS's action distribution for experiment 2: ``None`` (its logged per-slot share,
    :func:`~hermes_core.ope.policies.logged_action_share`) unless ``ope.obd.bts_prior_yaml`` names
    OBP's ``prior_bts.yaml``, which is then simulated (``ope.obd.n_sim_bts`` draws, seed
    ``ope.seed``) as the published run did."""
    if params.obd.bts_prior_yaml is None:
        return None
    import yaml

    path = resolve_project_path(params.obd.bts_prior_yaml)
    prior = yaml.safe_load(path.read_text(encoding="utf-8"))[params.obd.campaign]
    return bernoulli_ts_action_dist(np.asarray(prior["alpha"]), np.asarray(prior["beta"]),
                                    n_sim=params.obd.n_sim_bts, seed=params.seed)  # fmt: skip


def bts_target_label(params: OpeParams) -> str:
    """How :func:`bts_target` obtains Bernoulli TS's action distribution, in words."""
    if params.obd.bts_prior_yaml is None:
        return "BTS's logged action share per slot (context-free; OBP's production prior not supplied)"
    name = resolve_project_path(params.obd.bts_prior_yaml).name
    return f"Bernoulli TS simulated from {name} ({params.obd.n_sim_bts:,} draws), as published"


def run_obd_experiments(params: OpeParams, root: Path) -> dict[str, OpenBanditExperimentResult]:
    """Experiments 1 and 2 of :mod:`hermes_core.ope.open_bandit` under ``ope.obd.protocol``.

    ``hermes``: the stage's estimators (:func:`~hermes_core.ope.registry.configured_estimators`),
    reward model (``logistic-cv`` with its grid and inner folds), folds and ``ope.obd`` settings
    (``n_bootstrap`` runs, campaign, affinity features, BTS's target). ``obp``: OBP 0.5's example
    exactly (:mod:`hermes_core.ope.obp_protocol`), with ``ope.obd.obp_random_state``."""
    if params.obd.protocol == "obp":
        return {"random-from-bts": evaluate_random_from_bts(root, params.obd.campaign, n_runs=params.obd.n_bootstrap,
                                                            seed=params.obd.obp_random_state, protocol="obp"),
                "bts-from-random": run_obd_parity(params, root, params.obd.n_bootstrap)}  # fmt: skip
    common = dict(
        n_runs=params.obd.n_bootstrap, seed=params.seed, reward_model=params.estimators.reward_model,
        n_folds=params.estimators.n_folds, position_handling=params.estimators.position_handling,
        estimators=configured_estimators(params.estimators), include_affinity=params.obd.include_affinity_features,
        cv_grid=params.estimators.reward_model_cv_grid, cv_folds=params.estimators.reward_model_cv_folds,
    )  # fmt: skip
    experiment_2 = dict(common, estimators={**common["estimators"], **mips_estimators(params, root)})
    return {
        "random-from-bts": evaluate_random_from_bts(root, params.obd.campaign, **common),
        "bts-from-random": evaluate_bts_from_random(root, params.obd.campaign, bts_action_dist=bts_target(params),
                                                    **experiment_2),  # fmt: skip
    }


def mips_estimators(params: OpeParams, root: Path) -> dict[str, OffPolicyEstimator]:
    """MIPS and its self-normalised form for experiment 2 (BTS on the uniform-random logs, whose
    behaviour policy is known: every item with probability :math:`1/n_{items}` at every slot),
    each item's category being its ``ope.obd.mips_item_feature`` in ``item_context.csv``."""
    labels, names = read_item_context(root / "random" / params.obd.campaign / "item_context.csv", encoding="label")
    category = tuple(int(c) for c in labels[:, names.index(params.obd.mips_item_feature)])
    n_items, len_list = len(category), 3
    behaviour = np.full((n_items, len_list), 1.0 / n_items)
    return {"mips": LoggedPolicyMIPS(action_category=category, behaviour=behaviour),
            "snmips": LoggedPolicySelfNormalizedMIPS(action_category=category, behaviour=behaviour)}


def run_obd_parity(params: OpeParams, root: Path, n_runs: int | None = None) -> OpenBanditExperimentResult | None:
    """Experiment 2 under OBP's own protocol (``protocol="obp"``: its resampling stream, its
    Bernoulli TS simulated from ``prior_bts.yaml`` with ``ope.obd.obp_random_state``, its reward
    model and its seven estimators) over ``ope.obd.parity_runs`` runs, the published table's
    setting at 30; ``None`` when ``parity_runs`` is 0."""
    runs = params.obd.parity_runs if n_runs is None else n_runs
    if runs == 0:
        return None
    prior = None if params.obd.bts_prior_yaml is None else resolve_project_path(params.obd.bts_prior_yaml)
    return evaluate_bts_from_random(root, params.obd.campaign, n_runs=runs, seed=params.obd.obp_random_state,
                                    protocol="obp", bts_prior=prior, n_sim_bts=params.obd.n_sim_bts)  # fmt: skip


def obd_reward_model_fit(params: OpeParams, root: Path) -> tuple[RewardModelCrossFit, CalibrationReport]:
    """The stage's reward model cross-fitted once on the full uniform-random log of
    ``ope.obd.campaign`` (folds seeded by ``ope.seed``): the :math:`C` of each fold's model and the
    calibration of its predictions at the logged (round, item, position)."""
    logs = read_open_bandit_logs(root, "random", params.obd.campaign,
                                 include_affinity=params.obd.include_affinity_features)  # fmt: skip
    estimators = params.estimators
    fit = cross_fit_reward_model(
        logs.context, logs.action, logs.position, logs.reward, n_actions=logs.n_actions, len_list=logs.len_list,
        action_context=logs.action_context, n_folds=estimators.n_folds, model=estimators.reward_model,
        seed=params.seed, position_handling=estimators.position_handling, cv_grid=estimators.reward_model_cv_grid,
        cv_folds=estimators.reward_model_cv_folds,
    )  # fmt: skip
    report = reward_model_calibration(fit.estimated_rewards, logs.action, logs.position, logs.reward,
                                      estimators.calibration_bins)  # fmt: skip
    return fit, report


def obd_note(params: OpeParams) -> str:
    """The sentence on the Open Bandit run that goes to the notebook and the diagnostics."""
    if params.obd.protocol == "obp":
        return (f"campaign {params.obd.campaign}; protocol obp: OBP 0.5's example exactly (RandomState(b) resamples, "
                f"Bernoulli TS simulated from prior_bts.yaml with random_state {params.obd.obp_random_state}, "
                "per-position logistic C=100 on label-encoded item features, OBP's seven estimators)")
    return (f"campaign {params.obd.campaign}; protocol hermes; reward model {params.estimators.reward_model}; "
            f"BTS action distribution: {bts_target_label(params)}")


# ----------------------------------------------------------------------------- 4 · the gate
def run_gate(world: World, params: OpeParams) -> GateRun:
    """Shadow mode then the gate, on one fresh champion log of ``ope.world.n_requests`` requests
    (seeded apart from the study's resamples), for three challengers: softmax-true at
    ``ope.gate.challenger_temperature`` (truly better than the champion), uniform (truly worse),
    and a policy from a click model fitted on the first requests of the ingested log
    (``reward-model@T``, realistic: it knows only what the logs show)."""
    n_requests = params.world.n_requests or world.params.n_requests
    seed = resample_seeds(params.seed + 1, 1)[0]
    logs = resimulate(world, seed, n_requests)
    world_log = fit_configured_world_log(world, logs, params, seed)
    train = requests_of(world.logs, np.arange(min(n_requests, world.logs.slate.shape[0])))
    temperature = params.gate.challenger_temperature
    challengers = [softmax_true_policy(temperature), uniform_policy(),
                   learned_policy(world, train, temperature, seed=params.seed)]  # fmt: skip
    shadows, reports = {}, {}
    for challenger in challengers:
        shadow = run_shadow_mode(world, logs, challenger, batch_size=params.gate.shadow_batch_size, seed=seed)
        shadows[challenger.name] = shadow
        reports[challenger.name] = gate_on_shadow_log(world, shadow, world_log, params)
    return GateRun(shadows, reports)


def run_gate_errors(world: World, params: OpeParams) -> GateErrorRates:
    """The gate of :func:`run_gate` on ``ope.gate.error_rate_logs`` independent fresh logs of
    ``ope.gate.error_rate_requests`` requests, against challengers whose true uplift is
    :math:`+\\delta`, about 0 and :math:`-\\delta` (``ope.gate.error_rate_relative_uplift`` of the
    champion's value) and the champion itself (:func:`~hermes_core.ope.gate_error_rates.run_gate_error_rates`)."""
    return run_gate_error_rates(world, params, n_logs=params.gate.error_rate_logs,
                                n_requests=params.gate.error_rate_requests,
                                relative_uplift=params.gate.error_rate_relative_uplift)  # fmt: skip

