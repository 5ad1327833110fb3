"""The click-to-conversion stream of the delayed-feedback stage: clicks, true labels, delays.

Generative story (``world.conversions``; every draw from the ``conversions`` seed stream):

1. *clicks*: ``n_clicks`` (user, item) pairs over warm items, drawn with probability
   proportional to ``activity_u * pop_i * attr(rel_ui)`` (users by activity, items by
   popularity as an exposure proxy, accepted with ``attr(rel) / click_ceiling``: the world's
   click attractiveness of the true static grade, so relevant items are clicked more);
2. *context*: each click gets a day ``~ U{0..click_days-1}``, an hour of day with weights
   ``1 + 0.8 cos(2 pi (h - 20) / 24)`` (evening peak), a uniform time within the hour, and a
   device (mobile, desktop, tablet with shares 0.6, 0.3, 0.1); clicks are stored in time order;
3. *conversion*: the click converts eventually with

   .. math::

       P(y = 1 \\mid x) = \\sigma\\big(b_0 + b_{rel}\\,rel + b_{price}\\, z(\\log price)\\,1[product]
           + \\beta_{device} + 0.3\\cdot 1[18 \\le hour < 23] + 0.2\\, z(age)\\big)

   with ``b_rel`` and ``b_price`` the world's ``conversion_relevance_coef`` and
   ``conversion_price_coef`` (the ingredients of ``World.conversion_probability``),
   ``beta = (0, 0.4, 0.2)`` for (mobile, desktop, tablet), ``z(age) = (age - 47.5) / 18.47``
   (the world's ages are uniform on 16..79) and ``z(log price)`` standardised with the world's
   scales. The user's region has no effect (a placebo). ``b_0`` is calibrated by bisection so
   that the mean probability over the drawn clicks equals ``conversion_rate``;
4. *delay*: a converting click's delay (days) has the mean ``delay_mean_days[domain]`` of the
   item's domain, from :func:`draw_delays` (log-normal by default: heavy-tailed);
5. *attribution*: a conversion later than ``attribution_window_days`` after its click never
   counts: its label is 0 forever. The *true label* is ``converted and delay <= window``.

At time ``t`` a click made at or before ``t`` shows label 1 only if it has a true label of 1
and ``click_time + delay <= t``; a positive not yet observed is a *fake negative* (Chapelle 2014,
"Modeling delayed feedback in display advertising", KDD; Yang et al. 2021, ES-DFM, AAAI;
Gu et al. 2021, DEFER, KDD). Times are in days since the world's start.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from math import gamma
from pathlib import Path
from typing import NamedTuple

import numpy as np

from hermes_core.world.params import DOMAINS, WorldParams
from hermes_core.world.preferences import PreferenceScales, TasteModel, attractiveness, grade, pair_affinity

DEVICES: tuple[str, ...] = ("mobile", "desktop", "tablet")
DEVICE_SHARES = np.array([0.6, 0.3, 0.1])
DEVICE_LOGIT = np.array([0.0, 0.4, 0.2])
EVENING_HOURS = (18, 23)  # [start, end)
EVENING_LOGIT = 0.3
AGE_MEAN, AGE_STD = 47.5, 18.47  # uniform on 16..79: sqrt((64^2 - 1) / 12)
AGE_LOGIT = 0.2
HOUR_WEIGHTS = 1.0 + 0.8 * np.cos(2.0 * np.pi * (np.arange(24) - 20) / 24.0)
PRODUCT = DOMAINS.index("product")
PAIR_CHUNK = 500_000
CLICK, CONVERSION = 0, 1
EVENT_KINDS: tuple[str, ...] = ("click", "conversion")


def draw_delays(distribution: str, shape: float, mean_days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Delays in days with the given means (one per entry of ``mean_days``).

    exponential: ``Exp(mean)``; weibull (shape k): scale ``mean / Gamma(1 + 1/k)``;
    lognormal (sigma = shape): ``exp(mu + sigma Z)`` with ``mu = log(mean) - sigma^2 / 2``.
    """
    mean_days = np.asarray(mean_days, dtype=float)
    if distribution == "exponential":
        return rng.exponential(mean_days)
    if distribution == "weibull":
        return mean_days / gamma(1.0 + 1.0 / shape) * rng.weibull(shape, size=mean_days.shape)
    if distribution == "lognormal":
        return np.exp(np.log(mean_days) - 0.5 * shape**2 + shape * rng.standard_normal(mean_days.shape))
    raise ValueError(f"world.conversions.delay_distribution: unknown distribution {distribution!r}")


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def calibrate_intercept(offset: np.ndarray, rate: float) -> float:
    """The ``b0`` with ``mean(sigmoid(b0 + offset)) = rate`` (bisection; the mean rises with b0)."""
    low, high = -40.0, 40.0
    for _ in range(100):
        middle = 0.5 * (low + high)
        if sigmoid(middle + offset).mean() < rate:
            low = middle
        else:
            high = middle
    return 0.5 * (low + high)


