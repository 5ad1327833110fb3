"""The synthetic world as one object: generation, persistence and the ground-truth API.

``World.generate(params)`` is a pure function of the parameters: the same seed gives the
same arrays, files and bytes. Each component draws from its own child of
``SeedSequence(seed)`` (creators, items, users, scales, logs, queries, images, corruption,
graph, conversions, dynamics, injections), so resizing one component does not reshuffle the
others' draws (the injections stream serves the descriptions first and the queries next, so the
number of items also decides which queries carry an instruction); a new component appends its
stream at the end, which leaves every earlier child unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hermes_core.world.params import DOMAINS, WorldParams
from hermes_core.world.components import affinity_components
from hermes_core.world.catalogue import SECONDS_PER_DAY, Catalogue, Creators, generate_catalogue, generate_creators
from hermes_core.world.conversions import ConversionStream, ObservedLabels, generate_conversion_stream
from hermes_core.world.dynamics import Dynamics, generate_dynamics
from hermes_core.world.injections import inject_instructions
from hermes_core.world.population import Users, generate_users
from hermes_core.world.preferences import (
    PreferenceScales,
    SessionContext,
    TasteModel,
    affinity_matrix,
    attractiveness,
    carried_creator_taste,
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
    "conversions", "dynamics", "injections",
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
    dynamics: Dynamics  # series and genre transitions (hermes_core.world.dynamics)

    # ------------------------------------------------------------------ construction
    @classmethod
    def generate(cls, params: WorldParams) -> World:
        rngs = seed_streams(params.seed)
        creators = generate_creators(params, rngs["creators"])
        catalogue = generate_catalogue(params, creators, rngs["items"])
        descriptions, injected = inject_instructions(catalogue.descriptions, params.injection_share, rngs["injections"])
        catalogue = replace(catalogue, descriptions=descriptions, injected=injected)
        users = generate_users(params, rngs["users"])
        collaborations = collaboration_edges(creators, rngs["graph"], params.collaboration_style_bias)
        dynamics = generate_dynamics(catalogue, len(DOMAINS), rngs["dynamics"])
        creator_taste = carried_creator_taste(creators, collaborations, params.collaborator_taste_carry)
        scales = fit_scales(params, users, catalogue, creator_taste, dynamics, rngs["scales"])
        model = TasteModel(params, scales, users, catalogue, creator_taste, dynamics)
        logs = simulate_logs(model, rngs["logs"])
        queries = generate_queries(params, catalogue, creators, rngs["queries"])
        query_texts, query_injected = inject_instructions(queries.text, params.injection_share, rngs["injections"])
        queries = replace(queries, text=query_texts, injected=query_injected)
        conversions = generate_conversion_stream(model, rngs["conversions"])
        return cls(params, creators, catalogue, users, scales, logs, queries, collaborations, conversions, dynamics)

    def with_similarity_fatigue(self, phi: float) -> World:
        """The same world (users, items, truth, logs) whose click model, for every *new* log and
        question to the truth, has similarity fatigue ``phi``; 0 makes it the position-based model
        the position-wise off-policy estimators and :meth:`policy_value` assume."""
        if phi == self.params.similarity_fatigue:
            return self
        return replace(self, params=self.params.model_copy(update={"similarity_fatigue": float(phi)}))

    def with_click_model(self, name: str, stop_probability: float | None = None) -> World:
        """The same world (users, items, truth, logs) whose click model, for every *new* log and
        question to the truth, is ``name`` (``position-based`` or ``cascade``, :mod:`hermes_core.world.truth`)
        with the stop probability ``stop_probability`` after a click (None: the world's own
        ``cascade_stop_probability``; it acts only under ``cascade``). The logs already drawn stay
        as they are: :func:`~hermes_core.world.policies.resimulate` draws new ones."""
        stop = self.params.cascade_stop_probability if stop_probability is None else stop_probability
        if name == self.params.click_model and stop == self.params.cascade_stop_probability:
            return self
        if name not in truth.CLICK_MODELS:
            raise ValueError(f"click_model must be one of {truth.CLICK_MODELS}, got {name!r}")
        if isinstance(stop, bool) or not 0.0 <= float(stop) <= 1.0:
            raise ValueError(f"stop_probability must lie in [0, 1], got {stop!r}")
        update = {"click_model": name, "cascade_stop_probability": float(stop)}
        return replace(self, params=self.params.model_copy(update=update))

    @property
    def model(self) -> TasteModel:
        """Everything the truth's formulas read (:class:`~hermes_core.world.preferences.TasteModel`)."""
        cached = self.__dict__.get("_model")
        if cached is None:
            taste = carried_creator_taste(self.creators, self.collaborations, self.params.collaborator_taste_carry)
            cached = TasteModel(self.params, self.scales, self.users, self.catalogue, taste, self.dynamics)
            self.__dict__["_model"] = cached
        return cached

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
        return affinity_matrix(self.model, np.asarray(user_idx), item_idx)

    def affinity_components(self, user: int, item_idx: np.ndarray | int | None = None,
                            history: Sequence[int] | None = None,
                            context: SessionContext | None = None) -> pd.DataFrame:
        """The named parts of ``user``'s affinity for each item (every item by default), summing
        exactly to :meth:`contextual_affinity` (:func:`~hermes_core.world.components.affinity_components`)."""
        items = np.arange(self.n_items) if item_idx is None else np.atleast_1d(np.asarray(item_idx))
        return affinity_components(self.model, int(user), items, history, context)

    def contextual_affinity(self, user: int, history: Sequence[int] | np.ndarray | None,
                            items: np.ndarray | Sequence[int] | None = None,
                            context: SessionContext | None = None) -> np.ndarray:
        """Continuous affinity ``s(u, i | h, x)`` of ``user`` for ``items`` (the whole catalogue by
        default) after ``history`` (item indices in the order consumed, most recent last) in the
        session ``context`` (:meth:`SessionContext.single`; None: neutral); exactly :meth:`affinity`
        for an empty history and a neutral context (:mod:`hermes_core.world.truth`)."""
        items = np.arange(self.n_items) if items is None else np.atleast_1d(np.asarray(items))
        return truth.contextual_affinity(self.model, int(user), history, items, context)

    def contextual_relevance(self, user: int, history: Sequence[int] | np.ndarray | None,
                             items: np.ndarray | Sequence[int] | None = None,
                             context: SessionContext | None = None) -> np.ndarray:
        """True graded relevance 0..4 of ``items`` after ``history``: :meth:`contextual_affinity` cut
        at the world's thresholds, as the simulator grades the logged candidates."""
        return grade(self.scales, self.contextual_affinity(user, history, items, context))

    def ranking_click_probabilities(self, user: int, history: Sequence[int] | np.ndarray | None,
                                    ranking: np.ndarray | Sequence[int],
                                    context: SessionContext | None = None) -> np.ndarray:
        """``P(C_k = 1)`` at each position of ``ranking`` ((K,) or (n, K) item indices, top first) shown
        after ``history`` (None or empty: none) in ``context`` under the world's click model:
        ``p_k = theta_k attr(g~_k) f_k`` (continuous grade, similarity fatigue) when position-based,
        ``p_k prod_{j<k} (1 - s p_j)`` under the cascade
        (:func:`~hermes_core.world.truth.position_click_probabilities`)."""
        return truth.position_click_probabilities(self.model, int(user), ranking, history, context)

    def expected_clicks(self, user: int, history: Sequence[int] | np.ndarray | None,
                        ranking: np.ndarray | Sequence[int],
                        context: SessionContext | None = None) -> float | np.ndarray:
        """Expected number of clicks ``sum_k P(C_k = 1)`` on ``ranking`` after ``history`` under the
        world's click model (a float; one per row for an (n, K) array of rankings); the argument
        order of :meth:`contextual_relevance` (user, history, items)."""
        expected = self.ranking_click_probabilities(user, history, ranking, context).sum(axis=-1)
        return float(expected) if np.ndim(expected) == 0 else expected

    def simulate_clicks(self, user: int, history: Sequence[int] | np.ndarray | None,
                        ranking: np.ndarray | Sequence[int], *, rng: np.random.Generator | int, n: int = 1,
                        context: SessionContext | None = None) -> np.ndarray:
        """``n`` simulated click vectors on ``ranking``: (n, *ranking.shape) bool, drawn under the
        world's click model (independent Bernoulli draws of every position, or the cascade's reading
        top down with its stop decisions: :func:`~hermes_core.world.truth.draw_clicks`) from the
        caller's generator or seed ``rng`` (never the world's own streams); their mean tends to
        :meth:`ranking_click_probabilities`."""
        active = truth.ranking_active_click_probabilities(self.model, int(user), ranking, history, context)
        return truth.simulate_clicks(active, rng, n, truth.stop_probability(self.params))

    def relevance(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        """True static graded relevance 0..4 for every (user, item) pair of the two index lists."""
        return grade(self.scales, self.affinity(user_idx, item_idx))

    def pair_relevance(self, user_idx: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
        """True static graded relevance of aligned (user, item) pairs."""
        return grade(self.scales, pair_affinity(self.model, np.asarray(user_idx), np.asarray(item_idx)))

    def click_probability(self, user_idx: np.ndarray, item_idx: np.ndarray, position: np.ndarray) -> np.ndarray:
        """``P(click)`` of aligned (user, item, position) triples without session context or fatigue:
        ``theta_k attr(g~)``, under the cascade the click probability of a user still reading at
        that position (as no item above her was clicked, for instance)."""
        affinity = pair_affinity(self.model, np.asarray(user_idx), np.asarray(item_idx))
        return examination(self.params, position) * attractiveness(self.params, truth.continuous_grade(self.model, affinity))

    def conversion_probability(self, user_idx: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
        """``P(convert | click)`` of aligned (user, item) pairs without session context."""
        rel = self.pair_relevance(user_idx, item_idx)
        return conversion_probability(self.params, self.scales, self.catalogue, np.asarray(item_idx), rel)

    def candidate_click_probabilities(self) -> np.ndarray:
        """``q(r, a, k) = P(click | request r, candidate a, position k)``: (n_req, C, K), the
        position-based part of the click model (continuous grade, no similarity fatigue: the
        position-wise estimators' assumption, which the logged clicks break where a slate shows
        near copies). Under the cascade it is the click probability of a user still reading at
        ``k``, not the marginal, which depends on the items above (:meth:`policy_value` refuses it)."""
        theta = examination(self.params, np.arange(self.params.slate_size))
        attr = attractiveness(self.params, truth.continuous_grade(self.model, self.logs.candidate_affinity))
        return attr[:, :, None] * theta[None, None, :]

    def policy_value(self, action_dist: np.ndarray, requests: np.ndarray | None = None) -> float:
        """True value of a slate policy on the logged requests: expected clicks per impression.

        .. math:: V(\\pi) = \\frac{1}{nK}\\sum_r \\sum_k \\sum_a \\pi(a \\mid r, k)\\, q(r, a, k)

        ``action_dist``: (n_req, C, K) marginal probabilities of each candidate at each
        position (over the requests in ``requests`` if given). Position-based only: a cascade's
        clicks depend on the whole slate, which marginals do not describe; its values come from
        :func:`~hermes_core.world.policies.slate_policy_value`.
        """
        require_position_based(self.params, "World.policy_value")
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
        for f in fields(self.dynamics):
            arrays[f"dynamics.{f.name}"] = getattr(self.dynamics, f.name)
        np.savez_compressed(folder / "world.npz", **arrays)
        meta = {"params": self.params.model_dump(mode="json"), "scales": asdict(self.scales), "texts": texts}
        (folder / "world.json").write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")
        self.conversions.save(folder / CONVERSIONS_FILE)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> World:
        """Read a saved world; a folder without ``conversions.npz`` regenerates the stream.

        The stream is a pure function of the parameters and the taste model (its own seed
        stream), so regenerating it gives the arrays ``generate`` would have saved.
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
        creators = build(Creators, "creators")
        dynamics = Dynamics(**{f.name: arrays[f"dynamics.{f.name}"] for f in fields(Dynamics)})
        if (folder / CONVERSIONS_FILE).is_file():
            conversions = ConversionStream.load(folder / CONVERSIONS_FILE)
        else:
            taste = carried_creator_taste(creators, arrays["collaborations"], params.collaborator_taste_carry)
            model = TasteModel(params, preference_scales, users, catalogue, taste, dynamics)
            conversions = generate_conversion_stream(model, seed_streams(params.seed)["conversions"])
        return cls(
            params=params,
            creators=creators,
            catalogue=catalogue,
            users=users,
            scales=preference_scales,
            logs=build(Logs, "logs"),
            queries=build(Queries, "queries"),
            collaborations=arrays["collaborations"],
            conversions=conversions,
            dynamics=dynamics,
        )


def require_position_based(params: WorldParams, caller: str) -> None:
    """Refuse a value computed from position marginals under a click model they cannot express."""
    if params.click_model != "position-based":
        raise ValueError(
            f"{caller} computes a policy's value from its position marginals, which holds only under the "
            f"position-based click model; this world's click_model is {params.click_model!r}, whose clicks "
            "depend on the items above: use hermes_core.world.policies.slate_policy_value with the "
            "policy's Plackett-Luce logits")


def seconds_to_days(seconds: np.ndarray) -> np.ndarray:
    return np.asarray(seconds) / SECONDS_PER_DAY
