"""Snapshot preparation: check the tables, names and params handed to a write, and turn each
table into the Parquet bytes that will be stored plus the table read back from them.

The read-back table is what gets hashed (:mod:`hermes_core.data.store.hashing`), so a version's
hash is that of its stored bytes and :meth:`FeatureStore.verify` can recompute it from the files.
Names become file and folder names, so they are kept portable and unable to escape the store.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hermes_core.data.store.errors import InvalidSnapshotError
from hermes_core.data.store.hashing import table_digest
from hermes_core.data.store.manifest import TableManifest

__all__ = ["NAME_PATTERN", "PreparedTable", "check_name", "copy_params", "prepare_table"]

# Table and version names become file and folder names: keep them portable and unable to
# escape the store ("..", "/") or to look like a temporary folder (leading ".").
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")


@dataclass(frozen=True)
class PreparedTable:
    """One table ready to be written: its Parquet bytes, the table they read back as, and the
    :func:`table_digest` of that read-back table."""

    name: str
    parquet_bytes: bytes
    stored: pa.Table  # the table as read back from parquet_bytes: what gets hashed
    digest: str

    def manifest_entry(self) -> TableManifest:
        """The manifest's record of this table."""
        return TableManifest(
            rows=self.stored.num_rows,
            schema={f.name: str(f.type) for f in self.stored.schema},
            file=f"{self.name}.parquet",
            content_hash=self.digest,
        )


def check_name(kind: str, name: object) -> str:
    """``name`` itself when it is a valid ``kind`` (table, version) name, else
    :class:`InvalidSnapshotError` naming it."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InvalidSnapshotError(
            f"{kind} name {name!r} is invalid: use 1-200 characters from [A-Za-z0-9_.-], "
            "starting with a letter or digit"
        )
    return name


def prepare_table(name: str, frame: object) -> PreparedTable:
    """Check ``frame`` (a DataFrame with unique string columns and no named index) and encode it
    to Parquet; :class:`InvalidSnapshotError` names the table at fault otherwise."""
    check_name("table", name)
    if not isinstance(frame, pd.DataFrame):
        raise InvalidSnapshotError(
            f"table '{name}': expected a pandas DataFrame, got {type(frame).__name__}"
        )
    if frame.shape[1] == 0:
        raise InvalidSnapshotError(f"table '{name}' has no columns")
    bad_columns = [c for c in frame.columns if not isinstance(c, str)]
    if bad_columns:
        raise InvalidSnapshotError(
            f"table '{name}': column names must be strings (Parquet would turn them into "
            f"text and read them back differently); offending: {bad_columns!r}"
        )
    duplicated = sorted(set(frame.columns[frame.columns.duplicated()]))
    if duplicated:
        raise InvalidSnapshotError(f"table '{name}': duplicate column names {duplicated!r}")
    named_levels = [level for level in frame.index.names if level is not None]
    if named_levels:
        raise InvalidSnapshotError(
            f"table '{name}': the index is not stored, but it is named {named_levels!r} "
            "and so probably carries data; call .reset_index() first"
        )
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as error:
        raise InvalidSnapshotError(
            f"table '{name}' cannot be converted to arrow: {error}"
        ) from error
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    parquet_bytes = sink.getvalue().to_pybytes()
    stored = pq.read_table(pa.BufferReader(parquet_bytes))
    return PreparedTable(name, parquet_bytes, stored, table_digest(name, stored))


def _json_default(value: object) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"object of type {type(value).__name__} is not JSON serialisable")


def copy_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """A JSON copy of ``params`` (numpy scalars and arrays, paths turned into JSON values), so
    that later changes to the caller's objects cannot reach the manifest."""
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise InvalidSnapshotError(f"params must be a mapping, got {type(params).__name__}")
    copied: dict[str, Any] = {}
    for key, value in params.items():
        if not isinstance(key, str):
            raise InvalidSnapshotError(f"params key {key!r} is not a string")
        try:
            copied[key] = json.loads(json.dumps(value, default=_json_default, allow_nan=False))
        except (TypeError, ValueError) as error:
            raise InvalidSnapshotError(
                f"params['{key}'] is not JSON serialisable: {error}"
            ) from error
    return copied

