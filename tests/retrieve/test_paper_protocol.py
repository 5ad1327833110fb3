"""SASRec and the baselines under the paper's protocol (``hermes_core.retrieve.paper_protocol``)."""

from __future__ import annotations

import numpy as np

from hermes_core.retrieve.paper_protocol import MODELS, run_paper_protocol
from hermes_core.retrieve.params import RetrieveSasrecParams


def test_a_tiny_run_reports_both_protocols_for_every_model() -> None:
    rng = np.random.default_rng(0)
    # 40 users walking a ring of 30 items: the next item is the current one + 1
    sequences = [((rng.integers(0, 30) + np.arange(8)) % 30) + 1 for _ in range(40)]
    params = RetrieveSasrecParams(max_len=8, hidden_size=8, epochs=2, eval_every=1, n_negatives=20)
    result = run_paper_protocol(sequences, 30, params, dataset="ring", seed=3, device="cpu")
    table = result.table()
    assert list(table.index) == list(MODELS)
    assert (table["ndcg_at_10_sampled"] <= table["hr_at_10_sampled"] + 1e-12).all()
    assert (table["ndcg_at_10_full"] <= table["ndcg_at_10_sampled"] + 1e-12).all()
    assert table["sampled_protocol"].str.contains("20").all()
    # the transition model knows the ring exactly: its target is always first
    assert table.loc["transition", "hr_at_10_full"] == 1.0
    differences = result.sasrec_minus_transition(n_bootstrap=200)
    assert list(differences.index) == ["sampled", "full"]
    assert (differences["low"] <= differences["difference"]).all()
    assert result.n_users == 40 and result.n_interactions == 320
    assert [row["epoch"] for row in result.sasrec.history] == [1, 2]
