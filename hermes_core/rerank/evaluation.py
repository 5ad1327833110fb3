r"""Scoring slates against the truth: NDCG@10, expected clicks, diversity, coverage, exposure and its
fairness, each with a bootstrap interval over users.

**Protocol.** Each list's candidate pool is the rank stage's top ``rerank.max_candidates`` for a
logged test request of the world (or PureSVD's top candidates of a MovieLens user); every policy
shows :math:`K` of them. The policies see only the ranker's scores; the evaluation uses the truth
(:class:`Truth`):

* **NDCG@10** (:func:`hermes_core.evaluation.ranking.ndcg_at_k`): gains :math:`2^g - 1` of the
  true graded relevance :math:`g \in \{0..4\}` (the world's contextual grade given the session's
  history and context; on MovieLens, rating - 1 of a held-out rating, 0 for an unrated film), log2
  discount, the ideal DCG over **the whole candidate pool**, so a relevant candidate a policy
  leaves out of its top 10 costs it. A list without any relevant candidate is skipped (excluded
  from the mean, counted).
* **Expected clicks** of the slate under the world's click model (``World.expected_clicks``:
  examination by position, attractiveness of the continuous grade, similarity fatigue: an item much
  like one shown above it is clicked less), given the session and the request's context. Not
  available on MovieLens.
* **Intra-list diversity** (:func:`~hermes_core.rerank.exposure.intra_list_diversity`): mean
  pairwise :math:`1 - \cos` of the shown items' vectors; **category coverage**: share of the
  categories present in the slate.
* **Exposure per cohort** :math:`\operatorname{Exp}(G) = \sum_b \sum_{k:\, g(\pi_b(k)) = G} 1/\log_2(k+1)`
  and the **disparate-exposure ratio** of cohort :math:`A` (``rerank.cohorts.protected``) over
  :math:`B`,
  :math:`\mathrm{DER} = \frac{\operatorname{Exp}(A)/\operatorname{Rel}(A)}{\operatorname{Exp}(B)/\operatorname{Rel}(B)}`
  (:mod:`~hermes_core.rerank.exposure`), with the **true merit** of every candidate in the pools,
  :math:`\operatorname{Rel}(G) = \sum_b \sum_{i \in G \cap C_b} (2^{\tilde g_{b,i}} - 1)/15`,
  :math:`\tilde g` the world's continuous grade (what the click model's attractiveness grows with;
  on MovieLens the held-out grade). 1 is parity; below 1, :math:`A` is under-exposed for its merit.
* **Gini of item exposure** over the whole catalogue of the lists (on MovieLens, the films with a
  director), all users' slates summed (:func:`~hermes_core.rerank.exposure.exposure_gini`).

**Uncertainty.** Users are resampled with replacement (:func:`hermes_core.evaluation.bootstrap.resampled_means`,
the same seed for every run, so the resamples are shared and the intervals are paired). A mean's
interval is the percentile interval of its resampled means; a ratio of sums (DER, NDCG over the
scored lists, the relative NDCG loss) is recomputed on each resample from the resampled means of
its parts. The Gini is not a mean: a resample repeats some users and drops others, which
concentrates item exposure, so the resampled Ginis sit *above* the sample's (on the default world
by about twice their spread) and their percentile interval can miss the estimate itself. Its
interval is therefore the normal one, :math:`G \pm z_{1-\alpha/2}\,\mathrm{sd}_{\text{boot}}`,
and the bootstrap's bias :math:`\overline{G^*} - G` is reported beside it. A difference to the unreranked list is a
paired bootstrap (:func:`hermes_core.evaluation.bootstrap.paired_bootstrap`), read as beats, ties
or loses (:mod:`hermes_core.evaluation.verdict`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hermes_core.evaluation.bootstrap import paired_bootstrap, resampled_means
from hermes_core.evaluation.ranking import ndcg_at_k
from hermes_core.evaluation.verdict import Comparison
from hermes_core.rerank.exposure import (
    category_coverage,
    exposure_gini,
    gini_coefficient,
    intra_list_diversity,
    position_exposure,
)
from hermes_core.rerank.inputs import CandidateLists
from hermes_core.rerank.policies import PolicyRun

NDCG_K = 10
"""The cut-off of the headline NDCG (``ndcg_at_10`` in the metrics)."""

ExpectedClicks = Callable[[int, np.ndarray], np.ndarray]
"""``(row, slates (m, K) catalogue indices) -> (m,)`` expected clicks of each slate for list ``row``."""


@dataclass(frozen=True, eq=False)
class Truth:
    """What the evaluation knows and no policy sees: ``grades (B, N)`` graded relevance 0..4 (NDCG),
    ``merit (B, N)`` in [0, 1] (exposure per relevance), ``expected_clicks`` (``None``: no click
    model) and a sentence saying where they come from."""

    grades: np.ndarray
    merit: np.ndarray
    expected_clicks: ExpectedClicks | None
    description: str


@dataclass(frozen=True, eq=False)
class SlateScores:
    """Per-list values of one run: ``ndcg (B,)`` (NaN: skipped), ``ild``, ``coverage``,
    ``expected_clicks`` (NaN without a click model), ``exposure (B, 2)`` of [A, B] and
    ``catalogue_slates (B, K)``."""

    ndcg: np.ndarray
    ild: np.ndarray
    coverage: np.ndarray
    expected_clicks: np.ndarray
    exposure: np.ndarray
    catalogue_slates: np.ndarray


def ranking_scores(slates: np.ndarray, n_candidates: int) -> np.ndarray:
    """``(B, N)`` scores that :func:`~hermes_core.evaluation.ranking.ndcg_at_k` sorts into ``slates``:
    ``K - position`` on the shown columns, ``-inf`` elsewhere (never in a top ``k <= K``)."""
    n_lists, k = slates.shape
    scores = np.full((n_lists, n_candidates), -np.inf)
    rows, positions = np.nonzero(slates >= 0)
    scores[rows, slates[rows, positions]] = (k - positions).astype(np.float64)
    return scores


def cohort_merit(lists: CandidateLists, truth: Truth) -> np.ndarray:
    """``(B, 2)`` true merit of each list's candidates in cohort A and in cohort B (padding: none)."""
    merit = np.where(lists.mask, truth.merit, 0.0)
    return np.stack([(merit * lists.protected).sum(axis=1), (merit * ~lists.protected).sum(axis=1)], axis=1)


