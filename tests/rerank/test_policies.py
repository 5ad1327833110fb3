"""The policies on every list (``hermes_core.rerank.policies``): each one against the core function it
wraps, list by list, and the bookkeeping it adds (infeasible LPs, lists short of protected items,
the parity multiplier's report)."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.rerank.exposure_parity import cohort_exposure_ratio
from hermes_core.rerank.fair_topk import adjust_significance, satisfies_table
from hermes_core.rerank.mmr import mmr_rerank
from hermes_core.rerank.policies import fair_run, lp_rows, mmr_runs, parity_run, singh_joachims_run, unreranked
from tests.rerank.lists_fixture import make_lists


def random_lists(n_lists: int = 12, n_candidates: int = 15, n_items: int = 40, seed: int = 0,
                 protected_share: float = 0.4):
    rng = np.random.default_rng(seed)
    items = np.stack([rng.choice(n_items, size=n_candidates, replace=False) for _ in range(n_lists)])
    scores = np.sort(rng.normal(size=(n_lists, n_candidates)), axis=1)[:, ::-1].copy()  # ranker's order
    protected = rng.random(n_items) < protected_share
    vectors = rng.normal(size=(n_items, 6))
    return make_lists(items, protected, vectors=vectors, scores=scores, mapping="min_max")


def test_unreranked_is_the_rankers_top_k() -> None:
    lists = random_lists()
    np.testing.assert_array_equal(unreranked(lists, 5).slates, np.tile(np.arange(5), (12, 1)))


def test_mmr_runs_match_the_per_list_reference_for_every_lambda_and_chunking() -> None:
    lists = random_lists()
    runs = mmr_runs(lists, [1.0, 0.6, 0.0], 5, chunk_size=5)  # chunks of 5, 5 and 2 lists
    for run in runs:
        for row in range(lists.n_lists):
            vectors = lists.item_vectors[lists.items[row]]
            expected = mmr_rerank(lists.relevance[row], 5, run.value, embeddings=vectors)
            np.testing.assert_array_equal(run.slates[row], expected)
    # lambda = 1 is the ranker's order (min-max relevance is strictly decreasing here)
    np.testing.assert_array_equal(runs[0].slates, np.tile(np.arange(5), (12, 1)))
    assert [run.label for run in runs] == ["mmr lam=1", "mmr lam=0.6", "mmr lam=0"]


def test_mmr_skips_a_near_duplicate_of_the_top_item() -> None:
    # candidates 0 and 1 are the same vector; 2 is orthogonal. Relevance (percentile) 1, 0.5, 0.
    # lam = 0.5, second pick: item 1 scores 0.25 - 0.5 * 1 = -0.25, item 2 scores 0 - 0 = 0 -> item 2.
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    lists = make_lists(np.array([[0, 1, 2]]), np.array([False, False, True]), vectors=vectors)
    assert mmr_runs(lists, [0.5], 2)[0].slates.tolist() == [[0, 2]]
    assert mmr_runs(lists, [1.0], 2)[0].slates.tolist() == [[0, 1]]


def test_parity_reaches_its_tolerance_and_reports_the_ratio_of_its_slates() -> None:
    # 200 lists of 10 candidates whose independent half scores 0.5 lower (sigmoid relevance): the
    # independent cohort starts under-exposed and must be boosted; many distinct lists make the
    # batch's ratio a fine step function of the multiplier, so the band can be hit
    rng = np.random.default_rng(4)
    protected = np.arange(20) >= 10
    items = np.stack([rng.permutation(20)[:10] for _ in range(200)])
    raw = rng.normal(size=items.shape) - 0.5 * protected[items]
    order = np.argsort(-raw, axis=1)
    items, scores = np.take_along_axis(items, order, axis=1), np.take_along_axis(raw, order, axis=1)
    lists = make_lists(items, protected, scores=scores, mapping="sigmoid")
    run = parity_run(lists, 4, tolerance=0.05)
    report = run.report
    assert report["boosted_cohort"] == "independent" and report["multiplier"] > 1
    assert report["estimated_ratio_at_m1"] < 1
    assert report["converged"] and abs(report["estimated_ratio"] - 1) <= 0.05
    # the reported ratio is the one of the returned slates, on the policy's relevance
    assert report["estimated_ratio"] == pytest.approx(
        cohort_exposure_ratio(run.slates, lists.relevance, lists.protected, lists.mask))
    assert report["multiplier_path"][0] == 1.0 and len(report["ratio_path"]) == report["evaluations"]


def test_parity_already_within_tolerance_changes_nothing() -> None:
    lists = random_lists(seed=3)
    run = parity_run(lists, 5, tolerance=1.0)
    assert run.report["multiplier"] == 1.0 and run.report["boosted_cohort"] is None
    np.testing.assert_array_equal(run.slates, unreranked(lists, 5).slates)


def test_singh_joachims_counts_infeasible_lists_and_keeps_their_order() -> None:
    # list 0 has no protected candidate in its pool: infeasible; list 1 mixes both cohorts
    protected = np.array([False] * 6 + [True] * 6)
    items = np.array([[0, 1, 2, 3, 4, 5, 6, 7], [0, 6, 1, 7, 2, 8, 3, 9]])
    lists = make_lists(items, protected)
    run = singh_joachims_run(lists, 3, candidates=6, seed=1)
    report = run.report
    assert report["infeasible"] == 1 and report["infeasible_keys"] == ["r0"]
    assert report["infeasible_by_cause"] == {"a cohort absent or without relevance in the pool": 1}
    np.testing.assert_array_equal(run.slates[0], [0, 1, 2])
    # the feasible list shows 3 distinct candidates of its pool of 6
    assert len(set(run.slates[1].tolist())) == 3 and set(run.slates[1].tolist()) <= set(range(6))
    assert report["max_constraint_residual"] < 1e-8 and 0 < report["mean_utility_share"] <= 1 + 1e-12


def test_singh_joachims_is_reproducible_and_a_user_sample_leaves_the_rest_alone() -> None:
    lists = random_lists(n_lists=10, seed=5)
    first = singh_joachims_run(lists, 4, candidates=8, seed=7)
    again = singh_joachims_run(lists, 4, candidates=8, seed=7)
    np.testing.assert_array_equal(first.slates, again.slates)
    sampled = singh_joachims_run(lists, 4, candidates=8, seed=7, users=3)
    rows = lp_rows(10, 3, 7)
    assert rows.size == 3 and sampled.report["lists_reranked"] == 3
    others = np.setdiff1d(np.arange(10), rows)
    np.testing.assert_array_equal(sampled.slates[others], np.tile(np.arange(4), (others.size, 1)))
    # a sampled list draws with its own generator, so it matches the full run's slate
    np.testing.assert_array_equal(sampled.slates[rows], first.slates[rows])


def test_fair_slates_meet_the_adjusted_table_in_every_prefix() -> None:
    lists = random_lists(n_lists=20, n_candidates=20, seed=2, protected_share=0.3)
    run = fair_run(lists, 10, p=0.5, alpha=0.1)
    table = adjust_significance(10, 0.5, 0.1).table
    assert run.report["table"] == table.tolist()
    short = set(run.report["short_keys"])
    checked = [row for row in range(lists.n_lists) if lists.keys[row] not in short]
    assert len(checked) >= 15  # most lists hold the 5 protected candidates the table ends with
    for row in checked:
        assert satisfies_table(lists.protected[row, run.slates[row]], table)
    # protected items keep their relative order, and so do the others (FA*IR's two queues)
    for row in range(lists.n_lists):
        slate = run.slates[row]
        for cohort in (True, False):
            picked = slate[lists.protected[row, slate] == cohort]
            assert np.all(np.diff(picked) > 0)


def test_fair_caps_the_table_of_a_list_short_of_protected_items() -> None:
    # one protected candidate only: the table for p = 0.9 asks for more, capped at 1 and counted
    protected = np.array([True] + [False] * 9)
    lists = make_lists(np.array([[1, 2, 3, 4, 5, 0, 6, 7, 8, 9]]), protected)
    run = fair_run(lists, 5, p=0.9, alpha=0.1)
    assert run.report["lists_short_of_protected"] == 1 and run.report["short_keys"] == ["r0"]
    # the protected item (column 5) is pulled to the first position the capped table forces it
    assert 5 in run.slates[0].tolist()
