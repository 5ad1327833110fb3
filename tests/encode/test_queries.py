"""Held-out text queries on the tiny world: the table, the attention rows and the paired differences."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from hermes_core.encode import queries as qe
from hermes_core.encode.profiles import query_vectors
from hermes_core.encode.fusion import score_items
from hermes_core.evaluation.ranking import ndcg_at_k


def test_world_query_table_is_the_mean_ndcg_of_the_held_out_queries(world_run: dict[str, Any]) -> None:
    training, encoded, towers, queries = (world_run[k] for k in ("training", "encoded", "towers", "queries"))
    held = training.queries[training.queries["is_test"]]
    assert queries.per_query["query_id"].tolist() == held["query_id"].tolist()
    assert set(held["kind"]) == {"visual", "content"}
    # independent recomputation of the fused tower's per-query NDCG over the whole catalogue, averaged over seeds
    vectors = query_vectors(training.query_text[training.queries["is_test"].to_numpy()], encoded.image_dim)
    grades = training.query_grades[training.queries["is_test"].to_numpy()]
    fused = np.mean([ndcg_at_k(score_items(model, vectors, encoded.image, encoded.text, encoded.masks), grades,
                               queries.k).per_query for model in towers["gated"].models], axis=0)
    assert len(towers["gated"].models) == 2
    np.testing.assert_allclose(queries.per_query["fused"], fused)
    for kind in ("visual", "content"):
        chosen = (queries.per_query["kind"] == kind).to_numpy()
        assert queries.table.loc["fused", kind] == pytest.approx(np.nanmean(fused[chosen]))
    assert list(queries.table.index) == ["fused", "attention", "text", "image", "concat", "random"]
    # the weights follow the query only for the gated tower: one alpha per query row
    alpha = queries.weights["fused"]
    np.testing.assert_allclose(alpha, alpha[:, :1].repeat(alpha.shape[1], axis=1), atol=1e-6)


def test_world_queries_are_distinct_texts_and_no_held_out_text_is_trained_on(world_run: dict[str, Any]) -> None:
    training = world_run["training"]
    queries = training.queries
    assert not queries.duplicated(["kind", "text"]).any()
    held_out = set(queries.loc[queries["is_test"] | queries["is_validation"], "query_id"])
    trained_ids = set(training.query_pairs.keys.tolist())
    assert trained_ids and not (held_out & trained_ids)
    trained_texts = set(queries.loc[queries["query_id"].isin(trained_ids), "text"])
    assert not (set(queries.loc[queries["is_test"] | queries["is_validation"], "text"]) & trained_texts)


def test_world_query_differences_pair_the_queries_of_each_kind(world_run: dict[str, Any]) -> None:
    params, queries = world_run["params"], world_run["queries"]
    table = qe.query_differences(queries, params.encode)
    expected = [(kind, f"{a} - {b}") for kind, pairs in qe.QUERY_COMPARISONS.items() for a, b in pairs]
    assert list(table.index) == expected
    frame = queries.per_query
    for (kind, label), row in table.iterrows():
        part = frame[frame["kind"] == kind]
        first, second = label.split(" - ")
        assert row["n_queries"] == int((part[first].notna() & part[second].notna()).sum())
        assert row["difference"] == pytest.approx(float((part[first] - part[second]).mean()))
