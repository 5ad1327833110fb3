"""The manifest of a stored version: what ``<version>/manifest.json`` records.

Layout on disk::

    root/
      CURRENT                the version written last, one line (what a reader of "the" version reads)
      <version>/
        manifest.json        version, content_hash, hash_scheme, tables, params, description
        <table>.parquet      one file per table, written by pyarrow without the pandas index

``content_hash`` and each table's hash are those of :mod:`hermes_core.data.store.hashing`;
``params`` and ``description`` are provenance and are not hashed. Nothing in a version depends on
when it was written, so writing the same tables with the same provenance twice, in two folders,
gives byte-identical folders. (Manifests written before this rule carry a wall-clock
``created_at``; they are still read, and it is kept, unused.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hermes_core.data.store.hashing import HASH_SCHEME

__all__ = ["CURRENT_FILE", "MANIFEST_FILE", "SnapshotManifest", "TableManifest"]

MANIFEST_FILE = "manifest.json"
CURRENT_FILE = "CURRENT"


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
        sha256 hex digest of this table alone
        (:func:`~hermes_core.data.store.hashing.table_digest`).
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
        sha256 hex digest over all tables (:func:`~hermes_core.data.store.hashing.content_hash`).
    tables : dict[str, TableManifest]
        Table name -> rows, schema, file and per-table hash.
    params : dict[str, Any]
        JSON copy of the parameters that produced the snapshot; not part of the hash.
    description : str
        Free text; not part of the hash.
    hash_scheme : str
        Name of the hashing scheme, :data:`HASH_SCHEME` for versions written by this package.
    created_at : str or None
        Only in manifests written by earlier versions of this package (the wall-clock time of
        the write); ``None`` for every new version, and written only when present.
    """

    version: str
    content_hash: str
    tables: dict[str, TableManifest]
    params: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    hash_scheme: str = HASH_SCHEME
    created_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {
            "version": self.version,
            "content_hash": self.content_hash,
            "hash_scheme": self.hash_scheme,
            "description": self.description,
            "params": self.params,
            "tables": {name: entry.to_dict() for name, entry in self.tables.items()},
        }
        if self.created_at is not None:
            data["created_at"] = self.created_at
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SnapshotManifest:
        return cls(
            version=str(data["version"]),
            content_hash=str(data["content_hash"]),
            tables={
                str(name): TableManifest.from_dict(entry) for name, entry in data["tables"].items()
            },
            params=dict(data.get("params") or {}),
            description=str(data.get("description", "")),
            hash_scheme=str(data.get("hash_scheme", HASH_SCHEME)),
            created_at=None if data.get("created_at") is None else str(data["created_at"]),
        )

