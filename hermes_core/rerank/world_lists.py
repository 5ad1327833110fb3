r"""The world's lists: the rank stage's scored candidates of each logged test request, their cohorts
and categories, and the truth the evaluation reads.

A key ``r<index>`` is the logged world request ``index``: its user, the session's clicks before it
(``ClickLog.session_before``) and its context (``request_context`` of its modality intent and
time). Cohorts are the creators' (``world.creators.mainstream``: mainstream or independent);
categories the domain (4) or the genre within the domain (``rerank.category``).

The truth of each candidate (:class:`~hermes_core.rerank.evaluation.Truth`): the graded contextual
relevance :math:`g` (``World.contextual_relevance``), the merit :math:`(2^{\tilde g} - 1)/15` of the
continuous grade :math:`\tilde g` of the contextual affinity (``hermes_core.world.truth.continuous_grade``),
and the expected clicks of any slate (``World.expected_clicks`` with the same history and context).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from hermes_core.rerank.evaluation import Truth
from hermes_core.rerank.inputs import COHORT_NAMES, CandidateLists, item_vectors_from_table, map_scores, pad_lists
from hermes_core.rerank.params import RerankParams
from hermes_core.workspace import Workspace
from hermes_core.world.click_log import ClickLog
from hermes_core.world.params import DOMAINS
from hermes_core.world.simulate import request_context
from hermes_core.world.truth import continuous_grade
from hermes_core.world.vocabulary import GENRES
from hermes_core.world.world import World

@dataclass(frozen=True, eq=False)
class WorldLists:
    """The world, its candidate lists, their truth, each list's logged request and session history,
    and how many of the rank stage's lists were dropped for being shorter than the slate."""

    world: World
    lists: CandidateLists
    truth: Truth
    requests: np.ndarray
    histories: list[np.ndarray]
    dropped_short: int
    note: str


def request_of_key(key: str) -> int:
    """The logged request index of a key ``r<index>`` (``ValueError`` names the key otherwise)."""
    if not (isinstance(key, str) and key.startswith("r") and key[1:].isdigit()):
        raise ValueError(f"key {key!r} is not a logged world request 'r<index>'")
    return int(key[1:])


