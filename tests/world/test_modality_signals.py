"""The modality oracle: its NDCG against the evaluation package's and a hand loop, its bootstrap
against ``paired_bootstrap``, the scores and grades against the named affinity components, and the
known answer of a world without modality intents (gain exactly 0)."""

from __future__ import annotations

import copy
import math
from dataclasses import replace

import numpy as np
import pytest

from hermes_core.evaluation.bootstrap import paired_bootstrap
from hermes_core.evaluation.ranking import ndcg_at_k
from hermes_core.world import World
from hermes_core.world.modality_signals import (
    MODALITY_GAIN_GOAL,
    bootstrap_mean_interval,
    modality_ndcg,
    modality_signals,
    ndcg_per_row,
    session_starts,
)
from hermes_core.world.params import WorldParams
from hermes_core.world.preferences import SessionContext, grade


def hand_ndcg(scores: list[float], grades: list[int], k: int) -> float:
    """NDCG@k by a plain loop: stable order by decreasing score (ties to the lower index)."""
    order = sorted(range(len(scores)), key=lambda j: (-scores[j], j))[:k]
    dcg = sum((2.0 ** grades[j] - 1.0) / math.log2(r + 2) for r, j in enumerate(order))
    ideal = sorted(grades, reverse=True)[:k]
    idcg = sum((2.0 ** g - 1.0) / math.log2(r + 2) for r, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else float("nan")


def test_ndcg_matches_a_hand_example() -> None:
    # ranking by score: columns 1 (grade 0), 0 (grade 2), 2 (grade 1); ideal: 2, 1, 0
    scores = np.array([[0.5, 0.9, 0.1]])
    grades = np.array([[2, 0, 1]])
    dcg = 3.0 / math.log2(3) + 1.0 / math.log2(4)
    idcg = 3.0 + 1.0 / math.log2(3)
    assert ndcg_per_row(scores, grades, 10)[0] == pytest.approx(dcg / idcg)
    assert ndcg_per_row(scores, grades, 1)[0] == 0.0  # the top item has grade 0


def test_ndcg_matches_the_evaluation_package_and_a_loop_with_ties_and_empty_rows() -> None:
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 4, size=(40, 12)).astype(float)  # many ties
    grades = rng.integers(0, 5, size=(40, 12))
    grades[5] = 0  # no relevant item: NaN, as the evaluation package excludes it
    ours = ndcg_per_row(scores, grades, 5)
    reference = ndcg_at_k(scores, grades, 5).per_query
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-12, equal_nan=True)
    loop = [hand_ndcg(list(s), list(g), 5) for s, g in zip(scores, grades)]
    np.testing.assert_allclose(ours, loop, rtol=0, atol=1e-12, equal_nan=True)
    assert np.isnan(ours[5]) and np.isfinite(np.delete(ours, 5)).all()


def test_bootstrap_interval_is_paired_bootstraps() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=500), rng.normal(size=500)
    expected = paired_bootstrap(a, b, n_bootstrap=400, seed=7, level=0.9)
    low, high = bootstrap_mean_interval(a - b, n_bootstrap=400, seed=7, level=0.9)
    assert low == pytest.approx(expected.ci_low, abs=1e-12)
    assert high == pytest.approx(expected.ci_high, abs=1e-12)
    with pytest.raises(ValueError, match="at least 100"):
        bootstrap_mean_interval(a - b, n_bootstrap=50)


def test_session_starts_are_the_first_request_of_every_session(tiny_world: World) -> None:
    logs = tiny_world.logs
    users, intents = session_starts(logs)
    assert len(users) == len(np.unique(logs.session))
    by_session = {int(s): (int(logs.user[r]), float(logs.modality_intent[r]))
                  for r, s in enumerate(logs.session) if logs.step[r] == 0}
    first = np.flatnonzero(logs.step == 0)
    assert [by_session[int(s)] for s in logs.session[first]] == list(zip(users.tolist(), intents.tolist()))
    # a session keeps one intent over all its requests
    for s in np.unique(logs.session)[:50]:
        assert len(set(logs.modality_intent[logs.session == s].tolist())) == 1


