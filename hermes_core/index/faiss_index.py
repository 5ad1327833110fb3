"""Approximate nearest-neighbour search for maximum inner product (FAISS).

Every index here scores by the inner product ``<query, item>`` (``METRIC_INNER_PRODUCT``):
the two-tower and fusion scores of :mod:`hermes_core.encode.fusion` are inner products, and
on L2-normalised vectors the inner product is the cosine.

Index types (Johnson, Douze & Jégou 2019, "Billion-scale similarity search with GPUs"):

* ``flat``: ``IndexFlatIP``, exact brute force, the reference for recall.
* ``ivf_flat``: ``IndexIVFFlat``, k-means partition into ``nlist`` lists, search visits the
  ``nprobe`` lists whose centroids score highest (Jégou et al. 2011 for the inverted file).
* ``hnsw``: ``IndexHNSWFlat``, a hierarchical navigable small-world graph with ``hnsw_m``
  links a node, built with beam ``ef_construction`` and searched with beam ``ef_search``
  (Malkov & Yashunin 2018).
* ``ivf_pq``: ``IndexIVFPQ``, the inverted file with vectors compressed by product quantisation
  into ``pq_m`` sub-codes of ``pq_nbits`` bits (Jégou, Douze & Schmid 2011).

Training (k-means for IVF, PQ codebooks) uses a sample of at most ``train_size`` rows drawn
with ``numpy.random.default_rng(seed)`` and FAISS's clustering seed set to ``seed``, so that a
build is reproducible. HNSW insertion with several OpenMP threads can order links differently
from run to run; set ``faiss.omp_set_num_threads(1)`` where a bit-identical graph matters.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import faiss
import numpy as np

IndexType = Literal["flat", "ivf_flat", "hnsw", "ivf_pq"]
SearchKnob = Literal["nprobe", "ef_search"]
INDEX_TYPES: tuple[str, ...] = ("flat", "ivf_flat", "hnsw", "ivf_pq")


def _as_float32_matrix(vectors: np.ndarray, name: str) -> np.ndarray:
    array = np.ascontiguousarray(vectors, dtype=np.float32)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def build_index(
    vectors: np.ndarray,
    index_type: IndexType = "flat",
    *,
    nlist: int = 1024,
    nprobe: int = 16,
    hnsw_m: int = 32,
    ef_search: int = 64,
    ef_construction: int = 200,
    pq_m: int = 16,
    pq_nbits: int = 8,
    seed: int = 0,
    train_size: int | None = None,
) -> faiss.Index:
    """Build a FAISS maximum-inner-product index over ``vectors`` ``(n_items, dim)``.

    Row ``i`` of ``vectors`` gets id ``i``. ``nlist``/``nprobe`` apply to ``ivf_flat`` and
    ``ivf_pq``; ``hnsw_m``/``ef_construction``/``ef_search`` to ``hnsw``; ``pq_m`` (bytes a
    code at 8 bits, must divide ``dim``) and ``pq_nbits`` to ``ivf_pq``. ``train_size``
    (default ``max(64 * nlist, 2**pq_nbits * 64)``, capped at ``n_items``) bounds the seeded
    training sample.
    """
    data = _as_float32_matrix(vectors, "vectors")
    n_items, dim = data.shape
    if index_type == "flat":
        index: faiss.Index = faiss.IndexFlatIP(dim)
        index.add(data)
        return index
    if index_type == "hnsw":
        if hnsw_m < 2:
            raise ValueError(f"hnsw_m must be at least 2, got {hnsw_m}")
        index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
        index.hnsw.efSearch = ef_search
        index.add(data)
        return index
    if index_type not in ("ivf_flat", "ivf_pq"):
        raise ValueError(f"index_type must be one of {INDEX_TYPES}, got {index_type!r}")
    if not 1 <= nlist <= n_items:
        raise ValueError(f"nlist must be in [1, n_items={n_items}], got {nlist}")
    if not 1 <= nprobe <= nlist:
        raise ValueError(f"nprobe must be in [1, nlist={nlist}], got {nprobe}")
    quantizer = faiss.IndexFlatIP(dim)
    if index_type == "ivf_flat":
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        default_train = 64 * nlist
    else:
        if dim % pq_m != 0:
            raise ValueError(f"pq_m ({pq_m}) must divide the vector dimension ({dim})")
        index = faiss.IndexIVFPQ(quantizer, dim, nlist, pq_m, pq_nbits, faiss.METRIC_INNER_PRODUCT)
        index.pq.cp.seed = seed
        default_train = max(64 * nlist, 64 * 2**pq_nbits)
    index.cp.seed = seed
    n_train = min(n_items, train_size if train_size is not None else default_train)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n_items, size=n_train, replace=False))
    index.train(data[sample])
    index.add(data)
    index.nprobe = nprobe
    return index


def search(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` by inner product: ``(scores, ids)``, each ``(n_queries, k)``, best first.

    Where the index returns fewer than ``k`` hits the id is ``-1`` and the score ``-inf``.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    query_matrix = _as_float32_matrix(queries, "queries")
    if query_matrix.shape[1] != index.d:
        raise ValueError(f"queries have dimension {query_matrix.shape[1]}, the index {index.d}")
    scores, ids = index.search(query_matrix, k)
    scores = np.where(ids < 0, -np.inf, scores).astype(np.float32)
    return scores, ids


def exact_topk(vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` inner-product neighbours via ``IndexFlatIP``: ``(scores, ids)``."""
    return search(build_index(vectors, "flat"), queries, k)


