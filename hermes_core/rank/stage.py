"""The rank stage, step by step: the functions notebook ``04_rank`` calls in order.

1. :func:`load_inputs`: the world, its click log, the encode stage's item vectors, the retrieve
   stage's candidates and the temporal split;
2. :func:`fit_pre_ranker`: the two-tower model on the training clicks;
3. :func:`evaluation_sets`, :func:`choose_pool_size` and :func:`build_training_lists`: the
   validation and test candidate sets (retrieve candidates through the pre-ranker's cut) and the
   training lists (drawn from the pre-ranker's top items, true grades), their depth chosen on validation;
4. :func:`train_fine_rankers` / :func:`train_lambdamarts`: every loss and LambdaMART over the seeds;
5. :func:`score_test` and :func:`evaluate_world`: NDCG@k, MRR and expected clicks per ranker and
   cascade step, with spreads over seeds and intervals over requests;
6. :func:`click_bias_experiment` and :func:`observed_versus_true`: clicks as training labels and as
   evaluation labels;
7. :func:`run_movielens` and :func:`run_letor`: the same rankers on real data;
8. :func:`save_scores`: the fine ranker's scores, the stage's output for rerank and explain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from tqdm.auto import tqdm

from hermes_core.data.readers.letor import read_letor
from hermes_core.evaluation.ranking import ndcg_at_k
from hermes_core.rank.click_bias import examination_free_clicks, logged_click_lists, train_from_clicks
from hermes_core.rank.evaluation import (SeedRuns, comparison_table, expected_clicks, paired_comparison,
                                         per_request_metrics, top_items)
from hermes_core.rank.diagnosis import Evaluate
from hermes_core.rank.features import PRE_RANK_COLUMN, FeatureBuilder
from hermes_core.rank.movielens_lists import movielens_rank_data
from hermes_core.rank.lambdamart import TrainedLambdaMart, train_lambdamart
from hermes_core.rank.lists import RankingLists, from_ranking_dataset, masked_scores, pad_lists
from hermes_core.rank.params import RankParams
from hermes_core.rank.training import TrainedRanker, train_fine_ranker, validation_ndcg
from hermes_core.rank.two_tower import TrainedTwoTower, item_inputs, train_two_tower, user_inputs
from hermes_core.rank.world_lists import (CandidateSets, SplitDays, TrainingLists, candidate_sets, retrieved_lists,
                                          sample_requests, split_days, tower_training_clicks, training_lists)
from hermes_core.workspace import MissingDataError, Workspace, shared_dataset_dir
from hermes_core.world.catalogue import SECONDS_PER_DAY
from hermes_core.world.click_log import ClickLog
from hermes_core.world.world import World, index_of

BASELINES: tuple[str, ...] = ("lightgbm_lambdarank", "popularity", "random")


# ----------------------------------------------------------------------------- 1 · inputs
@dataclass(frozen=True, eq=False)
class RankInputs:
    """The world (truth and observables), its click log, the feature builder and the candidates."""

    world: World
    clicks: ClickLog
    builder: FeatureBuilder
    candidates: pd.DataFrame
    days: SplitDays


def item_vectors(folder: Path, world: World) -> np.ndarray:
    """``(n_items, d)`` the encode stage's fused item vectors in world item order."""
    table = pq.read_table(folder / "embeddings.parquet").to_pandas()
    column = next(name for name in table.columns if name.endswith("_item_vector"))
    out = np.zeros((world.n_items, len(table[column].iat[0])))
    out[[index_of(item) for item in table["item_id"]]] = np.stack(table[column].to_numpy())
    return out


def load_inputs(workspace: Workspace, validation_days: float, test_days: float) -> tuple[RankInputs | None, str]:
    """The stage's inputs and a sentence on them; ``None`` and the reason without a synthetic world."""
    try:
        world = World.load(workspace.world)
    except FileNotFoundError:
        return None, (f"No synthetic world at {workspace.world}: the world protocol is skipped (data.source is not "
                      "'world'); the real-data runs still run.")  # fmt: skip
    clicks = ClickLog.of(world.logs)
    days = split_days(world, validation_days, test_days)
    before_validation = clicks.time < days.validation[0] * SECONDS_PER_DAY
    builder = FeatureBuilder(world, item_vectors(workspace.stage_data("encode"), world), clicks.item[before_validation])
    candidates = pq.read_table(workspace.stage_data("retrieve") / "candidates.parquet").to_pandas()
    logged = candidates[candidates["kind"] == "request"]
    n_requests = logged.groupby("split")["key"].nunique()
    note = (f"World: {world.n_users:,} users, {world.n_items:,} items, {len(world.logs.user):,} logged requests, "
            f"{len(clicks.item):,} clicks. Training days {days.train[0]:g}–{days.train[1]:g}, validation "
            f"{days.validation[0]:g}–{days.validation[1]:g}, test from day {days.test[0]:g}. Retrieve candidates: "
            f"{n_requests.get('validation', 0):,} logged validation and {n_requests.get('test', 0):,} logged test requests.")  # fmt: skip
    return RankInputs(world, clicks, builder, candidates, days), note


