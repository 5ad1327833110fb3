"""An immutable, content-addressed feature store with point-in-time reads.

A *snapshot* is a set of named tables written together. Its version id is derived from the
content (``"v-" + sha256[:16]``) unless the caller names it, and once written a version never
changes: rewriting the same content is a no-op, and writing different content under an existing
name raises :class:`ImmutableVersionError`.

Layout on disk::

    root/
      <version>/
        manifest.json        version, content_hash, tables, created_at, params, description
        <table>.parquet      one file per table, written by pyarrow without the pandas index

A version folder is first written under ``root/.tmp-*`` and then renamed into place, so a
crash leaves either a whole version or none (plus, at worst, a stray ``.tmp-*`` folder that
:meth:`FeatureStore.versions` ignores).

Content hash (scheme ``hermes-store/1``)
----------------------------------------
The hash covers exactly what is stored, i.e. each table *as read back from its Parquet bytes*,
so :meth:`FeatureStore.verify` recomputes the same value from the files. Per table, in sorted
name order::

    table_digest = sha256(name, n_rows, [field name, arrow type text,
                                          pandas dtype (from the pandas metadata)] per column,
                          canonical column data per column)
    content_hash = sha256("hermes-store/1", [table name, table_digest] per table)

Every item is length-prefixed, so no two different inputs share a byte stream. The canonical
column data is the null mask plus the non-null values in a fixed encoding (little-endian
fixed-width values; offsets + bytes for strings; lengths + flattened values for lists; one
child after another for structs; decoded values plus the dictionary for categoricals). Row
order, values, column order, arrow types and pandas dtypes (``int64`` vs ``Int64``) all change
the hash; chunking, row groups and Parquet encodings do not. ``created_at``, ``params`` and
``description`` are provenance, not content, and are not hashed.

Point-in-time reads
-------------------
:func:`point_in_time_join` is the as-of join used to build training sets without leakage: for a
query ``(entity e, time t)`` it returns the feature row of ``e`` with the latest feature time
``<= t`` (``< t`` when ``inclusive=False``), as in the "point-in-time correct join" of feature
stores such as Feast; see also Kaufman et al., "Leakage in data mining", TKDD 6(4), 2012.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import uuid
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = [
    "HASH_SCHEME",
    "ColumnCollisionError",
    "EmptyStoreError",
    "EntityTypeError",
    "FeatureStore",
    "ImmutableVersionError",
    "IntegrityError",
    "InvalidSnapshotError",
    "MissingColumnError",
    "NullTimeError",
    "ProvenanceMismatchWarning",
    "SnapshotManifest",
    "StoreError",
    "TableManifest",
    "TableNotFoundError",
    "TimeColumnTypeError",
    "TimezoneMismatchError",
    "VersionNotFoundError",
    "labels_as_of",
    "point_in_time_join",
]

HASH_SCHEME = "hermes-store/1"
MANIFEST_FILE = "manifest.json"
FEATURE_SUFFIX = "_feature"  # appended to a feature column whose name a query column already has

# Table and version names become file and folder names: keep them portable and unable to
# escape the store ("..", "/") or to look like a temporary folder (leading ".").
_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")
_TMP_PREFIX = ".tmp-"
_DATETIME_UNITS = ("s", "ms", "us", "ns")  # coarsest to finest


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class StoreError(Exception):
    """Base class of every error raised by :mod:`hermes_core.data.store`."""


class InvalidSnapshotError(StoreError, ValueError):
    """Tables, names or params handed to :meth:`FeatureStore.write_snapshot` cannot be stored."""


class ImmutableVersionError(StoreError):
    """A version already exists with different content; versions are never overwritten."""


class IntegrityError(StoreError):
    """Stored files disagree with their manifest (tampering, partial copy, bit rot)."""


class EmptyStoreError(StoreError, LookupError):
    """The store holds no version yet."""


class VersionNotFoundError(StoreError, LookupError):
    """The requested version does not exist in the store."""


class TableNotFoundError(StoreError, LookupError):
    """The requested table is not part of the version."""


class MissingColumnError(StoreError, LookupError):
    """A column that a read or a join needs is absent."""


class TimeColumnTypeError(StoreError, TypeError):
    """A time column is neither datetime64 nor numeric, or the two sides mix both kinds."""


class TimezoneMismatchError(StoreError, ValueError):
    """One time column is timezone-aware and the other is naive."""


class NullTimeError(StoreError, ValueError):
    """A feature row has no timestamp, so it cannot be placed in time."""


class EntityTypeError(StoreError, TypeError):
    """The entity keys of features and queries cannot be compared (numbers vs strings)."""


class ColumnCollisionError(StoreError, ValueError):
    """An output column name of a point-in-time join would be used twice."""


class ProvenanceMismatchWarning(UserWarning):
    """An idempotent rewrite carried params/description that differ from the stored ones."""


# --------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableManifest:
    """What the manifest records about one stored table.

    Attributes
    ----------
    rows : int
        Number of rows.
    schema : dict[str, str]
        Column name -> arrow type text of the stored column, in column order.
    file : str
        File name of the Parquet file inside the version folder.
    content_hash : str
        sha256 hex digest of this table alone (see the module docstring).
    """

    rows: int
    schema: dict[str, str]
    file: str
    content_hash: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "schema": dict(self.schema),
            "file": self.file,
            "content_hash": self.content_hash,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TableManifest:
        return cls(
            rows=int(data["rows"]),
            schema={str(k): str(v) for k, v in data["schema"].items()},
            file=str(data["file"]),
            content_hash=str(data["content_hash"]),
        )


@dataclass(frozen=True)
class SnapshotManifest:
    """The manifest of one immutable version (the content of ``manifest.json``).

    Attributes
    ----------
    version : str
        Version id: ``"v-" + content_hash[:16]`` unless named explicitly at write time.
    content_hash : str
        sha256 hex digest over all tables (see the module docstring).
    tables : dict[str, TableManifest]
        Table name -> rows, schema, file and per-table hash.
    created_at : str
        UTC ISO-8601 time of the write; not part of the hash.
    params : dict[str, Any]
        JSON copy of the parameters that produced the snapshot; not part of the hash.
    description : str
        Free text; not part of the hash.
    hash_scheme : str
        Name of the hashing scheme, :data:`HASH_SCHEME` for versions written by this module.
    """

    version: str
    content_hash: str
    tables: dict[str, TableManifest]
    created_at: str
    params: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    hash_scheme: str = HASH_SCHEME

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "content_hash": self.content_hash,
            "hash_scheme": self.hash_scheme,
            "created_at": self.created_at,
            "description": self.description,
            "params": self.params,
            "tables": {name: entry.to_dict() for name, entry in self.tables.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SnapshotManifest:
        return cls(
            version=str(data["version"]),
            content_hash=str(data["content_hash"]),
            tables={
                str(name): TableManifest.from_dict(entry) for name, entry in data["tables"].items()
            },
            created_at=str(data["created_at"]),
            params=dict(data.get("params") or {}),
            description=str(data.get("description", "")),
            hash_scheme=str(data.get("hash_scheme", HASH_SCHEME)),
        )

    @property
    def created_at_datetime(self) -> datetime:
        """``created_at`` parsed as an aware UTC datetime."""
        return datetime.fromisoformat(self.created_at)


# --------------------------------------------------------------------------------------------
# Canonical hashing
# --------------------------------------------------------------------------------------------


def _feed(hasher: Any, payload: bytes | memoryview | str) -> None:
    """Feed one length-prefixed item, so that item boundaries are part of the hash."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    data = memoryview(payload).cast("B")
    hasher.update(len(data).to_bytes(8, "little"))
    hasher.update(data)


