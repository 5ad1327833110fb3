"""The gate's error rates over many logs (``hermes_core.ope.gate_error_rates``)."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from hermes_core.ope.gate import GateDecision, uplift_gate
from hermes_core.ope.gate_error_rates import (
    CHAMPION,
    DECISION_COLUMNS,
    LOG_STREAM,
    calibrated_challengers,
    decision_row,
    gate_reports_on_log,
    nominal_promote_rate,
    run_gate_error_rates,
    summarise_gate_decisions,
    temperatures_for_uplifts,
)
from hermes_core.ope.params import OpeParams
from hermes_core.ope.policies import softmax_true_policy
from hermes_core.ope.shadow import gate_on_shadow_log, run_shadow_mode
from hermes_core.ope.world_experiments import fit_configured_world_log, resample_seeds, wilson_interval
from hermes_core.world import World
from hermes_core.world.policies import resimulate, softmax_policy, true_relevance_scores, true_value

# ----------------------------------------------------------------------------- a synthetic bandit
MEANS = np.array([0.3, 0.1, 0.2])
"""Click probability of each of three actions. Logging and champion: uniform."""
CHAMPION_VALUE = 0.2
"""The uniform champion's value, the mean of ``MEANS``, written exactly: ``MEANS.mean()`` is
0.20000000000000004 in floating point, which would make a tie look like a tiny loss."""
REWARD_MODEL = 0.15
"""A constant, deliberately wrong reward model: DR stays unbiased through the exact propensities."""


def bandit_gate(log_seed: int, n_rounds: int, challenger: int | None, **gate: object) -> GateDecision:
    """The gate on one log of ``n_rounds`` uniformly logged rounds: the uniform champion against
    always playing action ``challenger`` (true uplift ``MEANS[challenger] - 0.2``), or against
    itself when ``challenger`` is None (uplift 0 in every round)."""
    rng = np.random.default_rng(log_seed)
    action = rng.integers(0, 3, n_rounds)
    reward = (rng.random(n_rounds) < MEANS[action]).astype(float)
    champion = np.full((n_rounds, 3, 1), 1 / 3)
    target = champion.copy() if challenger is None else np.zeros((n_rounds, 3, 1))
    if challenger is not None:
        target[:, challenger, 0] = 1.0
    reward_model = np.full((n_rounds, 3, 1), REWARD_MODEL)
    return uplift_gate(reward=reward, action=action, pscore=np.full(n_rounds, 1 / 3), champion_action_dist=champion,
                       challenger_action_dist=target, estimated_rewards_by_reg_model=reward_model,
                       **gate)  # type: ignore[arg-type]  # fmt: skip


def bandit_decisions(challenger: int | None, n_logs: int, n_rounds: int, **gate: object) -> pd.DataFrame:
    """The per-log table of ``n_logs`` independent bandit logs (seeds 0, 1, ...)."""
    assert MEANS.mean() == pytest.approx(CHAMPION_VALUE)
    truth = 0.0 if challenger is None else float(MEANS[challenger] - CHAMPION_VALUE)
    rows = [{"log": log, "seed": log, "challenger": "c", "policy": f"always-{challenger}",
             **decision_row(bandit_gate(log, n_rounds, challenger, **gate), truth)}
            for log in range(n_logs)]  # fmt: skip
    return pd.DataFrame(rows, columns=list(DECISION_COLUMNS))


def dr_difference_distribution(challenger: int) -> tuple[np.ndarray, np.ndarray]:
    """Values and probabilities of one round's DR difference
    :math:`\\delta = (\\pi_c(a) - \\pi_0(a)) / \\pi_b(a) \\,(r - \\hat q)` (the direct terms cancel:
    both policies sum to 1 over a constant reward model), over the uniform action and its click."""
    values, probabilities = [], []
    for action, mean in enumerate(MEANS):
        weight = ((action == challenger) - 1 / 3) / (1 / 3)
        for reward, chance in ((1.0, mean), (0.0, 1 - mean)):
            values.append(weight * (reward - REWARD_MODEL))
            probabilities.append(chance / 3)
    return np.array(values), np.array(probabilities)


def test_false_promotion_rate_at_zero_uplift_is_the_one_sided_level() -> None:
    """Always playing action 2 has value 0.2, the uniform champion's: the true uplift is exactly 0
    and every promotion is false. The normal-interval gate at level 0.9 promotes when the lower
    bound of x̄ ± z s/√n is above 0, i.e. when the t statistic exceeds z = 1.6449: a one-sided
    test of size (1 - 0.9)/2 = 0.05.

    Tolerance: over N = 4,000 independent logs the count of promotions is Binomial(N, p); at the
    nominal p = 0.05 its rate has standard deviation sqrt(p(1-p)/N) = 0.00345, so 4 of them
    (a correct gate fails with probability 6e-5 over seeds) is 0.0138. The normal approximation
    itself is off by the Edgeworth term of the studentised mean (Hall, 1992, "The Bootstrap and
    Edgeworth Expansion", Eq. 2.55): P(t > z) = 1 - Φ(z) - γ(2z² + 1)φ(z) / (6√n) + O(1/n),
    with γ the skewness of one round's difference, computed exactly below (γ = 1.30: 0.0045 at
    n = 1,000 rounds, which lowers the expected rate to about 0.0455). The tolerance, 0.0183,
    excludes the two likely mistakes, 0.025 (a one-sided test at the interval's own level) and
    0.10 (two-sided)."""
    n_logs, n_rounds, level = 4000, 1000, 0.9
    decisions = bandit_decisions(2, n_logs, n_rounds, level=level, method="normal")
    row = summarise_gate_decisions(decisions, ci_level=level).loc["c"]
    nominal = (1 - level) / 2
    assert row["one_sided_level"] == pytest.approx(nominal)
    assert row["n_not_better"] == n_logs and row["n_better"] == 0  # a tie counts as not better
    values, probabilities = dr_difference_distribution(2)
    assert probabilities @ values == pytest.approx(0.0, abs=1e-15)  # the true uplift is 0
    sd = math.sqrt(probabilities @ values**2)
    skewness = probabilities @ values**3 / sd**3
    z = NormalDist().inv_cdf(1 - nominal)
    edgeworth = abs(skewness) * (2 * z**2 + 1) * NormalDist().pdf(z) / (6 * math.sqrt(n_rounds))
    tolerance = 4 * math.sqrt(nominal * (1 - nominal) / n_logs) + edgeworth
    assert nominal - tolerance > 0.025 and nominal + tolerance < 0.10
    assert abs(row["false_promotion_rate"] - nominal) <= tolerance, (row["false_promotion_rate"], tolerance)
    assert row["false_promotion_rate"] == row["promote_rate"]  # every log is truly not better


def test_a_clearly_better_challenger_on_large_logs_is_always_promoted() -> None:
    """Always playing action 0 lifts the value from 0.2 to 0.3. One round's DR difference has
    standard deviation 0.620 (exact, below), so on 4,000 rounds the uplift's standard error is
    0.620/√4000 = 0.0098 and the true uplift 0.1 is 10 of them: the lower bound of a 95% interval
    is above 0 except with probability about Φ(1.96 - 10) < 1e-15 per log."""
    n_logs, n_rounds = 30, 4000
    values, probabilities = dr_difference_distribution(0)
    assert probabilities @ values == pytest.approx(0.1)
    standard_error = math.sqrt(probabilities @ values**2 - 0.1**2) / math.sqrt(n_rounds)
    assert 0.1 / standard_error > 10
    decisions = bandit_decisions(0, n_logs, n_rounds, level=0.95, method="bootstrap", n_bootstrap=200, seed=1)
    row = summarise_gate_decisions(decisions, ci_level=0.95).loc["c"]
    assert row["promote_rate"] == 1.0 and row["false_keep_rate"] == 0.0 and row["n_better"] == n_logs
    assert math.isnan(row["false_promotion_rate"]) and row["n_not_better"] == 0
    assert (row["promote_rate_low"], row["promote_rate_high"]) == pytest.approx(wilson_interval(n_logs, n_logs))
    assert row["uplift_bias"] == pytest.approx(0.0, abs=4 * standard_error / math.sqrt(n_logs))


def test_a_challenger_identical_to_the_champion_is_never_promoted() -> None:
    """Same marginals: every round's difference is exactly 0, so the uplift and both ends of its
    interval are 0, and 0 is not above 0. Twenty logs, 0 promotions: Wilson 95% [0, z²/20 / (1 +
    z²/20)] = [0, 0.161]."""
    decisions = bandit_decisions(None, 20, 300, level=0.95, method="bootstrap", n_bootstrap=100, seed=2)
    assert (decisions[["uplift", "ci_low", "ci_high", "true_uplift"]] == 0.0).all().all()
    row = summarise_gate_decisions(decisions, ci_level=0.95).loc["c"]
    assert row["promote_rate"] == 0.0 and row["false_promotion_rate"] == 0.0 and row["coverage"] == 1.0
    z2 = NormalDist().inv_cdf(0.975) ** 2
    wilson = (row["false_promotion_rate_low"], row["false_promotion_rate_high"])
    assert wilson == pytest.approx((0.0, z2 / 20 / (1 + z2 / 20)))
    assert math.isnan(row["nominal_promote_rate"])  # zero-width intervals: the normal prediction is undefined


# ----------------------------------------------------------------------------- bookkeeping by hand
def hand_decisions() -> pd.DataFrame:
    """Challenger ``a``, five logs (interval, decision, true uplift):

    ======  ================  =======  =====  =======
    log     interval          decision truth  covered
    ======  ================  =======  =====  =======
    0       [0.010, 0.030]    promote  0.02   yes
    1       [-0.005, 0.020]   keep     0.01   yes      false keep
    2       [0.001, 0.020]    promote  -0.01  no       false promotion
    3       [-0.010, 0.010]   keep     0.00   yes      a tie: not better
    4       [0.035, 0.050]    promote  0.03   no
    ======  ================  =======  =====  =======

    Challenger ``b``, two logs, truly better and promoted on both."""
    a = [(0.010, 0.030, "promote", 0.02), (-0.005, 0.020, "keep champion", 0.01), (0.001, 0.020, "promote", -0.01),
         (-0.010, 0.010, "keep champion", 0.0), (0.035, 0.050, "promote", 0.03)]  # fmt: skip
    b = [(0.010, 0.050, "promote", 0.05), (0.020, 0.060, "promote", 0.06)]
    rows = [{"log": log, "seed": log, "challenger": name, "policy": f"policy-{name}", "uplift": (low + high) / 2,
             "ci_low": low, "ci_high": high, "decision": decision, "true_uplift": truth}
            for name, logs in (("a", a), ("b", b))
            for log, (low, high, decision, truth) in enumerate(logs)]  # fmt: skip
    return pd.DataFrame(rows, columns=list(DECISION_COLUMNS))


def test_summary_counts_each_decision_where_it_belongs() -> None:
    """``a``: promoted 3 of 5; truly better on logs 0, 1, 4 (3), not better on 2 and 3 (2, the
    tie included); false promotion 1 of 2 (log 2), false keep 1 of 3 (log 1); coverage 3 of 5.
    Truths 0.02, 0.01, -0.01, 0, 0.03: mean 0.01, squared deviations (1 + 0 + 4 + 1 + 4)e-4, so
    sd sqrt(10e-4 / 4) = 0.0158114; estimates (midpoints) minus truths 0, -0.0025, 0.0205, 0,
    0.0125: bias 0.0061; widths 0.02, 0.025, 0.019, 0.02, 0.015: mean 0.0198."""
    summary = summarise_gate_decisions(hand_decisions(), ci_level=0.95)
    assert summary.index.tolist() == ["a", "b"]
    a = summary.loc["a"]
    assert (a["policy"], a["n_logs"], a["n_better"], a["n_not_better"]) == ("policy-a", 5, 3, 2)
    expected = {"promote_rate": (3, 5), "keep_rate": (2, 5), "false_promotion_rate": (1, 2),
                "false_keep_rate": (1, 3), "coverage": (3, 5)}  # fmt: skip
    for name, (successes, n) in expected.items():
        assert a[name] == pytest.approx(successes / n), name
        assert (a[f"{name}_low"], a[f"{name}_high"]) == pytest.approx(wilson_interval(successes, n)), name
    # keeping is not promoting, and the Wilson interval of 1 - p mirrors that of p
    mirrored = (1 - a["promote_rate_high"], 1 - a["promote_rate_low"])
    assert (a["keep_rate_low"], a["keep_rate_high"]) == pytest.approx(mirrored)
    assert a["true_uplift_mean"] == pytest.approx(0.01)
    assert a["true_uplift_std"] == pytest.approx(math.sqrt(10e-4 / 4))
    assert (a["true_uplift_min"], a["true_uplift_max"]) == (-0.01, 0.03)
    assert a["uplift_bias"] == pytest.approx(0.0061)
    assert a["interval_width"] == pytest.approx(0.0198)
    assert a["one_sided_level"] == pytest.approx(0.025)
    b = summary.loc["b"]
    assert b["n_not_better"] == 0
    assert math.isnan(b["false_promotion_rate"]) and math.isnan(b["false_promotion_rate_low"])
    assert b["false_keep_rate"] == 0.0 and b["promote_rate"] == 1.0


def test_summary_rejects_malformed_tables() -> None:
    table = hand_decisions()
    with pytest.raises(ValueError, match="true_uplift"):
        summarise_gate_decisions(table.drop(columns="true_uplift"), ci_level=0.95)
    with pytest.raises(ValueError, match="'decision'.*'maybe'"):
        summarise_gate_decisions(table.assign(decision="maybe"), ci_level=0.95)
    with pytest.raises(ValueError, match="ci_level"):
        summarise_gate_decisions(table, ci_level=95)


def test_nominal_promote_rate_by_hand() -> None:
    """At level 0.95, z = 1.959964 and an interval of width 2 z s has standard error s. A log whose
    true uplift is z s is promoted with probability Φ(z s / s - z) = Φ(0) = 0.5; one whose true
    uplift is 0 with Φ(-z) = 0.025, the one-sided level: 0.2625 on average."""
    z, s = NormalDist().inv_cdf(0.975), 0.01
    rate = nominal_promote_rate(np.array([z * s, 0.0]), np.array([0.0, -z * s]), np.array([2 * z * s, z * s]), 0.95)
    assert rate == pytest.approx((0.5 + 0.025) / 2)
    assert math.isnan(nominal_promote_rate(np.array([0.0]), np.array([0.0]), np.array([0.0]), 0.95))


# ----------------------------------------------------------------------------- the world
PARAMS = OpeParams(intervals={"n_bootstrap": 50}, estimators={"n_folds": 2}, gate={"ci_level": 0.95}, seed=3)


def test_temperatures_hit_their_true_uplifts(tiny_world: World) -> None:
    """Checked by the world's own Plackett-Luce marginals (``world.policies.softmax_policy`` on the
    true grades) rather than the challenger's scorer: the uplift at the returned temperature is
    the target to within the log-temperature tolerance times the slope (< 0.1 per unit here)."""
    logs = resimulate(tiny_world, 31, 300)
    champion = true_value(tiny_world, logs, logs.logging_marginals)
    greedy_side = 0.05 * champion
    temperatures = temperatures_for_uplifts(tiny_world, logs, [greedy_side, 0.0, -greedy_side])
    assert temperatures[0] < temperatures[1] < temperatures[2]  # a lower temperature is greedier
    for temperature, target in zip(temperatures, [greedy_side, 0.0, -greedy_side], strict=True):
        marginals = softmax_policy(true_relevance_scores(logs), logs.slate.shape[1], temperature)
        assert true_value(tiny_world, logs, marginals) - champion == pytest.approx(target, abs=1e-4)
    with pytest.raises(ValueError, match="outside"):
        temperatures_for_uplifts(tiny_world, logs, [1.0])  # no policy clicks once per impression more
    with pytest.raises(ValueError, match="bounds"):
        temperatures_for_uplifts(tiny_world, logs, [0.0], bounds=(1.0, 0.5))


def test_arguments_are_checked_before_any_work(tiny_world: World) -> None:
    logs = resimulate(tiny_world, 31, 60)
    with pytest.raises(ValueError, match=CHAMPION):
        gate_reports_on_log(tiny_world, logs, {CHAMPION: softmax_true_policy(1.0)}, PARAMS, seed=0)
    with pytest.raises(ValueError, match="relative_uplift"):
        calibrated_challengers(tiny_world, PARAMS, n_requests=60, relative_uplift=1.5)
    with pytest.raises(ValueError, match="n_logs"):
        run_gate_error_rates(tiny_world, PARAMS, n_logs=0, n_requests=60)


def test_error_rate_experiment_on_the_tiny_world(tiny_world: World) -> None:
    n_logs, n_requests = 3, 200
    challengers = calibrated_challengers(tiny_world, PARAMS, n_requests=n_requests, relative_uplift=0.1)
    assert [policy.name.split("@")[0] for policy in challengers.values()] == ["softmax-true"] * 3
    result = run_gate_error_rates(tiny_world, PARAMS, n_logs=n_logs, n_requests=n_requests, challengers=challengers)
    table = result.decisions
    assert list(table.columns) == list(DECISION_COLUMNS) and len(table) == n_logs * 4
    assert table["challenger"].unique().tolist() == ["better", "near-zero", "worse", CHAMPION]
    seeds = resample_seeds(PARAMS.seed + LOG_STREAM, n_logs)
    assert table.groupby("log")["seed"].first().tolist() == seeds
    assert seeds[0] != resample_seeds(PARAMS.seed + 1, 1)[0]  # not the stage gate's log
    by = table.set_index(["challenger", "log"])
    # the A/A control: exact zeros, never promoted
    champion = by.loc[CHAMPION]
    assert (champion[["uplift", "ci_low", "ci_high", "true_uplift"]] == 0.0).all().all()
    assert (champion["decision"] == "keep champion").all()
    # the calibrated challengers are what they are named on every log (delta = 10% of the value)
    assert (by.loc["better", "true_uplift"] > 0).all() and (by.loc["worse", "true_uplift"] < 0).all()
    near = by.loc["near-zero", "true_uplift"].abs().max()
    assert near < 0.5 * by.loc["better", "true_uplift"].min()
    # a decision is promote exactly when the lower bound is above 0
    assert ((table["ci_low"] > 0) == (table["decision"] == "promote")).all()
    # log 1's better row is the stage's gate, recomputed by the stage's own functions
    logs = resimulate(tiny_world, seeds[1], n_requests)
    world_log = fit_configured_world_log(tiny_world, logs, PARAMS, seeds[1])
    shadow = run_shadow_mode(tiny_world, logs, challengers["better"], batch_size=PARAMS.gate.shadow_batch_size,
                             seed=seeds[1])  # fmt: skip
    report = gate_on_shadow_log(tiny_world, shadow, world_log, PARAMS)
    row = by.loc[("better", 1)]
    assert row["policy"] == challengers["better"].name
    assert (row["uplift"], row["ci_low"], row["ci_high"]) == pytest.approx(
        (report.decision.uplift, report.decision.ci_low, report.decision.ci_high), rel=1e-12)
    assert row["decision"] == report.decision.decision
    assert row["true_uplift"] == pytest.approx(report.true_uplift, rel=1e-12)
    summary = result.summary()
    assert summary.index.tolist() == ["better", "near-zero", "worse", CHAMPION]
    assert (summary["n_logs"] == n_logs).all()
    np.testing.assert_allclose(summary["promote_rate"] + summary["keep_rate"], 1.0)
    assert summary.loc[CHAMPION, "promote_rate"] == 0.0
    assert result.n_logs == n_logs and result.n_requests == n_requests and result.log_seconds.shape == (n_logs,)
    assert result.calibration_seconds == 0.0  # the challengers were given
    assert result.cost()["total_seconds"] == pytest.approx(result.log_seconds.sum())


def test_default_challengers_are_the_calibrated_ones(tiny_world: World) -> None:
    """Without ``challengers`` the run calibrates them (timed) on the calibration log, and
    ``include_champion=False`` leaves the A/A control out."""
    result = run_gate_error_rates(tiny_world, PARAMS, n_logs=1, n_requests=100, relative_uplift=0.1,
                                  include_champion=False)  # fmt: skip
    expected = calibrated_challengers(tiny_world, PARAMS, n_requests=100, relative_uplift=0.1)
    assert result.decisions["challenger"].tolist() == ["better", "near-zero", "worse"]
    assert result.decisions["policy"].tolist() == [policy.name for policy in expected.values()]
    assert result.calibration_seconds > 0
