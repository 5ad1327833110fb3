"""The ingest stage end to end: source -> raw files -> validation -> feature store.

The notebook ``01_ingest`` calls :func:`run_ingest_stage` and then the summary functions
below for its tables and plots; everything it shows is computed here: the description of the
source (:func:`source_description`), the data profile (:func:`data_profile`), the headline
metrics (:func:`ingest_metrics`) and the diagnostics behind them (:func:`ingest_diagnostics`).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from hermes_core.ingest.validate import IngestResult, ingest, read_raw_folder
from hermes_core.params import HermesParams
from hermes_core.data.raw import RawTable
from hermes_core.data.store import FeatureStore, SnapshotManifest
from hermes_core.workspace import MissingDataError, Workspace, resolve_project_path, shared_data_dir
from hermes_core.world import World
from hermes_core.world.export import InjectedRecord, write_raw

MOVIELENS_FOLDERS = {"movielens-100k": "ml-100k", "movielens-1m": "ml-1m", "movielens-latest": "ml-latest-small"}

WORLD_MODEL_MARKDOWN = r"""**Items.** Item $i$ has a textual latent $t_i \in \Delta^{16}$ (themes), a visual latent
$v_i \in \Delta^{8}$ (colour and shape styles), a hidden latent $h_i \sim \mathcal N(0, I_H)$
that no content reveals, a creator (mainstream or independent, with heavy-tailed log-normal
popularity) and a domain. Its description is written from its strongest themes and its image
is painted from its visual styles. Cold items are created after the logging window.

**Users and true relevance.** User $u$ has preferences $p^{vis}_u, p^{txt}_u, p^{hid}_u$, a modality
affinity $m_u \sim \mathrm{Beta}(c,c)$ and domain affinities $a_u$. With each term standardised,
$$ s(u,i) = 1.4\,[m_u \tilde v_{ui} + (1-m_u)\tilde t_{ui}] + 0.8\,\tilde h_{ui} + 0.8\log(4 a_{u,d(i)}) + 0.5\,\widetilde{\log pop_i}, $$
plus, inside a session whose last click was $c$, the sequential term
$\kappa\,[(\cos(c,i)-\mu)/\sigma + \mathbb 1\{\text{same creator}\}]$. Graded relevance $rel \in \{0,\dots,4\}$
cuts $s$ at fixed quantiles.

**Logging policy and feedback.** Each request ranks $C$ candidates with a Plackett–Luce policy of
noisy scores; the exact marginal probability of every candidate at every position is logged as
the propensity. A position-based model turns relevance into clicks,
$P(\text{click}\mid u,i,k) = (k+1)^{-\eta}\,[\epsilon + (\gamma-\epsilon)(2^{rel}-1)/15]$, and a click
converts with probability $\sigma(b_0 + b_{rel}\,rel + b_{price}\,z(\log price))$ after a delay
(exponential by default, mean depending on the domain) that the log only sees if it ends before
the window closes."""
"""The synthetic world's generative model (``hermes_core.world``), as the notebook shows it."""

_MOVIELENS_COMMON = (
    "Each rating carries a Unix timestamp (seconds, UTC) of when it was *entered* on the website, "
    "not of when the film was watched. There are no impressions, clicks, conversions or logging "
    "propensities, no creator cohorts and no ground truth: every interaction below is a rating, and "
    "nothing here can validate an off-policy estimate. Movies carry their title, release year and a "
    "genre multi-hot vector (stored as `dense_features`)."
)

