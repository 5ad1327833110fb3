"""Point-in-time reads: the as-of join and the cut-off of delayed labels.

:func:`point_in_time_join` is the as-of join used to build training sets without leakage: for a
query ``(entity e, time t)`` it returns the feature row of ``e`` with the latest feature time
``<= t`` (``< t`` when ``inclusive=False``), as in the "point-in-time correct join" of feature
stores such as Feast; see also Kaufman et al., "Leakage in data mining", TKDD 6(4), 2012.
:func:`labels_as_of` keeps the events already observed at a cut-off time.
:meth:`FeatureStore.as_of` applies the join to a stored table.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from hermes_core.data.store.errors import (
    ColumnCollisionError,
    EntityTypeError,
    MissingColumnError,
    NullTimeError,
    TimeColumnTypeError,
    TimezoneMismatchError,
)

__all__ = ["FEATURE_SUFFIX", "labels_as_of", "point_in_time_join"]

FEATURE_SUFFIX = "_feature"  # appended to a feature column whose name a query column already has
_DATETIME_UNITS = ("s", "ms", "us", "ns")  # coarsest to finest


def _require_columns(frame: pd.DataFrame, frame_name: str, columns: list[str]) -> None:
    missing = [c for c in dict.fromkeys(columns) if c not in frame.columns]
    if missing:
        raise MissingColumnError(
            f"{frame_name} has no column(s) {missing}; available: {list(frame.columns)}"
        )


def _time_kind(series: pd.Series, label: str) -> str:
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return "numeric"
    raise TimeColumnTypeError(f"{label} must be datetime64 or numeric, got dtype {dtype}")


def _naive_utc(series: pd.Series) -> pd.Series:
    if getattr(series.dtype, "tz", None) is not None:
        return series.dt.tz_convert("UTC").dt.tz_localize(None)
    return series


def _aligned_times(
    feature_times: pd.Series, query_times: pd.Series, feature_label: str, query_label: str
) -> tuple[np.ndarray, np.ndarray]:
    """Both time columns as numpy arrays of one comparable dtype (nulls already removed)."""
    feature_kind = _time_kind(feature_times, feature_label)
    query_kind = _time_kind(query_times, query_label)
    if feature_kind != query_kind:
        raise TimeColumnTypeError(
            f"{feature_label} is {feature_kind} ({feature_times.dtype}) but {query_label} is "
            f"{query_kind} ({query_times.dtype}); both must be datetime64 or both numeric"
        )
    if feature_kind == "numeric":
        common = np.result_type(
            np.dtype(getattr(feature_times.dtype, "numpy_dtype", feature_times.dtype)),
            np.dtype(getattr(query_times.dtype, "numpy_dtype", query_times.dtype)),
        )
        return feature_times.to_numpy(dtype=common), query_times.to_numpy(dtype=common)

    feature_tz = getattr(feature_times.dtype, "tz", None)
    query_tz = getattr(query_times.dtype, "tz", None)
    if (feature_tz is None) != (query_tz is None):
        raise TimezoneMismatchError(
            f"{feature_label} has timezone {feature_tz} but {query_label} has timezone "
            f"{query_tz}; make both timezone-aware or both naive"
        )
    feature_naive, query_naive = _naive_utc(feature_times), _naive_utc(query_times)
    unit = max(feature_naive.dt.unit, query_naive.dt.unit, key=_DATETIME_UNITS.index)
    return (
        feature_naive.dt.as_unit(unit).to_numpy(),
        query_naive.dt.as_unit(unit).to_numpy(),
    )


def _take_with_missing(series: pd.Series, positions: np.ndarray) -> Any:
    """``series`` at ``positions`` (-1 -> missing), upcasting like a pandas left join does."""
    if isinstance(series.dtype, pd.api.extensions.ExtensionDtype):
        return series.array.take(positions, allow_fill=True)
    return pd.api.extensions.take(series.to_numpy(), positions, allow_fill=True)


def point_in_time_join(
    features: pd.DataFrame,
    queries: pd.DataFrame,
    *,
    entity: str,
    time: str,
    query_time: str | None = None,
    inclusive: bool = True,
) -> pd.DataFrame:
    r"""As-of join: the latest feature row of each query's entity known at the query time.

    For query row :math:`i` with entity :math:`e_i` and time :math:`t_i` the matched feature
    row is

    .. math::

        j(i) = \operatorname{last}\,\arg\max_{j \,:\, e_j = e_i,\; \tau_j \le t_i} \tau_j

    (:math:`\tau_j < t_i` when ``inclusive=False``), where "last" breaks ties between feature
    rows of one entity with the same time in favour of the one that comes last in
    ``features``. A query with no such row (or with a null entity or time) gets missing
    features. This is the point-in-time correct join of feature stores (e.g. Feast's
    ``get_historical_features``); computed with :func:`pandas.merge_asof` (``by=`` entity,
    ``direction="backward"``) on stably sorted copies, then put back in query order.

    Parameters
    ----------
    features : pandas.DataFrame
        Feature history: one row per (entity, time) observation.
    queries : pandas.DataFrame
        Rows to enrich; they must have the ``entity`` column and the ``query_time`` column.
    entity : str
        Entity key column, in both frames.
    time : str
        Feature time column in ``features`` (datetime64 or numeric, no nulls).
    query_time : str, optional
        Time column in ``queries``; defaults to ``time``.
    inclusive : bool
        Whether a feature row stamped exactly at the query time is visible.

    Returns
    -------
    pandas.DataFrame
        ``queries`` (same index, same row order) followed by every feature column except
        ``entity``, the feature time included. A feature column whose name ``queries`` already
        uses gets the suffix ``"_feature"`` (so with ``query_time == time`` the matched feature
        time is ``f"{time}_feature"``). Integer/bool feature columns become float/object when
        some query is unmatched, as in any pandas left join.

    Raises
    ------
    MissingColumnError
        A needed column is absent.
    TimeColumnTypeError
        A time column is neither datetime64 nor numeric, or one side is datetime and the
        other numeric.
    TimezoneMismatchError
        One time column is timezone-aware and the other naive.
    NullTimeError
        A feature row has a null time.
    EntityTypeError
        Entity keys are numeric on one side and non-numeric on the other.
    ColumnCollisionError
        A suffixed output column name is still taken.
    """
    query_time = time if query_time is None else query_time
    _require_columns(features, "features", [entity, time])
    _require_columns(queries, "queries", [entity, query_time])
    feature_label, query_label = f"features column '{time}'", f"queries column '{query_time}'"

    feature_entities, query_entities = features[entity], queries[entity]
    if pd.api.types.is_numeric_dtype(feature_entities.dtype) != pd.api.types.is_numeric_dtype(
        query_entities.dtype
    ):
        raise EntityTypeError(
            f"entity column '{entity}' is {feature_entities.dtype} in features but "
            f"{query_entities.dtype} in queries; no key could ever match"
        )
    null_times = features[time].isna().to_numpy()
    if null_times.any():
        raise NullTimeError(
            f"features column '{time}' has {int(null_times.sum())} null value(s), first at "
            f"position {int(np.flatnonzero(null_times)[0])}; undated features cannot be joined "
            "point-in-time"
        )

    # Rows that can take part: features need an entity; queries need an entity and a time.
    feature_rows = np.flatnonzero(feature_entities.notna().to_numpy())
    query_rows = np.flatnonzero((query_entities.notna() & queries[query_time].notna()).to_numpy())
    feature_times, query_times = _aligned_times(
        features[time].iloc[feature_rows],
        queries[query_time].iloc[query_rows],
        feature_label,
        query_label,
    )

    matched_feature_row = np.full(len(queries), -1, dtype=np.intp)  # (n_queries,)
    if len(feature_rows) and len(query_rows):
        # One integer code per entity value, shared by both sides, so that key dtypes
        # (int vs float, categorical, str vs object) never block merge_asof.
        codes, _ = pd.factorize(
            pd.concat(
                [feature_entities.iloc[feature_rows], query_entities.iloc[query_rows]],
                ignore_index=True,
            )
        )
        right = pd.DataFrame(
            {"_key": codes[: len(feature_rows)], "_on": feature_times, "_row": feature_rows}
        )
        left = pd.DataFrame(
            {"_key": codes[len(feature_rows) :], "_on": query_times, "_query": query_rows}
        )
        # Stable sorts keep the original order among equal times, so "last row wins" on ties.
        right = right.iloc[np.argsort(feature_times, kind="stable")]
        left = left.iloc[np.argsort(query_times, kind="stable")]
        merged = pd.merge_asof(
            left,
            right,
            on="_on",
            by="_key",
            direction="backward",
            allow_exact_matches=inclusive,
        )
        found = merged["_row"].notna().to_numpy()
        matched_feature_row[merged["_query"].to_numpy()[found]] = (
            merged["_row"].to_numpy()[found].astype(np.intp)
        )

    joined: dict[str, Any] = {}
    taken = set(queries.columns)
    for column in features.columns:
        if column == entity:
            continue
        output_name = column if column not in taken else f"{column}{FEATURE_SUFFIX}"
        if output_name in taken:
            raise ColumnCollisionError(
                f"feature column '{column}' would be output as '{output_name}', which "
                "queries (or another feature column) already uses; rename it first"
            )
        taken.add(output_name)
        joined[output_name] = _take_with_missing(features[column], matched_feature_row)
    # Positional concat, so that a duplicated or unsorted query index cannot misalign rows.
    result = pd.concat(
        [queries.reset_index(drop=True), pd.DataFrame(joined, index=pd.RangeIndex(len(queries)))],
        axis=1,
    )
    result.index = queries.index
    return result


def labels_as_of(
    events: pd.DataFrame,
    *,
    entity: str,
    event_time: str,
    as_of: pd.Timestamp | float,
) -> pd.DataFrame:
    """The events already observed at ``as_of``: rows with ``event_time <= as_of``.

    For delayed labels (conversions, ratings that arrive days after the impression) pass the
    column holding when each label became *known*, so that a model trained at ``as_of`` sees
    only labels it could have seen then. Rows with a null time count as not yet observed.

    Parameters
    ----------
    events : pandas.DataFrame
        Event log.
    entity : str
        Entity column; must exist (rows keep their entity so they can be joined later).
    event_time : str
        Observation time column, datetime64 or numeric.
    as_of : pandas.Timestamp
        Cut-off, inclusive. A number when ``event_time`` is numeric; timezone-aware exactly
        when ``event_time`` is.

    Returns
    -------
    pandas.DataFrame
        The observed rows, in their original order and with their original index.

    Raises
    ------
    MissingColumnError, TimeColumnTypeError, TimezoneMismatchError
    """
    _require_columns(events, "events", [entity, event_time])
    times = events[event_time]
    label = f"events column '{event_time}'"
    kind = _time_kind(times, label)
    if kind == "numeric":
        if isinstance(as_of, (bool, np.bool_)) or not isinstance(as_of, (int, float, np.number)):
            raise TimeColumnTypeError(f"{label} is numeric but as_of is {as_of!r}")
        if isinstance(as_of, float) and math.isnan(as_of):
            raise TimeColumnTypeError("as_of is NaN; no event can be compared with it")
        cutoff: Any = as_of
    else:
        try:
            cutoff = pd.Timestamp(as_of)
        except (TypeError, ValueError) as error:
            raise TimeColumnTypeError(f"{label} is datetime but as_of is {as_of!r}") from error
        if cutoff is pd.NaT:
            raise TimeColumnTypeError("as_of is NaT; no event can be compared with it")
        column_tz = getattr(times.dtype, "tz", None)
        if (column_tz is None) != (cutoff.tz is None):
            raise TimezoneMismatchError(
                f"{label} has timezone {column_tz} but as_of {cutoff} has timezone {cutoff.tz}"
            )
    observed = (times <= cutoff).fillna(False).to_numpy(dtype=bool)
    return events.loc[observed].copy()
