"""Ingest benchmark: world generation, and writing, reading and validating 1,000,000 interactions.

(a) Wall time of ``World.generate`` at the default parameters (``params.yaml``, profile
    ``default``: 5,000 users, 2,000 items, 40,000 requests of 5 shown out of 10 candidates).
(b) Interaction records: the world's own impressions, clicks and conversions
    (``hermes_core.world.export.interaction_records``), replicated until there are ``--records``
    of them; copy ``c >= 1`` of a record gets the request id ``<id>:c<c>`` so that every
    (request, position) is unique. They are written as JSON Lines (``write_jsonl``), read back
    (``read_jsonl``) and validated by ``hermes_core.ingest.validate.ingest`` together with the world's
    assets and users tables, so the referential checks (unknown user, unknown item) run on
    every interaction. The requests table is left out: request references are not checked,
    and the timed work is that of the interactions.
(c) The same with 1% malformed interactions mixed in (the default ``world.malformed_share``,
    kinds cycled by ``inject_malformed``): a chunk that holds a bad record is validated a
    second time without it, so this is the realistic cost.

Target: 1,000,000 records validated in under 30 s, and read + validated in under 30 s, on
the machine at hand (reported with its CPU count). With ``--records N`` other than 1,000,000
the per-million time is extrapolated linearly and labelled so.

Run: ``python benchmarks/bench_ingest.py [--records N]``; writes ``benchmarks/results/ingest.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import tempfile
import time
from datetime import timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hermes_core.params import load_params  # noqa: E402
from hermes_core.ingest.validate import ingest, read_jsonl  # noqa: E402
from hermes_core.data.raw import RawTable  # noqa: E402
from hermes_core.world import World  # noqa: E402
from hermes_core.world.export import (  # noqa: E402
    asset_records,
    inject_malformed,
    interaction_records,
    user_records,
    write_jsonl,
)

TARGET_RECORDS = 1_000_000
TARGET_SECONDS = 30.0
MALFORMED_SHARE = 0.01
SEED = 20261126


def replicate(records: list[dict[str, Any]], n_records: int) -> list[dict[str, Any]]:
    """``n_records`` records: ``records`` repeated, copy ``c >= 1`` with request ids ``<id>:c<c>``."""
    out: list[dict[str, Any]] = []
    copy = 0
    while len(out) < n_records:
        take = records[: n_records - len(out)]
        if copy == 0:
            out.extend(take)
        else:
            suffix = f":c{copy}"
            out.extend({**r, "request_id": r["request_id"] + suffix} for r in take)
        copy += 1
    return out


def in_memory_table(name: str, records: list[dict[str, Any]]) -> RawTable:
    return RawTable(name, records, [f"{name}:{k}" for k in range(len(records))])


def run_scenario(label: str, interactions: list[dict[str, Any]], reference_tables: dict[str, RawTable],
                 world: World, folder: Path) -> dict[str, Any]:
    """Write, read and validate ``interactions``; timings in seconds."""
    path = folder / f"interactions_{label}.jsonl"
    start = time.perf_counter()
    write_jsonl(path, interactions)
    write_seconds = time.perf_counter() - start
    n_records = len(interactions)
    del interactions
    gc.collect()

    start = time.perf_counter()
    raw = read_jsonl(path, "interactions")
    read_seconds = time.perf_counter() - start

    start = time.perf_counter()
    result = ingest({**reference_tables, "interactions": raw}, now=world.end, dense_dim=world.params.dense_dim)
    validate_seconds = time.perf_counter() - start
    counts = result.counts["interactions"]
    assert counts["in"] == n_records == counts["accepted"] + counts["quarantined"]
    file_bytes = path.stat().st_size
    path.unlink()
    del raw, result
    gc.collect()

    scale = TARGET_RECORDS / n_records
    per_million = {"validate": validate_seconds * scale, "read_validate": (read_seconds + validate_seconds) * scale}
    return {
        "records": n_records,
        "file_megabytes": round(file_bytes / 1e6, 1),
        "accepted": counts["accepted"],
        "quarantined": counts["quarantined"],
        "seconds": {"write": round(write_seconds, 3), "read": round(read_seconds, 3),
                    "validate": round(validate_seconds, 3),
                    "read_validate": round(read_seconds + validate_seconds, 3)},
        "records_per_second": {"write": round(n_records / write_seconds), "read": round(n_records / read_seconds),
                               "validate": round(n_records / validate_seconds),
                               "read_validate": round(n_records / (read_seconds + validate_seconds))},
        "seconds_per_million": {k: round(v, 3) for k, v in per_million.items()},
        "per_million_is": "measured" if n_records == TARGET_RECORDS else "extrapolated linearly",
        "target_met": {k: v < TARGET_SECONDS for k, v in per_million.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=TARGET_RECORDS, help="interaction records to validate")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "ingest.json")
    args = parser.parse_args()

    params = load_params(REPO / "params.yaml", profile="default").world
    start = time.perf_counter()
    world = World.generate(params)
    generate_seconds = time.perf_counter() - start
    print(f"world generation (default params): {generate_seconds:.1f} s", flush=True)

    base = interaction_records(world)
    reference_tables = {
        "assets": in_memory_table("assets", asset_records(world, [None] * world.n_items,
                                                          list(world.catalogue.descriptions))),
        "users": in_memory_table("users", user_records(world)),
    }
    clean = replicate(base, args.records)
    future = (world.end + timedelta(days=365)).isoformat().replace("+00:00", "Z")
    dirty, injected = inject_malformed("interactions", replicate(base, args.records), MALFORMED_SHARE, future,
                                       np.random.default_rng(SEED))

    scenarios: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
        scenarios["clean"] = run_scenario("clean", clean, reference_tables, world, Path(tmp))
        del clean
        print(f"clean: {json.dumps(scenarios['clean']['seconds'])}", flush=True)
        scenarios["malformed_1pct"] = run_scenario("malformed", dirty, reference_tables, world, Path(tmp))
        del dirty
        print(f"1% malformed: {json.dumps(scenarios['malformed_1pct']['seconds'])}", flush=True)
    assert scenarios["malformed_1pct"]["quarantined"] == len(injected)

    report = {
        "benchmark": "ingest",
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                    "processor": platform.processor() or platform.machine(),
                    "python": platform.python_version()},
        "versions": {name: version(name) for name in ("numpy", "pandas", "pydantic", "pydantic-core", "pyarrow")},
        "world": {"profile": "default", "n_users": params.n_users, "n_items": params.n_items,
                  "n_requests": params.n_requests, "generate_seconds": round(generate_seconds, 3),
                  "base_interaction_records": len(base)},
        "target": {"records": TARGET_RECORDS, "seconds": TARGET_SECONDS,
                   "met": all(all(s["target_met"].values()) for s in scenarios.values())},
        "scenarios": scenarios,
        "notes": ("validate = hermes_core.ingest.validate.ingest on assets + users + interactions: record rules, "
                  "duplicate ids, unknown user/item references and the accepted DataFrames; "
                  "read = read_jsonl; single process"),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
