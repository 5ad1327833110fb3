"""With zero delay there is nothing to correct: every method must see the true labels, and each
correction must reduce to the oracle's training wherever its definition allows.

The stream has every delay exactly 0 and the waiting window is 0, so a click's label is known the
moment it is made. What must hold, and why:

* **labels**: vanilla, DFM, FSIW and the elapsed-weight variant train on the same clicks as the
  oracle with the same labels (observed = true); ES-DFM ingests each click once, at its click time,
  with its true label, so its rows are the oracle's rows; DEFER ingests every click twice, each
  time with its true label; FNW ingests every click first as a negative *by construction* (its
  fake negative) and each positive again, at the same time, as a positive: the one method whose
  labels differ, as its module documents;
* **weights**: the auxiliary classifiers are trained on a single class each (no delayed positive,
  no fake negative) and are the exact constants 0 and 1, so the weights of FSIW, ES-DFM and DEFER
  are exactly 1;
* **models**: vanilla, FSIW and ES-DFM then fit the oracle's model bit for bit (same seed, same
  rows, same order, weights 1.0); DEFER fits exactly the model the oracle's loss fits on DEFER's
  own rows (its correction is a no-op; its rows are duplicated, so not the oracle's rows); the
  elapsed weight is exactly 1 on every negative once the delay rate is large, which is where DFM's
  likelihood sends it with zero delays (the rate of a zero delay has no finite maximum), and then
  it fits the oracle's model bit for bit too. DFM's own model keeps a finite rate and a second
  output, so it equals the oracle's only in that limit: its gradient in the conversion logit is
  checked to become the cross-entropy's.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional

from hermes_core.delayed_feedback.auxiliary import auxiliary_inputs
from hermes_core.delayed_feedback.dfm import dfm_loss
from hermes_core.delayed_feedback.features import click_features
from hermes_core.delayed_feedback.model import ConversionModel, model_shape
from hermes_core.delayed_feedback.protocol import run_protocol, window_rows
from hermes_core.delayed_feedback.training import elapsed_weights, fit_rows, make_optimizer, method_loss
from hermes_core.delayed_feedback.training_rows import METHODS, ClickTimes, method_streams, training_rows
from tests.delayed_feedback.synthetic import small_config, synthetic_stream

SEED = 7


@pytest.fixture(scope="module")
def zero_delay_run():
    stream = synthetic_stream(zero_delay=True)
    times = ClickTimes.from_stream(stream)
    features = click_features(stream, np.flatnonzero(stream.click_time_days < 6.0))
    config = small_config(waiting_window=0.0)
    run = run_protocol(times, features, config, SEED, progress=False, keep_models=True)
    return stream, times, features, config, run


def test_every_method_but_fnw_trains_on_the_true_labels(zero_delay_run) -> None:
    _, times, _, config, _ = zero_delay_run
    streams = method_streams(times, 0.0)
    for window in config.windows(times.click_time):
        oracle = window_rows("oracle", times, window, config.window_days, streams)
        assert oracle.n_rows > 0
        np.testing.assert_array_equal(oracle.label, times.true_label[oracle.click])
        for method in ("vanilla", "dfm", "fsiw", "elapsed_weight", "esdfm"):
            rows = window_rows(method, times, window, config.window_days, streams)
            np.testing.assert_array_equal(rows.click, oracle.click, err_msg=method)
            np.testing.assert_array_equal(rows.label, oracle.label, err_msg=method)
        defer = window_rows("defer", times, window, config.window_days, streams)
        np.testing.assert_array_equal(defer.label, times.true_label[defer.click])
    # over the whole stream DEFER holds every click exactly twice
    assert np.all(np.bincount(streams["defer"].click, minlength=times.n_clicks) == 2)
    # FNW: every click once as a (fake) negative, every positive once more as a positive, at the same time
    fnw = streams["fnw"]
    positives = np.flatnonzero(times.true_label)
    np.testing.assert_array_equal(np.sort(fnw.click[fnw.label == 1]), positives)
    np.testing.assert_array_equal(np.sort(fnw.click[fnw.label == 0]), np.arange(times.n_clicks))
    np.testing.assert_array_equal(fnw.time, times.click_time[fnw.click])


def test_auxiliary_classifiers_are_exact_constants_so_weights_are_one(zero_delay_run) -> None:
    _, times, features, config, run = zero_delay_run
    summary = run.auxiliary.summary()
    assert summary["delayed_positive"]["constant"] == 0.0  # no conversion comes after the window
    assert summary["real_negative"]["constant"] == 1.0  # an unconverted click never converts
    assert summary["fsiw_observed"]["constant"] == 1.0  # every positive is already seen
    assert summary["fsiw_real_negative"]["constant"] == 1.0
    window = config.windows(times.click_time)[0]
    streams = method_streams(times, 0.0)
    for method in ("fsiw", "esdfm", "defer"):
        rows = window_rows(method, times, window, config.window_days, streams)
        aux = {k: torch.as_tensor(v, dtype=torch.float32)
               for k, v in auxiliary_inputs(method, rows, run.auxiliary, run.per_click, features).items()}
        logits = torch.linspace(-3.0, 2.0, rows.n_rows)
        label = torch.as_tensor(rows.label)
        plain = functional.binary_cross_entropy_with_logits(logits, label)
        weighted = method_loss(method, logits[:, None], label, torch.as_tensor(rows.elapsed, dtype=torch.float32),
                               torch.zeros(rows.n_rows), aux)
        assert float(weighted) == float(plain), method  # weights exactly 1: the plain cross-entropy


def test_vanilla_fsiw_and_esdfm_fit_the_oracle_model_bit_for_bit(zero_delay_run) -> None:
    *_, run = zero_delay_run
    oracle = run.models["oracle"].state_dict()
    for method in ("vanilla", "fsiw", "esdfm"):
        state = run.models[method].state_dict()
        assert all(torch.equal(state[k], oracle[k]) for k in oracle), method
    table = run.windows.set_index(["method", "window"])
    for method in ("vanilla", "fsiw", "esdfm"):
        np.testing.assert_array_equal(table.loc[method, ["auc", "pr_auc", "nll"]].to_numpy(),
                                      table.loc["oracle", ["auc", "pr_auc", "nll"]].to_numpy())
    # and a method that does correct something is not the oracle here (the comparison can fail)
    assert not all(torch.equal(run.models["fnw"].state_dict()[k], oracle[k]) for k in oracle)


def _fit(method: str, rows, features, aux: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    model = ConversionModel(model_shape(features, 4, 8), SEED, (-1.0,))
    fit_rows(model, make_optimizer(model, small_config().model), method, features, rows, aux, epochs=2, batch_size=64,
             rng=np.random.default_rng([SEED, 1]))
    return model.state_dict()


def test_defer_fits_what_the_plain_loss_fits_on_its_rows(zero_delay_run) -> None:
    _, times, features, config, run = zero_delay_run
    rows = training_rows("defer", times, 0.0, config.pretrain_days, method_streams(times, 0.0))
    aux = auxiliary_inputs("defer", rows, run.auxiliary, run.per_click, features)
    assert np.all(aux["p_dp"] == 0.0)
    corrected, plain = _fit("defer", rows, features, aux), _fit("oracle", rows, features, {})
    assert all(torch.equal(corrected[k], plain[k]) for k in plain)


def test_elapsed_weight_with_the_limiting_rate_fits_the_oracle_model(zero_delay_run) -> None:
    _, times, features, config, _ = zero_delay_run
    rows = training_rows("elapsed_weight", times, 0.0, config.pretrain_days)
    assert rows.elapsed.min() > 1e-5  # every click has waited a little at training time
    rate = np.full(rows.n_rows, 1e9)  # per day: lambda E > 1e4 for every row, exp(-lambda E) = 0
    weight = elapsed_weights(torch.full((rows.n_rows,), 0.3), torch.as_tensor(rate), torch.as_tensor(rows.elapsed),
                             torch.as_tensor(rows.label))
    assert torch.all(weight == 1.0)
    corrected = _fit("elapsed_weight", rows, features, {"rate": rate})
    oracle_rows = training_rows("oracle", times, 0.0, config.pretrain_days)
    plain = _fit("oracle", oracle_rows, features, {})
    assert all(torch.equal(corrected[k], plain[k]) for k in plain)


def test_dfm_gradient_in_the_logit_becomes_the_cross_entropys_as_the_rate_grows() -> None:
    # zero delays: converted rows have delay 0; unconverted rows have waited 0.5 day
    label = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.0], dtype=torch.float64)
    elapsed = torch.full((5,), 0.5, dtype=torch.float64)
    logits = torch.tensor([0.3, -1.2, 0.8, -0.4, 2.0], dtype=torch.float64, requires_grad=True)
    functional.binary_cross_entropy_with_logits(logits, label).backward()
    plain = logits.grad.clone()
    gaps = []
    for log_rate in (0.0, 3.0, 6.0):
        logits.grad = None
        dfm_loss(logits, torch.full((5,), log_rate, dtype=torch.float64), label, torch.zeros(5, dtype=torch.float64),
                 elapsed).backward()
        gaps.append(float((logits.grad - plain).abs().max()))
    # at lambda = e^6 ~ 403 per day, exp(-lambda * 0.5) ~ 1e-88: the two gradients agree to rounding
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 1e-12


def test_all_methods_ran(zero_delay_run) -> None:
    *_, run = zero_delay_run
    assert list(run.summary["method"]) == list(METHODS)
    assert len(run.windows) == len(METHODS) * 4
