r"""SASRec: self-attentive sequential recommendation (Kang & McAuley 2018, ICDM), in PyTorch.

The model reads a user's last ``max_len`` items :math:`s_1..s_n` (left-padded with item 0) and
produces at every position :math:`t` a vector :math:`F_t` that predicts the next item; item
:math:`j` scores :math:`r_{j,t} = F_t \cdot M_j` with the input embedding table :math:`M`
(shared, Section III.E).

* Embedding (III.B): :math:`\hat E_t = \sqrt d\, M_{s_t} + P_t`, :math:`M_0 = 0` (padding), learned
  positions :math:`P`, then dropout and the padding positions set to 0. The :math:`\sqrt d` scale
  is the reference code's (``modules.embedding(scale=True)``). Positions count from the right
  (the last column is position ``max_len - 1`` whatever the input's width), as the reference's
  fixed-width left-padded input implies, so left-padding an input further changes nothing.
* :math:`b` blocks (III.C-D), each causal multi-head self-attention then a point-wise feed-forward
  net, as the reference ``model.py`` wires them (its residuals start at the *normalised* input,
  where the paper's eq. 4 writes :math:`x + \mathrm{Dropout}(g(\mathrm{LN}(x)))`):

  .. math::

      Q = \mathrm{LN}(S),\quad S \leftarrow Q + \mathrm{SA}(Q, S),\qquad
      X = \mathrm{LN}(S),\quad S \leftarrow X + \mathrm{Drop}(W_2\,\mathrm{Drop}(\mathrm{ReLU}(W_1 X + b_1)) + b_2)

  with :math:`\mathrm{SA}(Q, S) = \mathrm{Drop}(\mathrm{softmax}(QW^Q (SW^K)^\top/\sqrt{d_h} + \text{mask}))\, SW^V`
  per head (no output projection, as in the paper's eq. 2 and the reference), where position
  :math:`t` sees only real (non-padding) positions :math:`\le t`; padding positions are set to 0
  after each block; a last layer norm gives :math:`F`. Layer norms use the reference's
  :math:`\epsilon = 10^{-8}`.
* Training (III.E): binary cross-entropy at every real position of the training sequence, its
  next item as the positive and one negative drawn uniformly among the items *not in the user's
  training sequence* (redrawn each epoch), padding ignored:

  .. math:: \mathcal L = \frac{1}{|\mathcal T|}\sum_{(u,t) \in \mathcal T}
            \big[-\log\sigma(r_{o_t,t}) - \log(1 - \sigma(r_{j_t,t}))\big]
            + \frac{\lambda}{2}\big(\lVert M\rVert^2 + \lVert P\rVert^2\big)

  (:math:`\lambda` = ``l2``, the reference's ``l2_emb``, 0 in the paper), Adam with
  :math:`\beta = (0.9, 0.98)` as in the reference. Weights: Glorot-uniform matrices and zero
  biases (TensorFlow's defaults, which the reference uses). An epoch visits every user with at
  least 2 training items once, in a seeded random order (the reference draws
  ``n_users // batch_size`` batches of random users with replacement instead).

Deterministic on CPU for a given ``seed`` (a seeded ``numpy`` generator for order and negatives;
torch's generator is seeded inside :func:`torch.random.fork_rng`, so the caller's state is
untouched).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from hermes_core.device import resolve_device
from hermes_core.evaluation.sequential import CandidateLists, InteractedItems, sampled_metrics

ADAM_BETAS = (0.9, 0.98)
"""The reference's Adam (``tf.train.AdamOptimizer(beta2=0.98)``)."""
LAYER_NORM_EPS = 1e-8
INFERENCE_BATCH = 512
VALIDATION_K = 10


