r"""The modality oracle: concatenation reweighed with the world's true modality weight.

The world weighs the visual part of a user's taste for item :math:`i` by
:math:`w_{ui} = \sigma(\operatorname{logit} m_u + s_m M_{d(i)})` (the user's look affinity shifted by
the item's domain; :func:`hermes_core.world.preferences.modality_weight` in a neutral session). The
trained concat tower scores :math:`s = \langle qP, [v, t] W_c \rangle = a + b` with
:math:`a = \langle qP, v W_c^{v} \rangle` and :math:`b = \langle qP, t W_c^{t} \rangle` (the vision and
text blocks of :math:`W_c`). The oracle reweighs the two parts with the truth,

.. math::

    s^{\mathrm{oracle}}_{ui} = \frac{w_{ui}}{\bar w}\, a_{ui} + \frac{1 - w_{ui}}{1 - \bar w}\, b_{ui},

centred on concatenation (:math:`w_{ui} = \bar w` gives :math:`a + b`), with :math:`\bar w` the mean
weight over the evaluated pairs. It reads the truth, so it is a diagnostic, not a model: what
knowing each user's weight (and the item's domain shift, which no user gate sees) does to
concatenation when the learned parts are reweighed as the world weighs its own. It is no ceiling:
it can score below concatenation when the learned parts do not split relevance as the world does.

The learned parts need not split relevance the way the world does (the text part also carries the
item's domain, which the world does not weigh by :math:`w`), so :func:`oracle_table` also reports the
reweighing at smaller strengths, a shuffled-weight control and the best gate per user chosen with
the truth (an upper bound).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from hermes_core.encode.catalogue import EncodedItems
from hermes_core.encode.fusion import ConcatTower
from hermes_core.encode.inputs import EncodeInputs
from hermes_core.encode.profiles import QuerySet


def true_modality_weights(inputs: EncodeInputs, user_ids: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """:math:`w_{ui}` of every user and item row, neutral session: ``(n_users, len(rows))``."""
    from hermes_core.world import index_of
    from hermes_core.world.preferences import modality_weight

    world = inputs.world
    if world is None:
        raise ValueError("the modality oracle needs the world's truth (source: world)")
    users = np.array([index_of(u) for u in user_ids], dtype=np.int64)
    return modality_weight(world.params, world.users, world.catalogue, users, inputs.world_item_index[rows],
                           np.zeros(len(users)))


@torch.no_grad()
def concat_parts(model: ConcatTower, queries: np.ndarray, encoded: EncodedItems,
                 rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)``: the vision and text parts of the concat tower's score, each ``(n_queries, len(rows))``."""
    device = next(model.parameters()).device
    d_v = model.d_v
    weight = model.value_concat.weight  # (output_dim, d_v + d_t), columns [vision, text]
    projected = model.encode_queries(torch.as_tensor(queries, dtype=torch.float32, device=device))
    masks = torch.as_tensor(encoded.masks[rows], device=device)
    vision = torch.as_tensor(encoded.image[rows], dtype=torch.float32, device=device) * masks[:, 0, None]
    text = torch.as_tensor(encoded.text[rows], dtype=torch.float32, device=device) * masks[:, 1, None]
    a = projected @ (vision @ weight[:, :d_v].T).T
    b = projected @ (text @ weight[:, d_v:].T).T
    return a.cpu().numpy().astype(np.float64), b.cpu().numpy().astype(np.float64)


