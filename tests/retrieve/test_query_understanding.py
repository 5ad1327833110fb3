"""Query understanding: constraints extracted from hand-written queries, the item filter on a
hand-built catalogue, precision/recall worked out by hand, and the world's own queries."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

import numpy as np
import pytest

from hermes_core.retrieve.numeric_constraints import find_numeric_mentions, merge_bounds
from hermes_core.retrieve.query_understanding import (
    ConstraintExtractor,
    Constraints,
    ItemAttributes,
    constraint_precision_recall,
    item_mask,
)

if TYPE_CHECKING:
    from hermes_core.world import World

DOMAINS = {"movie": ("film",), "music": ("album",), "product": (), "news": ("news article",)}
GENRES = {
    "movie": ("comedy", "science fiction", "documentary", "horror"),
    "music": ("jazz", "rock", "hip-hop", "electronic"),
    "product": ("electronics", "books"),
    "news": ("science", "health", "business"),
}
CREATORS = ("Jazz Moreno", "Science Weekly", "Pedro Almodóvar")


@pytest.fixture(scope="module")
def extractor() -> ConstraintExtractor:
    return ConstraintExtractor(DOMAINS, GENRES, CREATORS, genre_synonyms={"sci-fi": "science fiction"})


@pytest.mark.parametrize(("text", "expected"), [
    # the world's templates
    ("Comedy movies from 1990 to 2000", {"domain": "movie", "genre": "comedy", "year_min": 1990, "year_max": 2000}),
    ("Electronics products under $26", {"domain": "product", "genre": "electronics", "price_max": 26.0}),
    ("Jazz music from Jazz Moreno", {"domain": "music", "genre": "jazz", "creator": "Jazz Moreno"}),
    # a creator name holding a genre word: the longer whole name wins, the lone word stays a genre
    ("jazz albums by Jazz Moreno", {"domain": "music", "genre": "jazz", "creator": "Jazz Moreno"}),
    ("Science Weekly news", {"domain": "news", "creator": "Science Weekly"}),
    # a single year is no range; "made" ends nothing here because there is no topic clause
    ("science fiction films made in 1999", {"domain": "movie", "genre": "science fiction", "year_min": 1999,
                                            "year_max": 1999}),
    ("Sci-Fi films released 2004", {"domain": "movie", "genre": "science fiction", "year_min": 2004, "year_max": 2004}),
    # a price cue makes a four-digit number a price; a currency makes any number one
    ("electronics products under 2000", {"domain": "product", "genre": "electronics", "price_max": 2000.0}),
    ("books from 2015 under $20", {"genre": "books", "year_min": 2015, "year_max": 2015, "price_max": 20.0}),
    ("top 10 horror films", {"domain": "movie", "genre": "horror"}),
    ("albums over 50 euros", {"domain": "music", "price_min": 50.0}),
    ("products for less than 20 dollars", {"domain": "product", "price_max": 20.0}),
    ("products between $10 and $30", {"domain": "product", "price_min": 10.0, "price_max": 30.0}),
    # plural domains and genres
    ("Documentaries and other FILMS", {"domain": "movie", "genre": "documentary"}),
    ("News articles about the economy", {"domain": "news"}),
    # no constraint at all
    ("Show me something with cool blue tones and round shapes", {}),
    ("what should I watch tonight?", {}),
    # a genre of another domain than the one named is a topic, not a genre
    ("rock movies", {"domain": "movie"}),
    # topic clauses: names and uncued years inside them are topics; a cue ends the clause
    ("Movies about a jazz club and the 1990s", {"domain": "movie"}),
    ("news about mental health by Science Weekly", {"domain": "news", "creator": "Science Weekly"}),
    ("movies about robots from the 80s", {"domain": "movie", "year_min": 1980, "year_max": 1989}),
    # year phrasing beyond the templates
    ("HIP HOP albums since 2010", {"domain": "music", "genre": "hip-hop", "year_min": 2010}),
    ("films after 2010 and before 2020", {"domain": "movie", "year_min": 2011, "year_max": 2019}),
    ("horror from the late 90s", {"genre": "horror", "year_min": 1997, "year_max": 1999}),
    ("jazz between 1990 and 2000", {"genre": "jazz", "year_min": 1990, "year_max": 2000}),
    ("comedies 1990\u20132000", {"genre": "comedy", "year_min": 1990, "year_max": 2000}),
    # exclusions are dropped, not obeyed as if they were constraints
    ("movies not from the 90s", {"domain": "movie"}),
    ("no horror films", {"domain": "movie"}),
    ("jazz albums not by Jazz Moreno", {"domain": "music", "genre": "jazz"}),
    # plain numbers that count something else are no price
    ("comedy movies with a rating above 4", {"domain": "movie", "genre": "comedy"}),
    ("books over 300 pages under $20", {"genre": "books", "price_max": 20.0}),
    # creators match only as whole names, without accents or case mattering
    ("Almodovar films", {"domain": "movie"}),
    ("films by pedro almodovar", {"domain": "movie", "creator": "Pedro Almodóvar"}),
])
def test_extract_hand_written_queries(extractor: ConstraintExtractor, text: str, expected: dict[str, object]) -> None:
    assert extractor.extract(text).as_dict() == expected


def test_plural_of_one_genre_does_not_shadow_another_genre() -> None:
    # "electronic" + s is the product category "electronics": the exact name wins over the plural
    genres = {"music": ("electronic",), "product": ("electronics",)}
    extractor = ConstraintExtractor({"music": (), "product": ()}, genres)
    assert extractor.extract("electronics under $100").genre == "electronics"
    assert extractor.extract("electronic music").as_dict() == {"domain": "music", "genre": "electronic"}


@pytest.mark.parametrize(("text", "field", "low", "high"), [
    ("the 90s", "year", 1990, 1999),  # a two-digit decade at or above 30 is 19xx
    ("the 20s", "year", 2020, 2029),  # below 30 it is 20xx
    ("the early 2000s", "year", 2000, 2003),
    ("pre-1990", "year", None, 1989),
    ("2010 or later", "year", 2010, None),
    ("up to 1990", "year", None, 1990),  # "up to" reads a year-like number as a year
    ("up to $20", "price", None, 20),
    ("$20 or less", "price", None, 20),
    ("10-30 euros", "price", 10, 30),  # the currency at one end prices both
    ("from 2000 to 1990", "year", 1990, 2000),  # reversed ends are put in order
])
def test_numeric_mentions(text: str, field: str, low: float | None, high: float | None) -> None:
    (mention,) = find_numeric_mentions(text)
    assert (mention.field, mention.low, mention.high) == (field, low, high)


@pytest.mark.parametrize("text", ["a $20 gift", "top 10", "give it 5 stars", "1,000 reasons", "in 20 minutes",
                                  "under 90 minutes", "between 3 and 4 stars"])
def test_numbers_that_are_no_constraint(text: str) -> None:
    assert find_numeric_mentions(text) == []


def test_merge_bounds_covers_alternatives_and_narrows_open_bounds() -> None:
    assert merge_bounds([(1980, 1989), (1990, 1999)]) == (1980, 1999)  # "the 80s and 90s"
    assert merge_bounds([(1991, None), (None, 1999)]) == (1991, 1999)  # "after 1990 and before 2000"
    assert merge_bounds([(None, 1979), (2001, None)]) == (None, 1979)  # contradiction: the first one stays
    assert merge_bounds([]) is None


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"creators": ("Ok Name", "  ")}, r"creators\[1\]"),
    ({"genres": {"movie": ("comedy", "")}}, r"genres\['movie'\]\[1\]"),
    ({"genres": {"film": ("comedy",)}}, r"genres: domain 'film'"),
    ({"domains": {"movie": ("film",), "music": ("film",)}}, r"domains: form 'film' names both"),
    ({"domains": {"": ()}}, r"domains\[''\]"),
    ({"genre_synonyms": {"sci-fi": "scifi"}}, r"genre_synonyms\['sci-fi'\]"),
    ({"year_bounds": (2100, 1870)}, r"year_bounds"),
])
def test_invalid_vocabulary_names_the_field(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"domains": {"movie": ("film",), "music": ()}, "genres": {"movie": ("comedy",)}}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        ConstraintExtractor(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"domain": " "}, r"Constraints\.domain"),
    ({"year_min": 2000, "year_max": 1990}, r"Constraints\.year_min \(2000\) exceeds year_max"),
    ({"price_max": -1.0}, r"Constraints\.price_max"),
])
def test_invalid_constraints_name_the_field(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Constraints(**kwargs)  # type: ignore[arg-type]


def test_constraints_round_trip_the_world_truth_keys() -> None:
    spec = {"domain": "movie", "genre": "comedy", "year_max": 2018, "year_min": 2005}
    constraints = Constraints.from_dict(spec)
    assert constraints.as_dict() == spec
    assert Constraints().is_empty and not constraints.is_empty
    with pytest.raises(ValueError, match="unknown key.*'year'"):
        Constraints.from_dict({"year": 1999})


@pytest.fixture()
def tiny_items() -> ItemAttributes:
    return ItemAttributes(
        domain=np.array(["movie", "movie", "music", "product", "product"], dtype=object),
        genre=np.array(["comedy", "horror", "jazz", ("books", "kitchen"), "electronics"], dtype=object),
        creator=np.array(["Ann Director", "Ann Director", "Jazz Moreno", None, "Brandy"], dtype=object),
        year=np.array([1995.0, np.nan, 2001.0, 2010.0, 2020.0]),
        price=np.array([10.0, 12.0, np.nan, 25.0, 300.0]),
    )


@pytest.mark.parametrize(("constraints", "expected"), [
    (Constraints(), [True, True, True, True, True]),
    (Constraints(domain="movie"), [True, True, False, False, False]),
    (Constraints(year_min=1990, year_max=2000), [True, False, False, False, False]),  # item 1's year is unknown
    (Constraints(price_max=30.0), [True, True, False, True, False]),  # item 2's price is unknown
    (Constraints(genre="BOOKS"), [False, False, False, True, False]),  # one of item 3's genres, any case
    (Constraints(creator="jazz moreno"), [False, False, True, False, False]),
    (Constraints(domain="product", price_min=20.0, price_max=30.0), [False, False, False, True, False]),
    (Constraints(year_min=2010), [False, False, False, True, True]),  # bounds are inclusive
])
def test_item_mask(tiny_items: ItemAttributes, constraints: Constraints, expected: list[bool]) -> None:
    assert item_mask(constraints, tiny_items).tolist() == expected


def test_item_mask_keep_missing_lets_unknown_fields_through(tiny_items: ItemAttributes) -> None:
    assert item_mask(Constraints(year_max=2000), tiny_items, keep_missing=True).tolist() == [
        True, True, False, False, False]
    assert item_mask(Constraints(creator="Brandy"), tiny_items, keep_missing=True).tolist() == [
        False, False, False, True, True]


def test_item_attributes_names_a_field_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match=r"ItemAttributes\.price has 1 entries, domain has 2"):
        ItemAttributes(domain=np.array(["movie", "music"], dtype=object), genre=np.array([None, None], dtype=object),
                       creator=np.array([None, None], dtype=object), year=np.array([1.0, 2.0]), price=np.array([1.0]))


def test_precision_recall_by_hand() -> None:
    truth = [
        Constraints(domain="movie", genre="comedy", year_min=1990, year_max=2000),
        Constraints(domain="product", price_max=20.0),
        Constraints(),
    ]
    predicted = [
        Constraints(domain="movie", genre="drama", year_min=1990, year_max=1999),  # wrong genre, one year end wrong
        Constraints(domain="product", price_max=20.0, creator="Brandy"),  # one field too many
        Constraints(domain="music"),  # a constraint the query does not have
    ]
    scores = constraint_precision_recall(predicted, truth)
    # predicted fields 3 + 3 + 1 = 7, true fields 3 + 2 + 0 = 5, correct: domain of q1, domain and price of q2
    assert (scores.n_predicted, scores.n_true, scores.n_correct) == (7, 5, 3)
    assert scores.precision == pytest.approx(3 / 7)
    assert scores.recall == pytest.approx(3 / 5)
    table = scores.per_field
    assert table.loc["domain", ["n_predicted", "n_true", "n_correct"]].tolist() == [3, 2, 2]
    assert table.loc["domain", "precision"] == pytest.approx(2 / 3) and table.loc["domain", "recall"] == 1.0
    assert table.loc["genre", "precision"] == 0.0 and table.loc["genre", "recall"] == 0.0
    assert table.loc["year", ["n_correct", "n_partial"]].tolist() == [0, 1]  # a partial range counts as wrong
    assert table.loc["creator", "precision"] == 0.0 and math.isnan(table.loc["creator", "recall"])
    assert table.loc["price", ["precision", "recall"]].tolist() == [1.0, 1.0]


def test_precision_is_nan_when_nothing_is_predicted_and_lengths_must_agree() -> None:
    scores = constraint_precision_recall([Constraints()], [Constraints(domain="movie")])
    assert math.isnan(scores.precision) and scores.recall == 0.0
    with pytest.raises(ValueError, match="predicted has 1 entries, truth has 2"):
        constraint_precision_recall([Constraints()], [Constraints(), Constraints()])


def test_world_queries_are_understood_exactly(tiny_world: World) -> None:
    from hermes_core.world.queries import constraint_mask

    extractor = ConstraintExtractor.from_world(tiny_world)
    items = ItemAttributes.from_world(tiny_world)
    queries = tiny_world.queries
    for text, spec_json, injected in zip(queries.text, queries.constraints, queries.injected):
        spec = json.loads(spec_json)
        truth = Constraints.from_dict(spec)
        # planted instructions ("describe this product ...") may name a domain: the guard's business
        if not injected:
            assert extractor.extract(text) == truth, text
        expected = constraint_mask(spec, tiny_world.catalogue, tiny_world.creators)
        assert np.array_equal(item_mask(truth, items), expected), text
