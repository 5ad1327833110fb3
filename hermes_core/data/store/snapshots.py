"""An immutable, content-addressed feature store: write, read, list and verify snapshots.

A *snapshot* is a set of named tables written together. Its version id is derived from the
content (``"v-" + sha256[:16]``, :mod:`hermes_core.data.store.hashing`) unless the caller names
it, and once written a version never changes: rewriting the same content is a no-op, and writing
different content under an existing name raises :class:`ImmutableVersionError`. The files of a
version and its ``manifest.json`` are described in :mod:`hermes_core.data.store.manifest`.

Every write (a rewrite too) records its version in ``root/CURRENT``, and a read that names no
version reads that one (:meth:`FeatureStore.current`): a pipeline stage reads exactly the version
its upstream stage wrote, never "the newest", and no clock decides which that is.

A version folder is first written under ``root/.tmp-*`` and then renamed into place, so a
crash leaves either a whole version or none (plus, at worst, a stray ``.tmp-*`` folder that
:meth:`FeatureStore.versions` ignores).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hermes_core.data.store import hashing
from hermes_core.data.store.errors import (
    EmptyStoreError,
    ImmutableVersionError,
    IntegrityError,
    InvalidSnapshotError,
    MissingColumnError,
    NoCurrentVersionError,
    ProvenanceMismatchWarning,
    TableNotFoundError,
    VersionNotFoundError,
)
from hermes_core.data.store.files import TMP_PREFIX, fsync_directory, read_current, write_current, write_file
from hermes_core.data.store.manifest import CURRENT_FILE, MANIFEST_FILE, SnapshotManifest
from hermes_core.data.store.point_in_time import point_in_time_join
from hermes_core.data.store.preparation import (
    NAME_PATTERN,
    check_name,
    copy_params,
    prepare_table,
)

__all__ = ["FeatureStore"]

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
        manifest is returned (its ``params`` and ``description`` are those of the first write; a
        :class:`ProvenanceMismatchWarning` says so when they differ). Either way the version
        becomes the store's current one (``root/CURRENT``, :meth:`current`).

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
            check_name("table", name)
        if version is not None:
            check_name("version", version)
        params_copy = copy_params(params)
        prepared = {name: prepare_table(name, tables[name]) for name in sorted(tables)}
        content_hash = hashing.content_hash(
            {name: table.digest for name, table in prepared.items()}
        )
        version_id = version if version is not None else f"v-{content_hash[:16]}"

        target = self.root / version_id
        if target.exists():
            existing = self._existing_or_raise(version_id, content_hash, params_copy, description)
            write_current(self.root, version_id)
            return existing

        manifest = SnapshotManifest(
            version=version_id,
            content_hash=content_hash,
            tables={name: table.manifest_entry() for name, table in prepared.items()},
            params=params_copy,
            description=str(description),
        )
        self.root.mkdir(parents=True, exist_ok=True)
        staging = self.root / f"{TMP_PREFIX}{version_id}-{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            for table in prepared.values():
                write_file(staging / f"{table.name}.parquet", table.parquet_bytes)
            manifest_text = json.dumps(manifest.to_dict(), indent=2, sort_keys=True) + "\n"
            write_file(staging / MANIFEST_FILE, manifest_text.encode("utf-8"))
            fsync_directory(staging)
            try:
                # rename() of a directory onto an existing non-empty one fails on POSIX, so a
                # concurrent writer of the same version can never be overwritten.
                os.rename(staging, target)
            except OSError:
                if not target.exists():
                    raise
                manifest = self._existing_or_raise(version_id, content_hash, params_copy, description)
            fsync_directory(self.root)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        write_current(self.root, version_id)
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
        """All versions, sorted by name (content-derived ids carry no order; :meth:`current`
        says which was written last)."""
        return sorted(m.version for m in self._load_manifests())

    def current(self) -> str:
        """The version written last: the one named by ``root/CURRENT``.

        Raises
        ------
        EmptyStoreError
            The store holds no version (and no ``CURRENT``).
        NoCurrentVersionError
            ``CURRENT`` is missing, unreadable or names a version that is not in the store.
        """
        path = self.root / CURRENT_FILE
        try:
            version = read_current(self.root)
        except (OSError, UnicodeDecodeError) as error:
            raise NoCurrentVersionError(f"cannot read {path}: {error}") from error
        if version is None:
            versions = self.versions()
            if not versions:
                raise EmptyStoreError(f"feature store at {self.root} holds no version yet (no {path})")
            raise NoCurrentVersionError(
                f"{path} is missing: the store holds {versions} but does not say which was written "
                "last; write the snapshot again (a rewrite records it) or name a version"
            )
        if not NAME_PATTERN.fullmatch(version) or not (self.root / version / MANIFEST_FILE).is_file():
            raise NoCurrentVersionError(
                f"{path} names version {version!r}, which is not in the store; "
                f"available: {self.versions()}"
            )
        return version

    def manifest(self, version: str | None = None) -> SnapshotManifest:
        """The manifest of ``version`` (the current one, :meth:`current`, when ``None``).

        Raises
        ------
        VersionNotFoundError
            No such version.
        IntegrityError
            The version folder has no readable, consistent ``manifest.json``.
        """
        if version is None:
            version = self.current()
        if (
            not isinstance(version, str)
            or not NAME_PATTERN.fullmatch(version)
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
        """Read one table of ``version`` (the current one when ``None``) as a DataFrame.

        Parameters
        ----------
        name : str
            Table name.
        version : str, optional
            Version id; ``None`` means :meth:`current`.
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
        TableNotFoundError, MissingColumnError, VersionNotFoundError, IntegrityError,
        NoCurrentVersionError
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
            digests[name] = hashing.table_digest(name, stored)
            if digests[name] != entry.content_hash:
                raise IntegrityError(
                    f"version '{manifest.version}', table '{name}': content hash on disk "
                    f"{digests[name]} differs from manifest {entry.content_hash}"
                )
        recomputed = hashing.content_hash(digests)
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

