r"""Checks of what each method assumes, measured on the stream and on the fitted models.

* **DFM and the elapsed weight** assume an exponential delay (:mod:`~hermes_core.delayed_feedback.delays`
  compares the quantiles and gives the KS distance). The elapsed weight's value at :math:`E = 0`
  is the prior, :math:`W(0, x) = 1 - p(x)` (:mod:`~hermes_core.delayed_feedback.elapsed_weight`);
  :func:`elapsed_weight_check` evaluates it on every click with the pre-trained DFM model's
  :math:`p(x)` and :math:`\lambda(x)`, against the design's claim that it "drops close to zero for a
  just-shown impression" (read here as :math:`W < 0.1`).
* **FNW** assumes that duplicating positives leaves the feature distribution unchanged
  (:math:`b(x) \approx p(x)`): its stream holds :math:`1 + y` rows per click, so the rows'
  feature distribution is :math:`q(x) \propto (1 + p(x))\,p(x)`; **ES-DFM** holds :math:`1 +
  1[\text{delayed positive}]` rows; **DEFER** claims exactly 2 rows per click, so :math:`q(x) =
  p(x)` (:func:`stream_composition` counts them on the clicks whose attribution window has closed).
* **FSIW, ES-DFM and DEFER** assume calibrated auxiliary classifiers:
  :func:`auxiliary_calibration` sets the mean of each prediction beside the realised share on the
  streaming period, whose outcomes the classifiers, fitted at pre-training time, never saw.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hermes_core.delayed_feedback.auxiliary import AuxiliaryModels, ClickAuxiliary
from hermes_core.delayed_feedback.elapsed_weight import elapsed_negative_weight
from hermes_core.delayed_feedback.features import ClickFeatures
from hermes_core.delayed_feedback.training_rows import ClickTimes, method_streams, training_rows

CLAIM_THRESHOLD = 0.1
"""A weight below this counts as "close to zero" when the design's claim is checked."""


def elapsed_weight_curves(probabilities: tuple[float, ...], mean_delays: dict[str, float],
                          elapsed_days: np.ndarray) -> pd.DataFrame:
    """:math:`W(E)` on the grid for each :math:`p` and each named mean delay (:math:`\\lambda = 1 / \\bar d`).

    Columns ``probability``, ``delay``, ``mean_delay_days``, ``elapsed_days``, ``weight``.
    """
    grid = np.asarray(elapsed_days, dtype=np.float64)
    rows = []
    for p in probabilities:
        for name, mean in mean_delays.items():
            weight = elapsed_negative_weight(np.full(len(grid), p), np.full(len(grid), 1.0 / mean), grid)
            rows.append(pd.DataFrame({"probability": p, "delay": name, "mean_delay_days": mean, "elapsed_days": grid,
                                      "weight": weight}))
    return pd.concat(rows, ignore_index=True)


def elapsed_weight_check(probability: np.ndarray, rate: np.ndarray, elapsed_days: tuple[float, ...] = (0.0, 1 / 24, 1.0, 7.0)
                         ) -> dict[str, float]:
    """:math:`W(E, x)` over clicks at a few elapsed times, and the design's claim at :math:`E = 0`.

    Returns, per elapsed time ``E`` (in the key, hours for ``E < 1`` day), the minimum, median and
    maximum weight over clicks; ``max_abs_w0_minus_prior``, the largest :math:`|W(0, x) - (1 -
    p(x))|` (0 up to rounding: the identity); ``share_w0_below_threshold``, the share of clicks
    whose :math:`W(0, x) < 0.1` (what the design's claim needs); ``max_probability``.
    """
    p = np.asarray(probability, dtype=np.float64)
    lam = np.asarray(rate, dtype=np.float64)
    out: dict[str, float] = {}
    for e in elapsed_days:
        weight = elapsed_negative_weight(p, lam, np.full(len(p), e))
        key = f"{e * 24:g}h" if e < 1 else f"{e:g}d"
        out.update({f"w_{key}_min": float(weight.min()), f"w_{key}_median": float(np.median(weight)),
                    f"w_{key}_max": float(weight.max())})
        if e == 0.0:
            out["max_abs_w0_minus_prior"] = float(np.max(np.abs(weight - (1.0 - p))))
            out["share_w0_below_threshold"] = float(np.mean(weight < CLAIM_THRESHOLD))
    out["max_probability"] = float(p.max())
    out["threshold"] = CLAIM_THRESHOLD
    return out