def cohort_exposure(lists: CandidateLists, slates: np.ndarray) -> np.ndarray:
    """``(B, 2)`` exposure :math:`\\sum_k 1/\\log_2(k + 1)` each list's slate gives cohort A and B."""
    weights = np.broadcast_to(position_exposure(slates.shape[1]), slates.shape)
    shown = slates >= 0
    in_a = np.take_along_axis(lists.protected, np.maximum(slates, 0), axis=1) & shown
    return np.stack([(weights * in_a).sum(axis=1), (weights * (shown & ~in_a)).sum(axis=1)], axis=1)


def slate_coverage(lists: CandidateLists, catalogue_slates: np.ndarray) -> np.ndarray:
    """``(B,)`` category coverage: :func:`~hermes_core.rerank.exposure.category_coverage` for a
    single category per item; for multi-label items ``(n_items, C)`` the share of the ``C``
    categories that any shown item carries."""
    if lists.item_category.ndim == 1:
        return category_coverage(catalogue_slates, lists.item_category, lists.n_categories)
    labels = lists.item_category[np.maximum(catalogue_slates, 0)] & (catalogue_slates >= 0)[..., None]  # (B, K, C)
    return labels.any(axis=1).sum(axis=1) / lists.n_categories


def score_slates(lists: CandidateLists, truth: Truth, slates: np.ndarray,
                 expected_clicks: np.ndarray | None = None) -> SlateScores:
    """Every per-list measure of one run's ``slates (B, K)`` (module docstring); ``expected_clicks``
    computed elsewhere (:func:`expected_clicks_of_runs`, one call per list for all runs)."""
    catalogue = lists.catalogue_slates(slates)
    # NDCG_K zero-grade placeholders rank after the shown items and before the unshown ones, so a
    # slate shorter than NDCG_K (or with empty slots) is never credited with candidates it did not show
    n_lists = lists.n_lists
    scores = np.hstack([ranking_scores(slates, lists.n_candidates), np.zeros((n_lists, NDCG_K))])
    grades = np.hstack([np.where(lists.mask, truth.grades, 0.0), np.zeros((n_lists, NDCG_K))])
    ndcg = ndcg_at_k(scores, grades, NDCG_K).per_query
    shown = catalogue >= 0
    ild = intra_list_diversity(lists.item_vectors[np.maximum(catalogue, 0)], shown)
    clicks = np.full(lists.n_lists, np.nan) if expected_clicks is None else np.asarray(expected_clicks, dtype=float)
    return SlateScores(ndcg=ndcg, ild=ild, coverage=slate_coverage(lists, catalogue), expected_clicks=clicks,
                       exposure=cohort_exposure(lists, slates), catalogue_slates=catalogue)  # fmt: skip