MOVIELENS_MARKDOWN: dict[str, str] = {
    "movielens-100k": (
        "**MovieLens 100K** (GroupLens Research, University of Minnesota; Harper and Konstan 2015). "
        "Explicit ratings given on the MovieLens website between 19 September 1997 and 22 April 1998. "
        "Its README: 100,000 ratings from 943 users on 1,682 movies, on a scale of whole stars from 1 "
        "to 5; users with fewer than 20 ratings or incomplete demographics were removed, so every user "
        "has rated at least 20 movies. Users carry age, gender and occupation. " + _MOVIELENS_COMMON
    ),
    "movielens-1m": (
        "**MovieLens 1M** (GroupLens Research; Harper and Konstan 2015). Its README: 1,000,209 ratings "
        "of about 3,900 movies by 6,040 users who joined MovieLens in 2000, whole stars from 1 to 5, "
        "every user with at least 20 ratings. Users carry age group, gender and occupation. "
        + _MOVIELENS_COMMON
    ),
    "movielens-latest": (
        "**MovieLens latest-small** (GroupLens Research; Harper and Konstan 2015). Its README: 100,836 "
        "ratings on 9,742 movies by 610 randomly selected users between 29 March 1996 and 24 September "
        "2018, on a 5-star scale with half-star increments (0.5 to 5.0); every user rated at least 20 "
        "movies; no demographics (users are derived from the ratings). " + _MOVIELENS_COMMON
    ),
}
"""What each MovieLens variant is, from its GroupLens README (counts are the README's; the
notebook's data profile shows the counts actually ingested)."""


def source_description(source: str) -> str:
    """Markdown describing where the data come from: the world's generative model for
    ``world``, the dataset (what it is, rating scale, timestamps) for a MovieLens source."""
    if source == "world":
        return "**Source `world`: the synthetic world's generative model.**\n\n" + WORLD_MODEL_MARKDOWN
    if source in MOVIELENS_MARKDOWN:
        return f"**Source `{source}`.** " + MOVIELENS_MARKDOWN[source]
    raise ValueError(f"data.source '{source}': no description; known sources: world, "
                     f"{', '.join(MOVIELENS_MARKDOWN)}")


@dataclass
class IngestStageResult:
    source: str
    result: IngestResult
    manifest: SnapshotManifest
    world: World | None
    injected: list[InjectedRecord] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def movielens_path(params: HermesParams) -> Path:
    """The configured MovieLens folder (``data.movielens_path``, else under the shared data)."""
    if params.data.movielens_path:
        return resolve_project_path(params.data.movielens_path)
    return shared_data_dir(params.data.shared_data_dir) / MOVIELENS_FOLDERS[params.data.source]


def load_source(params: HermesParams, workspace: Workspace) -> tuple[dict[str, RawTable], dict[str, Any], World | None,
                                                                     list[InjectedRecord]]:
    """Raw tables and validation context of the configured source; the world if synthetic."""
    if params.data.source == "world":
        world = World.generate(params.world)
        world.save(workspace.world)
        raw_folder = workspace.raw / "world"
        injected = write_raw(world, raw_folder)
        (workspace.world / "injected.json").write_text(
            json.dumps([asdict(i) for i in injected], indent=0), encoding="utf-8")
        context = {"now": world.end, "dense_dim": params.world.dense_dim}
        return read_raw_folder(raw_folder), context, world, injected

    from hermes_core.data.readers.movielens import download_movielens, load_movielens

    variant = params.data.source.removeprefix("movielens-")
    path = movielens_path(params)
    if not path.exists() and params.data.allow_download:
        path = download_movielens(variant, workspace.raw / "downloads")  # type: ignore[arg-type]
    if not path.exists():
        raise MissingDataError(
            f"data.source is {params.data.source} but its folder {path} does not exist; point "
            "data.movielens_path or data.shared_data_dir (or $HERMES_SHARED_DATA outside DVC) at it, "
            "or set data.allow_download: true")
    raw = load_movielens(path, variant)  # type: ignore[arg-type]
    workspace.raw.mkdir(parents=True, exist_ok=True)
    workspace.world.mkdir(parents=True, exist_ok=True)
    (workspace.raw / "SOURCE.json").write_text(json.dumps({"source": params.data.source, "path": str(path)}, indent=1))
    (workspace.world / "NO_WORLD.txt").write_text(f"source {params.data.source}: no synthetic ground truth\n")
    context = {"now": datetime.now(timezone.utc), "dense_dim": raw.dense_dim}
    return dict(raw.tables), context, None, []


