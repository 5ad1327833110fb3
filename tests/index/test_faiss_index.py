"""FAISS maximum-inner-product indexes: exactness, search recall against exact search, sweeps, QPS, persistence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from hermes_core.index import faiss_index
from hermes_core.index.faiss_index import (
    build_index,
    exact_topk,
    load_index,
    measure_qps,
    save_index,
    search,
    search_recall_at_k,
    set_search_knob,
    sweep,
)


def fake_clock(monkeypatch: pytest.MonkeyPatch, readings: list[float]) -> None:
    """Make :func:`measure_qps` read ``readings`` from its clock (a start and an end a timed search)."""
    ticks: Iterator[float] = iter(readings)
    monkeypatch.setattr(faiss_index, "time", SimpleNamespace(perf_counter=lambda: next(ticks)))


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((20, 16)).astype(np.float32)
    vectors = centres[rng.integers(0, 20, 3000)] + 0.5 * rng.standard_normal((3000, 16)).astype(np.float32)
    queries = centres[rng.integers(0, 20, 50)] + 0.5 * rng.standard_normal((50, 16)).astype(np.float32)
    return vectors, queries


def test_flat_topk_equals_numpy_inner_product_topk(data: tuple[np.ndarray, np.ndarray]) -> None:
    vectors, queries = data
    scores, ids = search(build_index(vectors, "flat"), queries, 10)
    products = queries.astype(np.float64) @ vectors.astype(np.float64).T
    expected_ids = np.argsort(-products, axis=1)[:, :10]
    np.testing.assert_array_equal(ids, expected_ids)
    np.testing.assert_allclose(scores, np.take_along_axis(products, expected_ids, axis=1), rtol=1e-5, atol=1e-4)


def test_search_recall_by_hand() -> None:
    approx = np.array([[1, 2, 3], [4, 5, 6]])
    exact = np.array([[3, 2, 9], [7, 8, 4]])
    # query 0 finds {2, 3} of {3, 2, 9}: 2/3; query 1 finds {4} of {7, 8, 4}: 1/3; mean 1/2
    assert search_recall_at_k(approx, exact, 3) == pytest.approx(0.5)
    # at k = 1: 1 vs 3 miss, 4 vs 7 miss
    assert search_recall_at_k(approx, exact, 1) == 0.0
    assert search_recall_at_k(np.array([[-1, -1]]), np.array([[-1, 5]]), 2) == 0.0  # -1 never matches
    with pytest.raises(ValueError, match="k=4"):
        search_recall_at_k(approx, exact, 4)


def test_ivf_visiting_every_list_is_exact(data: tuple[np.ndarray, np.ndarray]) -> None:
    vectors, queries = data
    _, exact_ids = exact_topk(vectors, queries, 10)
    index = build_index(vectors, "ivf_flat", nlist=32, nprobe=32, seed=3)
    _, ids = search(index, queries, 10)
    assert search_recall_at_k(ids, exact_ids, 10) == 1.0


def test_ivf_build_is_reproducible_with_a_seed(data: tuple[np.ndarray, np.ndarray]) -> None:
    vectors, queries = data
    first = search(build_index(vectors, "ivf_flat", nlist=32, nprobe=2, seed=11), queries, 10)[1]
    second = search(build_index(vectors, "ivf_flat", nlist=32, nprobe=2, seed=11), queries, 10)[1]
    np.testing.assert_array_equal(first, second)


def test_ivf_sweep_recall_never_drops_as_nprobe_grows(data: tuple[np.ndarray, np.ndarray]) -> None:
    # IVF-Flat computes exact scores inside the lists it visits; more lists = a superset of
    # candidates, so recall@10 against exact search cannot decrease.
    vectors, queries = data
    _, exact_ids = exact_topk(vectors, queries, 10)
    index = build_index(vectors, "ivf_flat", nlist=64, nprobe=1, seed=0)
    # every timed search takes 0.25 s on the fake clock: 50 queries / 0.25 s = 200 queries a second
    with pytest.MonkeyPatch.context() as patch:
        fake_clock(patch, [0.25 * tick for tick in range(10)])
        rows = sweep(index, queries, exact_ids, "nprobe", [1, 2, 4, 16, 64], repeats=1)
    recalls = [row["search_recall_at_k"] for row in rows]
    assert recalls == sorted(recalls) and recalls[-1] == 1.0
    assert [(row["knob"], row["value"], row["k"], row["qps"]) for row in rows] == [
        ("nprobe", value, 10, 200.0) for value in (1, 2, 4, 16, 64)]


def test_hnsw_and_ivf_pq_reach_useful_recall(data: tuple[np.ndarray, np.ndarray]) -> None:
    vectors, queries = data
    _, exact_ids = exact_topk(vectors, queries, 10)
    hnsw = build_index(vectors, "hnsw", hnsw_m=16, ef_construction=80, ef_search=128)
    assert search_recall_at_k(search(hnsw, queries, 10)[1], exact_ids, 10) >= 0.9
    ivf_pq = build_index(vectors, "ivf_pq", nlist=16, nprobe=16, pq_m=8, pq_nbits=6, seed=0)
    # 8 bytes a vector instead of 64: lossy, but far better than chance (10 / 3000)
    assert search_recall_at_k(search(ivf_pq, queries, 10)[1], exact_ids, 10) >= 0.3
    with pytest.raises(ValueError, match="must divide"):
        build_index(vectors, "ivf_pq", nlist=16, pq_m=5)


def test_save_and_load_round_trip(data: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    vectors, queries = data
    for index_type in ("ivf_flat", "hnsw"):
        index = build_index(vectors, index_type, nlist=32, nprobe=4, ef_search=32, seed=1)  # type: ignore[arg-type]
        path = save_index(index, tmp_path / "nested" / f"{index_type}.faiss")
        loaded = load_index(path)
        np.testing.assert_array_equal(search(index, queries, 10)[1], search(loaded, queries, 10)[1])
    with pytest.raises(FileNotFoundError):
        load_index(tmp_path / "missing.faiss")


def test_qps_is_the_query_count_over_the_median_search_time(
    data: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    vectors, queries = data
    # three timed searches of 0.5 s, 0.25 s and 4 s: the median 0.5 s decides, not the slow outlier
    # (the mean, 1.58 s, would give 31.6): 50 queries / 0.5 s = 100 queries a second
    fake_clock(monkeypatch, [0.0, 0.5, 10.0, 10.25, 20.0, 24.0])
    assert measure_qps(build_index(vectors, "flat"), queries, 10, repeats=3) == 100.0


def test_knobs_and_qps_are_validated(data: tuple[np.ndarray, np.ndarray]) -> None:
    vectors, queries = data
    flat = build_index(vectors, "flat")
    with pytest.raises(ValueError, match="repeats"):
        measure_qps(flat, queries, 10, repeats=0)
    with pytest.raises(ValueError, match="IVF"):
        set_search_knob(flat, "nprobe", 4)
    with pytest.raises(ValueError, match="nprobe must be in"):
        build_index(vectors, "ivf_flat", nlist=8, nprobe=9)
    with pytest.raises(ValueError, match="index_type"):
        build_index(vectors, "lsh")  # type: ignore[arg-type]