def _feed_numpy(hasher: Any, values: np.ndarray) -> None:
    values = np.ascontiguousarray(values)
    if values.dtype.byteorder == ">":
        values = values.astype(values.dtype.newbyteorder("<"))
    _feed(hasher, values.tobytes())


def _feed_array(hasher: Any, array: pa.Array) -> None:
    """Feed one arrow array in a canonical form independent of chunking, slicing offsets and
    whatever bytes sit under null slots: the null mask, then the non-null values."""
    arrow_type = array.type
    _feed(hasher, str(len(array)))
    is_null = array.is_null().to_numpy(zero_copy_only=False)  # (n,) bool
    _feed(hasher, np.packbits(is_null).tobytes())
    if pa.types.is_null(arrow_type):
        return
    valid = array.drop_null() if is_null.any() else array

    if pa.types.is_dictionary(arrow_type):
        # Categorical codes depend on the dictionary; hash the values they stand for.
        _feed_array(hasher, valid.dictionary_decode())
    elif pa.types.is_boolean(arrow_type):
        _feed_numpy(hasher, valid.to_numpy(zero_copy_only=False).astype(np.uint8))
    elif pa.types.is_floating(arrow_type):
        values = valid.to_numpy(zero_copy_only=False).copy()
        values[np.isnan(values)] = np.nan  # one NaN bit pattern, whatever the payload
        _feed_numpy(hasher, values)
    elif pa.types.is_integer(arrow_type):
        _feed_numpy(hasher, valid.to_numpy(zero_copy_only=False))
    elif pa.types.is_temporal(arrow_type) and arrow_type.bit_width in (32, 64):
        width = pa.int32() if arrow_type.bit_width == 32 else pa.int64()
        _feed_numpy(hasher, valid.view(width).to_numpy(zero_copy_only=False))
    elif (
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_binary(arrow_type)
        or pa.types.is_large_binary(arrow_type)
        or pa.types.is_fixed_size_binary(arrow_type)
        or pa.types.is_decimal(arrow_type)
        or getattr(pa.types, "is_string_view", lambda _: False)(arrow_type)
        or getattr(pa.types, "is_binary_view", lambda _: False)(arrow_type)
    ):
        if pa.types.is_decimal(arrow_type):
            valid = valid.cast(pa.string())
        as_bytes = valid.cast(pa.large_binary())  # buffers: (validity, int64 offsets, data)
        if len(as_bytes) == 0:
            _feed(hasher, b"")
            _feed(hasher, b"")
            return
        offsets = np.frombuffer(as_bytes.buffers()[1], dtype="<i8")
        offsets = offsets[as_bytes.offset : as_bytes.offset + len(as_bytes) + 1]  # (n + 1,)
        _feed_numpy(hasher, offsets - offsets[0])
        data = as_bytes.buffers()[2]
        start, stop = int(offsets[0]), int(offsets[-1])
        _feed(hasher, b"" if data is None or stop == start else memoryview(data)[start:stop])
    elif pa.types.is_struct(arrow_type):
        for child in valid.flatten():
            _feed_array(hasher, child)
    elif (
        pa.types.is_list(arrow_type)
        or pa.types.is_large_list(arrow_type)
        or pa.types.is_fixed_size_list(arrow_type)
        or pa.types.is_map(arrow_type)
    ):
        lengths = pc.list_value_length(valid).to_numpy(zero_copy_only=False).astype("<i8")
        _feed_numpy(hasher, lengths)
        _feed_array(hasher, valid.flatten())
    else:
        # Rare types (unions, extension types): a slower but still canonical text form.
        _feed(hasher, json.dumps(valid.to_pylist(), default=repr, sort_keys=True))


