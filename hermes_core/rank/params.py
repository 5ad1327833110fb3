"""Parameters of the rank stage (the ``rank:`` block of ``params.yaml``).

Top-level: the seeds, the device, the training objective of the fine ranker (``loss``), the losses
compared, the pre-ranker's cut and the evaluation cut-offs; then one sub-block per concern: the
training lists (``lists:``), the two-tower pre-ranker (``two_tower:``), the fine ranker
(``fine:``), LightGBM LambdaMART (``lightgbm:``), the position-bias experiment (``click_bias:``),
MovieLens 100K (``movielens:``) and a public learning-to-rank set in LETOR format (``letor:``).
Every key is bounded here; ``params.yaml`` repeats it as a ``# (type) meaning`` comment.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from hermes_core.params import StrictModel

LIST_LOSSES: tuple[str, ...] = ("listmle", "softmax", "approxndcg", "lambdaloss", "ranknet", "pointwise_bce")
"""The fine ranker's training objectives (:mod:`hermes_core.losses`), in the order tables show them."""


class RankListParams(StrictModel):
    """``rank.lists``: the world's training and validation lists."""

    train_requests: int = Field(3000, ge=10, le=1_000_000,
                                description="logged requests of the training days turned into training lists")
    list_size: int = Field(50, ge=2, le=10_000, description="items per training list, drawn from the pre-ranker's pool")
    pool_sizes: tuple[int, ...] = Field((50, 200, 500, 1000), min_length=1,
                                        description="depths of the pre-ranker's top a training list is drawn from; "
                                                    "the validation lists choose one")

    @field_validator("pool_sizes")
    @classmethod
    def _increasing(cls, values: tuple[int, ...]) -> tuple[int, ...]:
        if list(values) != sorted(set(values)) or values[0] < 2:
            raise ValueError(f"rank.lists.pool_sizes must be strictly increasing integers >= 2, got {values}")
        return values
    relevance_grade: int = Field(3, ge=1, le=4, description="grade >= this counts as relevant for MRR (0..4)")


class TwoTowerParams(StrictModel):
    """``rank.two_tower``: the pre-ranker (in-batch sampled softmax on the training clicks)."""

    dim: int = Field(32, ge=2, le=1024, description="width of the user and item vectors")
    hidden: int = Field(128, ge=2, le=4096, description="hidden width of each tower's MLP")
    epochs: int = Field(10, ge=1, le=1000, description="passes over the training clicks")
    batch_size: int = Field(512, ge=2, le=65_536, description="clicks per batch (the in-batch negatives)")
    learning_rate: float = Field(0.003, gt=0.0, le=1.0, description="Adam step size")
    temperature: float = Field(0.1, gt=0.0, le=10.0, description="tau: logits are u.v / tau")
    logq_correction: bool = Field(True, description="subtract log of each item's in-batch sampling probability")


class FineRankerParams(StrictModel):
    """``rank.fine``: the DCN-v2 fine ranker trained listwise."""

    cross_layers: int = Field(3, ge=0, le=16, description="cross layers x_{l+1} = x0 * (W x_l + b) + x_l")
    hidden: tuple[int, ...] = Field((128, 64), description="widths of the deep MLP beside the cross network")
    dropout: float = Field(0.1, ge=0.0, lt=1.0, description="dropout in the deep MLP")
    epochs: int = Field(20, ge=1, le=10_000, description="passes over the training lists")
    batch_lists: int = Field(64, ge=1, le=65_536, description="lists per batch")
    learning_rate: float = Field(0.002, gt=0.0, le=1.0, description="Adam step size")
    weight_decay: float = Field(1e-5, ge=0.0, le=1.0, description="AdamW weight decay")
    approxndcg_temperature: float = Field(0.1, gt=0.0, le=100.0, description="T of the ApproxNDCG loss")
    lambdaloss_weighting: Literal["ndcg_loss2pp", "ndcg_loss2", "lambdarank"] = Field(
        "ndcg_loss2pp", description="LambdaLoss weighting scheme")

    @field_validator("hidden")
    @classmethod
    def _positive(cls, values: tuple[int, ...]) -> tuple[int, ...]:
        if any(width < 1 for width in values):
            raise ValueError(f"hidden widths must be positive, got {values}")
        return values


class LightgbmParams(StrictModel):
    """``rank.lightgbm``: LambdaMART (LightGBM ``lambdarank``) on the same features and lists."""

    num_leaves: int = Field(31, ge=2, le=131_072, description="leaves per tree")
    learning_rate: float = Field(0.05, gt=0.0, le=1.0, description="shrinkage")
    n_estimators: int = Field(600, ge=1, le=100_000, description="most boosting rounds")
    early_stopping_rounds: int = Field(50, ge=1, le=10_000, description="rounds without validation NDCG@10 gain")
    min_data_in_leaf: int = Field(50, ge=1, le=1_000_000, description="fewest rows in a leaf")
    feature_fraction: float = Field(0.9, gt=0.0, le=1.0, description="share of features each tree sees")
    bagging_fraction: float = Field(0.8, gt=0.0, le=1.0, description="share of rows each bagging round sees")
    truncation_level: int = Field(20, ge=1, le=10_000, description="lambdarank_truncation_level: pairs considered")


class ClickBiasParams(StrictModel):
    """``rank.click_bias``: training on logged clicks, naive and inverse-propensity weighted."""

    enabled: bool = Field(True, description="run the position-bias experiment (the world's theta_k as propensities)")


