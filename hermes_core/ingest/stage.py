"""The ingest stage, in the order the notebook ``01_ingest`` runs it.

1. the source: the world generated and its raw logs written, or MovieLens read
   (:func:`hermes_core.ingest.sources.load_source`);
2. validation: every record accepted or quarantined with its reasons
   (:func:`hermes_core.ingest.validate.ingest`);
3. the snapshot: accepted tables and quarantine written to the feature store
   (:func:`hermes_core.ingest.snapshot.write_ingest_snapshot`).

:func:`run_ingest_stage` does the three and returns an :class:`IngestStageResult`, which the
notebook then hands to the data profile (:mod:`~hermes_core.ingest.profile`), the figures
(:mod:`~hermes_core.ingest.plots`), the metrics (:mod:`~hermes_core.ingest.metrics`) and the
conclusions (:mod:`~hermes_core.ingest.conclusions`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from hermes_core.data.store import SnapshotManifest
from hermes_core.ingest.snapshot import write_ingest_snapshot
from hermes_core.ingest.sources import load_source
from hermes_core.ingest.validate import IngestResult, ingest
from hermes_core.params import HermesParams
from hermes_core.workspace import Workspace
from hermes_core.world import World
from hermes_core.world.export import InjectedRecord


@dataclass
class IngestStageResult:
    """What the stage produced: the validation result, the snapshot's manifest and, for the
    world, the world itself and the malformed records injected into its raw logs."""

    source: str
    result: IngestResult
    manifest: SnapshotManifest
    world: World | None
    injected: list[InjectedRecord] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each step: source, validate, store


def run_ingest_stage(params: HermesParams, workspace: Workspace) -> IngestStageResult:
    """Load ``data.source``, validate it in chunks of ``ingest.chunk_size`` and snapshot the
    result under ``workspace.store``, timing each step."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    source = load_source(params, workspace)
    timings["source"] = time.perf_counter() - start
    start = time.perf_counter()
    window = params.world.conversions.attribution_window_days if source.world is not None else None
    result = ingest(source.tables, now=source.now, dense_dim=source.dense_dim, chunk_size=params.ingest.chunk_size,
                    rating_scale=source.rating_scale, attribution_window_days=window)
    timings["validate"] = time.perf_counter() - start
    start = time.perf_counter()
    manifest = write_ingest_snapshot(workspace.store, result, params)
    timings["store"] = time.perf_counter() - start
    return IngestStageResult(params.data.source, result, manifest, source.world, source.injected, timings)