def run_ingest_stage(params: HermesParams, workspace: Workspace) -> IngestStageResult:
    timings: dict[str, float] = {}
    start = time.perf_counter()
    raw_tables, context, world, injected = load_source(params, workspace)
    timings["source"] = time.perf_counter() - start
    start = time.perf_counter()
    result = ingest(raw_tables, now=context["now"], dense_dim=context["dense_dim"], chunk_size=params.ingest.chunk_size)
    timings["validate"] = time.perf_counter() - start
    start = time.perf_counter()
    tables = dict(result.tables)
    tables["quarantine"] = result.quarantine
    manifest = FeatureStore(workspace.store).write_snapshot(
        tables,
        params={"data": params.data.model_dump(mode="json"), "world": params.world.model_dump(mode="json"),
                "ingest": params.ingest.model_dump(mode="json"), "profile": params.profile},
        description=f"ingest of source '{params.data.source}'",
    )
    timings["store"] = time.perf_counter() - start
    return IngestStageResult(params.data.source, result, manifest, world, injected, timings)


# ---------------------------------------------------------------------- summaries for the notebook
def counts_table(result: IngestResult) -> pd.DataFrame:
    """Records in, accepted and quarantined per table, with the quarantined share in per cent."""
    frame = pd.DataFrame(result.counts).T.rename_axis("table")
    frame["quarantined (%)"] = (100 * frame["quarantined"] / frame["in"].where(frame["in"] > 0)).round(2)
    return frame


def quarantine_examples(result: IngestResult, per_reason: int) -> pd.DataFrame:
    """The first ``per_reason`` quarantined records of each reason, raw text cut to 80 characters."""
    columns = ["table", "source", "reason", "messages", "raw"]
    if result.quarantine.empty:
        return pd.DataFrame(columns=columns)
    examples = result.quarantine.groupby("reason", group_keys=False).head(max(1, per_reason))[columns]
    return examples.assign(raw=examples["raw"].str.slice(0, 80))


@dataclass(frozen=True)
class InjectionRecovery:
    """How the quarantine compares with the malformed records the world injected on purpose."""

    injected: int
    recovered: int  # injected records that were quarantined
    false_quarantines: int  # quarantined records that were not injected

    @property
    def recovered_share(self) -> float | None:
        """``recovered / injected``; ``None`` when nothing was injected."""
        return self.recovered / self.injected if self.injected else None


def injection_recovery(stage: IngestStageResult) -> InjectionRecovery | None:
    """Injected vs quarantined records, matched by ``(table, "<table>.jsonl:<line>")``;
    ``None`` for a source without injected records (MovieLens)."""
    if stage.world is None:
        return None
    quarantine = stage.result.quarantine
    found = set(zip(quarantine["table"], quarantine["source"])) if not quarantine.empty else set()
    expected = {(i.table, f"{i.table}.jsonl:{i.line}") for i in stage.injected}
    return InjectionRecovery(len(expected), len(found & expected), len(found - expected))


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


def activity_per_user(tables: dict[str, pd.DataFrame], event_type: str = "impression") -> pd.Series:
    """Events of ``event_type`` per user, for every accepted user (0 for users without any)."""
    events = tables["interactions"]
    counts = events.loc[events["event_type"] == event_type, "user_id"].value_counts()
    return counts.reindex(tables["users"]["user_id"], fill_value=0)


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


# ---------------------------------------------------------------------- the data profile
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


# ---------------------------------------------------------------------- figures
COHORT_COLOURS = {"mainstream": "#b5543c", "independent": "#3c6fb5", "unknown": "#555555"}


def plot_quarantine_reasons(by_reason: dict[str, int]) -> Figure:
    """Horizontal bars of quarantined records per reason (first reason of each record)."""
    fig, ax = plt.subplots(figsize=(7, 0.4 * max(3, len(by_reason)) + 1))
    if by_reason:
        series = pd.Series(by_reason).sort_values()
        ax.barh(series.index, series.to_numpy(), color="#b5543c")
        ax.set_title(f"Quarantine by reason: {series.sum():,} records (first reason of each record)")
    else:
        ax.text(0.5, 0.5, "no record was quarantined", ha="center", va="center", transform=ax.transAxes)
        ax.set_title("Quarantine by reason")
    ax.set_xlabel("quarantined records")
    fig.tight_layout()
    return fig


