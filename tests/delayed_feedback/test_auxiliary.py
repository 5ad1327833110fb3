"""The auxiliary classifiers: the exact constant on one class, and what each learns from."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.delayed_feedback.auxiliary import auxiliary_seed, fit_auxiliary, fit_classifier
from hermes_core.delayed_feedback.esdfm import esdfm_auxiliary_labels
from hermes_core.delayed_feedback.features import click_features
from hermes_core.delayed_feedback.training import FitConfig
from hermes_core.delayed_feedback.training_rows import ClickTimes
from tests.delayed_feedback.synthetic import synthetic_stream

CONFIG = FitConfig(4, 8, 0.01, 0.0, 64, 1)


def test_one_class_gives_the_exact_constant() -> None:
    features = click_features(synthetic_stream(n=30))
    ones = fit_classifier(features, np.ones(30, bool), CONFIG, 0)
    zeros = fit_classifier(features, np.zeros(30, bool), CONFIG, 0)
    assert ones.model is None and ones.constant == 1.0 and np.all(ones.predict(features) == 1.0)
    assert zeros.constant == 0.0 and np.all(zeros.predict(features) == 0.0)
    with pytest.raises(ValueError, match="the f_dp classifier has no training rows: lower label_age_days"):
        fit_classifier(features.take(np.array([], dtype=np.int64)), np.array([], bool), CONFIG, 0,
                       name="f_dp classifier", empty_hint="lower label_age_days")
    both = fit_classifier(features, np.arange(30) % 3 == 0, CONFIG, 0)
    assert both.model is not None and both.positive_share == pytest.approx(1 / 3)
    assert np.all((both.predict(features) > 0) & (both.predict(features) < 1))


def test_an_elapsed_classifier_needs_the_elapsed_times() -> None:
    features = click_features(synthetic_stream(n=30))
    classifier = fit_classifier(features, np.arange(30) % 2 == 0, CONFIG, 0, elapsed_days=np.linspace(0, 3, 30),
                                elapsed_scale_days=1.0)
    assert classifier.predict(features, np.full(30, 1.0)).shape == (30,)
    with pytest.raises(ValueError, match="elapsed"):
        classifier.predict(features)


def test_training_sets_use_only_what_is_known_at_fitting_time() -> None:
    stream = synthetic_stream(n=600, mean_delay=2.0)
    times = ClickTimes.from_stream(stream)
    features = click_features(stream)
    models = fit_auxiliary(times, features, at=8.0, waiting_window=0.5, label_age_days=3.0, fsiw_counterfactual_days=2.0,
                           elapsed_scale_days=1.0, config=CONFIG, seed=0)
    # f_dp: clicks made by day 5, labelled "converted after 0.5 day" with the conversions known at day 8
    settled = times.click_time <= 5.0
    known = np.where(times.conversion_time <= 8.0, times.conversion_time, np.nan)
    labels = esdfm_auxiliary_labels(times.click_time[settled], known[settled], 0.5)
    assert models.delayed_positive.n_rows == int(settled.sum())
    assert models.delayed_positive.positive_share == pytest.approx(labels.delayed_positive.mean())
    # a conversion after day 8 is unknown: counting it would give a larger share
    truth = esdfm_auxiliary_labels(times.click_time[settled], times.conversion_time[settled], 0.5)
    assert truth.delayed_positive.mean() > labels.delayed_positive.mean()
    assert models.real_negative.n_rows == int(labels.observed_negative.sum())
    summary = models.summary()
    assert set(summary) == {"delayed_positive", "real_negative", "fsiw_observed", "fsiw_real_negative"}


def test_an_empty_training_set_names_the_parameter_at_fault() -> None:
    stream = synthetic_stream(n=200)
    times = ClickTimes.from_stream(stream)
    features = click_features(stream)
    with pytest.raises(ValueError, match=r"f_dp classifier has no training rows: .*label_age_days \(9\).*"
                                         r"pretrain_days \(8\)"):
        fit_auxiliary(times, features, at=8.0, waiting_window=0.5, label_age_days=9.0, fsiw_counterfactual_days=2.0,
                      elapsed_scale_days=1.0, config=CONFIG, seed=0)
    with pytest.raises(ValueError, match=r"FSIW .* no training rows: .*fsiw_counterfactual_days \(9\)"):
        fit_auxiliary(times, features, at=8.0, waiting_window=0.5, label_age_days=3.0, fsiw_counterfactual_days=9.0,
                      elapsed_scale_days=1.0, config=CONFIG, seed=0)


def test_auxiliary_seeds_do_not_overlap_across_runs() -> None:
    seeds = {(seed, k): auxiliary_seed(seed, k) for seed in range(4) for k in range(4)}
    assert len(set(seeds.values())) == len(seeds)  # seed + k would give seed 0's f_rn seed 1's f_dp seed
    assert auxiliary_seed(0, 1) == auxiliary_seed(0, 1)
