"""The encode stage's own steps: pairs, profiles, splits, baselines, cold-start evaluation.

Hand-built fixtures whose expected values are worked out in the comments, then the stage's
steps on a tiny synthetic world and on MovieLens 100K (when ../shared/data has it), with
hash-based stand-in encoders so that no test loads MiniLM or EfficientNet.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from hermes_core.encode import coldstart as cs
from hermes_core.encode.image import register_image_encoder
from hermes_core.encode.metrics import ndcg_at_k
from hermes_core.data.store import FeatureStore


@pytest.fixture(scope="module", autouse=True)
def single_torch_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


# --------------------------------------------------------------------------- hand-built


def _positives(rows: list[tuple[str, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        {"user_id": [u for u, _ in rows], "item_row": [i for _, i in rows],
         "timestamp": pd.to_datetime(np.arange(len(rows)), unit="s", utc=True)}
    )


# four items; text (2-d) and image (1-d); item 2 has no image, item 3 no text
TEXT = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=np.float32)
TEXT_MASK = np.array([True, True, True, False])
IMAGE = np.array([[2], [4], [0], [8]], dtype=np.float32)
IMAGE_MASK = np.array([True, True, False, True])


def test_leave_one_out_pairs_never_put_the_positive_in_its_own_query() -> None:
    # user a clicked 0, 1, 2 (item 1 twice: one positive); user b clicked only 3 (no pair)
    positives = _positives([("a", 0), ("a", 1), ("a", 1), ("a", 2), ("b", 3)])
    pairs = cs.leave_one_out_pairs(positives, TEXT, IMAGE, TEXT_MASK, IMAGE_MASK)
    assert pairs.keys.tolist() == ["a", "a", "a"]
    assert pairs.positive_rows.tolist() == [0, 1, 2]
    by_item = dict(zip(pairs.positive_rows.tolist(), pairs.vectors))
    # pair (a, 0): text mean of items 1, 2 = (0.5, 1); image mean over items with an image = item 1 -> 4
    np.testing.assert_allclose(by_item[0], [0.5, 1.0, 4.0])
    # pair (a, 1): text mean of 0, 2 = (1, 0.5); image of item 0 only (item 2 has none) = 2
    np.testing.assert_allclose(by_item[1], [1.0, 0.5, 2.0])
    # pair (a, 2): text mean of 0, 1 = (0.5, 0.5); image mean of 0, 1 = 3
    np.testing.assert_allclose(by_item[2], [0.5, 0.5, 3.0])
    assert pairs.n_positives.tolist() == [2, 2, 2]


def test_leave_one_out_modality_part_is_zero_when_no_other_positive_has_it() -> None:
    # user c clicked 2 (no image) and 3 (no text): the pair for 2 sees only item 3, which has no text
    pairs = cs.leave_one_out_pairs(_positives([("c", 2), ("c", 3)]), TEXT, IMAGE, TEXT_MASK, IMAGE_MASK)
    by_item = dict(zip(pairs.positive_rows.tolist(), pairs.vectors))
    np.testing.assert_allclose(by_item[2], [0.0, 0.0, 8.0])
    np.testing.assert_allclose(by_item[3], [1.0, 1.0, 0.0])


def test_user_profiles_keep_users_with_enough_distinct_positives() -> None:
    positives = _positives([("a", 0), ("a", 0), ("a", 1), ("b", 0), ("b", 1), ("b", 2)])
    profiles = cs.user_profiles(positives, TEXT, IMAGE, TEXT_MASK, IMAGE_MASK, min_positives=3)
    # a has 2 distinct items (the repeated click counts once): excluded
    assert profiles.keys.tolist() == ["b"]
    np.testing.assert_allclose(profiles.vectors[0], [2 / 3, 2 / 3, 3.0])


def test_prepare_features_centres_normalises_and_keeps_missing_rows_zero() -> None:
    features = np.array([[1.0, 3.0], [3.0, 3.0], [9.0, 9.0]], dtype=np.float32)
    prepared = cs.prepare_features(features, np.array([True, True, False]))
    # mean of the present rows is (2, 3): rows become (-1, 0) and (1, 0)
    np.testing.assert_allclose(prepared, [[-1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])


def test_split_queries_is_stratified_and_seeded() -> None:
    kinds = np.array(["visual"] * 10 + ["content"] * 5)
    first = cs.split_queries(kinds, 0.3, seed=1)
    assert first[:10].sum() == 3 and first[10:].sum() == 2  # round(3.0), round(1.5) = 2
    np.testing.assert_array_equal(first, cs.split_queries(kinds, 0.3, seed=1))


def test_text_query_pairs_use_only_eligible_items_of_high_grade() -> None:
    grades = np.array([[3, 2, 1, 3], [0, 0, 0, 2]])
    eligible = np.array([True, True, True, False])  # item 3 is cold
    pairs = cs.text_query_pairs(np.eye(2, dtype=np.float32), np.array(["q0", "q1"], dtype=object), grades,
                                eligible, image_dim=1, positive_grade=2, max_positives=10, seed=0)
    # q0: items 0, 1 (grade >= 2, eligible); q1: item 3 is cold, so no pair
    assert pairs.keys.tolist() == ["q0", "q0"] and pairs.positive_rows.tolist() == [0, 1]
    np.testing.assert_allclose(pairs.vectors, [[1, 0, 0], [1, 0, 0]])
    capped = cs.text_query_pairs(np.eye(2, dtype=np.float32), np.array(["q0", "q1"], dtype=object), grades,
                                 eligible, image_dim=1, positive_grade=1, max_positives=2, seed=0)
    assert (capped.keys == "q0").sum() == 2


def test_cold_start_evaluation_excludes_and_counts_users_without_relevant_items() -> None:
    scores = np.array([[0.9, 0.5, 0.1], [0.9, 0.5, 0.1], [0.1, 0.2, 0.3]])
    grades = np.array([[0, 2, 0], [0, 0, 0], [1, 0, 0]])
    relevant = grades >= 2
    report = cs.evaluate_ranking(scores, grades, relevant, ndcg_k=2, recall_k=1)
    # user 0: DCG@2 = (2^2-1)/log2(3) = 3/1.585, IDCG@2 = 3/1 -> 0.6309; user 1: no relevant item,
    # excluded; user 2: its grade-1 item is ranked 3rd -> DCG@2 = 0, IDCG = 1 -> 0.
    assert report.ndcg.n_scored == 2 and report.n_excluded_ndcg == 1
    assert report.ndcg.mean == pytest.approx((1 / np.log2(3) + 0.0) / 2)
    # recall@1 on grade >= 2: only user 0 has a relevant item, and it is ranked 2nd -> 0
    assert report.recall.n_scored == 1 and report.n_excluded_recall == 2
    assert report.recall.mean == 0.0


def test_popularity_uses_warm_impressions_only_and_breaks_ties_by_seed() -> None:
    creators = np.array(["A", "A", "B", "A", "B", "C"], dtype=object)
    is_cold = np.array([False, False, False, True, True, True])
    impressions = np.array([0, 0, 0, 0, 1, 1, 2])  # item 0: 4, item 1: 2, item 2: 1
    popularity = cs.group_popularity(impressions, creators, is_cold)
    # A: (4 + 2) / 2 warm items = 3; B: 1 / 1 = 1; C has no warm item
    assert popularity.to_dict() == {"A": 3.0, "B": 1.0}
    scores = cs.popularity_scores(impressions, creators, is_cold, np.array([3, 4, 5]), n_users=2, seed=0)
    # cold items of A, B, C rank in that order, identically for every user
    np.testing.assert_array_equal(scores, [[3, 2, 1], [3, 2, 1]])
    with pytest.raises(ValueError, match="cold"):
        cs.group_popularity(np.append(impressions, 3), creators, is_cold)
    tied = [cs.popularity_scores(impressions, creators, is_cold, np.array([0, 1, 3]), 1, seed=s)[0] for s in range(8)]
    # items 0, 1, 3 all belong to A: a seeded random order, not always the lower index first
    assert len({tuple(t) for t in tied}) > 1


def test_movielens_grades_from_heldout_ratings() -> None:
    heldout = pd.DataFrame({"user_id": ["u1", "u1", "u2", "u9"], "item_row": [10, 11, 10, 10],
                            "rating": [5.0, 3.0, 2.0, 5.0]})
    grades, relevant = cs.movielens_grades(heldout, np.array(["u1", "u2"], dtype=object), np.array([10, 11, 12]), 4.0)
    # 5 -> 3, 3 -> 1, 2 -> 0; u9 is not evaluated; item 12 unrated -> 0
    np.testing.assert_array_equal(grades, [[3, 1, 0], [0, 0, 0]])
    np.testing.assert_array_equal(relevant, [[True, False, False], [False, False, False]])


def test_stacked_index_two_stage_matches_exact_fused_scores() -> None:
    from hermes_core.index.faiss_index import build_index
    from hermes_core.encode.fusion import make_fusion_model, score_items
    from hermes_core.encode.retrieval import stacked_modality_vectors, two_stage_topk

    rng = np.random.default_rng(0)
    n_items = 120
    masks = rng.random((n_items, 2)) > 0.15
    masks[5] = False  # one item with no modality: never indexed, fused score 0
    vision, text = rng.standard_normal((n_items, 6)), rng.standard_normal((n_items, 4))
    queries = rng.standard_normal((30, 5)).astype(np.float32)
    model = make_fusion_model("cross_attention", 5, 6, 4, d_k=3, output_dim=8, seed=0)
    stacked = stacked_modality_vectors(model, vision, text, masks)
    assert len(stacked.item_rows) == masks.sum() and 5 not in stacked.item_rows
    index = build_index(stacked.vectors, "flat")
    result = two_stage_topk(model, queries, vision, text, masks, {"all": index}, k=5,
                            n_candidates=len(stacked.item_rows), row_items={"all": stacked.item_rows})
    exact = score_items(model, queries, vision, text, masks)
    exact[:, 5] = -np.inf  # the unindexed item can only be missed, never wrongly returned
    np.testing.assert_allclose(result.scores, -np.sort(-exact, axis=1)[:, :5], rtol=1e-5, atol=1e-5)


def _evaluation_with(per_user_ndcg: dict[str, list[float]]) -> Any:
    """A ColdStartEvaluation whose models have the given per-user NDCG (recall unused)."""
    from hermes_core.encode import stage as st
    from hermes_core.encode.metrics import RankingMetric

    reports = {}
    for name, values in per_user_ndcg.items():
        per_query = np.asarray(values, dtype=float)
        metric = RankingMetric(float(np.nanmean(per_query)), int((~np.isnan(per_query)).sum()), per_query)
        reports[name] = cs.RankingReport(metric, metric, 10, 10, len(per_query))
    n = len(next(iter(per_user_ndcg.values())))
    empty = cs.QuerySet(np.zeros((n, 1), np.float32), np.arange(n).astype(object), np.zeros(n, np.int64),
                        np.zeros(n, np.int64))
    return st.ColdStartEvaluation(empty, np.arange(3), np.zeros((n, 3)), np.zeros((n, 3), bool), reports, "", "")


def test_model_differences_pair_the_best_model_with_runner_up_and_baselines() -> None:
    from hermes_core.encode import stage as st

    # per-user NDCG of 4 users; concat is best on average (0.7), text second (0.55)
    evaluation = _evaluation_with({
        "fused": [0.5, 0.6, 0.4, 0.5], "text": [0.5, 0.6, 0.5, 0.6], "image": [0.2, 0.2, 0.2, 0.2],
        "concat": [0.6, 0.7, 0.8, 0.7], "text_cosine": [0.5, 0.5, 0.5, 0.5],
        "popularity": [0.5, 0.6, 0.4, 0.5], "random": [0.1, 0.1, 0.1, 0.1],
    })
    pairs = st.comparison_pairs(evaluation)
    assert pairs[:8] == [("fused", "text"), ("fused", "image"), ("fused", "concat"), ("concat", "text"),
                         ("image", "text"), ("text", "text_cosine"), ("fused", "popularity"), ("fused", "random")]
    # best (concat) vs runner-up (text) already listed; then vs popularity, random, and vs text_cosine
    assert pairs[8:] == [("concat", "popularity"), ("concat", "random"), ("concat", "text_cosine")]
    params = _small_params()
    table = st.model_differences(evaluation, params)
    # fused - popularity: identical per user -> difference 0 with a zero-width interval at 0: a tie
    assert table.loc["fused - popularity", ["difference", "ci_low", "ci_high"]].tolist() == [0.0, 0.0, 0.0]
    assert table.loc["fused - popularity", "verdict"] == "ties with"
    # image - text: -0.3, -0.4, -0.3, -0.4 -> mean -0.35; every resampled mean lies in [-0.4, -0.3] < 0
    row = table.loc["image - text"]
    assert row["difference"] == pytest.approx(-0.35) and -0.4 - 1e-12 <= row["ci_low"] <= row["ci_high"] <= -0.3 + 1e-12
    assert row["verdict"] == "loses to" and row["n_users"] == 4
    assert table.loc["concat - random", "verdict"] == "beats"


def _small_params() -> Any:
    """Encode parameters with few bootstrap resamples (the tests' intervals are exact)."""
    from hermes_core.encode.params import EncodeParams

    return EncodeParams(bootstrap_resamples=200, seed=3)


def test_bootstrap_intervals_collapse_on_constant_samples_and_drop_nan() -> None:
    from hermes_core.encode import stage as st

    # every resample of a constant sample has the same mean: the interval is that point
    constant = st.mean_interval(np.array([0.5, 0.5, np.nan, 0.5]), 200, 0)
    assert constant == {"mean": 0.5, "ci_low": 0.5, "ci_high": 0.5, "n": 3}
    gap = st.two_sample_difference(np.ones(5), np.zeros(3), 200, 0)
    assert (gap["difference"], gap["ci_low"], gap["ci_high"], gap["n_a"], gap["n_b"]) == (1.0, 1.0, 1.0, 5, 3)
    # mean of 0, 1 over 2 values: resampled means take 0, 0.5 or 1; the 95% interval spans [0, 1]
    spread = st.mean_interval(np.array([0.0, 1.0]), 400, 1)
    assert spread["mean"] == 0.5 and spread["ci_low"] == 0.0 and spread["ci_high"] == 1.0
    assert st.mean_interval(np.array([np.nan]), 200, 0)["n"] == 0


def test_spearman_interval_of_monotone_pairs() -> None:
    from hermes_core.encode import stage as st

    x = np.arange(20, dtype=float)
    # any resample of a strictly increasing relation keeps rank correlation 1 (ties share ranks)
    result = st.spearman_interval(x, x ** 3, 200, 0)
    assert [result["rho"], result["ci_low"], result["ci_high"]] == pytest.approx([1.0, 1.0, 1.0]) and result["n"] == 20
    assert st.spearman_interval(x, -x, 200, 0)["rho"] == pytest.approx(-1.0)
    # ranks (1, 2, 3, 4) vs (2, 1, 4, 3): 1 - 6 * 4 / (4 * 15) = 0.6
    assert st.spearman_interval(np.array([1.0, 2, 3, 4]), np.array([2.0, 1, 4, 3]), 200, 0)["rho"] == pytest.approx(0.6)
    with pytest.raises(ValueError, match="length"):
        st.spearman_interval(x, x[:5], 200, 0)


# --------------------------------------------------------------------------- stand-in encoders


class HashTextEncoder:
    """Deterministic 16-d vectors from each text's SHA-256 (same text, same vector)."""

    modality = "text"
    model_id = "test:hash-text-16"
    dim = 16

    def encode(self, texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
        mask = np.array([isinstance(t, str) and bool(t.strip()) for t in texts])
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:16], np.uint8) if m else np.zeros(16)
                for t, m in zip(texts, mask)]
        return np.asarray(rows, dtype=np.float32), mask


