"""Text queries with known intent, and the knowledge graph's triples.

Three kinds of query, in equal shares:

- ``visual``: names one colour style and one shape/texture style ("something with cool
  blue tones and round shapes"); its target is a visual-style vector;
- ``content``: names two themes in a domain ("a movie about robots and a bank heist");
  its target is a theme vector;
- ``constraint``: names explicit constraints (domain and genre, plus a year range, a
  creator or a price cap); its relevant items are exactly those that satisfy them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from hermes_core.world.params import DOMAINS, WorldParams
from hermes_core.world.catalogue import Catalogue, Creators, genre_name
from hermes_core.world.vocabulary import (
    COLOUR_STYLES,
    THEME_NAMES,
    THEMES,
    VISUAL_STYLE_NAMES,
    VISUAL_STYLES,
)

QUERY_KINDS: tuple[str, ...] = ("visual", "content", "constraint")
_PLURAL = {"movie": "movies", "music": "albums", "product": "products", "news": "news articles"}


@dataclass(frozen=True)
class Queries:
    kind: tuple[str, ...]
    text: tuple[str, ...]
    user: np.ndarray  # (n_queries,) issuing user
    timestamp: np.ndarray  # (n_queries,) seconds since the start
    target_visual: np.ndarray  # (n_queries, 8) zero unless visual
    target_text: np.ndarray  # (n_queries, 16) zero unless content
    constraints: tuple[str, ...]  # JSON text: {"domain": ..., "genre": ..., ...}
    injected: np.ndarray  # (n_queries,) bool: the text carries planted instructions (world.injections)


def generate_queries(params: WorldParams, catalogue: Catalogue, creators: Creators,
                     rng: np.random.Generator) -> Queries:
    n = params.n_queries
    kinds = tuple(QUERY_KINDS[k % 3] for k in range(n))
    texts: list[str] = []
    constraints: list[str] = []
    target_visual = np.zeros((n, len(VISUAL_STYLE_NAMES)))
    target_text = np.zeros((n, len(THEME_NAMES)))
    shape_styles = [s for s in VISUAL_STYLE_NAMES if s not in COLOUR_STYLES]
    for q, kind in enumerate(kinds):
        anchor = int(rng.integers(len(catalogue.domain)))
        d = int(catalogue.domain[anchor])
        dname = DOMAINS[d]
        if kind == "visual":
            colour = COLOUR_STYLES[int(rng.integers(len(COLOUR_STYLES)))]
            shape = shape_styles[int(rng.integers(len(shape_styles)))]
            words = [VISUAL_STYLES[s][int(rng.integers(3))] for s in (colour, shape)]
            texts.append(f"Show me something with {words[0]} and {words[1]}")
            target_visual[q, VISUAL_STYLE_NAMES.index(colour)] = 0.5
            target_visual[q, VISUAL_STYLE_NAMES.index(shape)] = 0.5
            constraints.append(json.dumps({}))
        elif kind == "content":
            themes = rng.choice(len(THEME_NAMES), size=2, replace=False)
            phrases = [THEMES[THEME_NAMES[t]][int(rng.integers(8))] for t in themes]
            texts.append(f"{_PLURAL[dname].capitalize()} about {phrases[0]} and {phrases[1]}")
            target_text[q, themes] = 0.5
            constraints.append(json.dumps({"domain": dname}))
        else:
            genre = genre_name(d, int(catalogue.genre[anchor]))
            spec: dict[str, object] = {"domain": dname, "genre": genre}
            if dname == "movie":
                low = int(catalogue.year[anchor]) - int(rng.integers(0, 6))
                high = low + int(rng.integers(5, 15))
                spec.update(year_min=low, year_max=high)
                text = f"{genre.capitalize()} movies from {low} to {high}"
            elif dname == "product":
                cap = float(np.ceil(catalogue.price[anchor] * rng.uniform(1.2, 2.5)))
                spec.update(price_max=cap)
                text = f"{genre.capitalize()} products under ${cap:.0f}"
            else:
                creator = int(catalogue.creator[anchor])
                spec.update(creator=creators.names[creator])
                noun = "music" if dname == "music" else "news"
                text = f"{genre.capitalize()} {noun} from {creators.names[creator]}"
            texts.append(text)
            constraints.append(json.dumps(spec, sort_keys=True))
    return Queries(
        kind=kinds,
        text=tuple(texts),
        user=rng.integers(params.n_users, size=n),
        timestamp=rng.uniform(0, params.log_days * 86_400.0, size=n),
        target_visual=target_visual,
        target_text=target_text,
        constraints=tuple(constraints),
        injected=np.zeros(n, dtype=bool),
    )


def constraint_mask(spec: dict[str, object], catalogue: Catalogue, creators: Creators) -> np.ndarray:
    """Items that satisfy every constraint of a query: (n_items,) bool."""
    mask = np.ones(len(catalogue.domain), dtype=bool)
    if "domain" in spec:
        mask &= catalogue.domain == DOMAINS.index(str(spec["domain"]))
    if "genre" in spec:
        names = np.array([genre_name(int(d), int(g)) for d, g in zip(catalogue.domain, catalogue.genre)])
        mask &= names == spec["genre"]
    if "year_min" in spec:
        mask &= catalogue.year >= int(spec["year_min"])  # type: ignore[arg-type]
    if "year_max" in spec:
        mask &= catalogue.year <= int(spec["year_max"])  # type: ignore[arg-type]
    if "price_max" in spec:
        mask &= catalogue.price <= float(spec["price_max"])  # type: ignore[arg-type]
    if "creator" in spec:
        mask &= np.array(creators.names)[catalogue.creator] == spec["creator"]
    return mask


def collaboration_edges(creators: Creators, rng: np.random.Generator, style_bias: float = 0.0) -> np.ndarray:
    """Creator-creator collaborations: (n_edges, 2), within a domain, likelier within a cohort
    and between creators of similar visual style.

    Each creator proposes ``Poisson(1.5)`` partners of its domain, drawn with weights
    ``3^{1[same cohort]} exp(beta cos(style_c, style_c'))`` (``beta = world.collaboration_style_bias``,
    ``style`` the creators' style priors).
    """
    edges: set[tuple[int, int]] = set()
    style = creators.style_prior / np.linalg.norm(creators.style_prior, axis=1, keepdims=True)
    for c in range(len(creators.domain)):
        pool = np.flatnonzero((creators.domain == creators.domain[c]) & (np.arange(len(creators.domain)) != c))
        if len(pool) == 0:
            continue
        weights = np.where(creators.mainstream[pool] == creators.mainstream[c], 3.0, 1.0)
        weights = weights * np.exp(style_bias * (style[pool] @ style[c] - 1.0))
        k = min(len(pool), int(rng.poisson(1.5)))
        for partner in rng.choice(pool, size=k, replace=False, p=weights / weights.sum()):
            edges.add((min(c, int(partner)), max(c, int(partner))))
    return np.array(sorted(edges), dtype=np.int64).reshape(-1, 2)
