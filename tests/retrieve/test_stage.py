"""The retrieve stage's wiring (``hermes_core.retrieve.stage``) and its metrics' schema."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from hermes_core.retrieve import stage as st
from hermes_core.retrieve.blending import blend
from hermes_core.retrieve.metrics import RetrieveResults, headline_metrics
from hermes_core.retrieve.params import RetrieveParams
from hermes_core.retrieve.query_understanding import ConstraintExtractor
from hermes_core.retrieve.world_requests import world_request_sets
from hermes_core.workspace import MissingDataError
from hermes_core.world import World


class FakeEncoder:
    """Embeds a text as (len, 1, 0) and marks empty texts missing."""

    model_id = "fake"

    def encode(self, texts):  # noqa: ANN001, ANN201
        mask = np.array([bool(t) for t in texts])
        return np.array([[len(t or ""), 1.0, 0.0] for t in texts], dtype=np.float32), mask


def test_encode_queries_prepares_like_the_items(tiny_world: World) -> None:
    split = st.RetrieveParams().split.model_copy(update={"test_days": 20, "validation_days": 20, "max_requests": 5})
    requests = world_request_sets(tiny_world, split, ConstraintExtractor.from_world(tiny_world), seed=0)
    inputs = type("Inputs", (), {"manifest": {}, "feature_centering": True, "text_centre": np.array([1.0, 1.0, 0.0])})()
    vectors = st.encode_queries(inputs, requests, FakeEncoder())
    frame = requests["test"].frame
    for i, vector in enumerate(vectors["test"]):
        if frame["kind"].iat[i] == "request":
            assert vector is None
        else:
            raw = np.array([len(frame["text"].iat[i]) - 1.0, 0.0, 0.0])
            np.testing.assert_allclose(vector, raw / np.linalg.norm(raw))


def test_encode_queries_refuses_another_text_model() -> None:
    inputs = type("Inputs", (), {"manifest": {"text_model": "model-a@pkg"}, "feature_centering": False,
                                 "text_centre": np.zeros(3)})()  # fmt: skip
    encoder = FakeEncoder()
    encoder.model_id = "model-b@pkg"
    with pytest.raises(ValueError, match="not the one the index was built with"):
        st.encode_queries(inputs, {}, encoder)


def test_save_candidates_writes_one_row_per_blended_item(tiny_world: World, tmp_path) -> None:  # noqa: ANN001
    split = st.RetrieveParams().split.model_copy(update={"test_days": 20, "validation_days": 20, "max_requests": 2})
    request_set = world_request_sets(tiny_world, split, ConstraintExtractor.from_world(tiny_world), seed=0)["test"]
    from hermes_core.retrieve.blending import SourceResult

    results = {"ann": SourceResult(np.array([3, 1]), np.array([2.0, 1.0])), "kg": SourceResult(np.array([1]), np.array([5.0]))}
    blends = [blend(results, {"ann": 1.0, "kg": 1.0}, 10) for _ in range(len(request_set))]
    path = st.save_candidates(tmp_path, {"validation": (request_set, blends[:1]), "test": (request_set, blends)},
                              tiny_world)
    table = pq.read_table(path).to_pandas()
    assert (table["split"] == "validation").sum() == 2  # one blend of two items
    table = table[table["split"] == "test"]
    assert len(table) == 2 * len(request_set)
    first = table[table["key"] == request_set.frame["key"].iat[0]]
    assert first["rank"].tolist() == [1, 2] and first["item_id"].tolist() == [tiny_world.item_ids[1], tiny_world.item_ids[3]]
    assert first["sources"].tolist() == ["ann+kg", "ann"]
    empty = pq.read_table(st.save_empty_candidates(tmp_path / "empty")).schema
    assert empty.names == table.columns.tolist()


def test_movielens_root_names_the_folder_and_the_way_out(tmp_path) -> None:  # noqa: ANN001
    params = RetrieveParams(movielens={"path": str(tmp_path / "nowhere")})
    if "HERMES_SHARED_DATA" in __import__("os").environ:
        pytest.skip("HERMES_SHARED_DATA overrides retrieve.movielens.path")
    with pytest.raises(MissingDataError, match="retrieve.movielens.enabled: false"):
        st.movielens_root(params)
    assert st.movielens_root(RetrieveParams(movielens={"enabled": False})) is None


def test_headline_metrics_keep_their_keys_when_nothing_ran(tmp_path) -> None:  # noqa: ANN001
    metrics = headline_metrics(RetrieveResults(params=RetrieveParams(), world_note="none"))
    assert set(metrics) == {"recall_at_100", "sasrec", "query_constraints", "latency_ms", "source_failures"}
    leaves = [v for block in metrics.values() for v in block.values()]
    assert len(leaves) <= 24 and all(v is None for v in leaves)
    json.dumps(metrics)
