"""What the accepted data look like: the data profile and the popularity and activity tables.

Everything is counted on the *main* event type, the one that says a user met an item
(:func:`main_event_type`: impressions for the world, ratings for MovieLens). The figures of
:mod:`hermes_core.ingest.plots` draw these tables, and the metrics read the profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


def main_event_type(interactions: pd.DataFrame) -> str:
    """The event that says a user met an item: ``impression`` when the log has impressions
    (the world), else ``rating`` when it has ratings (MovieLens), else the most frequent type."""
    present = interactions["event_type"].value_counts()
    for event_type in ("impression", "rating"):
        if present.get(event_type, 0) > 0:
            return event_type
    if present.empty:
        raise ValueError("the interactions table is empty: no event type to profile")
    return str(present.index[0])


def interactions_by_domain(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Event counts per item domain and event type."""
    merged = tables["interactions"].merge(tables["assets"][["asset_id", "domain"]], left_on="item_id",
                                          right_on="asset_id", how="left")
    return merged.pivot_table(index="domain", columns="event_type", values="user_id", aggfunc="count", fill_value=0)


def popularity_by_cohort(tables: dict[str, pd.DataFrame], event_type: str = "impression") -> pd.DataFrame:
    """Items ranked by event count with their creator cohort (for the long-tail plot);
    cohort ``unknown`` where the source has none (MovieLens)."""
    events = tables["interactions"]
    counts = events.loc[events["event_type"] == event_type, "item_id"].value_counts()
    assets = tables["assets"].set_index("asset_id")
    frame = pd.DataFrame({"events": counts.reindex(assets.index, fill_value=0),
                          "cohort": assets["creator_cohort"].fillna("unknown")})
    frame = frame.sort_values("events", ascending=False, kind="stable")
    frame["rank"] = np.arange(1, len(frame) + 1)
    return frame


def has_cohorts(tables: dict[str, pd.DataFrame]) -> bool:
    """Whether any asset carries a creator cohort (the world does, MovieLens does not)."""
    return bool(tables["assets"]["creator_cohort"].notna().any())


def cohort_table(popularity: pd.DataFrame) -> pd.DataFrame | None:
    """Items, mean, median and total events per creator cohort; ``None`` without cohorts."""
    known = popularity[popularity["cohort"] != "unknown"]
    if known.empty:
        return None
    table = known.groupby("cohort")["events"].agg(["count", "mean", "median", "sum"])
    return table.rename(columns={"count": "items", "sum": "events"})


def top_share(popularity: pd.DataFrame, share: float = 0.1) -> float:
    r"""Fraction of all events that go to the top ``share`` of items.

    With :math:`n_{(1)} \ge n_{(2)} \ge \dots` the items' event counts in decreasing order,
    :math:`\sum_{r \le k} n_{(r)} / \sum_r n_{(r)}` where
    :math:`k = \max(1, \mathrm{round}(share \cdot n_{items}))`; NaN when there are no events.
    """
    events = popularity["events"].sort_values(ascending=False)
    top = max(1, int(round(share * len(events))))
    total = events.sum()
    return float(events.iloc[:top].sum() / total) if total else float("nan")