def expected_clicks_of_runs(lists: CandidateLists, truth: Truth, runs: Sequence[PolicyRun]) -> list[np.ndarray | None]:
    """Per run, ``(B,)`` expected clicks of its slates (``None`` for all when the truth has no click
    model), all runs' slates of one list in one call. A slate with an empty slot is an error: the
    click model needs ``K`` items."""
    if truth.expected_clicks is None:
        return [None] * len(runs)
    out = np.zeros((len(runs), lists.n_lists))
    catalogue = np.stack([lists.catalogue_slates(run.slates) for run in runs])  # (m, B, K)
    for row in range(lists.n_lists):
        stacked = catalogue[:, row]  # (m, K)
        if (stacked < 0).any():
            raise ValueError(f"list {lists.keys[row]!r}: a slate has an empty slot; the click model needs K items")
        out[:, row] = truth.expected_clicks(row, stacked)
    return list(out)


# ----------------------------------------------------------------------------- summaries
MEASURES: tuple[str, ...] = ("ndcg_at_10", "ild", "coverage", "expected_clicks", "exposure_ratio",
                             "protected_exposure_share", "exposure_gini")


def _normal_quantile(level: float) -> float:
    """:math:`z_{1 - \\alpha/2}` of a two-sided interval at ``level``."""
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2.0))


def _interval(values: np.ndarray, level: float) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    alpha = 1.0 - level
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def _columns(scores: SlateScores, merit: np.ndarray) -> np.ndarray:
    """``(B, 10)``: ndcg (0 where skipped), scored (0/1), ild (0 where NaN), ild defined (0/1),
    coverage, expected clicks (NaN as 0; only used when all are finite), Exp A, Exp B, Rel A, Rel B.
    NDCG and ILD are ratios of the resampled means of their value and flag columns, so a skipped list
    is left out of the interval as it is of the point estimate."""
    scored = np.isfinite(scores.ndcg)
    has_ild = np.isfinite(scores.ild)
    return np.column_stack([np.where(scored, scores.ndcg, 0.0), scored, np.where(has_ild, scores.ild, 0.0), has_ild,
                            scores.coverage, np.nan_to_num(scores.expected_clicks), scores.exposure, merit])


def exposure_ratio(exposure: np.ndarray, merit: np.ndarray) -> float:
    """DER of cohort A over B from per-list (or summed) exposure and merit ``(.., 2)``; NaN when a
    cohort has no merit, ``inf`` when B gets no exposure."""
    e = np.asarray(exposure, dtype=float).reshape(-1, 2).sum(axis=0)
    r = np.asarray(merit, dtype=float).reshape(-1, 2).sum(axis=0)
    if not (r > 0).all():
        return float("nan")
    if e[1] == 0:
        return float("inf") if e[0] > 0 else float("nan")
    return float((e[0] / r[0]) / (e[1] / r[1]))


