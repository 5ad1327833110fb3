r"""Query-conditioned cross-attention fusion of image and text item embeddings (PyTorch).

One idea in one module (about 500 lines, a fifth of them this docstring): the fused tower, the
three baseline towers it is compared with, their shared trainer and their exact scorer share one
interface and one objective, and are read together to see that the comparison is fair.

The model
---------
For a query vector :math:`q \in \mathbb{R}^{d_q}` (a user or session representation, or an
encoded text query) and an item with vision embedding :math:`v \in \mathbb{R}^{d_v}` and text
embedding :math:`t \in \mathbb{R}^{d_t}`:

.. math::

    \alpha_m = \operatorname{softmax}_{m \in \{\mathrm{vision}, \mathrm{text}\}}
        \frac{(q W_q) \cdot (m K_m)^\top}{\sqrt{d_k}},
    \qquad
    Z = \alpha_{\mathrm{vision}} \, (v W_v) + \alpha_{\mathrm{text}} \, (t W_t)

with :math:`W_q \in \mathbb{R}^{d_q \times d_k}`, key projections
:math:`K_{\mathrm{vision}} \in \mathbb{R}^{d_v \times d_k}`,
:math:`K_{\mathrm{text}} \in \mathbb{R}^{d_t \times d_k}` (the :math:`W_m` of the score in the
design note) and value projections :math:`W_v \in \mathbb{R}^{d_v \times d}`,
:math:`W_t \in \mathbb{R}^{d_t \times d}` into the shared output space of width :math:`d`
(scaled dot-product attention over two modality tokens, Vaswani et al. 2017, §3.2.1). No
projection has a bias, so the formula is exact. A missing modality gets logit :math:`-\infty`
before the softmax (its :math:`\alpha` is 0); when both are missing, :math:`\alpha = 0` and
:math:`Z = 0`, without NaN in the forward or backward pass.

The score of item :math:`j` for query :math:`i` is an inner product in the shared space,
:math:`s_{ij} = \langle q_i P, Z(q_i, j) \rangle` with a query projection
:math:`P \in \mathbb{R}^{d_q \times d}` (the query tower).

The query-gated fusion (the default, ``encode.fusion.kind: gated``)
-------------------------------------------------------------------
The weights depend on the query alone, never on the item:

.. math::

    g_m(q) = 2\,\sigma\!\left(w_m^\top \phi(q) + b_m\right), \qquad
    Z(q, j) = g_{\mathrm{vision}}(q)\,(v_j W_v) + g_{\mathrm{text}}(q)\,(t_j W_t)

with :math:`\phi(q) = [q;\ \lVert q^{txt}\rVert;\ \lVert q^{img}\rVert]` (a profile's norms are
its coherence: the norm of a mean of unit vectors; a text query has an image norm of 0). With
:math:`w_m = 0, b_m = 0` both gates are 1 and the tower *is* concatenation
:math:`Z = [v, t]\,[W_v; W_t]`: :func:`make_fusion_model` initialises :math:`P, W_v, W_t` from the
concat tower of the same seed, so training starts exactly at concatenation. Each gate lies in
:math:`(0, 2)`, so one modality can be boosted without cutting the other (no convex trade-off),
and the reported weight is :math:`\alpha_{\mathrm{vision}} = g_v / (g_v + g_t)`. A penalty
:math:`\lambda \frac{1}{B}\sum_i \sum_m (g_m(q_i) - 1)^2` (``encode.fusion.gate_penalty``) pulls
the gates towards concatenation where the data do not say otherwise.

Because the gates depend on the query only, the score is one inner product,

.. math:: s(q, j) = \left\langle [g_v(q)\, qP;\ g_t(q)\, qP],\ [v_j W_v;\ t_j W_t] \right\rangle,

so one vector per item (width :math:`2d`) is indexed and exact maximum-inner-product search
needs no rescoring (:meth:`FusionTower.index_queries`).

The cross-attention variant (``kind: cross_attention``) keeps the design note's attention, whose
keys come from the item's own features; it can rescore items rather than follow the query, and
it stays in the comparison to show it.

The objective
-------------
In-batch sampled softmax, i.e. InfoNCE (Oord, Li & Vinyals 2018, "Representation Learning
with Contrastive Predictive Coding", eq. 4) over a batch of :math:`B` (query, positive item)
pairs, every other positive in the batch serving as a negative:

.. math::

    \mathcal{L} = -\frac{1}{B} \sum_{i=1}^{B}
        \log \frac{\exp(s_{ii}/\tau - \log Q_i)}{\sum_{j=1}^{B} \exp(s_{ij}/\tau - \log Q_j)}

where :math:`\tau` is the temperature and, with ``logq_correction``, :math:`Q_j` is the
probability that item :math:`j` enters a batch (its share of the training positives), the
sampling-bias correction of Yi et al. 2019 ("Sampling-Bias-Corrected Neural Modeling for
Large Corpus Item Recommendations", §3); without it :math:`\log Q_j = 0`. A column whose
item equals row :math:`i`'s positive (a duplicate in the batch) is masked out for that row,
so an item is never its own negative. The loss is :func:`hermes_core.losses.sampled_softmax_loss`
on the logits :math:`s_{ij}/\tau - \log Q_j`, with the labels and mask of
:func:`hermes_core.losses.in_batch_labels_and_mask`. Because :math:`Z` depends on the query,
:math:`s_{ij}` is computed for all :math:`B^2` pairs (:math:`O(B^2)` memory, not
:math:`O(B^2 d)`: see :meth:`CrossAttentionFusion.pairwise_scores`).

Baselines (:class:`TextOnlyTower`, :class:`ImageOnlyTower`, :class:`ConcatTower`) share the
query tower, the trainer and the interface, so the five towers are compared on equal footing.

Retrieval over a catalogue
--------------------------
For the cross-attention variant :math:`Z` cannot be indexed once for all queries. Since :math:`Z` is a convex combination of
the per-modality values, the fused score is bounded by the best per-modality score:
:math:`s_{ij} \le \max_m \langle q_i P, m_j W_m \rangle`. :mod:`hermes_core.encode.retrieval`
therefore indexes the query-free vectors :meth:`FusionTower.modality_item_vectors` (one ANN
index per modality), unions the candidates, rescores them exactly with the fused score and,
for exact indexes, certifies the top-k with that bound. :func:`score_items` is the exact,
chunked full scoring used for evaluation and as the reference.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from hermes_core.device import resolve_device
from hermes_core.losses import in_batch_labels_and_mask, sampled_softmax_loss
from hermes_core.encode.params import FUSION_KINDS, FusionKind, FusionParams

VISION, TEXT = 0, 1  # column of each modality in masks (n_items, 2) and alpha (..., 2)


def masked_modality_softmax(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis with masked entries at exactly 0; all-masked rows → all 0.

    ``logits`` and ``mask`` have the same shape ``(..., n_modalities)``. Masked logits are set
    to ``-inf`` before the softmax; rows with no unmasked entry are replaced by zeros before
    it and multiplied by the (all-False) mask after it, so neither value nor gradient is NaN.
    """
    any_present = mask.any(dim=-1, keepdim=True)
    filled = logits.masked_fill(~mask, float("-inf"))
    filled = torch.where(any_present, filled, torch.zeros_like(filled))
    return torch.softmax(filled, dim=-1) * mask