@dataclass(frozen=True)
class SasrecConfig:
    """Hyperparameters of SASRec; the defaults are the paper's MovieLens-1M setting.

    Paper (Section IV.C) and reference ``README.md`` for ML-1M: ``max_len`` 200 (50 on the sparse
    datasets), ``hidden_size`` 50, ``n_blocks`` 2, ``n_heads`` 1, ``dropout`` 0.2 (0.5 on the
    sparse datasets), ``learning_rate`` 0.001, ``l2`` 0, ``batch_size`` 128; ``epochs`` 200 (the
    reference's ``num_epochs`` is 201, evaluating every 20).
    """

    max_len: int = 200  # n: the most recent items the model reads
    hidden_size: int = 50  # d: width of embeddings and blocks
    n_blocks: int = 2  # b: self-attention + feed-forward blocks
    n_heads: int = 1  # attention heads; must divide hidden_size
    dropout: float = 0.2
    learning_rate: float = 0.001
    l2: float = 0.0  # lambda: L2 penalty on the item and position embeddings
    batch_size: int = 128  # training sequences a batch
    epochs: int = 200
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda[:n]
    eval_every: int = 20  # epochs between validation evaluations (and the last epoch)

    def __post_init__(self) -> None:
        for name in ("max_len", "hidden_size", "n_blocks", "n_heads", "batch_size", "epochs", "eval_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"SasrecConfig.{name} must be >= 1, got {getattr(self, name)!r}")
        if self.hidden_size % self.n_heads:
            raise ValueError(f"SasrecConfig.hidden_size ({self.hidden_size}) must be a multiple of "
                             f"n_heads ({self.n_heads})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"SasrecConfig.dropout must lie in [0, 1), got {self.dropout!r}")
        if self.learning_rate <= 0.0:
            raise ValueError(f"SasrecConfig.learning_rate must be > 0, got {self.learning_rate!r}")
        if self.l2 < 0.0:
            raise ValueError(f"SasrecConfig.l2 must be >= 0, got {self.l2!r}")


class CausalSelfAttention(nn.Module):
    """Multi-head attention where position t attends to the real positions <= t (module docstring)."""

    def __init__(self, hidden_size: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.query = nn.Linear(hidden_size, hidden_size)
        self.key = nn.Linear(hidden_size, hidden_size)
        self.value = nn.Linear(hidden_size, hidden_size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, queries: torch.Tensor, keys: torch.Tensor, is_real: torch.Tensor) -> torch.Tensor:
        batch, length, width = queries.shape
        head = width // self.n_heads

        def split(x: torch.Tensor) -> torch.Tensor:
            return x.view(batch, length, self.n_heads, head).transpose(1, 2)  # (batch, heads, length, head)

        q, k, v = split(self.query(queries)), split(self.key(keys)), split(self.value(keys))
        logits = q @ k.transpose(-1, -2) / math.sqrt(head)  # (batch, heads, query, key)
        earlier = torch.ones(length, length, dtype=torch.bool, device=queries.device).tril()
        allowed = earlier & is_real[:, None, None, :]
        # a padding query has no real key at or before it: letting it see itself keeps its softmax
        # finite; its output is set to 0 after the block, and no real query ever sees it
        allowed = allowed | torch.eye(length, dtype=torch.bool, device=queries.device)
        weights = self.dropout(torch.softmax(logits.masked_fill(~allowed, float("-inf")), dim=-1))
        return (weights @ v).transpose(1, 2).reshape(batch, length, width)


class PointWiseFeedForward(nn.Module):
    """:math:`x + \\mathrm{Drop}(W_2\\,\\mathrm{Drop}(\\mathrm{ReLU}(W_1 x + b_1)) + b_2)` at every position."""

    def __init__(self, hidden_size: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(hidden_size, hidden_size), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden_size, hidden_size), nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class SasrecModel(nn.Module):
    """The SASRec network: item ids ``(batch, length)`` -> features ``(batch, length, hidden_size)``."""

    def __init__(self, n_items: int, config: SasrecConfig) -> None:
        super().__init__()
        if n_items < 1:
            raise ValueError(f"n_items must be >= 1, got {n_items}")
        self.n_items, self.max_len, self.hidden_size = n_items, config.max_len, config.hidden_size
        self.item_embedding = nn.Embedding(n_items + 1, config.hidden_size, padding_idx=0)
        self.position_embedding = nn.Embedding(config.max_len, config.hidden_size)
        self.embedding_dropout = nn.Dropout(config.dropout)
        self.attention_norms = nn.ModuleList(
            nn.LayerNorm(config.hidden_size, eps=LAYER_NORM_EPS) for _ in range(config.n_blocks))
        self.attentions = nn.ModuleList(
            CausalSelfAttention(config.hidden_size, config.n_heads, config.dropout) for _ in range(config.n_blocks))
        self.feed_forward_norms = nn.ModuleList(
            nn.LayerNorm(config.hidden_size, eps=LAYER_NORM_EPS) for _ in range(config.n_blocks))
        self.feed_forwards = nn.ModuleList(
            PointWiseFeedForward(config.hidden_size, config.dropout) for _ in range(config.n_blocks))
        self.last_norm = nn.LayerNorm(config.hidden_size, eps=LAYER_NORM_EPS)
        self._init_weights()

    def _init_weights(self) -> None:
        for name, parameter in self.named_parameters():
            if parameter.dim() >= 2:
                nn.init.xavier_uniform_(parameter)
            elif name.endswith("bias"):
                nn.init.zeros_(parameter)
        with torch.no_grad():
            self.item_embedding.weight[0].zero_()

    def forward(self, items: torch.Tensor) -> torch.Tensor:
        """Features :math:`F` of every position of ``items`` (batch, length <= max_len), 0 = padding."""
        batch, length = items.shape
        if length > self.max_len:
            raise ValueError(f"input of {length} positions is longer than max_len={self.max_len}")
        is_real = items != 0  # (batch, length)
        keep = is_real.unsqueeze(-1).to(self.item_embedding.weight.dtype)
        positions = torch.arange(self.max_len - length, self.max_len, device=items.device)
        hidden = self.item_embedding(items) * math.sqrt(self.hidden_size) + self.position_embedding(positions)
        hidden = self.embedding_dropout(hidden) * keep
        for attention_norm, attention, feed_forward_norm, feed_forward in zip(
            self.attention_norms, self.attentions, self.feed_forward_norms, self.feed_forwards
        ):
            queries = attention_norm(hidden)
            hidden = queries + attention(queries, hidden, is_real)
            hidden = feed_forward(feed_forward_norm(hidden)) * keep
        return self.last_norm(hidden)  # (batch, length, hidden_size)

    def embedding_penalty(self) -> torch.Tensor:
        """:math:`\\frac12(\\lVert M\\rVert^2 + \\lVert P\\rVert^2)` (the reference's ``l2_regularizer``)."""
        return 0.5 * (self.item_embedding.weight.square().sum() + self.position_embedding.weight.square().sum())


def left_padded(histories: Sequence[np.ndarray], max_len: int) -> np.ndarray:
    """(n, max_len) int64: each history's last ``max_len`` items, right-aligned, 0 on the left."""
    padded = np.zeros((len(histories), max_len), dtype=np.int64)
    for row, history in enumerate(histories):
        tail = np.asarray(history, dtype=np.int64)[-max_len:]
        if len(tail):
            padded[row, max_len - len(tail):] = tail
    return padded


@dataclass
class TrainedSasrec:
    """A trained model, its settings and its per-epoch history; scores items for users' histories."""

    model: SasrecModel
    config: SasrecConfig
    n_items: int
    history: list[dict[str, float]] = field(default_factory=list)  # per epoch: loss, seconds, throughput, validation
    seconds: float = 0.0  # training time, validation excluded

    @property
    def device(self) -> torch.device:
        return self.model.item_embedding.weight.device

    @torch.no_grad()
    def last_features(self, histories: Sequence[np.ndarray]) -> torch.Tensor:
        """(n_users, hidden_size) features at each history's last position (eval mode)."""
        self.model.eval()
        for row, history in enumerate(histories):
            if len(history) and (np.min(history) < 1 or np.max(history) > self.n_items):
                raise ValueError(f"history {row} holds an item id outside 1..{self.n_items}")
        inputs = left_padded(histories, self.config.max_len)
        features = [self.model(torch.from_numpy(inputs[start:start + INFERENCE_BATCH]).to(self.device))[:, -1]
                    for start in range(0, len(inputs), INFERENCE_BATCH)]
        return torch.cat(features) if features else torch.zeros(0, self.config.hidden_size, device=self.device)

    @torch.no_grad()
    def score(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """(n_users, n_items) scores :math:`F_n \\cdot M_j`; column ``j`` is item ``j + 1``."""
        items = self.model.item_embedding.weight[1:]  # (n_items, hidden_size)
        return (self.last_features(histories) @ items.T).cpu().numpy()

    @torch.no_grad()
    def score_candidates(self, histories: Sequence[np.ndarray], candidates: np.ndarray) -> np.ndarray:
        """(n_users, n_candidates) scores of the item ids ``candidates`` (n_users, n_candidates)."""
        candidates = np.asarray(candidates, dtype=np.int64)
        if candidates.ndim != 2 or len(candidates) != len(histories):
            raise ValueError(f"candidates must be (n_users={len(histories)}, n_candidates), got {candidates.shape}")
        if candidates.size and (candidates.min() < 1 or candidates.max() > self.n_items):
            raise ValueError(f"candidates must be item ids in 1..{self.n_items}")
        features = self.last_features(histories)  # (n_users, hidden_size)
        embeddings = self.model.item_embedding(torch.from_numpy(candidates).to(self.device))  # (n_users, c, hidden)
        return torch.einsum("uh,uch->uc", features, embeddings).cpu().numpy()


def train_sasrec(
    sequences: Sequence[np.ndarray],
    n_items: int,
    config: SasrecConfig,
    validation: CandidateLists | None = None,
) -> TrainedSasrec:
    """Train SASRec on time-ordered training sequences of item ids ``1..n_items`` (module docstring).

    ``validation`` (e.g. :func:`~hermes_core.evaluation.sequential.sample_candidates` on the
    leave-one-out split's ``"validation"`` part) is scored every ``config.eval_every`` epochs and
    at the last: the history then holds ``validation_hr@10`` and ``validation_ndcg@10``. Every
    epoch's row holds ``epoch``, ``loss`` (mean over batches), ``seconds`` and
    ``sequences_per_second`` (training sequences over the epoch's training time).
    """
    device = resolve_device(config.device)
    sequences = [np.asarray(sequence, dtype=np.int64) for sequence in sequences]
    for row, sequence in enumerate(sequences):
        if sequence.size and (sequence.min() < 1 or sequence.max() > n_items):
            raise ValueError(f"training sequence {row} holds an item id outside 1..{n_items}")
    rows = np.array([row for row, sequence in enumerate(sequences) if len(sequence) >= 2], dtype=np.int64)
    if len(rows) == 0:
        raise ValueError("no training sequence has 2 or more items: nothing to predict")
    inputs = torch.from_numpy(left_padded([sequences[r][:-1] for r in rows], config.max_len))  # (n, max_len)
    positives = torch.from_numpy(left_padded([sequences[r][1:] for r in rows], config.max_len))  # (n, max_len)
    interacted = InteractedItems([sequences[r] for r in rows], n_items)
    if (interacted.n_distinct >= n_items).any():
        row = int(rows[np.argmax(interacted.n_distinct >= n_items)])
        raise ValueError(f"training sequence {row} holds every one of the {n_items} items: no negative can be sampled")
    rng = np.random.default_rng(config.seed)
    fork_devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices):
        torch.manual_seed(config.seed)
        model = SasrecModel(n_items, config).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, betas=ADAM_BETAS)
        trained = TrainedSasrec(model, config, n_items)
        for epoch in range(1, config.epochs + 1):
            start = time.perf_counter()
            loss = _train_one_epoch(model, optimizer, inputs, positives, interacted, rng, config)
            seconds = time.perf_counter() - start
            trained.seconds += seconds
            row = {"epoch": float(epoch), "loss": loss, "seconds": seconds, "sequences_per_second": len(rows) / seconds}
            if validation is not None and (epoch % config.eval_every == 0 or epoch == config.epochs):
                metrics = sampled_metrics(trained, validation, VALIDATION_K)
                row[f"validation_hr@{VALIDATION_K}"] = metrics.hit_rate
                row[f"validation_ndcg@{VALIDATION_K}"] = metrics.ndcg
            trained.history.append(row)
    model.eval()
    return trained


def _train_one_epoch(model: SasrecModel, optimizer: torch.optim.Optimizer, inputs: torch.Tensor,
                     positives: torch.Tensor, interacted: InteractedItems, rng: np.random.Generator,
                     config: SasrecConfig) -> float:
    """One pass over the training sequences in a random order, fresh negatives; the mean batch loss."""
    device = model.item_embedding.weight.device
    model.train()
    losses = []
    order = rng.permutation(len(inputs))
    for start in range(0, len(order), config.batch_size):
        batch = order[start:start + config.batch_size]
        negatives = torch.from_numpy(interacted.sample_not_interacted(batch, config.max_len, rng))  # (b, max_len)
        index = torch.from_numpy(batch)
        loss = _batch_loss(model, inputs[index].to(device), positives[index].to(device), negatives.to(device),
                           config.l2)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return float(np.mean(losses))


def _batch_loss(model: SasrecModel, inputs: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor,
                l2: float) -> torch.Tensor:
    """Mean BCE over the real positions (positive next item vs one negative) plus the L2 penalty."""
    features = model(inputs)  # (batch, max_len, hidden)
    is_target = positives != 0  # (batch, max_len)
    positive_logits = (features * model.item_embedding(positives)).sum(-1)
    negative_logits = (features * model.item_embedding(negatives)).sum(-1)
    # -log sigmoid(x) = softplus(-x) and -log(1 - sigmoid(x)) = softplus(x), without overflow
    per_position = nn.functional.softplus(-positive_logits) + nn.functional.softplus(negative_logits)
    loss = (per_position * is_target).sum() / is_target.sum()
    if l2 > 0.0:
        loss = loss + l2 * model.embedding_penalty()
    return loss
