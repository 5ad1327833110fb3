"""The stage's FAISS index on the tiny world, checked against exact search computed independently."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from hermes_core.encode import item_index
from hermes_core.index.faiss_index import search, search_recall_at_k


def test_world_index_search_recall_matches_brute_force_top_k(world_run: dict[str, Any]) -> None:
    report, towers, evaluation, params = (world_run[k] for k in ("report", "towers", "evaluation", "params"))
    assert report.tower_kind == "gated" and report.index_type == params.encode.ann.index_type
    assert report.n_queries == len(evaluation.users.keys) and report.index.ntotal == len(report.stacked.item_rows)
    # the gated tower indexes one vector [v W_v; t W_t] per item, searched with [g_v qP; g_t qP]
    assert report.stacked.vectors.shape[1] == 2 * params.encode.fusion.output_dim
    assert len(set(report.stacked.item_rows.tolist())) == len(report.stacked.item_rows)
    with torch.no_grad():
        queries = towers["gated"].model.index_queries(torch.as_tensor(evaluation.users.vectors)).numpy()
    k = report.k
    # exact top k by numpy inner products (float64), independent of FAISS
    exact = np.argsort(-(queries.astype(np.float64) @ report.stacked.vectors.astype(np.float64).T), axis=1,
                       kind="stable")[:, :k]
    _, found = search(report.index, queries, k)
    assert report.search_recall_at_k == pytest.approx(search_recall_at_k(found, exact, k), abs=0.01)
    # the sweep ends at the configured beam and its largest beam finds at least what the smallest finds
    recalls = report.sweep["search_recall_at_k"].tolist()
    assert report.sweep["value"].tolist() == list(params.encode.ann.sweep_ef_search)
    assert recalls[-1] >= recalls[0]


def test_index_tables_show_the_report(world_run: dict[str, Any]) -> None:
    report = world_run["report"]
    table = item_index.index_table(report)
    assert table.iloc[0, 0] == report.search_recall_at_k and table.iloc[1, 0] == 1.0
    assert table.iloc[0, 1] == report.qps / 1e3
    assert table.index[0] == "hnsw (hnsw_m=16, ef_construction=64, ef_search=64)"
    assert list(item_index.sweep_table(report).index.get_level_values("value")) == report.sweep["value"].tolist()
    assert f"two-stage top-{report.k}" in item_index.index_summary(report)


def test_nlist_above_the_vector_count_is_refused() -> None:
    from hermes_core.encode.params import EncodeParams

    params = EncodeParams(ann={"index_type": "ivf_flat", "nlist": 64, "nprobe": 4})
    with pytest.raises(ValueError, match="encode.ann.nlist=64 exceeds the 50 vectors"):
        item_index._index_knobs(params, 50)