class ObservedLabels(NamedTuple):
    """What a learner sees at time ``t`` for every click made at or before ``t`` (time order)."""

    click: np.ndarray  # (m,) click indices 0..m-1
    label: np.ndarray  # (m,) int8, 1 iff the counted conversion happened at or before t
    elapsed_days: np.ndarray  # (m,) t - click time
    observed_delay_days: np.ndarray  # (m,) the delay of observed positives, NaN elsewhere


class StreamEvent(NamedTuple):
    """One event of :meth:`ConversionStream.replay`: a click or the (counted) conversion of one."""

    time_days: float
    kind: str  # "click" or "conversion"
    click: int


@dataclass(frozen=True)
class ConversionStream:
    """Clicks in time order with their features, true labels and delays (all arrays (n_clicks,))."""

    user: np.ndarray  # int64 user index
    user_age: np.ndarray  # int64
    user_region: np.ndarray  # int64 index into vocabulary.REGIONS (no effect: a placebo)
    item: np.ndarray  # int64 item index (warm items only)
    domain: np.ndarray  # int8 index into DOMAINS
    price: np.ndarray  # float64
    relevance: np.ndarray  # int8 true static grade 0..4
    hour: np.ndarray  # int8 hour of day of the click (UTC)
    device: np.ndarray  # int8 index into DEVICES
    click_time_days: np.ndarray  # float64, sorted ascending
    conversion_probability: np.ndarray  # float64 true P(eventual conversion | features)
    converted: np.ndarray  # bool: converts eventually (window ignored)
    delay_days: np.ndarray  # float64 click-to-conversion delay, NaN if not converted
    base_logit: float  # the calibrated b0
    attribution_window_days: float
    cutoff_days: float  # the default observation time of the signals

    # ------------------------------------------------------------------ truth
    @property
    def n_clicks(self) -> int:
        return len(self.click_time_days)

    @property
    def conversion_time_days(self) -> np.ndarray:
        """Click time + delay (NaN if the click never converts)."""
        return self.click_time_days + self.delay_days

    @property
    def true_label(self) -> np.ndarray:
        """The eventual label that counts: converted within the attribution window (bool)."""
        return self.converted & (np.nan_to_num(self.delay_days, nan=np.inf) <= self.attribution_window_days)

    # ------------------------------------------------------------------ observation
    def n_clicked_by(self, t: float) -> int:
        """Number of clicks made at or before ``t`` (they are the first ones: time order)."""
        return int(np.searchsorted(self.click_time_days, t, side="right"))

    def labels_at(self, t: float | None = None) -> ObservedLabels:
        """Labels observable at time ``t`` (days; default ``cutoff_days``) of the clicks made by ``t``.

        ``label = true_label and click_time + delay <= t``; ``elapsed = t - click_time``.
        """
        t = self.cutoff_days if t is None else float(t)
        m = self.n_clicked_by(t)
        conv_time = self.conversion_time_days[:m]
        label = self.true_label[:m] & (np.nan_to_num(conv_time, nan=np.inf) <= t)
        return ObservedLabels(
            click=np.arange(m),
            label=label.astype(np.int8),
            elapsed_days=t - self.click_time_days[:m],
            observed_delay_days=np.where(label, self.delay_days[:m], np.nan),
        )

    def fake_negative_share(self, t: float | None = None) -> float:
        """Share of the clicks observed negative at ``t`` whose true label is 1 (NaN if none).

        .. math::

            \\frac{|\\{i: t_i \\le t,\\ y_i = 1,\\ t_i + d_i > t\\}|}
                 {|\\{i: t_i \\le t,\\ \\text{label}_i(t) = 0\\}|}
        """
        observed = self.labels_at(t)
        negative = observed.label == 0
        if not negative.any():
            return float("nan")
        return float(self.true_label[: len(negative)][negative].mean())

    # ------------------------------------------------------------------ replay
    def event_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every click and counted conversion in time order: ``(time_days, kind, click)``.

        ``kind`` is 0 for a click and 1 for a conversion; at equal times clicks come first, so
        a click always precedes its own conversion. Conversions outside the window never appear.
        """
        positive = np.flatnonzero(self.true_label)
        time = np.concatenate([self.click_time_days, self.conversion_time_days[positive]])
        kind = np.concatenate([np.full(self.n_clicks, CLICK, np.int8), np.full(len(positive), CONVERSION, np.int8)])
        click = np.concatenate([np.arange(self.n_clicks), positive])
        order = np.lexsort((click, kind, time))
        return time[order], kind[order], click[order]

    def replay(self, until: float | None = None) -> Iterator[StreamEvent]:
        """Iterate over :meth:`event_table` (up to time ``until`` inclusive when given)."""
        time, kind, click = self.event_table()
        stop = len(time) if until is None else int(np.searchsorted(time, until, side="right"))
        for k in range(stop):
            yield StreamEvent(float(time[k]), EVENT_KINDS[kind[k]], int(click[k]))

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write every field to one ``.npz`` (byte-stable: numpy writes fixed zip dates)."""
        path = Path(path)
        np.savez_compressed(path, **{f.name: np.asarray(getattr(self, f.name)) for f in fields(self)})
        return path

    @classmethod
    def load(cls, path: str | Path) -> ConversionStream:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no conversion stream at {path}")
        with np.load(path) as npz:
            missing = [f.name for f in fields(cls) if f.name not in npz.files]
            if missing:
                raise ValueError(f"{path}: conversion stream lacks {', '.join(missing)}")
            values = {f.name: npz[f.name] for f in fields(cls)}
        for name in ("base_logit", "attribution_window_days", "cutoff_days"):
            values[name] = float(values[name])
        return cls(**values)


