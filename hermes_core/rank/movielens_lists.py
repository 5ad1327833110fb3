r"""MovieLens 100K as learning-to-rank lists: ratings as graded relevance, split in time.

**Split** (global, temporal). The ratings of ``u.data`` are put in time order by a stable sort
of their timestamps, so ratings with the same timestamp keep their ``u.data`` line order. With
:math:`n` ratings, the last :math:`n_{test} = \lfloor s_{test}\, n + \tfrac12 \rfloor` of that
order are the test split, the :math:`n_{val} = \lfloor s_{val}\, n + \tfrac12 \rfloor` before them
the validation split and the rest the training split (``test_share`` :math:`s_{test}`,
``validation_share`` :math:`s_{val}`; with the defaults 0.2 and 0.1 the 100,000 ratings give
70,000 / 10,000 / 20,000). One cut for all users, so no rating a model learns from is later than
a rating it is scored on; a user may be in one, two or all three splits.

**Lists.** One list per user and split: the items she rated in that split, in the order she rated
them (ties: ``u.data`` line order), with grade :math:`g = r - 1 \in \{0, \dots, 4\}` for rating
:math:`r`, so NDCG's gains :math:`2^g - 1` give an item rated 1 no gain. A user with fewer than
``min_list`` ratings in a split has no list there. Lists are padded to the longest list of the
split, or to ``max_list`` when given (a longer list then keeps its first ``max_list`` ratings in
time). ``items`` are the movie id minus 1. Because a scorer's ties are broken by the lower column
(:mod:`hermes_core.evaluation.ranking`), a constant scorer ranks in rating order: break its ties
at random if it is to be a random baseline.

**Features** of a pair (user :math:`u`, item :math:`i`) are computed only from the *training*
ratings and the static attributes of ``u.user`` and ``u.item``, so nothing of the validation or
test ratings reaches any feature. A training pair is itself a training rating: every statistic
of a training pair leaves that rating out (**leave-one-out**), so that its own label never enters
its features and a training pair sees what a test pair sees, the *other* training ratings. Below,
:math:`T_u` is the set of training items of :math:`u` other than the pair's item,
:math:`n_u = |T_u|`, :math:`U_i` the training raters of :math:`i` other than :math:`u`,
:math:`n_i = |U_i|`, :math:`\mu` the mean of all training ratings (the one statistic not left
out: leaving one of :math:`N` training ratings out moves it by at most :math:`4 / (N - 1)`),
:math:`\gamma_i \in \{0,1\}^{19}` the genre flags of :math:`i` and
:math:`\bar r_u = \frac{1}{n_u}\sum_{j \in T_u} r_{uj}` (:math:`\mu` when :math:`n_u = 0`).

* **user**: ``age_z`` :math:`(a_u - \bar a) / \sigma_a` (mean and population standard deviation
  over the users of ``u.user``); ``is_female``; ``occupation_<name>`` one-hot (the occupations of
  ``u.occupation`` and ``u.user``, sorted); ``user_log_train_ratings`` :math:`\log(1 + n_u)`;
  ``user_mean_centred`` :math:`\bar r_u - \mu` (0 when :math:`n_u = 0`).
* **item**: ``genre_<name>`` the 19 flags :math:`\gamma_i` (``u.genre`` order); ``year_z``
  :math:`(y_i - \bar y) / \sigma_y` over the items with a known year (the title's year, else the
  release date's), 0 (the mean) where unknown, and ``year_missing`` 1 there;
  ``item_log_train_ratings`` :math:`\log(1 + n_i)`; ``item_mean_shrunk_centred`` the Bayesian
  average with ``ITEM_PRIOR_COUNT`` :math:`m = 10` pseudo-ratings at :math:`\mu`, centred:
  :math:`\frac{\sum_{v \in U_i} r_{vi} + m\mu}{n_i + m} - \mu`.
* **cross**: ``genre_profile_cosine`` :math:`\cos(p_u, \gamma_i)` with the user's genre profile
  :math:`p_u = \sum_{j \in T_u} (r_{uj} - \bar r_u)\, \gamma_j` (0 when either vector is 0, taken as
  :math:`\lVert p_u \rVert < 10^{-9}`); ``user_genre_mean_shrunk_centred`` the user's mean rating
  of her items sharing a genre with :math:`i`, :math:`S_{ui} = \{j \in T_u : \gamma_j \cdot
  \gamma_i > 0\}`, shrunk with ``GENRE_PRIOR_COUNT`` :math:`k = 5` pseudo-ratings at her mean:
  :math:`\frac{\sum_{j \in S_{ui}} r_{uj} + k \bar r_u}{|S_{ui}| + k} - \mu`;
  ``age_bucket_item_log_train_ratings`` :math:`\log(1 + |\{v \in U_i : b(v) = b(u)\}|)`, the
  item's training ratings by users of the same age bucket :math:`b` (MovieLens 1M's groups:
  under 18, 18-24, 25-34, 35-44, 45-49, 50-55, 56 and over).

Training pairs' statistics are computed from the rest of the training split, which holds ratings
both before and after the pair; validation and test pairs only see ratings before them.

Files (GroupLens README): ``u.data`` ``user item rating timestamp`` (tab-separated), ``u.user``
``id|age|gender|occupation|zip``, ``u.item`` ``id|title|release date|video release date|URL|``
+ 19 genre flags, all read by :func:`hermes_core.data.readers.movielens.load_movielens`;
``u.occupation`` (one name a line) is optional.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
import numpy as np
import pandas as pd
from scipy import sparse

from hermes_core.data.readers.movielens import GENRES_100K, MovieLensRaw, load_movielens
from hermes_core.rank.lists import RankingLists, pad_lists

SPLITS: tuple[str, ...] = ("train", "validation", "test")
REQUIRED_FILES: tuple[str, ...] = ("u.data", "u.item", "u.user")
ITEM_PRIOR_COUNT = 10.0
""":math:`m`: pseudo-ratings at the global mean in ``item_mean_shrunk_centred``."""
GENRE_PRIOR_COUNT = 5.0
""":math:`k`: pseudo-ratings at the user's mean in ``user_genre_mean_shrunk_centred``."""
AGE_BUCKET_EDGES: tuple[int, ...] = (18, 25, 35, 45, 50, 56)
"""Lower edges of the age buckets after the first (MovieLens 1M's age groups)."""
_ZERO_NORM = 1e-9


