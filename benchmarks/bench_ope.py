"""OPE benchmarks: OBP's published Open Bandit experiment, and the speed of the estimators.

(a) Experiment 2 of Saito et al. (2021) on the small Open Bandit sample: evaluate Bernoulli TS
    from the uniform-random logs of the ``all`` campaign, 30 bootstrap runs, logistic reward
    model with 3-fold cross-fitting; our relative estimation errors beside the published ones
    (``PUBLISHED_BTS_FROM_RANDOM_ALL``). Also experiment 1 (random from BTS logs), which OBP
    does not publish a table for.
(c) The world check: on ``--world-resamples`` fresh logs of the default-profile world
    (``data/world``, written by the ingest stage) of ``--world-requests`` requests each, target
    ``ope.world.main_target``: DR's mean relative error must not exceed IPS's, and the 95%
    intervals (``ope.intervals.method``, request as the resampling unit) must cover the truth of
    the log in 90-99% of the resamples.
(b) Wall time of every estimator of ``make_estimators`` (the nine fixed-hyperparameter ones and the
    five SLOPE-tuned ones, whose bootstrap redoes SLOPE's choice on every resample) on 1,000,000
    synthetic logged rounds (10 actions, 3 slots): validation and per-round terms, then 1,000
    percentile-bootstrap resamples shared by all; and of the five slate estimators (IIPS, RIPS,
    SIPS, Cascade-DR, PseudoInverse) on the same rounds as 333,334 slates of 3 positions.
(d) OBP parity: experiment 2 under OBP's own protocol (``protocol="obp"``, 30 runs, the shipped
    ``prior_bts.yaml``) against the published table.

Run: ``python benchmarks/bench_ope.py [--obp-prior-yaml PATH] [--world-resamples N] [--world-requests N]``; writes
``benchmarks/results/ope.json``. With ``--obp-prior-yaml`` (OBP's ``obp/policy/conf/prior_bts.yaml``,
not shipped here), experiment 2 is also run with BTS's action distribution simulated from the
ZOZOTOWN production prior, as the published run did.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hermes_core.ope import (  # noqa: E402
    OpeInputs,
    bootstrap_intervals,
    make_estimators,
    normal_interval,
    round_terms_of_all,
)
from hermes_core.ope.open_bandit import (  # noqa: E402
    PUBLISHED_BTS_FROM_RANDOM_ALL,
    PUBLISHED_SOURCE,
    evaluate_bts_from_random,
    evaluate_random_from_bts,
)
from hermes_core.ope.policies import bernoulli_ts_action_dist  # noqa: E402
from hermes_core.ope.stage import obd_root  # noqa: E402
from hermes_core.params import load_params  # noqa: E402

# $HERMES_SHARED_DATA/open_bandit_dataset, else ope.obd.path of the default profile (the stage's own lookup)
OBD_ROOT = obd_root(load_params(REPO / "params.yaml", profile="default").ope)
N_RUNS = 30
SEED = 12345


def obd_experiments(prior_yaml: Path | None) -> dict[str, object]:
    if not (OBD_ROOT / "random" / "all" / "all.csv").is_file():
        return {"skipped": f"Open Bandit sample not found at {OBD_ROOT}"}
    out: dict[str, object] = {"published_source": PUBLISHED_SOURCE}
    variants: list[tuple[str, str, np.ndarray | None, str]] = [
        ("one-hot", "one-hot", None, "logged-share of bts/all (context-free, per slot)"),
        ("per-position", "per-position", None, "logged-share of bts/all (context-free, per slot)"),
    ]
    if prior_yaml is not None:
        import yaml

        prior = yaml.safe_load(prior_yaml.read_text())["all"]
        simulated = bernoulli_ts_action_dist(
            np.array(prior["alpha"]), np.array(prior["beta"]), n_sim=1_000_000, seed=SEED
        )
        label = f"Bernoulli TS with the OBP production prior ({prior_yaml.name}), 1e6 draws"
        variants += [("obp-prior_one-hot", "one-hot", simulated, label),
                     ("obp-prior_per-position", "per-position", simulated, label)]  # fmt: skip
    for label, position_handling, bts_action_dist, dist_label in variants:
        start = time.perf_counter()
        result = evaluate_bts_from_random(
            OBD_ROOT, "all", n_runs=N_RUNS, seed=SEED, reward_model="logistic", n_folds=3,
            position_handling=position_handling, bts_action_dist=bts_action_dist,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        summary = result.summary()
        table = {}
        for name, ours in summary.items():
            published_name = name.removesuffix("-slope")
            published = PUBLISHED_BTS_FROM_RANDOM_ALL.get(published_name)
            table[name] = {
                "ours_mean": round(ours["mean"], 6),
                "ours_std": round(ours["std"], 6),
                "ours_mean_estimate": ours["mean_estimate"],
                "published_mean": None if published is None else published[0],
                "published_std": None if published is None else published[1],
                "published_row": published_name if published is not None else None,
            }
        out[f"bts_from_random_all_{label}"] = {
            "ground_truth": result.ground_truth,
            "n_runs": N_RUNS,
            "seed": SEED,
            "reward_model": "logistic (C=100), 3-fold cross-fitting, folds by original row",
            "position_handling": position_handling,
            "bts_action_dist": dist_label,
            "seconds": round(seconds, 2),
            "relative_error": table,
        }
    start = time.perf_counter()
    result = evaluate_random_from_bts(OBD_ROOT, "all", n_runs=N_RUNS, seed=SEED)
    out["random_from_bts_all_one-hot"] = {
        "ground_truth": result.ground_truth,
        "n_runs": N_RUNS,
        "seconds": round(time.perf_counter() - start, 2),
        "relative_error": {
            name: {"ours_mean": round(s["mean"], 6), "ours_std": round(s["std"], 6)}
            for name, s in result.summary().items()
        },
    }
    return out


def world_check(n_resamples: int, n_requests: int) -> dict[str, object]:
    """(c): DR vs IPS and interval coverage on fresh logs of the pipeline's world."""
    from hermes_core.ope import DoublyRobust, InverseProbabilityWeighting
    from hermes_core.ope.world_experiments import run_world_study
    from hermes_core.world import World

    folder = REPO / "data" / "world"
    if not (folder / "world.npz").is_file():
        return {"skipped": f"no world at {folder}: run the ingest stage (dvc repro ingest) first"}
    world = World.load(folder)
    ope = load_params(REPO / "params.yaml", profile="default").ope
    params = ope.model_copy(update={"intervals": ope.intervals.model_copy(update={"ci_level": 0.95})})
    target = params.world.main_target
    estimators = {"ipw": InverseProbabilityWeighting(), "dr": DoublyRobust()}
    start = time.perf_counter()
    study = run_world_study(world, params, n_resamples=n_resamples, n_requests=n_requests, targets=[target],
                            estimators=estimators)  # fmt: skip
    seconds = time.perf_counter() - start
    summary = study.summary().loc[target]
    columns = ["relative_ee_mean", "relative_ee_std", "bias", "std", "rmse", "coverage",
               "coverage_of_mean_truth", "interval_width"]  # fmt: skip
    table = {name: {c: round(float(row[c]), 6) for c in columns} for name, row in summary.iterrows()}
    dr_beats_ips = table["dr"]["relative_ee_mean"] <= table["ipw"]["relative_ee_mean"]
    coverage_ok = {name: 0.90 <= row["coverage"] <= 0.99 for name, row in table.items()}
    return {
        "world": str(folder),
        "world_params": {"n_users": world.params.n_users, "n_items": world.params.n_items,
                         "logging_temperature": world.params.logging_temperature},  # fmt: skip
        "target": target,
        "n_resamples": n_resamples,
        "n_requests_per_resample": n_requests,
        "interval": f"{params.intervals.method} 95%, {params.intervals.n_bootstrap} resamples, request as the unit",
        "reward_model": f"{params.estimators.reward_model}, {params.estimators.n_folds}-fold cross-fitting by request",
        "seconds": round(seconds, 1),
        "estimators": table,
        "checks": {
            "dr_relative_error_at_most_ipw": bool(dr_beats_ips),
            "coverage_in_90_99": {name: bool(ok) for name, ok in coverage_ok.items()},
            "passed": bool(dr_beats_ips and all(coverage_ok.values())),
        },
    }


