"""The ingest stage end to end: source -> raw files -> validation -> feature store.

The notebook ``01_ingest`` calls :func:`run_ingest_stage` and then the summary functions
below for its tables and plots; everything it shows is computed here.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hermes_core.ingest import IngestResult, ingest, read_raw_folder
from hermes_core.config import HermesParams
from hermes_core.raw import RawTable
from hermes_core.store import FeatureStore, SnapshotManifest
from hermes_core.workspace import Workspace, shared_data_dir
from hermes_core.world import World
from hermes_core.world.export import InjectedRecord, write_raw

MOVIELENS_FOLDERS = {"movielens-100k": "ml-100k", "movielens-1m": "ml-1m", "movielens-latest": "ml-latest-small"}


@dataclass
class IngestStageResult:
    source: str
    result: IngestResult
    manifest: SnapshotManifest
    world: World | None
    injected: list[InjectedRecord] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def movielens_path(params: HermesParams) -> Path:
    """The configured MovieLens folder (``data.movielens_path``, else under the shared data)."""
    if params.data.movielens_path:
        return Path(params.data.movielens_path)
    return shared_data_dir(params.data.shared_data_dir) / MOVIELENS_FOLDERS[params.data.source]


def load_source(params: HermesParams, workspace: Workspace) -> tuple[dict[str, RawTable], dict[str, Any], World | None,
                                                                     list[InjectedRecord]]:
    """Raw tables and validation context of the configured source; the world if synthetic."""
    if params.data.source == "world":
        world = World.generate(params.world)
        world.save(workspace.world)
        raw_folder = workspace.raw / "world"
        injected = write_raw(world, raw_folder)
        (workspace.world / "injected.json").write_text(
            json.dumps([asdict(i) for i in injected], indent=0), encoding="utf-8")
        context = {"now": world.end, "dense_dim": params.world.dense_dim}
        return read_raw_folder(raw_folder), context, world, injected

    from hermes_core.adapters.movielens import download_movielens, load_movielens

    variant = params.data.source.removeprefix("movielens-")
    path = movielens_path(params)
    if not path.exists() and params.data.allow_download:
        path = download_movielens(variant, workspace.raw / "downloads")  # type: ignore[arg-type]
    raw = load_movielens(path, variant)  # type: ignore[arg-type]
    workspace.raw.mkdir(parents=True, exist_ok=True)
    workspace.world.mkdir(parents=True, exist_ok=True)
    (workspace.raw / "SOURCE.json").write_text(json.dumps({"source": params.data.source, "path": str(path)}, indent=1))
    (workspace.world / "NO_WORLD.txt").write_text(f"source {params.data.source}: no synthetic ground truth\n")
    context = {"now": datetime.now(timezone.utc), "dense_dim": raw.dense_dim}
    return dict(raw.tables), context, None, []


def run_ingest_stage(params: HermesParams, workspace: Workspace) -> IngestStageResult:
    timings: dict[str, float] = {}
    start = time.perf_counter()
    raw_tables, context, world, injected = load_source(params, workspace)
    timings["source"] = time.perf_counter() - start
    start = time.perf_counter()
    result = ingest(raw_tables, now=context["now"], dense_dim=context["dense_dim"], chunk_size=params.ingest.chunk_size)
    timings["validate"] = time.perf_counter() - start
    start = time.perf_counter()
    tables = dict(result.tables)
    tables["quarantine"] = result.quarantine
    manifest = FeatureStore(workspace.store).write_snapshot(
        tables,
        params={"data": params.data.model_dump(mode="json"), "world": params.world.model_dump(mode="json"),
                "ingest": params.ingest.model_dump(mode="json"), "profile": params.profile},
        description=f"ingest of source '{params.data.source}'",
    )
    timings["store"] = time.perf_counter() - start
    return IngestStageResult(params.data.source, result, manifest, world, injected, timings)


# ---------------------------------------------------------------------- summaries for the notebook
def counts_table(result: IngestResult) -> pd.DataFrame:
    frame = pd.DataFrame(result.counts).T.rename_axis("table")
    frame["quarantined_share"] = frame["quarantined"] / frame["in"]
    return frame


def interactions_by_domain(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Event counts per item domain and event type."""
    merged = tables["interactions"].merge(tables["assets"][["asset_id", "domain"]], left_on="item_id",
                                          right_on="asset_id", how="left")
    return merged.pivot_table(index="domain", columns="event_type", values="user_id", aggfunc="count", fill_value=0)


