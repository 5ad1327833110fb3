"""An immutable, content-addressed feature store with point-in-time reads.

One job per module:

- :mod:`~hermes_core.data.store.snapshots`: :class:`FeatureStore`, which writes a set of tables
  as one immutable version (atomically), records it as the store's ``CURRENT`` version, and
  reads, lists and verifies versions;
- :mod:`~hermes_core.data.store.manifest`: the layout on disk and what ``manifest.json`` records;
- :mod:`~hermes_core.data.store.files`: write-once files, directory syncs, the ``CURRENT`` pointer;
- :mod:`~hermes_core.data.store.preparation`: checks the tables, names and params of a write and
  encodes each table to Parquet;
- :mod:`~hermes_core.data.store.hashing`: the canonical content hash (scheme ``hermes-store/1``)
  from which version ids are derived;
- :mod:`~hermes_core.data.store.point_in_time`: the as-of join and the cut-off of delayed labels;
- :mod:`~hermes_core.data.store.errors`: one exception class per way a call can fail.

The public names are re-exported here, so ``from hermes_core.data.store import FeatureStore``
is the import to use.
"""

from __future__ import annotations

from hermes_core.data.store.errors import (
    ColumnCollisionError,
    EmptyStoreError,
    EntityTypeError,
    ImmutableVersionError,
    IntegrityError,
    InvalidSnapshotError,
    MissingColumnError,
    NoCurrentVersionError,
    NullTimeError,
    ProvenanceMismatchWarning,
    StoreError,
    TableNotFoundError,
    TimeColumnTypeError,
    TimezoneMismatchError,
    VersionNotFoundError,
)
from hermes_core.data.store.hashing import HASH_SCHEME
from hermes_core.data.store.manifest import CURRENT_FILE, MANIFEST_FILE, SnapshotManifest, TableManifest
from hermes_core.data.store.point_in_time import FEATURE_SUFFIX, labels_as_of, point_in_time_join
from hermes_core.data.store.snapshots import FeatureStore

__all__ = [
    "CURRENT_FILE",
    "FEATURE_SUFFIX",
    "HASH_SCHEME",
    "MANIFEST_FILE",
    "ColumnCollisionError",
    "EmptyStoreError",
    "EntityTypeError",
    "FeatureStore",
    "ImmutableVersionError",
    "IntegrityError",
    "InvalidSnapshotError",
    "MissingColumnError",
    "NoCurrentVersionError",
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
