"""Every logged click of the world in time order, with the per-user histories a recommender may see.

A request's *history* is what its user clicked strictly before it (all sessions, oldest first);
its *session history* is the clicks of its own session before it. Both are observable (the raw
click events carry user, item, time, request and session), so every stage may build features
from them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hermes_core.world.simulate import Logs


@dataclass(frozen=True, eq=False)
class ClickLog:
    """Every logged click in time order: ``user``, ``item`` (world index), ``time`` (seconds),
    ``request`` and ``session``."""

    user: np.ndarray
    item: np.ndarray
    time: np.ndarray
    request: np.ndarray
    session: np.ndarray

    @classmethod
    def of(cls, logs: Logs) -> ClickLog:
        rows, positions = np.nonzero(logs.clicks)
        items = logs.candidates[rows, logs.slate[rows, positions]]
        times = logs.click_time[rows, positions]
        order = np.lexsort((positions, rows, times))
        return cls(user=logs.user[rows][order], item=items[order].astype(np.int64), time=times[order],
                   request=rows[order], session=logs.session[rows][order])  # fmt: skip

    def before(self, user: int, seconds: float) -> np.ndarray:
        """Items ``user`` clicked strictly before ``seconds``, oldest first."""
        mine = (self.user == user) & (self.time < seconds)
        return self.item[mine]

    def sequences_before(self, seconds: float) -> dict[int, np.ndarray]:
        """Each user's clicks strictly before ``seconds``, oldest first."""
        kept = self.time < seconds
        frame = pd.DataFrame({"user": self.user[kept], "item": self.item[kept]})
        return {int(user): group["item"].to_numpy() for user, group in frame.groupby("user", sort=True)}

    def session_before(self, session: int, seconds: float) -> np.ndarray:
        """Items clicked in ``session`` strictly before ``seconds``, oldest first."""
        mine = (self.session == session) & (self.time < seconds)
        return self.item[mine]


__all__ = ["ClickLog"]
