r"""What each method trains on in a period :math:`[a, b)` observed at time :math:`T = b`.

The eight methods of the stage (:data:`METHODS`) see the same clicks through different rows:

* **click methods** train on the clicks made in :math:`[a, b)`, once each:

  - ``vanilla``: the label observable at :math:`T`, :math:`c_i = y_i\,1[t_i + d_i \le T]`
    (fake negatives included, no correction);
  - ``oracle``: the true label :math:`y_i` (a conversion counts within the attribution window);
  - ``dfm``: the observed label with the delay :math:`d_i` of an observed conversion and the
    elapsed time :math:`E_i = T - t_i` of an unconverted click (Chapelle 2014,
    :mod:`~hermes_core.delayed_feedback.dfm`);
  - ``fsiw``: the observed label and :math:`E_i`, the input of FSIW's auxiliary classifiers
    (Yasui et al. 2020, :mod:`~hermes_core.delayed_feedback.fsiw`);
  - ``elapsed_weight``: the observed label and :math:`E_i`, for the weight :math:`W(E_i, x_i)`
    (:mod:`~hermes_core.delayed_feedback.elapsed_weight`);

* **stream methods** train on the rows their pipeline *ingested* in :math:`[a, b)`
  (:func:`~hermes_core.delayed_feedback.ingestion.rows_between`), which include duplicates of
  clicks made earlier:

  - ``fnw``: every click at once with label 0, each conversion again with label 1
    (Ktena et al. 2019, :func:`~hermes_core.delayed_feedback.fnw.fnw_stream`);
  - ``esdfm``: every click after the waiting window :math:`c`, each later conversion again
    (Yang et al. 2021, :func:`~hermes_core.delayed_feedback.esdfm.esdfm_stream`);
  - ``defer``: as ES-DFM, plus a real negative duplicated at the end of the attribution window
    and an immediate positive duplicated at once (Gu et al. 2021,
    :func:`~hermes_core.delayed_feedback.defer.defer_stream`).

A stream's rows carry the labels its pipeline gives them when they are ingested, so a row
ingested before :math:`T` never uses information from after :math:`T`. The elapsed time of a
stream row is :math:`T - t_i` as well (unused by those methods' losses). A click method may read
its labels at a later observation time :math:`\tau \ge T` (the protocol's observation cut-off).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hermes_core.delayed_feedback.defer import defer_stream
from hermes_core.delayed_feedback.esdfm import esdfm_stream
from hermes_core.delayed_feedback.fnw import fnw_stream
from hermes_core.delayed_feedback.ingestion import IngestedRows, check_times, counted_conversion_time, rows_between
from hermes_core.world.conversions import ConversionStream

METHODS: tuple[str, ...] = ("vanilla", "oracle", "dfm", "fnw", "fsiw", "esdfm", "defer", "elapsed_weight")
"""Every method of the stage, in the order they are trained and shown."""
CORRECTIONS: tuple[str, ...] = METHODS[2:]
"""The corrections placed between the vanilla learner (RI 0) and the oracle (RI 1)."""
CLICK_METHODS: frozenset[str] = frozenset({"vanilla", "oracle", "dfm", "fsiw", "elapsed_weight"})
STREAM_METHODS: frozenset[str] = frozenset({"fnw", "esdfm", "defer"})
METHOD_LABELS: dict[str, str] = {"vanilla": "Vanilla", "oracle": "Oracle", "dfm": "DFM", "fnw": "FNW", "fsiw": "FSIW",
                                 "esdfm": "ES-DFM", "defer": "DEFER", "elapsed_weight": "Elapsed weight W"}


@dataclass(frozen=True, eq=False)
class ClickTimes:
    """Click and counted-conversion times of a stream (days; ``NaN`` where no conversion counts), ``(n,)`` each."""

    click_time: np.ndarray
    conversion_time: np.ndarray
    attribution_window: float

    def __post_init__(self) -> None:
        check_times(self.click_time, self.conversion_time)
        if not (np.isfinite(self.attribution_window) and self.attribution_window > 0):
            raise ValueError(f"attribution_window must be finite and > 0, got {self.attribution_window!r}")

    @classmethod
    def from_stream(cls, stream: ConversionStream) -> ClickTimes:
        return cls(np.asarray(stream.click_time_days, dtype=np.float64), counted_conversion_time(stream),
                   float(stream.attribution_window_days))

    @property
    def n_clicks(self) -> int:
        return len(self.click_time)

    @property
    def true_label(self) -> np.ndarray:
        """``(n,)`` bool: a conversion counts."""
        return np.isfinite(self.conversion_time)

    def known_conversion_time(self, t: float) -> np.ndarray:
        """Counted conversion times known at ``t`` (``NaN`` for a conversion still to come)."""
        return np.where(self.conversion_time <= t, self.conversion_time, np.nan)

    def clicks_between(self, start: float, end: float) -> np.ndarray:
        """Indices of the clicks made in ``[start, end)``, ascending."""
        return np.flatnonzero((self.click_time >= start) & (self.click_time < end))


@dataclass(frozen=True, eq=False)
class TrainingRows:
    """The rows one method trains on in one period; arrays ``(m,)``."""

    click: np.ndarray  # int64 click of each row
    label: np.ndarray  # float32 label the row trains with
    elapsed: np.ndarray  # float64 T - click time (days)
    delay: np.ndarray  # float64 observed click-to-conversion delay of an observed positive, NaN elsewhere

    @property
    def n_rows(self) -> int:
        return len(self.click)


def method_streams(times: ClickTimes, waiting_window: float) -> dict[str, IngestedRows]:
    """The whole ingestion stream of FNW, ES-DFM and DEFER (waiting window ``waiting_window`` days)."""
    return {
        "fnw": fnw_stream(times.click_time, times.conversion_time),
        "esdfm": esdfm_stream(times.click_time, times.conversion_time, waiting_window),
        "defer": defer_stream(times.click_time, times.conversion_time, waiting_window, times.attribution_window),
    }


def training_rows(method: str, times: ClickTimes, start: float, end: float,
                  streams: dict[str, IngestedRows] | None = None, observed_at: float | None = None) -> TrainingRows:
    """The rows ``method`` trains on in ``[start, end)``, observed at ``observed_at`` (default ``end``; module docstring).

    A click method takes the clicks made in ``[start, end)`` with their labels at ``observed_at``
    (``>= end``: a later cut-off lets the labels mature); a stream method the rows ingested in
    ``[start, end)`` (``observed_at`` must then be ``end``: a pipeline trains on what it ingested).
    ``streams`` (from :func:`method_streams`) is needed for ``fnw``, ``esdfm`` and ``defer``.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    if not end > start:
        raise ValueError(f"the period [{start}, {end}) is empty")
    observed_at = end if observed_at is None else float(observed_at)
    if observed_at < end or (method in STREAM_METHODS and observed_at != end):
        raise ValueError(f"observed_at ({observed_at}) must be >= end ({end}), and equal to it for the stream "
                         f"method {method!r}")
    if method in STREAM_METHODS:
        if streams is None or method not in streams:
            raise ValueError(f"method {method!r} needs its ingestion stream (method_streams)")
        rows = rows_between(streams[method], start, end)
        click = rows.click
        label = rows.label.astype(np.float32)
    else:
        click = times.clicks_between(start, end)
        if method == "oracle":
            label = times.true_label[click].astype(np.float32)
        else:
            label = (times.conversion_time[click] <= observed_at).astype(np.float32)  # NaN compares False
    elapsed = observed_at - times.click_time[click]
    observed = label.astype(bool) & (method in CLICK_METHODS)
    delay = np.where(observed, times.conversion_time[click] - times.click_time[click], np.nan)
    return TrainingRows(click.astype(np.int64), label, elapsed, delay)