def _zero_missing(features: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    # where(), not multiplication: a NaN placeholder times 0 would still be NaN
    return torch.where(present[..., None], features, torch.zeros_like(features))


class FusionTower(nn.Module):
    """Query tower :math:`P` plus an item tower; subclasses define how items are fused.

    Inputs everywhere: ``queries (n, d_q)``, ``vision (n_items, d_v)``, ``text (n_items, d_t)``
    and ``masks (n_items, 2)`` bool with columns ``[vision, text]`` (True: modality present).
    """

    kind: str = "base"

    def __init__(self, d_q: int, d_v: int, d_t: int, output_dim: int) -> None:
        super().__init__()
        for name, value in (("d_q", d_q), ("output_dim", output_dim)):
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        # a width of 0 means the catalogue has no such modality at all (MovieLens has no images);
        # only a tower that never reads it (text-only for d_v = 0) can then be built
        needs = {"vision": d_v, "text": d_t}
        for name, value in needs.items():
            if value < 0:
                raise ValueError(f"d_{name[0]} must be at least 0, got {value}")
        reads = {"cross_attention": ("vision", "text"), "concat": ("vision", "text"), "gated": ("vision", "text"),
                 "text_only": ("text",), "image_only": ("vision",)}.get(self.kind, ("vision", "text"))
        empty = [name for name in reads if needs[name] == 0]
        if empty:
            raise ValueError(f"a {self.kind} tower needs {' and '.join(empty)} features of width >= 1")
        self.d_q, self.d_v, self.d_t, self.output_dim = d_q, d_v, d_t, output_dim
        self.query_projection = nn.Linear(d_q, output_dim, bias=False)  # P

    def encode_queries(self, queries: torch.Tensor) -> torch.Tensor:
        """Queries in the shared space, :math:`q P`: ``(n, output_dim)``."""
        return self.query_projection(queries)

    def index_queries(self, queries: torch.Tensor) -> torch.Tensor:
        """Query vectors to search :meth:`modality_item_vectors` with (:math:`qP` unless a tower
        says otherwise)."""
        return self.encode_queries(queries)

    def regulariser(self, queries: torch.Tensor) -> torch.Tensor:
        """Unweighted penalty added to the loss (times ``encode.fusion.gate_penalty``); 0 here."""
        return queries.new_zeros(())

    def score_parts(
        self, queries: torch.Tensor, vision: torch.Tensor, text: torch.Tensor, masks: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The vision and text parts of :meth:`pairwise_scores`, each ``(n_q, n_items)``; they sum to it."""
        raise NotImplementedError

    def forward(
        self, queries: torch.Tensor, vision: torch.Tensor, text: torch.Tensor, masks: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Fused item vectors of *paired* rows: ``(Z (n, output_dim), alpha (n, 2))``."""
        raise NotImplementedError

    def pairwise_scores(
        self, queries: torch.Tensor, vision: torch.Tensor, text: torch.Tensor, masks: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores of every query against every item: ``(s (n_q, n_items), alpha (n_q, n_items, 2))``."""
        raise NotImplementedError

    def modality_item_vectors(
        self, vision: torch.Tensor, text: torch.Tensor, masks: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Query-free item vectors ``{name: (n_items, output_dim)}`` whose inner products with
        :meth:`encode_queries` bound the fused score from above (their max), for ANN search."""
        raise NotImplementedError


class CrossAttentionFusion(FusionTower):
    """The query-conditioned cross-attention fusion of the module docstring."""

    kind = "cross_attention"

    def __init__(self, d_q: int, d_v: int, d_t: int, d_k: int, output_dim: int) -> None:
        super().__init__(d_q, d_v, d_t, output_dim)
        if d_k < 1:
            raise ValueError(f"d_k must be at least 1, got {d_k}")
        self.d_k = d_k
        self.attention_query = nn.Linear(d_q, d_k, bias=False)  # W_q
        self.key_vision = nn.Linear(d_v, d_k, bias=False)  # K_vision
        self.key_text = nn.Linear(d_t, d_k, bias=False)  # K_text
        self.value_vision = nn.Linear(d_v, output_dim, bias=False)  # W_v
        self.value_text = nn.Linear(d_t, output_dim, bias=False)  # W_t

    def forward(
        self, queries: torch.Tensor, vision: torch.Tensor, text: torch.Tensor, masks: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        vision = _zero_missing(vision, masks[:, VISION])
        text = _zero_missing(text, masks[:, TEXT])
        attention_query = self.attention_query(queries)  # (n, d_k)
        logits = torch.stack(
            [
                (attention_query * self.key_vision(vision)).sum(dim=-1),
                (attention_query * self.key_text(text)).sum(dim=-1),
            ],
            dim=-1,
        ) / math.sqrt(self.d_k)  # (n, 2)
        alpha = masked_modality_softmax(logits, masks)
        fused = alpha[:, VISION, None] * self.value_vision(vision) + alpha[:, TEXT, None] * self.value_text(text)
        return fused, alpha

    def pairwise_scores(
        self, queries: torch.Tensor, vision: torch.Tensor, text: torch.Tensor, masks: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # s_ij = a_v(i,j) <qP, v_j W_v> + a_t(i,j) <qP, t_j W_t>: two (n_q, n_items) matmuls
        # per modality instead of materialising Z for every pair
        vision = _zero_missing(vision, masks[:, VISION])
        text = _zero_missing(text, masks[:, TEXT])
        attention_query = self.attention_query(queries)  # (n_q, d_k)
        logits = torch.stack(
            [attention_query @ self.key_vision(vision).T, attention_query @ self.key_text(text).T],
            dim=-1,
        ) / math.sqrt(self.d_k)  # (n_q, n_items, 2)
        alpha = masked_modality_softmax(logits, masks[None, :, :].expand_as(logits))
        projected = self.encode_queries(queries)  # (n_q, output_dim)
        scores = alpha[..., VISION] * (projected @ self.value_vision(vision).T) + alpha[..., TEXT] * (
            projected @ self.value_text(text).T
        )
        return scores, alpha

    def modality_item_vectors(
        self, vision: torch.Tensor, text: torch.Tensor, masks: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        return {
            "vision": self.value_vision(_zero_missing(vision, masks[:, VISION])),
            "text": self.value_text(_zero_missing(text, masks[:, TEXT])),
        }

    def score_parts(
        self, queries: torch.Tensor, vision: torch.Tensor, text: torch.Tensor, masks: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        _, alpha = self.pairwise_scores(queries, vision, text, masks)
        projected = self.encode_queries(queries)
        return (alpha[..., VISION] * (projected @ self.value_vision(_zero_missing(vision, masks[:, VISION])).T),
                alpha[..., TEXT] * (projected @ self.value_text(_zero_missing(text, masks[:, TEXT])).T))


class GatedFusion(FusionTower):
    r"""The query-gated fusion of the module docstring: :math:`g_m(q) = 2\sigma(w_m^\top\phi(q) + b_m)`.

    ``gate_features`` (:math:`\phi`) appends the norms of the query's text and image parts when the
    query has the profile layout ``[text (d_t); image (d_v)]`` (``d_q == d_t + d_v``); otherwise
    :math:`\phi(q) = q`. The gate layer starts at zero, so both gates start at exactly 1.
    """

    kind = "gated"

    def __init__(self, d_q: int, d_v: int, d_t: int, output_dim: int) -> None:
        super().__init__(d_q, d_v, d_t, output_dim)
        self.profile_layout = d_q == d_t + d_v
        self.gate = nn.Linear(d_q + (2 if self.profile_layout else 0), 2)  # columns [vision, text]
        nn.init.zeros_(self.gate.weight)
        nn.init.zeros_(self.gate.bias)
        self.value_vision = nn.Linear(d_v, output_dim, bias=False)  # W_v
        self.value_text = nn.Linear(d_t, output_dim, bias=False)  # W_t

    def gate_features(self, queries: torch.Tensor) -> torch.Tensor:
        r""":math:`\phi(q)`: ``(n, d_q [+ 2])``."""
        if not self.profile_layout:
            return queries
        norms = torch.stack([queries[:, : self.d_t].norm(dim=-1), queries[:, self.d_t :].norm(dim=-1)], dim=-1)
        return torch.cat([queries, norms], dim=-1)

    def gates(self, queries: torch.Tensor) -> torch.Tensor:
        """:math:`(g_{vision}(q), g_{text}(q))` in :math:`(0, 2)`: ``(n, 2)``."""
        return 2.0 * torch.sigmoid(self.gate(self.gate_features(queries)))

    def _alpha(self, gates: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        # the reported weight g_m / (g_v + g_t) over the present modalities, 0 where absent
        present = gates * masks.float()
        return present / present.sum(dim=-1, keepdim=True).clamp(min=1e-12)

    def forward(
        self, queries: torch.Tensor, vision: torch.Tensor, text: torch.Tensor, masks: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        gates = self.gates(queries)  # (n, 2)
        fused = (gates[:, VISION, None] * self.value_vision(_zero_missing(vision, masks[:, VISION]))
                 + gates[:, TEXT, None] * self.value_text(_zero_missing(text, masks[:, TEXT])))
        return fused, self._alpha(gates, masks)

    def pairwise_scores(
        self, queries: torch.Tensor, vision: torch.Tensor, text: torch.Tensor, masks: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        gates = self.gates(queries)  # (n_q, 2)
        projected = self.encode_queries(queries)
        scores = (gates[:, VISION, None] * (projected @ self.value_vision(_zero_missing(vision, masks[:, VISION])).T)
                  + gates[:, TEXT, None] * (projected @ self.value_text(_zero_missing(text, masks[:, TEXT])).T))
        alpha = self._alpha(gates[:, None, :], masks[None, :, :])  # (n_q, n_items, 2)
        return scores, alpha

    def index_queries(self, queries: torch.Tensor) -> torch.Tensor:
        r""":math:`[g_v(q)\, qP;\ g_t(q)\, qP]`: ``(n, 2 output_dim)``, to search ``item`` vectors."""
        gates = self.gates(queries)
        projected = self.encode_queries(queries)
        return torch.cat([gates[:, VISION, None] * projected, gates[:, TEXT, None] * projected], dim=-1)

    def modality_item_vectors(
        self, vision: torch.Tensor, text: torch.Tensor, masks: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        r"""One vector per item, :math:`[v W_v;\ t W_t]` (``(n_items, 2 output_dim)``): the score is
        exactly its inner product with :meth:`index_queries`."""
        return {"item": torch.cat([self.value_vision(_zero_missing(vision, masks[:, VISION])),
                                   self.value_text(_zero_missing(text, masks[:, TEXT]))], dim=-1)}

    def regulariser(self, queries: torch.Tensor) -> torch.Tensor:
        r""":math:`\frac1B \sum_i \sum_m (g_m(q_i) - 1)^2`: zero at concatenation."""
        return ((self.gates(queries) - 1.0) ** 2).sum(dim=-1).mean()

    def score_parts(
        self, queries: torch.Tensor, vision: torch.Tensor, text: torch.Tensor, masks: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        gates = self.gates(queries)
        projected = self.encode_queries(queries)
        return (gates[:, VISION, None] * (projected @ self.value_vision(_zero_missing(vision, masks[:, VISION])).T),
                gates[:, TEXT, None] * (projected @ self.value_text(_zero_missing(text, masks[:, TEXT])).T))


class _SingleVectorTower(FusionTower):
    """Towers whose item vector does not depend on the query: ``s_ij = <q_i P, Z_j>``."""

    def item_vectors(self, vision: torch.Tensor, text: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def fixed_alpha(self, masks: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(
        self, queries: torch.Tensor, vision: torch.Tensor, text: torch.Tensor, masks: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.item_vectors(vision, text, masks), self.fixed_alpha(masks)

    def pairwise_scores(
        self, queries: torch.Tensor, vision: torch.Tensor, text: torch.Tensor, masks: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        scores = self.encode_queries(queries) @ self.item_vectors(vision, text, masks).T
        alpha = self.fixed_alpha(masks)[None, :, :].expand(queries.shape[0], -1, -1)
        return scores, alpha


class TextOnlyTower(_SingleVectorTower):
    """Baseline :math:`Z = t W_t` (zero without text); alpha is ``[0, 1]`` where text exists."""

    kind = "text_only"

    def __init__(self, d_q: int, d_v: int, d_t: int, output_dim: int) -> None:
        super().__init__(d_q, d_v, d_t, output_dim)
        self.value_text = nn.Linear(d_t, output_dim, bias=False)

    def item_vectors(self, vision: torch.Tensor, text: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        return self.value_text(_zero_missing(text, masks[:, TEXT]))

    def fixed_alpha(self, masks: torch.Tensor) -> torch.Tensor:
        return torch.stack([torch.zeros_like(masks[:, TEXT]), masks[:, TEXT]], dim=-1).float()

    def modality_item_vectors(
        self, vision: torch.Tensor, text: torch.Tensor, masks: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        return {"text": self.item_vectors(vision, text, masks)}

    def score_parts(
        self, queries: torch.Tensor, vision: torch.Tensor, text: torch.Tensor, masks: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        scores, _ = self.pairwise_scores(queries, vision, text, masks)
        return torch.zeros_like(scores), scores


class ImageOnlyTower(_SingleVectorTower):
    """Baseline :math:`Z = v W_v` (zero without image); alpha is ``[1, 0]`` where an image exists."""

    kind = "image_only"

    def __init__(self, d_q: int, d_v: int, d_t: int, output_dim: int) -> None:
        super().__init__(d_q, d_v, d_t, output_dim)
        self.value_vision = nn.Linear(d_v, output_dim, bias=False)

    def item_vectors(self, vision: torch.Tensor, text: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        return self.value_vision(_zero_missing(vision, masks[:, VISION]))

    def fixed_alpha(self, masks: torch.Tensor) -> torch.Tensor:
        return torch.stack([masks[:, VISION], torch.zeros_like(masks[:, VISION])], dim=-1).float()

    def modality_item_vectors(
        self, vision: torch.Tensor, text: torch.Tensor, masks: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        return {"vision": self.item_vectors(vision, text, masks)}

    def score_parts(
        self, queries: torch.Tensor, vision: torch.Tensor, text: torch.Tensor, masks: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        scores, _ = self.pairwise_scores(queries, vision, text, masks)
        return scores, torch.zeros_like(scores)


class ConcatTower(_SingleVectorTower):
    """Baseline :math:`Z = [v, t] W_c` (a missing modality's block is zero).

    Alpha is not learned; it reports equal weights over the present modalities.
    """

    kind = "concat"

    def __init__(self, d_q: int, d_v: int, d_t: int, output_dim: int) -> None:
        super().__init__(d_q, d_v, d_t, output_dim)
        self.value_concat = nn.Linear(d_v + d_t, output_dim, bias=False)

    def item_vectors(self, vision: torch.Tensor, text: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        joined = torch.cat(
            [_zero_missing(vision, masks[:, VISION]), _zero_missing(text, masks[:, TEXT])], dim=-1
        )
        return self.value_concat(joined)

    def fixed_alpha(self, masks: torch.Tensor) -> torch.Tensor:
        present = masks.float()
        return present / present.sum(dim=-1, keepdim=True).clamp(min=1.0)

    def modality_item_vectors(
        self, vision: torch.Tensor, text: torch.Tensor, masks: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        return {"item": self.item_vectors(vision, text, masks)}

    def score_parts(
        self, queries: torch.Tensor, vision: torch.Tensor, text: torch.Tensor, masks: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        projected = self.encode_queries(queries)
        weight = self.value_concat.weight  # (output_dim, d_v + d_t), columns [vision, text]
        vision_part = _zero_missing(vision, masks[:, VISION]) @ weight[:, : self.d_v].T
        text_part = _zero_missing(text, masks[:, TEXT]) @ weight[:, self.d_v :].T
        return projected @ vision_part.T, projected @ text_part.T


def make_fusion_model(
    kind: FusionKind, d_q: int, d_v: int, d_t: int, *, d_k: int = 64, output_dim: int = 128, seed: int = 0
) -> FusionTower:
    """Build the tower ``kind`` with weights initialised from ``seed`` (global RNG untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if kind == "cross_attention":
            return CrossAttentionFusion(d_q, d_v, d_t, d_k, output_dim)
        if kind == "text_only":
            return TextOnlyTower(d_q, d_v, d_t, output_dim)
        if kind == "image_only":
            return ImageOnlyTower(d_q, d_v, d_t, output_dim)
        if kind == "concat":
            return ConcatTower(d_q, d_v, d_t, output_dim)
        if kind == "gated":
            # start exactly at concatenation: P and [W_v; W_t] are the concat tower's of this seed
            concat = ConcatTower(d_q, d_v, d_t, output_dim)
            gated = GatedFusion(d_q, d_v, d_t, output_dim)
            with torch.no_grad():
                gated.query_projection.weight.copy_(concat.query_projection.weight)
                gated.value_vision.weight.copy_(concat.value_concat.weight[:, :d_v])
                gated.value_text.weight.copy_(concat.value_concat.weight[:, d_v:])
            return gated
    raise ValueError(f"kind must be one of {FUSION_KINDS}, got {kind!r}")


@dataclass(frozen=True)
class FusionData:
    """Validated training or scoring inputs as float32/bool tensors on one device."""

    queries: torch.Tensor  # (n_queries, d_q)
    vision: torch.Tensor  # (n_items, d_v)
    text: torch.Tensor  # (n_items, d_t)
    masks: torch.Tensor  # (n_items, 2) bool: [vision present, text present]


def as_fusion_data(
    queries: np.ndarray | torch.Tensor,
    vision: np.ndarray | torch.Tensor,
    text: np.ndarray | torch.Tensor,
    masks: np.ndarray | torch.Tensor,
    device: torch.device,
) -> FusionData:
    """Check shapes and move the inputs to ``device`` (float32 features, bool masks)."""
    query_t = torch.as_tensor(np.asarray(queries) if not torch.is_tensor(queries) else queries, dtype=torch.float32)
    vision_t = torch.as_tensor(np.asarray(vision) if not torch.is_tensor(vision) else vision, dtype=torch.float32)
    text_t = torch.as_tensor(np.asarray(text) if not torch.is_tensor(text) else text, dtype=torch.float32)
    mask_t = torch.as_tensor(np.asarray(masks) if not torch.is_tensor(masks) else masks).bool()
    if query_t.ndim != 2 or vision_t.ndim != 2 or text_t.ndim != 2:
        raise ValueError(
            f"queries, vision and text must be 2-D, got {tuple(query_t.shape)}, "
            f"{tuple(vision_t.shape)}, {tuple(text_t.shape)}"
        )
    if vision_t.shape[0] != text_t.shape[0] or tuple(mask_t.shape) != (vision_t.shape[0], 2):
        raise ValueError(
            f"vision {tuple(vision_t.shape)}, text {tuple(text_t.shape)} and masks "
            f"{tuple(mask_t.shape)} must describe the same items, masks as (n_items, 2)"
        )
    return FusionData(query_t.to(device), vision_t.to(device), text_t.to(device), mask_t.to(device))


def in_batch_logits(scores: torch.Tensor, temperature: float, log_q: torch.Tensor | None = None) -> torch.Tensor:
    r"""Logits :math:`s_{ij}/\tau - \log Q_j` of a ``(B, B)`` in-batch score matrix.

    ``log_q (B,)`` is the log sampling probability of each column's item (Yi et al. 2019, §3);
    ``None`` leaves the scaled scores uncorrected.
    """
    logits = scores / temperature
    if log_q is not None:
        logits = logits - log_q[None, :]
    return logits


def parameter_groups(model: FusionTower, params: FusionParams) -> list[dict[str, object]]:
    """Adam parameter groups: the gate layer (if any) at ``encode.fusion.gate_learning_rate``, the
    rest at ``encode.fusion.learning_rate``.

    The gates get their own step size because the projections can already absorb a modality
    preference into :math:`qP` (the score is bilinear), so at a shared step size the gates barely
    move before the projections overfit and early stopping ends training.
    """
    gate = [p for name, p in model.named_parameters() if name.startswith("gate.")]
    rest = [p for name, p in model.named_parameters() if not name.startswith("gate.")]
    groups: list[dict[str, object]] = [{"params": rest}]
    if gate:
        groups.append({"params": gate, "lr": params.gate_learning_rate})
    return groups


def train_fusion(
    queries: np.ndarray | torch.Tensor,
    vision: np.ndarray | torch.Tensor,
    text: np.ndarray | torch.Tensor,
    masks: np.ndarray | torch.Tensor,
    positives: np.ndarray | Sequence[int],
    params: FusionParams,
    seed: int,
    device: str | torch.device = "auto",
    *,
    kind: FusionKind | None = None,
    on_epoch: Callable[[int, FusionTower], dict[str, float] | None] | None = None,
    penalised: np.ndarray | Sequence[bool] | None = None,
) -> tuple[FusionTower, list[dict[str, float]]]:
    """Train a tower with the in-batch sampled softmax of the module docstring.

    Parameters
    ----------
    queries:
        ``(n_pairs, d_q)``: one row per training pair (repeat a query for several positives).
    vision, text, masks:
        The catalogue: ``(n_items, d_v)``, ``(n_items, d_t)``, ``(n_items, 2)`` bool.
    positives:
        ``(n_pairs,)`` row of ``vision``/``text`` that is the positive item of each pair.
    params:
        Dimensions, Adam settings, epochs, batch size, temperature, logQ correction.
    seed:
        Seeds the initial weights and the order of the pairs; the same seed on the same
        device gives the same model.
    kind:
        Overrides ``params.kind`` (to train the baselines with identical settings).
    on_epoch:
        Called after every epoch with ``(epoch, model)`` (model in eval mode, no gradient);
        the numbers it returns join that epoch's history row (e.g. a validation metric).
    penalised:
        ``(n_pairs,)`` bool: the pairs whose queries the regulariser (``gate_penalty``) reads,
        e.g. the user pairs only, so that text queries may move their gates freely; ``None``:
        every pair. The penalty of a batch is averaged over its penalised pairs.

    Returns
    -------
    The trained model (eval mode) and one history row a epoch: ``epoch``, ``loss`` (mean
    batch loss), ``alpha_vision`` and ``alpha_text`` (mean attention of the positive pairs).
    """
    target = resolve_device(device)
    data = as_fusion_data(queries, vision, text, masks, target)
    positive_rows = np.asarray(positives, dtype=np.int64)
    n_pairs, n_items = data.queries.shape[0], data.vision.shape[0]
    if positive_rows.shape != (n_pairs,):
        raise ValueError(f"positives must have shape ({n_pairs},), got {positive_rows.shape}")
    if n_pairs < 2:
        raise ValueError("train_fusion needs at least 2 (query, positive) pairs")
    if positive_rows.min() < 0 or positive_rows.max() >= n_items:
        raise ValueError(f"positives must index items in [0, {n_items}), got range "
                         f"[{positive_rows.min()}, {positive_rows.max()}]")
    model = make_fusion_model(
        kind or params.kind,
        data.queries.shape[1],
        data.vision.shape[1],
        data.text.shape[1],
        d_k=params.d_k,
        output_dim=params.output_dim,
        seed=seed,
    ).to(target)
    optimiser = torch.optim.Adam(parameter_groups(model, params), lr=params.learning_rate,
                                 weight_decay=params.weight_decay)
    log_q_items = None
    if params.logq_correction:
        counts = np.bincount(positive_rows, minlength=n_items)
        log_q_items = torch.as_tensor(np.log(np.maximum(counts, 1) / n_pairs), dtype=torch.float32, device=target)
    positive_t = torch.as_tensor(positive_rows, device=target)
    penalised_t = torch.ones(n_pairs, dtype=torch.bool, device=target)
    if penalised is not None:
        penalised_t = torch.as_tensor(np.asarray(penalised, dtype=bool), device=target)
        if penalised_t.shape != (n_pairs,):
            raise ValueError(f"penalised must have shape ({n_pairs},), got {tuple(penalised_t.shape)}")
    rng = np.random.default_rng(seed)
    batch_size = min(params.batch_size, n_pairs)
    history: list[dict[str, float]] = []
    epochs = tqdm(range(1, params.epochs + 1), desc=f"train {model.kind}", disable=not params.show_progress)
    for epoch in epochs:
        model.train()
        order = torch.as_tensor(rng.permutation(n_pairs), device=target)
        losses, alpha_sums, n_seen = [], torch.zeros(2, device=target), 0
        for start in range(0, n_pairs, batch_size):
            batch = order[start : start + batch_size]
            if len(batch) < 2:  # a lone pair has no negative
                continue
            items = positive_t[batch]
            scores, alpha = model.pairwise_scores(
                data.queries[batch], data.vision[items], data.text[items], data.masks[items]
            )
            logits = in_batch_logits(scores, params.temperature, None if log_q_items is None else log_q_items[items])
            labels, counted = in_batch_labels_and_mask(items)
            loss = sampled_softmax_loss(logits, labels, counted)
            if params.gate_penalty > 0:
                chosen = batch[penalised_t[batch]]
                if len(chosen):
                    loss = loss + params.gate_penalty * model.regulariser(data.queries[chosen])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            losses.append(float(loss.detach()))
            alpha_sums += torch.diagonal(alpha.detach(), dim1=0, dim2=1).sum(dim=-1)
            n_seen += len(batch)
        row = {
            "epoch": float(epoch),
            "loss": float(np.mean(losses)),
            "alpha_vision": float(alpha_sums[VISION] / n_seen),
            "alpha_text": float(alpha_sums[TEXT] / n_seen),
        }
        if on_epoch is not None:
            model.eval()
            with torch.no_grad():
                row.update(on_epoch(epoch, model) or {})
        history.append(row)
        epochs.set_postfix(loss=f"{row['loss']:.4f}")
    return model.eval(), history


@torch.no_grad()
def score_items(
    model: FusionTower,
    query_vecs: np.ndarray | torch.Tensor,
    vision: np.ndarray | torch.Tensor,
    text: np.ndarray | torch.Tensor,
    masks: np.ndarray | torch.Tensor,
    chunk: int = 4096,
) -> np.ndarray:
    """Exact fused scores of every query against every item, ``(n_queries, n_items)`` float32.

    Computed in blocks of at most ``chunk`` queries × ``chunk`` items on the model's device,
    so memory stays :math:`O(\\text{chunk}^2)` besides the returned matrix.
    """
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, got {chunk}")
    device = next(model.parameters()).device
    data = as_fusion_data(query_vecs, vision, text, masks, device)
    model.eval()
    n_queries, n_items = data.queries.shape[0], data.vision.shape[0]
    result = np.empty((n_queries, n_items), dtype=np.float32)
    for q_start in range(0, n_queries, chunk):
        query_block = data.queries[q_start : q_start + chunk]
        for i_start in range(0, n_items, chunk):
            i_end = i_start + chunk
            scores, _ = model.pairwise_scores(
                query_block, data.vision[i_start:i_end], data.text[i_start:i_end], data.masks[i_start:i_end]
            )
            result[q_start : q_start + len(query_block), i_start:i_end] = scores.float().cpu().numpy()
    return result