def summarise(lists: CandidateLists, truth: Truth, run: PolicyRun, scores: SlateScores, *, n_bootstrap: int,
              seed: int, level: float, gini_interval: bool = False) -> dict[str, float | str | int]:
    """One row of the results table: each measure's point value and interval (``<measure>_low``,
    ``<measure>_high``), lists scored, and the run's setting and time. The resamples use ``seed``
    for every run, so two runs' intervals come from the same resampled users."""
    merit = cohort_merit(lists, truth)
    columns = _columns(scores, merit)
    means = resampled_means(columns, n_bootstrap, seed)  # (n_bootstrap, 10)
    with np.errstate(invalid="ignore", divide="ignore"):
        resampled = {
            "ndcg_at_10": means[:, 0] / means[:, 1],
            "ild": means[:, 2] / means[:, 3],
            "coverage": means[:, 4],
            "expected_clicks": means[:, 5],
            "exposure_ratio": (means[:, 6] / means[:, 8]) / (means[:, 7] / means[:, 9]),
            "protected_exposure_share": means[:, 6] / (means[:, 6] + means[:, 7]),
        }
    has_clicks = bool(np.isfinite(scores.expected_clicks).all())
    point = {
        "ndcg_at_10": float(np.nanmean(scores.ndcg)) if np.isfinite(scores.ndcg).any() else float("nan"),
        "ild": float(np.nanmean(scores.ild)) if np.isfinite(scores.ild).any() else float("nan"),
        "coverage": float(scores.coverage.mean()),
        "expected_clicks": float(scores.expected_clicks.mean()) if has_clicks else float("nan"),
        "exposure_ratio": exposure_ratio(scores.exposure, merit),
        "protected_exposure_share": float(scores.exposure[:, 0].sum() / scores.exposure.sum()),
        "exposure_gini": exposure_gini(scores.catalogue_slates, lists.n_items),
    }
    row: dict[str, float | str | int] = {"policy": run.policy, "label": run.label, "knob": run.knob or "",
                                         "value": run.value}
    for measure in MEASURES:
        row[measure] = point[measure]
        if measure == "expected_clicks" and not has_clicks:
            row[f"{measure}_low"] = row[f"{measure}_high"] = float("nan")
        elif measure in resampled:
            row[f"{measure}_low"], row[f"{measure}_high"] = _interval(resampled[measure], level)
    if gini_interval:
        slates = scores.catalogue_slates
        exposure_matrix = np.zeros((lists.n_lists, lists.n_items))  # (B, n_items) each list's item exposure
        rows, positions = np.nonzero(slates >= 0)
        np.add.at(exposure_matrix, (rows, slates[rows, positions]), position_exposure(slates.shape[1])[positions])
        item_means = resampled_means(exposure_matrix, n_bootstrap, seed)  # (n_bootstrap, n_items)
        ginis = np.array([gini_coefficient(values) for values in item_means])
        half_width = float(_normal_quantile(level) * ginis.std(ddof=1))
        row["exposure_gini_low"] = point["exposure_gini"] - half_width
        row["exposure_gini_high"] = point["exposure_gini"] + half_width
        row["exposure_gini_bootstrap_bias"] = float(ginis.mean() - point["exposure_gini"])
    else:
        row["exposure_gini_low"] = row["exposure_gini_high"] = row["exposure_gini_bootstrap_bias"] = float("nan")
    row.update({"lists": lists.n_lists, "lists_scored": int(np.isfinite(scores.ndcg).sum()), "seconds": run.seconds})
    return row


def relative_ndcg_loss(before: SlateScores, after: SlateScores, *, n_bootstrap: int, seed: int,
                       level: float) -> tuple[float, float, float]:
    """:math:`1 - \\mathrm{NDCG@10}_{\\text{after}} / \\mathrm{NDCG@10}_{\\text{before}}` over the lists
    both score, with its percentile interval from resampled users (the two means recomputed on
    each resample)."""
    both = np.isfinite(before.ndcg) & np.isfinite(after.ndcg)
    columns = np.column_stack([before.ndcg[both], after.ndcg[both]])
    means = resampled_means(columns, n_bootstrap, seed)
    loss = 1.0 - means[:, 1] / means[:, 0]
    low, high = _interval(loss, level)
    return float(1.0 - columns[:, 1].mean() / columns[:, 0].mean()), low, high


