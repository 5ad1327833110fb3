"""The errors of the feature store: one class per way a write, a read or a join can fail.

Every error derives from :class:`StoreError` and also from the built-in exception a caller would
expect (``ValueError`` for bad input, ``LookupError`` for something absent, ``TypeError`` for an
unusable dtype), so ``except LookupError`` keeps working. :class:`ProvenanceMismatchWarning` is a
warning, not an error: an idempotent rewrite is accepted and keeps the first provenance.
"""

from __future__ import annotations

__all__ = [
    "ColumnCollisionError",
    "EmptyStoreError",
    "EntityTypeError",
    "ImmutableVersionError",
    "IntegrityError",
    "InvalidSnapshotError",
    "MissingColumnError",
    "NoCurrentVersionError",
    "NullTimeError",
    "ProvenanceMismatchWarning",
    "StoreError",
    "TableNotFoundError",
    "TimeColumnTypeError",
    "TimezoneMismatchError",
    "VersionNotFoundError",
]

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


class NoCurrentVersionError(StoreError, LookupError):
    """The store's ``CURRENT`` file, naming the version written last, is missing or names no version."""


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
