r"""MovieLens 100K as rerank lists: directors as creators, cohorts by their ratings, relevance from
held-out ratings, PureSVD as the ranker.

* **Creators** are the films' directors in the KB4Rec Freebase graph (``../shared/data/ml-100k-kg``,
  :func:`hermes_core.data.readers.movielens_kg.load_movielens_kg`): the pairs of
  ``film.film.directed_by`` (film, director) and ``film.director.film`` (director, film). A film
  without a linked director has no cohort and is left out of every candidate list (counted).
* **Split**: each user's ratings, shuffled with ``rerank.seed``, lose ``round(holdout_share * n)``
  of them (at least 1, at most ``n - 1``) to the held-out set; the rest is the training set.
* **Cohorts**: a director's popularity is the number of *training* ratings of her films; the top
  ``mainstream_share`` of directors (ties by id) are mainstream, the rest independent; a film with
  any mainstream director is mainstream.
* **Ranker**: PureSVD (Cremonesi, Koren & Turrin, "Performance of recommender algorithms on top-N
  recommendation tasks", RecSys 2010): the training rating matrix :math:`R` (0 where unrated)
  factorised as :math:`R \approx U_f \Sigma_f Q_f^\top` (rank ``n_factors``), a user's scores
  :math:`\hat r_u = r_u Q_f Q_f^\top` (ARPACK started from ``default_rng([seed, 4])``, so reproducible).
  Each user's candidates: her ``candidates`` best-scored films with a director that she did not
  rate in training.
* **Catalogue**: the films with a director, the universe every candidate comes from; the lists'
  items (``item_ids``, ``item_vectors`` ...) are those films only, so the Gini of item exposure
  does not count films no list can ever show.
* **Truth**: graded relevance :math:`g = \text{rating} - 1` (0..4) of a held-out rating, 0 for a
  candidate she did not rate in the held-out set; merit :math:`(2^g - 1)/15`. No click model.
* **Similarity and categories**: the genre multi-hot vectors of ``u.item`` (19 genres), cosine for
  MMR and intra-list diversity; category coverage is the share of the 19 genres a slate shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.linalg import svds

from hermes_core.data.readers.movielens_kg import load_movielens_kg
from hermes_core.rerank.evaluation import Truth
from hermes_core.rerank.exposure import normalise_rows
from hermes_core.rerank.inputs import COHORT_NAMES, CandidateLists, map_scores
from hermes_core.rerank.params import RerankParams
from hermes_core.workspace import MissingDataError, shared_dataset_dir

DIRECTOR_RELATIONS: tuple[str, str] = ("film.film.directed_by", "film.director.film")
N_GENRES = 19


def movielens_root(params: RerankParams) -> Path | None:
    """MovieLens 100K's folder, ``None`` when ``rerank.movielens.enabled`` is false; enabled and
    missing is an error naming the folder and the ways out."""
    if not params.movielens.enabled:
        return None
    root, origin = shared_dataset_dir("ml-100k", params.movielens.path, "rerank.movielens.path")
    if not (root / "u.data").is_file():
        raise MissingDataError(f"MovieLens 100K not found: no u.data in {root} (resolved from {origin}); point "
                               "rerank.movielens.path at the folder or set rerank.movielens.enabled: false")
    return root


def kg_root(params: RerankParams) -> Path:
    """The Freebase graph's folder (error naming the parameter when its files are missing)."""
    root, origin = shared_dataset_dir("ml-100k-kg", params.movielens.kg_path, "rerank.movielens.kg_path")
    if not (root / "ml-100k.kg").is_file():
        raise MissingDataError(f"MovieLens 100K knowledge graph not found: no ml-100k.kg in {root} (resolved from "
                               f"{origin}); point rerank.movielens.kg_path at it or set rerank.movielens.enabled: false")
    return root


def read_ratings(root: Path) -> pd.DataFrame:
    """``u.data`` as ``user``, ``item``, ``rating``, ``timestamp`` (ints); ``ValueError`` names the file
    when a line does not have four integer fields or a rating lies outside 1..5."""
    path = root / "u.data"
    try:
        frame = pd.read_csv(path, sep="\t", header=None, names=["user", "item", "rating", "timestamp"], dtype=np.int64)
    except ValueError as error:
        raise ValueError(f"{path}: expected four tab-separated integers per line ({error})") from None
    bad = ~frame["rating"].between(1, 5)
    if bad.any():
        raise ValueError(f"{path}:{int(np.flatnonzero(bad)[0]) + 1}: rating {frame['rating'][bad].iat[0]} outside 1..5")
    return frame