# ----------------------------------------------------------------------------- 2 · pre-ranker
def fit_pre_ranker(inputs: RankInputs, params: RankParams, device: torch.device) -> TrainedTwoTower:
    """The two-tower pre-ranker trained on every click of the training days."""
    user_x, positives = tower_training_clicks(inputs.world, inputs.clicks, inputs.builder, inputs.days.train)
    return train_two_tower(user_x, positives, item_inputs(inputs.builder), params.two_tower, params.seed, device)


# ----------------------------------------------------------------------------- 3 · lists
@dataclass(frozen=True, eq=False)
class WorldLists:
    train: TrainingLists
    validation: CandidateSets
    test: CandidateSets


def evaluation_sets(inputs: RankInputs, tower: TrainedTwoTower, params: RankParams) -> tuple[CandidateSets, CandidateSets]:
    """The retrieve stage's validation and test candidates of logged requests through the pre-ranker's cut."""
    return tuple(candidate_sets(inputs.world, inputs.clicks, inputs.builder, tower, inputs.candidates, params.pre_rank_top_n,
                                split) for split in ("validation", "test"))  # type: ignore[return-value]


def training_requests(inputs: RankInputs, params: RankParams) -> np.ndarray:
    """The logged requests of the training days that become training lists (seeded draw)."""
    rng = np.random.default_rng(np.random.SeedSequence([params.seed, 4]))
    return sample_requests(inputs.world, inputs.clicks, inputs.days.train, params.lists.train_requests, rng)


def build_training_lists(inputs: RankInputs, tower: TrainedTwoTower, params: RankParams, requests: np.ndarray,
                         pool_size: int) -> TrainingLists:
    """Training lists drawn from the pre-ranker's top ``pool_size`` (the draw seeded by the pool size)."""
    rng = np.random.default_rng(np.random.SeedSequence([params.seed, 8, pool_size]))
    return training_lists(inputs.world, inputs.clicks, inputs.builder, tower, requests, params.lists.list_size,
                          pool_size, rng)  # fmt: skip


@dataclass(frozen=True, eq=False)
class PoolChoice:
    """The validation NDCG@10 of the headline loss (first seed) and of LambdaMART for each pool depth,
    the chosen depth (the headline loss's best) and whether it sits at the grid's edge."""

    table: pd.DataFrame
    chosen: int
    at_edge: bool


def choose_pool_size(inputs: RankInputs, tower: TrainedTwoTower, params: RankParams, requests: np.ndarray,
                     validation: CandidateSets, device: torch.device) -> PoolChoice:
    """Try every depth of ``rank.lists.pool_sizes`` on the validation lists (the headline loss's first
    seed chooses; LambdaMART's numbers are shown beside for reference)."""
    rows = []
    for pool in tqdm(params.lists.pool_sizes, desc="pool sizes", leave=False):
        data = build_training_lists(inputs, tower, params, requests, pool).lists
        fine = train_fine_ranker(data, validation.lists, params.loss, params.fine, params.seeds[0], device)
        trees = train_lambdamart(data, validation.lists, params.lightgbm, params.seeds[0], max(torch.get_num_threads(), 1))
        rows.append({"pool_size": pool, f"{params.loss} validation NDCG@10": validation_ndcg(fine.model, validation.lists),
                     "lightgbm_lambdarank validation NDCG@10": float(trees.validation_curve[trees.best_iteration - 1]),
                     f"share of grade >= {params.lists.relevance_grade}": float((data.labels[data.mask] >= params.lists.relevance_grade).mean())})  # fmt: skip
    table = pd.DataFrame(rows).set_index("pool_size")
    chosen = int(table[f"{params.loss} validation NDCG@10"].idxmax())
    grid = params.lists.pool_sizes
    return PoolChoice(table, chosen, len(grid) > 1 and chosen in (grid[0], grid[-1]))


