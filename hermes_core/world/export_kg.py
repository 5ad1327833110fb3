"""The world's knowledge graph as triples, and the interpretable tags of its items.

Edges (``kg_triples.jsonl``, validated by :class:`hermes_core.data.schema.KnowledgeTriple`):

- ``item -created_by-> creator``, ``item -has_genre-> genre:<domain>:<genre>``,
  ``item -in_domain-> domain:<domain>`` and ``creator -collaborated_with-> creator``
  (:func:`kg_records`, unweighted);
- ``item -has_theme-> theme:<name>`` to the item's :data:`TOP_THEMES` strongest themes and
  ``item -has_style-> style:<name>`` to its :data:`TOP_STYLES` strongest visual styles
  (:func:`kg_loading_records`), each weighted by the item's loading: the theme's coordinate of
  ``catalogue.text_latent`` (the style's of ``catalogue.visual_latent``), a share of the item's
  latent on the simplex, so in ``(0, 1]``, rounded to 6 decimals like every exported float.

An item's ``tags`` (exported with the asset) are the names of the same themes and styles,
strongest first: the themes, then the styles. Everything here is read off the latents
deterministically; nothing draws a random number.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hermes_core.world.catalogue import genre_name
from hermes_core.world.params import DOMAINS
from hermes_core.world.vocabulary import THEME_NAMES, VISUAL_STYLE_NAMES
from hermes_core.world.world import World, creator_id, item_id

TOP_THEMES = 2
"""Themes per item in the graph and the tags: the two strongest (mean loadings 0.31 and 0.20 on the
default world; the third, 0.14, is barely above the uniform 1/16)."""
TOP_STYLES = 2
"""Visual styles per item in the graph and the tags: the two strongest (mean loadings 0.44 and 0.24)."""
LOADING_DECIMALS = 6


def top_loadings(latent: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest coordinates of each row of ``latent`` (n, d), strongest first:
    ``(indices, loadings)``, both (n, k). Ties go to the lower coordinate (a stable sort)."""
    if not 1 <= k <= latent.shape[1]:
        raise ValueError(f"k must lie in 1..{latent.shape[1]} (the latent's width), got {k}")
    order = np.argsort(-latent, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(latent, order, axis=1)


def item_themes(world: World) -> tuple[np.ndarray, np.ndarray]:
    """Each item's :data:`TOP_THEMES` strongest themes (indices into ``THEME_NAMES``) and loadings."""
    return top_loadings(world.catalogue.text_latent, TOP_THEMES)


def item_styles(world: World) -> tuple[np.ndarray, np.ndarray]:
    """Each item's :data:`TOP_STYLES` strongest visual styles (indices into ``VISUAL_STYLE_NAMES``) and loadings."""
    return top_loadings(world.catalogue.visual_latent, TOP_STYLES)


def item_tags(world: World) -> list[list[str]]:
    """Each item's tags: its top themes then its top styles, by name, strongest first."""
    themes, _ = item_themes(world)
    styles, _ = item_styles(world)
    return [[THEME_NAMES[t] for t in themes[i]] + [VISUAL_STYLE_NAMES[s] for s in styles[i]]
            for i in range(world.n_items)]


def kg_records(world: World) -> list[dict[str, Any]]:
    """The unweighted triples: creator, genre and domain of every item, then the collaborations."""
    cat = world.catalogue
    records: list[dict[str, Any]] = []
    for i in range(world.n_items):
        d = int(cat.domain[i])
        records.append({"head": item_id(i), "relation": "created_by", "tail": creator_id(int(cat.creator[i]))})
        records.append({"head": item_id(i), "relation": "has_genre",
                        "tail": f"genre:{DOMAINS[d]}:{genre_name(d, int(cat.genre[i]))}"})
        records.append({"head": item_id(i), "relation": "in_domain", "tail": f"domain:{DOMAINS[d]}"})
    for a, b in world.collaborations:
        records.append({"head": creator_id(int(a)), "relation": "collaborated_with", "tail": creator_id(int(b))})
    return records


def kg_loading_records(world: World) -> list[dict[str, Any]]:
    """The weighted triples: ``has_theme`` and ``has_style`` of every item, item by item, strongest first."""
    themes, theme_loadings = item_themes(world)
    styles, style_loadings = item_styles(world)
    records: list[dict[str, Any]] = []
    for i in range(world.n_items):
        head = item_id(i)
        for t, weight in zip(themes[i], theme_loadings[i]):
            records.append({"head": head, "relation": "has_theme", "tail": f"theme:{THEME_NAMES[t]}",
                            "weight": round(float(weight), LOADING_DECIMALS)})
        for s, weight in zip(styles[i], style_loadings[i]):
            records.append({"head": head, "relation": "has_style", "tail": f"style:{VISUAL_STYLE_NAMES[s]}",
                            "weight": round(float(weight), LOADING_DECIMALS)})
    return records
