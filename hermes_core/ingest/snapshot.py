"""The ingest stage's output: the accepted tables and the quarantine as one feature-store snapshot.

:func:`write_ingest_snapshot` stores them with the parameters that produced them; the
snapshot's version is a hash of its content and schema (:mod:`hermes_core.data.store`), so
the same parameters always give the same version. :func:`snapshot_tables` and
:func:`point_in_time_example` are what the notebook shows of the snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hermes_core.data.store import FeatureStore, SnapshotManifest
from hermes_core.ingest.validate import IngestResult
from hermes_core.params import HermesParams


def write_ingest_snapshot(store_folder: Path, result: IngestResult, params: HermesParams) -> SnapshotManifest:
    """Write the accepted tables plus ``quarantine`` as a new snapshot under ``store_folder``.

    The snapshot records the ``data``, ``world`` and ``ingest`` blocks and the profile as its
    parameters (its provenance).
    """
    tables = dict(result.tables)
    tables["quarantine"] = result.quarantine
    return FeatureStore(store_folder).write_snapshot(
        tables,
        params={"data": params.data.model_dump(mode="json"), "world": params.world.model_dump(mode="json"),
                "ingest": params.ingest.model_dump(mode="json"), "profile": params.profile},
        description=f"ingest of source '{params.data.source}'",
    )


def snapshot_tables(manifest: SnapshotManifest) -> pd.DataFrame:
    """Rows and columns of every table in the snapshot, one row per table."""
    return pd.DataFrame({name: {"rows": table.rows, "columns": len(table.schema)}
                         for name, table in manifest.tables.items()}).T


@dataclass(frozen=True)
class PointInTimeExample:
    """Each of a few users' latest interaction as of one moment, read back from the store."""

    as_of: pd.Timestamp
    latest: pd.DataFrame  # one row per user: user_id, as_of, timestamp, event_type, item_id


def point_in_time_example(store: FeatureStore, version: str, tables: dict[str, pd.DataFrame],
                          n_users: int = 6) -> PointInTimeExample:
    r"""The latest interaction of the first ``n_users`` accepted users as of the middle of the log.

    The moment is :math:`t_{min} + (t_{max} - t_{min}) / 2` over all interaction timestamps;
    :meth:`FeatureStore.as_of` returns, per user, the row with the largest ``timestamp`` at or
    before it (no row: NaN), never a later one.
    """
    events = tables["interactions"]
    midpoint = events["timestamp"].min() + (events["timestamp"].max() - events["timestamp"].min()) / 2
    users = tables["users"]["user_id"].head(n_users)
    queries = pd.DataFrame({"user_id": users, "as_of": midpoint})
    latest = store.as_of("interactions", queries, entity="user_id", time="timestamp", query_time="as_of",
                         version=version, columns=["timestamp", "event_type", "item_id"])
    return PointInTimeExample(as_of=midpoint, latest=latest)