def feature_names(builder: FeatureBuilder) -> list[str]:
    """The columns of every world list: the builder's features, then the pre-ranker's score."""
    return [*builder.names, PRE_RANK_COLUMN]


def list_summary(lists: WorldLists, relevance_grade: int) -> pd.DataFrame:
    """Per split: lists, candidates per list, mean grade, share of candidates of grade >= relevance_grade."""
    rows = {}
    for name, data in (("train", lists.train.lists), ("validation (after cut)", lists.validation.lists),
                       ("test (after cut)", lists.test.lists)):
        real = data.labels[data.mask]
        rows[name] = {"lists": len(data), "candidates per list": float(data.mask.sum(axis=1).mean()),
                      "mean grade": float(real.mean()), f"share grade >= {relevance_grade}": float((real >= relevance_grade).mean()),
                      "lists without a relevant item": int(((data.labels >= relevance_grade) & data.mask).any(axis=1).__invert__().sum())}  # fmt: skip
    grades = lists.test.grades[lists.test.items >= 0]
    rows["test (all retrieved)"] = {"lists": len(lists.test.keys),
                                    "candidates per list": float((lists.test.items >= 0).sum(axis=1).mean()),
                                    "mean grade": float(grades.mean()),
                                    f"share grade >= {relevance_grade}": float((grades >= relevance_grade).mean()),
                                    "lists without a relevant item": int((~((lists.test.grades >= relevance_grade) & (lists.test.items >= 0)).any(axis=1)).sum())}  # fmt: skip
    return pd.DataFrame(rows).T


# ----------------------------------------------------------------------------- 4 · training
def train_fine_rankers(train: RankingLists, validation: RankingLists, params: RankParams,
                       device: torch.device) -> dict[str, list[TrainedRanker]]:
    """``{loss: [one fitted ranker per seed]}`` for every loss of ``rank.losses``."""
    out: dict[str, list[TrainedRanker]] = {}
    jobs = [(loss, seed) for loss in params.losses for seed in params.seeds]
    for loss, seed in tqdm(jobs, desc="fine rankers", leave=False):
        out.setdefault(loss, []).append(train_fine_ranker(train, validation, loss, params.fine, seed, device))
    return out


def train_lambdamarts(train: RankingLists, validation: RankingLists, params: RankParams) -> list[TrainedLambdaMart]:
    """LightGBM LambdaMART, one model per seed (bagging and feature subsampling draw from it)."""
    threads = max(torch.get_num_threads(), 1)
    return [train_lambdamart(train, validation, params.lightgbm, seed, threads) for seed in params.seeds]


def learning_curves(rankers: dict[str, list[TrainedRanker]]) -> pd.DataFrame:
    """Long table: ``loss``, ``seed``, ``epoch``, ``train_loss``, ``validation_ndcg_at_10``."""
    frames = [r.curve.assign(loss=loss, seed=r.seed) for loss, runs in rankers.items() for r in runs]
    return pd.concat(frames, ignore_index=True)[["loss", "seed", "epoch", "train_loss", "validation_ndcg_at_10"]]


def training_choices(rankers: dict[str, list[TrainedRanker]], lambdamarts: list[TrainedLambdaMart],
                     params: RankParams) -> pd.DataFrame:
    """What each tuner chose: the best epoch per loss and seed, LambdaMART's round count, and whether
    the choice sits at the edge (the last epoch, or ``n_estimators``)."""
    rows = [{"ranker": loss, "seed": r.seed, "chosen": r.best_epoch, "of": params.fine.epochs,
             "at edge": r.best_epoch == params.fine.epochs, "train seconds": r.seconds,
             "lists per second": r.lists_per_second} for loss, runs in rankers.items() for r in runs]  # fmt: skip
    rows += [{"ranker": "lightgbm_lambdarank", "seed": seed, "chosen": m.best_iteration, "of": params.lightgbm.n_estimators,
              "at edge": m.best_iteration >= params.lightgbm.n_estimators, "train seconds": m.seconds,
              "lists per second": m.lists_per_second} for seed, m in zip(params.seeds, lambdamarts, strict=True)]  # fmt: skip
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- 5 · evaluation
def baseline_scores(inputs: RankInputs, test: CandidateSets, params: RankParams) -> dict[str, list[np.ndarray]]:
    """Kept-candidate scores of the popularity (training clicks) and random baselines, one per seed for random."""
    clicks = inputs.builder.log_clicks
    safe = np.where(test.lists.items >= 0, test.lists.items, 0)
    popularity = masked_scores(clicks[safe] + 1e-9 * -np.arange(safe.shape[1]), test.lists.mask)
    randoms = [masked_scores(np.random.default_rng(np.random.SeedSequence([params.seed, 5, s])).random(safe.shape),
                             test.lists.mask) for s in params.seeds]  # fmt: skip
    return {"popularity": [popularity], "random": randoms}


