"""Parameters of the encode stage (the ``encode:`` block of ``params.yaml``).

Top-level ``seed`` and ``device``, then one sub-block per concern: the content encoders
(``text:``, ``image:``), the embedding cache (``cache:``), the stage's splits (``split:``:
profiles, validation items, text queries, the MovieLens cold split), the cold-start evaluation
(``eval:``: cut-offs, bootstrap, confidence level), the fusion trainer (``fusion:``) and the
approximate-nearest-neighbour index (``ann:``). Every key is bounded here and documented by its
``description``; ``params.yaml`` repeats it as a ``# (type) meaning`` comment.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from hermes_core.params import StrictModel

FusionKind = Literal["gated", "cross_attention", "text_only", "image_only", "concat"]
FUSION_KINDS: tuple[str, ...] = ("gated", "cross_attention", "text_only", "image_only", "concat")


class FusionParams(StrictModel):
    """Query-conditioned fusion model and its in-batch sampled-softmax trainer."""

    kind: FusionKind = Field("gated", description="item tower that train_fusion builds and the index serves")
    compare: tuple[FusionKind, ...] = Field(
        FUSION_KINDS, min_length=1, description="item towers compared on equal footing"
    )
    d_k: int = Field(64, ge=1, le=4096, description="width of attention queries and keys")
    output_dim: int = Field(128, ge=1, le=4096, description="width of the shared query/item space")
    epochs: int = Field(20, ge=1, le=10_000, description="passes over the training pairs")
    learning_rate: float = Field(1e-3, gt=0.0, le=1.0, description="Adam step size")
    weight_decay: float = Field(0.0, ge=0.0, le=1.0, description="Adam L2 penalty")
    batch_size: int = Field(
        256, ge=2, le=65_536, description="pairs a batch; each query sees batch_size-1 negatives"
    )
    temperature: float = Field(0.1, gt=0.0, le=100.0, description="logits = scores / temperature")
    logq_correction: bool = Field(
        False, description="subtract log sampling frequency of in-batch items (Yi et al. 2019)"
    )
    show_progress: bool = Field(False, description="tqdm bar over epochs")
    feature_centering: bool = Field(
        True,
        description="centre each modality's embeddings on the catalogue mean and L2-normalise "
        "them before the towers (the cache keeps the encoders' raw output)",
    )
    early_stopping: bool = Field(
        True, description="keep each tower's epoch of best validation score (else the last epoch)"
    )
    gate_learning_rate: float = Field(0.05, gt=0.0, le=1.0, description="gated tower: Adam step size of the gate layer")
    gate_penalty: float = Field(
        0.01, ge=0.0, le=100.0,
        description="gated tower: weight of the penalty mean_i sum_m (g_m(q_i) - 1)^2 towards concatenation",
    )
    n_seeds: int = Field(
        3, ge=1, le=100, description="training seeds of every tower (encode.seed, +1, ...); tables show mean and spread"
    )


class AnnParams(StrictModel):
    """FAISS maximum-inner-product index, its sweep and the two-stage retrieval."""

    index_type: Literal["flat", "ivf_flat", "hnsw", "ivf_pq"] = Field(
        "hnsw", description="FAISS index family"
    )
    nlist: int = Field(128, ge=1, le=1_048_576, description="IVF: number of inverted lists")
    nprobe: int = Field(8, ge=1, le=1_048_576, description="IVF: lists visited a query")
    hnsw_m: int = Field(32, ge=2, le=256, description="HNSW: links a node")
    ef_search: int = Field(64, ge=1, le=65_536, description="HNSW: search beam width")
    ef_construction: int = Field(200, ge=1, le=65_536, description="HNSW: build beam width")
    pq_m: int = Field(16, ge=1, le=1024, description="IVF-PQ: sub-quantisers; divides the dim")
    pq_nbits: int = Field(8, ge=1, le=16, description="IVF-PQ: bits a sub-code")
    sweep_nprobe: tuple[int, ...] = Field(
        (1, 2, 4, 8, 16, 32, 64, 128), min_length=1, description="nprobe values swept"
    )
    sweep_ef_search: tuple[int, ...] = Field(
        (16, 32, 64, 128, 256, 512), min_length=1, description="ef_search values swept"
    )
    n_candidates: int = Field(
        200, ge=1, le=100_000, description="ANN candidates a modality before exact rescoring"
    )
    recall_k: int = Field(10, ge=1, le=1000, description="k of ANN recall@k against exact search")

    @model_validator(mode="after")
    def _consistent(self) -> AnnParams:
        if self.nprobe > self.nlist:
            raise ValueError(f"ann.nprobe ({self.nprobe}) must not exceed ann.nlist ({self.nlist})")
        if any(value < 1 for value in (*self.sweep_nprobe, *self.sweep_ef_search)):
            raise ValueError("ann.sweep_nprobe and ann.sweep_ef_search values must be >= 1")
        return self


class TextParams(StrictModel):
    """The sentence-transformers text encoder."""

    model: str = Field(
        "bundled:all-MiniLM-L6-v2",
        min_length=1,
        description="sentence-transformers model: the bundled MiniLM, a local path or a "
        "name already in the local Hugging Face cache (nothing is downloaded)",
    )
    batch_size: int = Field(128, ge=1, le=8192, description="texts a forward pass")
    max_seq_length: int | None = Field(
        None, ge=8, le=8192, description="token truncation length; None keeps the model's"
    )
    normalize: bool = Field(True, description="L2-normalise text embeddings")


class ImageParams(StrictModel):
    """The image encoder of the registry in :mod:`hermes_core.encode.image`."""

    encoder: str = Field("efficientnet-lite0", min_length=1, description="name in the image-encoder registry")
    size: int = Field(224, ge=32, le=1024, description="square network input side, pixels")
    crop_fraction: float = Field(0.875, gt=0.0, le=1.0, description="centre-crop share of the resized shorter side")
    batch_size: int = Field(32, ge=1, le=4096, description="images a forward pass")
    normalize: bool = Field(False, description="L2-normalise pooled image features")


class CacheParams(StrictModel):
    """The content-addressed embedding cache."""

    dir: str = Field("data/encode/cache", min_length=1, description="embedding cache folder")
    progress_min_items: int = Field(
        100000, ge=0, description="show a tqdm bar when encoding at least this many items"
    )


class SplitParams(StrictModel):
    """Who is profiled, what is held out: validation items, text queries, MovieLens cold movies."""

    min_user_clicks: int = Field(
        3, ge=2, le=10_000,
        description="warm positives before the cut-off a user needs to be profiled and evaluated",
    )
    validation_item_share: float = Field(
        0.1, gt=0.0, lt=1.0,
        description="share of warm clicked items held out of training to pick each tower's epoch",
    )
    query_positive_grade: int = Field(
        2, ge=1, le=3, description="text queries: items of query relevance >= this are positives"
    )
    query_test_share: float = Field(
        0.3, gt=0.0, lt=1.0, description="share of visual and content queries held out (per kind)"
    )
    query_validation_share: float = Field(
        0.2, ge=0.0, lt=1.0,
        description="share of the training visual and content queries held out (per kind) to pick each "
        "tower's epoch beside the validation users",
    )
    max_positives_per_query: int = Field(
        50, ge=1, le=100_000, description="training positives kept a text query (seeded sample)"
    )
    movielens_cold_share: float = Field(
        0.1, gt=0.0, lt=1.0, description="MovieLens: share of rated movies held out as cold (seeded)"
    )
    movielens_positive_rating: float = Field(
        4.0, ge=0.5, le=5.0, description="MovieLens: ratings >= this are positives and relevant"
    )


class EvalParams(StrictModel):
    """The cold-start evaluation: relevance, cut-offs and the bootstrap of every comparison."""

    relevant_grade: int = Field(
        3, ge=1, le=4, description="world: true relevance grade from which a cold item counts in recall"
    )
    ndcg_k: int = Field(10, ge=1, le=10_000, description="k of the cold-start NDCG@k")
    recall_k: int = Field(50, ge=1, le=10_000, description="k of the cold-start recall@k")
    n_bootstrap: int = Field(
        1000, ge=100, le=100_000,
        description="bootstrap resamples of every interval (differences, means, correlation)",
    )
    ci_level: float = Field(0.95, gt=0.0, lt=1.0, description="level of every bootstrap interval")


class EncodeParams(StrictModel):
    """The encode stage: text and image encoders, embedding cache, splits, evaluation, fusion, ANN."""

    seed: int = Field(
        20261126, ge=0, description="seed of the splits, baselines, tower training, bootstrap and index building"
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="torch device; auto = cuda when available, else cpu"
    )
    text: TextParams = TextParams()
    image: ImageParams = ImageParams()
    cache: CacheParams = CacheParams()
    split: SplitParams = SplitParams()
    eval: EvalParams = EvalParams()
    fusion: FusionParams = FusionParams()
    ann: AnnParams = AnnParams()
