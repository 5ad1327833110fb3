"""Target policies (``hermes_core.ope.policies``): the Open Bandit ones by hand, the scoring
policies on the tiny world by their marginals."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from hermes_core.data.readers.open_bandit import read_open_bandit_logs
from hermes_core.ope.policies import (
    bernoulli_ts_action_dist,
    learned_policy,
    logged_action_share,
    obp_bernoulli_ts_action_dist,
    softmax_true_policy,
    uniform_policy,
)
from hermes_core.ope.shadow import requests_of
from hermes_core.world import World
from hermes_core.world.policies import standard_targets

SHARED = Path(os.environ.get("HERMES_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
OBD_ROOT = SHARED / "open_bandit_dataset"


def test_logged_share_and_thompson_sampling_distributions() -> None:
    """Slot 0 logged items 0, 0, 1: shares 2/3, 1/3, 0; slot 1 logged item 2 only."""
    share = logged_action_share(np.array([0, 0, 1, 2]), np.array([0, 0, 0, 1]), n_actions=3, len_list=2)
    np.testing.assert_allclose(share, [[2 / 3, 0], [1 / 3, 0], [0, 1]])
    # Posteriors so concentrated that the ranking is fixed: item 1 > item 2 > item 0.
    alpha = np.array([1.0, 9e5, 5e5])
    beta = np.array([1e6, 1e5, 5e5])
    ts = bernoulli_ts_action_dist(alpha, beta, len_list=2, n_sim=1000, seed=0, chunk=300)
    np.testing.assert_array_equal(ts, [[0, 0], [1, 0], [0, 1]])
    # Two identical posteriors: each item first half the time, within 4 binomial SE of 20,000 draws.
    even = bernoulli_ts_action_dist(np.ones(2), np.ones(2), len_list=1, n_sim=20000, seed=1)
    assert even[0, 0] == pytest.approx(0.5, abs=4 * np.sqrt(0.25 / 20000))
    assert even[0, 0] + even[1, 0] == pytest.approx(1.0, abs=1e-12)


def obp_select_action_loop(alpha: np.ndarray, beta: np.ndarray, len_list: int, n_sim: int, seed: int) -> np.ndarray:
    """OBP's ``BernoulliTS.compute_batch_action_dist`` written out: one ``select_action()`` per draw,
    ``random_.beta(a=reward_counts + alpha, b=(action_counts - reward_counts) + beta)`` with zero
    counts, ``argsort()[::-1][:len_list]``, counted per position and divided by ``n_sim``."""
    random_ = np.random.RandomState(seed)
    reward_counts, action_counts = np.zeros(len(alpha)), np.zeros(len(alpha), dtype=int)
    action_count = np.zeros((len(alpha), len_list))
    for _ in np.arange(n_sim):
        predicted_rewards = random_.beta(a=reward_counts + alpha, b=(action_counts - reward_counts) + beta)
        selected_actions = predicted_rewards.argsort()[::-1][:len_list]
        for pos in np.arange(len_list):
            action_count[selected_actions[pos], pos] += 1
    return action_count / n_sim


def test_obp_bernoulli_ts_is_obps_simulation_draw_for_draw() -> None:
    """Chunks of 70 draws of all 6 items continue the one RandomState stream, so 500 draws give
    OBP's per-draw loop's frequencies exactly (not just within Monte-Carlo error)."""
    alpha = np.array([2.0, 47.0, 8.0, 62.0, 3.0, 14.0])
    beta = np.array([2189.0, 9e3, 3e3, 1e4, 900.0, 5e3])
    fast = obp_bernoulli_ts_action_dist(alpha, beta, len_list=3, n_sim=500, random_state=12345, chunk=70)
    np.testing.assert_array_equal(fast, obp_select_action_loop(alpha, beta, 3, 500, 12345))
    np.testing.assert_allclose(fast.sum(axis=0), 1.0, atol=1e-12)
    assert not np.array_equal(fast, obp_bernoulli_ts_action_dist(alpha, beta, 3, 500, random_state=1))


def test_policies_reject_what_they_cannot_represent() -> None:
    with pytest.raises(ValueError, match="slot"):
        logged_action_share(np.array([0, 1]), np.array([0, 0]), n_actions=2, len_list=2)  # slot 1 never logged
    with pytest.raises(ValueError, match="positive"):
        bernoulli_ts_action_dist(np.array([1.0, 0.0]), np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match="positive"):
        obp_bernoulli_ts_action_dist(np.array([1.0, -1.0]), np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match="len_list"):
        obp_bernoulli_ts_action_dist(np.ones(2), np.ones(2), len_list=3)


@pytest.mark.skipif(not (OBD_ROOT / "bts" / "all" / "all.csv").is_file(), reason=f"no Open Bandit sample at {OBD_ROOT}")
@pytest.mark.shared_data
def test_logged_share_of_the_real_bts_log_is_a_distribution_per_slot() -> None:
    bts = read_open_bandit_logs(OBD_ROOT, "bts", "all")
    share = logged_action_share(bts.action, bts.position, bts.n_actions)
    assert share.shape == (80, 3)
    np.testing.assert_allclose(share.sum(axis=0), 1.0)


def test_scoring_policies_have_their_names_and_marginals(tiny_world: World) -> None:
    """``softmax-true@T`` is the world's target of that name; uniform puts 1/C on every candidate
    at every slot; every marginal sums to 1 over candidates at each slot."""
    logs = requests_of(tiny_world.logs, np.arange(40))
    n_candidates = logs.candidates.shape[1]
    rng = np.random.default_rng(0)
    softmax = softmax_true_policy(0.5)
    assert softmax.name == "softmax-true@0.5" and uniform_policy().name == "uniform"
    dist, slate = softmax.decide(tiny_world, logs, rng)
    np.testing.assert_allclose(dist, standard_targets(tiny_world, logs, (0.5,))["softmax-true@0.5"], atol=1e-12)
    uniform, _ = uniform_policy().decide(tiny_world, logs, rng)
    np.testing.assert_allclose(uniform, 1.0 / n_candidates, atol=1e-12)
    assert slate.shape == logs.slate.shape
    learned = learned_policy(tiny_world, logs, temperature=2.0, seed=0)
    assert learned.name == "reward-model@2"
    np.testing.assert_allclose(learned.decide(tiny_world, logs, rng)[0].sum(axis=1), 1.0, atol=1e-12)