@dataclass(frozen=True)
class MovielensRankData:
    """MovieLens 100K as padded ranking lists, one per user and split (module docstring).

    ``users[split] (n_lists,)`` is the ``u.user`` id of each list of that split; ``summary`` has one
    row per split (index ``train``, ``validation``, ``test``) with ``ratings`` (in the split),
    ``lists``, ``list_ratings`` (the ratings of the users with a list), ``mean_list_length``
    (``list_ratings / lists``, before any ``max_list`` cut), ``candidates`` (real candidates kept
    after the cut) and ``share_grade_ge_3`` (share of ``list_ratings`` rated 4 or 5).
    """

    train: RankingLists
    validation: RankingLists
    test: RankingLists
    feature_names: list[str]
    users: dict[str, np.ndarray]
    summary: pd.DataFrame

    def split(self, name: str) -> RankingLists:
        """The lists of split ``name`` (``train``, ``validation`` or ``test``)."""
        if name not in SPLITS:
            raise KeyError(f"unknown split {name!r}: expected one of {SPLITS}")
        return getattr(self, name)


@dataclass(frozen=True)
class MovielensTables:
    """``u.data``, ``u.user`` and ``u.item`` as arrays.

    ``ratings`` has columns ``user``, ``item`` (movie id - 1), ``rating`` (1..5), ``timestamp``
    (unix seconds), one row per ``u.data`` line in file order; ``ages``, ``is_female``,
    ``occupation`` are indexed by user id (``known_user`` False where ``u.user`` has no such id);
    ``genres (n_items, 19)`` and ``years (n_items,)`` (NaN where unknown) by movie id - 1.
    """

    ratings: pd.DataFrame
    ages: np.ndarray
    is_female: np.ndarray
    occupation: np.ndarray
    known_user: np.ndarray
    occupations: list[str]
    genres: np.ndarray
    years: np.ndarray


