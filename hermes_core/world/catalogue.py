"""Creators and items of the synthetic world.

Generative story (all draws from the ``numpy.random.Generator`` passed in):

- creator c has a domain, a cohort (mainstream with probability ``mainstream_share``) and a
  log-popularity ``log_pop_c ~ N(boost * [mainstream], popularity_sigma^2)``, heavy-tailed
  on the popularity scale; a theme prior and a visual-style prior (its "signature");
- item i belongs to a creator and a genre of the creator's domain; its textual latent
  ``text_i ~ Dirichlet(0.3 + 2 * 1[theme favoured by genre] + 2 * creator theme prior)`` over
  16 themes, its visual latent ``visual_i ~ Dirichlet(0.3 + 3 * creator style prior)`` over 8
  styles, a hidden latent ``hidden_i ~ N(0, I_H)`` that no content reveals, and
  ``log_pop_i = log_pop_c + N(0, 0.5^2)``;
- creator c also has a taste factor ``z_c ~ N(0, I_4)``: users' taste for the creator
  (:mod:`hermes_core.world.preferences`), carried in part to its collaborators;
- a share ``cold_item_share`` of items is created after the logging window (cold items).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hermes_core.world.params import DOMAINS, WorldParams
from hermes_core.world.population import CREATOR_TASTE_DIM
from hermes_core.world.vocabulary import (
    DOMAIN_NOUNS,
    GENRES,
    NAME_SYLLABLES,
    THEME_NAMES,
    THEMES,
    TITLE_ADJECTIVES,
    TITLE_NOUNS,
    VISUAL_STYLE_NAMES,
)

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class Creators:
    domain: np.ndarray  # (n_creators,) domain index
    mainstream: np.ndarray  # (n_creators,) bool
    log_popularity: np.ndarray  # (n_creators,)
    theme_prior: np.ndarray  # (n_creators, 16)
    style_prior: np.ndarray  # (n_creators, 8)
    names: tuple[str, ...]
    taste_latent: np.ndarray  # (n_creators, CREATOR_TASTE_DIM) own factor of users' taste for the creator


@dataclass(frozen=True)
class Catalogue:
    domain: np.ndarray  # (n_items,) domain index into DOMAINS
    creator: np.ndarray  # (n_items,) creator index
    genre: np.ndarray  # (n_items,) genre index within its domain
    text_latent: np.ndarray  # (n_items, 16) on the simplex
    visual_latent: np.ndarray  # (n_items, 8) on the simplex
    hidden_latent: np.ndarray  # (n_items, H)
    log_popularity: np.ndarray  # (n_items,)
    created_at: np.ndarray  # (n_items,) seconds since the world's start (negative: before)
    is_cold: np.ndarray  # (n_items,) bool
    year: np.ndarray  # (n_items,) int (movies; release year of the others too)
    price: np.ndarray  # (n_items,) float, > 0 (meaningful for products)
    dense_features: np.ndarray  # (n_items, dense_dim)
    titles: tuple[str, ...]
    descriptions: tuple[str, ...]
    albums: tuple[str, ...]
    injected: np.ndarray  # (n_items,) bool: the description carries planted instructions (world.injections)


def _name(rng: np.random.Generator, n_syllables: int) -> str:
    parts = rng.choice(len(NAME_SYLLABLES), size=n_syllables)
    return "".join(NAME_SYLLABLES[p] for p in parts).capitalize()


def generate_creators(params: WorldParams, rng: np.random.Generator) -> Creators:
    """Creators spread over the domains in proportion to the domain shares."""
    shares = np.array([getattr(params.domain_shares, d) for d in DOMAINS])
    domain = rng.choice(len(DOMAINS), size=params.n_creators, p=shares)
    # every domain with items needs at least one creator
    for d in np.flatnonzero(shares > 0):
        if not np.any(domain == d):
            domain[rng.integers(params.n_creators)] = d
    mainstream = rng.random(params.n_creators) < params.mainstream_share
    log_popularity = params.mainstream_boost * mainstream + params.popularity_sigma * rng.standard_normal(
        params.n_creators
    )
    theme_prior = rng.dirichlet(np.full(len(THEME_NAMES), 0.4), size=params.n_creators)
    style_prior = rng.dirichlet(np.full(len(VISUAL_STYLE_NAMES), 0.4), size=params.n_creators)
    names = tuple(f"{_name(rng, 2)} {_name(rng, 3)}" for _ in range(params.n_creators))
    taste_latent = rng.standard_normal((params.n_creators, CREATOR_TASTE_DIM))
    return Creators(domain, mainstream, log_popularity, theme_prior, style_prior, names, taste_latent)


def describe_item(domain: str, text_latent: np.ndarray, rng: np.random.Generator) -> str:
    """A description written from the item's strongest themes.

    Each of 6-9 phrases picks a theme with probability proportional to ``text_latent**1.5``
    and then one of the theme's phrases, so frequent words mirror the latent's mass.
    """
    weights = text_latent**1.5
    weights = weights / weights.sum()
    n_phrases = int(rng.integers(6, 10))
    themes = rng.choice(len(THEME_NAMES), size=n_phrases, p=weights)
    phrases: list[str] = []
    for t in themes:
        vocabulary = THEMES[THEME_NAMES[t]]
        phrase = vocabulary[int(rng.integers(len(vocabulary)))]
        if phrase not in phrases:
            phrases.append(phrase)
    noun = DOMAIN_NOUNS[domain][int(rng.integers(len(DOMAIN_NOUNS[domain])))]
    head, tail = phrases[:3], phrases[3:]
    sentence = f"{noun} about {', '.join(head[:-1])} and {head[-1]}." if len(head) > 1 else f"{noun} about {head[0]}."
    if tail:
        sentence += f" It also touches on {', '.join(tail)}."
    return sentence


def generate_catalogue(params: WorldParams, creators: Creators, rng: np.random.Generator) -> Catalogue:
    """Items, their latents, attributes, titles and descriptions."""
    n = params.n_items
    shares = np.array([getattr(params.domain_shares, d) for d in DOMAINS])
    domain = rng.choice(len(DOMAINS), size=n, p=shares)
    creator = np.empty(n, dtype=np.int64)
    creator_weights = np.exp(0.5 * creators.log_popularity)  # popular creators make more items
    for d in range(len(DOMAINS)):
        members = np.flatnonzero(domain == d)
        pool = np.flatnonzero(creators.domain == d)
        if len(members) == 0:
            continue
        if len(pool) == 0:  # a domain without creators: borrow any creator, re-labelled below
            pool = np.arange(len(creators.domain))
        p = creator_weights[pool] / creator_weights[pool].sum()
        creator[members] = pool[rng.choice(len(pool), size=len(members), p=p)]
    domain = creators.domain[creator]  # an item lives in its creator's domain

    n_genres = 8
    genre = rng.integers(n_genres, size=n)
    theme_index = {name: k for k, name in enumerate(THEME_NAMES)}
    genre_bonus = np.zeros((len(DOMAINS), n_genres, len(THEME_NAMES)))
    for d, dname in enumerate(DOMAINS):
        for g, favoured in enumerate(GENRES[dname].values()):
            genre_bonus[d, g, [theme_index[t] for t in favoured]] = 2.0
    text_alpha = 0.3 + genre_bonus[domain, genre] + 2.0 * creators.theme_prior[creator]
    text_latent = np.vstack([rng.dirichlet(a) for a in text_alpha])
    visual_alpha = 0.3 + 3.0 * creators.style_prior[creator]
    visual_latent = np.vstack([rng.dirichlet(a) for a in visual_alpha])
    hidden_latent = rng.standard_normal((n, params.hidden_dim))
    log_popularity = creators.log_popularity[creator] + 0.5 * rng.standard_normal(n)

    is_cold = rng.random(n) < params.cold_item_share
    log_seconds = params.log_days * SECONDS_PER_DAY
    cold_seconds = params.cold_window_days * SECONDS_PER_DAY
    warm_created = -rng.uniform(1.0, 5.0 * 365.0, size=n) * SECONDS_PER_DAY
    cold_created = log_seconds + rng.uniform(0.01, 1.0, size=n) * cold_seconds
    created_at = np.where(is_cold, cold_created, warm_created)
    year = 2025 - rng.integers(0, 40, size=n)
    year = np.where(is_cold, 2025, year)
    price = np.round(np.exp(rng.normal(3.2, 0.9, size=n)), 2)

    # Dense side features are a noisy projection of the *content* latents only: the hidden factor is
    # collaborative-only by definition, and projecting it too let a linear fit of the dense features
    # recover it at R^2 0.93 (issue 9). The projection keeps its full shape (hidden rows unused) so
    # every later draw of this stream is unchanged.
    latents = np.hstack([visual_latent, text_latent, hidden_latent])
    projection = rng.standard_normal((latents.shape[1], params.dense_dim)) / np.sqrt(latents.shape[1])
    n_content = visual_latent.shape[1] + text_latent.shape[1]
    dense_features = latents[:, :n_content] @ projection[:n_content] + 0.1 * rng.standard_normal((n, params.dense_dim))

    titles: list[str] = []
    descriptions: list[str] = []
    albums: list[str] = []
    for i in range(n):
        dname = DOMAINS[domain[i]]
        top_theme = THEME_NAMES[int(np.argmax(text_latent[i]))]
        adjective = TITLE_ADJECTIVES[int(rng.integers(len(TITLE_ADJECTIVES)))]
        noun = TITLE_NOUNS[int(rng.integers(len(TITLE_NOUNS)))]
        titles.append(f"The {adjective} {noun}" if rng.random() < 0.5 else f"{adjective} {noun}: {top_theme.title()}")
        descriptions.append(describe_item(dname, text_latent[i], rng))
        albums.append(f"{TITLE_NOUNS[int(rng.integers(len(TITLE_NOUNS)))]} {_name(rng, 2)}")
    return Catalogue(
        domain=domain,
        creator=creator,
        genre=genre,
        text_latent=text_latent,
        visual_latent=visual_latent,
        hidden_latent=hidden_latent,
        log_popularity=log_popularity,
        created_at=created_at,
        is_cold=is_cold,
        year=year.astype(np.int64),
        price=price,
        dense_features=dense_features,
        titles=tuple(titles),
        descriptions=tuple(descriptions),
        albums=tuple(albums),
        injected=np.zeros(n, dtype=bool),
    )


def genre_name(domain_index: int, genre_index: int) -> str:
    """The name of genre ``genre_index`` of domain ``domain_index``."""
    return list(GENRES[DOMAINS[domain_index]])[genre_index]
