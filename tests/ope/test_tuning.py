"""SLOPE's choice among nested estimators (``hermes_core.ope.tuning``)."""

from __future__ import annotations

import math

import numpy as np

from hermes_core.ope import DoublyRobust, OpeInputs, RoundTerms, SlopeTuned, SwitchDoublyRobust, slope_select


def click_log(seed: int = 0, n: int = 4000) -> dict[str, np.ndarray]:
    """Uniform logging over 5 actions, action 0 clicks with 0.3 and the others with 0.1; the
    target always plays action 0; a constant reward model of 0.15."""
    rng = np.random.default_rng(seed)
    action = rng.integers(0, 5, n)
    best = np.zeros((n, 5, 1))
    best[:, 0, 0] = 1.0
    return {
        "reward": (rng.random(n) < np.array([0.3, 0.1, 0.1, 0.1, 0.1])[action]).astype(float),
        "action": action,
        "pscore": np.full(n, 0.2),
        "action_dist": best,
        "estimated_rewards_by_reg_model": np.full((n, 5, 1), 0.15),
    }


def test_slope_picks_the_narrowest_candidate_consistent_with_the_wider_ones() -> None:
    """Three candidates: wide around 1.0, medium around 1.02 (consistent), narrow around 3.0
    (biased, its interval misses the others): SLOPE keeps the medium one."""
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(1000)
    noise = (noise - noise.mean()) / noise.std()
    wide = RoundTerms(correction=1.0 + 10 * noise)
    medium = RoundTerms(correction=1.02 + 2 * noise)
    narrow = RoundTerms(correction=3.0 + 0.1 * noise)
    assert slope_select([narrow, wide, medium]) == 2
    assert slope_select([wide, medium]) == 1
    assert slope_select([wide]) == 0


def test_slope_tuned_switch_dr_drops_the_biased_threshold() -> None:
    """Every logged weight is 5 (action 0) or 0. Switch-DR at tau = 1 drops every correction and
    is DM, the constant 0.15 with zero width, far below the truth 0.3; tau = 10 and tau = inf both
    keep every correction (w <= 5) and are plain DR. Visited widest first: inf, then 10 (same
    estimate, accepted), then 1, rejected since |0.15 - DR| >> C c. SLOPE returns tau = 10."""
    inputs = OpeInputs.from_arrays(**click_log())
    tuned = SlopeTuned(candidates=tuple(SwitchDoublyRobust(tau=t) for t in (1.0, 10.0, math.inf)))
    assert tuned.select(inputs) == SwitchDoublyRobust(tau=10.0)
    assert tuned.round_terms(inputs).estimate() == DoublyRobust().round_terms(inputs).estimate()
