"""Parameters of the retrieve stage (the ``retrieve:`` block of ``params.yaml``).

Top-level ``seed`` and ``device``, then one sub-block per concern: the world protocol's splits
(``split:``), how many candidates each source returns and the blend keeps (``candidates:``), the
ANN source (``ann:``), the knowledge graph (``knowledge_graph:``), SASRec (``sasrec:``), the
blending orchestrator (``blend:``) and the real-data runs (``movielens:``, ``sequences:``). Every
key is bounded here; ``params.yaml`` repeats it as a ``# (type) meaning`` comment.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from hermes_core.params import StrictModel
from hermes_core.retrieve.kg_path_weights import KnowledgeGraphParams
from hermes_core.retrieve.sasrec import SasrecConfig


class RetrieveSplitParams(StrictModel):
    """``retrieve.split``: the world protocol's temporal split of requests and queries."""

    test_days: float = Field(7.0, gt=0.0, le=365.0, description="the last days of the log: test requests and queries")
    validation_days: float = Field(7.0, gt=0.0, le=365.0,
                                   description="the days before them: validation (blend weights)")
    max_requests: int = Field(1500, ge=10, le=1_000_000,
                              description="logged requests sampled per split (without a query)")
    relevance_grade: int = Field(3, ge=1, le=4, description="contextual grade >= this: truly relevant (0..4)")
    query_relevance_grade: int = Field(2, ge=1, le=3, description="query grade >= this: relevant to the query (0..3)")


class RetrieveCandidateParams(StrictModel):
    """``retrieve.candidates``: list lengths."""

    per_source: int = Field(500, ge=10, le=100_000, description="candidates each source returns")
    top_n: int = Field(500, ge=10, le=100_000, description="candidates the blend keeps (the rank stage's input)")
    recall_ks: tuple[int, ...] = Field((50, 100, 500), min_length=1, description="cut-offs of recall@k")

    @field_validator("recall_ks")
    @classmethod
    def _increasing(cls, values: tuple[int, ...]) -> tuple[int, ...]:
        if list(values) != sorted(set(values)) or values[0] < 1:
            raise ValueError(f"recall_ks must be strictly increasing positive integers, got {values}")
        return values


class RetrieveAnnParams(StrictModel):
    """``retrieve.ann``: the ANN source."""

    constraint_filter: bool = Field(True, description="explicit constraints of the query filter every source's candidates")


class RetrieveKgParams(KnowledgeGraphParams):
    """``retrieve.knowledge_graph``: :class:`~hermes_core.retrieve.kg_path_weights.KnowledgeGraphParams`
    plus how a user's history seeds the walk."""

    seed_decay: float = Field(0.9, gt=0.0, le=1.0,
                              description="weight of a history item that is a clicks old: seed_decay^a")


class RetrieveSasrecParams(StrictModel):
    """``retrieve.sasrec``: SASRec's hyperparameters (:class:`~hermes_core.retrieve.sasrec.SasrecConfig`)."""

    max_len: int = Field(50, ge=1, le=4096, description="most recent items the model reads")
    hidden_size: int = Field(50, ge=1, le=4096, description="width of item and position embeddings")
    n_blocks: int = Field(2, ge=1, le=32, description="self-attention + feed-forward blocks")
    n_heads: int = Field(1, ge=1, le=64, description="attention heads (divide hidden_size)")
    dropout: float = Field(0.5, ge=0.0, lt=1.0, description="dropout rate")
    learning_rate: float = Field(0.001, gt=0.0, le=1.0, description="Adam step size")
    l2: float = Field(0.0, ge=0.0, le=10.0, description="L2 penalty on the embeddings")
    batch_size: int = Field(128, ge=1, le=65_536, description="training sequences a batch")
    epochs: int = Field(60, ge=1, le=10_000, description="passes over the training users")
    eval_every: int = Field(10, ge=1, le=10_000, description="epochs between validation evaluations")
    transition_smoothing: float = Field(1.0, gt=0.0, le=1e6, description="alpha of the first-order transition baseline")
    n_negatives: int = Field(100, ge=1, le=10_000, description="sampled negatives per target (paper protocol)")
    k: int = Field(10, ge=1, le=1000, description="cut-off of HR@k and NDCG@k (paper protocol)")

    def config(self, seed: int, device: str, epochs: int | None = None) -> SasrecConfig:
        """The model's :class:`SasrecConfig` with ``seed``, ``device`` and optionally other epochs."""
        return SasrecConfig(max_len=self.max_len, hidden_size=self.hidden_size, n_blocks=self.n_blocks,
                            n_heads=self.n_heads, dropout=self.dropout, learning_rate=self.learning_rate, l2=self.l2,
                            batch_size=self.batch_size, epochs=self.epochs if epochs is None else epochs, seed=seed,
                            device=device, eval_every=self.eval_every)  # fmt: skip


class RetrieveBlendParams(StrictModel):
    """``retrieve.blend``: the orchestrator and the weights."""

    normalisation: Literal["reciprocal_rank", "min_max"] = Field("reciprocal_rank",
                                                                 description="per-source score normalisation")
    rrf_c: float = Field(60.0, ge=0.0, le=1e6, description="c of reciprocal rank (c + 1) / (c + rank)")
    grid_resolution: int = Field(10, ge=1, le=100, description="simplex grid step 1/resolution of the weight fit")
    fit_k: int = Field(100, ge=1, le=100_000, description="k of the validation recall@k the weights maximise")
    budget_seconds: float = Field(2.0, gt=0.0, le=600.0, description="time budget of each source per request")
    failure_threshold: int = Field(3, ge=1, le=1000, description="consecutive failures that open a source's breaker")
    cooldown_requests: int = Field(10, ge=0, le=100_000, description="requests a source is skipped once its breaker opens")
    fault_demo_requests: int = Field(30, ge=0, le=10_000,
                                     description="requests of the fault-injection demo (0: no demo)")


class RetrieveMovielensParams(StrictModel):
    """``retrieve.movielens``: SASRec and the knowledge graph on MovieLens 100K (real data)."""

    enabled: bool = Field(True, description="run the MovieLens 100K experiments (a missing folder is an error)")
    path: str = Field("../shared/data/ml-100k", description="MovieLens 100K folder, relative to the repository")
    kg_path: str = Field("../shared/data/ml-100k-kg", description="its Freebase KG folder (ml-100k.kg, ml-100k.link)")
    min_count: int = Field(5, ge=0, le=1000, description="users and items with fewer ratings are dropped (one pass)")
    sasrec_epochs: int = Field(100, ge=1, le=10_000, description="SASRec's epochs on MovieLens 100K")


class RetrieveParams(StrictModel):
    """Knobs of the retrieve stage (``hermes_core.retrieve``)."""

    seed: int = Field(20261201, ge=0, description="seed of sampling, SASRec and the negatives")
    device: str = Field("auto", description="auto | cpu | cuda[:n] for SASRec")
    split: RetrieveSplitParams = RetrieveSplitParams()
    candidates: RetrieveCandidateParams = RetrieveCandidateParams()
    ann: RetrieveAnnParams = RetrieveAnnParams()
    knowledge_graph: RetrieveKgParams = RetrieveKgParams()
    sasrec: RetrieveSasrecParams = RetrieveSasrecParams()
    blend: RetrieveBlendParams = RetrieveBlendParams()
    movielens: RetrieveMovielensParams = RetrieveMovielensParams()
    sequences_path: str | None = Field(None, description="SASRec-format file or MovieLens 1M folder: the paper's "
                                                         "protocol also runs on it (null: not run)")
