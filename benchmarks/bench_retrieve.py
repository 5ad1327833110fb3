"""Retrieve benchmarks: SASRec's speed and quality, and the blend against its sources on the world.

(a) SASRec training throughput (sequences per second) on MovieLens 100K for ``max_len`` 50 and 200,
    a few epochs each, on this machine's CPU (its core count and load average recorded) and on
    ``cuda`` when one is present (its device name recorded).
(b) SASRec on MovieLens 100K under the paper's protocol (leave-one-out, 100 sampled negatives):
    HR@10 and NDCG@10, the full-ranking NDCG@10, and the training time, beside popularity and the
    transition model, with ``retrieve.sasrec`` and ``retrieve.movielens.sasrec_epochs``.
(c) The world targets of the retrieve issue, on the default profile's world and encode outputs
    (``data/``, written by ``dvc repro``): the blend's recall@100 at least the best single source's,
    and SASRec above the first-order transition model on the contextual truth; each as a paired
    bootstrap interval over the test requests.

Run: ``python benchmarks/bench_retrieve.py [--only throughput|movielens|world]``; writes
``benchmarks/results/retrieve.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
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

from hermes_core.data.readers.sequences import read_movielens_100k  # noqa: E402
from hermes_core.device import device_name, resolve_device  # noqa: E402
from hermes_core.evaluation.sequential import leave_one_out  # noqa: E402
from hermes_core.params import load_params  # noqa: E402
from hermes_core.retrieve import stage as st  # noqa: E402
from hermes_core.retrieve.evaluation import paired_recall_difference, recall_table  # noqa: E402
from hermes_core.retrieve.paper_protocol import run_paper_protocol  # noqa: E402
from hermes_core.retrieve.sasrec import train_sasrec  # noqa: E402
from hermes_core.workspace import Workspace  # noqa: E402


def throughput(params: object) -> dict[str, object]:
    """(a) sequences per second over 3 epochs, per max_len and device."""
    root = st.movielens_root(params)
    data = read_movielens_100k(root, params.movielens.min_count)
    train = list(leave_one_out(list(data.sequences), data.n_items).train)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    out: dict[str, object] = {}
    for device in devices:
        for max_len in (50, 200):
            config = dataclasses.replace(params.sasrec.config(params.seed, device, epochs=3), max_len=max_len)
            trained = train_sasrec(train, data.n_items, config)
            rates = [row["sequences_per_second"] for row in trained.history]
            out[f"{device}_max_len_{max_len}"] = {
                "device": device_name(resolve_device(device)), "epochs": 3, "users": len(train),
                "median_sequences_per_second": float(np.median(rates)), "seconds": round(trained.seconds, 2),
                "torch_threads": torch.get_num_threads(),
            }  # fmt: skip
    return out


def movielens(params: object) -> dict[str, object]:
    """(b) the paper's protocol on MovieLens 100K."""
    root = st.movielens_root(params)
    data = read_movielens_100k(root, params.movielens.min_count)
    result = run_paper_protocol(list(data.sequences), data.n_items, params.sasrec, dataset="MovieLens 100K",
                                seed=params.seed, device=str(resolve_device(params.device)),
                                epochs=params.movielens.sasrec_epochs)  # fmt: skip
    table = result.table()
    return {"users": result.n_users, "items": result.n_items, "epochs": params.movielens.sasrec_epochs,
            "sasrec_training_seconds": round(result.sasrec.seconds, 1),
            "table": table.drop(columns=["sampled_protocol", "full_protocol"]).round(4).to_dict(orient="index"),
            "protocols": {"sampled": table["sampled_protocol"].iat[0], "full": table["full_protocol"].iat[0]},
            "sasrec_minus_transition_ndcg": result.sasrec_minus_transition().round(4).to_dict(orient="index")}  # fmt: skip


def world(params: object, encode_text: object, encode_device: str) -> dict[str, object]:
    """(c) the blend and SASRec on the world's test split."""
    from hermes_core.encoders.text import TextEncoder

    inputs, note = st.load_inputs(Workspace.from_env())
    if inputs is None:
        return {"skipped": note}
    started = time.perf_counter()
    requests, _ = st.build_requests(inputs, params)
    encoder = TextEncoder(encode_text.model, batch_size=encode_text.batch_size, device=encode_device,
                          normalize=encode_text.normalize, max_seq_length=encode_text.max_seq_length)  # fmt: skip
    vectors = st.encode_queries(inputs, requests, encoder)
    trained = st.train_sources(inputs, params, str(resolve_device(params.device)))
    sources, baselines = st.make_sources(inputs, trained, params)
    validation = st.world_requests(requests["validation"], vectors["validation"])
    fit = st.fit_weights(st.retrieve_split(sources, validation, params), requests["validation"], params)
    test = st.world_requests(requests["test"], vectors["test"])
    report = st.retrieve_split(sources, test, params)
    lists = {**st.source_lists(report), "blend": st.blend_results(st.blend_split(report, fit, params)),
             **st.baseline_results(baselines, test)}  # fmt: skip
    relevant = requests["test"].relevant
    table = recall_table(lists, relevant, requests["test"].frame["query_class"].tolist(), [100], seed=params.seed)
    every = table[table["query_class"] == "all"].set_index("list")["recall"]
    best = max(("ann", "kg", "sasrec"), key=lambda name: every[name])
    blend_vs_best = paired_recall_difference(lists, relevant, "blend", best, 100, seed=params.seed)
    sasrec_vs_transition = paired_recall_difference(lists, relevant, "sasrec", "transition", 100, seed=params.seed)
    return {"note": note, "test_requests": len(test), "recall_at_100": every.round(4).to_dict(),
            "best_single_source": best,
            "blend_minus_best_single": [round(v, 4) for v in blend_vs_best],
            "blend_at_least_best_single": bool(blend_vs_best[2] >= 0),
            "sasrec_minus_transition": [round(v, 4) for v in sasrec_vs_transition],
            "sasrec_above_transition": bool(sasrec_vs_transition[1] > 0),
            "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("throughput", "movielens", "world"), default=None,
                        help="run one part and keep the others' stored results")  # fmt: skip
    args = parser.parse_args()
    params = load_params()
    out = REPO / "benchmarks" / "results" / "retrieve.json"
    results = json.loads(out.read_text()) if args.only and out.is_file() else {}
    results["machine"] = {"cpu_count": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2),
                          "python": platform.python_version(), "torch": torch.__version__,
                          "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                          "platform": platform.platform()}  # fmt: skip
    parts = {"throughput": lambda: throughput(params.retrieve), "movielens": lambda: movielens(params.retrieve),
             "world": lambda: world(params.retrieve, params.encode.text, params.encode.device)}  # fmt: skip
    for name, run in parts.items():
        if args.only is None or args.only == name:
            results[name] = run()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
