"""Rerank benchmarks: the shipped policy against the issue's target on the world, and the policies' speed.

(a) Quality, on the default profile's world and upstream outputs (``data/world``,
    ``data/rank/scores.parquet``, ``data/encode/embeddings.parquet``, written by ``dvc repro``): the
    unreranked list and every policy at its operating point (the stage's ``run_policies``), scored
    against the world's truth (``evaluate``). For the shipped policy (``rerank.default_policy``), the
    stage's ``benchmark``: its relative NDCG@10 loss against the unreranked list with its paired
    bootstrap interval over the lists, and whether it is within ``target.max_ndcg_loss`` (5%); its
    true disparate-exposure ratio with its interval, and whether it lies in
    ``[target.ratio_low, target.ratio_high]`` ([0.8, 1.25]); both reported either way. The same two
    numbers (with intervals and verdicts) for every policy and the unreranked ratio, and when each
    input file was written (the rank stage's scores may predate a rerun of encode).
(b) Speed: 200 candidates re-ranked to 20 for 10,000 users (the issue's benchmark), the lists drawn
    with replacement from the world's candidate lists (``numpy.random.default_rng(rerank.seed)``);
    each policy at its operating point (``mmr_runs``, ``parity_run``, ``singh_joachims_run``,
    ``fair_run`` of ``hermes_core.rerank.policies``) timed alone: seconds and ms per list on this
    machine's CPU (core count and load average recorded). The Singh-Joachims LP is first timed on
    200 lists; when that extrapolates past 3 minutes for 10,000 it is timed on the first 2,000 and
    extrapolated linearly (the JSON says which: ``lists_timed`` and ``extrapolated``).

The inputs are loaded with up to 10 retries 60 s apart (a running ``dvc repro`` may be rewriting them).

Run: ``python benchmarks/bench_rerank.py [--only quality|speed]``; writes ``benchmarks/results/rerank.json``.
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
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hermes_core.params import load_params  # noqa: E402
from hermes_core.rerank import stage as st  # noqa: E402
from hermes_core.rerank.params import POLICIES  # noqa: E402
from hermes_core.rerank.policies import fair_run, mmr_runs, parity_run, singh_joachims_run  # noqa: E402
from hermes_core.workspace import Workspace  # noqa: E402

RETRIES, RETRY_SECONDS = 10, 60
SPEED_LISTS = st.BENCHMARK_LISTS  # 10,000
LP_PILOT_LISTS, LP_FALLBACK_LISTS, LP_MAX_SECONDS = 200, 2_000, 180.0


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def input_times() -> dict[str, str]:
    """When each input was last written (UTC), so a result can be matched to a pipeline run."""
    workspace = Workspace.from_env()
    paths = {"world": workspace.world / "world.npz", "scores": workspace.stage_data("rank") / "scores.parquet",
             "embeddings": workspace.stage_data("encode") / "embeddings.parquet"}
    return {name: (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(path.stat().st_mtime)) if path.is_file() else "missing")
            for name, path in paths.items()}  # fmt: skip


def load_with_retries(params: object) -> tuple[object | None, str, int]:
    """``st.load_inputs`` on the workspace; when it fails or finds no lists, wait 60 s and retry, at most
    10 times; then ``None`` and the last reason."""
    reason = ""
    for attempt in range(RETRIES + 1):
        try:
            loaded, note = st.load_inputs(Workspace.from_env(), params)
            if loaded is not None:
                return loaded, note, attempt
            reason = note
        except Exception as error:  # noqa: BLE001 - inputs half-written by dvc repro fail in many ways
            reason = f"{type(error).__name__}: {error}"
        if attempt < RETRIES:
            print(f"loading the rerank inputs failed ({reason}); retry in {RETRY_SECONDS} s", file=sys.stderr, flush=True)
            time.sleep(RETRY_SECONDS)
    return None, reason, RETRIES


def quality() -> dict[str, object]:
    """(a) every operating point against the truth; the shipped policy against the target."""
    rr = load_params().rerank
    loaded, note, retries = load_with_retries(rr)
    if loaded is None:
        return {"skipped": note, "world_load_retries": retries}
    lists, truth = loaded.lists, loaded.truth
    started = time.perf_counter()
    operating = st.run_policies(lists, rr)
    evaluation = st.evaluate(lists, truth, operating, [], rr)
    bench = st.benchmark(evaluation, rr)
    target = rr.target
    policies = {}
    for name in POLICIES:
        row, loss = evaluation.headline.loc[name], evaluation.comparisons.loc[name]
        ratio = float(row["exposure_ratio"])
        policies[name] = {
            "setting": operating[name].label,
            "ndcg_at_10": round(float(row["ndcg_at_10"]), 5),
            "ndcg_relative_loss": round(float(loss["ndcg_relative_loss"]), 5),
            "ndcg_relative_loss_interval": [round(float(loss["ndcg_relative_loss_low"]), 5),
                                            round(float(loss["ndcg_relative_loss_high"]), 5)],
            "ndcg_within_target": bool(loss["ndcg_relative_loss"] <= target.max_ndcg_loss),
            "exposure_ratio": round(ratio, 5),
            "exposure_ratio_interval": [round(float(row["exposure_ratio_low"]), 5),
                                        round(float(row["exposure_ratio_high"]), 5)],
            "ratio_within_target": bool(target.ratio_low <= ratio <= target.ratio_high),
            "both_within_target": bool(loss["ndcg_relative_loss"] <= target.max_ndcg_loss
                                       and target.ratio_low <= ratio <= target.ratio_high),
        }  # fmt: skip
    before = evaluation.headline.loc["before"]
    return {
        "protocol": "the world's logged test requests, the rank stage's top candidates per request; NDCG@10 against "
                    "the true contextual grades (ideal over the candidates), relative loss = 1 - NDCG(policy) / "
                    "NDCG(unreranked) (means over the lists both score) with a paired bootstrap interval over "
                    f"lists; disparate-exposure ratio = (exposure / merit of {lists.protected_name}) / (exposure / "
                    f"merit of {lists.other_name}) on the true merit (both summed over the lists), bootstrap interval "
                    "over lists",
        "world": note, "world_load_retries": retries, "inputs_written": input_times(),
        "lists": lists.n_lists, "max_candidates": lists.n_candidates, "slate_size": rr.slate_size,
        "n_bootstrap": rr.n_bootstrap, "ci_level": rr.ci_level,
        "target": {"max_ndcg_loss": target.max_ndcg_loss, "ratio_low": target.ratio_low,
                   "ratio_high": target.ratio_high},
        "shipped_policy": bench,
        "shipped_meets_both": bool(bench["ndcg_within_target"] and bench["ratio_within_target"]),
        "before": {"ndcg_at_10": round(float(before["ndcg_at_10"]), 5),
                   "exposure_ratio": round(float(before["exposure_ratio"]), 5),
                   "exposure_ratio_interval": [round(float(before["exposure_ratio_low"]), 5),
                                               round(float(before["exposure_ratio_high"]), 5)]},
        "policies": policies,
        "seconds": round(time.perf_counter() - started, 1),
    }  # fmt: skip


def time_lp(lists: object, rr: object) -> dict[str, object]:
    """The Singh-Joachims LP at its operating point, on all lists or (past 3 minutes) on 2,000, extrapolated."""
    lp = rr.singh_joachims
    pilot = singh_joachims_run(lists.take(np.arange(LP_PILOT_LISTS)), rr.slate_size, lp.candidates, rr.seed, lp.users)
    estimate = pilot.seconds * lists.n_lists / LP_PILOT_LISTS
    n = lists.n_lists if estimate <= LP_MAX_SECONDS else LP_FALLBACK_LISTS
    timed = lists if n == lists.n_lists else lists.take(np.arange(n))
    load_before = load_average()
    run = singh_joachims_run(timed, rr.slate_size, lp.candidates, rr.seed, lp.users)
    return {"setting": run.label, "lists_timed": n, "extrapolated": n != lists.n_lists,
            "pilot_lists": LP_PILOT_LISTS, "pilot_seconds": round(pilot.seconds, 2),
            "pilot_estimate_seconds": round(estimate, 1), "seconds_timed": round(run.seconds, 2),
            "seconds": round(run.seconds * lists.n_lists / n, 2),
            "ms_per_list": round(1000.0 * run.seconds / n, 3),
            "infeasible_lists": run.report["infeasible"], "lists_reranked": run.report["lists_reranked"],
            "load_average_1min_before": load_before, "load_average_1min_after": load_average()}  # fmt: skip


def speed() -> dict[str, object]:
    """(b) each policy on 10,000 lists drawn with replacement from the world's lists."""
    rr = load_params().rerank
    loaded, note, retries = load_with_retries(rr)
    if loaded is None:
        return {"skipped": note, "world_load_retries": retries}
    world_lists = loaded.lists
    rows = np.random.default_rng(rr.seed).choice(world_lists.n_lists, size=SPEED_LISTS, replace=True)
    lists = world_lists.take(rows)
    k = rr.slate_size
    real = lists.mask.sum(axis=1)
    out: dict[str, object] = {
        "lists": lists.n_lists, "drawn_from": world_lists.n_lists, "distinct_lists_drawn": int(np.unique(rows).size),
        "draw": f"numpy.random.default_rng({rr.seed}).choice({world_lists.n_lists}, {SPEED_LISTS}, replace=True)",
        "candidates_max": lists.n_candidates, "candidates_mean": round(float(real.mean()), 1),
        "candidates_min": int(real.min()), "slate_size": k, "world_load_retries": retries,
        "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "timing": "wall seconds of each policy alone (the PolicyRun's own clock), inputs already in memory",
    }  # fmt: skip
    timings: dict[str, object] = {}
    runners = {
        "mmr": lambda: mmr_runs(lists, [rr.mmr.lam], k, rr.mmr.chunk_size)[0],
        "parity": lambda: parity_run(lists, k, rr.parity.tolerance, rr.parity.max_iterations),
        "fair": lambda: fair_run(lists, k, rr.fair.p, rr.fair.alpha),
    }
    for name in POLICIES:
        if name == "singh_joachims":
            timings[name] = time_lp(lists, rr)
            continue
        load_before = load_average()
        run = runners[name]()
        timings[name] = {"setting": run.label, "lists_timed": lists.n_lists, "extrapolated": False,
                         "seconds": round(run.seconds, 3), "ms_per_list": round(1000.0 * run.seconds / lists.n_lists, 3),
                         "load_average_1min_before": load_before, "load_average_1min_after": load_average()}  # fmt: skip
    out["policies"] = timings
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("quality", "speed"), help="run one part and keep the other's stored result")
    args = parser.parse_args()
    out = REPO / "benchmarks" / "results" / "rerank.json"
    results = json.loads(out.read_text()) if args.only and out.is_file() else {}
    results["machine"] = {"cpu_count": os.cpu_count(), "load_average_1min": load_average(),
                          "platform": platform.platform(), "torch": torch.__version__,
                          "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}  # fmt: skip
    for name, run in (("quality", quality), ("speed", speed)):
        if args.only in (None, name):
            results[name] = run()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