def _draw_pairs(model: TasteModel, n_clicks: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user, item, grade) of ``n_clicks`` clicks: ``P ∝ activity_u pop_i attr(rel_ui)`` by rejection."""
    params, users, catalogue, scales = model.params, model.users, model.catalogue, model.scales
    warm = np.flatnonzero(~catalogue.is_cold)
    p_user = users.activity / users.activity.sum()
    weights = np.exp(catalogue.log_popularity[warm] - catalogue.log_popularity[warm].max())
    p_item = weights / weights.sum()
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    remaining = n_clicks
    while remaining > 0:
        batch = int(min(max(12 * remaining, 20_000), 4 * PAIR_CHUNK))
        u = rng.choice(len(p_user), size=batch, p=p_user)
        i = warm[rng.choice(len(warm), size=batch, p=p_item)]
        rel = np.concatenate([grade(scales, pair_affinity(model, u[s:s + PAIR_CHUNK], i[s:s + PAIR_CHUNK]))
                              for s in range(0, batch, PAIR_CHUNK)])
        keep = np.flatnonzero(rng.random(batch) < attractiveness(params, rel) / params.click_ceiling)[:remaining]
        parts.append((u[keep], i[keep], rel[keep]))
        remaining -= len(keep)
    return tuple(np.concatenate(column) for column in zip(*parts))  # type: ignore[return-value]


def conversion_offset(params: WorldParams, scales: PreferenceScales, relevance: np.ndarray, domain: np.ndarray,
                      price: np.ndarray, device: np.ndarray, hour: np.ndarray, age: np.ndarray) -> np.ndarray:
    """The conversion logit without its intercept ``b0`` (module docstring, step 3)."""
    z_price = (np.log(price) - scales.log_price_mean) / scales.log_price_std
    evening = (hour >= EVENING_HOURS[0]) & (hour < EVENING_HOURS[1])
    return (params.conversion_relevance_coef * relevance.astype(float)
            + params.conversion_price_coef * z_price * (domain == PRODUCT)
            + DEVICE_LOGIT[device] + EVENING_LOGIT * evening + AGE_LOGIT * (age - AGE_MEAN) / AGE_STD)


def generate_conversion_stream(model: TasteModel, rng: np.random.Generator) -> ConversionStream:
    """Draw the stream of ``params.conversions`` (module docstring) from ``rng``."""
    params, users, catalogue, scales = model.params, model.users, model.catalogue, model.scales
    conv = params.conversions
    n = conv.n_clicks
    user, item, relevance = _draw_pairs(model, n, rng)
    day = rng.integers(conv.click_days, size=n)
    hour = rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    click_time = day + (hour + rng.random(n)) / 24.0
    device = rng.choice(len(DEVICES), size=n, p=DEVICE_SHARES)
    order = np.argsort(click_time, kind="stable")
    user, item, relevance, click_time, hour, device = (a[order] for a in (user, item, relevance, click_time,
                                                                            hour, device))
    domain = catalogue.domain[item].astype(np.int8)
    price = catalogue.price[item].astype(np.float64)
    age = users.age[user].astype(np.int64)
    offset = conversion_offset(params, scales, relevance, domain, price, device, hour, age)
    base_logit = calibrate_intercept(offset, conv.conversion_rate)
    probability = sigmoid(base_logit + offset)
    converted = rng.random(n) < probability
    domain_means = np.array([getattr(conv.delay_mean_days, d) for d in DOMAINS])
    delays = draw_delays(conv.delay_distribution, conv.delay_shape, domain_means[domain], rng)
    return ConversionStream(
        user=user.astype(np.int64),
        user_age=age,
        user_region=users.region[user].astype(np.int64),
        item=item.astype(np.int64),
        domain=domain,
        price=price,
        relevance=relevance.astype(np.int8),
        hour=hour.astype(np.int8),
        device=device.astype(np.int8),
        click_time_days=click_time,
        conversion_probability=probability,
        converted=converted,
        delay_days=np.where(converted, delays, np.nan),
        base_logit=float(base_logit),
        attribution_window_days=float(conv.attribution_window_days),
        cutoff_days=float(conv.cutoff_days),
    )


def delay_signals(stream: ConversionStream, cutoff_days: float | None = None) -> dict[str, float]:
    """The delayed-feedback signals of issue 9 at the cut-off (default ``stream.cutoff_days``).

    - ``conversions_after_{1,7,14}d``: share of counted conversions (true label 1) whose delay
      exceeds 1, 7 and 14 days;
    - ``conversions_beyond_window``: share of eventual conversions later than the window (never counted);
    - ``last_week_unobserved``: among clicks of the 7 days before the cut-off with true label 1,
      the share whose conversion comes after the cut-off;
    - ``fake_negative_share``: :meth:`ConversionStream.fake_negative_share` at the cut-off;
    - ``eventual_conversion_rate`` and ``counted_conversion_rate``: shares of all clicks.
    """
    t = stream.cutoff_days if cutoff_days is None else float(cutoff_days)
    label = stream.true_label
    delays = stream.delay_days[label]
    last_week = label & (stream.click_time_days > t - 7.0) & (stream.click_time_days <= t)
    signals = {f"conversions_after_{d}d": float(np.mean(delays > d)) if len(delays) else float("nan")
               for d in (1, 7, 14)}
    signals.update(
        conversions_beyond_window=float(np.mean(stream.delay_days[stream.converted] > stream.attribution_window_days))
        if stream.converted.any() else float("nan"),
        last_week_unobserved=float(np.mean(stream.conversion_time_days[last_week] > t)) if last_week.any()
        else float("nan"),
        fake_negative_share=stream.fake_negative_share(t),
        eventual_conversion_rate=float(stream.converted.mean()),
        counted_conversion_rate=float(label.mean()),
        n_clicks=float(stream.n_clicks),
        n_conversions=float(label.sum()),
    )
    return signals
