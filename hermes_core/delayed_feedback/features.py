r"""The conversion model's inputs: categorical indices into one embedding table, and numeric columns.

Every click of a :class:`~hermes_core.world.conversions.ConversionStream` becomes

* six categorical fields, ``user``, ``item``, ``domain``, ``device``, ``hour`` and ``region``
  (the user's region, a placebo of the world: it has no effect on conversion), each an index into
  its own range of one shared table: field :math:`f` with vocabulary :math:`V_f` occupies rows
  :math:`o_f, \dots, o_f + V_f - 1` with :math:`o_f = \sum_{g < f} V_g`. A field whose ids exceed
  ``max_vocabulary`` is hashed into that many buckets, :math:`h(i) = (a\,i) \bmod B` with a fixed
  odd multiplier :math:`a` (collisions share a row; at the default world's sizes nothing is hashed);
* three numeric columns, standardised with the mean and standard deviation of the *reference*
  clicks (the pre-training period, so no statistic of a test window enters the inputs): the
  user's age, the item's log price, and the log price again on product clicks only (0 elsewhere),
  since the world's price effect acts on products alone.

The conversion's true relevance grade is *not* an input: it is the world's hidden truth, which a
real conversion model never sees (user and item embeddings can learn part of it).

FSIW's auxiliary classifiers also read the elapsed time :math:`E` since the click
(:meth:`ClickFeatures.with_elapsed`) as two columns, :math:`E / s` and :math:`\log(E / s + 0.01)`,
with :math:`s` = ``elapsed_scale_days`` (the reference code feeds :math:`E` / 5 days alone,
``SECONDS_FSIW_NORM``). The logarithm is this stage's addition: the probability that a positive
has already converted rises from 0 within hours of the click, a shape that a linear term in
:math:`E` over weeks cannot follow (with :math:`E / s` alone the fitted probability stayed near 0.66
for clicks a few minutes old, whose true value is about 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hermes_core.world.conversions import DEVICES, ConversionStream
from hermes_core.world.params import DOMAINS

CATEGORICAL_FIELDS: tuple[str, ...] = ("user", "item", "domain", "device", "hour", "region")
NUMERIC_FIELDS: tuple[str, ...] = ("age", "log_price", "product_log_price")
HASH_MULTIPLIER = 2_654_435_761  # Knuth's multiplicative constant (odd)
N_HOURS = 24
ELAPSED_FLOOR = 0.01  # of the scale: log(E / scale + 0.01) stays finite at E = 0
PRODUCT = DOMAINS.index("product")


@dataclass(frozen=True, eq=False)
class ClickFeatures:
    """Inputs of ``n`` rows: ``categorical`` ``(n, n_fields)`` int64 table rows, ``numeric`` ``(n, k)`` float32."""

    categorical: np.ndarray
    numeric: np.ndarray
    vocabulary_sizes: tuple[int, ...]  # rows of each categorical field in the shared table

    def __post_init__(self) -> None:
        if self.categorical.ndim != 2 or self.numeric.ndim != 2 or len(self.categorical) != len(self.numeric):
            raise ValueError(f"categorical {self.categorical.shape} and numeric {self.numeric.shape} must be 2-D "
                             "with one row per click")
        if self.categorical.shape[1] != len(self.vocabulary_sizes):
            raise ValueError(f"{self.categorical.shape[1]} categorical columns but {len(self.vocabulary_sizes)} "
                             "vocabulary sizes")

    @property
    def n_rows(self) -> int:
        return len(self.categorical)

    @property
    def n_categories(self) -> int:
        """Rows of the shared embedding table."""
        return int(sum(self.vocabulary_sizes))

    @property
    def n_numeric(self) -> int:
        return int(self.numeric.shape[1])

    def take(self, index: np.ndarray) -> ClickFeatures:
        """The rows ``index`` (a click may appear several times: a stream's duplicates)."""
        index = np.asarray(index, dtype=np.int64)
        return ClickFeatures(self.categorical[index], self.numeric[index], self.vocabulary_sizes)

    def with_elapsed(self, elapsed_days: np.ndarray, elapsed_scale_days: float) -> ClickFeatures:
        r"""These rows with two more numeric columns, :math:`E / s` and :math:`\log(E / s + 0.01)` (FSIW's input)."""
        elapsed = np.asarray(elapsed_days, dtype=np.float64)
        if elapsed.shape != (self.n_rows,):
            raise ValueError(f"elapsed_days must have shape ({self.n_rows},), got {elapsed.shape}")
        if not (elapsed_scale_days > 0):
            raise ValueError(f"elapsed_scale_days must be > 0, got {elapsed_scale_days!r}")
        if not (np.isfinite(elapsed) & (elapsed >= 0)).all():
            raise ValueError("elapsed_days must be finite and >= 0")
        columns = np.column_stack([elapsed / elapsed_scale_days,
                                   np.log(elapsed / elapsed_scale_days + ELAPSED_FLOOR)]).astype(np.float32)
        return ClickFeatures(self.categorical, np.hstack([self.numeric, columns]), self.vocabulary_sizes)


def hashed(ids: np.ndarray, vocabulary: int, max_vocabulary: int) -> tuple[np.ndarray, int]:
    """``(ids, vocabulary)`` unchanged when ``vocabulary <= max_vocabulary``, else hashed into ``max_vocabulary`` buckets."""
    ids = np.asarray(ids, dtype=np.int64)
    if vocabulary <= max_vocabulary:
        return ids, vocabulary
    return (ids.astype(np.uint64) * np.uint64(HASH_MULTIPLIER) % np.uint64(max_vocabulary)).astype(np.int64), max_vocabulary


def click_features(stream: ConversionStream, reference: np.ndarray | None = None,
                   max_vocabulary: int = 100_000) -> ClickFeatures:
    """The features of every click of ``stream`` (module docstring), in click order.

    ``reference``: indices of the clicks whose numeric means and standard deviations standardise
    the numeric columns (default: every click); ``max_vocabulary``: buckets of a hashed field.
    """
    if max_vocabulary < 1:
        raise ValueError(f"max_vocabulary must be >= 1, got {max_vocabulary}")
    n_regions = int(stream.user_region.max()) + 1 if stream.n_clicks else 1
    raw = [
        (stream.user, int(stream.user.max()) + 1 if stream.n_clicks else 1),
        (stream.item, int(stream.item.max()) + 1 if stream.n_clicks else 1),
        (stream.domain, len(DOMAINS)),
        (stream.device, len(DEVICES)),
        (stream.hour, N_HOURS),
        (stream.user_region, n_regions),
    ]
    columns, sizes = [], []
    offset = 0
    for ids, vocabulary in raw:
        index, size = hashed(ids, vocabulary, max_vocabulary)
        columns.append(index + offset)
        sizes.append(size)
        offset += size
    log_price = np.log(stream.price)
    numeric = np.column_stack([stream.user_age.astype(np.float64), log_price,
                               np.where(stream.domain == PRODUCT, log_price, np.nan)])
    chosen = np.arange(stream.n_clicks) if reference is None else np.asarray(reference, dtype=np.int64)
    if len(chosen) == 0:
        raise ValueError("reference must name at least one click")
    mean = np.nanmean(numeric[chosen], axis=0)
    std = np.nanstd(numeric[chosen], axis=0)
    mean, std = np.nan_to_num(mean), np.where(np.isfinite(std) & (std > 0), std, 1.0)
    standardised = np.nan_to_num((numeric - mean) / std)  # product_log_price is 0 off products
    return ClickFeatures(np.column_stack(columns).astype(np.int64), standardised.astype(np.float32), tuple(sizes))
