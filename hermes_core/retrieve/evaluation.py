r"""Recall of every source and of the blend against the world's truth, with intervals over requests.

For a request with relevant set :math:`R` (:mod:`hermes_core.retrieve.world_requests`) and a
candidate list :math:`C`, :math:`\text{recall@}k = |C_{1..k} \cap R| / |R|` (requests with an empty
:math:`R` are left out, as :func:`hermes_core.evaluation.ranking.recall_at_k` does). A mean over
requests carries a percentile bootstrap interval over requests; all lists of one table are
resampled together (:func:`~hermes_core.evaluation.bootstrap.resampled_means`), so a difference
between two sources can be read on the same resamples (:func:`paired_recall_difference`).

The **logged protocol** (labelled so): the share of logged requests whose own next click (an item
clicked in that request, not in the history) is among the first :math:`k` candidates. It is biased
towards what the logging policy showed, which the contextual truth is not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np
import pandas as pd

from hermes_core.evaluation.bootstrap import paired_bootstrap, resampled_means
from hermes_core.retrieve.blending import SourceResult


def recall_at(items: np.ndarray, relevant: np.ndarray, k: int) -> float:
    """``|items[:k] ∩ relevant| / |relevant|``; NaN for an empty ``relevant``."""
    if len(relevant) == 0:
        return float("nan")
    return float(np.isin(np.asarray(items)[:k], relevant).sum() / len(relevant))


def recall_matrix(lists: Mapping[str, Sequence[SourceResult | None]], relevant: Sequence[np.ndarray],
                  k: int) -> pd.DataFrame:
    """Per request (rows) and list (columns) recall@k; a missing list (a failed source) has recall 0."""
    return pd.DataFrame({name: [recall_at(np.zeros(0) if result is None else result.items, truth, k)
                                for result, truth in zip(results, relevant, strict=True)]
                         for name, results in lists.items()})  # fmt: skip


def recall_table(lists: Mapping[str, Sequence[SourceResult | None]], relevant: Sequence[np.ndarray],
                 query_class: Sequence[str], ks: Sequence[int], *, level: float = 0.95,
                 n_bootstrap: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Mean recall@k with its percentile bootstrap interval over requests, per (query class, k,
    list), plus the class ``all``. Columns: ``recall``, ``low``, ``high``, ``n_requests``."""
    classes = np.asarray(query_class, dtype=object)
    rows = []
    for k in ks:
        matrix = recall_matrix(lists, relevant, k)
        for name in ["all", *dict.fromkeys(classes)]:
            chosen = np.ones(len(classes), bool) if name == "all" else classes == name
            part = matrix[chosen].dropna()
            if part.empty:
                continue
            means = resampled_means(part.to_numpy(dtype=np.float64), n_bootstrap, seed)
            alpha = 1.0 - level
            low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2], axis=0)
            for j, source in enumerate(part.columns):
                rows.append({"query_class": name, "k": int(k), "list": source, "recall": float(part[source].mean()),
                             "low": float(low[j]), "high": float(high[j]), "n_requests": int(len(part))})  # fmt: skip
    return pd.DataFrame(rows)


def paired_recall_difference(lists: Mapping[str, Sequence[SourceResult | None]], relevant: Sequence[np.ndarray],
                             a: str, b: str, k: int, *, level: float = 0.95, n_bootstrap: int = 2000,
                             seed: int = 0) -> tuple[float, float, float]:
    """Mean recall@k of ``a`` minus ``b`` over the same requests, with its paired bootstrap
    interval: ``(difference, low, high)``."""
    matrix = recall_matrix({a: lists[a], b: lists[b]}, relevant, k).dropna()
    comparison = paired_bootstrap(matrix[a].to_numpy(), matrix[b].to_numpy(), level=level,
                                  n_bootstrap=n_bootstrap, seed=seed)  # fmt: skip
    return comparison.difference, comparison.ci_low, comparison.ci_high


def next_click_hit_rate(lists: Mapping[str, Sequence[SourceResult | None]], next_clicks: Sequence[np.ndarray],
                        ks: Sequence[int]) -> pd.DataFrame:
    """Logged protocol: per list and k, the share of requests with a next click whose next click is
    in the first k candidates (requests without one are left out)."""
    with_click = [i for i, clicks in enumerate(next_clicks) if len(clicks)]
    rows = []
    for name, results in lists.items():
        for k in ks:
            hits = [bool(np.isin(next_clicks[i], (np.zeros(0) if results[i] is None else results[i].items)[:k]).any())
                    for i in with_click]  # fmt: skip
            rows.append({"list": name, "k": int(k), "hit_rate": float(np.mean(hits)) if hits else float("nan"),
                         "n_requests": len(hits), "protocol": "logged next click"})  # fmt: skip
    return pd.DataFrame(rows)


def overlap_of_found(lists: Mapping[str, Sequence[SourceResult | None]], relevant: Sequence[np.ndarray],
                     k: int) -> pd.DataFrame:
    """UpSet-style counts: for every non-empty combination of lists, the mean number of relevant
    items per request found by exactly that combination in their first ``k`` (an item found by ANN
    and SASRec but not the graph counts for ``ann+sasrec``), and its share of all found."""
    names = list(lists)
    counts: dict[tuple[str, ...], float] = {combo: 0.0 for r in range(1, len(names) + 1)
                                            for combo in combinations(names, r)}  # fmt: skip
    n = 0
    for i, truth in enumerate(relevant):
        if len(truth) == 0:
            continue
        n += 1
        found = {name: set(np.asarray(lists[name][i].items[:k]).tolist()) & set(truth.tolist())
                 if lists[name][i] is not None else set() for name in names}  # fmt: skip
        for item in set().union(*found.values()):
            combo = tuple(name for name in names if item in found[name])
            counts[combo] += 1
    total = sum(counts.values())
    rows = [{"combination": "+".join(combo), "n_lists": len(combo), "found_per_request": value / max(n, 1),
             "share_of_found": value / total if total else float("nan")} for combo, value in counts.items()]
    return pd.DataFrame(rows).sort_values(["n_lists", "combination"]).reset_index(drop=True)


__all__ = ["next_click_hit_rate", "overlap_of_found", "paired_recall_difference", "recall_at", "recall_matrix",
           "recall_table"]
