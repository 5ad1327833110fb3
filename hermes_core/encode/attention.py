r"""The fused tower's attention weights: by text-query kind and against users' true modality affinity.

:func:`fused_alpha` reads :math:`\alpha_{vision}` of every (query, item) pair from a tower whose
weights follow the query (the gated ``fused`` tower, the cross-attention variant);
:func:`query_share_of_variance` splits their variance into the query's part and the rest,
:func:`effective_vision_share` measures what the ranking uses; :func:`alpha_by_query_kind` summarises it over the held-out visual and
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
from hermes_core.encode.profiles import QuerySet, query_vectors
from hermes_core.encode.training import FREE_WEIGHT_KINDS, TrainedTower, TrainingSet
from hermes_core.evaluation.bootstrap import resampled_means

if TYPE_CHECKING:
    from hermes_core.encode.coldstart import ColdStartEvaluation
    from hermes_core.encode.queries import QueryEvaluation


def headline_fused_kind(towers: dict[str, TrainedTower]) -> str | None:
    """The tower whose weights the headline alpha reports: ``gated`` (``fused``), else the
    cross-attention variant, else ``None``."""
    return next((kind for kind in FREE_WEIGHT_KINDS if kind in towers), None)


def _tensors(model: torch.nn.Module, queries: np.ndarray, encoded: EncodedItems,
             rows: np.ndarray) -> tuple[torch.Tensor, ...]:
    device = next(model.parameters()).device
    return (torch.as_tensor(queries, dtype=torch.float32, device=device),
            torch.as_tensor(encoded.image[rows], dtype=torch.float32, device=device),
            torch.as_tensor(encoded.text[rows], dtype=torch.float32, device=device),
            torch.as_tensor(encoded.masks[rows], device=device))


def fused_alpha(tower: TrainedTower, queries: np.ndarray, encoded: EncodedItems, rows: np.ndarray,
                replica: int = 0) -> np.ndarray:
    r"""``alpha_vision`` of every (query, item) pair of one seed's replica: ``(n_queries, len(rows))``
    (the gated tower's :math:`g_v / (g_v + g_t)`, the attention's :math:`\alpha_{vision}`)."""
    model = tower.models[replica]
    with torch.no_grad():
        _, alpha = model.pairwise_scores(*_tensors(model, queries, encoded, rows))
    return alpha[..., VISION].float().cpu().numpy()


def query_share_of_variance(alpha: np.ndarray) -> float:
    r"""Share of the variance of per-pair weights :math:`\alpha_{qj}` explained by the query alone.

    :math:`\operatorname{Var}_q(\bar\alpha_{q\cdot}) / \operatorname{Var}_{qj}(\alpha_{qj})` (the
    query main effect of a two-way layout with one value per cell): 1 when the weight depends on the
    query only (gates), near 0 when it depends on the item or the interaction. NaN when all weights
    are equal.
    """
    a = np.asarray(alpha, dtype=np.float64)
    total = float(a.var())
    return float(a.mean(axis=1).var() / total) if total > 1e-18 else float("nan")


def effective_vision_share(tower: TrainedTower, queries: np.ndarray, encoded: EncodedItems,
                           rows: np.ndarray, replica: int = 0) -> np.ndarray:
    r"""Per query, the share of the spread of its scores that the vision part carries.

    With :math:`s_{qj} = a_{qj} + b_{qj}` (vision and text parts, :meth:`FusionTower.score_parts`):
    :math:`\operatorname{Var}_j(a_{qj}) / (\operatorname{Var}_j(a_{qj}) + \operatorname{Var}_j(b_{qj}))`
    over the items ``rows``. Unlike alpha it measures what the ranking uses, so it can be read for
    every tower (concatenation included): a bilinear model can select a modality through
    :math:`qP` without any weight moving. ``(n_queries,)``.
    """
    model = tower.models[replica]
    with torch.no_grad():
        a, b = model.score_parts(*_tensors(model, queries, encoded, rows))
    va = a.double().var(dim=1).cpu().numpy()
    vb = b.double().var(dim=1).cpu().numpy()
    return np.where(va + vb > 0, va / np.where(va + vb > 0, va + vb, 1.0), np.nan)


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
    """Per evaluated user: the fused tower's mean ``alpha_vision`` over cold items with both
    modalities (averaged over its seeds), and the world's true modality affinity :math:`m_u` (weight
    of the visual part of relevance before the item's domain shift)."""
    kind = headline_fused_kind(towers)
    if kind is None or inputs.world is None:
        return None
    from hermes_core.world import index_of

    both = evaluation.cold_rows[encoded.text_mask[evaluation.cold_rows] & encoded.image_mask[evaluation.cold_rows]]
    alpha = np.mean([fused_alpha(towers[kind], evaluation.users.vectors, encoded, both, replica=r)
                     for r in range(len(towers[kind].models))], axis=0)
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


