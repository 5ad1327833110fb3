"""Parameters of the encode stage (the ``encode:`` block of ``params.yaml``).

Four groups: the content encoders and the embedding cache (flat keys), the training and
evaluation protocol of the stage (flat keys: profiles, validation split, text-query split,
cold-start cut-offs, MovieLens cold split), the fusion trainer (``fusion:``) and the
approximate-nearest-neighbour index (``ann:``). Every key is bounded here and documented by
its ``description``; ``params.yaml`` repeats it as a ``# (type) meaning`` comment.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from hermes_core.params import StrictModel

FusionKind = Literal["cross_attention", "text_only", "image_only", "concat"]
FUSION_KINDS: tuple[str, ...] = ("cross_attention", "text_only", "image_only", "concat")


class FusionParams(StrictModel):
    """Query-conditioned fusion model and its in-batch sampled-softmax trainer."""

    kind: FusionKind = Field("cross_attention", description="item tower that train_fusion builds")
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


class EncodeParams(StrictModel):
    """The encode stage: text and image encoders, embedding cache, fusion, ANN, evaluation."""

    seed: int = Field(20261126, ge=0, description="seed of fusion training and index building")
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="torch device; auto = cuda when available, else cpu"
    )
    text_model: str = Field(
        "bundled:all-MiniLM-L6-v2",
        min_length=1,
        description="sentence-transformers model: the bundled MiniLM, a local path or a "
        "name already in the local Hugging Face cache (nothing is downloaded)",
    )
    text_batch_size: int = Field(128, ge=1, le=8192, description="texts a forward pass")
    text_max_seq_length: int | None = Field(
        None, ge=8, le=8192, description="token truncation length; None keeps the model's"
    )
    text_normalize: bool = Field(True, description="L2-normalise text embeddings")
    image_encoder: str = Field(
        "efficientnet-lite0", min_length=1, description="name in the image-encoder registry"
    )
    image_size: int = Field(224, ge=32, le=1024, description="square network input side, pixels")
    image_crop_fraction: float = Field(
        0.875, gt=0.0, le=1.0, description="centre-crop share of the resized shorter side"
    )
    image_batch_size: int = Field(32, ge=1, le=4096, description="images a forward pass")
    image_normalize: bool = Field(False, description="L2-normalise pooled image features")
    cache_dir: str = Field("data/encode/cache", min_length=1, description="embedding cache folder")
    progress_min_items: int = Field(
        100000, ge=0, description="show a tqdm bar when encoding at least this many items"
    )
    feature_centering: bool = Field(
        True,
        description="centre each modality's embeddings on the catalogue mean and L2-normalise "
        "them before the towers (the cache keeps the encoders' raw output)",
    )
    min_user_clicks: int = Field(
        3, ge=2, le=10_000,
        description="warm positives before the cut-off a user needs to be profiled and evaluated",
    )
    query_positive_grade: int = Field(
        2, ge=1, le=3, description="text queries: items of query relevance >= this are positives"
    )
    query_test_share: float = Field(
        0.3, gt=0.0, lt=1.0, description="share of visual and content queries held out (per kind)"
    )
    max_positives_per_query: int = Field(
        50, ge=1, le=100_000, description="training positives kept a text query (seeded sample)"
    )
    validation_item_share: float = Field(
        0.1, gt=0.0, lt=1.0,
        description="share of warm clicked items held out of training to pick each tower's epoch",
    )
    early_stopping: bool = Field(
        True, description="keep each tower's epoch of best validation NDCG (else the last epoch)"
    )
    relevant_grade: int = Field(
        3, ge=1, le=4, description="world: true relevance grade from which a cold item counts in recall"
    )
    cold_start_ndcg_k: int = Field(10, ge=1, le=10_000, description="k of the cold-start NDCG@k")
    bootstrap_resamples: int = Field(
        1000, ge=100, le=100_000, description="paired bootstrap resamples of the NDCG differences"
    )
    cold_start_recall_k: int = Field(50, ge=1, le=10_000, description="k of the cold-start recall@k")
    movielens_cold_share: float = Field(
        0.1, gt=0.0, lt=1.0, description="MovieLens: share of rated movies held out as cold (seeded)"
    )
    movielens_positive_rating: float = Field(
        4.0, ge=0.5, le=5.0, description="MovieLens: ratings >= this are positives and relevant"
    )
    fusion: FusionParams = FusionParams()
    ann: AnnParams = AnnParams()