def synthetic_speed(n_rounds: int = 1_000_000, n_actions: int = 10, len_list: int = 3,
                    n_bootstrap: int = 1000) -> dict[str, object]:  # fmt: skip
    rng = np.random.default_rng(0)
    position = rng.integers(0, len_list, n_rounds)
    action = rng.integers(0, n_actions, n_rounds)
    pscore = np.full(n_rounds, 1.0 / n_actions)  # uniform logging
    logits = rng.normal(size=(1, n_actions, len_list)) + 0.3 * rng.normal(size=(n_rounds, n_actions, len_list))
    target = np.exp(logits)
    target /= target.sum(axis=1, keepdims=True)  # (n, n_actions, len_list) softmax target policy
    click_rate = 1 / (1 + np.exp(-(logits - 2.0)))
    reward = (rng.random(n_rounds) < click_rate[np.arange(n_rounds), action, position]).astype(float)
    model = np.clip(click_rate + 0.02 * rng.normal(size=click_rate.shape), 0, 1)
    estimators = make_estimators(switch_tau=5.0, dros_lambda=10.0, tuning_grid="quantiles")

    start = time.perf_counter()
    inputs = OpeInputs.from_arrays(
        reward=reward, action=action, position=position, pscore=pscore, action_dist=target,
        estimated_rewards_by_reg_model=model,
    )  # fmt: skip
    validated = time.perf_counter()
    terms = round_terms_of_all(inputs, estimators)
    estimates = {name: t.estimate() for name, t in terms.items()}
    point = time.perf_counter()
    normals = {name: normal_interval(t) for name, t in terms.items()}
    normal_done = time.perf_counter()
    fixed = {name: t for name, t in terms.items() if not name.endswith("-slope")}
    fixed_started = time.perf_counter()
    bootstrap_intervals(fixed, n_bootstrap=n_bootstrap, alpha=0.05, seed=1)
    fixed_seconds = time.perf_counter() - fixed_started
    all_started = time.perf_counter()
    intervals = bootstrap_intervals(terms, n_bootstrap=n_bootstrap, alpha=0.05, seed=1)
    done = time.perf_counter()
    true_value = float((target * click_rate).sum(axis=1).mean())  # slot drawn uniformly
    return {
        "n_rounds": n_rounds,
        "n_actions": n_actions,
        "len_list": len_list,
        "n_bootstrap": n_bootstrap,
        "n_estimators": len(terms),
        "seconds_validate": round(validated - start, 3),
        "seconds_round_terms_and_estimates": round(point - validated, 3),
        "seconds_normal_intervals": round(normal_done - point, 3),
        "seconds_bootstrap_fixed_estimators": round(fixed_seconds, 3),
        "n_fixed_estimators": len(fixed),
        "seconds_bootstrap_all_estimators": round(done - all_started, 3),
        "seconds_total": round(done - start - fixed_seconds, 3),
        "true_value": true_value,
        "estimates": estimates,
        "bootstrap_95": {name: [i.low, i.high] for name, i in intervals.items()},
        "normal_95": {name: [i.low, i.high] for name, i in normals.items()},
    }


