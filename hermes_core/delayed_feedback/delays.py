r"""The delays themselves: how many conversions are still unseen after an elapsed time, and redrawn delays.

*Unseen share.* Among the clicks whose conversion counts (true label 1), the share still unseen
an elapsed time :math:`E` after the click is the delay's survival function,

.. math::

    U(E) = P(D > E \mid Y = 1) = \frac{|\{i : y_i = 1,\ d_i > E\}|}{|\{i : y_i = 1\}|},

the fraction of positives that a learner training at :math:`E` days after the click takes for
negatives (:func:`unseen_share`). DFM and the elapsed weight assume
:math:`U(E) = e^{-\lambda E}`; :func:`delay_summary` sets each domain's empirical quantiles beside
those of the exponential with the same mean, and the Kolmogorov–Smirnov distance
:math:`\sup_E |F_n(E) - (1 - e^{-E/\bar d})|` between them.

*Redrawn delays* (:func:`redraw_delays`). The non-exponential comparison keeps the world's clicks,
features and eventual conversions, and redraws only each conversion's delay, with the world's
mean delay of the item's domain, from :func:`hermes_core.world.conversions.draw_delays`
(exponential, Weibull with shape :math:`k`, log-normal with :math:`\sigma`). A redrawn delay beyond
the attribution window makes the click a negative forever, as in the world, so the counted rate
moves slightly with the tail (reported with each distribution).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from hermes_core.world.conversions import ConversionStream, draw_delays
from hermes_core.world.params import DOMAINS


def domain_mean_delays(delay_mean_days: object) -> np.ndarray:
    """The world's mean delay per domain (``world.conversions.delay_mean_days``) as an array in :data:`DOMAINS` order."""
    return np.array([float(getattr(delay_mean_days, domain)) for domain in DOMAINS])


def redraw_delays(stream: ConversionStream, distribution: str, shape: float, mean_days_by_domain: np.ndarray,
                  rng: np.random.Generator) -> ConversionStream:
    """``stream`` with every delay redrawn (module docstring); clicks, features and ``converted`` unchanged.

    ``shape`` is the Weibull :math:`k` or the log-normal :math:`\\sigma` (unused for exponential);
    one draw per click from ``rng`` (non-converting clicks' draws are discarded), so a seed gives
    the same delays whatever the conversions.
    """
    means = np.asarray(mean_days_by_domain, dtype=np.float64)
    if means.shape != (len(DOMAINS),) or not (means > 0).all():
        raise ValueError(f"mean_days_by_domain must hold {len(DOMAINS)} positive means ({', '.join(DOMAINS)})")
    delays = draw_delays(distribution, shape, means[stream.domain], rng)
    return dataclasses.replace(stream, delay_days=np.where(stream.converted, delays, np.nan))


def unseen_share(stream: ConversionStream, elapsed_days: np.ndarray) -> pd.DataFrame:
    """:math:`U(E)` on the grid ``elapsed_days``, over all counted conversions and per domain.

    Columns ``elapsed_days``, ``group`` (``all`` or a domain), ``unseen_share``, ``n_conversions``.
    """
    grid = np.asarray(elapsed_days, dtype=np.float64)
    label = stream.true_label
    rows = []
    groups = [("all", label)] + [(name, label & (stream.domain == k)) for k, name in enumerate(DOMAINS)]
    for name, chosen in groups:
        delays = np.sort(stream.delay_days[chosen])
        n = len(delays)
        share = (n - np.searchsorted(delays, grid, side="right")) / n if n else np.full(len(grid), np.nan)
        rows.append(pd.DataFrame({"elapsed_days": grid, "group": name, "unseen_share": share, "n_conversions": n}))
    return pd.concat(rows, ignore_index=True)


def exponential_unseen_share(mean_delay: float, elapsed_days: np.ndarray) -> np.ndarray:
    """:math:`e^{-E / \\bar d}`: the unseen share if the delay were exponential with mean ``mean_delay``."""
    return np.exp(-np.asarray(elapsed_days, dtype=np.float64) / mean_delay)


def ks_distance_to_exponential(delays: np.ndarray) -> float:
    """:math:`\\sup_E |F_n(E) - (1 - e^{-E / \\bar d})|` with :math:`\\bar d` the sample mean (NaN without delays)."""
    d = np.sort(np.asarray(delays, dtype=np.float64))
    n = len(d)
    if n == 0:
        return float("nan")
    model = -np.expm1(-d / d.mean())
    upper = np.arange(1, n + 1) / n - model
    lower = model - np.arange(n) / n
    return float(max(upper.max(), lower.max()))


def delay_summary(stream: ConversionStream, attribution_window_days: float) -> pd.DataFrame:
    """Per domain (and ``all``): counted conversions, delay mean, median and 90th percentile (days),
    the share of eventual conversions beyond the attribution window, the share of counted ones
    later than 1 and 7 days beside the exponential's :math:`e^{-1/\\bar d}`, :math:`e^{-7/\\bar d}`
    with the same mean, and the KS distance to that exponential."""
    rows = []
    label = stream.true_label
    for name, chosen in [("all", np.ones(stream.n_clicks, bool))] + [
            (d, stream.domain == k) for k, d in enumerate(DOMAINS)]:
        delays = stream.delay_days[label & chosen]
        eventual = stream.delay_days[stream.converted & chosen]
        mean = float(delays.mean()) if len(delays) else float("nan")
        rows.append({"group": name, "conversions": int(len(delays)), "mean_days": mean,
                     "median_days": float(np.median(delays)) if len(delays) else float("nan"),
                     "p90_days": float(np.quantile(delays, 0.9)) if len(delays) else float("nan"),
                     "beyond_window": float(np.mean(eventual > attribution_window_days)) if len(eventual) else float("nan"),
                     "after_1d": float(np.mean(delays > 1)) if len(delays) else float("nan"),
                     "after_1d_exponential": float(np.exp(-1 / mean)) if len(delays) else float("nan"),
                     "after_7d": float(np.mean(delays > 7)) if len(delays) else float("nan"),
                     "after_7d_exponential": float(np.exp(-7 / mean)) if len(delays) else float("nan"),
                     "ks_to_exponential": ks_distance_to_exponential(delays)})
    return pd.DataFrame(rows).set_index("group")


def delays_by_domain(stream: ConversionStream) -> dict[str, np.ndarray]:
    """Every eventual conversion's delay (days), per domain: counted or beyond the attribution window."""
    return {name: stream.delay_days[stream.converted & (stream.domain == k)] for k, name in enumerate(DOMAINS)}
