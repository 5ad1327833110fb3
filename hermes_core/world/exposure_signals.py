r"""Exposure, ties and the value of diversity, measured on users' true top-10 slates.

For every user ``u`` the *top-10* ``T_u`` is the 10 items of the whole catalogue with the highest
static affinity ``s(u, i)`` (:func:`~hermes_core.world.preferences.affinity_matrix`; ties to the
lower item index), best first. Three groups of signals:

**Merit and exposure** (issue 9, "Exposure, fairness and diversity"). With ``M_i = 1`` for an item
of a mainstream creator (``creators.mainstream[catalogue.creator]``):

* ``mainstream_share_top10 = mean_u mean_{i in T_u} M_i``: the mainstream share of what users
  truly like best;
* ``mainstream_share_items = mean_i M_i`` over the catalogue (and over the warm items, the only
  ones the log can show);
* ``mainstream_share_impressions``: over every logged impression (each shown slot of each request).

When popularity is not part of relevance (``world.popularity_in_relevance`` false, the default)
merit does not depend on the cohort, so the top-10 share sits near the items' share, while the
impressions' share is far above it: popularity drives the retriever and the logging policy,
not merit. A fair-exposure method can then be measured against merit without the confound.

**Ties.** ``g = grade(s)`` has five values, so many items share the top grade:
``top_grade_items`` is the mean over users of ``#{i : g(u, i) = 4}``. Among the 45 pairs of items
of each ``T_u``, ``top10_pairs_tied`` is the share with equal grades, ``tied_pairs_affinity_differs``
the share of those whose continuous affinities differ (the continuous truth orders them), and
``tied_pairs_click_differs`` the share whose *continuous grade*
(:func:`~hermes_core.world.truth.continuous_grade`, what the click model reads) differs; the
continuous grade reaches 4 at ``scales.top_affinity`` (the 99.95th percentile of static affinity)
and stays there, so ``top10_grade_saturated``, the share of top-10 items at continuous grade 4,
have the same click appeal however much higher their affinity.

**Similarity fatigue.** The expected clicks of ``T_u`` shown in affinity order, under the world's
click model (:mod:`hermes_core.world.truth`),

.. math:: E_\phi(u) = \sum_{k=0}^{9} \theta_k\, \mathrm{attr}(\tilde g_{u, T_u(k)})\, f_k(\phi),

with the world's fatigue ``phi = world.similarity_fatigue`` and with ``phi = 0`` (``f_k = 1``);
``fatigue_cost = 1 - mean_u E_phi / mean_u E_0`` is the share of a relevance-only slate's clicks
that repeating similar items loses, the most a diversifying reranker can win back on it.
``near_duplicate_slates``: the share of the ``T_u`` with at least one pair of items whose content
cosine exceeds ``scales.near_duplicate_cos`` (the fatigue's threshold ``tau``);
``near_duplicate_pairs``: the mean number of such pairs per slate.

Every user is used (no sampling, no random draw).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from hermes_core.world.preferences import affinity_matrix, content_vectors, grade
from hermes_core.world.truth import continuous_grade, slate_click_probabilities
from hermes_core.world.world import World

TOP_K = 10
TOP_GRADE = 4
USER_CHUNK = 1_000


@dataclass(frozen=True)
class ExposureSignals:
    """Exposure, tie and fatigue signals of one world (see the module docstring)."""

    k: int
    n_users: int
    popularity_in_relevance: bool
    mainstream_share_top10: float
    mainstream_share_items: float
    mainstream_share_warm_items: float
    mainstream_share_impressions: float
    top_grade_items: float
    top10_pairs_tied: float
    tied_pairs_affinity_differs: float
    tied_pairs_click_differs: float
    top10_grade_saturated: float
    similarity_fatigue: float
    expected_clicks_fatigue: float
    expected_clicks_no_fatigue: float
    fatigue_cost: float
    near_duplicate_slates: float
    near_duplicate_pairs: float

    def as_dict(self) -> dict[str, object]:
        """JSON-ready numbers (for ``metrics/ingest.json: world_signals``)."""
        return asdict(self)


def top_items(affinity: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` columns of each row with the highest values, best first, ties to the lower column: (n, k)."""
    return np.argsort(-affinity, axis=1, kind="stable")[:, :k]


