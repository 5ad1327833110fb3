"""The modality oracle: the reweighing formula by hand, its centring on concatenation, and the parts of
the concat tower's score."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from hermes_core.encode.fusion import make_fusion_model, score_items
from hermes_core.encode.oracle import concat_parts, oracle_scores


def test_oracle_scores_by_hand() -> None:
    a = np.array([[1.0, 2.0], [0.5, -1.0]])
    b = np.array([[3.0, 0.0], [1.0, 2.0]])
    w = np.array([[0.2, 0.6], [0.4, 0.8]])  # mean 0.5
    expected = np.array([[0.2 / 0.5 * 1 + 0.8 / 0.5 * 3, 0.6 / 0.5 * 2 + 0.4 / 0.5 * 0],
                         [0.4 / 0.5 * 0.5 + 0.6 / 0.5 * 1, 0.8 / 0.5 * -1 + 0.2 / 0.5 * 2]])
    np.testing.assert_allclose(oracle_scores(a, b, w), expected)
    # a constant weight is concatenation: a + b
    np.testing.assert_allclose(oracle_scores(a, b, np.full_like(w, 0.3)), a + b)


def test_concat_parts_sum_to_the_concat_score() -> None:
    rng = np.random.default_rng(0)
    model = make_fusion_model("concat", 7, 4, 3, output_dim=5, seed=2)
    queries = rng.standard_normal((3, 7)).astype(np.float32)
    masks = np.array([[True, True], [True, False], [False, True], [True, True]])
    encoded = SimpleNamespace(image=rng.standard_normal((4, 4)).astype(np.float32),
                              text=rng.standard_normal((4, 3)).astype(np.float32), masks=masks)
    a, b = concat_parts(model, queries, encoded, np.arange(4))  # type: ignore[arg-type]
    np.testing.assert_allclose(a + b, score_items(model, queries, encoded.image, encoded.text, masks), rtol=1e-5,
                               atol=1e-5)
    assert np.all(a[:, 2] == 0) and np.all(b[:, 1] == 0)  # a missing modality contributes nothing
    assert a.shape == (3, 4) and b.dtype == np.float64


def test_world_oracle_table_rows_agree_with_the_evaluation(world_run: dict) -> None:
    run = world_run["run"]
    table, evaluation = run.oracle, run.evaluation
    column = table.columns[0]
    assert list(table.index) == ["concat", "true weight, strength 0.25", "true weight, strength 0.5",
                                 "true weight, strength 1", "shuffled weight (control)",
                                 "best gate per user (upper bound)"]
    # concat and the full-strength oracle are the evaluation's rows (seed means of the same scores)
    assert table.loc["concat", column] == pytest.approx(np.mean(evaluation.reports["concat"].seed_ndcg), abs=1e-4)
    assert table.loc["true weight, strength 1", column] == pytest.approx(
        np.mean(evaluation.reports["oracle"].seed_ndcg), abs=1e-9)
    # the shuffled control, recomputed by hand: the same permutation of the users' true weights
    from hermes_core.encode.oracle import concat_parts, true_modality_weights
    from hermes_core.evaluation.ranking import ndcg_at_k

    params, encoded, towers = world_run["params"], world_run["encoded"], world_run["towers"]
    users, rows = evaluation.users, evaluation.cold_rows
    w = true_modality_weights(world_run["inputs"], users.keys, rows)
    shuffled = w[np.random.default_rng(params.encode.seed).permutation(len(w))]
    by_hand = []
    for model in towers["concat"].models:
        a, b = concat_parts(model, users.vectors, encoded, rows)
        by_hand.append(ndcg_at_k(shuffled / shuffled.mean() * a + (1 - shuffled) / (1 - shuffled.mean()) * b,
                                 evaluation.grades, 10).mean)
    assert table.loc["shuffled weight (control)", column] == pytest.approx(np.mean(by_hand), abs=1e-9)
    assert set(run.domain_shares) == {"vision part", "text part"}
    assert all(0.0 <= value <= 1.0 for value in run.domain_shares.values())


def test_domain_share_by_hand() -> None:
    from hermes_core.encode.oracle import domain_share

    domains = np.array([0, 0, 1, 1])
    # user 0: scores follow the domain exactly (share 1); user 1: same mean in both domains (share 0)
    scores = np.array([[1.0, 1.0, 3.0, 3.0], [1.0, 3.0, 3.0, 1.0]])
    assert domain_share(scores, domains) == pytest.approx(0.5)
    # user with within-domain spread: means 1.5 and 3.5 around 2.5 -> between 4 * 1 = 4; total 4 + 4 * 0.25 = 5
    assert domain_share(np.array([[1.0, 2.0, 3.0, 4.0]]), domains) == pytest.approx(4.0 / 5.0)