def plot_event_mix(tables: dict[str, pd.DataFrame], profile: DataProfile, delay_label: str = "") -> Figure:
    """What was logged, one panel per view that the source supports:

    events by item domain and event type (when there is more than one of either), the count of
    each rating value (when there are ratings) and the observed click-to-conversion delays per
    domain (when conversions can be matched to their clicks).
    """
    by_domain = interactions_by_domain(tables)
    delays = observed_conversion_delays(tables) if {"click", "conversion"} <= set(profile.events_by_type) else None
    panels: list[str] = []
    if by_domain.shape[0] > 1 or by_domain.shape[1] > 1 or profile.rating_counts is None:
        panels.append("domain")
    if profile.rating_counts is not None:
        panels.append("ratings")
    if delays is not None and len(delays):
        panels.append("delays")
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 3.4), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        if panel == "domain":
            by_domain.plot.bar(ax=ax, logy=True, rot=0)
            ax.set_ylabel("events (log scale)")
            ax.set_title("Interactions by item domain and event type")
        elif panel == "ratings":
            counts = profile.rating_counts
            assert counts is not None
            ax.bar([f"{value:g}" for value in counts.index], counts.to_numpy(), color="#3c6fb5")
            ax.set_xlabel("rating value")
            ax.set_ylabel("ratings")
            ax.set_title(f"Rating distribution: {counts.sum():,} ratings, mean {profile.mean_rating:.2f}")
        else:
            assert delays is not None
            for domain, group in delays.groupby("domain"):
                ax.hist(group["delay_days"], bins=60, range=(0, 15), histtype="step", label=str(domain), density=True)
            ax.set_xlabel("click-to-conversion delay (days)")
            ax.set_ylabel("density")
            ax.legend()
            ax.set_title(f"{len(delays):,} observed conversion delays{f' ({delay_label})' if delay_label else ''}")
    fig.tight_layout()
    return fig


def plot_long_tail(popularity: pd.DataFrame, profile: DataProfile) -> Figure:
    """Items by popularity rank (log-log), split by creator cohort when the source has cohorts."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for cohort, group in popularity.groupby("cohort", sort=True):
        label = f"{cohort} ({len(group):,} items)" if cohort != "unknown" else f"all items ({len(group):,})"
        ax.loglog(group["rank"], group["events"] + 1, ".", ms=3, alpha=0.6,
                  color=COHORT_COLOURS.get(str(cohort), "#555555"), label=label)
    ax.set_xlabel("item rank by popularity")
    ax.set_ylabel(f"{profile.event_type}s + 1 (log)")
    ax.legend()
    ax.set_title(f"Popularity long tail: the top 10% of items take {profile.top10pct_share:.1%} of "
                 f"{profile.event_type}s")
    fig.tight_layout()
    return fig


def plot_activity(profile: DataProfile) -> Figure:
    """Histogram of main events per active user (log bins); the title gives the medians over all
    users and over active users and the share of users without any event."""
    per_user = profile.events_per_user
    active = per_user[per_user > 0]
    fig, ax = plt.subplots(figsize=(7, 3.4))
    if len(active):
        ax.hist(active, bins=np.logspace(0, np.log10(active.max() + 1), 40), color="#3c6fb5")
    ax.set_xscale("log")
    ax.set_xlabel(f"{profile.event_type}s per user (users with ≥ 1; log scale)")
    ax.set_ylabel("users")
    name = f"{profile.event_type.capitalize()}s per user"
    if profile.users_without_events:
        title = (f"{name}: median {profile.median_per_user_all:g} over all {profile.n_users:,} users, "
                 f"{profile.median_per_user_active:g} over the {len(active):,} active;\n"
                 f"{profile.users_without_events:,} users ({profile.users_without_events_share:.1%}) have none")
    else:
        title = (f"{name}: every one of the {profile.n_users:,} users has at least {per_user.min():,};\n"
                 f"median {profile.median_per_user_all:g}, maximum {per_user.max():,}")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------- metrics and diagnostics
def ingest_metrics(stage: IngestStageResult, profile: DataProfile | None = None) -> dict[str, float | int | None]:
    """The headline numbers of ``metrics/ingest.json`` (ten, all numbers):

    ``records_in``, ``records_accepted``, ``records_quarantined``, ``quarantine_share``
    (quarantined / in), ``injected_recovered_share`` (injected malformed records that were
    quarantined / injected; ``None`` without injected records, e.g. MovieLens), ``users``,
    ``items``, ``interactions`` (accepted rows of every event type), ``density`` and
    ``top10pct_share`` (of the main event, see :class:`DataProfile`). Everything else goes to
    :func:`ingest_diagnostics`.
    """
    result = stage.result
    profile = profile or data_profile(result.tables)
    recovery = injection_recovery(stage)
    return {
        "records_in": result.records_in,
        "records_accepted": result.records_accepted,
        "records_quarantined": result.records_quarantined,
        "quarantine_share": result.records_quarantined / result.records_in if result.records_in else None,
        "injected_recovered_share": None if recovery is None else recovery.recovered_share,
        "users": profile.n_users,
        "items": profile.n_items,
        "interactions": profile.n_interactions,
        "density": profile.density,
        "top10pct_share": profile.top10pct_share,
    }


def ingest_diagnostics(stage: IngestStageResult, profile: DataProfile | None = None) -> dict[str, Any]:
    """Everything behind the metrics, for ``reports/diagnostics/ingest.json``: the source and
    store version, per-table counts, quarantine reasons, the injected-record check, the data
    profile, the world's ground-truth summary and the stage's timings (seconds)."""
    result = stage.result
    profile = profile or data_profile(result.tables)
    recovery = injection_recovery(stage)
    return {
        "source": stage.source,
        "store_version": stage.manifest.version,
        "tables": result.counts,
        "quarantine_by_reason": result.quarantine_by_reason(),
        "injected": None if recovery is None else asdict(recovery),
        "profile": profile.as_dict(),
        "world": None if stage.world is None else world_summary(stage.world),
        "seconds": dict(stage.seconds),
        "notes": [f"counts of users, items, pairs and the long tail use {profile.event_type} events",
                  "injected is null for sources without deliberately malformed records"],
    }


MOVIELENS_MIN_RATINGS_PER_USER = 20
"""Every MovieLens variant's README: each user has rated at least 20 movies."""