def stream_composition(times: ClickTimes, waiting_window: float, probability: np.ndarray, until: float) -> pd.DataFrame:
    """Rows per click of FNW, ES-DFM and DEFER over the clicks made by ``until - attribution window``
    (their streams are complete then), and the share of positive rows.

    ``probability``: the world's true :math:`p(x)` per click; ``q_over_p_*`` are the range of the
    rows' feature density relative to the clicks', :math:`(\\text{rows per click}) / \\text{mean}`,
    in expectation :math:`(1 + p(x)) / (1 + \\bar p)` for FNW (1 for DEFER).
    """
    settled = times.click_time <= until - times.attribution_window
    streams = method_streams(times, waiting_window)
    p = np.asarray(probability, dtype=np.float64)[settled]
    rows = []
    for method, stream in streams.items():
        counts = np.bincount(stream.click, minlength=times.n_clicks)[settled]  # the whole stream: complete rows
        chosen = settled[stream.click]
        expected = {"fnw": 1.0 + p, "defer": np.full(len(p), 2.0)}.get(method)
        rows.append({"method": method, "clicks": int(settled.sum()), "rows_per_click_mean": float(counts.mean()),
                     "rows_per_click_min": int(counts.min()), "rows_per_click_max": int(counts.max()),
                     "positive_row_share": float(stream.label[chosen].mean()),
                     "q_over_p_min": float(expected.min() / expected.mean()) if expected is not None else float("nan"),
                     "q_over_p_max": float(expected.max() / expected.mean()) if expected is not None else float("nan")})
    return pd.DataFrame(rows).set_index("method")


def auxiliary_calibration(times: ClickTimes, features: ClickFeatures, models: AuxiliaryModels, per_click: ClickAuxiliary,
                          dfm_probability: np.ndarray, start: float, end: float, window_days: float,
                          device: str = "cpu") -> pd.DataFrame:
    """Mean prediction against the realised share on the clicks of ``[start, end)`` (the streaming period).

    Rows (``model``, ``quantity``): ``f_dp`` (converts after the waiting window), ``f_rn`` (never
    converts, among the clicks unconverted at the waiting window), FSIW's ``P(S=1|Y=1,x,E)`` and
    ``P(Y=0|C=0,x,E)`` at the elapsed times of training rows of ``window_days``-day windows, and the
    pre-trained DFM model's ``p(x)`` (against the counted rate) and mean delay :math:`1/\\lambda(x)`
    (against the mean counted delay). Columns ``predicted``, ``realised``, ``n``.
    """
    chosen = times.clicks_between(start, end)
    label = times.true_label[chosen]
    delay = times.conversion_time[chosen] - times.click_time[chosen]
    c = models.waiting_window
    delayed = label & (delay > c)
    unconverted_at_c = ~(label & (delay <= c))
    rows = [("ES-DFM, DEFER", "f_dp: converts after c", per_click.p_dp[chosen].mean(), delayed.mean(), len(chosen)),
            ("ES-DFM", "f_rn: never converts | unconverted at c", per_click.p_rn[chosen][unconverted_at_c].mean(),
             (~label[unconverted_at_c]).mean(), int(unconverted_at_c.sum()))]
    observed_if_positive, real_negative, realised_observed, realised_negative = [], [], [], []
    for window_start in np.arange(start, end - window_days + 1e-9, window_days):
        training = training_rows("fsiw", times, window_start, window_start + window_days)
        truth = times.true_label[training.click]
        observed = training.label.astype(bool)
        row_features = features.take(training.click)
        s_hat = models.fsiw_observed.predict(row_features, training.elapsed, device)
        n_hat = models.fsiw_real_negative.predict(row_features, training.elapsed, device)
        observed_if_positive.append(s_hat[truth]); realised_observed.append(observed[truth])
        real_negative.append(n_hat[~observed]); realised_negative.append(~truth[~observed])
    if observed_if_positive:
        s_hat, s_true = np.concatenate(observed_if_positive), np.concatenate(realised_observed)
        n_hat, n_true = np.concatenate(real_negative), np.concatenate(realised_negative)
        rows.append(("FSIW", f"P(S=1|Y=1,x,E), E < {window_days:g} d", s_hat.mean(), s_true.mean(), len(s_hat)))
        rows.append(("FSIW", f"P(Y=0|C=0,x,E), E < {window_days:g} d", n_hat.mean(), n_true.mean(), len(n_hat)))
    if np.isfinite(per_click.rate[chosen]).all() and np.isfinite(dfm_probability[chosen]).all():
        rows.append(("DFM (pre-trained)", "p(x): counted conversion", dfm_probability[chosen].mean(), label.mean(),
                     len(chosen)))
        rows.append(("DFM (pre-trained)", "mean delay 1/lambda(x) (days) | counted", (1 / per_click.rate[chosen][label]).mean(),
                     delay[label].mean(), int(label.sum())))
    return pd.DataFrame(rows, columns=["model", "quantity", "predicted", "realised", "n"])
