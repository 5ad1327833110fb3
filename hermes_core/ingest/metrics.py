"""What the ingest stage reports: ``metrics/ingest.json`` and ``reports/diagnostics/ingest.json``.

:func:`ingest_metrics` builds the whole metrics file (ten data numbers, plus the world's twelve
headline signals under ``world_signals`` for the synthetic source; the notebook adds nothing),
:func:`ingest_diagnostics` everything behind them, :func:`metrics_table` the metrics as the
notebook shows them.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from hermes_core.ingest.profile import DataProfile, data_profile
from hermes_core.ingest.quarantine import injection_recovery
from hermes_core.ingest.sources import world_summary
from hermes_core.ingest.stage import IngestStageResult
from hermes_core.ingest.world_signals import WorldSignals, measure_world_signals


def ingest_metrics(stage: IngestStageResult, profile: DataProfile | None = None,
                   signals: WorldSignals | None = None) -> dict[str, Any]:
    """The headline numbers of ``metrics/ingest.json`` (ten, all numbers, plus ``world_signals``):

    ``records_in``, ``records_accepted``, ``records_quarantined``, ``quarantine_share``
    (quarantined / in), ``injected_recovered_share`` (injected malformed records that were
    quarantined / injected; ``None`` without injected records, e.g. MovieLens), ``users``,
    ``items``, ``interactions`` (accepted rows of every event type), ``density`` and
    ``top10pct_share`` (of the main event, see :class:`DataProfile`); for the synthetic world,
    ``world_signals``: the twelve headline signals of :meth:`WorldSignals.headline` (``signals``,
    measured here when not given). Everything else goes to :func:`ingest_diagnostics`.
    """
    result = stage.result
    profile = profile or data_profile(result.tables)
    recovery = injection_recovery(stage)
    if signals is None and stage.world is not None:
        signals = measure_world_signals(stage.world)
    metrics: dict[str, Any] = {
        "records_in": result.records_in,
        "records_accepted": result.records_accepted,
        "records_quarantined": result.records_quarantined,
        "quarantine_share": result.records_quarantined / result.records_in if result.records_in else None,
        "injected_recovered_share": None if recovery is None else recovery.recovered_share,
        "users": profile.n_users,
        "items": profile.n_items,
        "interactions": profile.n_interactions,
        "density": profile.density,
        "top10pct_share": profile.top10pct_share,
    }
    if signals is not None:
        metrics["world_signals"] = signals.headline()
    return metrics


def ingest_diagnostics(stage: IngestStageResult, profile: DataProfile | None = None,
                       signals: WorldSignals | None = None) -> dict[str, Any]:
    """Everything behind the metrics, for ``reports/diagnostics/ingest.json``: the source and
    store version, per-table counts, quarantine reasons, the injected-record check, the data
    profile, the world's ground-truth summary, the signals the world holds for later stages
    (``signals``, measured here when not given: :func:`~hermes_core.ingest.world_signals.measure_world_signals`)
    and the stage's timings (seconds)."""
    result = stage.result
    profile = profile or data_profile(result.tables)
    if signals is None and stage.world is not None:
        signals = measure_world_signals(stage.world)
    recovery = injection_recovery(stage)
    return {
        "source": stage.source,
        "store_version": stage.manifest.version,
        "tables": result.counts,
        "quarantine_by_reason": result.quarantine_by_reason(),
        "injected": None if recovery is None else asdict(recovery),
        "profile": profile.as_dict(),
        "world": None if stage.world is None else world_summary(stage.world),
        "world_signals": None if signals is None else signals.as_dict(),
        "seconds": dict(stage.seconds),
        "notes": [f"counts of users, items, pairs and the long tail use {profile.event_type} events",
                  "injected is null for sources without deliberately malformed records"],
    }


def metrics_table(metrics: dict[str, Any]) -> pd.DataFrame:
    """The metrics as a (metric, value) table: counts with thousands separators, shares in %
    with two decimals, ``n/a`` for ``None``; the ``world_signals`` group as ``world_signals.<key>``
    rows, every one a plain number with three decimals (its shares, ratios, lifts, R² and NDCG read
    best side by side)."""
    def text(name: str, value: float | int | None) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "n/a"
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return f"{value:,}"
        return f"{100 * value:.2f} %"
    rows = []
    for name, value in metrics.items():
        if isinstance(value, dict):  # the world's signals: shares, ratios, lifts, R² and NDCG alike, as numbers
            rows.extend((f"{name}.{key}", "n/a" if inner is None else f"{inner:.3f}") for key, inner in value.items())
        else:
            rows.append((name, text(name, value)))
    return pd.DataFrame(rows, columns=["metric", "value"]).set_index("metric")