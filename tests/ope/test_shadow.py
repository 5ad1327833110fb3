"""Shadow mode and the champion/challenger gate on the world (``hermes_core.ope.shadow``)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from hermes_core.ope.gate import GateDecision
from hermes_core.ope.params import OpeParams
from hermes_core.ope.policies import softmax_true_policy, uniform_policy
from hermes_core.ope.shadow import GateReport, GateRun, gate_on_shadow_log, requests_of, run_shadow_mode
from hermes_core.ope.world_experiments import fit_world_log
from hermes_core.world import World
from hermes_core.world.policies import resimulate, standard_targets

PARAMS = OpeParams(intervals={"n_bootstrap": 200}, estimators={"n_folds": 2},
                   gate={"ci_level": 0.95, "method": "bootstrap"}, seed=3)


@pytest.fixture(scope="module")
def champion_log(tiny_world: World):  # noqa: ANN201
    logs = resimulate(tiny_world, 21, 800)
    return logs, fit_world_log(tiny_world, logs, n_folds=2, seed=4)


@pytest.fixture(scope="module")
def better_shadow(tiny_world: World, champion_log):  # noqa: ANN001, ANN201
    logs, _ = champion_log
    return run_shadow_mode(tiny_world, logs, softmax_true_policy(0.5), batch_size=300, seed=9)


def test_shadow_log_holds_only_the_champions_slates(tiny_world: World, champion_log, better_shadow) -> None:  # noqa: ANN001
    logs, _ = champion_log
    clicks_before = logs.clicks.copy()
    shadow = better_shadow
    assert shadow.shown_slate is logs.slate
    assert shadow.feedback_is_champions(tiny_world)
    feedback = shadow.feedback(tiny_world)
    np.testing.assert_array_equal(feedback.reward, logs.clicks.reshape(-1).astype(float))
    np.testing.assert_array_equal(logs.clicks, clicks_before)  # scoring changed nothing shown
    # the challenger really chose differently on some requests, and that never reached the log
    assert (shadow.challenger_slate != shadow.shown_slate).any()
    # batches of 300, 300 and 200 requests, each timed and its memory traced
    assert shadow.batch_size.tolist() == [300, 300, 200]
    assert shadow.batch_seconds.shape == (3,) and (shadow.batch_peak_bytes > 0).all()
    costs = shadow.cost_summary()
    assert costs["batches"] == 3
    assert costs["microseconds_per_request"] == pytest.approx(1e6 * shadow.batch_seconds.sum() / 800)
    assert costs["peak_mib"] == pytest.approx(shadow.batch_peak_bytes.max() / 2**20)
    # the recorded marginals are the challenger's policy: softmax-true@0.5 of the world
    expected = standard_targets(tiny_world, logs, (0.5,))["softmax-true@0.5"]
    np.testing.assert_allclose(shadow.challenger_action_dist, expected, atol=1e-12)


def test_challenger_slates_follow_its_marginals(tiny_world: World, champion_log, better_shadow) -> None:  # noqa: ANN001
    """Over 800 requests the share of requests whose challenger slate puts candidate a first is
    the mean of its marginal P(a at slot 0) within 4 binomial standard errors."""
    shadow = better_shadow
    first = np.zeros_like(shadow.challenger_action_dist[:, :, 0])
    first[np.arange(shadow.n_requests), shadow.challenger_slate[:, 0]] = 1.0
    expected = shadow.challenger_action_dist[:, :, 0].mean(axis=0)
    error = np.sqrt(expected * (1 - expected) / shadow.n_requests) + 1e-9
    assert (np.abs(first.mean(axis=0) - expected) <= 4 * error).all()


def test_gate_promotes_a_truly_better_challenger(tiny_world: World, champion_log, better_shadow) -> None:  # noqa: ANN001
    _, world_log = champion_log
    report = gate_on_shadow_log(tiny_world, better_shadow, world_log, PARAMS)
    assert report.true_uplift > 0.01  # Plackett-Luce on true relevance beats the noisy logger (0.017 here)
    assert report.decision.decision == "promote" and report.decision.ci_low > 0
    assert report.right and report.decision.n_rounds == 800 * 5
    assert report.as_dict()["true_uplift"] == pytest.approx(report.true_uplift)


def test_gate_keeps_the_champion_against_worse_or_equal(tiny_world: World, champion_log) -> None:  # noqa: ANN001
    logs, world_log = champion_log
    worse = run_shadow_mode(tiny_world, logs, uniform_policy(), batch_size=800, seed=9)
    report = gate_on_shadow_log(tiny_world, worse, world_log, PARAMS)
    assert report.true_uplift < 0
    assert report.decision.decision == "keep champion" and report.right
    # the champion against itself: every per-round difference is 0, so the uplift and its
    # interval are exactly 0 and 0 is not > 0
    same = replace(worse, challenger="logging", challenger_action_dist=logs.logging_marginals)
    tie = gate_on_shadow_log(tiny_world, same, world_log, PARAMS)
    assert tie.decision.uplift == 0.0 and tie.decision.ci_low == 0.0
    assert tie.decision.decision == "keep champion"


def test_gate_refuses_a_reward_model_of_another_log(tiny_world: World, champion_log, better_shadow) -> None:  # noqa: ANN001
    logs, world_log = champion_log
    other = replace(world_log, logs=requests_of(logs, np.arange(10)))
    with pytest.raises(ValueError, match="shadow log"):
        gate_on_shadow_log(tiny_world, better_shadow, other, PARAMS)


def test_requests_of_slices_every_per_request_array(champion_log) -> None:  # noqa: ANN001
    logs, _ = champion_log
    part = requests_of(logs, np.array([5, 2]))
    np.testing.assert_array_equal(part.slate, logs.slate[[5, 2]])
    np.testing.assert_array_equal(part.logging_marginals, logs.logging_marginals[[5, 2]])
    np.testing.assert_array_equal(part.user, logs.user[[5, 2]])
    assert part.conv_request is logs.conv_request  # per click, not per request



def _report(challenger: str, decision: str, low: float, high: float, true_uplift: float) -> GateReport:
    gate = GateDecision(uplift=(low + high) / 2, ci_low=low, ci_high=high, decision=decision,  # type: ignore[arg-type]
                        level=0.95, n_rounds=500, method="bootstrap", champion_value=0.1,
                        challenger_value=0.1 + (low + high) / 2)  # fmt: skip
    return GateReport("logging", challenger, gate, 0.1, 0.1 + true_uplift, "dr", 100)


def test_gate_run_table_says_whether_each_interval_holds_the_true_uplift() -> None:
    """[0.0381, 0.0461] misses the true uplift 0.0475 (kept right: promoted and truly better);
    [-0.04, -0.02] holds -0.03; [0.001, 0.01] misses -0.002 and the promotion is wrong."""
    run = GateRun(shadows={}, reports={
        "softmax-true@0.5": _report("softmax-true@0.5", "promote", 0.0381, 0.0461, 0.0475),
        "uniform": _report("uniform", "keep champion", -0.04, -0.02, -0.03),
        "reward-model@0.5": _report("reward-model@0.5", "promote", 0.001, 0.01, -0.002),
    })  # fmt: skip
    table = run.table()
    assert table["true_uplift_in_interval"].tolist() == [False, True, False]
    assert table["decision_right"].tolist() == [True, True, False]
    assert table.loc["uniform", "true_uplift"] == pytest.approx(-0.03)
