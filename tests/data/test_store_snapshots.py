"""Feature store snapshots: immutability, atomic writes, manifests, reading and integrity checks.

The content hash itself is tested in ``test_store_hashing.py``; point-in-time reads in
``test_store_point_in_time.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hermes_core.data.store import (
    EmptyStoreError,
    FeatureStore,
    ImmutableVersionError,
    IntegrityError,
    InvalidSnapshotError,
    MissingColumnError,
    NoCurrentVersionError,
    ProvenanceMismatchWarning,
    TableNotFoundError,
    VersionNotFoundError,
)
from hermes_core.data.store import snapshots as snapshots_module
from tests.data.store_frames import mixed_frame, users_frame


# --------------------------------------------------------------------------------------------
# Immutability
# --------------------------------------------------------------------------------------------


def test_rewriting_same_content_is_idempotent(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    first = store.write_snapshot({"users": users_frame()}, params={"seed": 1})
    folder = tmp_path / first.version
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()}

    again = store.write_snapshot({"users": users_frame()}, params={"seed": 1})

    assert again == first  # the stored manifest, not a new one
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()} == before
    assert store.versions() == [first.version]
    # the version and the pointer to it, no temp folder or file left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["CURRENT", first.version]
    assert (tmp_path / "CURRENT").read_text() == f"{first.version}\n"


def test_the_same_tables_written_twice_give_byte_identical_stores(tmp_path: Path) -> None:
    # nothing in a version or in CURRENT depends on when it was written
    tables = {"users": users_frame(), "mixed": mixed_frame()}
    first = FeatureStore(tmp_path / "a").write_snapshot(tables, params={"seed": 1}, description="d")
    second = FeatureStore(tmp_path / "b").write_snapshot(tables, params={"seed": 1}, description="d")

    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    assert first == second
    assert files(tmp_path / "a") == files(tmp_path / "b")
    assert sorted(files(tmp_path / "a")) == ["CURRENT", f"{first.version}/manifest.json",
                                             f"{first.version}/mixed.parquet", f"{first.version}/users.parquet"]
    assert "created_at" not in json.loads(files(tmp_path / "a")[f"{first.version}/manifest.json"])


def test_idempotent_rewrite_with_other_params_keeps_first_and_warns(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    first = store.write_snapshot({"users": users_frame()}, params={"seed": 1})
    with pytest.warns(ProvenanceMismatchWarning, match=first.version):
        again = store.write_snapshot({"users": users_frame()}, params={"seed": 2})
    assert again.params == {"seed": 1}


def test_explicit_version_with_other_content_raises(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    first = store.write_snapshot({"users": users_frame()}, version="release-1")
    assert first.version == "release-1"
    assert store.write_snapshot({"users": users_frame()}, version="release-1") == first

    changed = users_frame().assign(score=[9.0, 9.0, 9.0])
    with pytest.raises(ImmutableVersionError) as raised:
        store.write_snapshot({"users": changed}, version="release-1")
    message = str(raised.value)
    assert "release-1" in message and first.content_hash in message
    new_hash = FeatureStore(tmp_path / "other").write_snapshot({"users": changed}).content_hash
    assert new_hash in message
    # Nothing was overwritten.
    pd.testing.assert_frame_equal(store.read_table("users", "release-1"), users_frame())
    store.verify("release-1")


def test_crash_before_rename_leaves_no_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FeatureStore(tmp_path)

    def crash(source: object, target: object) -> None:
        raise OSError("simulated crash during rename")

    monkeypatch.setattr(snapshots_module.os, "rename", crash)
    with pytest.raises(OSError, match="simulated crash"):
        store.write_snapshot({"users": users_frame()})
    monkeypatch.undo()

    assert store.versions() == []
    assert list(tmp_path.iterdir()) == []  # the staging folder was cleaned up
    (tmp_path / ".tmp-v-half-written").mkdir()  # what a hard kill could leave behind
    assert store.versions() == []
    assert store.write_snapshot({"users": users_frame()}).version in store.versions()


# --------------------------------------------------------------------------------------------
# Manifest, listing, reading
# --------------------------------------------------------------------------------------------


def test_manifest_records_rows_schema_and_provenance(tmp_path: Path) -> None:
    params = {"window_days": np.int64(7), "weights": np.array([0.5, 0.5]), "name": "baseline"}
    manifest = FeatureStore(tmp_path).write_snapshot(
        {"users": users_frame(), "mixed": mixed_frame()}, params=params, description="first cut"
    )
    params["name"] = "mutated after the write"

    assert manifest.tables["users"].rows == 3
    assert manifest.tables["users"].schema == {
        "user_id": "int64",
        "score": "double",
        "name": "large_string",
    }
    assert manifest.tables["users"].file == "users.parquet"
    assert manifest.tables["mixed"].rows == 4
    assert manifest.tables["mixed"].schema == {
        "user_id": "int64",
        "clicks": "int64",
        "ctr": "double",
        "country": "large_string",
        "segment": "dictionary<values=string, indices=int8, ordered=0>",
        "seen_at": "timestamp[us]",
        "seen_at_utc": "timestamp[us, tz=UTC]",
        "active": "bool",
        "small": "int16",
    }
    assert manifest.params == {"window_days": 7, "weights": [0.5, 0.5], "name": "baseline"}
    assert manifest.description == "first cut"
    assert manifest.created_at is None  # no wall clock: a rewrite elsewhere gives the same bytes

    on_disk = json.loads((tmp_path / manifest.version / "manifest.json").read_text())
    assert on_disk == manifest.to_dict()
    assert sorted(p.name for p in (tmp_path / manifest.version).iterdir()) == [
        "manifest.json",
        "mixed.parquet",
        "users.parquet",
    ]
    assert pq.read_schema(tmp_path / manifest.version / "users.parquet").pandas_metadata[
        "index_columns"
    ] == []


def test_read_back_equals_written(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    tables = {"mixed": mixed_frame(), "empty": mixed_frame().iloc[:0]}
    version = store.write_snapshot(tables).version
    pd.testing.assert_frame_equal(store.read_table("mixed", version), mixed_frame())
    # A zero-row Parquet column has no dictionary page, so only a zero-row categorical loses
    # its categories (documented in FeatureStore.read_table); every other dtype survives.
    empty_back = store.read_table("empty", version)
    pd.testing.assert_frame_equal(
        empty_back.drop(columns="segment"), mixed_frame().iloc[:0].drop(columns="segment")
    )
    assert isinstance(empty_back["segment"].dtype, pd.CategoricalDtype)
    pd.testing.assert_frame_equal(
        store.read_table("mixed", version, columns=["ctr", "user_id"]),
        mixed_frame()[["ctr", "user_id"]],
    )


def test_index_is_dropped_but_named_index_is_refused(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    filtered = users_frame().iloc[[2, 0]]  # unnamed, non-default index: not data
    manifest = store.write_snapshot({"users": filtered})
    pd.testing.assert_frame_equal(store.read_table("users"), filtered.reset_index(drop=True))
    with pytest.raises(InvalidSnapshotError, match="users.*user_id"):
        store.write_snapshot({"users": users_frame().set_index("user_id")})
    assert store.versions() == [manifest.version]


@pytest.mark.parametrize(
    ("tables", "kwargs", "fragment"),
    [
        ({}, {}, "non-empty"),
        ({"../escape": users_frame()}, {}, "'../escape'"),
        ({"users": users_frame()}, {"version": "a/b"}, "'a/b'"),
        ({"users": users_frame()}, {"version": ".tmp-x"}, "'.tmp-x'"),
        ({"users": pd.DataFrame({0: [1]})}, {}, "users.*strings"),
        ({"users": pd.DataFrame([[1, 2]], columns=["a", "a"])}, {}, "users.*duplicate.*'a'"),
        ({"users": [1, 2]}, {}, "users.*DataFrame"),
        ({"users": users_frame()}, {"params": {"fn": print}}, r"params\['fn'\]"),
        ({"users": pd.DataFrame({"mixed": [1, "a"]})}, {}, "users"),
    ],
)
def test_invalid_snapshots_are_refused(
    tmp_path: Path, tables: dict, kwargs: dict, fragment: str
) -> None:
    store = FeatureStore(tmp_path)
    with pytest.raises(InvalidSnapshotError, match=fragment):
        store.write_snapshot(tables, **kwargs)
    assert store.versions() == []


def test_versions_are_listed_by_name_and_current_is_the_last_written(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    for i, name in enumerate(["zeta", "alpha", "mid"]):
        store.write_snapshot({"users": users_frame().assign(score=float(i))}, version=name)
    assert store.versions() == ["alpha", "mid", "zeta"]
    assert store.current() == "mid"  # written last
    assert store.manifest() == store.manifest("mid")
    pd.testing.assert_frame_equal(store.read_table("users"), users_frame().assign(score=2.0))
    # rewriting an existing version (nothing is written) makes it the current one again
    store.write_snapshot({"users": users_frame().assign(score=0.0)}, version="zeta")
    assert store.current() == "zeta"
    assert store.read_table("users")["score"].tolist() == [0.0, 0.0, 0.0]


def test_a_manifest_written_with_a_wall_clock_time_is_still_read(tmp_path: Path) -> None:
    # manifests written before created_at was dropped carry one; it is kept and changes nothing
    store = FeatureStore(tmp_path)
    version = store.write_snapshot({"users": users_frame()}).version
    path = tmp_path / version / "manifest.json"
    data = json.loads(path.read_text())
    data["created_at"] = "2020-01-01T00:00:00.000000+00:00"
    path.write_text(json.dumps(data))
    manifest = store.manifest(version)
    assert manifest.created_at == "2020-01-01T00:00:00.000000+00:00"
    assert manifest.to_dict() == data
    store.verify(version)


def test_empty_and_unknown_lookups_raise_specific_errors(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path / "not-yet")
    assert not (tmp_path / "not-yet").exists()  # created lazily
    assert store.versions() == []
    with pytest.raises(EmptyStoreError, match="not-yet"):
        store.current()
    with pytest.raises(EmptyStoreError):
        store.manifest()

    version = store.write_snapshot({"users": users_frame(), "items": users_frame()}).version
    with pytest.raises(VersionNotFoundError, match=f"'v-nope'.*{version}"):
        store.manifest("v-nope")
    with pytest.raises(TableNotFoundError, match=r"'clicks'.*\['items', 'users'\]"):
        store.read_table("clicks")
    with pytest.raises(MissingColumnError, match=f"'users' of version '{version}'.*'age'"):
        store.read_table("users", columns=["user_id", "age"])


def test_current_names_its_file_when_missing_or_dangling(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    version = store.write_snapshot({"users": users_frame()}).version
    (tmp_path / "CURRENT").unlink()
    with pytest.raises(NoCurrentVersionError, match=f"{tmp_path / 'CURRENT'} is missing.*{version}"):
        store.current()
    with pytest.raises(LookupError):  # NoCurrentVersionError is a LookupError, like the others
        store.read_table("users")
    (tmp_path / "CURRENT").write_text("v-gone\n")
    with pytest.raises(NoCurrentVersionError, match=f"names version 'v-gone'.*{version}"):
        store.current()
    pd.testing.assert_frame_equal(store.read_table("users", version), users_frame())  # named: still read


# --------------------------------------------------------------------------------------------
# Integrity
# --------------------------------------------------------------------------------------------


def test_verify_passes_on_untouched_version(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    version = store.write_snapshot({"users": users_frame(), "mixed": mixed_frame()}).version
    store.verify(version)
    store.verify()


def test_verify_hashes_content_not_file_bytes(tmp_path: Path) -> None:
    # Same rows rewritten with one row per row group and another codec: other bytes, same content.
    store = FeatureStore(tmp_path)
    version = store.write_snapshot({"mixed": mixed_frame()}).version
    path = tmp_path / version / "mixed.parquet"
    original_bytes = path.read_bytes()
    pq.write_table(pq.read_table(path), path, row_group_size=1, compression="gzip")
    assert path.read_bytes() != original_bytes
    assert pq.ParquetFile(path).num_row_groups == 4
    store.verify(version)


def test_verify_detects_a_changed_value(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    version = store.write_snapshot({"users": users_frame(), "mixed": mixed_frame()}).version
    path = tmp_path / version / "users.parquet"
    tampered = users_frame().assign(score=[0.5, 1.5, -2.0001])  # same rows, same schema
    pq.write_table(pa.Table.from_pandas(tampered, preserve_index=False), path)
    with pytest.raises(IntegrityError, match=f"version '{version}', table 'users': content hash"):
        store.verify(version)


def test_verify_detects_dropped_rows_and_missing_files(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    version = store.write_snapshot({"users": users_frame(), "mixed": mixed_frame()}).version
    path = tmp_path / version / "mixed.parquet"
    pq.write_table(pq.read_table(path).slice(0, 3), path)
    with pytest.raises(IntegrityError, match="table 'mixed': 3 rows on disk, manifest says 4"):
        store.verify(version)
    path.unlink()
    with pytest.raises(IntegrityError, match="mixed"):
        store.verify(version)
    with pytest.raises(IntegrityError, match="mixed.*missing"):
        store.read_table("mixed", version)


def test_tampered_manifest_blocks_rewrite(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    manifest = store.write_snapshot({"users": users_frame()})
    path = tmp_path / manifest.version / "manifest.json"
    data = json.loads(path.read_text())
    data["content_hash"] = "0" * 64
    path.write_text(json.dumps(data))
    with pytest.raises(IntegrityError, match="recomputed from the files"):
        store.verify(manifest.version)
    with pytest.raises(ImmutableVersionError, match="0" * 64):
        store.write_snapshot({"users": users_frame()})