def search_recall_at_k(approx_ids: np.ndarray, exact_ids: np.ndarray, k: int) -> float:
    r"""Mean neighbour recall of an approximate search against exact search: the share of the exact
    top ``k`` that the index returns (not the recall of *relevant* items, which is
    :func:`hermes_core.evaluation.ranking.recall_at_k`).

    .. math:: \mathrm{search\ recall@}k = \frac{1}{|Q|} \sum_{q} \frac{|A_q^{(k)} \cap E_q^{(k)}|}{k}

    where :math:`A_q^{(k)}` and :math:`E_q^{(k)}` are the first ``k`` ids of the approximate
    and exact results (the "k-recall@k" of the ANN literature, e.g. ann-benchmarks). Ids
    ``-1`` (no hit) never match. Ties in the exact scores can make a correct approximate
    result count as a miss; on continuous random data they have probability zero.
    """
    approx = np.asarray(approx_ids)
    exact = np.asarray(exact_ids)
    if approx.ndim != 2 or exact.ndim != 2 or approx.shape[0] != exact.shape[0]:
        raise ValueError(
            f"approx_ids and exact_ids must be (n_queries, >=k), got {approx.shape} and {exact.shape}"
        )
    if k < 1 or approx.shape[1] < k or exact.shape[1] < k:
        raise ValueError(f"k={k} must be in [1, {min(approx.shape[1], exact.shape[1])}]")
    approx_k = approx[:, :k]
    exact_k = exact[:, :k]
    # (n_queries, k, k): does approximate hit a equal exact neighbour e?
    matches = (approx_k[:, :, None] == exact_k[:, None, :]) & (approx_k[:, :, None] >= 0)
    hits = matches.any(axis=2).sum(axis=1)
    return float(hits.mean() / k)


def measure_qps(index: faiss.Index, queries: np.ndarray, k: int = 10, repeats: int = 3) -> float:
    """Queries a second of one batched ``index.search`` over all ``queries``.

    One untimed warm-up search, then ``repeats`` timed ones; the median time is reported, so
    one slow repeat (another process on the shared cores) does not decide the figure.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    query_matrix = _as_float32_matrix(queries, "queries")
    index.search(query_matrix[: min(len(query_matrix), 16)], k)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        index.search(query_matrix, k)
        seconds.append(time.perf_counter() - start)
    return float(len(query_matrix) / np.median(seconds))


def set_search_knob(index: faiss.Index, knob: SearchKnob, value: int) -> None:
    """Set a search-time knob: ``nprobe`` (IVF indexes) or ``ef_search`` (HNSW)."""
    if value < 1:
        raise ValueError(f"{knob} must be at least 1, got {value}")
    if knob == "nprobe":
        ivf = faiss.try_extract_index_ivf(index)
        if ivf is None:
            raise ValueError(f"nprobe applies to IVF indexes, not {type(index).__name__}")
        if value > ivf.nlist:
            raise ValueError(f"nprobe={value} exceeds nlist={ivf.nlist}")
        ivf.nprobe = value
    elif knob == "ef_search":
        if not hasattr(index, "hnsw"):
            raise ValueError(f"ef_search applies to HNSW indexes, not {type(index).__name__}")
        index.hnsw.efSearch = value
    else:
        raise ValueError(f"knob must be 'nprobe' or 'ef_search', got {knob!r}")


def sweep(
    index: faiss.Index,
    queries: np.ndarray,
    exact_ids: np.ndarray,
    knob: SearchKnob,
    values: Sequence[int],
    *,
    k: int = 10,
    repeats: int = 3,
) -> list[dict[str, float | int | str]]:
    """Recall-versus-speed curve of one index over a search-time knob.

    For each value of ``knob`` returns a row ``{"index": class name, "knob", "value",
    "search_recall_at_k", "k", "qps"}`` with recall against ``exact_ids`` (see
    :func:`search_recall_at_k`)
    and QPS from :func:`measure_qps` on the same batched queries. The index keeps the last
    value set.
    """
    rows: list[dict[str, float | int | str]] = []
    for value in values:
        set_search_knob(index, knob, int(value))
        _, ids = search(index, queries, k)
        rows.append(
            {
                "index": type(index).__name__,
                "knob": knob,
                "value": int(value),
                "k": k,
                "search_recall_at_k": search_recall_at_k(ids, exact_ids, k),
                "qps": measure_qps(index, queries, k, repeats),
            }
        )
    return rows


def save_index(index: faiss.Index, path: str | Path) -> Path:
    """Write ``index`` with ``faiss.write_index`` (parent folders created); returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    faiss.write_index(index, str(target))
    return target


def load_index(path: str | Path) -> faiss.Index:
    """Read an index written by :func:`save_index`; raises ``FileNotFoundError`` if absent."""
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"no FAISS index at {source}")
    return faiss.read_index(str(source))
