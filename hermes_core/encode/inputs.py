"""What the encode stage reads: the feature store's catalogue and feedback, and the truth.

Two sources, one shape (:class:`EncodeInputs`):

* ``world``: items are the store's ``assets`` (text, image file under ``raw/world``); the
  positives are the logged **clicks** on warm items before the training cut-off (the end of
  the logging window); the impressions feed the popularity baseline; cold items are the
  world's ``catalogue.is_cold`` (created after the window, so with no interaction at all);
  text queries come from the store's ``queries`` with their kind and graded relevance from
  the saved :class:`~hermes_core.world.World`.
* ``movielens-*``: items are movies with text and no image; a seeded share
  ``encode.split.movielens_cold_share`` of the rated movies is held out as *cold*
  (:func:`~.splits.movielens_cold_items`): all of their ratings leave the training data and
  become the evaluation's relevance. Positives are the ratings
  ``>= encode.split.movielens_positive_rating`` of warm movies. There are no queries.

Both read only the feature store (and, for the world, the saved world's truth); no source
file is parsed here. They read exactly the version the ingest stage wrote, which the store names
in ``data/store/CURRENT`` (:func:`pinned_version`), never whichever version looks newest.

Rows of every array are *item rows*: the position of an item in ``items.item_ids``
(sorted asset ids), never a raw id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hermes_core.data.store import CURRENT_FILE, FeatureStore, StoreError
from hermes_core.encode.splits import movielens_cold_items
from hermes_core.workspace import Workspace
from hermes_core.world import World, index_of

if TYPE_CHECKING:
    from hermes_core.params import HermesParams


@dataclass(frozen=True)
class ItemTable:
    """The catalogue as the encoders see it, one row per item (sorted by id)."""

    item_ids: np.ndarray  # (n_items,) str
    domain: np.ndarray  # (n_items,) str
    creator: np.ndarray  # (n_items,) str
    genre: np.ndarray  # (n_items,) str, "" where unknown
    texts: list[str | None]  # None where the asset has no text
    image_paths: list[str | None]  # absolute path, None where the asset has no image
    is_cold: np.ndarray  # (n_items,) bool: no interaction in the training data

    def __len__(self) -> int:
        return len(self.item_ids)

    def rows_of(self, ids: pd.Series | np.ndarray) -> np.ndarray:
        """Item rows of asset ids (``-1`` for ids not in the catalogue)."""
        lookup = pd.Index(self.item_ids)
        return lookup.get_indexer(np.asarray(ids, dtype=object))


@dataclass(frozen=True)
class EncodeInputs:
    """Catalogue, training feedback and evaluation truth of one source."""

    source: str
    items: ItemTable
    positives: pd.DataFrame  # user_id, item_row, timestamp: warm training positives
    exposures: pd.DataFrame  # item_row: one row per logged exposure of a warm item
    exposure_kind: str  # "impression" (world) or "rating" (MovieLens)
    world: World | None = None
    world_item_index: np.ndarray | None = None  # (n_items,) index of each item in the world
    queries: pd.DataFrame = field(default_factory=pd.DataFrame)  # query_id, text, kind, world_index
    heldout_ratings: pd.DataFrame = field(default_factory=pd.DataFrame)  # user_id, item_row, rating

    @property
    def cold_rows(self) -> np.ndarray:
        return np.flatnonzero(self.items.is_cold)

    @property
    def warm_rows(self) -> np.ndarray:
        return np.flatnonzero(~self.items.is_cold)


def _text_or_none(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value
    return None


def _item_table(assets: pd.DataFrame, image_root: Path | None, is_cold: np.ndarray) -> ItemTable:
    image_paths = [
        str(image_root / uri) if image_root is not None and isinstance(uri, str) and uri else None
        for uri in assets["image_uri"]
    ]
    genre = assets["genre"].astype(object).where(assets["genre"].notna(), "") if "genre" in assets else ""
    return ItemTable(
        item_ids=assets["asset_id"].to_numpy(dtype=object),
        domain=assets["domain"].to_numpy(dtype=object),
        creator=assets["creator_id"].to_numpy(dtype=object),
        genre=np.asarray(genre, dtype=object),
        texts=[_text_or_none(text) for text in assets["text_content"]],
        image_paths=image_paths,
        is_cold=np.asarray(is_cold, dtype=bool),
    )


def load_world_inputs(store: FeatureStore, world: World, image_root: Path, version: str) -> EncodeInputs:
    """Catalogue, warm clicks before the cut-off, impressions and queries of the world, from
    ``version`` of the store.

    Raises ``ValueError`` when a cold item has a logged interaction (the world promises none).
    """
    assets = store.read_table("assets", version).sort_values("asset_id", kind="stable").reset_index(drop=True)
    world_index = np.array([index_of(asset) for asset in assets["asset_id"]], dtype=np.int64)
    is_cold = world.catalogue.is_cold[world_index]
    items = _item_table(assets, image_root, is_cold)
    events = store.read_table("interactions", version)
    cutoff = pd.Timestamp(world.log_end)
    events = events[events["timestamp"] < cutoff]
    rows = items.rows_of(events["item_id"])
    events = events.assign(item_row=rows)[rows >= 0]
    on_cold = events[items.is_cold[events["item_row"].to_numpy()]]
    if len(on_cold):
        raise ValueError(
            f"interactions: {len(on_cold)} events on cold items before the cut-off, "
            f"e.g. {on_cold['item_id'].iloc[0]} ({on_cold['event_type'].iloc[0]})"
        )
    clicks = events[events["event_type"] == "click"]
    positives = clicks[["user_id", "item_row", "timestamp"]].sort_values(
        ["user_id", "timestamp", "item_row"], kind="stable"
    ).reset_index(drop=True)
    exposures = events.loc[events["event_type"] == "impression", ["item_row"]].reset_index(drop=True)
    queries = store.read_table("queries", version).sort_values("query_id", kind="stable").reset_index(drop=True)
    query_index = np.array([index_of(query) for query in queries["query_id"]], dtype=np.int64)
    queries = pd.DataFrame(
        {
            "query_id": queries["query_id"].to_numpy(dtype=object),
            "text": queries["text"].to_numpy(dtype=object),
            "kind": np.array([world.queries.kind[q] for q in query_index], dtype=object),
            "world_index": query_index,
        }
    )
    return EncodeInputs(
        source="world",
        items=items,
        positives=positives,
        exposures=exposures,
        exposure_kind="impression",
        world=world,
        world_item_index=world_index,
        queries=queries,
    )


def load_movielens_inputs(
    store: FeatureStore, source: str, cold_share: float, positive_rating: float, seed: int, version: str
) -> EncodeInputs:
    """Movies, a seeded cold split of the rated movies, and the positives of the warm ones, from
    ``version`` of the store.

    The cold movies are :func:`~.splits.movielens_cold_items` of the movies with at least one
    rating; all of their ratings are held out (``heldout_ratings``) and none is used in training.
    """
    assets = store.read_table("assets", version).sort_values("asset_id", kind="stable").reset_index(drop=True)
    ratings = store.read_table("interactions", version)
    ratings = ratings[ratings["event_type"] == "rating"]
    n_items = len(assets)
    provisional = _item_table(assets, None, np.zeros(n_items, dtype=bool))
    rows = provisional.rows_of(ratings["item_id"])
    ratings = ratings.assign(item_row=rows)[rows >= 0]
    is_cold = movielens_cold_items(np.unique(ratings["item_row"].to_numpy()), n_items, cold_share, seed)
    items = _item_table(assets, None, is_cold)
    on_cold = is_cold[ratings["item_row"].to_numpy()]
    training, heldout = ratings[~on_cold], ratings[on_cold]
    positives = training.loc[training["value"] >= positive_rating, ["user_id", "item_row", "timestamp"]]
    positives = positives.sort_values(["user_id", "timestamp", "item_row"], kind="stable").reset_index(drop=True)
    return EncodeInputs(
        source=source,
        items=items,
        positives=positives,
        exposures=training[["item_row"]].reset_index(drop=True),
        exposure_kind="rating",
        heldout_ratings=heldout[["user_id", "item_row", "value"]]
        .rename(columns={"value": "rating"})
        .reset_index(drop=True),
    )


def pinned_version(store: FeatureStore) -> str:
    """The version the ingest stage wrote: the one ``<store>/CURRENT`` names.

    Raises ``FileNotFoundError`` naming that file when it is missing or names no stored version.
    """
    try:
        return store.current()
    except StoreError as error:
        raise FileNotFoundError(
            f"{store.root / CURRENT_FILE} does not name a stored version to read ({error}); "
            "run the ingest stage (python -m hermes_core.runner 01_ingest, with the same "
            "HERMES_OUTPUT_ROOT), which writes it"
        ) from error


def load_inputs(params: HermesParams, workspace: Workspace) -> EncodeInputs:
    """The encode stage's inputs for ``params.data.source`` from the store version the ingest
    stage wrote (:func:`pinned_version`).

    Raises ``FileNotFoundError`` naming the folder when the ingest stage has not run there, and
    naming ``data/store/CURRENT`` when the store does not say which version ingest wrote.
    """
    if not workspace.store.is_dir() or not any(workspace.store.iterdir()):
        raise FileNotFoundError(
            f"no feature store under {workspace.store}: run the ingest stage first "
            "(python -m hermes_core.runner 01_ingest, with the same HERMES_OUTPUT_ROOT)"
        )
    store = FeatureStore(workspace.store)
    version = pinned_version(store)
    if params.data.source == "world":
        world = World.load(workspace.world)
        return load_world_inputs(store, world, workspace.raw / "world", version)
    return load_movielens_inputs(
        store,
        params.data.source,
        params.encode.split.movielens_cold_share,
        params.encode.split.movielens_positive_rating,
        params.encode.seed,
        version,
    )