def slate_speed(n_requests: int = 333_334, n_candidates: int = 10, len_list: int = 3,
                n_bootstrap: int = 1000) -> dict[str, object]:
    """(b) for the slate estimators: Plackett-Luce logging and target over ``n_candidates`` per
    request, cascade-like clicks; validation, per-request terms and a shared bootstrap."""
    from hermes_core.ope.slate import SlateInputs
    from hermes_core.ope.slate_study import slate_estimators
    from hermes_core.world.plackett_luce import conditional_probabilities, prefix_probabilities, sample_logit_slates

    rng = np.random.default_rng(2)
    logging = rng.normal(size=(n_requests, n_candidates))
    target = logging + rng.normal(scale=0.5, size=logging.shape)
    slates = sample_logit_slates(logging, len_list, rng)
    attract = 1 / (1 + np.exp(-(rng.normal(size=(n_requests, n_candidates)) - 1.5)))
    clicks = (rng.random(slates.shape) < np.take_along_axis(attract, slates, 1)).astype(float)
    start = time.perf_counter()
    logging_conditional = conditional_probabilities(logging, slates)
    target_conditional = conditional_probabilities(target, slates)
    rows = np.arange(n_requests)[:, None]
    # first-position marginals are exact; deeper marginals are approximated by the conditionals here
    # (the benchmark times the estimators, not the marginals' subset recursion)
    inputs = SlateInputs.from_arrays(
        reward=clicks, slate=slates,
        logging_marginal=logging_conditional[rows, np.arange(len_list)[None, :], slates],
        logging_prefix=prefix_probabilities(logging, slates),
        target_marginal=target_conditional[rows, np.arange(len_list)[None, :], slates],
        target_prefix=prefix_probabilities(target, slates), target_conditional=target_conditional,
        estimated_rewards=np.repeat(attract[:, :, None], len_list, axis=2) * 0.5,
    )  # fmt: skip
    validated = time.perf_counter()
    terms = {name: estimator.round_terms(inputs) for name, estimator in slate_estimators().items()}
    point = time.perf_counter()
    bootstrap_intervals(terms, n_bootstrap=n_bootstrap, alpha=0.05, seed=1)
    done = time.perf_counter()
    return {"n_requests": n_requests, "n_candidates": n_candidates, "len_list": len_list, "n_bootstrap": n_bootstrap,
            "n_estimators": len(terms), "seconds_validate": round(validated - start, 3),
            "seconds_round_terms": round(point - validated, 3), "seconds_bootstrap_all_estimators": round(done - point, 3),
            "seconds_total": round(done - start, 3)}  # fmt: skip


