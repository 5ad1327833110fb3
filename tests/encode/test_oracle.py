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
    assert a.shape == (3, 4) and b.dtype == np.float64 and pytest.approx(0) == 0


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
    # the per-user search includes alpha = 0.5 (concatenation) and every reweighing is one of its users' options
    # only up to the weights' per-item variation, so the bound is checked against concatenation
    assert table.loc["best gate per user (upper bound)", column] >= table.loc["concat", column] - 1e-9
    assert set(run.gate_recovery) >= {"rho", "ci_low", "ci_high", "n"}
