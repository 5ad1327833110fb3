r"""Cold start from content alone: the protocol, every model's ranking, the paired model differences.

Protocol
--------
Full ranking of *all* cold items for each evaluated user (no sampled negatives), scored by
each model from content alone (cold items have no interaction). NDCG@k uses gains
:math:`2^{rel}-1`, the discount :math:`1/\log_2(r+1)` and the ideal DCG over all cold items;
recall@k counts the relevant cold items in the top k over all relevant cold items. Users with
no relevant cold item are **excluded** from the mean and counted
(:mod:`hermes_core.evaluation.ranking`).

Models: every trained tower, the untrained cosine of each modality's profile part, group
popularity and seeded random scores (:mod:`.baselines`), and on the world the modality oracle
(:mod:`.oracle`, a ceiling, not a model). A trained tower's per-user NDCG is the mean over its
``encode.fusion.n_seeds`` replicas, and its table row carries the standard deviation of the
seed means. Differences between two models are paired per user on those seed-averaged values,
with the percentile bootstrap interval of :func:`hermes_core.evaluation.bootstrap.paired_bootstrap`
and the verdict of :mod:`hermes_core.evaluation.verdict`: the interval covers the sampling of
users; the seed spread is reported beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hermes_core.encode.baselines import popularity_scores, random_scores
from hermes_core.encode.catalogue import EncodedItems
from hermes_core.encode.inputs import EncodeInputs
from hermes_core.encode.params import EncodeParams, EvalParams
from hermes_core.encode.profiles import QuerySet, user_profiles
from hermes_core.encode.oracle import modality_oracle_scores
from hermes_core.encode.training import TrainedTower, seed_scores
from hermes_core.evaluation.bootstrap import paired_bootstrap
from hermes_core.evaluation.ranking import RankingMetric, ndcg_at_k, recall_at_k

BASELINES = ("popularity", "random", "text_cosine", "image_cosine", "oracle")
"""Rankers of the cold-start table that are not trained towers (the oracle is a ceiling that reads
the world's truth; it never counts as "the best model")."""


@dataclass(frozen=True)
class RankingReport:
    """NDCG@k and recall@k of one model over the same users and candidates."""

    ndcg: RankingMetric
    recall: RankingMetric
    ndcg_k: int
    recall_k: int
    n_users: int
    seed_ndcg: tuple[float, ...] = ()  # mean NDCG of each seed's replica (trained towers only)

    @property
    def seed_sd(self) -> float:
        """Standard deviation of :attr:`seed_ndcg` over seeds (NaN with fewer than 2)."""
        return float(np.std(self.seed_ndcg, ddof=1)) if len(self.seed_ndcg) > 1 else float("nan")

    @property
    def n_excluded_ndcg(self) -> int:
        return self.n_users - self.ndcg.n_scored

    @property
    def n_excluded_recall(self) -> int:
        return self.n_users - self.recall.n_scored


def evaluate_ranking(
    scores: np.ndarray, grades: np.ndarray, relevant: np.ndarray, ndcg_k: int, recall_k: int
) -> RankingReport:
    """Full-ranking NDCG@``ndcg_k`` on ``grades`` and recall@``recall_k`` on ``relevant``.

    ``scores``, ``grades`` and ``relevant`` are ``(n_users, n_candidates)``. Users whose grades
    are all 0 (NDCG) or with no relevant candidate (recall) are excluded and counted.
    """
    return RankingReport(
        ndcg=ndcg_at_k(scores, grades, ndcg_k),
        recall=recall_at_k(scores, np.asarray(relevant, dtype=bool), recall_k),
        ndcg_k=ndcg_k,
        recall_k=recall_k,
        n_users=int(np.asarray(scores).shape[0]),
    )


def evaluate_seeds(
    seed_scores: list[np.ndarray], grades: np.ndarray, relevant: np.ndarray, ndcg_k: int, recall_k: int
) -> RankingReport:
    r"""One trained tower over its seeds: per-user NDCG and recall averaged over the replicas.

    :math:`\mathrm{NDCG}_u = \frac1S \sum_s \mathrm{NDCG}_u(\text{replica } s)`; a user excluded by
    one replica is excluded by all (exclusion depends on the grades only). ``seed_ndcg`` keeps each
    replica's mean.
    """
    reports = [evaluate_ranking(scores, grades, relevant, ndcg_k, recall_k) for scores in seed_scores]
    ndcg = np.mean([r.ndcg.per_query for r in reports], axis=0)
    recall = np.mean([r.recall.per_query for r in reports], axis=0)

    def metric(per_user: np.ndarray) -> RankingMetric:
        scored = ~np.isnan(per_user)
        return RankingMetric(float(per_user[scored].mean()) if scored.any() else float("nan"), int(scored.sum()),
                             per_user)

    return RankingReport(ndcg=metric(ndcg), recall=metric(recall), ndcg_k=ndcg_k, recall_k=recall_k,
                         n_users=reports[0].n_users, seed_ndcg=tuple(r.ndcg.mean for r in reports))


def movielens_grades(
    heldout: pd.DataFrame, user_ids: np.ndarray, candidate_rows: np.ndarray, positive_rating: float
) -> tuple[np.ndarray, np.ndarray]:
    r"""Relevance of held-out cold movies from their ratings: ``(grades, relevant)``.

    A cold movie the user rated :math:`r` gets grade :math:`\max(0, \lceil r \rceil - 2)`
    (5 → 3, 4 → 2, 3 → 1, 1-2 → 0); an unrated one 0 (unknown counts as not relevant, the
    usual convention of full-ranking evaluation on MovieLens). ``relevant`` is
    :math:`r \ge` ``positive_rating``. Both are ``(len(user_ids), len(candidate_rows))``.
    """
    user_position = pd.Index(np.asarray(user_ids, dtype=object))
    column = pd.Index(np.asarray(candidate_rows))
    users = user_position.get_indexer(heldout["user_id"].to_numpy(dtype=object))
    columns = column.get_indexer(heldout["item_row"].to_numpy())
    keep = (users >= 0) & (columns >= 0)
    ratings = heldout["rating"].to_numpy(dtype=np.float64)[keep]
    grades = np.zeros((len(user_position), len(column)), dtype=np.int64)
    relevant = np.zeros(grades.shape, dtype=bool)
    grades[users[keep], columns[keep]] = np.maximum(0, np.ceil(ratings) - 2).astype(np.int64)
    relevant[users[keep], columns[keep]] = ratings >= positive_rating
    return grades, relevant


@dataclass
class ColdStartEvaluation:
    """Cold-start rankings of every model over the same users and cold items."""

    users: QuerySet  # profiles of the evaluated users
    cold_rows: np.ndarray
    grades: np.ndarray  # (n_users, n_cold)
    relevant: np.ndarray  # (n_users, n_cold) bool
    reports: dict[str, RankingReport]
    relevance_note: str
    popularity_note: str
    scores: dict[str, np.ndarray] = field(repr=False, default_factory=dict)

    def table(self) -> pd.DataFrame:
        """One row per model: NDCG@k, recall@k and the users scored and excluded by each."""
        rows = []
        for name, report in self.reports.items():
            rows.append({
                "model": name,
                f"NDCG@{report.ndcg_k}": report.ndcg.mean,
                "seed sd": report.seed_sd,
                f"recall@{report.recall_k}": report.recall.mean,
                "users scored (NDCG)": report.ndcg.n_scored,
                "users excluded (NDCG)": report.n_excluded_ndcg,
                "users scored (recall)": report.recall.n_scored,
                "users excluded (recall)": report.n_excluded_recall,
            })
        return pd.DataFrame(rows).set_index("model")


def cold_start_truth(
    inputs: EncodeInputs, users: QuerySet, cold_rows: np.ndarray, params: EncodeParams
) -> tuple[np.ndarray, np.ndarray, str]:
    """``(grades, relevant, note)`` of every evaluated user and cold item."""
    if inputs.world is not None:
        from hermes_core.world import index_of

        user_index = np.array([index_of(u) for u in users.keys], dtype=np.int64)
        grades = inputs.world.relevance(user_index, inputs.world_item_index[cold_rows]).astype(np.int64)
        note = (f"the world's true relevance grade 0..4 (`world.relevance`); relevant for recall: "
                f"grade >= {params.eval.relevant_grade}")
        return grades, grades >= params.eval.relevant_grade, note
    grades, relevant = movielens_grades(
        inputs.heldout_ratings, users.keys, cold_rows, params.split.movielens_positive_rating
    )
    note = ("held-out ratings of the cold movies: grade max(0, ceil(rating) - 2) (5 -> 3, 4 -> 2, 3 -> 1), "
            f"unrated 0; relevant for recall: rating >= {params.split.movielens_positive_rating:g}")
    return grades, relevant, note


def evaluate_cold_start(
    inputs: EncodeInputs, encoded: EncodedItems, towers: dict[str, TrainedTower], params: EncodeParams
) -> ColdStartEvaluation:
    """Rank all cold items for every user with ``>= encode.split.min_user_clicks`` warm positives.

    Models: every trained tower, the untrained cosine of each modality's profile part
    (``text_cosine``, ``image_cosine``), group popularity (creator for the world, genre for
    MovieLens: mean logged exposures per warm item of the group) and seeded random scores.
    """
    users = user_profiles(inputs.positives, encoded.text, encoded.image, encoded.text_mask, encoded.image_mask,
                          params.split.min_user_clicks)
    cold_rows = inputs.cold_rows
    grades, relevant, relevance_note = cold_start_truth(inputs, users, cold_rows, params)
    scores: dict[str, np.ndarray] = {}  # untrained rankers (trained towers: per seed, below)
    trained: dict[str, list[np.ndarray]] = {
        tower.label: seed_scores(tower, users.vectors, encoded, cold_rows) for tower in towers.values()
    }
    d_t = encoded.text_dim
    scores["text_cosine"] = users.vectors[:, :d_t] @ encoded.text[cold_rows].T
    if encoded.image_mask.any():
        scores["image_cosine"] = users.vectors[:, d_t:] @ encoded.image[cold_rows].T
    groups = inputs.items.creator if inputs.world is not None else inputs.items.genre
    popularity_note = (
        f"{'creator' if inputs.world is not None else 'genre'} popularity: mean logged "
        f"{inputs.exposure_kind}s per warm item of the cold item's "
        f"{'creator' if inputs.world is not None else 'genre'} (cold items have none of their own)"
    )
    scores["popularity"] = popularity_scores(
        inputs.exposures["item_row"].to_numpy(), groups, inputs.items.is_cold, cold_rows, len(users.keys), params.seed
    )
    scores["random"] = random_scores(len(users.keys), len(cold_rows), params.seed)
    k, rk = params.eval.ndcg_k, params.eval.recall_k
    reports = {label: evaluate_seeds(matrices, grades, relevant, k, rk) for label, matrices in trained.items()}
    oracle = modality_oracle_scores(inputs, users, cold_rows, encoded, towers)
    if oracle is not None:
        reports["oracle"] = evaluate_seeds(oracle, grades, relevant, k, rk)
    reports.update({name: evaluate_ranking(matrix, grades, relevant, k, rk) for name, matrix in scores.items()})
    scores.update({label: matrices[0] for label, matrices in trained.items()})
    return ColdStartEvaluation(users, cold_rows, grades, relevant, reports, relevance_note, popularity_note, scores)


def best_single_modality(evaluation: ColdStartEvaluation) -> str | None:
    """``text`` or ``image``, whichever tower has the higher mean cold-start NDCG (``None``
    when neither was trained)."""
    singles = [name for name in ("text", "image") if name in evaluation.reports]
    return max(singles, key=lambda name: evaluation.reports[name].ndcg.mean) if singles else None


def comparison_pairs(evaluation: ColdStartEvaluation) -> list[tuple[str, str]]:
    """The ``(A, B)`` model pairs whose paired NDCG difference the stage reports.

    Fixed pairs: the fused tower against each single modality, concat, popularity and random;
    concat against text; the image tower against the text tower; the text tower against the
    untrained text cosine. Pairs chosen by the point estimates (so that a conclusion naming
    "the best model" can say whether it is distinguishable from the others): the model of
    highest mean NDCG against the runner-up, popularity and random; the best trained tower
    against the untrained text cosine. A pair with a missing model or ``A == B`` is dropped;
    duplicates, and mirrors ``(B, A)`` of a pair already listed, are kept once, in first-seen
    order (the mirror's difference is the negated one, see :func:`.conclusions.comparison`).
    """
    reports = evaluation.reports
    ndcg = {name: report.ndcg.mean for name, report in reports.items()}
    ranked = sorted(ndcg, key=lambda name: (-ndcg[name], name))
    trained = [name for name in ranked if name not in BASELINES]
    pairs = [("fused", "text"), ("fused", "image"), ("fused", "concat"), ("concat", "text"), ("image", "text"),
             ("text", "text_cosine"), ("fused", "popularity"), ("fused", "random")]
    if len(ranked) >= 2:
        pairs += [(ranked[0], ranked[1]), (ranked[0], "popularity"), (ranked[0], "random")]
    if trained:
        pairs.append((trained[0], "text_cosine"))
    chosen: list[tuple[str, str]] = []
    for first, second in pairs:
        if (first in reports and second in reports and first != second
                and (first, second) not in chosen and (second, first) not in chosen):
            chosen.append((first, second))
    return chosen


def paired_comparison(a: np.ndarray, b: np.ndarray, params: EvalParams, seed: int) -> dict[str, float | int | str]:
    r"""Mean paired difference :math:`\bar d = \frac1n \sum_u (a_u - b_u)`, its interval and verdict.

    Units where either value is NaN (a user or query a metric excludes) are left out. The
    interval is :func:`hermes_core.evaluation.bootstrap.paired_bootstrap` at ``encode.eval.ci_level``
    with ``encode.eval.n_bootstrap`` resamples and ``seed``; the verdict ("beats", "ties with",
    "loses to": read "A <verdict> B") is :attr:`~hermes_core.evaluation.verdict.Comparison.verdict`.
    With fewer than 2 paired units there is no interval: NaN bounds and verdict ``not compared``.
    Returns ``difference``, ``ci_low``, ``ci_high``, ``n`` (paired units) and ``verdict``.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    kept = ~(np.isnan(a) | np.isnan(b))
    n = int(kept.sum())
    if n < 2:
        difference = float((a[kept] - b[kept]).mean()) if n else float("nan")
        return {"difference": difference, "ci_low": float("nan"), "ci_high": float("nan"), "n": n,
                "verdict": "not compared"}
    result = paired_bootstrap(a, b, level=params.ci_level, n_bootstrap=params.n_bootstrap, seed=seed,
                              drop_missing=True)
    return {"difference": result.difference, "ci_low": result.ci_low, "ci_high": result.ci_high, "n": n,
            "verdict": result.verdict}


def model_differences(evaluation: ColdStartEvaluation, params: EncodeParams) -> pd.DataFrame:
    r"""Paired per-user NDCG differences of :func:`comparison_pairs`, with bootstrap intervals.

    Row ``"A - B"``: :math:`\bar d = \frac1n \sum_u (\mathrm{NDCG}_u(A) - \mathrm{NDCG}_u(B))` over
    the users scored by both, its percentile bootstrap interval over users at ``encode.eval.ci_level``
    (``encode.eval.n_bootstrap`` resamples, seed ``encode.seed``; :func:`paired_comparison`) and
    the verdict ("beats", "ties with", "loses to": read "A <verdict> B"). The interval covers the
    sampling of users, not training randomness.
    """
    reports = evaluation.reports
    rows = {}
    for first, second in comparison_pairs(evaluation):
        result = paired_comparison(reports[first].ndcg.per_query, reports[second].ndcg.per_query, params.eval,
                                   params.seed)
        rows[f"{first} - {second}"] = {
            "first": first, "second": second, "difference": result["difference"], "ci_low": result["ci_low"],
            "ci_high": result["ci_high"], "n_users": result["n"], "verdict": result["verdict"],
        }
    columns = ["first", "second", "difference", "ci_low", "ci_high", "n_users", "verdict"]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns)
