"""Slate estimators on fresh world logs (``hermes_core.ope.slate_study``)."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.ope.params import OpeParams
from hermes_core.ope.slate import IndependentIPS, RewardInteractionIPS
from hermes_core.ope.slate_study import mean_kl_from_logging, run_slate_study, slate_inputs
from hermes_core.world import World
from hermes_core.world.policies import resimulate, standard_target_logits, standard_targets


def fast_params() -> OpeParams:
    return OpeParams.model_validate({
        "intervals": {"n_bootstrap": 100},
        "world": {"target_temperatures": [1.0]},
        "slate": {"n_logs": 2, "n_requests": 300, "truth_samples": 20, "expected_samples": 4},
    })  # fmt: skip


@pytest.fixture(scope="module")
def study(tiny_world: World):  # noqa: ANN201
    return run_slate_study(tiny_world.with_similarity_fatigue(0.0), fast_params())


def test_slate_inputs_of_the_logging_policy_have_unit_weights(tiny_world: World) -> None:
    """Evaluating the logging policy on its own log: every marginal and prefix weight is 1, so
    IIPS and RIPS both return the log's click rate per impression exactly."""
    logs = resimulate(tiny_world, 3, 200)
    logits = standard_target_logits(logs)["logging"]
    inputs = slate_inputs(logs, logits, logs.logging_marginals)
    np.testing.assert_allclose(inputs.marginal_weight, 1.0, rtol=1e-9)
    np.testing.assert_allclose(inputs.prefix_weight, 1.0, rtol=1e-9)
    rate = logs.clicks.mean()
    assert IndependentIPS().estimate_policy_value(inputs) == pytest.approx(rate, rel=1e-9)
    assert RewardInteractionIPS().estimate_policy_value(inputs) == pytest.approx(rate, rel=1e-9)


def test_marginals_from_logits_equal_the_standard_targets(tiny_world: World) -> None:
    logs = resimulate(tiny_world, 4, 100)
    marginals = standard_targets(tiny_world, logs, (1.0,))["softmax-true@1"]
    logits = standard_target_logits(logs, (1.0,))["softmax-true@1"]
    np.testing.assert_allclose(slate_inputs(logs, logits).target_marginal,
                               slate_inputs(logs, logits, marginals).target_marginal, atol=1e-12)
    assert mean_kl_from_logging(logs.logging_marginals, logs.logging_marginals) == pytest.approx(0.0, abs=1e-12)
    assert mean_kl_from_logging(marginals, logs.logging_marginals) > 0


def test_study_covers_every_click_model_target_and_estimator(study) -> None:  # noqa: ANN001
    table = study.estimates
    assert set(table["click_model"]) == {"position-based", "cascade"}
    assert set(table["target"]) == {"uniform", "greedy-true", "softmax-true@1"}
    assert set(table["estimator"]) == {"iips", "rips", "cascade-dr", "sips", "pi"}
    assert len(table) == 2 * 2 * 3 * 5
    assert (table["low"] <= table["estimate"] + 1e-12).all() and (table["estimate"] <= table["high"] + 1e-12).all()
    summary = study.summary()
    assert summary["n_logs"].eq(2).all()
    assert np.isfinite(summary["rmse"]).all()
    # the two click models see the same seeds: the truth differs only through the clicks
    truth = table.groupby(["click_model", "target"])["truth"].mean().unstack("click_model")
    assert (truth["cascade"] < truth["position-based"]).all()  # stopping after a click never adds clicks


def test_study_is_reproducible(tiny_world: World, study) -> None:  # noqa: ANN001
    again = run_slate_study(tiny_world.with_similarity_fatigue(0.0), fast_params(), click_models=["cascade"])
    first = study.estimates[study.estimates["click_model"] == "cascade"].reset_index(drop=True)
    np.testing.assert_array_equal(again.estimates["estimate"].to_numpy(), first["estimate"].to_numpy())


def test_oracle_bias_vanishes_where_the_estimators_are_unbiased(tiny_world: World) -> None:
    """Position-based clicks without fatigue: every estimator but PseudoInverse (whose closed form
    assumes independent positions) is unbiased, so its expectation over logging slates with exact
    expected clicks matches the truth within its Monte Carlo error."""
    from hermes_core.ope.slate_study import expected_estimates, slate_estimators
    from hermes_core.world.policies import slate_policy_value

    world = tiny_world.with_similarity_fatigue(0.0)
    logs = resimulate(world, 11, 300)
    logits = standard_target_logits(logs, (1.0,))["softmax-true@1"]
    marginals = standard_targets(world, logs, (1.0,))["softmax-true@1"]
    truth, _ = slate_policy_value(world, logs, logits, n_samples=2, seed=0)  # exact here
    expected = expected_estimates(world, logs, logits, marginals, None,
                                  {k: v for k, v in slate_estimators().items() if k != "cascade-dr"},
                                  n_samples=40, seed=5)  # fmt: skip
    for name in ("iips", "rips", "sips"):
        mean, se = expected[name]
        assert abs(mean - truth) <= 4 * se + 1e-12, (name, mean, truth, se)


def test_study_records_the_oracle_bias_of_the_main_target(study) -> None:  # noqa: ANN001
    expected = study.expected
    assert set(expected["click_model"]) == {"position-based", "cascade"}
    assert set(expected["target"]) == {"greedy-true"}
    np.testing.assert_allclose(expected["bias"], expected["expected"] - expected["truth"])
