"""MovieLens 100K as rerank lists (``hermes_core.rerank.movielens``): a hand-written folder of six films,
three directors and four users, then the real ``../shared/data/ml-100k`` when it is there.

Directors (KG): film 1 and film 2 by d1, film 3 by d2 (``film.film.directed_by``), film 4 by d3
(only the inverse ``film.director.film``), film 5 by d2 both ways (one pair), film 6 linked to the
graph but without a director. Every user rates films 1 and 2 (so d1 has the most training
ratings whatever the hold-out) and some of 3-6.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hermes_core.params import deep_merge
from hermes_core.rerank import movielens
from hermes_core.rerank.exposure import exposure_gini
from hermes_core.rerank.movielens import (
    film_directors,
    holdout_split,
    movielens_lists,
    movielens_root,
    read_genres,
    read_ratings,
)
from hermes_core.rerank.params import RerankParams
from hermes_core.workspace import MissingDataError, shared_data_dir

GENRES = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
          "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"]
RATINGS = [  # user, item, rating
    (1, 1, 5), (1, 2, 4), (1, 3, 3), (1, 4, 2), (1, 6, 5),
    (2, 1, 3), (2, 2, 5), (2, 5, 4), (2, 6, 1),
    (3, 1, 4), (3, 2, 2), (3, 3, 5), (3, 5, 1),
    (4, 1, 1), (4, 2, 3), (4, 4, 4), (4, 6, 2),
]  # fmt: skip


def write_folders(root: Path) -> tuple[Path, Path]:
    data, graph = root / "ml-100k", root / "ml-100k-kg"
    data.mkdir(parents=True)
    graph.mkdir(parents=True)
    (data / "u.data").write_text("".join(f"{u}\t{i}\t{r}\t{880000000 + n}\n" for n, (u, i, r) in enumerate(RATINGS)))
    flags = {1: [1], 2: [1, 5], 3: [5], 4: [8], 5: [5, 8], 6: [1, 8]}
    lines = [f"{i}|Film {i} (1995)|01-Jan-1995||http://x|" + "|".join("1" if g in flags[i] else "0" for g in range(19))
             for i in range(1, 7)]
    (data / "u.item").write_text("\n".join(lines) + "\n", encoding="latin-1")
    (data / "u.genre").write_text("".join(f"{name}|{i}\n" for i, name in enumerate(GENRES)) + "\n")
    triples = [("m.f1", "film.film.directed_by", "m.d1"), ("m.f2", "film.film.directed_by", "m.d1"),
               ("m.f3", "film.film.directed_by", "m.d2"), ("m.d3", "film.director.film", "m.f4"),
               ("m.f5", "film.film.directed_by", "m.d2"), ("m.d2", "film.director.film", "m.f5"),
               ("m.f6", "film.film.genre", "m.g1")]  # fmt: skip
    (graph / "ml-100k.kg").write_text("head_id:token\trelation_id:token\ttail_id:token\n"
                                      + "".join(f"{h}\t{r}\t{t}\n" for h, r, t in triples))
    (graph / "ml-100k.link").write_text("item_id:token\tentity_id:token\n" + "".join(f"{i}\tm.f{i}\n" for i in range(1, 7)))
    return data, graph


def params(**changes: object) -> RerankParams:
    hand = {"slate_size": 10, "movielens": {"holdout_share": 0.25, "mainstream_share": 0.34, "n_factors": 2,
                                            "candidates": 10}}  # fmt: skip
    return RerankParams.model_validate(deep_merge(deep_merge(RerankParams().model_dump(), hand), changes))


def test_directors_come_from_both_relations_once(tmp_path: Path) -> None:
    _, graph = write_folders(tmp_path)
    directors = film_directors(graph, set(range(1, 7)))
    assert directors == {1: {"m.d1"}, 2: {"m.d1"}, 3: {"m.d2"}, 4: {"m.d3"}, 5: {"m.d2"}}


def test_readers(tmp_path: Path) -> None:
    data, _ = write_folders(tmp_path)
    ratings = read_ratings(data)
    assert len(ratings) == 17 and ratings["rating"].between(1, 5).all()
    genres = read_genres(data)
    assert list(genres.columns) == GENRES and genres.loc[5, ["Comedy", "Drama"]].all() and genres.loc[5].sum() == 2
    (data / "u.data").write_text("1\t1\t7\t880000000\n")
    with pytest.raises(ValueError, match="u.data:1: rating 7 outside 1..5"):
        read_ratings(data)


def test_holdout_takes_a_rounded_share_of_each_user_keeping_one() -> None:
    ratings = pd.DataFrame(RATINGS, columns=["user", "item", "rating"])
    held = holdout_split(ratings, 0.25, seed=3)
    # users with 5, 4, 4, 4 ratings: round(1.25) = 1 and round(1.0) = 1 held out each
    assert held.groupby(ratings["user"]).sum().tolist() == [1, 1, 1, 1]
    # a large share still leaves one rating in training: round(0.9 * 4) = 4 -> clipped to 3
    assert holdout_split(ratings, 0.9, seed=3).groupby(ratings["user"]).sum().tolist() == [4, 3, 3, 3]
    np.testing.assert_array_equal(held, holdout_split(ratings, 0.25, seed=3))  # seeded


def test_lists_cohorts_candidates_and_grades(tmp_path: Path) -> None:
    data, graph = write_folders(tmp_path)
    block = params()
    built = movielens_lists(data, graph, block)
    lists, truth, summary = built.lists, built.truth, built.summary
    # round(0.34 * 3 directors) = 1 mainstream: d1 (films 1 and 2, rated by everyone)
    assert summary["directors"] == 3 and summary["mainstream_directors"] == 1 and summary["mainstream_items"] == 2
    # the catalogue is the films with a director (1..5; film 6 can never be a candidate), independent protected
    assert lists.item_ids.tolist() == [f"ml:item:{i}" for i in range(1, 6)]
    assert lists.item_protected.tolist() == [False, False, True, True, True]
    ratings = pd.DataFrame(RATINGS, columns=["user", "item", "rating"])
    held = holdout_split(ratings, 0.25, block.seed)
    for row, key in enumerate(lists.keys):
        user = int(key[1:])
        mine = ratings[ratings["user"] == user]
        trained = set(mine.loc[~held[mine.index], "item"])
        shown = {int(lists.item_ids[i].split(":")[-1]) for i in lists.items[row]}
        # never a film she rated in training, never the film without a director
        assert not shown & trained and 6 not in shown
        grade_of = dict(zip(mine.loc[held[mine.index], "item"], mine.loc[held[mine.index], "rating"] - 1))
        for column, item in enumerate(lists.items[row]):
            film = int(lists.item_ids[item].split(":")[-1])
            assert truth.grades[row, column] == grade_of.get(film, 0)
    np.testing.assert_allclose(truth.merit, (2.0 ** truth.grades - 1) / 15)
    assert truth.expected_clicks is None and lists.item_category.shape == (5, 19)


def test_gini_catalogue_is_the_films_with_a_director(tmp_path: Path) -> None:
    data, graph = write_folders(tmp_path)
    lists = movielens_lists(data, graph, params()).lists
    # every film of the catalogue shown once at the top: equal exposure, Gini 0 (film 6, never a
    # candidate, would enter with exposure 0 and raise it)
    shown = np.arange(lists.n_items)[:, None]
    assert lists.n_items == 5 and exposure_gini(shown, lists.n_items) == pytest.approx(0.0)
    assert exposure_gini(shown, 6) > 0.1


def test_pure_svd_is_seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, graph = write_folders(tmp_path)
    seen = []
    real_svds = movielens.svds

    def spy(*args, **kwargs):
        seen.append(kwargs.get("rng"))
        return real_svds(*args, **kwargs)

    monkeypatch.setattr(movielens, "svds", spy)
    first, second = (movielens_lists(data, graph, params()).lists for _ in range(2))
    assert all(isinstance(rng, np.random.Generator) for rng in seen) and len(seen) == 2
    np.testing.assert_array_equal(first.scores, second.scores)
    np.testing.assert_array_equal(first.items, second.items)


def test_disabled_or_missing_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HERMES_SHARED_DATA", raising=False)
    assert movielens_root(params(movielens={"enabled": False})) is None
    with pytest.raises(MissingDataError, match="rerank.movielens.path"):
        movielens_root(params(movielens={"path": str(tmp_path / "nowhere")}))


ML_100K = shared_data_dir() / "ml-100k"


@pytest.mark.shared_data
@pytest.mark.skipif(not (ML_100K / "u.data").is_file() or not (shared_data_dir() / "ml-100k-kg" / "ml-100k.kg").is_file(),
                    reason=f"MovieLens 100K or its knowledge graph not in {shared_data_dir()}")
def test_real_movielens_100k() -> None:
    block = RerankParams()
    built = movielens_lists(ML_100K, shared_data_dir() / "ml-100k-kg", block)
    summary = built.summary
    # 943 users and 1,682 films (README); 1,590 films have a director in the KB4Rec graph and 1,131
    # directors are named (counted when this test was written); the top 20% of them is round(226.2)
    assert (summary["users"], summary["items"]) == (943, 1682)
    assert (summary["items_with_director"], summary["directors"], summary["mainstream_directors"]) == (1590, 1131, 226)
    # the hold-out rule on the real counts: sum over users of clip(round(0.2 n), 1, n - 1)
    counts = read_ratings(ML_100K).groupby("user").size().to_numpy()
    assert summary["held_out_ratings"] == int(np.clip(np.rint(0.2 * counts), 1, counts - 1).sum())
    assert summary["training_ratings"] + summary["held_out_ratings"] == 100_000
    assert built.lists.items.shape == (943, 200) and built.lists.mask.all()
    assert built.lists.n_items == summary["items_with_director"]  # the Gini's catalogue
