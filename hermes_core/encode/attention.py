r"""The fused tower's attention weights: by text-query kind and against users' true modality affinity.

:func:`fused_alpha` reads :math:`\alpha_{vision}` of every (query, item) pair from the
cross-attention tower; :func:`alpha_by_query_kind` summarises it over the held-out visual and
content queries (the design note's claim), :func:`user_alpha` and :func:`user_alpha_summary`
over the evaluated users against the world's true visual affinity. Means and differences of
means carry bootstrap intervals built on :func:`hermes_core.evaluation.bootstrap.resampled_means`;
the rank correlation resamples pairs and recomputes ranks (:func:`spearman_interval`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

from hermes_core.encode.catalogue import EncodedItems
from hermes_core.encode.fusion import VISION
from hermes_core.encode.inputs import EncodeInputs
from hermes_core.encode.params import EncodeParams
from hermes_core.encode.training import TrainedTower
from hermes_core.evaluation.bootstrap import resampled_means

if TYPE_CHECKING:
    from hermes_core.encode.coldstart import ColdStartEvaluation
    from hermes_core.encode.queries import QueryEvaluation


def fused_alpha(tower: TrainedTower, queries: np.ndarray, encoded: EncodedItems, rows: np.ndarray) -> np.ndarray:
    """``alpha_vision`` of every (query, item) pair: ``(n_queries, len(rows))``."""
    model = tower.model
    device = next(model.parameters()).device
    with torch.no_grad():
        _, alpha = model.pairwise_scores(
            torch.as_tensor(queries, dtype=torch.float32, device=device),
            torch.as_tensor(encoded.image[rows], dtype=torch.float32, device=device),
            torch.as_tensor(encoded.text[rows], dtype=torch.float32, device=device),
            torch.as_tensor(encoded.masks[rows], device=device),
        )
    return alpha[..., VISION].float().cpu().numpy()


def mean_interval(values: np.ndarray, n_bootstrap: int, seed: int, level: float = 0.95) -> dict[str, float]:
    r"""Mean of ``values`` (NaN left out) with its percentile bootstrap interval.

    :math:`\bar x = \frac1n \sum_i x_i`; the interval holds the :math:`(1-\text{level})/2` and
    :math:`(1+\text{level})/2` quantiles of the means of ``n_bootstrap`` resamples drawn with
    replacement by :func:`~hermes_core.evaluation.bootstrap.resampled_means` from ``seed``
    (Efron & Tibshirani 1993, ch. 13). Returns ``mean``, ``ci_low``, ``ci_high`` and ``n``; all NaN
    (``n`` = 0) without a value.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return {"mean": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "n": 0}
    means = resampled_means(x[:, None], n_bootstrap, seed)[:, 0]  # (n_bootstrap,)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return {"mean": float(x.mean()), "ci_low": float(low), "ci_high": float(high), "n": int(len(x))}


def two_sample_difference(
    a: np.ndarray, b: np.ndarray, n_bootstrap: int, seed: int, level: float = 0.95
) -> dict[str, float]:
    r"""Difference of the means of two *independent* samples with a bootstrap interval.

    :math:`\bar a - \bar b`; each resample draws ``a`` and ``b`` separately with replacement
    (the two-sample bootstrap, Efron & Tibshirani 1993, §8.3): ``n_bootstrap`` resampled means
    of ``a``, then of ``b``, from one generator seeded with ``seed``
    (:func:`~hermes_core.evaluation.bootstrap.resampled_means`). Unlike the paired bootstrap
    (:func:`~.coldstart.paired_comparison`) it suits samples of different units (visual vs content
    queries). Percentile interval at ``level``; NaN values are left out; returns ``difference``,
    ``ci_low``, ``ci_high``, ``n_a``, ``n_b`` (NaN when a sample is empty).
    """
    x, y = (np.asarray(v, dtype=np.float64) for v in (a, b))
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    if len(x) == 0 or len(y) == 0:
        return {"difference": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"),
                "n_a": int(len(x)), "n_b": int(len(y))}
    rng = np.random.default_rng(seed)
    means_x = resampled_means(x[:, None], n_bootstrap, rng)[:, 0]  # (n_bootstrap,)
    means_y = resampled_means(y[:, None], n_bootstrap, rng)[:, 0]
    low, high = np.quantile(means_x - means_y, [(1 - level) / 2, (1 + level) / 2])
    return {"difference": float(x.mean() - y.mean()), "ci_low": float(low), "ci_high": float(high),
            "n_a": int(len(x)), "n_b": int(len(y))}