def _pandas_dtypes(schema: pa.Schema) -> dict[str, str]:
    """Column -> pandas dtype description recorded in the arrow schema's pandas metadata."""
    metadata = schema.pandas_metadata or {}
    described: dict[str, str] = {}
    for column in metadata.get("columns", []):
        described[str(column.get("name"))] = json.dumps(
            [column.get("pandas_type"), column.get("numpy_type"), column.get("metadata")],
            sort_keys=True,
        )
    return described


def _table_digest(name: str, table: pa.Table) -> str:
    """sha256 of one stored table: its name, schema (arrow + pandas dtypes) and data."""
    hasher = hashlib.sha256()
    _feed(hasher, name)
    _feed(hasher, str(table.num_rows))
    _feed(hasher, str(table.num_columns))
    pandas_dtypes = _pandas_dtypes(table.schema)
    for arrow_field in table.schema:
        _feed(hasher, arrow_field.name)
        _feed(hasher, str(arrow_field.type))
        _feed(hasher, pandas_dtypes.get(arrow_field.name, ""))
    for column in table.unify_dictionaries().columns:
        if pa.types.is_dictionary(column.type):
            # After unify_dictionaries every chunk shares one dictionary: the categories,
            # including unused ones and their order, are content too.
            dictionary = (
                column.chunk(0).dictionary
                if column.num_chunks
                else pa.array([], type=column.type.value_type)
            )
            _feed_array(hasher, dictionary)
        _feed_array(hasher, column.combine_chunks())
    return hasher.hexdigest()


def _content_hash(table_digests: Mapping[str, str]) -> str:
    hasher = hashlib.sha256()
    _feed(hasher, HASH_SCHEME)
    for name in sorted(table_digests):
        _feed(hasher, name)
        _feed(hasher, table_digests[name])
    return hasher.hexdigest()


# --------------------------------------------------------------------------------------------
# Snapshot preparation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PreparedTable:
    name: str
    parquet_bytes: bytes
    stored: pa.Table  # the table as read back from parquet_bytes: what gets hashed
    digest: str

    def manifest_entry(self) -> TableManifest:
        return TableManifest(
            rows=self.stored.num_rows,
            schema={f.name: str(f.type) for f in self.stored.schema},
            file=f"{self.name}.parquet",
            content_hash=self.digest,
        )