def score_test(test: CandidateSets, rankers: dict[str, list[TrainedRanker]], lambdamarts: list[TrainedLambdaMart],
               baselines: dict[str, list[np.ndarray]]) -> dict[str, list[np.ndarray]]:
    """``{ranker: [kept-candidate scores (n, top_n) per seed]}`` for every ranker of the comparison."""
    out = {loss: [r.score(test.lists) for r in runs] for loss, runs in rankers.items()}
    out["lightgbm_lambdarank"] = [m.score(test.lists) for m in lambdamarts]
    out.update(baselines)
    return out


def evaluate_world(inputs: RankInputs, test: CandidateSets, scores: dict[str, list[np.ndarray]],
                   params: RankParams) -> dict[str, dict[str, SeedRuns]]:
    """``{ranker: {measure: SeedRuns}}``: NDCG@k, MRR (over every retrieved candidate, the cut ones last)
    and expected clicks of the top ``slate_size`` for each ranker and seed."""
    k_slate = inputs.world.params.slate_size
    out: dict[str, dict[str, SeedRuns]] = {}
    sessions = [c.session for c in test.contexts]
    for name, runs in scores.items():
        measures: dict[str, list[np.ndarray]] = {}
        slates = {}
        for s, kept_scores in enumerate(runs):
            full = test.full_scores(kept_scores)
            for measure, values in per_request_metrics(full, test.grades, params.ks, params.lists.relevance_grade,
                                                       params.no_relevant).items():  # fmt: skip
                measures.setdefault(measure, []).append(values)
            slates[str(s)] = top_items(full, test.items, k_slate)
        clicks = expected_clicks(inputs.world, test.requests, sessions, slates)
        measures["expected_clicks"] = [clicks[str(s)] for s in range(len(runs))]
        out[name] = {measure: SeedRuns(name, np.stack(values)) for measure, values in measures.items()}
    return out


def cascade_steps(inputs: RankInputs, test: CandidateSets, headline_scores: np.ndarray, uncut_scores: np.ndarray,
                  params: RankParams) -> dict[str, dict[str, SeedRuns]]:
    """NDCG@k, MRR and expected clicks after each step of the cascade: the retrieve stage's order,
    the pre-ranker's order, the fine ranker (``rank.loss``, first seed) on the pre-ranker's cut and
    on every retrieved candidate (``uncut_scores (n, C)``, the cut's cost), the truth on the cut
    (the ceiling the cut leaves) and the truth over every retrieved candidate."""
    valid = test.items >= 0
    truth_all = np.where(valid, test.grades.astype(float), -np.inf)
    kept_truth = test.full_scores(np.where(test.lists.mask, test.lists.labels, -np.inf))
    steps = {"retrieve order": np.where(valid, test.retrieve_scores, -np.inf), "pre-ranker": test.pre_scores,
             f"fine ranker ({params.loss}) after the cut": test.full_scores(headline_scores),
             f"fine ranker ({params.loss}) without the cut": np.where(valid, uncut_scores, -np.inf),
             "truth after the cut (ceiling)": kept_truth, "truth over every candidate": truth_all}  # fmt: skip
    k_slate = inputs.world.params.slate_size
    sessions = [c.session for c in test.contexts]
    slates = {name: top_items(full, test.items, k_slate) for name, full in steps.items()}
    clicks = expected_clicks(inputs.world, test.requests, sessions, slates)
    out = {}
    for name, full in steps.items():
        values = per_request_metrics(full, test.grades, params.ks, params.lists.relevance_grade, params.no_relevant)
        values["expected_clicks"] = clicks[name]
        out[name] = {measure: SeedRuns(name, v[None, :]) for measure, v in values.items()}
    return out


