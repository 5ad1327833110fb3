"""The rows a streaming training pipeline ingests: which click, when, with which label and why.

Online delayed-feedback methods do not train on clicks but on a stream of *rows*: a click is
ingested once after a waiting window with the label seen then, and some clicks are ingested
again later as duplicates (FNW, ES-DFM, DEFER: see each module). :class:`IngestedRows` is that
stream as parallel arrays in ingestion order; a row's ``kind`` says which rule produced it:

* ``first``: the click's first copy, at click time + waiting window, labelled with what is
  observed then (FNW: waiting window 0 and label 0 for every click);
* ``delayed_positive``: a duplicate with label 1 at the conversion time, for a conversion
  that came after the waiting window (FNW: every conversion);
* ``immediate_positive``: DEFER's duplicate with label 1 of a click converted within the
  waiting window;
* ``real_negative``: DEFER's duplicate with label 0 of a click without a counted conversion,
  at the end of the attribution window.

Every function takes ``click_time`` and ``conversion_time`` (days, one entry per click): the time
of the *counted* conversion, ``NaN`` where the click has none (no conversion, or one beyond the
attribution window).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from hermes_core.world.conversions import ConversionStream

ROW_KINDS: tuple[str, ...] = ("first", "delayed_positive", "immediate_positive", "real_negative")
FIRST, DELAYED_POSITIVE, IMMEDIATE_POSITIVE, REAL_NEGATIVE = range(len(ROW_KINDS))


class IngestedRows(NamedTuple):
    """A training stream, rows in ingestion order (ties: by kind, then click); arrays ``(m,)``."""

    click: np.ndarray  # int64 index into the clicks
    time: np.ndarray  # float64 ingestion time (days)
    label: np.ndarray  # int8 label the row trains with
    kind: np.ndarray  # int8 index into ROW_KINDS

    def count(self, kind: str) -> int:
        """Number of rows of ``kind`` (one of :data:`ROW_KINDS`)."""
        if kind not in ROW_KINDS:
            raise ValueError(f"unknown row kind {kind!r}; known kinds: {', '.join(ROW_KINDS)}")
        return int(np.sum(self.kind == ROW_KINDS.index(kind)))


def counted_conversion_time(stream: ConversionStream) -> np.ndarray:
    """``(n_clicks,)`` click time + delay where the click's true label is 1, ``NaN`` elsewhere."""
    return np.where(stream.true_label, stream.conversion_time_days, np.nan)


def check_times(click_time: np.ndarray, conversion_time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate and return ``(click_time, conversion_time)`` as float64 arrays.

    Raises ``ValueError`` if either is not 1-D, their lengths differ, a click time is not finite,
    or a conversion precedes its click (``NaN`` conversion times are allowed: no conversion).
    """
    click = np.asarray(click_time, dtype=np.float64)
    conversion = np.asarray(conversion_time, dtype=np.float64)
    if click.ndim != 1 or conversion.ndim != 1:
        raise ValueError(f"click_time and conversion_time must be 1-D, got shapes {click.shape} and {conversion.shape}")
    if len(click) != len(conversion):
        raise ValueError(f"click_time has {len(click)} entries but conversion_time has {len(conversion)}")
    if not np.isfinite(click).all():
        raise ValueError("click_time must be finite")
    early = np.flatnonzero(conversion < click)
    if len(early):
        raise ValueError(f"conversion_time precedes click_time at click {int(early[0])}")
    if np.isinf(conversion).any():
        raise ValueError("conversion_time must be finite or NaN (no counted conversion), not inf")
    return click, conversion


def check_window(name: str, value: float) -> float:
    """``value`` as a float; ``ValueError`` naming ``name`` unless finite and >= 0."""
    value = float(value)
    if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return value


def assemble(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]], t_now: float) -> IngestedRows:
    """Rows from ``(click, time, label, kind)`` parts, kept if ``time <= t_now``, in ingestion order."""
    click = np.concatenate([part[0] for part in parts]).astype(np.int64)
    time = np.concatenate([part[1] for part in parts]).astype(np.float64)
    label = np.concatenate([part[2] for part in parts]).astype(np.int8)
    kind = np.concatenate([np.full(len(part[0]), part[3], np.int8) for part in parts])
    keep = time <= t_now
    click, time, label, kind = click[keep], time[keep], label[keep], kind[keep]
    order = np.lexsort((click, kind, time))
    return IngestedRows(click[order], time[order], label[order], kind[order])


def rows_between(rows: IngestedRows, start: float, end: float) -> IngestedRows:
    """The rows ingested in ``[start, end)`` (a training window of the streaming protocol)."""
    keep = (rows.time >= start) & (rows.time < end)
    return IngestedRows(rows.click[keep], rows.time[keep], rows.label[keep], rows.kind[keep])