def popularity_by_cohort(tables: dict[str, pd.DataFrame], event_type: str = "impression") -> pd.DataFrame:
    """Items ranked by event count with their creator cohort (for the long-tail plot)."""
    events = tables["interactions"]
    counts = events.loc[events["event_type"] == event_type, "item_id"].value_counts()
    assets = tables["assets"].set_index("asset_id")
    frame = pd.DataFrame({"events": counts.reindex(assets.index, fill_value=0),
                          "cohort": assets["creator_cohort"].fillna("unknown")})
    frame = frame.sort_values("events", ascending=False)
    frame["rank"] = np.arange(1, len(frame) + 1)
    return frame


def top_share(popularity: pd.DataFrame, share: float = 0.1) -> float:
    """Fraction of all events that go to the top ``share`` of items."""
    top = max(1, int(round(share * len(popularity))))
    total = popularity["events"].sum()
    return float(popularity["events"].iloc[:top].sum() / total) if total else float("nan")


def activity_per_user(tables: dict[str, pd.DataFrame], event_type: str = "impression") -> pd.Series:
    events = tables["interactions"]
    counts = events.loc[events["event_type"] == event_type, "user_id"].value_counts()
    return counts.reindex(tables["users"]["user_id"], fill_value=0)


def observed_conversion_delays(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Click-to-conversion delays (days) of the conversions observed in the log, with domain."""
    events = tables["interactions"]
    clicks = events.loc[events["event_type"] == "click", ["request_id", "item_id", "timestamp"]]
    conversions = events.loc[events["event_type"] == "conversion", ["request_id", "item_id", "timestamp"]]
    merged = conversions.merge(clicks, on=["request_id", "item_id"], suffixes=("_conversion", "_click"))
    merged["delay_days"] = (merged["timestamp_conversion"] - merged["timestamp_click"]).dt.total_seconds() / 86_400
    domains = tables["assets"].set_index("asset_id")["domain"]
    merged["domain"] = merged["item_id"].map(domains)
    return merged[["request_id", "item_id", "domain", "delay_days"]]


def world_summary(world: World) -> dict[str, Any]:
    """Ground-truth statistics of the synthetic world (what the raw logs were drawn from)."""
    logs = world.logs
    return {
        "n_users": world.n_users,
        "n_items": world.n_items,
        "n_cold_items": int(world.catalogue.is_cold.sum()),
        "n_requests": int(len(logs.user)),
        "n_impressions": int(logs.clicks.size),
        "n_sessions": int(len(np.unique(logs.session))),
        "click_through_rate": float(logs.clicks.mean()),
        "conversion_rate_per_click": float(logs.converted.mean()),
        "conversions_censored_share": float(1 - logs.conversion_observed.sum() / max(1, logs.converted.sum())),
        "logging_policy_value": world.logging_policy_value(),
        "min_logged_propensity": float(np.take_along_axis(logs.logging_marginals, logs.slate[:, None, :], 1).min()),
    }


def ingest_metrics(stage: IngestStageResult) -> dict[str, Any]:
    result = stage.result
    metrics: dict[str, Any] = {
        "source": stage.source,
        "records_in": result.records_in,
        "records_accepted": result.records_accepted,
        "records_quarantined": result.records_quarantined,
        "quarantine_by_reason": result.quarantine_by_reason(),
        "tables": result.counts,
        "store_version": stage.manifest.version,
    }
    if stage.world is not None:
        metrics["world"] = world_summary(stage.world)
        found = {(q.table, q.source) for q in result.quarantine.itertuples()}
        expected = {(i.table, f"{i.table}.jsonl:{i.line}") for i in stage.injected}
        metrics["injected_malformed"] = len(expected)
        metrics["injected_recovered"] = len(found & expected)
    return metrics
