"""The world protocol of the rank stage on the tiny world: splits, features, lists, evaluation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from hermes_core.rank.evaluation import SeedRuns, expected_clicks, per_request_metrics, top_items
from hermes_core.rank.features import FeatureBuilder, RequestContext
from hermes_core.rank.params import RankParams, TwoTowerParams
from hermes_core.rank.two_tower import item_inputs, train_two_tower
from hermes_core.rank.world_lists import (candidate_sets, context_of, sample_requests, split_days,
                                          tower_training_clicks, training_lists)
from hermes_core.world.catalogue import SECONDS_PER_DAY
from hermes_core.world.click_log import ClickLog
from hermes_core.world.simulate import request_context

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def setup(tiny_world):
    clicks = ClickLog.of(tiny_world.logs)
    vectors = np.random.default_rng(0).normal(size=(tiny_world.n_items, 12))
    builder = FeatureBuilder(tiny_world, vectors, clicks.item[clicks.time < 60 * SECONDS_PER_DAY], n_components=3)
    days = split_days(tiny_world, 7, 7)
    user_x, positives = tower_training_clicks(tiny_world, clicks, builder, days.train)
    tower = train_two_tower(user_x, positives, item_inputs(builder), TwoTowerParams(epochs=1, batch_size=64), 0,
                            torch.device("cpu"))
    return tiny_world, clicks, builder, days, tower


def test_split_days_follow_the_retrieve_split(tiny_world) -> None:
    days = split_days(tiny_world, 7, 7)
    end = tiny_world.params.log_days
    assert days.train == (0.0, end - 14) and days.validation == (end - 14, end - 7) and days.test[0] == end - 7
    with pytest.raises(ValueError, match="retrieve.split"):
        split_days(tiny_world, end, 1)


def test_features_are_named_and_hand_checkable(setup) -> None:
    world, clicks, builder, _, _ = setup
    history = np.array([3, 5, 5])
    request = RequestContext(user=0, seconds=6 * 3600.0, history=history, session=np.array([5]))
    items = np.array([5, 7])
    block = builder.features(request, items)
    assert block.shape == (2, builder.n_features) and len(builder.names) == builder.n_features
    column = {name: j for j, name in enumerate(builder.names)}
    assert block[0, column["hour_sin"]] == pytest.approx(1.0)  # 06:00 is a quarter of the day
    assert block[0, column["log_history"]] == pytest.approx(np.log1p(3))
    # the last click is item 5, so the candidate 5 has cosine 1 with it
    assert block[0, column["cos_last"]] == pytest.approx(1.0, abs=1e-6)
    same = (world.catalogue.creator[history] == world.catalogue.creator[7]).sum()
    assert block[1, column["log_same_creator"]] == pytest.approx(np.log1p(same))
    share = (world.catalogue.domain[history] == world.catalogue.domain[7]).mean()
    assert block[1, column["history_domain_share"]] == pytest.approx(share)


def test_sampled_requests_lie_in_their_window_with_a_prior_click(setup) -> None:
    world, clicks, _, days, _ = setup
    chosen = sample_requests(world, clicks, days.validation, 30, np.random.default_rng(0))
    seconds = world.logs.timestamp[chosen] / SECONDS_PER_DAY
    assert ((seconds >= days.validation[0]) & (seconds < days.validation[1])).all()
    for r in chosen:
        assert context_of(world, clicks, int(r)).history.size > 0
    assert (np.diff(chosen) > 0).all()


def test_training_lists_exclude_the_history_and_carry_true_grades(setup) -> None:
    world, clicks, builder, days, tower = setup
    requests = sample_requests(world, clicks, days.train, 10, np.random.default_rng(1))
    data = training_lists(world, clicks, builder, tower, requests, 15, 40, np.random.default_rng(0))
    assert data.lists.features.shape == (len(requests), 15, builder.n_features + 1)
    for row, r in enumerate(requests):
        context = context_of(world, clicks, int(r))
        assert not np.isin(data.lists.items[row], context.history).any()
        assert set(np.unique(data.lists.labels[row])) <= {0.0, 1.0, 2.0, 3.0, 4.0}
    # the pre-ranker's score is the last feature, the lists keep its order, and every item comes from its top 40
    assert (np.diff(data.lists.features[:, :, -1], axis=1) <= 1e-6).all()
    shallow = training_lists(world, clicks, builder, tower, requests, 15, 15, np.random.default_rng(0))
    assert (data.lists.features[:, -1, -1] <= shallow.lists.features[:, -1, -1] + 1e-6).all()
    with pytest.raises(ValueError, match="pool_size"):
        training_lists(world, clicks, builder, tower, requests, 15, 10, np.random.default_rng(0))


def test_candidate_sets_keep_the_pre_rankers_top_and_score_cut_items_last(setup) -> None:
    world, clicks, builder, days, tower = setup
    requests = sample_requests(world, clicks, days.test, 4, np.random.default_rng(2))
    rows = []
    for r in requests:
        for rank, item in enumerate(np.random.default_rng(int(r)).choice(world.n_items, 12, replace=False), start=1):
            rows.append({"split": "test", "key": f"r{int(r)}", "kind": "request", "rank": rank,
                         "item_id": world.item_ids[int(item)], "score": 1.0 / rank})
    others = [{"split": "test", "key": "q1", "kind": "query", "rank": 1, "item_id": world.item_ids[0], "score": 1.0},
              {"split": "validation", "key": "r1", "kind": "request", "rank": 1, "item_id": world.item_ids[0], "score": 1.0}]
    frame = pd.DataFrame(rows + others)
    test = candidate_sets(world, clicks, builder, tower, frame, 5)
    assert test.keys == [f"r{int(r)}" for r in requests]  # the query and the other split are not ranked here
    assert test.kept.shape == (len(requests), 5)
    for row in range(len(requests)):
        kept_pre = test.pre_scores[row, test.kept[row]]
        assert kept_pre.min() >= np.delete(test.pre_scores[row], test.kept[row]).max() - 1e-12
    full = test.full_scores(np.arange(5.0)[None, :].repeat(len(requests), 0))
    assert np.isinf(full).sum(axis=1).tolist() == [7] * len(requests)  # 12 retrieved, 5 kept


def test_evaluation_measures_by_hand() -> None:
    scores = np.array([[3.0, 2.0, 1.0, -np.inf]])
    grades = np.array([[0.0, 3.0, 1.0, 4.0]])
    values = per_request_metrics(scores, grades, (2,), relevance_grade=3, no_relevant="skip")
    dcg = (2**3 - 1) / np.log2(3)
    idcg = (2**4 - 1) + (2**3 - 1) / np.log2(3)
    assert values["ndcg_at_2"][0] == pytest.approx(dcg / idcg)
    assert values["mrr"][0] == pytest.approx(0.5)  # the grade-3 item at rank 2; grade 1 does not count
    assert top_items(scores, np.array([[10, 11, 12, 13]]), 2).tolist() == [[10, 11]]


def test_seed_runs_summarise_seeds_and_requests() -> None:
    runs = SeedRuns("x", np.array([[0.2, 0.4, np.nan], [0.4, 0.6, np.nan]]))
    assert runs.averaged[:2].tolist() == pytest.approx([0.3, 0.5])
    summary = runs.summary(200, 0)
    assert summary["mean"] == pytest.approx(0.4) and summary["n_requests"] == 2
    assert summary["seed_sd"] == pytest.approx(np.std([0.3, 0.5], ddof=1))
    assert summary["ci_low"] <= 0.4 <= summary["ci_high"]


def test_expected_clicks_match_the_world(setup) -> None:
    world, clicks, _, days, _ = setup
    r = int(sample_requests(world, clicks, days.test, 1, np.random.default_rng(3))[0])
    context = context_of(world, clicks, r)
    slate = np.arange(world.params.slate_size)
    out = expected_clicks(world, np.array([r]), [context.session], {"a": slate[None, :]})
    situation = request_context(world.logs.modality_intent[r:r + 1], world.logs.timestamp[r:r + 1])
    assert out["a"][0] == pytest.approx(world.expected_clicks(context.user, context.session, slate, situation))


def test_params_name_the_key_at_fault() -> None:
    with pytest.raises(ValueError, match="rank.loss"):
        RankParams(loss="softmax", losses=("listmle",))
    with pytest.raises(ValueError, match="must contain 10"):
        RankParams(ks=(5, 20))
    with pytest.raises(ValueError, match="rank.letor"):
        RankParams(letor={"train_path": "a.txt"})
    with pytest.raises(ValueError, match="pool_sizes"):
        RankParams(lists={"list_size": 60, "pool_sizes": [50, 200]})
    with pytest.raises(ValueError, match="rank.losses"):
        RankParams(losses=("listmle", "nonsense"))


def test_examination_free_clicks_follow_the_attractiveness(setup) -> None:
    from hermes_core.rank.click_bias import examination_free_clicks, logged_click_lists
    from hermes_core.world.preferences import attractiveness
    from hermes_core.world.truth import continuous_grade

    world, clicks, builder, days, tower = setup
    requests = np.flatnonzero(world.logs.clicks.any(axis=1))[:40]
    data = logged_click_lists(world, clicks, builder, tower, requests)
    assert data.propensities[0].tolist() == pytest.approx([(k + 1.0) ** -world.params.examination_decay
                                                           for k in range(world.params.slate_size)])
    draws = np.stack([examination_free_clicks(world, data, np.random.default_rng(s)).lists.labels for s in range(300)])
    oracle = examination_free_clicks(world, data, np.random.default_rng(0))
    assert (oracle.propensities == 1).all() and np.array_equal(oracle.lists.features, data.lists.features)
    shown = np.take_along_axis(world.logs.candidate_affinity[requests], world.logs.slate[requests], axis=1)
    attraction = attractiveness(world.params, continuous_grade(world.model, shown))
    # 300 Bernoulli draws per slot: the mean click sits within 5 standard errors of attr at every slot
    tolerance = 5 * np.sqrt(attraction * (1 - attraction) / 300) + 1e-9
    assert (np.abs(draws.mean(axis=0) - attraction) <= tolerance).all()