def alpha_by_query_kind(queries: QueryEvaluation, params: EncodeParams) -> pd.DataFrame:
    """The fused model's mean ``alpha_vision`` per held-out query kind, with bootstrap intervals.

    Rows ``visual`` and ``content``: over the kind's held-out queries, the mean of each query's
    mean ``alpha_vision`` over items with both modalities (:func:`mean_interval`, resampling
    queries), its interval, the number of queries, and the same mean over the relevant items.
    Row ``visual - content``: the difference of the two means with the two-sample interval of
    :func:`two_sample_difference` (different queries, so not paired). Empty without a fused tower.
    """
    alpha = queries.alpha
    if "alpha_vision_all" not in alpha:
        return pd.DataFrame()
    rows = {}
    values = {kind: alpha.loc[alpha["kind"] == kind, "alpha_vision_all"].to_numpy(float)
              for kind in ("visual", "content")}
    for kind in ("visual", "content"):
        summary = mean_interval(values[kind], params.eval.n_bootstrap, params.seed, params.eval.ci_level)
        relevant = alpha.loc[alpha["kind"] == kind, "alpha_vision_relevant"].to_numpy(float)
        rows[kind] = {"mean": summary["mean"], "ci_low": summary["ci_low"], "ci_high": summary["ci_high"],
                      "queries": summary["n"],
                      "mean over relevant items": (float(np.nanmean(relevant)) if np.isfinite(relevant).any()
                                                   else np.nan)}
    gap = two_sample_difference(values["visual"], values["content"], params.eval.n_bootstrap, params.seed,
                                params.eval.ci_level)
    rows["visual - content"] = {"mean": gap["difference"], "ci_low": gap["ci_low"], "ci_high": gap["ci_high"],
                                "queries": gap["n_a"] + gap["n_b"], "mean over relevant items": np.nan}
    return pd.DataFrame(rows).T.astype({"queries": int})


def user_alpha(
    inputs: EncodeInputs, evaluation: ColdStartEvaluation, encoded: EncodedItems, towers: dict[str, TrainedTower]
) -> pd.DataFrame | None:
    """Per evaluated user: mean ``alpha_vision`` over cold items with both modalities, and the
    world's true modality affinity :math:`m_u` (weight of the visual part of relevance)."""
    if "cross_attention" not in towers or inputs.world is None:
        return None
    from hermes_core.world import index_of

    both = evaluation.cold_rows[encoded.text_mask[evaluation.cold_rows] & encoded.image_mask[evaluation.cold_rows]]
    alpha = fused_alpha(towers["cross_attention"], evaluation.users.vectors, encoded, both)
    user_index = np.array([index_of(u) for u in evaluation.users.keys], dtype=np.int64)
    return pd.DataFrame({
        "user_id": evaluation.users.keys,
        "alpha_vision": alpha.mean(axis=1),
        "true_visual_affinity": inputs.world.users.modality_affinity[user_index],
        "n_positives": evaluation.users.n_positives,
    })


def spearman_interval(x: np.ndarray, y: np.ndarray, n_bootstrap: int, seed: int,
                      level: float = 0.95) -> dict[str, float]:
    r"""Spearman's rank correlation of paired samples with a percentile bootstrap interval.

    :math:`\rho = \operatorname{corr}(\operatorname{rank}(x), \operatorname{rank}(y))` (Pearson
    correlation of the average ranks; Spearman 1904). Pairs ``(x_i, y_i)`` are resampled with
    replacement ``n_bootstrap`` times with ``default_rng(seed)`` and the ranks recomputed in each
    resample; returns ``rho``, ``ci_low``, ``ci_high``, ``n``. Not built on
    :func:`~hermes_core.evaluation.bootstrap.resampled_means`: a rank correlation is no mean of
    per-unit values (each resample re-ranks its own draw), so it needs the drawn indices
    themselves, not the resampled means of a column.
    """
    from scipy.stats import rankdata

    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 3:
        raise ValueError(f"spearman_interval needs two 1-d arrays of one length >= 3, got {a.shape} and {b.shape}")

    def rho(ranks_a: np.ndarray, ranks_b: np.ndarray) -> np.ndarray:
        ca = ranks_a - ranks_a.mean(axis=-1, keepdims=True)
        cb = ranks_b - ranks_b.mean(axis=-1, keepdims=True)
        denominator = np.sqrt((ca ** 2).sum(axis=-1) * (cb ** 2).sum(axis=-1))
        return np.where(denominator > 0, (ca * cb).sum(axis=-1) / np.where(denominator > 0, denominator, 1.0), 0.0)

    draws = np.random.default_rng(seed).integers(0, len(a), (n_bootstrap, len(a)))  # (n_bootstrap, n)
    resampled = rho(rankdata(a[draws], axis=1), rankdata(b[draws], axis=1))
    low, high = np.quantile(resampled, [(1 - level) / 2, (1 + level) / 2])
    return {"rho": float(rho(rankdata(a), rankdata(b))), "ci_low": float(low), "ci_high": float(high), "n": int(len(a))}


def user_alpha_summary(users_alpha: pd.DataFrame, params: EncodeParams) -> dict[str, float]:
    """Users' mean ``alpha_vision`` (mean, standard deviation) and its Spearman correlation with
    the true visual affinity, with the bootstrap interval of :func:`spearman_interval`."""
    correlation = spearman_interval(users_alpha["alpha_vision"].to_numpy(),
                                    users_alpha["true_visual_affinity"].to_numpy(),
                                    params.eval.n_bootstrap, params.seed, params.eval.ci_level)
    return {"mean_alpha_vision": float(users_alpha["alpha_vision"].mean()),
            "std_alpha_vision": float(users_alpha["alpha_vision"].std()), **correlation}