def oracle_scores(a: np.ndarray, b: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The module docstring's :math:`s^{oracle}` from the parts and the true weights (all the same shape)."""
    w = np.asarray(weights, dtype=np.float64)
    mean = float(w.mean())
    return w / mean * a + (1.0 - w) / (1.0 - mean) * b


def modality_oracle_scores(inputs: EncodeInputs, users: QuerySet, rows: np.ndarray, encoded: EncodedItems,
                           towers: dict) -> list[np.ndarray] | None:
    """The oracle's scores of every concat replica (seed order), or ``None`` without the world's
    truth or a trained concat tower."""
    if inputs.world is None or "concat" not in towers:
        return None
    weights = true_modality_weights(inputs, users.keys, rows)
    return [oracle_scores(*concat_parts(model, users.vectors, encoded, rows), weights)
            for model in towers["concat"].models]


ORACLE_STRENGTHS = (0.25, 0.5, 1.0)
"""Strengths :math:`\\lambda` of the reweighing in :func:`oracle_table`: the weight used is
:math:`\\bar w + \\lambda (w_{ui} - \\bar w)` (1: the oracle of the module docstring; 0: concatenation)."""

GATE_GRID = tuple(round(0.1 * step, 1) for step in range(11))
"""The per-user weights :math:`\\alpha` searched by the best-gate upper bound of :func:`oracle_table`."""


def domain_share(scores: np.ndarray, domains: np.ndarray) -> float:
    r"""Mean over users of the share of the variance of a user's scores over items that the items'
    domain explains: :math:`\sum_d n_d (\bar s_{ud} - \bar s_u)^2 / \sum_i (s_{ui} - \bar s_u)^2`
    (the between-domain share, the :math:`R^2` of a regression on domain dummies). ``scores`` is
    ``(n_users, n_items)``, ``domains`` ``(n_items,)``."""
    s = np.asarray(scores, dtype=np.float64)
    centred = s - s.mean(axis=1, keepdims=True)
    total = (centred ** 2).sum(axis=1)
    between = np.zeros(len(s))
    for domain in np.unique(domains):
        chosen = np.asarray(domains) == domain
        between += chosen.sum() * centred[:, chosen].mean(axis=1) ** 2
    return float(np.mean(np.where(total > 0, between / np.where(total > 0, total, 1.0), np.nan)))


def oracle_table(inputs: EncodeInputs, users: QuerySet, rows: np.ndarray, encoded: EncodedItems, towers: dict,
                 grades: np.ndarray, k: int, seed: int) -> tuple[pd.DataFrame, np.ndarray | None, dict[str, float]]:
    r"""What knowing each user's modality weight could add to concatenation, and why the oracle lands
    where it does: cold-start NDCG@k (mean over users, then over concat replicas) of

    * ``concat``: :math:`a + b`;
    * ``true weight, strength λ``: the oracle with the weight :math:`\bar w + \lambda (w_{ui} - \bar w)`
      for each :data:`ORACLE_STRENGTHS` (λ = 1 is the headline oracle);
    * ``shuffled weight`` (control): λ = 1 with the users' weights permuted (``default_rng(seed)``),
      so the gap to the true weight is what the weights themselves carry;
    * ``best gate per user (upper bound)``: :math:`2\alpha a + 2(1-\alpha) b` with, for each user, the
      :data:`GATE_GRID` value that maximises that user's NDCG on the truth: chosen on the evaluation's
      own labels, so a bound no gate can be expected to reach, not an estimate.

    Returns the table (rows in that order, column ``NDCG@k``), the best :math:`\alpha` per user of
    the first replica (NaN for excluded users) and, for the first replica, the :func:`domain_share` of
    the vision part :math:`a` and of the text part :math:`b` (how much of each part is the item's
    domain, a term the world does not weigh by the modality weight); ``(empty, None, {})`` without the
    world or a concat tower.
    """
    from hermes_core.evaluation.ranking import ndcg_at_k

    if inputs.world is None or "concat" not in towers:
        return pd.DataFrame(), None, {}
    weights = true_modality_weights(inputs, users.keys, rows)
    mean = float(weights.mean())
    shuffled = weights[np.random.default_rng(seed).permutation(len(weights))]
    results: dict[str, list[float]] = {}
    best_alpha = None
    shares: dict[str, float] = {}
    domains = inputs.world.catalogue.domain[inputs.world_item_index[rows]]
    for replica, model in enumerate(towers["concat"].models):
        a, b = concat_parts(model, users.vectors, encoded, rows)
        candidates = {"concat": a + b}
        for strength in ORACLE_STRENGTHS:
            candidates[f"true weight, strength {strength:g}"] = oracle_scores(a, b, mean + strength * (weights - mean))
        candidates["shuffled weight (control)"] = oracle_scores(a, b, shuffled)
        for name, scores in candidates.items():
            results.setdefault(name, []).append(ndcg_at_k(scores, grades, k).mean)
        per_alpha = np.array([ndcg_at_k(2 * alpha * a + 2 * (1 - alpha) * b, grades, k).per_query
                              for alpha in GATE_GRID])  # (n_alpha, n_users)
        scored = ~np.isnan(per_alpha[0])
        best = np.where(scored, np.nanmax(np.where(scored, per_alpha, -np.inf), axis=0), np.nan)
        results.setdefault("best gate per user (upper bound)", []).append(float(np.nanmean(best)))
        if replica == 0:
            shares = {"vision part": domain_share(a, domains), "text part": domain_share(b, domains)}
            choice = np.argmax(np.where(scored, per_alpha, -np.inf), axis=0)
            best_alpha = np.where(scored, np.asarray(GATE_GRID)[choice], np.nan)
    table = pd.DataFrame({f"NDCG@{k}": {name: float(np.mean(values)) for name, values in results.items()},
                          "seed sd": {name: float(np.std(values, ddof=1)) if len(values) > 1 else np.nan
                                      for name, values in results.items()}})
    return table, best_alpha, shares