def pre_rank_recall(test: CandidateSets, relevance_grade: int) -> float:
    """Share of the retrieved candidates of grade >= ``relevance_grade`` that survive the pre-ranker's cut."""
    relevant = (test.grades >= relevance_grade) & (test.items >= 0)
    kept = np.zeros_like(relevant)
    rows = np.nonzero(test.kept >= 0)[0]
    kept[rows, test.kept[test.kept >= 0]] = True
    return float((relevant & kept).sum() / max(relevant.sum(), 1))


def retrieve_order_recall(test: CandidateSets, relevance_grade: int, top_n: int) -> float:
    """Share of the retrieved relevant candidates within the retrieve stage's own first ``top_n``."""
    relevant = (test.grades >= relevance_grade) & (test.items >= 0)
    return float(relevant[:, :top_n].sum() / max(relevant.sum(), 1))


def paired_sentence(runs: dict[str, dict[str, SeedRuns]], a: str, b: str, params: RankParams) -> str:
    """``a`` against ``b`` on NDCG@10, paired over the test requests."""
    return paired_comparison(runs[a]["ndcg_at_10"], runs[b]["ndcg_at_10"], params.n_bootstrap, params.seed).sentence(
        a, b, "NDCG@10", digits=4)


def test_ndcg_at_10(test: CandidateSets, params: RankParams) -> Evaluate:
    """``kept scores (n, top_n) -> mean NDCG@10`` under the world protocol (for the diagnosis)."""
    def evaluate(kept_scores: np.ndarray) -> float:
        values = per_request_metrics(test.full_scores(kept_scores), test.grades, (10,), params.lists.relevance_grade,
                                     params.no_relevant)["ndcg_at_10"]
        return float(np.nanmean(values))

    return evaluate


# ----------------------------------------------------------------------------- 6 · clicks
@dataclass(frozen=True, eq=False)
class ClickBiasResult:
    rankers: dict[str, list[TrainedRanker]]
    scores: dict[str, list[np.ndarray]]
    n_lists: int
    n_clicks: int  # logged clicks
    n_examination_free_clicks: int  # the oracle's redrawn clicks on the same slates
    clicks_by_position: list[int]  # logged clicks at each position, top first


def click_bias_experiment(inputs: RankInputs, tower: TrainedTwoTower, lists: WorldLists, params: RankParams,
                          device: torch.device) -> ClickBiasResult:
    """The fine ranker trained on the logged clicks of the training days, naive and IPS-weighted, and on
    the same slates' examination-free clicks (the oracle IPS targets), per seed."""
    logs = inputs.world.logs
    start, end = (d * SECONDS_PER_DAY for d in inputs.days.train)
    requests = np.flatnonzero((logs.timestamp >= start) & (logs.timestamp < end) & logs.clicks.any(axis=1))
    data = logged_click_lists(inputs.world, inputs.clicks, inputs.builder, tower, requests)
    oracle = examination_free_clicks(inputs.world, data, np.random.default_rng(np.random.SeedSequence([params.seed, 9])))
    rankers: dict[str, list[TrainedRanker]] = {}
    for source, weighted, name in ((data, False, "clicks_naive"), (data, True, "clicks_ips"),
                                   (oracle, False, "clicks_examination_free")):
        for seed in tqdm(params.seeds, desc=name, leave=False):
            rankers.setdefault(name, []).append(
                train_from_clicks(source, lists.validation.lists, weighted, params.fine, seed, device, name))
    scores = {name: [r.score(lists.test.lists) for r in runs] for name, runs in rankers.items()}
    return ClickBiasResult(rankers, scores, len(requests), int(data.lists.labels.sum()), int(oracle.lists.labels.sum()),
                           data.lists.labels.sum(axis=0).astype(int).tolist())


