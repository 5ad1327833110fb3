"""The stage end to end: source, validation and snapshot, on the tiny world and on MovieLens."""

from __future__ import annotations

from pathlib import Path

from hermes_core.ingest.stage import IngestStageResult, run_ingest_stage
from hermes_core.params import load_params
from hermes_core.workspace import Workspace
from hermes_core.world.params import WorldParams

ROOT = Path(__file__).resolve().parents[2]


def test_same_parameters_give_the_same_snapshot_version(world_stage: IngestStageResult,
                                                        tiny_world_params: WorldParams, tmp_path: Path) -> None:
    params = load_params(ROOT / "params.yaml", profile="default").model_copy(update={"world": tiny_world_params})
    again = run_ingest_stage(params, Workspace(root=tmp_path))
    # the version is a hash of the stored content: same params, same content, same version
    assert again.manifest.version == world_stage.manifest.version
    assert again.manifest.content_hash == world_stage.manifest.content_hash
    assert again.result.counts == world_stage.result.counts


def test_world_stage_writes_world_store_and_quarantine(world_stage: IngestStageResult,
                                                        world_workspace: Workspace,
                                                        tiny_world_params: WorldParams) -> None:
    assert (world_workspace.store / world_stage.manifest.version / "manifest.json").is_file()
    assert (world_workspace.world / "world.npz").is_file()
    assert set(world_stage.manifest.tables) == {"assets", "users", "requests", "interactions", "kg_triples",
                                                "queries", "quarantine"}
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
    # 9 + 5 + 10 lines in the fixture's u.item, u.user and u.data
    assert movielens_stage.result.records_in == 24
    assert movielens_stage.manifest.description == "ingest of source 'movielens-100k'"