def world_categories(world: World, category: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """``(n_items,)`` category of every item and the names: the domain, or (domain, genre) pairs."""
    domain = np.asarray(world.catalogue.domain, dtype=np.int64)
    if category == "domain":
        return domain, DOMAINS
    genre = np.asarray(world.catalogue.genre, dtype=np.int64)
    width = int(genre.max()) + 1
    names = [list(GENRES[name]) for name in DOMAINS]
    pairs = domain * width + genre
    used, index = np.unique(pairs, return_inverse=True)
    return index.astype(np.int64), tuple(f"{DOMAINS[p // width]}/{names[p // width][p % width]}" for p in used)


def load_world_lists(workspace: Workspace, params: RerankParams, source: str = "world") -> WorldLists | None:
    """The world's lists from ``data/world``, ``data/rank/scores.parquet`` and
    ``data/encode/embeddings.parquet``; ``None`` only when ``source`` (``data.source``) is not
    ``world`` (there is no synthetic world to re-rank for). With the world as the source, a world
    that cannot be loaded (missing or partly missing ``data/world``) is a ``FileNotFoundError``
    naming the folder, and an empty ``scores.parquet`` or lists all shorter than
    ``rerank.slate_size`` a ``ValueError``: the world part is never skipped silently. Lists with
    fewer than ``rerank.slate_size`` candidates are dropped (counted): the click model needs full
    slates."""
    if source != "world":
        return None
    try:
        world = World.load(workspace.world)
    except FileNotFoundError as error:
        raise FileNotFoundError(f"data.source is 'world' but no complete world could be loaded from {workspace.world} "
                                f"({error}); run the ingest stage") from error
    path = workspace.stage_data("rank") / "scores.parquet"
    scores = pq.read_table(path).to_pandas()
    if scores.empty:
        raise ValueError(f"data.source is 'world' but {path} holds no scored list; run the rank stage")
    item_index = {identifier: i for i, identifier in enumerate(world.item_ids)}
    padded = pad_lists(scores, item_index, params.max_candidates)
    lengths = padded["mask"].sum(axis=1)
    long_enough = lengths >= params.slate_size
    dropped = int((~long_enough).sum())
    padded = {name: values[long_enough] for name, values in padded.items()}
    if not len(padded["keys"]):
        raise ValueError(f"every one of the {dropped} lists of {path} is shorter than rerank.slate_size "
                         f"({params.slate_size}; the longest has {int(lengths.max())} candidates): lower "
                         "rerank.slate_size or keep more candidates in the rank stage")
    embeddings = pq.read_table(workspace.stage_data("encode") / "embeddings.parquet").to_pandas()
    vectors = item_vectors_from_table(embeddings, item_index, world.n_items)
    mainstream = np.asarray(world.creators.mainstream, dtype=bool)[np.asarray(world.catalogue.creator)]
    item_protected = ~mainstream if params.cohorts.protected == "independent" else mainstream
    category, category_names = world_categories(world, params.category)
    items, mask = padded["items"], padded["mask"]
    protected = np.where(mask, item_protected[np.maximum(items, 0)], False)
    other = [name for name in COHORT_NAMES if name != params.cohorts.protected][0]
    lists = CandidateLists(
        keys=padded["keys"], user_ids=padded["user_ids"], items=items, mask=mask, scores=padded["scores"],
        ranks=padded["ranks"], relevance=map_scores(padded["scores"], mask, params.score_mapping), protected=protected,
        item_vectors=vectors, item_category=category, category_names=category_names,
        item_ids=np.asarray(world.item_ids, dtype=object), item_protected=item_protected,
        protected_name=params.cohorts.protected, other_name=other,
    )  # fmt: skip
    requests = np.array([request_of_key(str(k)) for k in lists.keys], dtype=np.int64)
    users = world.logs.user[requests]
    expected_users = np.array([world.user_ids[int(u)] for u in users], dtype=object)
    wrong = np.flatnonzero(expected_users != lists.user_ids)
    if wrong.size:
        raise ValueError(f"key {lists.keys[wrong[0]]!r}: the scores name user {lists.user_ids[wrong[0]]!r} but the "
                         f"logged request belongs to {expected_users[wrong[0]]!r}")
    truth, histories = world_truth(world, lists, requests)
    p = world.params
    note = (f"World: {p.n_users:,} users, {p.n_items:,} items, {int(mainstream.sum()):,} items by mainstream creators "
            f"({mainstream.mean():.1%}); {lists.n_lists:,} logged test requests with up to {lists.n_candidates} "
            f"candidates from the rank stage ({dropped} shorter than the slate dropped); click model {p.click_model} "
            f"with similarity fatigue {p.similarity_fatigue}.")
    return WorldLists(world, lists, truth, requests, histories, dropped, note)


def world_truth(world: World, lists: CandidateLists, requests: np.ndarray) -> tuple[Truth, list[np.ndarray]]:
    """The truth of every candidate of every list (module docstring) and each list's session history."""
    logs = world.logs
    clicks = ClickLog.of(logs)
    grades = np.zeros(lists.items.shape)
    merit = np.zeros(lists.items.shape)
    histories: list[np.ndarray] = []
    contexts = []
    for row, r in enumerate(requests):
        history = clicks.session_before(int(logs.session[r]), float(logs.timestamp[r]))
        context = request_context(logs.modality_intent[r : r + 1], logs.timestamp[r : r + 1])
        real = lists.mask[row]
        affinity = world.contextual_affinity(int(logs.user[r]), history, lists.items[row, real], context)
        grades[row, real] = world.contextual_relevance(int(logs.user[r]), history, lists.items[row, real], context)
        merit[row, real] = (np.exp2(continuous_grade(world.model, affinity)) - 1.0) / 15.0
        histories.append(history)
        contexts.append(context)

    def expected_clicks(row: int, slates: np.ndarray) -> np.ndarray:
        r = int(requests[row])
        return np.atleast_1d(world.expected_clicks(int(logs.user[r]), histories[row], slates, contexts[row]))

    description = ("world truth: graded contextual relevance (NDCG), merit (2^g~ - 1)/15 of the continuous grade "
                   "(exposure per relevance), expected clicks under the world's click model")
    return Truth(grades=grades, merit=merit, expected_clicks=expected_clicks, description=description), histories


def candidate_table(lists: CandidateLists, truth: Truth, row: int) -> pd.DataFrame:
    """One list's candidates with the ranker's rank and score, the policy's relevance, the cohort and
    the truth (the example slate's source)."""
    real = lists.mask[row]
    return pd.DataFrame({"column": np.flatnonzero(real), "item_id": lists.item_ids[lists.items[row, real]],
                         "rank": lists.ranks[row, real], "score": lists.scores[row, real],
                         "relevance_u": lists.relevance[row, real],
                         "cohort": np.where(lists.protected[row, real], lists.protected_name, lists.other_name),
                         "true_grade": truth.grades[row, real], "true_merit": truth.merit[row, real]})  # fmt: skip


__all__ = ["WorldLists", "candidate_table", "load_world_lists", "request_of_key", "world_categories",
           "world_truth"]
