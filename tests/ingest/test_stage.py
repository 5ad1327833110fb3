"""The stage end to end: source, validation and snapshot, on the tiny world and on MovieLens."""

from __future__ import annotations

import json
from pathlib import Path

from hermes_core.ingest.stage import IngestStageResult, run_ingest_stage
from hermes_core.params import load_params
from hermes_core.workspace import Workspace
from hermes_core.world.params import WorldParams

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_100K = ROOT / "tests" / "fixtures" / "movielens" / "100k"


def files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path, with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_parameters_give_byte_identical_outputs(world_stage: IngestStageResult, world_workspace: Workspace,
                                                     tiny_world_params: WorldParams, tmp_path: Path) -> None:
    params = load_params(ROOT / "params.yaml", profile="default").model_copy(update={"world": tiny_world_params})
    again = run_ingest_stage(params, Workspace(root=tmp_path))
    # the version is a hash of the stored content: same params, same content, same version
    assert again.manifest.version == world_stage.manifest.version
    assert again.manifest.content_hash == world_stage.manifest.content_hash
    assert again.result.counts == world_stage.result.counts
    # and nothing written depends on when: the store (manifest and CURRENT included), the raw
    # logs and the saved world are the same bytes, so DVC sees the same outputs
    for folder in ("store", "raw", "world"):
        assert files(tmp_path / "data" / folder) == files(world_workspace.data / folder), folder
    assert (tmp_path / "data" / "store" / "CURRENT").read_text() == f"{again.manifest.version}\n"


def test_movielens_ingested_twice_gives_byte_identical_outputs(tmp_path: Path) -> None:
    # the MovieLens "now" is the variant's snapshot time, not the wall clock
    params = load_params(ROOT / "params.yaml", profile="default")
    params = params.model_copy(update={"data": params.data.model_copy(
        update={"source": "movielens-100k", "movielens_path": str(FIXTURE_100K)})})
    first = run_ingest_stage(params, Workspace(root=tmp_path / "first"))
    second = run_ingest_stage(params, Workspace(root=tmp_path / "second"))
    assert first.manifest == second.manifest
    assert files(tmp_path / "first" / "data") == files(tmp_path / "second" / "data")


def test_movielens_rating_off_the_scale_is_quarantined_naming_field_and_scale(
        movielens_stage: IngestStageResult) -> None:
    quarantine = movielens_stage.result.quarantine.set_index("source")
    # u.data:11 rates 9 and u.data:12 rates 2.5, on MovieLens 100K's whole stars 1 to 5
    for source, rating in (("u.data:11", "9"), ("u.data:12", "2.5")):
        assert quarantine.loc[source, "reason"] == "out_of_range"
        assert json.loads(quarantine.loc[source, "messages"]) == [
            f"value: Value error, rating {rating} outside the source's rating scale (1 to 5 in steps of 1)"]


def test_world_stage_writes_world_store_and_quarantine(world_stage: IngestStageResult,
                                                        world_workspace: Workspace,
                                                        tiny_world_params: WorldParams) -> None:
    assert (world_workspace.store / world_stage.manifest.version / "manifest.json").is_file()
    assert (world_workspace.world / "world.npz").is_file()
    assert set(world_stage.manifest.tables) == {"assets", "users", "requests", "interactions", "kg_triples",
                                                "queries", "conversion_clicks", "conversion_events", "quarantine"}
    # the snapshot holds what was accepted, plus one quarantine row per quarantined record
    result = world_stage.result
    for table, counts in result.counts.items():
        assert world_stage.manifest.tables[table].rows == counts["accepted"], table
    assert world_stage.manifest.tables["quarantine"].rows == result.records_quarantined == len(world_stage.injected)
    assert world_stage.world is not None and world_stage.world.n_users == tiny_world_params.n_users
    assert set(world_stage.seconds) == {"source", "validate", "store"}
    # the snapshot's provenance: the blocks that produced it
    assert world_stage.manifest.params["world"]["n_users"] == tiny_world_params.n_users
    assert world_stage.manifest.params["ingest"]["chunk_size"] == 20000


def test_movielens_stage_has_no_world(movielens_stage: IngestStageResult) -> None:
    assert movielens_stage.source == "movielens-100k"
    assert movielens_stage.world is None and movielens_stage.injected == []
    # 9 + 5 + 12 lines in the fixture's u.item, u.user and u.data
    assert movielens_stage.result.records_in == 26
    assert movielens_stage.manifest.description == "ingest of source 'movielens-100k'"
