"""The shared-multiplier exposure-parity re-ranker (``hermes_core.rerank.exposure_parity``): it
reaches parity where parity is reachable and says why where it is not."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hermes_core.rerank.exposure import exposure_by_group, position_exposure, relevance_by_group
from hermes_core.rerank.exposure_parity import exposure_parity_rerank, top_k_slates

V = position_exposure(5)


def penalised_cohort(seed: int = 0, n_users: int = 300, n_candidates: int = 30) -> dict[str, np.ndarray]:
    """Cohort A (30% of candidates) as relevant as the rest but scored 0.8 lower, all scores shifted
    to be negative: A is under-exposed for its relevance before re-ranking."""
    rng = np.random.default_rng(seed)
    in_cohort = rng.random((n_users, n_candidates)) < 0.3
    relevance = rng.random((n_users, n_candidates))
    scores = 2 * relevance - 3.0 + rng.normal(0, 0.3, relevance.shape) - 0.8 * in_cohort
    return {"scores": scores, "relevance": relevance, "in_cohort": in_cohort}


def ratio_by_hand(slates: np.ndarray, relevance: np.ndarray, in_cohort: np.ndarray) -> float:
    """DER(A, B) recomputed from the slates with the exposure module, one user at a time."""
    exposure = np.zeros(2)
    for row in range(slates.shape[0]):
        exposure += exposure_by_group(slates[row], np.where(in_cohort[row], 0, 1), 2)
    merit = relevance_by_group(relevance, np.where(in_cohort, 0, 1), 2)
    return float((exposure[0] / merit[0]) / (exposure[1] / merit[1]))


def test_reaches_parity_within_tolerance_where_reachable() -> None:
    case = penalised_cohort()
    result = exposure_parity_rerank(case["scores"], case["relevance"], case["in_cohort"], 10, tolerance=0.01)
    assert result.converged, result.reason
    assert result.boosted_cohort == "a"
    assert result.ratio_path[0] < 0.5  # the case starts far from parity (0.146 with this seed)
    assert result.multiplier_path[0] == 1.0 and result.multiplier > 1.0
    assert abs(result.ratio - 1.0) <= 0.01
    assert ratio_by_hand(result.slates, case["relevance"], case["in_cohort"]) == pytest.approx(result.ratio)
    # the slates are the top 10 by score + log m on cohort A: one shared multiplier for every user
    boosted = case["scores"] + math.log(result.multiplier) * case["in_cohort"]
    assert np.array_equal(result.slates, top_k_slates(boosted, np.ones_like(boosted, dtype=bool), 10))
    assert result.multiplier_path[-1] == pytest.approx(result.multiplier)


def test_negative_scores_and_a_shift_of_all_scores_change_nothing() -> None:
    # the boost is additive, so only score differences matter (a multiplicative boost of raw
    # scores would demote negative ones)
    case = penalised_cohort(seed=3, n_users=120)
    assert (case["scores"] < 0).mean() > 0.9
    base = exposure_parity_rerank(case["scores"], case["relevance"], case["in_cohort"], 8, tolerance=0.02)
    shifted = exposure_parity_rerank(case["scores"] + 10.0, case["relevance"], case["in_cohort"], 8, tolerance=0.02)
    assert base.converged and shifted.converged
    assert shifted.multiplier == pytest.approx(base.multiplier, rel=1e-9)
    assert np.array_equal(shifted.slates, base.slates)


def test_an_over_exposed_cohort_a_gets_cohort_b_boosted() -> None:
    case = penalised_cohort(seed=1)
    flipped = ~case["in_cohort"]  # now the penalised items are cohort B
    result = exposure_parity_rerank(case["scores"], case["relevance"], flipped, 10, tolerance=0.01)
    assert result.ratio_path[0] > 1.0
    assert result.converged and result.boosted_cohort == "b"
    assert abs(result.ratio - 1.0) <= 0.01


def test_already_at_parity_applies_no_boost() -> None:
    # two users, two candidates, equal relevance: A first for user 1, B first for user 2 -> each
    # cohort gets 1 + 0.63093 of exposure for 2 of relevance: ratio exactly 1
    scores = np.array([[1.0, 0.0], [0.0, 1.0]])
    in_cohort = np.array([[True, False], [True, False]])
    result = exposure_parity_rerank(scores, np.ones((2, 2)), in_cohort, 2, tolerance=1e-9)
    assert result.converged and result.multiplier == 1.0 and result.boosted_cohort is None
    assert result.ratio == pytest.approx(1.0, abs=1e-12)


def test_absent_cohort_is_reported_not_raised() -> None:
    case = penalised_cohort(n_users=20)
    result = exposure_parity_rerank(
        case["scores"], case["relevance"], np.zeros_like(case["in_cohort"]), 5
    )
    assert not result.converged
    assert "cohort a is absent" in result.reason
    assert math.isnan(result.ratio)
    # a cohort present only in padding is absent too
    mask = ~case["in_cohort"]
    result = exposure_parity_rerank(case["scores"], case["relevance"], case["in_cohort"], 5, mask=mask)
    assert not result.converged and "cohort a is absent" in result.reason


def test_unreachable_even_at_the_largest_boost() -> None:
    # every user: one cohort-A candidate of relevance 10 (scored last) and nine B candidates of 0.1;
    # slates of 5. The largest boost puts A first in every slate: A gets 1 per user, B gets
    # v2 + .. + v5 = 0.63093 + 0.5 + 0.43068 + 0.38685 = 1.94846, so the ratio cannot exceed
    # (1 / 10) / (1.94846 / 0.9) = 0.04619
    n_users = 4
    scores = np.tile(np.r_[-5.0, np.linspace(1.0, 0.1, 9)], (n_users, 1))
    relevance = np.tile(np.r_[10.0, np.full(9, 0.1)], (n_users, 1))
    in_cohort = np.zeros((n_users, 10), dtype=bool)
    in_cohort[:, 0] = True
    result = exposure_parity_rerank(scores, relevance, in_cohort, 5, tolerance=0.05)
    assert not result.converged
    assert "parity unreachable" in result.reason
    assert result.boosted_cohort == "a"
    ceiling = (1 / 10) / (V[1:].sum() / 0.9)
    assert ceiling == pytest.approx(0.04619, abs=1e-5)
    assert result.ratio == pytest.approx(ceiling, abs=1e-12)
    assert (result.slates[:, 0] == 0).all()


def test_a_jump_over_the_tolerance_band_is_reported() -> None:
    # one user: exposure moves in whole positions, so a tight tolerance sits inside one jump of the ratio
    case = penalised_cohort(seed=4, n_users=1)
    result = exposure_parity_rerank(case["scores"], case["relevance"], case["in_cohort"], 10, tolerance=1e-4)
    assert not result.converged
    assert "jumps from" in result.reason
    assert (result.ratio_path < 1 - 1e-4).any() and (result.ratio_path > 1 + 1e-4).any()
    assert abs(result.ratio - 1.0) == pytest.approx(np.abs(result.ratio_path - 1.0).min())