def obp_parity() -> dict[str, object]:
    """(d) experiment 2 under OBP's protocol against the published table."""
    if not (OBD_ROOT / "prior_bts.yaml").is_file():
        return {"skipped": f"no prior_bts.yaml in {OBD_ROOT}"}
    start = time.perf_counter()
    result = evaluate_bts_from_random(OBD_ROOT, "all", n_runs=30, seed=12345, protocol="obp")
    table = {name: {"mean": round(s["mean"], 6), "std": round(s["std"], 6), "mc_se": round(s["mc_se"], 6),
                    "published_mean": PUBLISHED_BTS_FROM_RANDOM_ALL[name][0],
                    "published_std": PUBLISHED_BTS_FROM_RANDOM_ALL[name][1]}
             for name, s in result.summary().items() if name in PUBLISHED_BTS_FROM_RANDOM_ALL}  # fmt: skip
    return {"protocol": "obp", "n_runs": 30, "seconds": round(time.perf_counter() - start, 2), "relative_error": table}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--obp-prior-yaml", type=Path, default=None)
    parser.add_argument("--world-resamples", type=int, default=100)
    parser.add_argument("--world-requests", type=int, default=2500)
    parser.add_argument("--only", choices=("obd", "world", "speed", "slate_speed", "parity"), default=None,
                        help="run one part and keep the others' stored results")  # fmt: skip
    args = parser.parse_args()
    out = REPO / "benchmarks" / "results" / "ope.json"
    results = json.loads(out.read_text()) if args.only and out.is_file() else {}
    results["machine"] = {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
    }
    parts = {
        "obd": lambda: obd_experiments(args.obp_prior_yaml),
        "world": lambda: world_check(args.world_resamples, args.world_requests),
        "synthetic_speed": synthetic_speed,
        "slate_speed": slate_speed,
        "obp_parity": obp_parity,
    }
    chosen = {"obd": "obd", "world": "world", "speed": "synthetic_speed", "slate_speed": "slate_speed",
              "parity": "obp_parity"}.get(args.only or "")
    for name, run in parts.items():
        if chosen is None or name == chosen:
            results[name] = run()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
