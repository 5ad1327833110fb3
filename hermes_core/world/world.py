"""The synthetic world as one object: generation, persistence and the ground-truth API.

``World.generate(params)`` is a pure function of the parameters: the same seed gives the
same arrays, files and bytes. Each component draws from its own child of
``SeedSequence(seed)`` (creators, items, users, scales, logs, queries, images, corruption,
graph, conversions), so resizing one component does not reshuffle the others' draws; a new
component appends its stream at the end, which leaves every earlier child unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hermes_core.world.params import DOMAINS, WorldParams
from hermes_core.world.components import affinity_components
from hermes_core.world.catalogue import SECONDS_PER_DAY, Catalogue, Creators, generate_catalogue, generate_creators
from hermes_core.world.conversions import ConversionStream, ObservedLabels, generate_conversion_stream
from hermes_core.world.population import Users, generate_users
from hermes_core.world.preferences import (
    PreferenceScales,
    affinity_matrix,
    attractiveness,
    content_vectors,
    conversion_probability,
    examination,
    fit_scales,
    grade,
    pair_affinity,
)
from hermes_core.world.queries import Queries, collaboration_edges, constraint_mask, generate_queries
from hermes_core.world.simulate import Logs, simulate_logs
from hermes_core.world import truth

SEED_STREAMS: tuple[str, ...] = (
    "creators", "items", "users", "scales", "logs", "queries", "images", "corruption", "graph", "spare",
    "conversions",
)


CONVERSIONS_FILE = "conversions.npz"


def seed_streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent generator per world component, all derived from ``seed``."""
    children = np.random.SeedSequence(seed).spawn(len(SEED_STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(SEED_STREAMS, children)}


def item_id(index: int) -> str:
    return f"w:item:{index:06d}"


def user_id(index: int) -> str:
    return f"w:user:{index:06d}"


def creator_id(index: int) -> str:
    return f"w:creator:{index:05d}"


def index_of(identifier: str) -> int:
    """The integer index inside a world id such as ``w:item:000042``."""
    return int(identifier.rsplit(":", 1)[1])


@dataclass
class World:
    """Everything the simulator knows, including what no recommender may see."""

    params: WorldParams
    creators: Creators
    catalogue: Catalogue
    users: Users
    scales: PreferenceScales
    logs: Logs
    queries: Queries
    collaborations: np.ndarray  # (n_edges, 2) creator pairs
    conversions: ConversionStream  # the delayed-feedback stage's click-to-conversion stream

    # ------------------------------------------------------------------ construction
    @classmethod
    def generate(cls, params: WorldParams) -> World:
        rngs = seed_streams(params.seed)
        creators = generate_creators(params, rngs["creators"])
        catalogue = generate_catalogue(params, creators, rngs["items"])
        users = generate_users(params, rngs["users"])
        scales = fit_scales(params, users, catalogue, rngs["scales"])
        logs = simulate_logs(params, users, catalogue, scales, content_vectors(catalogue), rngs["logs"])
        queries = generate_queries(params, catalogue, creators, rngs["queries"])
        collaborations = collaboration_edges(creators, rngs["graph"])
        conversions = generate_conversion_stream(params, users, catalogue, scales, rngs["conversions"])
        return cls(params, creators, catalogue, users, scales, logs, queries, collaborations, conversions)

    # ------------------------------------------------------------------ time
    @property
    def start(self) -> datetime:
        return datetime.fromisoformat(self.params.start_date).replace(tzinfo=timezone.utc)

    @property
    def log_end(self) -> datetime:
        """End of the logging window: the training cut-off and the labels' observation time."""
        return self.start + timedelta(days=self.params.log_days)

    @property
    def end(self) -> datetime:
        """The world's 'now': the last cold item is created before it."""
        return self.log_end + timedelta(days=self.params.cold_window_days)

    def to_datetime(self, seconds: float) -> datetime:
        return self.start + timedelta(seconds=float(seconds))

    # ------------------------------------------------------------------ ids
    @property
    def n_items(self) -> int:
        return len(self.catalogue.domain)

    @property
    def n_users(self) -> int:
        return len(self.users.activity)

    @property
    def item_ids(self) -> list[str]:
        return [item_id(i) for i in range(self.n_items)]

    @property
    def user_ids(self) -> list[str]:
        return [user_id(u) for u in range(self.n_users)]

    # ------------------------------------------------------------------ ground truth
    def affinity(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        """Static affinity matrix ``s(u, i)``: (len(user_idx), n_items or len(item_idx))."""
        return affinity_matrix(self.scales, self.users, self.catalogue, np.asarray(user_idx), item_idx)

    def affinity_components(self, user: int, item_idx: np.ndarray | int | None = None,
                            history: Sequence[int] | None = None) -> pd.DataFrame:
        """The named parts of ``user``'s affinity for each item (every item by default), summing
        exactly to :meth:`affinity` plus the history term
        (:func:`~hermes_core.world.components.affinity_components`)."""
        items = np.arange(self.n_items) if item_idx is None else np.atleast_1d(np.asarray(item_idx))
        return affinity_components(self.params, self.scales, self.users, self.catalogue, int(user), items, history)

    def contextual_affinity(self, user: int, history: Sequence[int] | np.ndarray | None,
                            items: np.ndarray | Sequence[int] | None = None) -> np.ndarray:
        """Continuous affinity ``s(u, i | h) = s(u, i) + b(h, i)`` of ``user`` for ``items`` (the whole
        catalogue by default) after ``history`` (item indices in the order consumed, most recent
        last); exactly :meth:`affinity` for an empty history. Today only the last item acts:
        ``b(h, i) = kappa ((cos(x_last, x_i) - mu) / sigma + 1[same creator])``
        (:mod:`hermes_core.world.truth`)."""
        items = np.arange(self.n_items) if items is None else np.atleast_1d(np.asarray(items))
        return truth.contextual_affinity(self.params, self.scales, self.users, self.catalogue, int(user), history, items)

    def contextual_relevance(self, user: int, history: Sequence[int] | np.ndarray | None,
                             items: np.ndarray | Sequence[int] | None = None) -> np.ndarray:
        """True graded relevance 0..4 of ``items`` after ``history``: :meth:`contextual_affinity` cut
        at the world's thresholds, as the simulator grades the logged candidates."""
        return grade(self.scales, self.contextual_affinity(user, history, items))

    def ranking_click_probabilities(self, user: int, ranking: np.ndarray | Sequence[int],
                                    history: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """``P(click)`` at each position of ``ranking`` ((K,) or (n, K) item indices, top first) under the
        position-based model: ``theta_k attr(g_k)`` with the contextual grade ``g_k``
        (:func:`~hermes_core.world.truth.position_click_probabilities`)."""
        return truth.position_click_probabilities(self.params, self.scales, self.users, self.catalogue,
                                                  int(user), ranking, history)

    def expected_clicks(self, user: int, ranking: np.ndarray | Sequence[int],
                        history: Sequence[int] | np.ndarray | None = None) -> float | np.ndarray:
        """Expected number of clicks ``sum_k theta_k attr(g_k)`` on ``ranking`` (a float; one per row
        for an (n, K) array of rankings), Craswell et al. (2008) position-based model."""
        expected = self.ranking_click_probabilities(user, ranking, history).sum(axis=-1)
        return float(expected) if np.ndim(expected) == 0 else expected

    def simulate_clicks(self, user: int, ranking: np.ndarray | Sequence[int],
                        history: Sequence[int] | np.ndarray | None = None, *,
                        rng: np.random.Generator | int, n: int = 1) -> np.ndarray:
        """``n`` simulated click vectors on ``ranking``: (n, *ranking.shape) bool, Bernoulli draws of
        :meth:`ranking_click_probabilities` from the caller's generator or seed ``rng`` (never the
        world's own streams)."""
        return truth.simulate_clicks(self.ranking_click_probabilities(user, ranking, history), rng, n)

    def relevance(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        """True graded relevance 0..4 for every (user, item) pair of the two index lists."""
        return grade(self.scales, self.affinity(user_idx, item_idx))

    def pair_relevance(self, user_idx: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
        """True graded relevance of aligned (user, item) pairs."""
        return grade(self.scales, pair_affinity(self.scales, self.users, self.catalogue,
                                                np.asarray(user_idx), np.asarray(item_idx)))

    def click_probability(self, user_idx: np.ndarray, item_idx: np.ndarray, position: np.ndarray) -> np.ndarray:
        """``P(click)`` of aligned (user, item, position) triples without session context."""
        rel = self.pair_relevance(user_idx, item_idx)
        return examination(self.params, position) * attractiveness(self.params, rel)

    def conversion_probability(self, user_idx: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
        """``P(convert | click)`` of aligned (user, item) pairs without session context."""
        rel = self.pair_relevance(user_idx, item_idx)
        return conversion_probability(self.params, self.scales, self.catalogue, np.asarray(item_idx), rel)

    def candidate_click_probabilities(self) -> np.ndarray:
        """``q(r, a, k) = P(click | request r, candidate a, position k)``: (n_req, C, K)."""
        theta = examination(self.params, np.arange(self.params.slate_size))
        attr = attractiveness(self.params, self.logs.candidate_relevance)
        return attr[:, :, None] * theta[None, None, :]

    def policy_value(self, action_dist: np.ndarray, requests: np.ndarray | None = None) -> float:
        """True value of a slate policy on the logged requests: expected clicks per impression.

        .. math:: V(\\pi) = \\frac{1}{nK}\\sum_r \\sum_k \\sum_a \\pi(a \\mid r, k)\\, q(r, a, k)

        ``action_dist``: (n_req, C, K) marginal probabilities of each candidate at each
        position (over the requests in ``requests`` if given).
        """
        q = self.candidate_click_probabilities()
        if requests is not None:
            q = q[np.asarray(requests)]
        if action_dist.shape != q.shape:
            raise ValueError(f"action_dist has shape {action_dist.shape}, expected {q.shape}")
        return float(np.mean(np.sum(action_dist * q, axis=1)))

    def logging_policy_value(self) -> float:
        return self.policy_value(self.logs.logging_marginals)

    def conversion_labels_at(self, t_days: float | None = None) -> ObservedLabels:
        """The conversion stream's labels observable at ``t_days`` (default: its cut-off)."""
        return self.conversions.labels_at(t_days)

    def fake_negative_share(self, t_days: float | None = None) -> float:
        """Share of the stream's clicks observed negative at ``t_days`` that will convert (counted)."""
        return self.conversions.fake_negative_share(t_days)

    def query_relevance(self, query_index: int) -> np.ndarray:
        """Graded relevance 0..3 of every item to a query.

        Constraint queries: 3 if every constraint holds, else 0. Visual and content queries:
        the item's match ``target . latent`` cut at the catalogue's 70th, 90th and 97th
        percentiles (grades 1, 2, 3), restricted to the query's domain when it names one.
        """
        kind = self.queries.kind[query_index]
        spec = json.loads(self.queries.constraints[query_index])
        if kind == "constraint":
            return np.where(constraint_mask(spec, self.catalogue, self.creators), 3, 0).astype(np.int8)
        if kind == "visual":
            match = self.catalogue.visual_latent @ self.queries.target_visual[query_index]
        else:
            match = self.catalogue.text_latent @ self.queries.target_text[query_index]
        cuts = np.quantile(match, [0.7, 0.9, 0.97])
        grades = np.searchsorted(cuts, match, side="right").astype(np.int8)
        if "domain" in spec:
            grades = np.where(self.catalogue.domain == DOMAINS.index(spec["domain"]), grades, 0).astype(np.int8)
        return grades

    # ------------------------------------------------------------------ persistence
    def save(self, folder: str | Path) -> Path:
        """Write ``world.npz`` (arrays), ``world.json`` (parameters, scales, texts) and ``conversions.npz``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {}
        texts: dict[str, Any] = {}
        for prefix, part in (("creators", self.creators), ("catalogue", self.catalogue), ("users", self.users),
                             ("logs", self.logs), ("queries", self.queries)):
            for f in fields(part):
                value = getattr(part, f.name)
                if isinstance(value, np.ndarray):
                    arrays[f"{prefix}.{f.name}"] = value
                else:
                    texts[f"{prefix}.{f.name}"] = list(value)
        arrays["collaborations"] = self.collaborations
        np.savez_compressed(folder / "world.npz", **arrays)
        meta = {"params": self.params.model_dump(mode="json"), "scales": asdict(self.scales), "texts": texts}
        (folder / "world.json").write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")
        self.conversions.save(folder / CONVERSIONS_FILE)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> World:
        """Read a saved world; a folder saved before the conversion stream existed regenerates it.

        The stream is a pure function of the parameters, users, catalogue and scales (its own
        seed stream), so regenerating it gives the arrays ``generate`` would have saved.
        """
        folder = Path(folder)
        if not (folder / "world.npz").is_file():
            raise FileNotFoundError(f"no saved world in {folder} (expected world.npz and world.json)")
        meta = json.loads((folder / "world.json").read_text(encoding="utf-8"))
        with np.load(folder / "world.npz") as npz:
            arrays = {key: npz[key] for key in npz.files}

        def build(kind: type, prefix: str) -> Any:
            values = {}
            for f in fields(kind):
                key = f"{prefix}.{f.name}"
                values[f.name] = arrays[key] if key in arrays else tuple(meta["texts"][key])
            return kind(**values)

        scales = meta["scales"]
        scales["thresholds"] = tuple(scales["thresholds"])
        params = WorldParams.model_validate(meta["params"])
        users, catalogue = build(Users, "users"), build(Catalogue, "catalogue")
        preference_scales = PreferenceScales(**scales)
        if (folder / CONVERSIONS_FILE).is_file():
            conversions = ConversionStream.load(folder / CONVERSIONS_FILE)
        else:
            conversions = generate_conversion_stream(params, users, catalogue, preference_scales,
                                                     seed_streams(params.seed)["conversions"])
        return cls(
            params=params,
            creators=build(Creators, "creators"),
            catalogue=catalogue,
            users=users,
            scales=preference_scales,
            logs=build(Logs, "logs"),
            queries=build(Queries, "queries"),
            collaborations=arrays["collaborations"],
            conversions=conversions,
        )


def seconds_to_days(seconds: np.ndarray) -> np.ndarray:
    return np.asarray(seconds) / SECONDS_PER_DAY