def observed_conversion_delays(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Click-to-conversion delays (days) of the conversions observed in the log, with domain."""
    events = tables["interactions"]
    clicks = events.loc[events["event_type"] == "click", ["request_id", "item_id", "timestamp"]]
    conversions = events.loc[events["event_type"] == "conversion", ["request_id", "item_id", "timestamp"]]
    merged = conversions.merge(clicks, on=["request_id", "item_id"], suffixes=("_conversion", "_click"))
    merged["delay_days"] = (merged["timestamp_conversion"] - merged["timestamp_click"]).dt.total_seconds() / 86_400
    domains = tables["assets"].set_index("asset_id")["domain"]
    merged["domain"] = merged["item_id"].map(domains)
    return merged[["request_id", "item_id", "domain", "delay_days"]]


PROFILE_QUANTILES: tuple[float, ...] = (0.25, 0.5, 0.75, 0.9)
"""Quantiles of the per-user and per-item distributions (linear interpolation, pandas' default)."""


@dataclass(frozen=True)
class DataProfile:
    """What the accepted data look like, counted on the main event type (impressions for the
    world, ratings for MovieLens, see :func:`main_event_type`).

    ``events_per_user`` and ``events_per_item`` hold every accepted user and item, zeros
    included, so that medians over all users and over active users can both be read.
    """

    event_type: str
    n_users: int
    n_items: int
    events_by_type: dict[str, int]
    n_pairs: int  # distinct (user, item) pairs with at least one main event
    events_per_user: pd.Series  # (n_users,) index user_id
    events_per_item: pd.Series  # (n_items,) index item_id, sorted by events, most popular first
    rating_counts: pd.Series | None  # ratings per rating value, ascending value; None without ratings
    first_event: pd.Timestamp | None
    last_event: pd.Timestamp | None
    cold_items: int = 0  # items without a main event whose created_at is after the last main event
    items_with_events_before_creation: int = 0  # first main event earlier than the item's created_at

    @property
    def n_events(self) -> int:
        return int(self.events_by_type.get(self.event_type, 0))

    @property
    def n_interactions(self) -> int:
        """Accepted interaction rows of every event type."""
        return int(sum(self.events_by_type.values()))

    @property
    def density(self) -> float:
        """Share of the user × item matrix observed: ``pairs / (users × items)``."""
        cells = self.n_users * self.n_items
        return self.n_pairs / cells if cells else float("nan")

    @property
    def sparsity(self) -> float:
        """``1 - pairs / (users × items)``."""
        return 1.0 - self.density

    @property
    def users_without_events(self) -> int:
        return int((self.events_per_user == 0).sum())

    @property
    def users_without_events_share(self) -> float:
        return self.users_without_events / self.n_users if self.n_users else float("nan")

    @property
    def items_without_events(self) -> int:
        return int((self.events_per_item == 0).sum())

    @property
    def items_without_events_share(self) -> float:
        return self.items_without_events / self.n_items if self.n_items else float("nan")

    @property
    def median_per_user_all(self) -> float:
        return float(self.events_per_user.median())

    @property
    def median_per_user_active(self) -> float:
        active = self.events_per_user[self.events_per_user > 0]
        return float(active.median()) if len(active) else float("nan")

    @property
    def top10pct_share(self) -> float:
        """Share of main events that go to the top 10% of items (:func:`top_share`)."""
        return top_share(self.events_per_item.to_frame("events"), 0.1)

    @property
    def mean_rating(self) -> float | None:
        if self.rating_counts is None:
            return None
        values = self.rating_counts.index.to_numpy(dtype=float)
        return float((values * self.rating_counts.to_numpy()).sum() / self.rating_counts.sum())

    def summary(self) -> pd.DataFrame:
        """The profile as a (quantity, value) table; counts with thousands separators, shares in %."""
        event = self.event_type
        rows: list[tuple[str, str]] = [
            ("users", f"{self.n_users:,}"),
            ("items", f"{self.n_items:,}"),
        ]
        rows += [(f"{kind} events", f"{count:,}") for kind, count in self.events_by_type.items()]
        rows += [
            (f"distinct (user, item) pairs with at least one {event}", f"{self.n_pairs:,}"),
            ("density: pairs / (users × items)", f"{100 * self.density:.2f} %"),
            ("sparsity: 1 − density", f"{100 * self.sparsity:.2f} %"),
            (f"users without any {event}",
             f"{self.users_without_events:,} ({100 * self.users_without_events_share:.1f} %)"),
            (f"items without any {event}",
             f"{self.items_without_events:,} ({100 * self.items_without_events_share:.1f} %)"),
            (f"cold items: no {event}, created after the last one", f"{self.cold_items:,}"),
            (f"items whose first {event} precedes their created_at", f"{self.items_with_events_before_creation:,}"),
            (f"median {event}s per user, all users", f"{self.median_per_user_all:.1f}"),
            (f"median {event}s per user, active users", f"{self.median_per_user_active:.1f}"),
            (f"share of {event}s on the top 10% of items", f"{100 * self.top10pct_share:.1f} %"),
        ]
        if self.mean_rating is not None:
            rows.append(("mean rating", f"{self.mean_rating:.2f}"))
        if self.first_event is not None and self.last_event is not None:
            rows.append((f"first and last {event}", f"{self.first_event:%Y-%m-%d} to {self.last_event:%Y-%m-%d}"))
        return pd.DataFrame(rows, columns=["quantity", "value"]).set_index("quantity")

    def distributions(self) -> pd.DataFrame:
        """Count, mean, min, quartiles, 90th percentile and max of main events per user and per
        item: over all users (items), and over those with at least one event when some have none.
        Counts are integers, every other column has one decimal."""
        event = self.event_type
        series = {f"{event}s per user, all users": self.events_per_user}
        if self.users_without_events:
            series[f"{event}s per user, active users"] = self.events_per_user[self.events_per_user > 0]
        series[f"{event}s per item, all items"] = self.events_per_item
        if self.items_without_events:
            series[f"{event}s per item, items with ≥ 1"] = self.events_per_item[self.events_per_item > 0]
        rows = {}
        for name, values in series.items():
            row = {"mean": values.mean(), "min": values.min()}
            row.update({f"{100 * q:g}%": values.quantile(q) for q in PROFILE_QUANTILES})
            row["max"] = values.max()
            rows[name] = row
        frame = pd.DataFrame(rows).T.astype(float).round(1)
        frame.insert(0, "count", [len(values) for values in series.values()])
        return frame

    def as_dict(self) -> dict[str, Any]:
        """JSON-able profile for the diagnostics file."""
        return {
            "event_type": self.event_type, "users": self.n_users, "items": self.n_items,
            "events_by_type": dict(self.events_by_type), "pairs": self.n_pairs, "density": self.density,
            "users_without_events": self.users_without_events, "items_without_events": self.items_without_events,
            "cold_items": self.cold_items,
            "items_with_events_before_creation": self.items_with_events_before_creation,
            "median_per_user_all": self.median_per_user_all, "median_per_user_active": self.median_per_user_active,
            "top10pct_share": self.top10pct_share,
            "distributions": {name: {key: float(value) for key, value in row.items()}
                              for name, row in self.distributions().iterrows()},
            "rating_counts": None if self.rating_counts is None else
            {f"{value:g}": int(count) for value, count in self.rating_counts.items()},
            "first_event": None if self.first_event is None else self.first_event.isoformat(),
            "last_event": None if self.last_event is None else self.last_event.isoformat(),
        }


def data_profile(tables: dict[str, pd.DataFrame], event_type: str | None = None) -> DataProfile:
    r"""Profile the accepted ``users``, ``assets`` and ``interactions`` tables.

    Users and items are the accepted rows of ``users`` and ``assets``; items without a main
    event whose ``created_at`` is after the last main event are counted as cold (created after
    the log), and items whose first main event precedes their ``created_at`` are counted too
    (their creation time is not when they entered the catalogue). The per-user and per-item
    counts, the pairs, the density :math:`|\{(u, i)\}| / (|U|\,|I|)` and the long-tail share count
    events of ``event_type`` (default :func:`main_event_type`). Rating counts are read from
    ``value`` of the ``rating`` events, when there are any.
    """
    events = tables["interactions"]
    event_type = event_type or main_event_type(events)
    main = events.loc[events["event_type"] == event_type]
    users = tables["users"]["user_id"]
    items = tables["assets"]["asset_id"]
    per_user = main["user_id"].value_counts().reindex(users, fill_value=0).astype(int)
    per_item = main["item_id"].value_counts().reindex(items, fill_value=0).astype(int)
    per_item = per_item.sort_values(ascending=False, kind="stable")
    ratings = events.loc[events["event_type"] == "rating", "value"]
    rating_counts = ratings.value_counts().sort_index().astype(int) if len(ratings) else None
    by_type = events["event_type"].value_counts()
    last_event = main["timestamp"].max() if len(main) else None
    created = tables["assets"].set_index("asset_id")["created_at"] if "created_at" in tables["assets"] else None
    cold = 0
    if created is not None and last_event is not None:
        cold = int(((created > last_event) & (per_item.reindex(created.index) == 0)).sum())
    first_per_item = main.groupby("item_id")["timestamp"].min()
    early = int((first_per_item < created.reindex(first_per_item.index)).sum()) if created is not None else 0
    return DataProfile(
        event_type=event_type,
        n_users=len(users),
        n_items=len(items),
        events_by_type={str(kind): int(count) for kind, count in by_type.items()},
        n_pairs=int(main[["user_id", "item_id"]].drop_duplicates().shape[0]),
        events_per_user=per_user.rename(f"{event_type}s"),
        events_per_item=per_item.rename(f"{event_type}s"),
        rating_counts=None if rating_counts is None else rating_counts.rename_axis("rating").rename("ratings"),
        first_event=main["timestamp"].min() if len(main) else None,
        last_event=last_event,
        cold_items=cold,
        items_with_events_before_creation=early,
    )


def conversion_delay_summary(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Count, mean, standard deviation, min, quartiles and max of the observed
    click-to-conversion delays (days) per item domain (:func:`observed_conversion_delays`),
    two decimals."""
    return observed_conversion_delays(tables).groupby("domain")["delay_days"].describe().round(2)