def ingest_conclusions(stage: IngestStageResult, profile: DataProfile, metrics: dict[str, Any]) -> str:
    """The notebook's conclusions as Markdown bullets, each computed from the numbers shown
    (and phrased so that it would read false if those numbers were different)."""
    result = stage.result
    event = profile.event_type
    balanced = result.records_in == result.records_accepted + result.records_quarantined
    lines = [f"- {result.records_in:,} raw records came in; {result.records_accepted:,} were accepted and "
             f"{result.records_quarantined:,} ({metrics['quarantine_share']:.2%}) quarantined, so records in = "
             f"accepted + quarantined {'holds' if balanced else 'FAILS'}."]
    by_reason = result.quarantine_by_reason()
    if by_reason:
        top_reason = max(by_reason, key=lambda reason: by_reason[reason])
        lines.append(f"- The most common reason is `{top_reason}` ({by_reason[top_reason]:,} of "
                     f"{result.records_quarantined:,} quarantined records).")
    recovery = injection_recovery(stage)
    if recovery is not None:
        share = recovery.recovered_share
        lines.append(f"- Of the {recovery.injected:,} malformed records the world injected, {recovery.recovered:,} "
                     f"({'n/a' if share is None else f'{share:.1%}'}) were quarantined, and "
                     f"{recovery.false_quarantines:,} records that were not injected were quarantined too.")
    else:
        lines.append(f"- Source `{stage.source}` has no injected records, so the quarantine cannot be checked "
                     "against a known list: its records are defects of the files themselves "
                     "(examples in section 5).")
    lines.append(f"- {profile.n_users:,} users and {profile.n_items:,} items; {profile.n_pairs:,} distinct "
                 f"(user, item) pairs with at least one {event} fill {profile.density:.2%} of the user × item matrix "
                 f"(sparsity {profile.sparsity:.2%}).")
    if profile.users_without_events:
        lines.append(f"- {profile.users_without_events:,} users ({profile.users_without_events_share:.1%}) have "
                     f"no {event}: the median is {profile.median_per_user_all:g} {event}s over all users but "
                     f"{profile.median_per_user_active:g} over the {profile.n_users - profile.users_without_events:,} "
                     f"active ones, so a statistic over active users alone overstates a typical user's activity.")
    else:
        lines.append(f"- Every user has at least one {event} (minimum {profile.events_per_user.min():,}); the median "
                     f"is {profile.median_per_user_all:g} {event}s per user.")
    if stage.source.startswith("movielens"):
        minimum = int(profile.events_per_user.min()) if profile.n_users else 0
        holds = minimum >= MOVIELENS_MIN_RATINGS_PER_USER
        lines.append(f"- The README's 'every user rated at least {MOVIELENS_MIN_RATINGS_PER_USER} movies' "
                     f"{'holds' if holds else 'does not hold'} for the ingested ratings (minimum {minimum}"
                     f"{'' if holds else ', after quarantine'}).")
    items_line = (f"- {profile.items_without_events:,} items ({profile.items_without_events_share:.1%}) have no {event}"
                  if profile.items_without_events else f"- Every item has at least one {event}")
    if profile.cold_items:
        items_line += f"; {profile.cold_items:,} of them were created after the last {event} (cold items)"
    lines.append(items_line + ".")
    if profile.items_with_events_before_creation:
        release = (" (for MovieLens it is the release date, or 1 January of the title's year)"
                   if stage.source.startswith("movielens") else "")
        lines.append(f"- {profile.items_with_events_before_creation:,} items have their first {event} before their "
                     "`created_at`: "
                     f"`created_at` is not when an item entered the catalogue{release}, so a point-in-time "
                     f"filter on it would hide real {event}s.")
    top10 = profile.top10pct_share
    lines.append(f"- The top 10% of items take {top10:.1%} of {event}s, {top10 / 0.1:.1f}× their share under "
                 f"uniform popularity: {'a long tail' if top10 > 0.2 else 'no marked long tail'}.")
    cohorts = cohort_table(popularity_by_cohort(result.tables, event))
    if cohorts is not None and {"mainstream", "independent"} <= set(cohorts.index):
        ratio = cohorts.loc["mainstream", "mean"] / cohorts.loc["independent", "mean"]
        lines.append(f"- A mainstream item gets {ratio:.1f}× the {event}s of an independent one on average "
                     f"({cohorts.loc['mainstream', 'mean']:.1f} vs {cohorts.loc['independent', 'mean']:.1f}).")
    if profile.rating_counts is not None and profile.mean_rating is not None:
        mode = profile.rating_counts.idxmax()
        lines.append(f"- The mean rating is {profile.mean_rating:.2f}; the most common value is {mode:g} "
                     f"({profile.rating_counts[mode] / profile.rating_counts.sum():.1%} of ratings).")
    if stage.world is not None:
        summary = world_summary(stage.world)
        lines.append(f"- Ground truth: the logging policy's click-through rate is {summary['click_through_rate']:.3f} "
                     f"per impression; {summary['conversion_rate_per_click']:.1%} of clicks convert and "
                     f"{summary['conversions_censored_share']:.1%} of conversions happen after the window closes, "
                     "so their labels are censored in the log.")
    return "\n".join(lines)


