"""Multi-hop relevance through the knowledge graph (``hermes_core.world.kg_signals``).

A hand-built graph checks which items each relation reaches (2 hops, 3 through collaborations)
and the lift's arithmetic; on the tiny world the table is recomputed independently from the
catalogue's arrays (creators, collaborations) with loops over users and seeds.
"""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.world import World, creator_id, item_id
from hermes_core.world.kg_signals import hop_lift, kg_hop_lift_table, reach_matrices


def test_reach_by_hand() -> None:
    """Items 0, 1 by creator 0, item 2 by creator 1, item 3 by creator 2; creators 1 and 0 collaborate;
    items 0 and 2 share theme a, item 1 has theme b."""
    triples = [{"head": item_id(i), "relation": "created_by", "tail": creator_id(c)} for i, c in enumerate([0, 0, 1, 2])]
    triples.append({"head": creator_id(1), "relation": "collaborated_with", "tail": creator_id(0)})
    triples += [{"head": item_id(i), "relation": "has_theme", "tail": t, "weight": 0.5}
                for i, t in ((0, "theme:a"), (2, "theme:a"), (1, "theme:b"))]
    reach = reach_matrices(triples, n_items=4, n_creators=3)
    pairs = {relation: sorted(map(tuple, np.argwhere(matrix).tolist())) for relation, matrix in reach.items()}
    assert pairs["created_by"] == [(0, 1), (1, 0)]  # never (i, i)
    assert pairs["has_theme"] == [(0, 2), (2, 0)]
    assert pairs["has_genre"] == [] and pairs["has_style"] == []
    # item -> creator 0 -> creator 1 <- item 2, whichever way the edge was written
    assert pairs["collaborated_with"] == [(0, 2), (1, 2), (2, 0), (2, 1)]


def test_lift_by_hand() -> None:
    """Items 0, 1, 2 in domain 0, item 3 in domain 1; 0-1 and 2-3 reach each other.

    User 0 (relevant: 0, 1): seeds 0 and 1 reach each other, 2 pairs, 2 hits, base rate 2/3 each.
    User 1 (relevant: 0, 3): seed 0 reaches 1 (not relevant, base rate 1/3); 3 <-> 2 cross domains
    and do not count. p = 2/3, base = (2/3 + 2/3 + 1/3)/3 = 5/9, lift = 6/5.
    """
    relevant = np.array([[1, 1, 0, 0], [1, 0, 0, 1]], dtype=bool)
    reach = np.zeros((4, 4), dtype=bool)
    reach[0, 1] = reach[1, 0] = reach[2, 3] = reach[3, 2] = True
    result = hop_lift(relevant, np.array([0, 0, 0, 1]), reach)
    assert result["pairs"] == 3
    assert result["p_relevant"] == pytest.approx(2 / 3)
    assert result["base_rate"] == pytest.approx(5 / 9)
    assert result["lift"] == pytest.approx(1.2)
    assert np.isnan(hop_lift(relevant, np.array([0, 0, 0, 1]), np.zeros((4, 4), dtype=bool))["lift"])


def _loop_lift(world: World, reached_from: list[np.ndarray]) -> tuple[float, float, int]:
    """(p_relevant, base_rate, pairs) by loops over users and seeds; ``reached_from[i]``: items reached from i."""
    relevant = world.relevance(np.arange(world.n_users)) >= 3
    domain = world.catalogue.domain
    hits = base = 0.0
    pairs = 0
    for u in range(world.n_users):
        for i in np.flatnonzero(relevant[u]):
            for j in reached_from[i]:
                if domain[j] != domain[i]:
                    continue
                pairs += 1
                hits += relevant[u, j]
                base += relevant[u, domain == domain[j]].mean()
    return hits / pairs, base / pairs, pairs


def test_the_table_matches_loops_over_the_catalogue(tiny_world: World) -> None:
    table = kg_hop_lift_table(tiny_world).set_index("relation")
    assert list(table.index) == ["created_by", "has_genre", "has_theme", "has_style", "collaborated_with"]
    assert table.loc["collaborated_with", "hops"] == 3 and set(table["hops"].iloc[:4]) == {2}
    creator = tiny_world.catalogue.creator
    n = tiny_world.n_items
    same_creator = [np.flatnonzero((creator == creator[i]) & (np.arange(n) != i)) for i in range(n)]
    partners: dict[int, set[int]] = {}
    for a, b in tiny_world.collaborations:
        partners.setdefault(int(a), set()).add(int(b))
        partners.setdefault(int(b), set()).add(int(a))
    via_partner = [np.flatnonzero(np.isin(creator, list(partners.get(int(creator[i]), set())))) for i in range(n)]
    for relation, reached in (("created_by", same_creator), ("collaborated_with", via_partner)):
        p, base, pairs = _loop_lift(tiny_world, reached)
        assert table.loc[relation, "pairs"] == pairs
        assert table.loc[relation, "p_relevant"] == pytest.approx(p, rel=1e-9)
        assert table.loc[relation, "base_rate"] == pytest.approx(base, rel=1e-6)
        assert table.loc[relation, "lift"] == pytest.approx(p / base, rel=1e-6)