def test_per_session_ndcg_matches_a_loop_over_the_named_components(tiny_world: World) -> None:
    # independent path: the explanation API's named parts (styles + themes + domain = the content
    # scorer; their row sum = the affinity graded as truth) and a hand NDCG, session by session
    base, oracle, intents = modality_ndcg(tiny_world)
    users, _ = session_starts(tiny_world.logs)
    cold = np.flatnonzero(tiny_world.catalogue.is_cold)
    for row in range(0, len(users), 7):
        u, intent = int(users[row]), float(intents[row])

        def content(frame):  # type: ignore[no-untyped-def]
            visual_text = frame.filter(regex="^(style|theme):").sum(axis=1)
            return (visual_text + frame["domain"]).to_numpy()

        session = tiny_world.affinity_components(u, cold, context=SessionContext.single(intent))
        neutral = tiny_world.affinity_components(u, cold, context=SessionContext.single(0.0))
        grades = grade(tiny_world.scales, session.sum(axis=1).to_numpy())
        assert np.array_equal(grades, tiny_world.contextual_relevance(u, None, cold, SessionContext.single(intent)))
        assert base[row] == pytest.approx(hand_ndcg(list(content(neutral)), list(grades), 10), abs=1e-9, nan_ok=True)
        assert oracle[row] == pytest.approx(hand_ndcg(list(content(session)), list(grades), 10), abs=1e-9, nan_ok=True)
    # without an intent the oracle is the concatenation scorer itself
    none = intents == 0.0
    assert none.any() and np.array_equal(base[none], oracle[none], equal_nan=True)


def test_the_summary_reads_the_per_session_values(tiny_world: World) -> None:
    base, oracle, intents = modality_ndcg(tiny_world)
    signals = modality_signals(tiny_world, n_bootstrap=200, seed=5)
    scored = ~np.isnan(base)
    gain = oracle[scored] - base[scored]
    assert signals.n_sessions == scored.sum() and signals.n_cold_items == tiny_world.catalogue.is_cold.sum()
    assert signals.ndcg_concatenation == pytest.approx(base[scored].mean())
    assert signals.ndcg_oracle == pytest.approx(oracle[scored].mean())
    assert signals.gain == pytest.approx(gain.mean())
    assert signals.gain_intent_sessions == pytest.approx(gain[intents[scored] != 0].mean())
    expected = paired_bootstrap(oracle[scored], base[scored], n_bootstrap=200, seed=5)
    assert (signals.gain_ci_low, signals.gain_ci_high) == pytest.approx((expected.ci_low, expected.ci_high), abs=1e-12)
    assert signals.meets_goal == (signals.gain >= MODALITY_GAIN_GOAL)
    assert signals.as_dict()["goal"] == MODALITY_GAIN_GOAL
    assert modality_signals(tiny_world, n_bootstrap=200, seed=5) == signals  # deterministic


def test_without_modality_intents_the_oracle_gains_exactly_nothing(tiny_world_params: WorldParams) -> None:
    world = World.generate(tiny_world_params.model_copy(update={"modality_intent_strength": 0.0}))
    signals = modality_signals(world, n_bootstrap=100)
    assert signals.gain == 0.0 and signals.gain_ci_low == 0.0 and signals.gain_ci_high == 0.0
    assert signals.ndcg_oracle == signals.ndcg_concatenation
    assert signals.n_intent_sessions == 0 and math.isnan(signals.gain_intent_sessions)
    assert not signals.meets_goal


def test_a_world_without_cold_items_is_refused(tiny_world: World) -> None:
    world = copy.copy(tiny_world)
    world.catalogue = replace(tiny_world.catalogue, is_cold=np.zeros(tiny_world.n_items, dtype=bool))
    with pytest.raises(ValueError, match="no cold item"):
        modality_signals(world)
