r"""The query side of the encode stage's item index: what turns a query into a search vector.

The encode stage indexes one vector per item and searches it with ``tower.index_queries(q)``
(:mod:`hermes_core.encode.fusion`). A later stage (retrieve) must build the same search vector
without importing a stage, so the encode stage saves the query side of its tower here as plain
arrays (``index/query_side.npz``) and both stages use this module:

* **features** are prepared like the items' (:func:`prepare_features`): centred on the mean of
  the catalogue's present rows, then L2-normalised; missing rows stay zero;
* a **query** is :math:`q = [q^{txt}; q^{img}]` (text part first): a user's profile is the masked
  mean of the prepared features of the items in her history (:meth:`QuerySide.profile`), a text
  query is :math:`[t_q; 0]` (:meth:`QuerySide.text_query`);
* the **search vector** of a query-gated tower is :math:`[g_v(q)\, qP;\ g_t(q)\, qP]` with
  :math:`g_m(q) = 2\sigma(w_m^\top \phi(q) + b_m)` and :math:`\phi(q) = [q; \lVert q^{txt}\rVert;
  \lVert q^{img}\rVert]`; of a single-vector tower (concatenation, text or image only) it is
  :math:`qP` (:meth:`QuerySide.index_queries`). Its inner product with an indexed item vector is
  exactly the tower's score (the encode tests check this against the torch tower).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GATED = "gated"
SINGLE_VECTOR_KINDS: tuple[str, ...] = ("concat", "text_only", "image_only")
INDEXABLE_KINDS: tuple[str, ...] = (GATED, *SINGLE_VECTOR_KINDS)


def prepare_features(embeddings: np.ndarray, mask: np.ndarray, centre: bool = True) -> np.ndarray:
    r"""Centre the present rows on their mean and L2-normalise them; missing rows stay zero.

    :math:`x_i \leftarrow (x_i - \bar x) / \lVert x_i - \bar x\rVert` with :math:`\bar x` the mean
    of the rows where ``mask`` is True. EfficientNet's pooled features are non-negative (ReLU6
    averages), so without centring every pair of images has a cosine near 1; centring makes
    the two modalities comparable inputs of the towers. ``centre=False`` only normalises.
    """
    features = np.asarray(embeddings, dtype=np.float32)
    present = np.asarray(mask, dtype=bool)
    if features.ndim != 2 or present.shape != (features.shape[0],):
        raise ValueError(f"embeddings (n, d) and mask (n,) expected, got {features.shape} and {present.shape}")
    result = np.zeros_like(features)
    if not present.any():
        return result
    rows = features[present].astype(np.float64)
    if centre:
        rows = rows - rows.mean(axis=0, keepdims=True)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    result[present] = (rows / np.maximum(norms, 1e-12)).astype(np.float32)
    return result


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free logistic


@dataclass(frozen=True, eq=False)
class QuerySide:
    """A tower's query side as arrays: ``kind`` (:data:`INDEXABLE_KINDS`), the projection
    ``projection`` :math:`P` (d_q, D) (``x @ projection`` is torch's ``Linear(x)``), for a gated
    tower its gate layer ``gate_weight`` (2, d_q + 2) and ``gate_bias`` (2,) with rows
    [vision, text], and the widths ``d_text`` and ``d_image`` of the two query parts."""

    kind: str
    projection: np.ndarray
    d_text: int
    d_image: int
    gate_weight: np.ndarray | None = None
    gate_bias: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.kind not in INDEXABLE_KINDS:
            raise ValueError(f"kind must be one of {INDEXABLE_KINDS}, got {self.kind!r} (a cross-attention "
                             "tower's score is not one inner product, so it has no single search vector)")
        if self.projection.ndim != 2 or self.projection.shape[0] != self.d_text + self.d_image:
            raise ValueError(f"projection must be (d_text + d_image, D) = ({self.d_text + self.d_image}, D), "
                             f"got {self.projection.shape}")
        if self.kind == GATED:
            expected = (2, self.d_text + self.d_image + 2)
            if self.gate_weight is None or self.gate_weight.shape != expected:
                raise ValueError(f"a gated tower needs gate_weight of shape {expected}, "
                                 f"got {None if self.gate_weight is None else self.gate_weight.shape}")
            if self.gate_bias is None or self.gate_bias.shape != (2,):
                raise ValueError("a gated tower needs gate_bias of shape (2,)")

    @property
    def d_query(self) -> int:
        return self.d_text + self.d_image

    @property
    def search_dim(self) -> int:
        """Width of a search vector: 2D for a gated tower, D otherwise."""
        return self.projection.shape[1] * (2 if self.kind == GATED else 1)

    def _check(self, queries: np.ndarray) -> np.ndarray:
        queries = np.asarray(queries, dtype=np.float64)
        if queries.ndim != 2 or queries.shape[1] != self.d_query:
            raise ValueError(f"queries must be (n, {self.d_query}) [text; image], got {queries.shape}")
        return queries

    def gates(self, queries: np.ndarray) -> np.ndarray:
        r""":math:`(g_v(q), g_t(q))` of a gated tower, ``(n, 2)``."""
        if self.kind != GATED:
            raise ValueError(f"a {self.kind} tower has no gates")
        queries = self._check(queries)
        norms = np.stack([np.linalg.norm(queries[:, : self.d_text], axis=1),
                          np.linalg.norm(queries[:, self.d_text :], axis=1)], axis=1)  # fmt: skip
        features = np.concatenate([queries, norms], axis=1)
        assert self.gate_weight is not None and self.gate_bias is not None
        return 2.0 * _sigmoid(features @ self.gate_weight.T + self.gate_bias)

    def index_queries(self, queries: np.ndarray) -> np.ndarray:
        """Search vectors ``(n, search_dim)`` float32 of queries ``(n, d_text + d_image)``."""
        queries = self._check(queries)
        projected = queries @ self.projection
        if self.kind != GATED:
            return projected.astype(np.float32)
        gates = self.gates(queries)
        return np.concatenate([gates[:, :1] * projected, gates[:, 1:] * projected], axis=1).astype(np.float32)

    def text_query(self, prepared_text: np.ndarray) -> np.ndarray:
        """Text queries :math:`[t_q; 0]` from prepared text embeddings ``(n, d_text)``."""
        text = np.asarray(prepared_text, dtype=np.float64)
        if text.ndim != 2 or text.shape[1] != self.d_text:
            raise ValueError(f"prepared_text must be (n, {self.d_text}), got {text.shape}")
        return np.concatenate([text, np.zeros((len(text), self.d_image))], axis=1)

    def profile(self, histories: Sequence[Sequence[int]], text: np.ndarray, image: np.ndarray,
                text_mask: np.ndarray, image_mask: np.ndarray) -> np.ndarray:
        r"""Users' queries :math:`[q^{txt}_u; q^{img}_u]`, ``(n, d_query)``: for each history (item
        rows into the prepared ``text`` (n_items, d_text) and ``image`` (n_items, d_image)
        features) the mean of each modality over the history items that have it (zero when none
        does); a repeated item counts once, as the encode stage's profiles count distinct
        positives."""
        out = np.zeros((len(histories), self.d_query))
        for row, history in enumerate(histories):
            items = np.unique(np.asarray(list(history), dtype=np.int64))
            if items.size == 0:
                continue
            for part, features, mask in ((slice(0, self.d_text), text, text_mask),
                                         (slice(self.d_text, None), image, image_mask)):  # fmt: skip
                present = items[np.asarray(mask, dtype=bool)[items]]
                if present.size:
                    out[row, part] = np.asarray(features, dtype=np.float64)[present].mean(axis=0)
        return out

    def save(self, path: str | Path) -> Path:
        """Write ``query_side.npz`` (arrays, deterministic)."""
        path = Path(path)
        arrays = {"kind": np.array(self.kind), "projection": self.projection.astype(np.float32),
                  "d_text": np.array(self.d_text), "d_image": np.array(self.d_image)}  # fmt: skip
        if self.kind == GATED:
            assert self.gate_weight is not None and self.gate_bias is not None
            arrays["gate_weight"] = self.gate_weight.astype(np.float32)
            arrays["gate_bias"] = self.gate_bias.astype(np.float32)
        with path.open("wb") as handle:
            np.savez(handle, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> QuerySide:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no query side saved (run the encode stage)")
        with np.load(path, allow_pickle=False) as data:
            kind = str(data["kind"])
            return cls(kind=kind, projection=data["projection"].astype(np.float64),
                       d_text=int(data["d_text"]), d_image=int(data["d_image"]),
                       gate_weight=data["gate_weight"].astype(np.float64) if "gate_weight" in data else None,
                       gate_bias=data["gate_bias"].astype(np.float64) if "gate_bias" in data else None)


__all__ = ["INDEXABLE_KINDS", "QuerySide", "prepare_features"]