def observed_versus_true(inputs: RankInputs, tower: TrainedTwoTower, models: dict[str, object],
                         test: CandidateSets, k: int) -> pd.DataFrame:
    """NDCG@k of each model on the **logged** candidates of the test requests, once with the logged
    clicks as labels (an unshown candidate counts as not clicked, as in a click log) and once with
    the true grades; ``models`` maps a name to an object with ``score(RankingLists)``."""
    logs = inputs.world.logs
    data = logged_click_lists(inputs.world, inputs.clicks, inputs.builder, tower, test.requests)
    candidates = logs.candidates[test.requests]  # (n, C)
    pre = tower.score(user_inputs(inputs.builder, test.contexts), candidates)
    features = [np.column_stack([inputs.builder.features(c, candidates[row]), pre[row].astype(np.float32)])
                for row, c in enumerate(test.contexts)]  # fmt: skip
    click_labels = np.zeros(candidates.shape, dtype=np.float32)
    np.put_along_axis(click_labels, logs.slate[test.requests], data.lists.labels, axis=1)
    grades = logs.candidate_relevance[test.requests].astype(np.float32)
    lists = pad_lists(features, list(grades), list(candidates))
    rows = []
    for name, model in models.items():
        scores = model.score(lists)  # type: ignore[attr-defined]
        rows.append({"ranker": name, f"ndcg_at_{k}_clicks": ndcg_at_k(scores, click_labels, k).mean,
                     f"ndcg_at_{k}_truth": ndcg_at_k(scores, grades, k).mean})  # fmt: skip
    logged = np.full(candidates.shape, -np.inf)
    np.put_along_axis(logged, logs.slate[test.requests], np.arange(logs.slate.shape[1], 0, -1, dtype=float)[None, :]
                      .repeat(len(test.requests), 0), axis=1)  # fmt: skip
    rows.append({"ranker": "logging policy (shown order)", f"ndcg_at_{k}_clicks": ndcg_at_k(logged, click_labels, k).mean,
                 f"ndcg_at_{k}_truth": ndcg_at_k(logged, grades, k).mean})  # fmt: skip
    table = pd.DataFrame(rows).set_index("ranker")
    table["rank by clicks"] = table[f"ndcg_at_{k}_clicks"].rank(ascending=False, method="min").astype(int)
    table["rank by truth"] = table[f"ndcg_at_{k}_truth"].rank(ascending=False, method="min").astype(int)
    return table


# ----------------------------------------------------------------------------- 7 · real data
@dataclass(frozen=True, eq=False)
class RealDataResult:
    """The rankers on a real set: per-list values per seed (``runs``) and their table."""

    name: str
    protocol: str
    runs: dict[str, dict[str, SeedRuns]]
    table: pd.DataFrame
    summary: pd.DataFrame | None = None


def compare_on_lists(train: RankingLists, validation: RankingLists, test: RankingLists, params: RankParams,
                     device: torch.device, name: str, protocol: str, summary: pd.DataFrame | None = None,
                     relevance_grade: int | None = None) -> RealDataResult:
    """Every loss of ``rank.losses`` and LambdaMART over the seeds on ``train``, evaluated on ``test``
    (ideal DCG over each test list; lists without a relevant item per ``rank.no_relevant``), with a
    seeded random ranking as the floor."""
    grade = params.lists.relevance_grade if relevance_grade is None else relevance_grade
    rankers = train_fine_rankers(train, validation, params, device)
    lambdamarts = train_lambdamarts(train, validation, params)
    scores = {loss: [r.score(test) for r in runs] for loss, runs in rankers.items()}
    scores["lightgbm_lambdarank"] = [m.score(test) for m in lambdamarts]
    scores["random"] = [masked_scores(np.random.default_rng(np.random.SeedSequence([params.seed, 6, s])).random(test.mask.shape),
                                      test.mask) for s in params.seeds]  # fmt: skip
    labels = np.where(test.mask, test.labels, 0.0)
    runs: dict[str, dict[str, SeedRuns]] = {}
    for ranker, per_seed_scores in scores.items():
        per_seed = [per_request_metrics(s, labels, params.ks, grade, params.no_relevant) for s in per_seed_scores]
        runs[ranker] = {measure: SeedRuns(ranker, np.stack([p[measure] for p in per_seed])) for measure in per_seed[0]}
    table = comparison_table(runs, "ndcg_at_10", params.n_bootstrap, params.seed)
    return RealDataResult(name, protocol, runs, table, summary)


def run_movielens(params: RankParams, device: torch.device, root: Path | None) -> RealDataResult | None:
    """The comparison on MovieLens 100K (``None`` when ``rank.movielens.enabled`` is false)."""
    ml = params.movielens
    if not ml.enabled or root is None:
        return None
    data = movielens_rank_data(root, ml.test_share, ml.validation_share, ml.min_list, ml.max_list)
    protocol = (f"MovieLens 100K, global temporal split (last {ml.test_share:.0%} of ratings test, {ml.validation_share:.0%} "
                f"before validation), one list per user and split (first {ml.max_list} ratings), grade = rating - 1, "
                "ideal DCG over the user's test list")  # fmt: skip
    return compare_on_lists(data.train, data.validation, data.test, params, device, "movielens", protocol,
                            data.summary, relevance_grade=3)  # fmt: skip


