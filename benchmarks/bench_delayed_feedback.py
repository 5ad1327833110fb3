"""Delayed-feedback benchmarks: the corrections against the vanilla and oracle learners on the world's
conversion stream, and training throughput.

(a) Quality, on the default profile's world (``data/world``, written by ``dvc repro``'s ingest stage):
    the stage's streaming protocol (ES-DFM's: pre-train on the first ``protocol.pretrain_days``, then
    train on window k with the labels observable then and test on window k + 1 with the true labels)
    with the default ``delayed_feedback`` parameters over ``delayed_feedback.seeds``, on the stage's
    device and torch thread count. Per method: AUC, PR-AUC and NLL (click-weighted window averages),
    their mean, sd, minimum and maximum over the seeds, and RI-AUC, RI-PR-AUC, RI-NLL (the RI of the
    seed means, with the per-seed RI's range); whether oracle >= correction >= vanilla holds on the
    seed means of AUC and of NLL (RI in [0, 1]) and in how many seeds; the best correction's RI-AUC
    against the issue's goal of 0.5, and ES-DFM's beside the 0.356 its paper reports on Criteo; and the
    stage's ``throughput`` table of these runs (rows per second, all seeds, the stage's thread count).
(b) Training throughput: rows trained (pre-training and every window, every epoch) per second of
    each method's training and window predictions (the stage's ``throughput``; the auxiliary
    classifiers' fit is not counted), one full streaming run of the first seed on the same world and
    parameters, on this machine's CPU with ``torch.set_num_threads(1)`` and ``(2)`` (core count and
    load average recorded), and on ``cuda`` when one is present (its name recorded).

The world is loaded with up to 10 retries 60 s apart (a running ``dvc repro`` may be rewriting it).

Run: ``python benchmarks/bench_delayed_feedback.py [--only quality|throughput]``; writes
``benchmarks/results/delayed_feedback.json``.
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

from hermes_core.delayed_feedback import stage as st  # noqa: E402
from hermes_core.delayed_feedback.conclusions import ESDFM_PAPER_RI_AUC, RI_GOAL  # noqa: E402
from hermes_core.delayed_feedback.summary import ordering_check  # noqa: E402
from hermes_core.delayed_feedback.training_rows import CORRECTIONS  # noqa: E402
from hermes_core.device import device_name, resolve_device  # noqa: E402
from hermes_core.params import load_params  # noqa: E402
from hermes_core.workspace import Workspace  # noqa: E402

RETRIES, RETRY_SECONDS = 10, 60


def load_with_retries() -> tuple[object, object, str, int]:
    """``st.load_stream`` on the workspace's world; on failure wait 60 s and retry, at most 10 times."""
    for attempt in range(RETRIES + 1):
        try:
            stream, conversions, note = st.load_stream(Workspace.from_env())
            return stream, conversions, note, attempt
        except Exception as error:  # noqa: BLE001 - a world half-written by dvc repro fails in many ways
            if attempt == RETRIES:
                raise
            print(f"loading the world failed ({type(error).__name__}: {error}); retry in {RETRY_SECONDS} s",
                  file=sys.stderr, flush=True)  # fmt: skip
            time.sleep(RETRY_SECONDS)
    raise AssertionError("unreachable")


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def quality() -> dict[str, object]:
    """(a) every method over every seed with the default parameters, as the stage runs them."""
    dfp = load_params().delayed_feedback
    device = resolve_device(dfp.device)
    if dfp.cpu_threads:
        torch.set_num_threads(dfp.cpu_threads)
    stream, conversions, note, retries = load_with_retries()
    load_before = load_average()
    started = time.perf_counter()
    features = st.click_features(stream, dfp)
    config = st.protocol_config(dfp, conversions)
    runs = st.run_streaming(stream, features, config, dfp.seeds, device, progress=False)
    windows, per_seed, table = st.seed_summary(runs)
    seconds = time.perf_counter() - started
    ordering = ordering_check(table, per_seed)
    columns = [f"{metric}_{stat}" for metric in ("auc", "pr_auc", "nll") for stat in ("mean", "sd", "min", "max")]
    columns += [f"ri_{metric}{suffix}" for metric in ("auc", "pr_auc", "nll")
                for suffix in ("", "_seed_min", "_seed_max")]  # fmt: skip
    methods = {method: {c: round(float(table.loc[method, c]), 5) for c in columns} for method in table.index}
    corrections = [m for m in CORRECTIONS if m in table.index and np.isfinite(table.loc[m, "ri_auc"])]
    best = max(corrections, key=lambda m: table.loc[m, "ri_auc"]) if corrections else None
    return {
        "protocol": "ES-DFM streaming protocol: pre-train on the clicks before pretrain_days (labels observable then), "
                    "then train on window k (labels observable at its end) and test on window k + 1 against the true "
                    "labels; metrics are click-weighted window averages, tables the mean over seeds",
        "stream": note, "world_load_retries": retries,
        "seeds": list(dfp.seeds), "windows": int(windows["window"].nunique()),
        "window_days": config.window_days, "pretrain_days": config.pretrain_days,
        "test_clicks_per_method_and_seed": int(windows.groupby(["seed", "method"])["n"].sum().iloc[0]),
        "device": device_name(device), "torch_threads": torch.get_num_threads(),
        "methods": methods,
        "ordering_oracle_ge_correction_ge_vanilla": {
            method: {"auc": bool(ordering.loc[method, "auc_between"]), "nll": bool(ordering.loc[method, "nll_between"]),
                     "auc_seeds": int(ordering.loc[method, "auc_seeds_between"]),
                     "nll_seeds": int(ordering.loc[method, "nll_seeds_between"]),
                     "of_seeds": int(ordering.loc[method, "n_seeds"])}
            for method in ordering.index},
        "ordering_holds_for_all_corrections": bool((ordering["auc_between"] & ordering["nll_between"]).all()),
        "vanilla_to_oracle_auc_gap": round(float(table.loc["oracle", "auc_mean"] - table.loc["vanilla", "auc_mean"]), 5),
        "best_correction": best,
        "best_correction_ri_auc": None if best is None else round(float(table.loc[best, "ri_auc"]), 4),
        "best_correction_ri_auc_seed_range": None if best is None else [
            round(float(table.loc[best, "ri_auc_seed_min"]), 4), round(float(table.loc[best, "ri_auc_seed_max"]), 4)],
        "goal_ri_auc": RI_GOAL,
        "goal_ri_auc_met": None if best is None else bool(table.loc[best, "ri_auc"] >= RI_GOAL),
        "esdfm_ri_auc": round(float(table.loc["esdfm", "ri_auc"]), 4) if "esdfm" in table.index else None,
        "esdfm_paper_ri_auc_criteo": ESDFM_PAPER_RI_AUC,
        "stage_throughput_rows_per_second": {m: round(float(v), 1)
                                             for m, v in st.throughput(runs)["rows_per_second"].items()},
        "seconds": round(seconds, 1), "load_average_1min_before": load_before, "load_average_1min_after": load_average(),
    }  # fmt: skip


