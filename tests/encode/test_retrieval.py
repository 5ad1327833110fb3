"""Two-stage retrieval: per-modality ANN candidates, exact fused rescoring, certificate."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from hermes_core.encode.fusion import make_fusion_model, score_items
from hermes_core.encode.retrieval import build_modality_indexes, two_stage_topk


@pytest.fixture(scope="module", autouse=True)
def single_torch_thread() -> Iterator[None]:
    """These models are tiny: one thread is ~4x faster than two, and on shared cores a
    two-thread barrier per small op can stall for a whole time slice (seen: 1 s -> 50 s)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def catalogue() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    n_items = 400
    masks = np.ones((n_items, 2), dtype=bool)
    masks[rng.random(n_items) < 0.15, 0] = False
    masks[rng.random(n_items) < 0.15, 1] = False
    masks[masks.sum(axis=1) == 0, 1] = True  # keep every item scorable, so scores rarely tie
    return {
        "queries": rng.standard_normal((60, 8)).astype(np.float32),
        "vision": (rng.standard_normal((n_items, 10)) + 0.5).astype(np.float32),
        "text": (rng.standard_normal((n_items, 6)) - 0.5).astype(np.float32),
        "masks": masks,
    }


def _exact_top_scores(model, data: dict[str, np.ndarray], k: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    scores = score_items(model, data["queries"], data["vision"], data["text"], data["masks"])
    return -np.sort(-scores, axis=1)[:, :k]


@pytest.mark.parametrize("kind", ["cross_attention", "concat"])
def test_all_items_as_candidates_reproduce_exact_scoring(catalogue: dict[str, np.ndarray], kind: str) -> None:
    model = make_fusion_model(kind, 8, 10, 6, d_k=4, output_dim=12, seed=0)  # type: ignore[arg-type]
    indexes = build_modality_indexes(model, catalogue["vision"], catalogue["text"], catalogue["masks"], "flat")
    result = two_stage_topk(
        model, catalogue["queries"], catalogue["vision"], catalogue["text"], catalogue["masks"], indexes,
        k=10, n_candidates=400,
    )
    assert result.certified.all()
    np.testing.assert_allclose(result.scores, _exact_top_scores(model, catalogue, 10), rtol=1e-5, atol=1e-5)


def test_certified_results_are_exact_and_more_candidates_certify_more(catalogue: dict[str, np.ndarray]) -> None:
    model = make_fusion_model("cross_attention", 8, 10, 6, d_k=4, output_dim=12, seed=1)
    indexes = build_modality_indexes(model, catalogue["vision"], catalogue["text"], catalogue["masks"], "flat")
    exact = _exact_top_scores(model, catalogue, 10)
    certified_share = []
    for n_candidates in (5, 20, 80):
        result = two_stage_topk(
            model, catalogue["queries"], catalogue["vision"], catalogue["text"], catalogue["masks"], indexes,
            k=10, n_candidates=n_candidates,
        )
        certified = result.certified
        # the bound s <= max_m <qP, m W_m> makes every certified top-10 the exact one
        np.testing.assert_allclose(result.scores[certified], exact[certified], rtol=1e-5, atol=1e-5)
        # rescored scores are exact fused scores, never above the exact k-th best
        assert (result.scores[:, -1] <= exact[:, -1] + 1e-5).all()
        certified_share.append(certified.mean())
    assert certified_share == sorted(certified_share) and certified_share[-1] > certified_share[0]


def test_approximate_indexes_plug_in(catalogue: dict[str, np.ndarray]) -> None:
    model = make_fusion_model("cross_attention", 8, 10, 6, d_k=4, output_dim=12, seed=2)
    indexes = build_modality_indexes(
        model, catalogue["vision"], catalogue["text"], catalogue["masks"], "hnsw", hnsw_m=8, ef_search=64
    )
    result = two_stage_topk(
        model, catalogue["queries"], catalogue["vision"], catalogue["text"], catalogue["masks"], indexes,
        k=5, n_candidates=50,
    )
    exact = _exact_top_scores(model, catalogue, 5)
    # share of the exact top-5 scores recovered
    recovered = np.mean(
        [np.isin(np.round(exact[i], 4), np.round(result.scores[i], 4)).mean() for i in range(len(exact))]
    )
    assert recovered > 0.9


def test_stacked_index_two_stage_matches_exact_fused_scores() -> None:
    from hermes_core.index.faiss_index import build_index
    from hermes_core.encode.fusion import make_fusion_model, score_items
    from hermes_core.encode.retrieval import stacked_modality_vectors, two_stage_topk

    rng = np.random.default_rng(0)
    n_items = 120
    masks = rng.random((n_items, 2)) > 0.15
    masks[5] = False  # one item with no modality: never indexed, fused score 0
    vision, text = rng.standard_normal((n_items, 6)), rng.standard_normal((n_items, 4))
    queries = rng.standard_normal((30, 5)).astype(np.float32)
    model = make_fusion_model("cross_attention", 5, 6, 4, d_k=3, output_dim=8, seed=0)
    stacked = stacked_modality_vectors(model, vision, text, masks)
    assert len(stacked.item_rows) == masks.sum() and 5 not in stacked.item_rows
    index = build_index(stacked.vectors, "flat")
    result = two_stage_topk(model, queries, vision, text, masks, {"all": index}, k=5,
                            n_candidates=len(stacked.item_rows), row_items={"all": stacked.item_rows})
    exact = score_items(model, queries, vision, text, masks)
    exact[:, 5] = -np.inf  # the unindexed item can only be missed, never wrongly returned
    np.testing.assert_allclose(result.scores, -np.sort(-exact, axis=1)[:, :5], rtol=1e-5, atol=1e-5)


def test_the_gated_tower_needs_no_rescoring_one_vector_per_item(catalogue: dict[str, np.ndarray]) -> None:
    import torch

    model = make_fusion_model("gated", 8, 10, 6, output_dim=12, seed=3)
    with torch.no_grad():  # gates away from 1, so the score is not concatenation's
        model.gate.weight.normal_(generator=torch.Generator().manual_seed(1))
    indexes = build_modality_indexes(model, catalogue["vision"], catalogue["text"], catalogue["masks"], "flat")
    assert list(indexes) == ["item"]
    # as many candidates as k: the index's own top k is already the exact fused top k (the certificate,
    # k-th score >= the index's last score, then compares two float32 roundings of one number: not asserted)
    result = two_stage_topk(model, catalogue["queries"], catalogue["vision"], catalogue["text"], catalogue["masks"],
                            indexes, k=10, n_candidates=10)
    np.testing.assert_allclose(result.scores, _exact_top_scores(model, catalogue, 10), rtol=1e-5, atol=1e-5)


def test_an_approximate_index_certifies_nothing(catalogue: dict[str, np.ndarray]) -> None:
    model = make_fusion_model("cross_attention", 8, 10, 6, d_k=4, output_dim=12, seed=1)
    indexes = build_modality_indexes(model, catalogue["vision"], catalogue["text"], catalogue["masks"], "flat")
    args = (model, catalogue["queries"], catalogue["vision"], catalogue["text"], catalogue["masks"], indexes)
    exact = two_stage_topk(*args, k=5, n_candidates=400)
    approximate = two_stage_topk(*args, k=5, n_candidates=400, exact_index=False)
    assert exact.certified.all() and not approximate.certified.any()
    np.testing.assert_array_equal(exact.ids, approximate.ids)