# --------------------------------------------------------------------------- reading


def read_movielens_100k(path: str | Path) -> MovielensTables:
    """The three tables of the MovieLens 100K folder ``path`` (via ``load_movielens``).

    Raises ``FileNotFoundError`` naming the folder and the files expected when the folder or a file
    is missing, and ``ValueError`` naming the file and line of the first bad records (a line that
    does not parse, a rating outside 1..5, an unknown user or movie id, a bad age, gender or flag).
    """
    root = Path(path)
    expected = ", ".join(REQUIRED_FILES)
    if not root.is_dir():
        raise FileNotFoundError(f"MovieLens 100K folder {root} does not exist (or is not a folder): "
                                f"expected a folder with {expected} (u.occupation optional)")
    missing = [name for name in REQUIRED_FILES if not (root / name).is_file()]
    if missing:
        raise FileNotFoundError(f"MovieLens 100K folder {root} lacks {', '.join(missing)} (expected files: {expected})")
    raw = load_movielens(root, "100k")
    _raise_on_parse_failures(raw)
    genres, years = _items(raw)
    ages, is_female, occupation, known_user, occupations = _users(raw, root)
    ratings = _ratings(raw, n_items=len(genres), known_user=known_user)
    return MovielensTables(ratings, ages, is_female, occupation, known_user, occupations, genres, years)


def _raise_on_parse_failures(raw: MovieLensRaw) -> None:
    failures = [f for table in raw.tables.values() for f in table.parse_failures]
    if failures:
        shown = "; ".join(f"{f.source}: {f.reason}" for f in failures[:5])
        raise ValueError(f"MovieLens 100K folder {raw.root}: {len(failures)} unreadable line(s), e.g. {shown}")


def _bad(root: Path, what: str, sources: list[str]) -> ValueError:
    shown = ", ".join(sources[:5]) + (" ..." if len(sources) > 5 else "")
    return ValueError(f"MovieLens 100K folder {root}: {what} at {shown}")


def _id_of(text: str) -> int:
    return int(text.rsplit(":", 1)[1])


def _items(raw: MovieLensRaw) -> tuple[np.ndarray, np.ndarray]:
    records, sources = raw.assets.records, raw.assets.sources
    ids = np.array([_id_of(r["asset_id"]) for r in records], dtype=np.int64)
    if ids.size == 0 or ids.min() < 1 or len(set(ids.tolist())) != ids.size:
        raise ValueError(f"MovieLens 100K folder {raw.root}: u.item must list distinct movie ids >= 1")
    bad_flags = [s for r, s in zip(records, sources) if any(not isinstance(v, float) for v in r["dense_features"])]
    if bad_flags:
        raise _bad(raw.root, "genre flags that are not 0 or 1", bad_flags)
    n_items = int(ids.max())
    genres = np.zeros((n_items, len(GENRES_100K)))  # (n_items, 19); a movie absent from u.item has none
    genres[ids - 1] = np.array([r["dense_features"] for r in records], dtype=float)
    years = np.full(n_items, np.nan)
    years[ids - 1] = [np.nan if r["attributes"]["year"] is None else float(r["attributes"]["year"]) for r in records]
    return genres, years


