"""A workspace holding the shared tiny world and hand-made rank and encode outputs for it.

The rank stage's ``scores.parquet`` is built here, not read: for each of a few logged requests, a
seeded sample of the catalogue in a seeded order, scores descending; the encode stage's table gives
every item but the last two a random vector (those two get none, as an item the encoder skipped).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hermes_core.workspace import Workspace
from hermes_core.world import World

N_LISTS = 12
N_CANDIDATES = 30


def write_workspace(world: World, root: Path, *, n_lists: int = N_LISTS, short_list: bool = False,
                    wrong_user: bool = False) -> Workspace:
    """``root/data/{world,rank,encode}`` for ``world``; ``short_list`` makes the last list 3 long,
    ``wrong_user`` names another user for the first key."""
    rng = np.random.default_rng(11)
    world.save(root / "data" / "world")
    requests = np.sort(rng.choice(len(world.logs.user), size=n_lists, replace=False))
    rows = []
    for number, request in enumerate(requests):
        length = 3 if short_list and number == n_lists - 1 else N_CANDIDATES
        items = rng.choice(world.n_items, size=length, replace=False)
        scores = np.sort(rng.normal(size=length))[::-1]
        user = int(world.logs.user[request])
        if wrong_user and number == 0:
            user = (user + 1) % world.n_users
        for rank, (item, score) in enumerate(zip(items, scores), start=1):
            rows.append({"key": f"r{request}", "user_id": world.user_ids[user], "item_id": world.item_ids[int(item)],
                         "retrieve_rank": rank, "pre_rank_score": float(score), "score": float(score), "rank": rank})
    (root / "data" / "rank").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(root / "data" / "rank" / "scores.parquet", index=False)
    vectors = rng.normal(size=(world.n_items - 2, 8)).astype(np.float32)
    table = pa.table({"item_id": world.item_ids[: world.n_items - 2],
                      "fused_item_vector": pa.array(list(vectors), type=pa.list_(pa.float32(), 8))})
    (root / "data" / "encode").mkdir(parents=True, exist_ok=True)
    pq.write_table(table, root / "data" / "encode" / "embeddings.parquet")
    return Workspace(root)