def _check_name(kind: str, name: object) -> str:
    if not isinstance(name, str) or not _NAME_PATTERN.fullmatch(name):
        raise InvalidSnapshotError(
            f"{kind} name {name!r} is invalid: use 1-200 characters from [A-Za-z0-9_.-], "
            "starting with a letter or digit"
        )
    return name


def _prepare_table(name: str, frame: object) -> _PreparedTable:
    _check_name("table", name)
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
    return _PreparedTable(name, parquet_bytes, stored, _table_digest(name, stored))


def _json_default(value: object) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"object of type {type(value).__name__} is not JSON serialisable")


def _copy_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
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


def _fsync_directory(path: Path) -> None:
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:  # some platforms cannot open directories; durability is best effort there
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _write_file(path: Path, payload: bytes) -> None:
    with open(path, "xb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())


# --------------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------------


class FeatureStore:
    """An append-only store of immutable, content-addressed table snapshots.

    Parameters
    ----------
    root : str or Path
        Folder holding one sub-folder per version; created on the first write.

    Examples
    --------
    >>> store = FeatureStore(tmp_path)                            # doctest: +SKIP
    >>> manifest = store.write_snapshot({"user_features": frame})  # doctest: +SKIP
    >>> store.read_table("user_features", manifest.version)        # doctest: +SKIP
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"FeatureStore({str(self.root)!r})"

    # ---- writing ---------------------------------------------------------------------------

    def write_snapshot(
        self,
        tables: Mapping[str, pd.DataFrame],
        *,
        params: Mapping[str, Any] | None = None,
        description: str = "",
        version: str | None = None,
    ) -> SnapshotManifest:
        """Store ``tables`` as one immutable version and return its manifest.

        The version id is ``"v-" + content_hash[:16]`` unless ``version`` names it. If that
        version already exists with the same content hash nothing is written and the existing
        manifest is returned (its ``params``, ``description`` and ``created_at`` are those of
        the first write; a :class:`ProvenanceMismatchWarning` says so when they differ).

        Parameters
        ----------
        tables : Mapping[str, pandas.DataFrame]
            Table name -> frame. Names become file names (``[A-Za-z0-9_.-]``). The pandas index
            is not stored; a named index is refused so that no data is dropped silently.
        params : Mapping[str, Any], optional
            Parameters that produced the tables; stored as a JSON copy.
        description : str
            Free text stored in the manifest.
        version : str, optional
            Explicit version name instead of the content-derived one.

        Returns
        -------
        SnapshotManifest

        Raises
        ------
        InvalidSnapshotError
            No tables, an invalid table/version name or column, or non-JSON params.
        ImmutableVersionError
            ``version`` already exists with a different content hash.
        IntegrityError
            The version folder exists but its manifest is missing or unreadable.
        """
        if not isinstance(tables, Mapping) or not tables:
            raise InvalidSnapshotError(
                "write_snapshot needs a non-empty mapping of table name -> DataFrame"
            )
        for name in tables:
            _check_name("table", name)
        if version is not None:
            _check_name("version", version)
        params_copy = _copy_params(params)
        prepared = {name: _prepare_table(name, tables[name]) for name in sorted(tables)}
        content_hash = _content_hash({name: table.digest for name, table in prepared.items()})
        version_id = version if version is not None else f"v-{content_hash[:16]}"

        target = self.root / version_id
        if target.exists():
            return self._existing_or_raise(version_id, content_hash, params_copy, description)

        manifest = SnapshotManifest(
            version=version_id,
            content_hash=content_hash,
            tables={name: table.manifest_entry() for name, table in prepared.items()},
            created_at=datetime.now(timezone.utc).isoformat(timespec="microseconds"),
            params=params_copy,
            description=str(description),
        )
        self.root.mkdir(parents=True, exist_ok=True)
        staging = self.root / f"{_TMP_PREFIX}{version_id}-{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            for table in prepared.values():
                _write_file(staging / f"{table.name}.parquet", table.parquet_bytes)
            manifest_text = json.dumps(manifest.to_dict(), indent=2, sort_keys=True) + "\n"
            _write_file(staging / MANIFEST_FILE, manifest_text.encode("utf-8"))
            _fsync_directory(staging)
            try:
                # rename() of a directory onto an existing non-empty one fails on POSIX, so a
                # concurrent writer of the same version can never be overwritten.
                os.rename(staging, target)
            except OSError:
                if target.exists():
                    return self._existing_or_raise(
                        version_id, content_hash, params_copy, description
                    )
                raise
            _fsync_directory(self.root)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        return manifest

    def _existing_or_raise(
        self, version: str, content_hash: str, params: dict[str, Any], description: str
    ) -> SnapshotManifest:
        existing = self.manifest(version)
        if existing.content_hash != content_hash:
            raise ImmutableVersionError(
                f"version '{version}' already exists in {self.root} with content hash "
                f"{existing.content_hash}; the new tables hash to {content_hash}. Versions are "
                "immutable: choose another version name"
            )
        if existing.params != params or existing.description != str(description):
            warnings.warn(
                f"version '{version}' already holds this content; its stored params/description "
                "(from the first write) are kept and the new ones are ignored",
                ProvenanceMismatchWarning,
                stacklevel=3,
            )
        return existing

    # ---- reading ---------------------------------------------------------------------------

    def _load_manifests(self) -> list[SnapshotManifest]:
        if not self.root.is_dir():
            return []
        manifests = []
        for folder in self.root.iterdir():
            if folder.name.startswith(".") or not (folder / MANIFEST_FILE).is_file():
                continue
            manifests.append(self.manifest(folder.name))
        return manifests

    def versions(self) -> list[str]:
        """All versions, oldest first (by ``created_at``, then by name)."""
        manifests = self._load_manifests()
        manifests.sort(key=lambda m: (m.created_at_datetime, m.version))
        return [m.version for m in manifests]

    def latest(self) -> str:
        """The most recently created version.

        Raises
        ------
        EmptyStoreError
            The store holds no version.
        """
        versions = self.versions()
        if not versions:
            raise EmptyStoreError(f"feature store at {self.root} holds no version yet")
        return versions[-1]

    def manifest(self, version: str | None = None) -> SnapshotManifest:
        """The manifest of ``version`` (the latest one when ``None``).

        Raises
        ------
        VersionNotFoundError
            No such version.
        IntegrityError
            The version folder has no readable, consistent ``manifest.json``.
        """
        if version is None:
            version = self.latest()
        if (
            not isinstance(version, str)
            or not _NAME_PATTERN.fullmatch(version)
            or not (self.root / version).is_dir()
        ):
            available = self.versions() if self.root.is_dir() else []
            raise VersionNotFoundError(
                f"version {version!r} not found in feature store {self.root}; "
                f"available: {available}"
            )
        path = self.root / version / MANIFEST_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            manifest = SnapshotManifest.from_dict(data)
        except FileNotFoundError as error:
            raise IntegrityError(f"version '{version}': {path} is missing") from error
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise IntegrityError(f"version '{version}': cannot read {path}: {error}") from error
        if manifest.version != version:
            raise IntegrityError(
                f"version folder '{version}' holds a manifest for version '{manifest.version}'"
            )
        for name, entry in manifest.tables.items():
            if entry.file != f"{name}.parquet":
                raise IntegrityError(
                    f"version '{version}': table '{name}' points at unexpected file {entry.file!r}"
                )
        return manifest

    def _table_path(self, manifest: SnapshotManifest, name: str) -> Path:
        if name not in manifest.tables:
            raise TableNotFoundError(
                f"table '{name}' not in version '{manifest.version}'; "
                f"available tables: {sorted(manifest.tables)}"
            )
        return self.root / manifest.version / manifest.tables[name].file

    def read_table(
        self, name: str, version: str | None = None, columns: list[str] | None = None
    ) -> pd.DataFrame:
        """Read one table of ``version`` (the latest when ``None``) as a DataFrame.

        Parameters
        ----------
        name : str
            Table name.
        version : str, optional
            Version id; ``None`` means :meth:`latest`.
        columns : list[str], optional
            Subset of columns, in the order given; all columns when ``None``.

        Returns
        -------
        pandas.DataFrame
            With a fresh ``RangeIndex`` and the dtypes recorded at write time. (One Parquet
            limitation: a categorical column of a zero-row table comes back without its
            categories, as a zero-row column has no dictionary to store them in.)

        Raises
        ------
        TableNotFoundError, MissingColumnError, VersionNotFoundError, IntegrityError
        """
        manifest = self.manifest(version)
        path = self._table_path(manifest, name)
        if columns is not None:
            columns = list(columns)
            schema = manifest.tables[name].schema
            missing = [c for c in columns if c not in schema]
            if missing:
                raise MissingColumnError(
                    f"table '{name}' of version '{manifest.version}' has no column(s) {missing}; "
                    f"available: {list(schema)}"
                )
        if not path.is_file():
            raise IntegrityError(
                f"version '{manifest.version}': file {path} of table '{name}' is missing"
            )
        return pq.read_table(path, columns=columns).to_pandas()

    def verify(self, version: str | None = None) -> None:
        """Recompute the content hash of ``version`` from its Parquet files.

        Raises
        ------
        IntegrityError
            A file is missing or unreadable, or a table's rows, schema or hash (or the overall
            content hash) differ from the manifest; the message names the table at fault.
        """
        manifest = self.manifest(version)
        digests: dict[str, str] = {}
        for name, entry in manifest.tables.items():
            path = self._table_path(manifest, name)
            try:
                stored = pq.read_table(path)
            except (OSError, pa.ArrowException) as error:
                raise IntegrityError(
                    f"version '{manifest.version}': cannot read table '{name}' from {path}: {error}"
                ) from error
            if stored.num_rows != entry.rows:
                raise IntegrityError(
                    f"version '{manifest.version}', table '{name}': {stored.num_rows} rows "
                    f"on disk, manifest says {entry.rows}"
                )
            schema = {f.name: str(f.type) for f in stored.schema}
            if schema != entry.schema:
                raise IntegrityError(
                    f"version '{manifest.version}', table '{name}': schema on disk {schema} "
                    f"differs from manifest {entry.schema}"
                )
            digests[name] = _table_digest(name, stored)
            if digests[name] != entry.content_hash:
                raise IntegrityError(
                    f"version '{manifest.version}', table '{name}': content hash on disk "
                    f"{digests[name]} differs from manifest {entry.content_hash}"
                )
        recomputed = _content_hash(digests)
        if recomputed != manifest.content_hash:
            raise IntegrityError(
                f"version '{manifest.version}': content hash {recomputed} recomputed from the "
                f"files differs from manifest {manifest.content_hash}"
            )

    # ---- point-in-time reads ---------------------------------------------------------------

    def as_of(
        self,
        table: str,
        queries: pd.DataFrame,
        *,
        entity: str,
        time: str,
        query_time: str | None = None,
        version: str | None = None,
        columns: list[str] | None = None,
        inclusive: bool = True,
    ) -> pd.DataFrame:
        """Point-in-time join of the stored ``table`` onto ``queries``.

        Reads ``entity``, ``time`` and ``columns`` (all columns when ``None``) of ``table`` in
        ``version`` and calls :func:`point_in_time_join`; see there for the semantics.
        """
        read_columns = None
        if columns is not None:
            read_columns = [entity, time] + [c for c in columns if c not in (entity, time)]
        features = self.read_table(table, version=version, columns=read_columns)
        return point_in_time_join(
            features,
            queries,
            entity=entity,
            time=time,
            query_time=query_time,
            inclusive=inclusive,
        )


# --------------------------------------------------------------------------------------------
# Point-in-time join
# --------------------------------------------------------------------------------------------


def _require_columns(frame: pd.DataFrame, frame_name: str, columns: list[str]) -> None:
    missing = [c for c in dict.fromkeys(columns) if c not in frame.columns]
    if missing:
        raise MissingColumnError(
            f"{frame_name} has no column(s) {missing}; available: {list(frame.columns)}"
        )


def _time_kind(series: pd.Series, label: str) -> str:
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return "numeric"
    raise TimeColumnTypeError(f"{label} must be datetime64 or numeric, got dtype {dtype}")


def _naive_utc(series: pd.Series) -> pd.Series:
    if getattr(series.dtype, "tz", None) is not None:
        return series.dt.tz_convert("UTC").dt.tz_localize(None)
    return series


def _aligned_times(
    feature_times: pd.Series, query_times: pd.Series, feature_label: str, query_label: str
) -> tuple[np.ndarray, np.ndarray]:
    """Both time columns as numpy arrays of one comparable dtype (nulls already removed)."""
    feature_kind = _time_kind(feature_times, feature_label)
    query_kind = _time_kind(query_times, query_label)
    if feature_kind != query_kind:
        raise TimeColumnTypeError(
            f"{feature_label} is {feature_kind} ({feature_times.dtype}) but {query_label} is "
            f"{query_kind} ({query_times.dtype}); both must be datetime64 or both numeric"
        )
    if feature_kind == "numeric":
        common = np.result_type(
            np.dtype(getattr(feature_times.dtype, "numpy_dtype", feature_times.dtype)),
            np.dtype(getattr(query_times.dtype, "numpy_dtype", query_times.dtype)),
        )
        return feature_times.to_numpy(dtype=common), query_times.to_numpy(dtype=common)

    feature_tz = getattr(feature_times.dtype, "tz", None)
    query_tz = getattr(query_times.dtype, "tz", None)
    if (feature_tz is None) != (query_tz is None):
        raise TimezoneMismatchError(
            f"{feature_label} has timezone {feature_tz} but {query_label} has timezone "
            f"{query_tz}; make both timezone-aware or both naive"
        )
    feature_naive, query_naive = _naive_utc(feature_times), _naive_utc(query_times)
    unit = max(feature_naive.dt.unit, query_naive.dt.unit, key=_DATETIME_UNITS.index)
    return (
        feature_naive.dt.as_unit(unit).to_numpy(),
        query_naive.dt.as_unit(unit).to_numpy(),
    )


def _take_with_missing(series: pd.Series, positions: np.ndarray) -> Any:
    """``series`` at ``positions`` (-1 -> missing), upcasting like a pandas left join does."""
    if isinstance(series.dtype, pd.api.extensions.ExtensionDtype):
        return series.array.take(positions, allow_fill=True)
    return pd.api.extensions.take(series.to_numpy(), positions, allow_fill=True)


def point_in_time_join(
    features: pd.DataFrame,
    queries: pd.DataFrame,
    *,
    entity: str,
    time: str,
    query_time: str | None = None,
    inclusive: bool = True,
) -> pd.DataFrame:
    r"""As-of join: the latest feature row of each query's entity known at the query time.

    For query row :math:`i` with entity :math:`e_i` and time :math:`t_i` the matched feature
    row is

    .. math::

        j(i) = \operatorname{last}\,\arg\max_{j \,:\, e_j = e_i,\; \tau_j \le t_i} \tau_j

    (:math:`\tau_j < t_i` when ``inclusive=False``), where "last" breaks ties between feature
    rows of one entity with the same time in favour of the one that comes last in
    ``features``. A query with no such row (or with a null entity or time) gets missing
    features. This is the point-in-time correct join of feature stores (e.g. Feast's
    ``get_historical_features``); computed with :func:`pandas.merge_asof` (``by=`` entity,
    ``direction="backward"``) on stably sorted copies, then put back in query order.

    Parameters
    ----------
    features : pandas.DataFrame
        Feature history: one row per (entity, time) observation.
    queries : pandas.DataFrame
        Rows to enrich; they must have the ``entity`` column and the ``query_time`` column.
    entity : str
        Entity key column, in both frames.
    time : str
        Feature time column in ``features`` (datetime64 or numeric, no nulls).
    query_time : str, optional
        Time column in ``queries``; defaults to ``time``.
    inclusive : bool
        Whether a feature row stamped exactly at the query time is visible.

    Returns
    -------
    pandas.DataFrame
        ``queries`` (same index, same row order) followed by every feature column except
        ``entity``, the feature time included. A feature column whose name ``queries`` already
        uses gets the suffix ``"_feature"`` (so with ``query_time == time`` the matched feature
        time is ``f"{time}_feature"``). Integer/bool feature columns become float/object when
        some query is unmatched, as in any pandas left join.

    Raises
    ------
    MissingColumnError
        A needed column is absent.
    TimeColumnTypeError
        A time column is neither datetime64 nor numeric, or one side is datetime and the
        other numeric.
    TimezoneMismatchError
        One time column is timezone-aware and the other naive.
    NullTimeError
        A feature row has a null time.
    EntityTypeError
        Entity keys are numeric on one side and non-numeric on the other.
    ColumnCollisionError
        A suffixed output column name is still taken.
    """
    query_time = time if query_time is None else query_time
    _require_columns(features, "features", [entity, time])
    _require_columns(queries, "queries", [entity, query_time])
    feature_label, query_label = f"features column '{time}'", f"queries column '{query_time}'"

    feature_entities, query_entities = features[entity], queries[entity]
    if pd.api.types.is_numeric_dtype(feature_entities.dtype) != pd.api.types.is_numeric_dtype(
        query_entities.dtype
    ):
        raise EntityTypeError(
            f"entity column '{entity}' is {feature_entities.dtype} in features but "
            f"{query_entities.dtype} in queries; no key could ever match"
        )
    null_times = features[time].isna().to_numpy()
    if null_times.any():
        raise NullTimeError(
            f"features column '{time}' has {int(null_times.sum())} null value(s), first at "
            f"position {int(np.flatnonzero(null_times)[0])}; undated features cannot be joined "
            "point-in-time"
        )

    # Rows that can take part: features need an entity; queries need an entity and a time.
    feature_rows = np.flatnonzero(feature_entities.notna().to_numpy())
    query_rows = np.flatnonzero((query_entities.notna() & queries[query_time].notna()).to_numpy())
    feature_times, query_times = _aligned_times(
        features[time].iloc[feature_rows],
        queries[query_time].iloc[query_rows],
        feature_label,
        query_label,
    )

    matched_feature_row = np.full(len(queries), -1, dtype=np.intp)  # (n_queries,)
    if len(feature_rows) and len(query_rows):
        # One integer code per entity value, shared by both sides, so that key dtypes
        # (int vs float, categorical, str vs object) never block merge_asof.
        codes, _ = pd.factorize(
            pd.concat(
                [feature_entities.iloc[feature_rows], query_entities.iloc[query_rows]],
                ignore_index=True,
            )
        )
        right = pd.DataFrame(
            {"_key": codes[: len(feature_rows)], "_on": feature_times, "_row": feature_rows}
        )
        left = pd.DataFrame(
            {"_key": codes[len(feature_rows) :], "_on": query_times, "_query": query_rows}
        )
        # Stable sorts keep the original order among equal times, so "last row wins" on ties.
        right = right.iloc[np.argsort(feature_times, kind="stable")]
        left = left.iloc[np.argsort(query_times, kind="stable")]
        merged = pd.merge_asof(
            left,
            right,
            on="_on",
            by="_key",
            direction="backward",
            allow_exact_matches=inclusive,
        )
        found = merged["_row"].notna().to_numpy()
        matched_feature_row[merged["_query"].to_numpy()[found]] = (
            merged["_row"].to_numpy()[found].astype(np.intp)
        )

    joined: dict[str, Any] = {}
    taken = set(queries.columns)
    for column in features.columns:
        if column == entity:
            continue
        output_name = column if column not in taken else f"{column}{FEATURE_SUFFIX}"
        if output_name in taken:
            raise ColumnCollisionError(
                f"feature column '{column}' would be output as '{output_name}', which "
                "queries (or another feature column) already uses; rename it first"
            )
        taken.add(output_name)
        joined[output_name] = _take_with_missing(features[column], matched_feature_row)
    # Positional concat, so that a duplicated or unsorted query index cannot misalign rows.
    result = pd.concat(
        [queries.reset_index(drop=True), pd.DataFrame(joined, index=pd.RangeIndex(len(queries)))],
        axis=1,
    )
    result.index = queries.index
    return result


def labels_as_of(
    events: pd.DataFrame,
    *,
    entity: str,
    event_time: str,
    as_of: pd.Timestamp | float,
) -> pd.DataFrame:
    """The events already observed at ``as_of``: rows with ``event_time <= as_of``.

    For delayed labels (conversions, ratings that arrive days after the impression) pass the
    column holding when each label became *known*, so that a model trained at ``as_of`` sees
    only labels it could have seen then. Rows with a null time count as not yet observed.

    Parameters
    ----------
    events : pandas.DataFrame
        Event log.
    entity : str
        Entity column; must exist (rows keep their entity so they can be joined later).
    event_time : str
        Observation time column, datetime64 or numeric.
    as_of : pandas.Timestamp
        Cut-off, inclusive. A number when ``event_time`` is numeric; timezone-aware exactly
        when ``event_time`` is.

    Returns
    -------
    pandas.DataFrame
        The observed rows, in their original order and with their original index.

    Raises
    ------
    MissingColumnError, TimeColumnTypeError, TimezoneMismatchError
    """
    _require_columns(events, "events", [entity, event_time])
    times = events[event_time]
    label = f"events column '{event_time}'"
    kind = _time_kind(times, label)
    if kind == "numeric":
        if isinstance(as_of, (bool, np.bool_)) or not isinstance(as_of, (int, float, np.number)):
            raise TimeColumnTypeError(f"{label} is numeric but as_of is {as_of!r}")
        if isinstance(as_of, float) and math.isnan(as_of):
            raise TimeColumnTypeError("as_of is NaN; no event can be compared with it")
        cutoff: Any = as_of
    else:
        try:
            cutoff = pd.Timestamp(as_of)
        except (TypeError, ValueError) as error:
            raise TimeColumnTypeError(f"{label} is datetime but as_of is {as_of!r}") from error
        if cutoff is pd.NaT:
            raise TimeColumnTypeError("as_of is NaT; no event can be compared with it")
        column_tz = getattr(times.dtype, "tz", None)
        if (column_tz is None) != (cutoff.tz is None):
            raise TimezoneMismatchError(
                f"{label} has timezone {column_tz} but as_of {cutoff} has timezone {cutoff.tz}"
            )
    observed = (times <= cutoff).fillna(False).to_numpy(dtype=bool)
    return events.loc[observed].copy()