def _users(raw: MovieLensRaw, root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    records, sources = raw.users.records, raw.users.sources
    bad = [s for r, s in zip(records, sources)
           if not isinstance(r["features"]["age"], float) or not isinstance(r["features"]["is_female"], float)]
    if bad:
        raise _bad(root, "u.user age that is not a number or gender that is not M or F", bad)
    ids = np.array([_id_of(r["user_id"]) for r in records], dtype=np.int64)
    size = int(ids.max()) + 1 if ids.size else 1
    ages, is_female = np.zeros(size), np.zeros(size)
    known = np.zeros(size, dtype=bool)
    ages[ids] = [r["features"]["age"] for r in records]
    is_female[ids] = [r["features"]["is_female"] for r in records]
    known[ids] = True
    names = [r["segment"] or "none" for r in records]
    listed = (root / "u.occupation").read_text(encoding="latin-1").split() if (root / "u.occupation").is_file() else []
    occupations = sorted(set(listed) | set(names))
    occupation = np.full(size, -1, dtype=np.int64)
    occupation[ids] = [occupations.index(name) for name in names]
    return ages, is_female, occupation, known, occupations


def _ratings(raw: MovieLensRaw, n_items: int, known_user: np.ndarray) -> pd.DataFrame:
    records, sources = raw.interactions.records, raw.interactions.sources
    frame = pd.DataFrame({
        "user": [_id_of(r["user_id"]) for r in records],
        "item": [_id_of(r["item_id"]) - 1 for r in records],
        "rating": [r["value"] if isinstance(r["value"], float) else np.nan for r in records],
        "timestamp": [_unix_seconds(r["timestamp"]) for r in records],
    })  # fmt: skip
    source = np.array(sources, dtype=object)
    checks = [
        (~frame["rating"].isin([1.0, 2.0, 3.0, 4.0, 5.0]), "u.data rating not a whole number in 1..5"),
        (frame["timestamp"] < 0, "u.data timestamp that is not unix seconds"),
        ((frame["item"] < 0) | (frame["item"] >= n_items), "u.data movie id absent from u.item"),
        (~frame["user"].map(lambda u: 0 <= u < known_user.size and bool(known_user[u])),
         "u.data user id absent from u.user"),
    ]  # fmt: skip
    for wrong, what in checks:
        if wrong.any():
            raise _bad(raw.root, what, list(source[wrong.to_numpy()]))
    if frame.empty:
        raise ValueError(f"MovieLens 100K folder {raw.root}: u.data holds no rating")
    return frame.astype({"user": np.int64, "item": np.int64, "timestamp": np.int64})


def _unix_seconds(text: str) -> int:
    """``load_movielens``'s ISO-8601 UTC string back to unix seconds (-1 when it is not one)."""
    try:
        return int(datetime.fromisoformat(text).timestamp())
    except (TypeError, ValueError):
        return -1


# --------------------------------------------------------------------------- split


def temporal_split(timestamps: np.ndarray, test_share: float, validation_share: float) -> np.ndarray:
    r"""``(n,)`` split code of each rating (0 train, 1 validation, 2 test): the latest
    :math:`\lfloor s_{test} n + 1/2 \rfloor` ratings in stable time order are test, the
    :math:`\lfloor s_{val} n + 1/2 \rfloor` before them validation (ties: input order)."""
    for name, share in (("test_share", test_share), ("validation_share", validation_share)):
        if not 0.0 < share < 1.0:
            raise ValueError(f"{name} must be in (0, 1), got {share}")
    n = len(timestamps)
    n_test = int(np.floor(test_share * n + 0.5))
    n_validation = int(np.floor(validation_share * n + 0.5))
    if n_test < 1 or n_validation < 1 or n_test + n_validation >= n:
        raise ValueError(f"test_share={test_share} and validation_share={validation_share} of {n} ratings give "
                         f"{n_test} test and {n_validation} validation ratings: each split needs at least one")
    order = np.argsort(np.asarray(timestamps), kind="stable")
    codes = np.empty(n, dtype=np.int64)
    codes[order] = np.repeat([0, 1, 2], [n - n_test - n_validation, n_validation, n_test])
    return codes


# --------------------------------------------------------------------------- features


def age_bucket(ages: np.ndarray) -> np.ndarray:
    """Bucket 0..6 of each age (:data:`AGE_BUCKET_EDGES`)."""
    return np.searchsorted(np.asarray(AGE_BUCKET_EDGES), np.asarray(ages), side="right")


def _standardised(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``(values - mean) / std`` over ``known`` entries (population std), 0 elsewhere."""
    mean, std = values[known].mean(), values[known].std()
    return np.where(known, (values - mean) / max(std, 1e-9), 0.0)


class TrainStatistics:
    """The training ratings' aggregates behind every feature (module docstring).

    Built from ``(user, item, rating)`` arrays of the training split; :meth:`features` computes
    the pair features, leaving a training pair's own rating out when ``own_rating`` is True.
    """

    def __init__(self, tables: MovielensTables, users: np.ndarray, items: np.ndarray, ratings: np.ndarray) -> None:
        n_users, n_items = tables.ages.size, tables.genres.shape[0]
        self.genres = tables.genres  # (n_items, G)
        self.global_mean = float(ratings.mean())
        self.user_count = np.bincount(users, minlength=n_users).astype(float)
        self.user_sum = np.bincount(users, weights=ratings, minlength=n_users)
        self.item_count = np.bincount(items, minlength=n_items).astype(float)
        self.item_sum = np.bincount(items, weights=ratings, minlength=n_items)
        rated = sparse.csr_matrix((ratings, (users, items)), shape=(n_users, n_items))  # (n_users, n_items)
        seen = sparse.csr_matrix((np.ones_like(ratings), (users, items)), shape=(n_users, n_items))
        self.user_genre_rating_sum = np.asarray(rated @ self.genres)  # (n_users, G): sum_j r_uj gamma_j
        self.user_genre_count = np.asarray(seen @ self.genres)  # (n_users, G): sum_j gamma_j
        self.shares_genre = (self.genres @ self.genres.T > 0).astype(float)  # (n_items, n_items)
        self.user_share_sum = np.asarray(rated @ self.shares_genre)  # (n_users, n_items)
        self.user_share_count = np.asarray(seen @ self.shares_genre)  # (n_users, n_items)
        self.user_bucket = age_bucket(tables.ages)
        self.bucket_item_count = np.zeros((len(AGE_BUCKET_EDGES) + 1, n_items))  # (buckets, n_items)
        np.add.at(self.bucket_item_count, (self.user_bucket[users], items), 1.0)
        self.static_user = np.column_stack([
            _standardised(tables.ages, tables.known_user), tables.is_female,
            np.eye(len(tables.occupations))[np.maximum(tables.occupation, 0)] * tables.known_user[:, None]])
        year_known = ~np.isnan(tables.years)
        self.static_item = np.column_stack([
            self.genres, _standardised(np.nan_to_num(tables.years), year_known), (~year_known).astype(float)])
        self.names: list[str] = (
            ["age_z", "is_female", *[f"occupation_{o}" for o in tables.occupations], "user_log_train_ratings",
             "user_mean_centred"]
            + [f"genre_{g}" for g in GENRES_100K]
            + ["year_z", "year_missing", "item_log_train_ratings", "item_mean_shrunk_centred"]
            + ["genre_profile_cosine", "user_genre_mean_shrunk_centred",
               "age_bucket_item_log_train_ratings"])  # fmt: skip

    def features(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray, own_rating: bool) -> np.ndarray:
        """``(m, n_features)`` float32 features of the pairs ``(users[p], items[p])``; with
        ``own_rating`` each pair is a training rating ``ratings[p]`` left out of its statistics."""
        own = float(own_rating)
        r = np.where(own_rating, ratings, 0.0)  # (m,) the rating to leave out, 0 for other splits
        mu = self.global_mean
        gamma = self.genres[items]  # (m, G)
        n_u = self.user_count[users] - own
        user_mean = np.where(n_u > 0, (self.user_sum[users] - r) / np.maximum(n_u, 1.0), mu)
        n_i = self.item_count[items] - own
        item_shrunk = (self.item_sum[items] - r + ITEM_PRIOR_COUNT * mu) / (n_i + ITEM_PRIOR_COUNT) - mu
        profile = ((self.user_genre_rating_sum[users] - r[:, None] * gamma)
                   - user_mean[:, None] * (self.user_genre_count[users] - own * gamma))  # (m, G)
        profile_norm, genre_norm = np.linalg.norm(profile, axis=1), np.linalg.norm(gamma, axis=1)
        defined = (profile_norm > _ZERO_NORM) & (genre_norm > 0)
        denominator = np.where(defined, profile_norm * genre_norm, 1.0)
        cosine = np.where(defined, (profile * gamma).sum(axis=1) / denominator, 0.0)
        self_share = self.shares_genre[items, items]  # 1 unless the item has no genre
        share_sum = self.user_share_sum[users, items] - r * self_share
        share_count = self.user_share_count[users, items] - own * self_share
        genre_mean = (share_sum + GENRE_PRIOR_COUNT * user_mean) / (share_count + GENRE_PRIOR_COUNT) - mu
        bucket_count = self.bucket_item_count[self.user_bucket[users], items] - own
        block = np.column_stack([
            self.static_user[users], np.log1p(n_u), np.where(n_u > 0, user_mean - mu, 0.0),
            self.static_item[items], np.log1p(n_i), item_shrunk,
            cosine, genre_mean, np.log1p(bucket_count)])  # fmt: skip
        return block.astype(np.float32)


# --------------------------------------------------------------------------- lists


def movielens_rank_data(path: str | Path, test_share: float, validation_share: float, min_list: int,
                        max_list: int | None = None) -> MovielensRankData:
    """MovieLens 100K in ``path`` as training, validation and test ranking lists (module docstring).

    ``test_share`` and ``validation_share``: the latest ratings in time that are test, and those
    before them that are validation; ``min_list``: fewest ratings of a user in a split for her to
    have a list there; ``max_list``: the padded length (default: the split's longest list).
    Raises ``FileNotFoundError`` for a missing folder or file and ``ValueError`` for bad parameters,
    bad records, or a split where no user reaches ``min_list``.
    """
    if min_list < 1:
        raise ValueError(f"min_list must be >= 1, got {min_list}")
    if max_list is not None and max_list < 1:
        raise ValueError(f"max_list must be >= 1 or None, got {max_list}")
    tables = read_movielens_100k(path)
    frame = tables.ratings
    split = temporal_split(frame["timestamp"].to_numpy(), test_share, validation_share)
    # time order (stable: ties keep u.data line order), then grouped by user keeping that order
    order = np.argsort(frame["timestamp"].to_numpy(), kind="stable")
    order = order[np.argsort(frame["user"].to_numpy()[order], kind="stable")]
    users, items = frame["user"].to_numpy()[order], frame["item"].to_numpy()[order]
    ratings, split = frame["rating"].to_numpy()[order], split[order]
    train = split == 0
    statistics = TrainStatistics(tables, users[train], items[train], ratings[train])
    made: dict[str, RankingLists] = {}
    list_users: dict[str, np.ndarray] = {}
    rows = []
    for code, name in enumerate(SPLITS):
        here = split == code
        u, i, r = users[here], items[here], ratings[here]
        starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]]) if u.size else np.array([], dtype=np.int64)
        lengths = np.diff(np.r_[starts, u.size])
        keep = lengths >= min_list
        if not keep.any():
            most = int(lengths.max()) if lengths.size else 0
            raise ValueError(f"no user has min_list={min_list} ratings in the {name} split (most: {most}): "
                             "lower min_list or change the shares")
        in_list = np.repeat(keep, lengths)
        u, i, r = u[in_list], i[in_list], r[in_list]
        features = statistics.features(u, i, r, own_rating=code == 0)  # (m, F)
        bounds = np.cumsum(lengths[keep])[:-1]
        made[name] = pad_lists(np.split(features, bounds), np.split((r - 1.0).astype(np.float32), bounds),
                               np.split(i.astype(np.int64), bounds), max_list)  # fmt: skip
        list_users[name] = u[np.r_[0, bounds]].astype(np.int64)
        rows.append({"split": name, "ratings": int(here.sum()), "lists": int(keep.sum()), "list_ratings": int(r.size),
                     "mean_list_length": r.size / keep.sum(), "candidates": int(made[name].mask.sum()),
                     "share_grade_ge_3": float((r >= 4.0).mean())})  # fmt: skip
    return MovielensRankData(train=made["train"], validation=made["validation"], test=made["test"],
                             feature_names=list(statistics.names), users=list_users,
                             summary=pd.DataFrame(rows).set_index("split"))  # fmt: skip


__all__ = [
    "AGE_BUCKET_EDGES", "GENRE_PRIOR_COUNT", "ITEM_PRIOR_COUNT", "SPLITS", "MovielensRankData", "MovielensTables",
    "TrainStatistics", "age_bucket", "movielens_rank_data", "read_movielens_100k", "temporal_split",
]  # fmt: skip
