r"""The streaming protocol of ES-DFM: train on one time window, test on the next, average over windows.

Yang et al., "Capturing Delayed Feedback in Conversion Rate Prediction via Elapsed-Time Sampling",
AAAI 2021, experimental protocol (public Criteo data: pre-train on the first 30 days, then stream
hour by hour over the last 30: train on hour :math:`t`, test on hour :math:`t + 1`; reference code
``ThyrixYang/es_dfm``, ``src/data.py``, ``get_criteo_dataset_stream``).

* Pre-training uses the clicks made before ``start_days`` (labels as the method would see them).
* Window :math:`k = 0, \dots, K-1` covers :math:`[s + k w, s + (k+1) w)`. A model trains on the
  data of window :math:`k` *as observable at its end* :math:`t_k = s + (k+1) w` (the clicks made in
  it with their labels at :math:`t_k`, or for a streaming method the rows ingested in it:
  :func:`~hermes_core.delayed_feedback.ingestion.rows_between`), then is tested on the clicks
  of window :math:`k + 1` with their *true* labels.
* Metrics are computed per test window and averaged with weights proportional to the window's
  number of clicks (:func:`average_over_windows`; the reference code's ``auc * test_batch_size``
  moving averages in ``src/stream_train_test.py``): AUC, PR-AUC and NLL. PR-AUC here is scikit-learn's
  average precision; the reference code takes the trapezoidal area under ``precision_recall_curve``,
  which can differ slightly, so numbers are comparable across our methods, not digit for digit
  with the paper's tables.
* The relative improvement places a method between the vanilla learner (trained on observed
  labels, no correction: 0) and the oracle (trained on the true labels: 1):

.. math::

    \mathrm{RI}(m) = \frac{x_m - x_{\mathrm{vanilla}}}{x_{\mathrm{oracle}} - x_{\mathrm{vanilla}}},

the same formula for AUC and PR-AUC (higher is better) and for NLL (lower is better: the signs
of numerator and denominator flip together), as in the RI-AUC, RI-PR-AUC and RI-NLL of ES-DFM's
experiments.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

PROBABILITY_EPS = float(np.finfo(np.float64).eps)


class StreamWindow(NamedTuple):
    """One step of the protocol: train on ``train_index``, observed at ``train_time``; test on ``test_index``."""

    train_index: np.ndarray  # clicks made in [train_time - window, train_time)
    test_index: np.ndarray  # clicks made in [train_time, train_time + window)
    train_time: float  # end of the training window: labels are those observable then


def stream_windows(click_time: np.ndarray, start_days: float, window_days: float, n_windows: int) -> list[StreamWindow]:
    """The ``n_windows`` (train, test) steps of the protocol starting at ``start_days`` (module docstring).

    Window boundaries are ``start_days + k * window_days``; windows are half-open ``[a, b)``, so a
    click belongs to exactly one. Clicks need not be sorted. Raises ``ValueError`` on a bad argument.
    """
    click = np.asarray(click_time, dtype=np.float64)
    if click.ndim != 1 or not np.isfinite(click).all():
        raise ValueError("click_time must be a 1-D array of finite times (days)")
    if not np.isfinite(start_days):
        raise ValueError(f"start_days must be finite, got {start_days!r}")
    if not (np.isfinite(window_days) and window_days > 0):
        raise ValueError(f"window_days must be finite and > 0, got {window_days!r}")
    if isinstance(n_windows, bool) or not isinstance(n_windows, (int, np.integer)) or n_windows < 1:
        raise ValueError(f"n_windows must be an integer >= 1, got {n_windows!r}")
    bounds = start_days + window_days * np.arange(n_windows + 2)

    def clicks_in(k: int) -> np.ndarray:
        return np.flatnonzero((click >= bounds[k]) & (click < bounds[k + 1]))

    return [StreamWindow(clicks_in(k), clicks_in(k + 1), float(bounds[k + 1])) for k in range(n_windows)]


class WindowScores(NamedTuple):
    """The metrics of one test window (``NaN`` where undefined) and its number of clicks."""

    n: int
    auc: float  # NaN unless both classes are present
    pr_auc: float  # average precision; NaN without a positive
    nll: float  # mean negative log-likelihood; NaN for an empty window


def window_scores(label: np.ndarray, probability: np.ndarray) -> WindowScores:
    """AUC, PR-AUC and NLL of predicted probabilities against true labels on one window.

    AUC is scikit-learn's ``roc_auc_score`` and PR-AUC its ``average_precision_score`` (average
    precision, the step-wise area, not the trapezoidal one); NLL is
    :math:`-\\frac{1}{n}\\sum_i [y_i \\log p_i + (1 - y_i) \\log(1 - p_i)]` with :math:`p_i` clipped to
    :math:`[\\epsilon, 1 - \\epsilon]`, :math:`\\epsilon` the float64 machine epsilon (as
    scikit-learn's ``log_loss``). Raises ``ValueError`` on bad inputs.
    """
    y = np.asarray(label)
    p = np.asarray(probability, dtype=np.float64)
    if y.ndim != 1 or y.shape != p.shape:
        raise ValueError(f"label and probability must be 1-D of one length, got shapes {y.shape} and {p.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("label must hold only 0 and 1")
    if not ((p >= 0) & (p <= 1)).all():
        raise ValueError("probability must lie in [0, 1]")
    y = y.astype(np.int64)
    n = len(y)
    if n == 0:
        return WindowScores(0, float("nan"), float("nan"), float("nan"))
    n_positive = int(y.sum())
    auc = float(roc_auc_score(y, p)) if 0 < n_positive < n else float("nan")
    pr_auc = float(average_precision_score(y, p)) if n_positive > 0 else float("nan")
    clipped = np.clip(p, PROBABILITY_EPS, 1.0 - PROBABILITY_EPS)
    nll = float(-np.mean(y * np.log(clipped) + (1 - y) * np.log1p(-clipped)))
    return WindowScores(n, auc, pr_auc, nll)


def average_over_windows(scores: Sequence[WindowScores]) -> dict[str, float]:
    """Click-weighted means of AUC, PR-AUC and NLL over windows, plus ``n_windows`` and ``n_clicks``.

    Each metric averages over the windows where it is defined, with weights proportional to their
    click counts (a window with a single class counts for NLL, not for AUC); ``NaN`` if it is
    defined nowhere.
    """
    sizes = np.array([s.n for s in scores], dtype=np.float64)
    averages: dict[str, float] = {}
    for metric in ("auc", "pr_auc", "nll"):
        values = np.array([getattr(s, metric) for s in scores], dtype=np.float64)
        defined = np.isfinite(values) & (sizes > 0)
        averages[metric] = (float(np.average(values[defined], weights=sizes[defined]))
                            if defined.any() else float("nan"))
    averages["n_windows"] = float(len(scores))
    averages["n_clicks"] = float(sizes.sum())
    return averages


def relative_improvement(x_method: float, x_vanilla: float, x_oracle: float) -> float:
    """:math:`(x_m - x_v) / (x_o - x_v)`: 0 for the vanilla learner, 1 for the oracle (module docstring).

    Raises ``ValueError`` when the oracle equals the vanilla learner (no gap to close) or a value
    is not finite.
    """
    values = {"x_method": x_method, "x_vanilla": x_vanilla, "x_oracle": x_oracle}
    for name, value in values.items():
        if not np.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
    if x_oracle == x_vanilla:
        raise ValueError(f"relative improvement is undefined: x_oracle equals x_vanilla ({x_vanilla!r}), "
                         "there is no gap between them to close")
    return float((x_method - x_vanilla) / (x_oracle - x_vanilla))
