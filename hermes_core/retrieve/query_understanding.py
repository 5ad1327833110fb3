"""Query understanding: the explicit constraints of a text query (domain, genre, years, creator, price).

A :class:`ConstraintExtractor` is an entity recogniser built from a catalogue's own vocabulary
(domain nouns, genre names per domain, creator names) plus the number patterns of
:mod:`.numeric_constraints`. Names are matched on tokens (lower case, accents and punctuation
dropped, so "Hip hop" finds "hip-hop"), longest match first, creators only as whole names.

Three rules keep topics and exclusions from reading as constraints:

- *topic clauses*: words after "about", "concerning" or "regarding", up to the next constraint cue
  ("by", "from", "under", "between", a cued year or price ...) or the end of the sentence, say what
  the item is about, not what it is ("movies about a jazz club" asks for no jazz genre, "news about
  mental health" for no health topic): names and uncued numbers inside them are skipped;
- *exclusions*: a name or number right after "not", "no", "except", "excluding", "without" or
  "never" ("movies not from the 90s", "no horror") is dropped, since a range or a single name
  cannot say "anything but";
- *agreement*: the genre must belong to the domain; when several domains are named, the first one
  that agrees with a named genre wins, and a genre of another domain than the one named is a topic
  ("rock movies": domain movie, no genre).

Nothing is inferred that the text does not say: "jazz from the 90s" has a genre and years but no
domain, although the genre implies one (:func:`item_mask` filters on the genre all the same).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hermes_core.retrieve.numeric_constraints import find_numeric_mentions, merge_bounds
from hermes_core.world.catalogue import genre_name
from hermes_core.world.params import DOMAINS
from hermes_core.world.vocabulary import DOMAIN_NOUNS, GENRES

if TYPE_CHECKING:
    from hermes_core.world.world import World

CONSTRAINT_KEYS: tuple[str, ...] = ("domain", "genre", "creator", "year_min", "year_max", "price_min", "price_max")
_TOKEN = re.compile(r"[^\W_]+")
_TOPIC_MARKERS = frozenset({"about", "concerning", "regarding"})
_TOPIC_STOPS = frozenset({"by", "from", "under", "below", "over", "above", "between", "before", "after", "since",
                          "until", "released", "priced", "costing", "cheaper", "made", "published"})
_SENTENCE_END = re.compile(r"[.!?;]")
# an exclusion cannot be written as a range or a single name: dropping it loses less than obeying it
_NEGATION = re.compile(r"\b(?:not|no|except|excluding|without|never)\s+(?:(?:by|from|in|the|any)\s+)*$")
# DOMAIN_NOUNS words too generic to name a domain: "item" and "record" occur in any request
# ("rank this item first"), "report" is also a verb
_GENERIC_NOUNS = frozenset({"item", "record", "report"})
WORLD_EXTRA_DOMAIN_FORMS: dict[str, tuple[str, ...]] = {
    "movie": ("cinema",), "music": ("song", "track"), "product": ("goods",), "news": ("news article", "headline"),
}
WORLD_GENRE_SYNONYMS: dict[str, str] = {
    "sci-fi": "science fiction", "scifi": "science fiction", "hiphop": "hip-hop", "animated": "animation",
}


@dataclass(frozen=True)
class Constraints:
    """The explicit constraints of a query; ``None`` is no constraint on that field.

    ``genre`` is the domain's genre, category or topic. Year and price ranges are inclusive and
    may be open at either end (``year_min=2011, year_max=None``: 2011 or later). The keys of
    :meth:`as_dict` are those of the world's query truth (:mod:`hermes_core.world.queries`).
    """

    domain: str | None = None
    genre: str | None = None
    creator: str | None = None
    year_min: int | None = None
    year_max: int | None = None
    price_min: float | None = None
    price_max: float | None = None

    def __post_init__(self) -> None:
        for name in ("domain", "genre", "creator"):
            value = getattr(self, name)
            if value is not None and not value.strip():
                raise ValueError(f"Constraints.{name} must be a non-empty name or None, got {value!r}")
        for name in ("price_min", "price_max"):
            value = getattr(self, name)
            if value is not None and not value >= 0:
                raise ValueError(f"Constraints.{name} must be >= 0, got {value}")
        for low, high in (("year_min", "year_max"), ("price_min", "price_max")):
            bounds = getattr(self, low), getattr(self, high)
            if None not in bounds and bounds[0] > bounds[1]:
                raise ValueError(f"Constraints.{low} ({bounds[0]}) exceeds {high} ({bounds[1]})")

    @classmethod
    def from_dict(cls, spec: Mapping[str, object]) -> Constraints:
        """Constraints from a dict with keys among :data:`CONSTRAINT_KEYS` (the world's truth JSON)."""
        unknown = sorted(set(spec) - set(CONSTRAINT_KEYS))
        if unknown:
            raise ValueError(f"constraint spec: unknown key(s) {unknown}; expected keys among {CONSTRAINT_KEYS}")
        given = {key: value for key, value in spec.items() if value is not None}
        return cls(
            **{key: str(given[key]) for key in ("domain", "genre", "creator") if key in given},
            **{key: int(given[key]) for key in ("year_min", "year_max") if key in given},  # type: ignore[call-overload]
            **{key: float(given[key]) for key in ("price_min", "price_max") if key in given},  # type: ignore[arg-type]
        )

    def as_dict(self) -> dict[str, object]:
        """The constraints that are set, keyed as :data:`CONSTRAINT_KEYS`; ``{}`` when there are none."""
        return {key: getattr(self, key) for key in CONSTRAINT_KEYS if getattr(self, key) is not None}

    @property
    def is_empty(self) -> bool:
        """True when no field is constrained."""
        return not self.as_dict()


def normalise(text: str) -> str:
    """Lower case without accents, with typographic dashes and apostrophes made plain."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return plain.casefold().replace("\u2013", "-").replace("\u2014", "-").replace("\u2019", "'")


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(normalise(text)))


def _plural(form: str) -> str:
    if re.search(r"[^aeiou]y$", form):
        return form[:-1] + "ies"
    if re.search(r"(?:s|x|ch|sh)$", form):
        return form + "es"
    return form + "s"


@dataclass(frozen=True)
class _Entry:
    kind: str  # "genre", "domain" or "creator", the priority order on a tie
    value: str  # the canonical name
    domains: frozenset[str]  # a genre's domains; empty for domains and creators


@dataclass(frozen=True)
class _Mention:
    entry: _Entry
    start: int  # character span in the normalised text
    end: int


_KIND_RANK = {"genre": 0, "domain": 1, "creator": 2}


def _inside(spans: list[tuple[int, int]], start: int) -> bool:
    return any(low <= start < high for low, high in spans)


def _negated(text: str, start: int) -> bool:
    return _NEGATION.search(text, max(0, start - 30), start) is not None


class ConstraintExtractor:
    """An entity recogniser for query constraints, built from plain vocabulary lists.

    Parameters
    ----------
    domains
        Domain name -> extra surface forms ("movie" -> ("film", "feature film")); the name and
        the plural of every form are added.
    genres
        Domain name -> its genre (category, topic) names; the plural of each name is added unless
        it is another name ("electronic" + s is the product category "electronics").
    creators
        Creator names (directors, artists, brands, outlets), matched only as whole names.
    genre_synonyms
        Surface form -> genre name ("sci-fi" -> "science fiction").
    year_bounds
        Inclusive range of a bare four-digit number read as a year.
    """

    def __init__(self, domains: Mapping[str, Sequence[str]], genres: Mapping[str, Sequence[str]],
                 creators: Sequence[str] = (), genre_synonyms: Mapping[str, str] | None = None,
                 year_bounds: tuple[int, int] = (1870, 2100)) -> None:
        if year_bounds[0] > year_bounds[1]:
            raise ValueError(f"year_bounds: low {year_bounds[0]} exceeds high {year_bounds[1]}")
        self.year_bounds = year_bounds
        exact: dict[tuple[str, ...], _Entry] = {}
        variants: dict[tuple[str, ...], _Entry | None] = {}  # None: two names claim the variant
        for domain, forms in domains.items():
            for position, form in enumerate((domain, *forms)):
                key = self._key(form, f"domains[{domain!r}]" + ("" if position == 0 else f" form {position - 1}"))
                entry = _Entry("domain", domain, frozenset())
                if key in exact and exact[key] != entry:
                    raise ValueError(f"domains: form {form!r} names both {exact[key].value!r} and {domain!r}")
                exact[key] = entry
                self._offer(variants, _tokens(_plural(form)), entry)
        genre_domains: dict[str, set[str]] = {}
        for domain, names in genres.items():
            if domain not in domains:
                raise ValueError(f"genres: domain {domain!r} is not among domains {sorted(domains)}")
            for position, name in enumerate(names):
                self._key(name, f"genres[{domain!r}][{position}]")
                genre_domains.setdefault(name, set()).add(domain)
        synonyms = dict(genre_synonyms or {})
        for form, name in synonyms.items():
            if name not in genre_domains:
                raise ValueError(f"genre_synonyms[{form!r}]: {name!r} is not a genre of any domain")
        for name, owners in genre_domains.items():
            entry = _Entry("genre", name, frozenset(owners))
            forms = [name] + [form for form, target in synonyms.items() if target == name]
            for form in forms:
                self._claim(exact, self._key(form, f"genre_synonyms[{form!r}]"), entry)
                self._offer(variants, _tokens(_plural(form)), entry)
        for position, name in enumerate(creators):
            self._claim(exact, self._key(name, f"creators[{position}]"), _Entry("creator", name, frozenset()))
        self._names = {key: entry for key, entry in variants.items() if entry is not None and key not in exact}
        self._names.update(exact)
        self._longest = max((len(key) for key in self._names), default=1)

    @staticmethod
    def _key(name: str, where: str) -> tuple[str, ...]:
        key = _tokens(name)
        if not key:
            raise ValueError(f"{where}: name {name!r} is empty or has no letters or digits")
        return key

    @staticmethod
    def _offer(variants: dict[tuple[str, ...], _Entry | None], key: tuple[str, ...], entry: _Entry) -> None:
        """A derived form (a plural) stands for ``entry`` unless another name derives it too."""
        variants[key] = entry if variants.get(key, entry) == entry else None

    @staticmethod
    def _claim(names: dict[tuple[str, ...], _Entry], key: tuple[str, ...], entry: _Entry) -> None:
        held = names.get(key)
        if held is None or _KIND_RANK[entry.kind] < _KIND_RANK[held.kind]:
            names[key] = entry

    @classmethod
    def from_world(cls, world: World) -> ConstraintExtractor:
        """The recogniser of the synthetic world: its domain nouns, genres and creator names."""
        domains = {}
        for domain in DOMAINS:
            nouns = [noun.split(" ", 1)[1].lower() for noun in DOMAIN_NOUNS[domain]]
            domains[domain] = (*(noun for noun in nouns if noun not in _GENERIC_NOUNS), *WORLD_EXTRA_DOMAIN_FORMS[domain])
        genres = {domain: tuple(GENRES[domain]) for domain in DOMAINS}
        return cls(domains, genres, world.creators.names, WORLD_GENRE_SYNONYMS)

    def _mentions(self, text: str, skip: list[tuple[int, int]]) -> list[_Mention]:
        """Vocabulary names in ``text``, longest match first, none overlapping a ``skip`` span."""
        tokens = [token for token in _TOKEN.finditer(text)
                  if not any(a < token.end() and token.start() < b for a, b in skip)]
        found: list[_Mention] = []
        index = 0
        while index < len(tokens):
            for length in range(min(self._longest, len(tokens) - index), 0, -1):
                window = tokens[index:index + length]
                # a name's tokens must be adjacent in the text: no skipped number between them
                if any(text[left.end():right.start()].strip(" -'") for left, right in zip(window, window[1:])):
                    continue
                entry = self._names.get(tuple(token.group() for token in window))
                if entry is not None:
                    found.append(_Mention(entry, window[0].start(), window[-1].end()))
                    index += length
                    break
            else:
                index += 1
        return found

    @staticmethod
    def _topic_spans(text: str, cued_starts: list[int]) -> list[tuple[int, int]]:
        spans = []
        for marker in _TOKEN.finditer(text):
            if marker.group() not in _TOPIC_MARKERS:
                continue
            ends = [len(text)] + [start for start in cued_starts if start > marker.end()]
            ends += [m.start() for m in _TOKEN.finditer(text, marker.end()) if m.group() in _TOPIC_STOPS][:1]
            ends += [m.start() for m in _SENTENCE_END.finditer(text, marker.end())][:1]
            spans.append((marker.start(), min(ends)))
        return spans

    def extract(self, text: str) -> Constraints:
        """The explicit constraints of a query text (see the module docstring for the rules)."""
        plain = normalise(text)
        numbers = find_numeric_mentions(plain, self.year_bounds)
        topics = self._topic_spans(plain, [m.start for m in numbers if m.cued])
        found = [m for m in numbers if m.cued or not _inside(topics, m.start)]
        names = [m for m in self._mentions(plain, [(m.start, m.end) for m in found])
                 if not _inside(topics, m.start) and not _negated(plain, m.start)]
        numbers = [m for m in found if not _negated(plain, m.start)]
        domains = [m.entry.value for m in names if m.entry.kind == "domain"]
        genres = [m.entry for m in names if m.entry.kind == "genre"]
        creators = [m.entry.value for m in names if m.entry.kind == "creator"]
        domain, genre = (domains[0] if domains else None), None
        for entry in genres:
            agreeing = [d for d in domains if d in entry.domains]
            if agreeing or not domains:
                domain, genre = (agreeing[0] if agreeing else None), entry.value
                break
        years = merge_bounds([(m.low, m.high) for m in numbers if m.field == "year"])
        prices = merge_bounds([(m.low, m.high) for m in numbers if m.field == "price"])
        return Constraints(
            domain=domain, genre=genre, creator=creators[0] if creators else None,
            year_min=None if years is None or years[0] is None else int(years[0]),
            year_max=None if years is None or years[1] is None else int(years[1]),
            price_min=None if prices is None else prices[0], price_max=None if prices is None else prices[1],
        )


@dataclass(frozen=True)
class ItemAttributes:
    """The catalogue fields constraints filter on, one entry per item.

    ``genre`` entries are a name or a tuple of names (MovieLens items have several genres);
    ``None`` (or NaN for ``year`` and ``price``) marks a field the source does not know.
    """

    domain: np.ndarray  # (n_items,) object: domain name or None
    genre: np.ndarray  # (n_items,) object: genre name, tuple of names, or None
    creator: np.ndarray  # (n_items,) object: creator name or None
    year: np.ndarray  # (n_items,) float, NaN when unknown
    price: np.ndarray  # (n_items,) float, NaN when unknown

    def __post_init__(self) -> None:
        n_items = len(self.domain)
        for name in ("genre", "creator", "year", "price"):
            if len(getattr(self, name)) != n_items:
                raise ValueError(f"ItemAttributes.{name} has {len(getattr(self, name))} entries, domain has {n_items}")

    @classmethod
    def from_world(cls, world: World) -> ItemAttributes:
        """Every item of the world with its domain, genre, creator, year and price, as the truth has them."""
        catalogue = world.catalogue
        genres = [genre_name(int(d), int(g)) for d, g in zip(catalogue.domain, catalogue.genre)]
        return cls(
            domain=np.array([DOMAINS[int(d)] for d in catalogue.domain], dtype=object),
            genre=np.array(genres, dtype=object),
            creator=np.array(world.creators.names, dtype=object)[catalogue.creator],
            year=catalogue.year.astype(np.float64),
            price=catalogue.price.astype(np.float64),
        )


def _name_matches(values: np.ndarray, wanted: str, missing: bool) -> np.ndarray:
    target = normalise(wanted)
    return np.array([
        missing if value is None else
        any(normalise(v) == target for v in value) if isinstance(value, tuple) else normalise(value) == target
        for value in values
    ], dtype=bool)


def _in_range(values: np.ndarray, low: float | None, high: float | None, missing: bool) -> np.ndarray:
    known = ~np.isnan(values)
    inside = known.copy()
    if low is not None:
        inside &= np.where(known, values, 0.0) >= low
    if high is not None:
        inside &= np.where(known, values, 0.0) <= high
    return np.where(known, inside, missing)


def item_mask(constraints: Constraints, items: ItemAttributes, keep_missing: bool = False) -> np.ndarray:
    """Items that satisfy every constraint: (n_items,) bool.

    Names compare after :func:`normalise` (case and accents do not matter); ranges are inclusive.
    An item that lacks a constrained field (``None``, NaN) fails that constraint unless
    ``keep_missing``, which lets it through: an unknown year cannot be shown to lie in the range,
    but a recall-oriented candidate source may prefer not to lose it. Unconstrained fields never
    filter, so empty constraints keep every item.
    """
    mask = np.ones(len(items.domain), dtype=bool)
    for name in ("domain", "genre", "creator"):
        wanted = getattr(constraints, name)
        if wanted is not None:
            mask &= _name_matches(getattr(items, name), wanted, keep_missing)
    for name in ("year", "price"):
        low, high = getattr(constraints, f"{name}_min"), getattr(constraints, f"{name}_max")
        if low is not None or high is not None:
            mask &= _in_range(np.asarray(getattr(items, name), dtype=np.float64), low, high, keep_missing)
    return mask


SCORED_FIELDS: tuple[str, ...] = ("domain", "genre", "year", "creator", "price")


def _field_value(constraints: Constraints, field: str) -> object:
    if field in ("year", "price"):
        bounds = (getattr(constraints, f"{field}_min"), getattr(constraints, f"{field}_max"))
        return None if bounds == (None, None) else bounds
    return getattr(constraints, field)


@dataclass(frozen=True)
class ConstraintScores:
    """Precision and recall of extracted constraints, micro-averaged over fields and per field."""

    precision: float  # correct / predicted fields; NaN when nothing was predicted
    recall: float  # correct / true fields; NaN when the truth has no constraint
    n_correct: int
    n_predicted: int
    n_true: int
    per_field: pd.DataFrame  # index SCORED_FIELDS; n_predicted, n_true, n_correct, n_partial, precision, recall


def constraint_precision_recall(predicted: Sequence[Constraints], truth: Sequence[Constraints]) -> ConstraintScores:
    r"""Precision and recall of predicted constraint fields against the true ones.

    The fields are :data:`SCORED_FIELDS`; a year or price range is one field. A field is
    *predicted* when set in the prediction, *true* when set in the truth, and *correct* when set
    in both and equal (a range: both ends equal, an open end only matching an open end).

    .. math::

        P = \frac{\sum_q \sum_f \mathrm{correct}_{q,f}}{\sum_q \sum_f \mathrm{predicted}_{q,f}},
        \qquad
        R = \frac{\sum_q \sum_f \mathrm{correct}_{q,f}}{\sum_q \sum_f \mathrm{true}_{q,f}}

    summed over queries ``q`` and fields ``f`` (micro average); the per-field table sums over
    queries only. A wrong value counts against both precision and recall. A range with one end
    right is wrong too; ``n_partial`` counts such ranges so a reader sees how near they were.
    """
    if len(predicted) != len(truth):
        raise ValueError(f"predicted has {len(predicted)} entries, truth has {len(truth)}")
    rows = []
    for field in SCORED_FIELDS:
        counts = {"n_predicted": 0, "n_true": 0, "n_correct": 0, "n_partial": 0}
        for guess, true in zip(predicted, truth):
            said, meant = _field_value(guess, field), _field_value(true, field)
            counts["n_predicted"] += said is not None
            counts["n_true"] += meant is not None
            counts["n_correct"] += said is not None and said == meant
            if isinstance(said, tuple) and isinstance(meant, tuple) and said != meant:
                counts["n_partial"] += said[0] == meant[0] or said[1] == meant[1]
        rows.append({"field": field, **counts})
    table = pd.DataFrame(rows).set_index("field")
    table["precision"] = table["n_correct"] / table["n_predicted"].where(table["n_predicted"] > 0)
    table["recall"] = table["n_correct"] / table["n_true"].where(table["n_true"] > 0)
    n_correct, n_predicted, n_true = (int(table[column].sum()) for column in ("n_correct", "n_predicted", "n_true"))
    return ConstraintScores(
        precision=n_correct / n_predicted if n_predicted else float("nan"),
        recall=n_correct / n_true if n_true else float("nan"),
        n_correct=n_correct, n_predicted=n_predicted, n_true=n_true, per_field=table,
    )