def paired_difference(after: np.ndarray, before: np.ndarray, *, n_bootstrap: int, seed: int,
                      level: float) -> Comparison | None:
    """``after - before`` per list, paired bootstrap over the lists both score; ``None`` when fewer
    than 2 lists or no values (no click model)."""
    a, b = np.asarray(after, dtype=float), np.asarray(before, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    if keep.sum() < 2:
        return None
    return paired_bootstrap(a[keep], b[keep], level=level, n_bootstrap=n_bootstrap, seed=seed)


def comparisons_table(before: SlateScores, runs: dict[str, SlateScores], *, n_bootstrap: int, seed: int,
                      level: float) -> pd.DataFrame:
    """Per run: NDCG@10, expected clicks and ILD minus the unreranked list's (paired intervals and
    verdicts), and the relative NDCG loss with its interval."""
    rows = []
    for name, scores in runs.items():
        row: dict[str, float | str] = {"policy": name}
        for measure, attribute in (("ndcg_at_10", "ndcg"), ("expected_clicks", "expected_clicks"), ("ild", "ild")):
            comparison = paired_difference(getattr(scores, attribute), getattr(before, attribute),
                                           n_bootstrap=n_bootstrap, seed=seed, level=level)  # fmt: skip
            if comparison is None:
                row.update({f"{measure}_diff": np.nan, f"{measure}_diff_low": np.nan, f"{measure}_diff_high": np.nan,
                            f"{measure}_verdict": "n/a"})  # fmt: skip
                continue
            row.update({f"{measure}_diff": comparison.difference, f"{measure}_diff_low": comparison.ci_low,
                        f"{measure}_diff_high": comparison.ci_high, f"{measure}_verdict": comparison.verdict})
        loss, low, high = relative_ndcg_loss(before, scores, n_bootstrap=n_bootstrap, seed=seed, level=level)
        row.update({"ndcg_relative_loss": loss, "ndcg_relative_loss_low": low, "ndcg_relative_loss_high": high})
        rows.append(row)
    return pd.DataFrame(rows).set_index("policy")


# ----------------------------------------------------------------------------- Pareto front
def pareto_front(points: pd.DataFrame, maximise: str, other: str, other_better: str = "higher") -> np.ndarray:
    """``(n,)`` bool: the points no other point dominates on (``maximise`` higher, ``other`` higher or
    lower as ``other_better`` says), at least as good on both and better on one. NaN rows are never
    on the front."""
    x = points[maximise].to_numpy(dtype=float)
    y = points[other].to_numpy(dtype=float) * (1.0 if other_better == "higher" else -1.0)
    valid = np.isfinite(x) & np.isfinite(y)
    front = np.zeros(len(points), dtype=bool)
    for i in np.flatnonzero(valid):
        dominated = valid & (x >= x[i]) & (y >= y[i]) & ((x > x[i]) | (y > y[i]))
        front[i] = not dominated.any()
    return front


def parity_distance(ratio: np.ndarray | pd.Series) -> np.ndarray:
    """:math:`|\\log \\mathrm{DER}|`: how far a ratio is from parity, the same for 0.8 and 1.25."""
    return np.abs(np.log(np.asarray(ratio, dtype=float)))


def interval_verdict(low: float, high: float, lower: float = -np.inf, upper: float = np.inf) -> str:
    """Whether an interval ``[low, high]`` meets the target ``[lower, upper]``: ``meets (interval
    inside)``, ``misses (interval outside)`` (no overlap) or ``inconclusive (interval crosses)``
    (also when the interval is not finite)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "inconclusive (no interval)"
    if lower <= low and high <= upper:
        return "meets (interval inside)"
    if high < lower or low > upper:
        return "misses (interval outside)"
    return "inconclusive (interval crosses)"


__all__ = ["MEASURES", "NDCG_K", "SlateScores", "Truth", "cohort_exposure", "cohort_merit", "comparisons_table",
           "expected_clicks_of_runs", "exposure_ratio", "interval_verdict", "pareto_front", "parity_distance",
           "paired_difference", "ranking_scores", "relative_ndcg_loss", "score_slates", "slate_coverage", "summarise"]