def read_genres(root: Path) -> pd.DataFrame:
    """``u.item``'s 19 genre flags as a bool frame indexed by item id (latin-1, ``|``-separated)."""
    path = root / "u.item"
    frame = pd.read_csv(path, sep="|", header=None, encoding="latin-1")
    if frame.shape[1] != 5 + N_GENRES:
        raise ValueError(f"{path}: expected {5 + N_GENRES} '|'-separated fields per line, found {frame.shape[1]}")
    flags = frame.iloc[:, 5:].astype(bool)
    flags.index = frame.iloc[:, 0].astype(np.int64)
    flags.columns = genre_names(root)
    return flags


def genre_names(root: Path) -> list[str]:
    """The genre names of ``u.genre`` in flag order (``genre_<i>`` when the file is absent)."""
    path = root / "u.genre"
    if not path.is_file():
        return [f"genre_{i}" for i in range(N_GENRES)]
    names = [line.split("|")[0] for line in path.read_text(encoding="latin-1").splitlines() if "|" in line]
    return names if len(names) == N_GENRES else [f"genre_{i}" for i in range(N_GENRES)]


def film_directors(root: Path, known_items: set[int]) -> dict[int, set[str]]:
    """MovieLens item id -> its directors' entities (films without a linked director are absent)."""
    graph = load_movielens_kg(root, known_items=known_items)
    film_of_entity = {entity: item for item, entity in graph.entity_of_item().items()}
    triples = graph.triples
    pairs = pd.concat([
        triples.loc[triples["relation"] == DIRECTOR_RELATIONS[0], ["head", "tail"]].set_axis(["film", "director"], axis=1),
        triples.loc[triples["relation"] == DIRECTOR_RELATIONS[1], ["tail", "head"]].set_axis(["film", "director"], axis=1),
    ])  # fmt: skip
    directors: dict[int, set[str]] = {}
    for film, director in zip(pairs["film"], pairs["director"]):
        item = film_of_entity.get(film)
        if item is not None:
            directors.setdefault(item, set()).add(director)
    return directors


def holdout_split(ratings: pd.DataFrame, share: float, seed: int) -> pd.Series:
    """``True`` on each user's held-out ratings: ``round(share * n)`` of her ``n``, clipped to
    ``[1, n - 1]``, drawn with ``default_rng([seed, 2])``."""
    rng = np.random.default_rng([seed, 2])
    order = rng.permutation(len(ratings))
    shuffled = ratings.iloc[order]
    position = shuffled.groupby("user").cumcount().to_numpy()
    count = shuffled.groupby("user")["user"].transform("size").to_numpy()
    held = position < np.clip(np.rint(share * count), 1, count - 1)
    out = pd.Series(False, index=ratings.index)
    out.iloc[order] = held
    return out


@dataclass(frozen=True, eq=False)
class MovielensLists:
    """The lists, their truth and a summary of how they were built."""

    lists: CandidateLists
    truth: Truth
    summary: dict[str, float | int | str]