def best_gate_recovery(users_alpha: pd.DataFrame, best_alpha: np.ndarray, params: EncodeParams) -> dict[str, float]:
    """Spearman correlation (with its bootstrap interval) between the truth-chosen best gate of each
    user (:func:`~.oracle.oracle_table`, users in the order of ``users_alpha``) and the true visual
    affinity: how much of :math:`m_u` a gate *could* recover, beside what the fused tower's does."""
    kept = ~np.isnan(best_alpha)
    return spearman_interval(best_alpha[kept], users_alpha["true_visual_affinity"].to_numpy()[kept],
                             params.eval.n_bootstrap, params.seed, params.eval.ci_level)


def user_alpha_summary(users_alpha: pd.DataFrame, params: EncodeParams) -> dict[str, float]:
    """Users' mean ``alpha_vision`` (mean, standard deviation) and its Spearman correlation with
    the true visual affinity, with the bootstrap interval of :func:`spearman_interval`."""
    correlation = spearman_interval(users_alpha["alpha_vision"].to_numpy(),
                                    users_alpha["true_visual_affinity"].to_numpy(),
                                    params.eval.n_bootstrap, params.seed, params.eval.ci_level)
    return {"mean_alpha_vision": float(users_alpha["alpha_vision"].mean()),
            "std_alpha_vision": float(users_alpha["alpha_vision"].std()), **correlation}


def weight_diagnostics(queries: QueryEvaluation, towers: dict[str, TrainedTower], training: TrainingSet,
                       encoded: EncodedItems) -> pd.DataFrame:
    """Per tower and held-out query kind: the mean ``alpha_vision`` (free-weight towers), the mean
    :func:`effective_vision_share` (every tower with both modalities) and, per tower, the
    :func:`query_share_of_variance` of its per-pair weights over all held-out queries (first seed).

    Rows ``(model, kind)``; NaN where a number does not apply (fixed weights have no variance).
    """
    test = training.queries["is_test"].to_numpy()
    vectors = query_vectors(training.query_text[test], encoded.image_dim)
    kinds = training.queries.loc[test, "kind"].to_numpy()
    rows = []
    for tower in towers.values():
        if tower.kind not in ("gated", "cross_attention", "concat"):
            continue
        share = effective_vision_share(tower, vectors, encoded, queries.both_rows)
        weights = queries.weights.get(tower.label)
        query_share = query_share_of_variance(weights) if weights is not None else np.nan
        for kind in ("visual", "content"):
            chosen = kinds == kind
            rows.append({"model": tower.label, "kind": kind,
                         "mean alpha_vision": float(weights[chosen].mean()) if weights is not None else np.nan,
                         "effective vision share": float(np.nanmean(share[chosen])),
                         "query share of weight variance": query_share})
    return pd.DataFrame(rows).set_index(["model", "kind"]) if rows else pd.DataFrame()


def profile_reveals_weight(users: QuerySet, true_affinity: np.ndarray, text_dim: int, seed: int,
                           n_folds: int = 5) -> pd.DataFrame:
    r"""Can a user's profile reveal the true modality weight at all? Cross-validated :math:`R^2` of a
    ridge regression of :math:`\operatorname{logit} m_u` on what a user gate can read.

    Feature sets: the gate's own input :math:`\phi(q) = [q; \lVert q^{txt}\rVert; \lVert q^{img}\rVert]`
    plus :math:`\log` (clicks); and the two norms with :math:`\log` (clicks) alone. Features standardised
    (inside each training fold), ridge penalty chosen
    by leave-one-out within each training fold (``RidgeCV``, :math:`10^{-2} \dots 10^{4}`); ``n_folds``
    shuffled folds from ``seed``. An :math:`R^2` near 0 means no linear gate on the profile can
    recover the weight, whatever its training. Rows: feature set; columns ``cv R2``, ``cv R2 sd``.
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    m = np.clip(np.asarray(true_affinity, dtype=np.float64), 1e-6, 1 - 1e-6)
    target = np.log(m) - np.log1p(-m)
    vectors = np.asarray(users.vectors, dtype=np.float64)
    extra = np.stack([np.linalg.norm(vectors[:, :text_dim], axis=1), np.linalg.norm(vectors[:, text_dim:], axis=1),
                      np.log(np.maximum(users.n_positives, 1))], axis=1)
    folds = KFold(n_folds, shuffle=True, random_state=seed % (2**32))
    rows = {}
    for name, features in (("gate input + log clicks", np.hstack([vectors, extra])),
                           ("profile norms + log clicks", extra)):
        model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 4, 13)))
        scores = cross_val_score(model, features, target, cv=folds, scoring="r2")
        rows[name] = {"cv R2": float(scores.mean()), "cv R2 sd": float(scores.std(ddof=1))}
    return pd.DataFrame(rows).T
