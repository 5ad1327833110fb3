"""Rank benchmarks: the listwise fine ranker against LambdaMART on the world's truth, and training throughput.

(a) Quality, on the default profile's world and upstream outputs (``data/``, written by ``dvc repro``):
    the ListMLE fine ranker's test NDCG@10 against LightGBM LambdaMART's on the same features and
    lists, over ``rank.seeds``, with the ratio, the paired bootstrap interval of the difference over
    the test requests, and each seed's numbers. The issue's goal is a ratio of at least 1.
(b) Training throughput (lists per second) of the fine ranker with each loss on synthetic padded
    lists of the fine ranker's shape (200 candidates, the stage's feature count), on this machine's
    CPU (core count and load recorded) and on ``cuda`` when one is present (its name recorded), and
    of LambdaMART (lists x boosting rounds per second).

Run: ``python benchmarks/bench_rank.py [--only quality|throughput]``; writes ``benchmarks/results/rank.json``.
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

from hermes_core.device import device_name, resolve_device  # noqa: E402
from hermes_core.params import load_params  # noqa: E402
from hermes_core.rank import stage as st  # noqa: E402
from hermes_core.rank.evaluation import paired_comparison  # noqa: E402
from hermes_core.rank.lambdamart import train_lambdamart  # noqa: E402
from hermes_core.rank.lists import RankingLists  # noqa: E402
from hermes_core.rank.params import LIST_LOSSES  # noqa: E402
from hermes_core.rank.training import train_fine_ranker  # noqa: E402
from hermes_core.workspace import Workspace  # noqa: E402


def quality() -> dict[str, object]:
    """(a) ListMLE against LambdaMART on the world, every seed, with the stage's pool choice."""
    params = load_params()
    rank = params.rank.model_copy(update={"losses": ("listmle",), "loss": "listmle"})
    device = resolve_device(rank.device)
    inputs, note = st.load_inputs(Workspace.from_env(), params.retrieve.split.validation_days,
                                  params.retrieve.split.test_days)  # fmt: skip
    if inputs is None:
        return {"skipped": note}
    started = time.perf_counter()
    tower = st.fit_pre_ranker(inputs, rank, device)
    validation, test = st.evaluation_sets(inputs, tower, rank)
    requests = st.training_requests(inputs, rank)
    pool = st.choose_pool_size(inputs, tower, rank, requests, validation, device)
    lists = st.WorldLists(st.build_training_lists(inputs, tower, rank, requests, pool.chosen), validation, test)
    rankers = st.train_fine_rankers(lists.train.lists, lists.validation.lists, rank, device)
    lambdamarts = st.train_lambdamarts(lists.train.lists, lists.validation.lists, rank)
    scores = st.score_test(lists.test, rankers, lambdamarts, {})
    runs = st.evaluate_world(inputs, lists.test, scores, rank)
    listmle, trees = runs["listmle"]["ndcg_at_10"], runs["lightgbm_lambdarank"]["ndcg_at_10"]
    difference = paired_comparison(listmle, trees, rank.n_bootstrap, rank.seed)
    listmle_mean, trees_mean = float(np.nanmean(listmle.averaged)), float(np.nanmean(trees.averaged))
    return {
        "protocol": "world test requests, retrieve candidates cut by the pre-ranker, NDCG@10 against the true grades "
                    "(ideal over every retrieved candidate), mean over seeds",
        "seeds": list(rank.seeds), "pool_size": pool.chosen,
        "listmle_ndcg_at_10": listmle_mean, "lightgbm_lambdarank_ndcg_at_10": trees_mean,
        "ratio_listmle_over_lambdamart": listmle_mean / trees_mean,
        "per_seed": {"listmle": np.nanmean(listmle.values, axis=1).tolist(),
                     "lightgbm_lambdarank": np.nanmean(trees.values, axis=1).tolist()},
        "difference": {"mean": difference.difference, "ci_low": difference.ci_low, "ci_high": difference.ci_high,
                       "verdict": difference.verdict},
        "goal_ratio_at_least_1": listmle_mean >= trees_mean,
        "seconds": round(time.perf_counter() - started, 1),
    }  # fmt: skip


def synthetic_lists(n: int, length: int, n_features: int, seed: int) -> RankingLists:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, length, n_features)).astype(np.float32)
    labels = np.clip(np.round(features[:, :, 0] + 0.5 * features[:, :, 1] + 1.0), 0, 4).astype(np.float32)
    return RankingLists(features, labels, np.ones((n, length), bool), np.tile(np.arange(length), (n, 1)))


def throughput() -> dict[str, object]:
    """(b) lists per second of every loss (3 epochs) and of LambdaMART on 2,000 lists of 200 candidates."""
    params = load_params().rank
    n_features = 43  # the world's feature count with the pre-ranker's score (hermes_core.rank.features)
    train, validation = synthetic_lists(2000, 200, n_features, 0), synthetic_lists(100, 200, n_features, 1)
    fine = params.fine.model_copy(update={"epochs": 3})
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    out: dict[str, object] = {"lists": 2000, "list_length": 200, "features": n_features, "epochs": 3}
    for device_label in devices:
        device = resolve_device(device_label)
        rows = {}
        for loss in LIST_LOSSES:
            trained = train_fine_ranker(train, validation, loss, fine, 0, device)
            rows[loss] = round(trained.lists_per_second, 1)
        out[device_label] = {"device": device_name(device), "lists_per_second": rows,
                             "torch_threads": torch.get_num_threads()}  # fmt: skip
    started = time.perf_counter()
    model = train_lambdamart(train, validation, params.lightgbm.model_copy(update={"n_estimators": 100,
                                                                                  "early_stopping_rounds": 100}),
                             0, max(torch.get_num_threads(), 1))  # fmt: skip
    out["lightgbm_lambdarank"] = {"rounds": 100, "seconds": round(time.perf_counter() - started, 2),
                                  "lists_x_rounds_per_second": round(model.lists_per_second, 1)}  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("quality", "throughput"),
                        help="run one part and keep the other's stored result")  # fmt: skip
    args = parser.parse_args()
    out = REPO / "benchmarks" / "results" / "rank.json"
    results = json.loads(out.read_text()) if args.only and out.is_file() else {}
    results["machine"] = {"cpu_count": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2),
                          "platform": platform.platform(), "torch": torch.__version__,
                          "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}  # fmt: skip
    for name, run in (("quality", quality), ("throughput", throughput)):
        if args.only in (None, name):
            results[name] = run()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