def throughput() -> dict[str, object]:
    """(b) rows per second of each method: one full streaming run of the first seed per setting."""
    dfp = load_params().delayed_feedback
    stream, conversions, _, retries = load_with_retries()
    features = st.click_features(stream, dfp)
    config = st.protocol_config(dfp, conversions)
    seed = dfp.seeds[0]
    settings = [("cpu", n) for n in (1, 2)] + ([("cuda", None)] if torch.cuda.is_available() else [])
    out: dict[str, object] = {"seed": seed, "world_load_retries": retries,
                              "measure": "rows trained (pre-training + every window, every epoch) / seconds of that "
                                         "method's training and window predictions (auxiliary classifiers excluded), "
                                         "one streaming run of the first seed"}  # fmt: skip
    threads_before = torch.get_num_threads()
    for device_label, threads in settings:
        if threads is not None:
            torch.set_num_threads(threads)
        device = resolve_device(device_label)
        load_before = load_average()
        started = time.perf_counter()
        runs = st.run_streaming(stream, features, config, (seed,), device, progress=False)
        table = st.throughput(runs)
        key = f"cpu_{threads}_threads" if threads is not None else "cuda"
        out[key] = {"device": device_name(device), "torch_threads": torch.get_num_threads(),
                    "rows": {m: int(v) for m, v in table["rows"].items()},
                    "rows_per_second": {m: round(float(v), 1) for m, v in table["rows_per_second"].items()},
                    "all_methods_rows_per_second": round(float(table["rows"].sum() / table["seconds"].sum()), 1),
                    "run_seconds": round(time.perf_counter() - started, 1),
                    "load_average_1min_before": load_before, "load_average_1min_after": load_average()}  # fmt: skip
        torch.set_num_threads(threads_before)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("quality", "throughput"),
                        help="run one part and keep the other's stored result")  # fmt: skip
    args = parser.parse_args()
    out = REPO / "benchmarks" / "results" / "delayed_feedback.json"
    results = json.loads(out.read_text()) if args.only and out.is_file() else {}
    results["machine"] = {"cpu_count": os.cpu_count(), "load_average_1min": load_average(),
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