def movielens_root(params: RankParams) -> Path | None:
    """MovieLens 100K's folder, ``None`` when ``rank.movielens.enabled`` is false; enabled and
    missing is an error naming the folder and the ways out."""
    if not params.movielens.enabled:
        return None
    root, origin = shared_dataset_dir("ml-100k", params.movielens.path, "rank.movielens.path")
    if not (root / "u.data").is_file():
        raise MissingDataError(f"MovieLens 100K not found: no u.data in {root} (resolved from {origin}); point "
                               "rank.movielens.path at the folder or set rank.movielens.enabled: false")
    return root


def run_letor(params: RankParams, device: torch.device) -> RealDataResult | None:
    """The comparison on the LETOR files of ``rank.letor`` (``None`` when no path is given)."""
    letor = params.letor
    if letor.train_path is None:
        return None
    sets = [read_letor(path, n_features=letor.n_features) for path in (letor.train_path, letor.validation_path,
                                                                        letor.test_path)]  # fmt: skip
    width = max(s.feature_count for s in sets)
    if letor.n_features is None and any(s.feature_count != width for s in sets):
        sets = [read_letor(path, n_features=width) for path in (letor.train_path, letor.validation_path, letor.test_path)]
    train, validation, test = (from_ranking_dataset(s, letor.max_list) for s in sets)
    summary = pd.DataFrame({"queries": [len(x) for x in (train, validation, test)],
                            "documents": [int(x.mask.sum()) for x in (train, validation, test)]},
                           index=["train", "validation", "test"])  # fmt: skip
    return compare_on_lists(train, validation, test, params, device, "letor",
                            f"LETOR files, first {letor.max_list} documents per query, ideal DCG over the list", summary)


# ----------------------------------------------------------------------------- 8 · outputs
def save_scores(folder: Path, inputs: RankInputs, test: CandidateSets, kept_scores: np.ndarray) -> Path:
    """``data/rank/scores.parquet``: per logged test request, the pre-ranker's kept candidates with
    their retrieve rank, pre-ranker score, fine ranker score and final rank (1 = top)."""
    folder.mkdir(parents=True, exist_ok=True)
    columns: dict[str, list] = {name: [] for name in ("key", "user_id", "item_id", "retrieve_rank", "pre_rank_score",
                                                     "score", "rank")}
    item_ids, user_ids = inputs.world.item_ids, inputs.world.user_ids  # built once: each is a fresh list
    for row, key in enumerate(test.keys):
        valid = test.kept[row] >= 0
        cols = test.kept[row][valid]
        scores = kept_scores[row][valid]
        order = np.argsort(-scores, kind="stable")
        n = order.size
        columns["key"] += [key] * n
        columns["user_id"] += [user_ids[test.contexts[row].user]] * n
        columns["item_id"] += [item_ids[int(test.items[row, cols[j]])] for j in order]
        columns["retrieve_rank"] += [int(cols[j]) + 1 for j in order]
        columns["pre_rank_score"] += [float(test.pre_scores[row, cols[j]]) for j in order]
        columns["score"] += [float(scores[j]) for j in order]
        columns["rank"] += list(range(1, n + 1))
    path = folder / "scores.parquet"
    pq.write_table(pa.table(columns, schema=SCORE_SCHEMA), path)
    return path


SCORE_SCHEMA = pa.schema([("key", pa.string()), ("user_id", pa.string()), ("item_id", pa.string()),
                          ("retrieve_rank", pa.int64()), ("pre_rank_score", pa.float64()), ("score", pa.float64()),
                          ("rank", pa.int64())])  # fmt: skip


def save_empty_scores(folder: Path) -> Path:
    """An empty ``scores.parquet`` (same columns) when there is no world to rank for."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scores.parquet"
    pq.write_table(SCORE_SCHEMA.empty_table(), path)
    return path


def json_ready(table: pd.DataFrame) -> list[dict]:
    """A table as JSON-ready records (index as a column)."""
    return json.loads(table.reset_index().to_json(orient="records"))