class DiagnosisParams(StrictModel):
    """``rank.diagnosis``: the model-versus-objective and training-size ablations."""

    enabled: bool = Field(True, description="run the ablations (pointwise trees; nested training sizes)")
    size_fractions: tuple[float, ...] = Field((0.25, 0.5, 1.0), min_length=2,
                                              description="shares of the training lists of the size curve")

    @field_validator("size_fractions")
    @classmethod
    def _shares(cls, values: tuple[float, ...]) -> tuple[float, ...]:
        if list(values) != sorted(set(values)) or values[0] <= 0 or values[-1] > 1:
            raise ValueError(f"size_fractions must increase strictly within (0, 1], got {values}")
        return values


class RankMovielensParams(StrictModel):
    """``rank.movielens``: the fine ranker and LambdaMART on MovieLens 100K ratings."""

    enabled: bool = Field(True, description="run on MovieLens 100K (a missing folder is an error)")
    path: str = Field("../shared/data/ml-100k", description="MovieLens 100K folder, relative to the repository")
    test_share: float = Field(0.2, gt=0.0, lt=1.0, description="the latest share of ratings (by time): the test lists")
    validation_share: float = Field(0.1, gt=0.0, lt=1.0, description="the share before them: validation lists")
    min_list: int = Field(5, ge=2, le=10_000, description="users with fewer ratings in a split have no list there")
    max_list: int = Field(200, ge=2, le=100_000, description="a user's first ratings kept per split (in time order)")


class LetorParams(StrictModel):
    """``rank.letor``: a learning-to-rank set in LETOR/SVMlight format (MSLR-WEB10K, Yahoo, Istella)."""

    train_path: str | None = Field(None, description="training file (null: not run)")
    validation_path: str | None = Field(None, description="validation file (epoch and tree selection)")
    test_path: str | None = Field(None, description="test file")
    n_features: int | None = Field(None, ge=1, le=1_000_000, description="feature count (null: the largest index read)")
    max_list: int = Field(200, ge=2, le=100_000, description="items kept per query for the neural rankers (first in file)")

    @model_validator(mode="after")
    def _all_or_none(self) -> LetorParams:
        given = [path is not None for path in (self.train_path, self.validation_path, self.test_path)]
        if any(given) and not all(given):
            raise ValueError("rank.letor: give train_path, validation_path and test_path together (or none)")
        return self


class RankParams(StrictModel):
    """Knobs of the rank stage (``hermes_core.rank``)."""

    seed: int = Field(20261202, ge=0, description="seed of the lists, the pre-ranker and the random baseline")
    seeds: tuple[int, ...] = Field((0, 1, 2), min_length=1, description="training seeds of every fine ranker")
    device: str = Field("auto", description="auto | cpu | cuda[:n]")
    loss: str = Field("listmle", description="the fine ranker's objective whose scores go downstream")
    losses: tuple[str, ...] = Field(LIST_LOSSES, min_length=1, description="objectives compared")
    pre_rank_top_n: int = Field(200, ge=1, le=100_000, description="candidates the pre-ranker keeps for the fine ranker")
    ks: tuple[int, ...] = Field((5, 10, 20), min_length=1, description="cut-offs of NDCG@k")
    no_relevant: Literal["skip", "one", "zero"] = Field(
        "skip", description="NDCG and MRR of a list without a relevant item: skip | one (allRank) | zero (TF-Ranking)")
    n_bootstrap: int = Field(1000, ge=10, le=100_000, description="resamples of requests for intervals")
    lists: RankListParams = RankListParams()
    two_tower: TwoTowerParams = TwoTowerParams()
    fine: FineRankerParams = FineRankerParams()
    lightgbm: LightgbmParams = LightgbmParams()
    click_bias: ClickBiasParams = ClickBiasParams()
    diagnosis: DiagnosisParams = DiagnosisParams()
    movielens: RankMovielensParams = RankMovielensParams()
    letor: LetorParams = LetorParams()

    @field_validator("losses")
    @classmethod
    def _known_losses(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in values if name not in LIST_LOSSES]
        if unknown or len(set(values)) != len(values):
            raise ValueError(f"rank.losses must be distinct names among {LIST_LOSSES}, got {values}")
        return values

    @field_validator("ks")
    @classmethod
    def _increasing(cls, values: tuple[int, ...]) -> tuple[int, ...]:
        if list(values) != sorted(set(values)) or values[0] < 1:
            raise ValueError(f"rank.ks must be strictly increasing positive integers, got {values}")
        return values

    @model_validator(mode="after")
    def _loss_is_compared(self) -> RankParams:
        if self.loss not in LIST_LOSSES:
            raise ValueError(f"rank.loss must be one of {LIST_LOSSES}, got {self.loss!r}")
        if self.loss not in self.losses:
            raise ValueError(f"rank.loss {self.loss!r} must be one of rank.losses {self.losses}")
        if self.lists.pool_sizes[0] < self.lists.list_size:
            raise ValueError(f"rank.lists.pool_sizes {self.lists.pool_sizes} must each be at least rank.lists.list_size "
                             f"({self.lists.list_size})")
        if 10 not in self.ks:
            raise ValueError(f"rank.ks must contain 10 (the headline NDCG@10), got {self.ks}")
        return self