class MeanColourImageEncoder:
    """3-d mean RGB of each decodable image (a corrupt file gets mask False)."""

    modality = "image"
    model_id = "test:mean-colour"
    dim = 3

    def encode(self, paths: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        from hermes_core.encode.image import load_rgb_image

        images = [load_rgb_image(p) for p in paths]
        mask = np.array([image is not None for image in images])
        rows = [np.asarray(image, np.float32).mean(axis=(0, 1)) if image is not None else np.zeros(3) for image in images]
        return np.asarray(rows, dtype=np.float32), mask


@pytest.fixture(scope="module")
def stand_in_image_encoder() -> Iterator[str]:
    """Register the stand-in under a test name for this module only (the registry is global)."""
    from hermes_core.encode import image as image_module

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(image_module, "_REGISTRY", dict(image_module._REGISTRY))
        register_image_encoder("test-mean-colour", lambda **_: MeanColourImageEncoder())
        yield "test-mean-colour"


def _stage_params(root: Path, world: Any = None, **encode_overrides: Any) -> Any:
    from hermes_core.params import load_params

    params = load_params(Path(__file__).resolve().parents[2] / "params.yaml", profile="tiny")
    encode = params.encode.model_dump()
    encode.update(image_encoder="test-mean-colour", **encode_overrides)
    encode["fusion"].update(epochs=2, output_dim=8, d_k=4, show_progress=False)
    update: dict[str, Any] = {"encode": type(params.encode).model_validate(encode)}
    if world is not None:
        update["world"] = world
    return params.model_copy(update=update)


@pytest.fixture(scope="module")
def world_stage(
    tiny_world_params: Any, tmp_path_factory: pytest.TempPathFactory, stand_in_image_encoder: str
) -> dict[str, Any]:
    from hermes_core.encode import stage as st
    from hermes_core.encode.world_data import load_inputs
    from hermes_core.ingest.stage import run_ingest_stage
    from hermes_core.workspace import Workspace

    workspace = Workspace(tmp_path_factory.mktemp("encode_world"))
    params = _stage_params(workspace.root, tiny_world_params)
    run_ingest_stage(params, workspace)
    inputs = load_inputs(params, workspace)
    encoder = HashTextEncoder()
    encoded = st.encode_catalogue(inputs.items, params.encode, st.cache_folder(params, workspace), encoder)
    training = st.build_training_set(inputs, encoded, params.encode, st.cache_folder(params, workspace), encoder)
    return {"params": params, "workspace": workspace, "inputs": inputs, "encoded": encoded,
            "training": training, "encoder": encoder}


def test_world_inputs_keep_cold_items_free_of_interactions(world_stage: dict[str, Any]) -> None:
    inputs = world_stage["inputs"]
    world = inputs.world
    assert inputs.items.is_cold.sum() == world.catalogue.is_cold[inputs.world_item_index].sum() > 0
    # clicks and impressions before the cut-off, on warm items only
    assert not inputs.items.is_cold[inputs.positives["item_row"]].any()
    assert not inputs.items.is_cold[inputs.exposures["item_row"]].any()
    assert (inputs.positives["timestamp"] < pd.Timestamp(world.log_end)).all()
    # every positive is a click the store holds, every exposure an impression
    store_clicks = FeatureStore(world_stage["workspace"].store).read_table("interactions")
    assert len(inputs.positives) == int((store_clicks["event_type"] == "click").sum())
    assert len(inputs.exposures) == int((store_clicks["event_type"] == "impression").sum())


def test_cache_makes_a_rerun_encode_nothing(world_stage: dict[str, Any]) -> None:
    from hermes_core.encode import stage as st

    inputs, params, workspace = world_stage["inputs"], world_stage["params"], world_stage["workspace"]
    again = st.encode_catalogue(inputs.items, params.encode, st.cache_folder(params, workspace), world_stage["encoder"])
    assert again.cache["text"]["n_encoded"] == 0 and again.cache["image"]["n_encoded"] == 0
    np.testing.assert_array_equal(again.text_raw, world_stage["encoded"].text_raw)
    counts = st.modality_counts(inputs.items, again)
    assert counts["text_present"] + counts["text_missing"] == counts["items"] == len(inputs.items)
    assert counts["image_corrupt"] >= 0 and counts["image_present"] + counts["image_missing"] + counts["image_corrupt"] == counts["items"]


def test_training_pairs_are_leave_one_out_and_exclude_validation_and_cold_items(world_stage: dict[str, Any]) -> None:
    training, inputs, encoded = world_stage["training"], world_stage["inputs"], world_stage["encoded"]
    rows = training.positive_rows
    assert not np.isin(rows, training.validation_rows).any()
    assert not inputs.items.is_cold[rows].any()
    assert not inputs.items.is_cold[training.validation_rows].any()
    # each user pair's query equals the profile of the user's other (non-validation) clicks
    train_clicks = cs.unique_positives(inputs.positives)
    train_clicks = train_clicks[~train_clicks["item_row"].isin(training.validation_rows)]
    d_t = encoded.text_dim
    for position in (0, len(training.user_pairs.keys) // 2, len(training.user_pairs.keys) - 1):
        user, item = training.user_pairs.keys[position], training.user_pairs.positive_rows[position]
        others = train_clicks.loc[(train_clicks["user_id"] == user) & (train_clicks["item_row"] != item), "item_row"]
        others = others[encoded.text_mask[others.to_numpy()]].to_numpy()
        np.testing.assert_allclose(training.user_pairs.vectors[position, :d_t], encoded.text[others].mean(axis=0), atol=1e-6)
    # the validation users' profiles hold no validation item: they equal the training-click profile
    assert training.validation_labels.any(axis=1).all()


@pytest.fixture(scope="module")
def world_run(world_stage: dict[str, Any]) -> dict[str, Any]:
    """The towers trained, the cold start evaluated and the index built once for the module."""
    from hermes_core.encode import stage as st

    params, inputs, encoded, training = (world_stage[k] for k in ("params", "inputs", "encoded", "training"))
    towers = st.train_towers(training, encoded, params.encode)
    evaluation = st.evaluate_cold_start(inputs, encoded, towers, params.encode)
    queries = st.evaluate_text_queries(training, encoded, towers, params.encode)
    users_alpha = st.user_alpha(inputs, evaluation, encoded, towers)
    report = st.build_item_index(towers, encoded, evaluation, params.encode)
    return {**world_stage, "towers": towers, "evaluation": evaluation, "queries": queries,
            "users_alpha": users_alpha, "report": report}


def test_world_cold_start_evaluation_protocol(world_run: dict[str, Any]) -> None:
    from hermes_core.encode import stage as st
    from hermes_core.world import index_of

    world_stage = world_run
    params, inputs, encoded, towers, evaluation = (
        world_run[k] for k in ("params", "inputs", "encoded", "towers", "evaluation"))
    assert set(towers) == {"cross_attention", "text_only", "image_only", "concat"}
    assert all(1 <= t.best_epoch <= 2 for t in towers.values())
    users = evaluation.users
    assert (users.n_positives >= params.encode.min_user_clicks).all()
    # grades are the world's truth for (user, cold item)
    world = inputs.world
    expected = world.relevance(np.array([index_of(u) for u in users.keys]), inputs.world_item_index[evaluation.cold_rows])
    np.testing.assert_array_equal(evaluation.grades, expected)
    for name, report in evaluation.reports.items():
        no_relevant = int((evaluation.grades.max(axis=1) == 0).sum())
        assert report.n_excluded_ndcg == no_relevant, name
        assert report.n_excluded_recall == int((~evaluation.relevant.any(axis=1)).sum()), name
        assert 0.0 <= report.ndcg.mean <= 1.0
    # the fused score of a user and item equals the exact scoring the metrics used
    fused = evaluation.scores["fused"]
    direct = st.score(towers["cross_attention"], users.vectors[:3], encoded, evaluation.cold_rows)
    np.testing.assert_allclose(fused[:3], direct, rtol=1e-5, atol=1e-6)
    # the oracle ranking (true grades as scores) reaches NDCG 1 on every scored user
    assert ndcg_at_k(evaluation.grades.astype(float), evaluation.grades, 10).mean == pytest.approx(1.0)
    report = world_run["report"]
    assert 0.0 <= report.recall_at_k <= 1.0 and report.qps > 0 and report.exact_qps > 0
    outputs = st.save_outputs(world_stage["workspace"].stage_data("encode"), inputs, encoded, report, towers, params.encode)
    import pyarrow.parquet as pq

    from hermes_core.index.faiss_index import load_index

    table = pq.read_table(outputs["embeddings"])
    assert table.column("item_id").to_pylist() == inputs.items.item_ids.tolist()
    assert load_index(outputs["index"]).ntotal == len(pq.read_table(outputs["rows"]))
    reloaded = st.load_tower(outputs["tower"])
    projected = reloaded.encode_queries(torch.as_tensor(users.vectors[:2]))
    np.testing.assert_allclose(
        projected.detach().numpy(),
        towers["cross_attention"].model.encode_queries(torch.as_tensor(users.vectors[:2])).detach().numpy(), rtol=1e-6)


def test_world_metrics_hold_only_deterministic_headline_numbers(world_run: dict[str, Any], tmp_path: Path) -> None:
    from hermes_core.encode import stage as st
    from hermes_core.workspace import MAX_HEADLINE_METRICS, Workspace, write_diagnostics, write_metrics

    args = [world_run[k] for k in ("params", "inputs", "encoded", "training", "towers", "evaluation", "queries",
                                   "users_alpha", "report")]
    metrics = st.encode_metrics(*args)
    # 5 NDCGs + the fused gap, the indexed tower's recall, 2 index recalls, 2 mean attentions
    leaves = {f"{group}.{name}": value for group, values in metrics.items() for name, value in values.items()}
    assert len(leaves) == 11 <= MAX_HEADLINE_METRICS
    assert not any("qps" in key or "second" in key for key in leaves)  # timings never become metrics
    write_metrics(Workspace(tmp_path), "encode", metrics)  # the writer's checks accept them
    evaluation, report = world_run["evaluation"], world_run["report"]
    ndcg = metrics["cold_start_ndcg_at_10"]
    for name in ("fused", "text", "image", "concat", "popularity"):
        assert ndcg[name] == evaluation.reports[name].ndcg.mean
    # the gap is the paired difference that model_differences reports for the better single tower
    best_single = "text" if ndcg["text"] >= ndcg["image"] else "image"
    differences = st.model_differences(evaluation, world_run["params"].encode)
    assert ndcg["fused_minus_best_single"] == pytest.approx(differences.loc[f"fused - {best_single}", "difference"])
    assert metrics["cold_start_recall_at_10"]["indexed_tower"] == evaluation.reports["fused"].recall.mean
    assert metrics["ann"] == {"recall_at_10": report.recall_at_k, "two_stage_recall_at_10": report.two_stage_recall}
    alpha = world_run["queries"].alpha
    assert metrics["alpha_vision_mean"]["visual_queries"] == pytest.approx(
        alpha.loc[alpha["kind"] == "visual", "alpha_vision_all"].mean())
    # a rerun with the same parameters gives the same metrics (no timing inside)
    assert st.encode_metrics(*args) == metrics
    diagnostics = st.encode_diagnostics(*args, stage_seconds=1.5)
    assert diagnostics["ann"]["qps"] == report.qps and diagnostics["stage_seconds"] == 1.5
    assert set(diagnostics["cold_start"]["ndcg_at_10"]) == set(evaluation.reports)
    assert diagnostics["cold_start_fused_minus_best_single"]["best_single"] == best_single
    assert {"differences", "alpha_vision_by_kind"} <= set(diagnostics["text_queries"])
    assert write_diagnostics(Workspace(tmp_path), "encode", diagnostics).is_file()


def test_world_conclusions_phrase_every_comparison_through_the_verdict(world_run: dict[str, Any]) -> None:
    from hermes_core.encode import conclusions
    from hermes_core.encode import stage as st

    params, inputs, encoded, towers, evaluation, queries, users_alpha, report = (world_run[k] for k in (
        "params", "inputs", "encoded", "towers", "evaluation", "queries", "users_alpha", "report"))
    differences = st.model_differences(evaluation, params.encode)
    findings = conclusions.findings_from_stage(
        params, inputs, encoded, towers, evaluation, differences, st.purity_table(inputs.items, encoded, "domain"),
        report, queries, st.query_differences(queries, params.encode), st.alpha_by_query_kind(queries, params.encode),
        st.user_alpha_summary(users_alpha, params.encode))
    text = "\n".join(conclusions.encode_conclusions(findings))
    # each verdict of the differences table about the fused tower appears with its own interval
    for label in ("fused - concat", "fused - popularity"):
        row = differences.loc[label]
        first, second = label.split(" - ")
        assert f"`{first}` {row['verdict']} `{second}`" in text
    assert "The design's claim" in text and "Spearman correlation" in text


# --------------------------------------------------------------------------- MovieLens 100K


def _movielens_folder() -> Path | None:
    from hermes_core.workspace import shared_data_dir

    folder = shared_data_dir() / "ml-100k"
    return folder if (folder / "u.data").is_file() else None


@pytest.mark.skipif(_movielens_folder() is None, reason="MovieLens 100K not in ../shared/data/ml-100k")
def test_movielens_path_is_text_only_with_a_seeded_cold_split(tmp_path: Path, stand_in_image_encoder: str) -> None:
    from hermes_core.encode import stage as st
    from hermes_core.encode.world_data import load_inputs
    from hermes_core.ingest.stage import run_ingest_stage
    from hermes_core.workspace import Workspace

    workspace = Workspace(tmp_path)
    params = _stage_params(tmp_path)
    params = params.model_copy(update={"data": params.data.model_copy(
        update={"source": "movielens-100k", "movielens_path": str(_movielens_folder())})})
    run_ingest_stage(params, workspace)
    inputs = load_inputs(params, workspace)
    assert inputs.world is None and all(p is None for p in inputs.items.image_paths)
    n_rated = inputs.items.is_cold.sum() + len(np.unique(inputs.exposures["item_row"]))
    assert inputs.items.is_cold.sum() == round(0.1 * n_rated)
    # no training event touches a cold movie; every held-out rating does
    assert not inputs.items.is_cold[inputs.positives["item_row"]].any()
    assert inputs.items.is_cold[inputs.heldout_ratings["item_row"]].all()
    assert load_inputs(params, workspace).items.is_cold.tolist() == inputs.items.is_cold.tolist()  # seeded
    encoder = HashTextEncoder()
    encoded = st.encode_catalogue(inputs.items, params.encode, st.cache_folder(params, workspace), encoder)
    assert encoded.image_dim == 0 and encoded.image_model_id is None
    training = st.build_training_set(inputs, encoded, params.encode, st.cache_folder(params, workspace), encoder)
    assert len(training.query_pairs.keys) == 0
    towers = st.train_towers(training, encoded, params.encode)
    assert list(towers) == ["text_only"]
    evaluation = st.evaluate_cold_start(inputs, encoded, towers, params.encode)
    assert set(evaluation.reports) == {"text", "text_cosine", "popularity", "random"}
    assert evaluation.grades.max() == 3 and (evaluation.relevant <= (evaluation.grades >= 2)).all()
    report = st.build_item_index(towers, encoded, evaluation, params.encode)
    assert report.tower_kind == "text_only" and set(report.stacked.modality) == {"text"}
    metrics = st.encode_metrics(params, inputs, encoded, training, towers, evaluation, None, None, report)
    ndcg = metrics["cold_start_ndcg_at_10"]
    # no images: the image, concat and fused towers do not exist, nor the gap or the attention
    assert ndcg["fused"] is None and ndcg["image"] is None and ndcg["concat"] is None
    assert ndcg["fused_minus_best_single"] is None
    assert metrics["alpha_vision_mean"] == {"visual_queries": None, "content_queries": None}
    assert ndcg["text"] == evaluation.reports["text"].ndcg.mean
    assert metrics["cold_start_recall_at_10"]["indexed_tower"] == evaluation.reports["text"].recall.mean
    diagnostics = st.encode_diagnostics(params, inputs, encoded, training, towers, evaluation, None, None, report)
    assert diagnostics["dims"]["image"] == 0 and "text_queries" not in diagnostics


def test_params_yaml_encode_block_names_every_key_with_a_type_comment() -> None:
    import yaml

    from hermes_core.encode.params import AnnParams, EncodeParams, FusionParams

    path = Path(__file__).resolve().parents[2] / "params.yaml"
    block = yaml.safe_load(path.read_text())["encode"]
    for model, keys in ((EncodeParams, block), (FusionParams, block["fusion"]), (AnnParams, block["ann"])):
        assert set(model.model_fields) == set(keys), model.__name__
    lines = path.read_text().splitlines()
    start = lines.index("encode:")
    end = next(i for i in range(start + 1, len(lines)) if lines[i] and not lines[i].startswith(" "))
    for number in range(start + 1, end):
        stripped = lines[number].strip()
        if not stripped or stripped.startswith("#") or stripped.endswith(":"):
            continue
        # the comment block right above a value line must open with "# (type)"
        first = number
        while lines[first - 1].strip().startswith("#"):
            first -= 1
        assert first < number, f"params.yaml line {number + 1} has no comment: {stripped}"
        assert lines[first].strip().startswith("# ("), f"params.yaml line {number + 1}: comment lacks (type)"