def pair_columns(k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k (k - 1) / 2`` unordered pairs ``(a, b)``, ``a < b``, of positions ``0 .. k-1``."""
    return np.triu_indices(k, 1)


def slate_expected_clicks(world: World, affinity: np.ndarray, slates: np.ndarray,
                          similarity_fatigue: float | None = None) -> np.ndarray:
    """``sum_k theta_k attr(g~_k) f_k`` of each slate (n, K) of items with affinities ``affinity``
    (n, K), with the world's fatigue or ``similarity_fatigue`` in its place (0: none): (n,)."""
    model = world.model if similarity_fatigue is None else replace(world.model, params=world.params.model_copy(
        update={"similarity_fatigue": float(similarity_fatigue)}))
    return slate_click_probabilities(model, affinity, slates).sum(axis=1)


def logged_impressions(world: World) -> np.ndarray:
    """The item shown at every slot of every logged request: (n_req, K)."""
    logs = world.logs
    return np.take_along_axis(logs.candidates, logs.slate, axis=1)


def exposure_signals(world: World, k: int = TOP_K, chunk_size: int = USER_CHUNK) -> ExposureSignals:
    """Exposure, tie and fatigue signals over every user's top-``k`` (module docstring)."""
    if not 2 <= k <= world.n_items:
        raise ValueError(f"k must be in 2..n_items ({world.n_items}), got {k}")
    cat = world.catalogue
    mainstream = world.creators.mainstream[cat.creator]
    content = content_vectors(cat)
    first, second = pair_columns(k)
    tau = world.scales.near_duplicate_cos
    totals = dict.fromkeys(("mainstream", "top_grade", "tied", "affinity_differs", "click_differs", "saturated",
                            "clicks", "clicks_free", "near_slates", "near_pairs"), 0.0)
    for start in range(0, world.n_users, chunk_size):
        users = np.arange(start, min(start + chunk_size, world.n_users))
        affinity = affinity_matrix(world.model, users)  # (n, n_items)
        top = top_items(affinity, k)
        top_affinity = np.take_along_axis(affinity, top, axis=1)
        grades = grade(world.scales, affinity)
        top_grades = np.take_along_axis(grades, top, axis=1)
        soft = continuous_grade(world.model, top_affinity)
        tied = top_grades[:, first] == top_grades[:, second]
        x = content[top]
        cos = np.einsum("nkd,njd->nkj", x, x)[:, first, second]  # (n, pairs)
        totals["mainstream"] += float(mainstream[top].sum())
        totals["top_grade"] += float((grades == TOP_GRADE).sum())
        totals["tied"] += float(tied.sum())
        totals["affinity_differs"] += float((tied & (top_affinity[:, first] != top_affinity[:, second])).sum())
        totals["click_differs"] += float((tied & (soft[:, first] != soft[:, second])).sum())
        totals["saturated"] += float((soft >= 4.0).sum())
        totals["clicks"] += float(slate_expected_clicks(world, top_affinity, top).sum())
        totals["clicks_free"] += float(slate_expected_clicks(world, top_affinity, top, 0.0).sum())
        totals["near_slates"] += float((cos > tau).any(axis=1).sum())
        totals["near_pairs"] += float((cos > tau).sum())
    n = world.n_users
    n_pairs = n * len(first)
    impressions = logged_impressions(world)
    return ExposureSignals(
        k=k,
        n_users=n,
        popularity_in_relevance=bool(world.params.popularity_in_relevance),
        mainstream_share_top10=totals["mainstream"] / (n * k),
        mainstream_share_items=float(mainstream.mean()),
        mainstream_share_warm_items=float(mainstream[~cat.is_cold].mean()) if (~cat.is_cold).any() else float("nan"),
        mainstream_share_impressions=float(mainstream[impressions].mean()) if impressions.size else float("nan"),
        top_grade_items=totals["top_grade"] / n,
        top10_pairs_tied=totals["tied"] / n_pairs,
        tied_pairs_affinity_differs=totals["affinity_differs"] / totals["tied"] if totals["tied"] else float("nan"),
        tied_pairs_click_differs=totals["click_differs"] / totals["tied"] if totals["tied"] else float("nan"),
        top10_grade_saturated=totals["saturated"] / (n * k),
        similarity_fatigue=float(world.params.similarity_fatigue),
        expected_clicks_fatigue=totals["clicks"] / n,
        expected_clicks_no_fatigue=totals["clicks_free"] / n,
        fatigue_cost=1.0 - totals["clicks"] / totals["clicks_free"],
        near_duplicate_slates=totals["near_slates"] / n,
        near_duplicate_pairs=totals["near_pairs"] / n,
    )
