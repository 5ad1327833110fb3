"""The item index's query side as arrays (``hermes_core.index.query_side``)."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.index.query_side import QuerySide, prepare_features


def test_prepare_features_centres_normalises_and_keeps_missing_rows_zero() -> None:
    features = np.array([[1.0, 3.0], [3.0, 3.0], [9.0, 9.0]], dtype=np.float32)
    prepared = prepare_features(features, np.array([True, True, False]))
    # mean of the present rows is (2, 3): rows become (-1, 0) and (1, 0)
    np.testing.assert_allclose(prepared, [[-1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    # without centring only the norm changes: (1, 3) / sqrt(10)
    np.testing.assert_allclose(prepare_features(features, np.array([True, False, False]), centre=False)[0],
                               np.array([1.0, 3.0]) / np.sqrt(10), rtol=1e-6)


def gated(seed: int = 0, d_text: int = 3, d_image: int = 2, d_out: int = 4) -> QuerySide:
    rng = np.random.default_rng(seed)
    return QuerySide(kind="gated", projection=rng.normal(size=(d_text + d_image, d_out)), d_text=d_text,
                     d_image=d_image, gate_weight=rng.normal(size=(2, d_text + d_image + 2)),
                     gate_bias=rng.normal(size=2))


def test_gated_search_vector_by_hand() -> None:
    side = gated()
    q = np.array([[0.3, -0.1, 0.2, 0.5, -0.4]])
    phi = np.concatenate([q[0], [np.linalg.norm(q[0, :3]), np.linalg.norm(q[0, 3:])]])
    g = 2.0 / (1.0 + np.exp(-(side.gate_weight @ phi + side.gate_bias)))
    qp = q[0] @ side.projection
    np.testing.assert_allclose(side.index_queries(q)[0], np.concatenate([g[0] * qp, g[1] * qp]), rtol=1e-6)
    assert side.search_dim == 8


def test_single_vector_tower_searches_with_qp() -> None:
    rng = np.random.default_rng(1)
    side = QuerySide(kind="concat", projection=rng.normal(size=(5, 4)), d_text=3, d_image=2)
    q = rng.normal(size=(3, 5))
    np.testing.assert_allclose(side.index_queries(q), q @ side.projection, rtol=1e-6)
    with pytest.raises(ValueError, match="no gates"):
        side.gates(q)


def test_profile_is_the_masked_mean_of_distinct_history_items() -> None:
    side = gated()
    text = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]])
    image = np.array([[1.0, 0], [0, 1.0], [0, 0]])
    image_mask = np.array([True, True, False])
    profiles = side.profile([[0, 2, 2], [], [2]], text, image, np.ones(3, bool), image_mask)
    np.testing.assert_allclose(profiles[0], [0.5, 0, 0.5, 1.0, 0.0])  # item 2 has no image: image part is item 0's
    np.testing.assert_allclose(profiles[1], 0.0)
    np.testing.assert_allclose(profiles[2], [0, 0, 1.0, 0, 0])
    np.testing.assert_allclose(side.text_query(np.array([[1.0, 2.0, 3.0]])), [[1.0, 2.0, 3.0, 0.0, 0.0]])


def test_save_load_round_trip_and_errors(tmp_path) -> None:
    side = gated()
    loaded = QuerySide.load(side.save(tmp_path / "query_side.npz"))
    q = np.random.default_rng(2).normal(size=(4, 5))
    np.testing.assert_allclose(loaded.index_queries(q), side.index_queries(q), rtol=1e-5, atol=1e-6)
    with pytest.raises(FileNotFoundError, match="run the encode stage"):
        QuerySide.load(tmp_path / "missing.npz")
    with pytest.raises(ValueError, match="cross-attention"):
        QuerySide(kind="cross_attention", projection=np.zeros((5, 4)), d_text=3, d_image=2)
    with pytest.raises(ValueError, match="gate_weight"):
        QuerySide(kind="gated", projection=np.zeros((5, 4)), d_text=3, d_image=2)
    with pytest.raises(ValueError, match=r"queries must be \(n, 5\)"):
        side.index_queries(np.zeros((2, 4)))
