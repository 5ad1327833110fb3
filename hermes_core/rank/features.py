r"""The features of a (request, candidate) pair: what a recommender may see, never the world's truth.

A request is a user at a time with her click **history** (all sessions, oldest first) and her
**session history** (this session's clicks so far). Every feature below comes from observable
data: the user's declared attributes (age, region, newsletter), the request's hour, the
catalogue's domain, creator and price, click counts before the training cut-off, and the encode
stage's fused item vectors :math:`v_i` (unit-normalised here). With :math:`\bar v_H` the mean
vector of the last ``profile_window`` history items, :math:`\bar v_S` that of the session and
:math:`v_{last}` the last click:

* **user / context**: standardised age, newsletter, region one-hot, :math:`\sin, \cos` of the
  hour on the 24-hour circle, :math:`\log(1+|H|)`, :math:`\log(1+|S|)`;
* **item**: domain one-hot, :math:`\log(1 + \text{clicks}_i)`, never clicked, standardised log
  price for products (0 otherwise), the first ``n_components`` principal components of
  :math:`v_i`;
* **cross**: :math:`\cos(\bar v_H, v_i)`, :math:`\cos(\bar v_S, v_i)`, :math:`\cos(v_{last}, v_i)`,
  :math:`\log(1 + \#\{h \in H: \text{creator}(h) = \text{creator}(i)\})`, the share of the history
  in the item's domain, the last click's creator equals the item's, and the elementwise product of
  the history profile's and the item's principal components (a factorisation-machine-like cross
  the trees cannot form by themselves).

The same matrix feeds the neural fine ranker and LightGBM, so a difference between them is the
model's and the objective's, not the inputs'. The pre-ranker's score is appended as one more
column by the stage (:data:`PRE_RANK_COLUMN`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hermes_core.world.params import DOMAINS
from hermes_core.world.vocabulary import REGIONS
from hermes_core.world.world import World

PRE_RANK_COLUMN = "pre_rank_score"
PRODUCT = DOMAINS.index("product")


@dataclass(frozen=True)
class RequestContext:
    """One request as the ranker sees it: ``user``, ``seconds`` since the world's start, ``history``
    (item indices, oldest first) and ``session`` (this session's clicks before the request)."""

    user: int
    seconds: float
    history: np.ndarray
    session: np.ndarray


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Each row divided by its Euclidean norm (zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def principal_axes(vectors: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """``(mean (d,), axes (d, n_components))``: the top principal directions of ``vectors`` by SVD,
    each axis's sign fixed so that its largest-magnitude loading is positive (a stable basis)."""
    mean = vectors.mean(axis=0)
    _, _, vt = np.linalg.svd(vectors - mean, full_matrices=False)
    axes = vt[:n_components].T
    signs = np.sign(axes[np.abs(axes).argmax(axis=0), np.arange(axes.shape[1])])
    return mean, axes * np.where(signs == 0, 1.0, signs)


class FeatureBuilder:
    """Builds the feature matrix of any request's candidates (module docstring).

    ``item_vectors (n_items, d)`` are the encode stage's fused vectors; ``click_items`` the items of
    the clicks before the training cut-off (popularity); ``profile_window`` the most recent
    history items the profile averages; ``n_components`` the principal components kept.
    """

    def __init__(self, world: World, item_vectors: np.ndarray, click_items: np.ndarray,
                 profile_window: int = 50, n_components: int = 8) -> None:
        catalogue, users = world.catalogue, world.users
        self.n_items = world.n_items
        self.vectors = unit_rows(np.asarray(item_vectors, dtype=np.float64))
        self.profile_window = profile_window
        self.pca_mean, self.pca_axes = principal_axes(self.vectors, n_components)
        self.item_pca = (self.vectors - self.pca_mean) @ self.pca_axes  # (n_items, c)
        self.domain = catalogue.domain.astype(np.int64)
        self.creator = catalogue.creator.astype(np.int64)
        counts = np.bincount(np.asarray(click_items, dtype=np.int64), minlength=self.n_items).astype(float)
        self.log_clicks = np.log1p(counts)  # (n_items,) the popularity baseline's score
        log_price = np.log(catalogue.price)
        products = self.domain == PRODUCT
        price_z = (log_price - log_price[products].mean()) / max(log_price[products].std(), 1e-9)
        self.item_block = np.column_stack([
            np.eye(len(DOMAINS))[self.domain], self.log_clicks, (counts == 0).astype(float),
            np.where(products, price_z, 0.0), self.item_pca])  # (n_items, F_item)
        self.age_z = (users.age - users.age.mean()) / max(users.age.std(), 1e-9)
        self.newsletter = users.newsletter.astype(float)
        self.region = users.region.astype(np.int64)
        c = n_components
        self.names: list[str] = (
            ["age_z", "newsletter", *[f"region_{r}" for r in REGIONS], "hour_sin", "hour_cos", "log_history",
             "log_session"]
            + [f"domain_{d}" for d in DOMAINS] + ["log_clicks", "never_clicked", "price_z"]
            + [f"item_pc{j}" for j in range(c)]
            + ["cos_history", "cos_session", "cos_last", "log_same_creator", "history_domain_share",
               "last_same_creator"] + [f"profile_x_item_pc{j}" for j in range(c)])  # fmt: skip

    @property
    def n_features(self) -> int:
        return len(self.names)

    def profile(self, items: np.ndarray) -> np.ndarray:
        """Unit mean vector of ``items`` (zeros when empty)."""
        if items.size == 0:
            return np.zeros(self.vectors.shape[1])
        mean = self.vectors[items].mean(axis=0)
        norm = np.linalg.norm(mean)
        return mean / norm if norm > 0 else mean

    def features(self, request: RequestContext, items: np.ndarray) -> np.ndarray:
        """``(len(items), n_features)`` float32 features of ``request``'s candidates ``items``."""
        items = np.asarray(items, dtype=np.int64)
        m = items.size
        history = np.asarray(request.history, dtype=np.int64)[-self.profile_window:]
        session = np.asarray(request.session, dtype=np.int64)
        hour = (request.seconds / 3600.0) % 24.0
        user_part = np.concatenate([
            [self.age_z[request.user], self.newsletter[request.user]], np.eye(len(REGIONS))[self.region[request.user]],
            [np.sin(2 * np.pi * hour / 24.0), np.cos(2 * np.pi * hour / 24.0), np.log1p(len(request.history)),
             np.log1p(session.size)]])  # fmt: skip
        candidate_vectors = self.vectors[items]  # (m, d)
        history_profile = self.profile(history)
        last = self.vectors[history[-1]] if history.size else np.zeros(self.vectors.shape[1])
        creator_counts = np.bincount(self.creator[history], minlength=self.creator.max() + 1) if history.size else None
        domain_share = (np.bincount(self.domain[history], minlength=len(DOMAINS)) / history.size
                        if history.size else np.zeros(len(DOMAINS)))  # fmt: skip
        profile_pca = (history_profile - self.pca_mean) @ self.pca_axes if history.size else np.zeros(
            self.pca_axes.shape[1])
        same_creator = creator_counts[self.creator[items]] if creator_counts is not None else np.zeros(m)
        last_same = ((self.creator[items] == self.creator[history[-1]]).astype(float) if history.size
                     else np.zeros(m))  # fmt: skip
        cross = np.column_stack([
            candidate_vectors @ history_profile, candidate_vectors @ self.profile(session), candidate_vectors @ last,
            np.log1p(same_creator), domain_share[self.domain[items]], last_same, self.item_pca[items] * profile_pca])
        block = np.column_stack([np.broadcast_to(user_part, (m, user_part.size)), self.item_block[items], cross])
        return block.astype(np.float32)


__all__ = ["PRE_RANK_COLUMN", "FeatureBuilder", "RequestContext", "principal_axes", "unit_rows"]
