"""Canonical content hashing of stored tables (scheme ``hermes-store/1``).

A version id is ``"v-" + content_hash[:16]``, so the bytes fed to sha256 here decide every stored
version's id: changing them would give old content a new id. Any change to what is hashed must
come with a new :data:`HASH_SCHEME` (``tests/data/test_store_hashing.py`` pins ids and recomputes
one hash by hand, so an accidental change fails there).

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
the hash; chunking, row groups and Parquet encodings do not. ``params`` and ``description`` are
provenance, not content, and are not hashed (nor is the wall-clock ``created_at`` of manifests
written before it was dropped: a version's id never depended on when it was written).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["HASH_SCHEME", "content_hash", "table_digest"]

HASH_SCHEME = "hermes-store/1"


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


def table_digest(name: str, table: pa.Table) -> str:
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


def content_hash(table_digests: Mapping[str, str]) -> str:
    """sha256 of a whole snapshot: the scheme name, then (name, :func:`table_digest`) per table
    in sorted name order, so the order in which tables were handed over does not matter."""
    hasher = hashlib.sha256()
    _feed(hasher, HASH_SCHEME)
    for name in sorted(table_digests):
        _feed(hasher, name)
        _feed(hasher, table_digests[name])
    return hasher.hexdigest()