def movielens_lists(root: Path, graph_root: Path, params: RerankParams) -> MovielensLists:
    """The MovieLens 100K lists of the module docstring."""
    ml = params.movielens
    ratings = read_ratings(root)
    genres = read_genres(root)
    directors = film_directors(graph_root, set(int(i) for i in genres.index))
    held = holdout_split(ratings, ml.holdout_share, params.seed)
    train, test = ratings[~held], ratings[held]
    item_ids = np.array(sorted(genres.index), dtype=np.int64)  # column j <-> MovieLens item item_ids[j]
    column = {int(item): j for j, item in enumerate(item_ids)}
    users = np.array(sorted(ratings["user"].unique()), dtype=np.int64)
    row_of = {int(user): i for i, user in enumerate(users)}
    matrix = csr_matrix((train["rating"].to_numpy(dtype=np.float64),
                         (train["user"].map(row_of).to_numpy(), train["item"].map(column).to_numpy())),
                        shape=(users.size, item_ids.size))  # fmt: skip
    # ARPACK's start vector from a generator seeded by rerank.seed: the factors, so the lists, are reproducible
    _, _, factors_t = svds(matrix, k=min(ml.n_factors, min(matrix.shape) - 1),
                           rng=np.random.default_rng([params.seed, 4]))
    factors = factors_t.T  # (n_items, f)
    scores = (matrix @ factors) @ factors.T  # (n_users, n_items) PureSVD
    has_director = np.array([int(item) in directors for item in item_ids])
    # director popularity: training ratings of her films
    film_count = np.bincount(train["item"].map(column).to_numpy(), minlength=item_ids.size)
    director_count: dict[str, int] = {}
    for j, item in enumerate(item_ids):
        for director in directors.get(int(item), ()):
            director_count[director] = director_count.get(director, 0) + int(film_count[j])
    ranked = sorted(director_count, key=lambda d: (-director_count[d], d))
    n_mainstream = int(round(ml.mainstream_share * len(ranked)))
    mainstream_directors = set(ranked[:n_mainstream])
    item_mainstream = np.array([bool(directors.get(int(item), set()) & mainstream_directors) for item in item_ids])
    seen = matrix.toarray() > 0
    allowed = has_director[None, :] & ~seen
    evaluated = np.arange(users.size)
    if ml.users is not None and ml.users < users.size:
        evaluated = np.sort(np.random.default_rng([params.seed, 3]).choice(users.size, size=ml.users, replace=False))
    n = min(ml.candidates, int(allowed.sum(axis=1).min()))
    masked = np.where(allowed[evaluated], scores[evaluated], -np.inf)
    candidates = np.argsort(-masked, axis=1, kind="stable")[:, :n]  # (B, n) item columns, best first
    candidate_scores = np.take_along_axis(masked, candidates, axis=1)
    mask = np.ones(candidates.shape, dtype=bool)
    held_grade = np.zeros((users.size, item_ids.size))
    held_grade[test["user"].map(row_of).to_numpy(), test["item"].map(column).to_numpy()] = test["rating"].to_numpy() - 1
    grades = np.take_along_axis(held_grade[evaluated], candidates, axis=1)
    protected_items = ~item_mainstream if params.cohorts.protected == "independent" else item_mainstream
    other = [name for name in COHORT_NAMES if name != params.cohorts.protected][0]
    genre_matrix = genres.loc[item_ids].to_numpy(dtype=bool)
    catalogue = np.flatnonzero(has_director)  # the lists' catalogue (and the Gini's): films with a director
    position = np.full(item_ids.size, -1, dtype=np.int64)
    position[catalogue] = np.arange(catalogue.size)
    lists = CandidateLists(
        keys=np.array([f"u{users[i]}" for i in evaluated], dtype=object),
        user_ids=np.array([f"ml:user:{users[i]}" for i in evaluated], dtype=object), items=position[candidates], mask=mask,
        scores=candidate_scores, ranks=np.broadcast_to(np.arange(1, n + 1), candidates.shape).copy(),
        relevance=map_scores(candidate_scores, mask, params.score_mapping), protected=protected_items[candidates],
        item_vectors=normalise_rows(genre_matrix[catalogue].astype(np.float64)), item_category=genre_matrix[catalogue],
        category_names=tuple(genres.columns), item_ids=np.array([f"ml:item:{i}" for i in item_ids[catalogue]], dtype=object),
        item_protected=protected_items[catalogue], protected_name=params.cohorts.protected, other_name=other,
    )  # fmt: skip
    truth = Truth(grades=grades, merit=(np.exp2(grades) - 1.0) / 15.0, expected_clicks=None,
                  description="MovieLens 100K: held-out rating - 1 (0 when not rated in the held-out set); no click model")
    summary = {"users": int(users.size), "users_evaluated": int(evaluated.size), "items": int(item_ids.size),
               "items_with_director": int(has_director.sum()), "directors": len(ranked),
               "mainstream_directors": n_mainstream, "mainstream_items": int(item_mainstream.sum()),
               "training_ratings": int(len(train)), "held_out_ratings": int(len(test)), "candidates": int(n),
               "pure_svd_factors": int(factors.shape[1]),
               "lists_without_relevant": int((grades.max(axis=1) == 0).sum()),
               "protocol": (f"per-user random hold-out of {ml.holdout_share:.0%} of ratings (seeded); candidates = "
                            f"PureSVD's top {n} unrated films with a director; grade = held-out rating - 1; ideal DCG "
                            "over the candidates")}  # fmt: skip
    return MovielensLists(lists=lists, truth=truth, summary=summary)


__all__ = ["MovielensLists", "film_directors", "holdout_split", "kg_root", "movielens_lists", "movielens_root",
           "read_genres", "read_ratings"]