def metrics_table(metrics: dict[str, float | int | None]) -> pd.DataFrame:
    """The metrics as a (metric, value) table: counts with thousands separators, shares in %
    with two decimals, ``n/a`` for ``None``."""
    def text(name: str, value: float | int | None) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "n/a"
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return f"{value:,}"
        return f"{100 * value:.2f} %"
    return pd.DataFrame([(name, text(name, value)) for name, value in metrics.items()],
                        columns=["metric", "value"]).set_index("metric")


def world_summary(world: World) -> dict[str, Any]:
    """Ground-truth statistics of the synthetic world (what the raw logs were drawn from)."""
    logs = world.logs
    return {
        "n_users": world.n_users,
        "n_items": world.n_items,
        "n_cold_items": int(world.catalogue.is_cold.sum()),
        "n_requests": int(len(logs.user)),
        "n_impressions": int(logs.clicks.size),
        "n_sessions": int(len(np.unique(logs.session))),
        "click_through_rate": float(logs.clicks.mean()),
        "conversion_rate_per_click": float(logs.converted.mean()),
        "conversions_censored_share": float(1 - logs.conversion_observed.sum() / max(1, logs.converted.sum())),
        "logging_policy_value": world.logging_policy_value(),
        "min_logged_propensity": float(np.take_along_axis(logs.logging_marginals, logs.slate[:, None, :], 1).min()),
    }
