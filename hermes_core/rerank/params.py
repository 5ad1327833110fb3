"""Parameters of the rerank stage (the ``rerank:`` block of ``params.yaml``).

Top-level ``seed``, the policy the stage ships (``default_policy``), the slate size, how the ranker's
scores become the policies' relevance and the evaluation's knobs; then one sub-block per concern:
the cohorts (``cohorts:``), each policy (``mmr:``, ``parity:``, ``singh_joachims:``, ``fair:``), the
benchmark's target band (``target:``) and MovieLens 100K (``movielens:``). Every key is bounded here;
``params.yaml`` repeats it as a ``# (type) meaning`` comment.

The operating points (``mmr.lam``, ``parity.tolerance``, ``singh_joachims.candidates``, ``fair.p``)
were set on the default world from the sweeps the notebook draws (each is an interior point of its
sweep, see ``notebooks/07_rerank.ipynb`` §7); the sweeps span the region where each knob acts.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from hermes_core.params import StrictModel

PolicyName = Literal["mmr", "parity", "singh_joachims", "fair"]
POLICIES: tuple[str, ...] = ("mmr", "parity", "singh_joachims", "fair")
"""The four policies, in the order of every table and of ``default_policy_index`` in the metrics."""


def _strictly_decreasing(values: tuple[float, ...], name: str) -> tuple[float, ...]:
    if not 2 <= len(values) <= 32:
        raise ValueError(f"{name} needs 2 to 32 values, got {len(values)}")
    if any(b >= a for a, b in zip(values, values[1:])):
        raise ValueError(f"{name} must be strictly decreasing, got {values}")
    return values


def _strictly_increasing(values: tuple[float, ...], name: str) -> tuple[float, ...]:
    if not 2 <= len(values) <= 32:
        raise ValueError(f"{name} needs 2 to 32 values, got {len(values)}")
    if any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError(f"{name} must be strictly increasing, got {values}")
    return values


class RerankCohortParams(StrictModel):
    """``rerank.cohorts``: which creator cohort is cohort A (the protected one) of every fairness measure."""

    protected: Literal["independent", "mainstream"] = Field(
        "independent", description="cohort A of the disparate-exposure ratio, FA*IR's protected group and the LP's "
                                   "group 0 (world: creators.mainstream; MovieLens: directors by ratings)")


class RerankMmrParams(StrictModel):
    """``rerank.mmr``: Maximal Marginal Relevance (:mod:`hermes_core.rerank.mmr`)."""

    lam: float = Field(0.8, ge=0.0, le=1.0, description="lambda of the shipped MMR policy (1: relevance only)")
    lam_sweep: tuple[float, ...] = Field((1.0, 0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.3, 0.0),
                                         description="lambdas of the trade-off curve, strictly decreasing in [0, 1]")
    chunk_size: int = Field(64, ge=1, le=100_000, description="lists whose similarity matrices are held at once")

    @field_validator("lam_sweep")
    @classmethod
    def _sweep(cls, values: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0.0 <= v <= 1.0 for v in values):
            raise ValueError(f"mmr.lam_sweep values must lie in [0, 1], got {values}")
        return _strictly_decreasing(values, "mmr.lam_sweep")


class RerankParityParams(StrictModel):
    """``rerank.parity``: one shared multiplier for the under-exposed cohort, amortised over all users'
    slates (:mod:`hermes_core.rerank.exposure_parity`)."""

    tolerance: float = Field(0.02, gt=0.0, le=1.0,
                             description="|estimated ratio - 1| at which the bisection stops (shipped policy)")
    tolerance_sweep: tuple[float, ...] = Field((0.15, 0.1, 0.05, 0.02, 0.01, 0.005),
                                               description="tolerances of the trade-off curve, strictly decreasing")
    max_iterations: int = Field(60, ge=1, le=1000, description="bisection steps at most")

    @field_validator("tolerance_sweep")
    @classmethod
    def _sweep(cls, values: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0.0 < v <= 1.0 for v in values):
            raise ValueError(f"parity.tolerance_sweep values must lie in (0, 1], got {values}")
        return _strictly_decreasing(values, "parity.tolerance_sweep")


class RerankLpParams(StrictModel):
    """``rerank.singh_joachims``: Fairness of Exposure's LP and Birkhoff-von Neumann sampling
    (:mod:`hermes_core.rerank.fair_exposure_lp`) on each user's top ``candidates``."""

    candidates: int = Field(30, ge=2, le=200,
                            description="the ranker's top candidates per user the LP re-ranks (N^2 variables)")
    candidates_sweep: tuple[int, ...] = Field((20, 30, 40), description="pool sizes of the trade-off curve")
    users: int | None = Field(None, ge=1, le=1_000_000,
                              description="lists the LP re-ranks, a seeded sample; null = all. The others keep the "
                                          "ranker's top K and the LP's measures are over all lists, those included "
                                          "(diluted towards the unreranked list); its time per list is over the sample")

    @field_validator("candidates_sweep")
    @classmethod
    def _sweep(cls, values: tuple[int, ...]) -> tuple[int, ...]:
        if any(not 2 <= v <= 200 for v in values):
            raise ValueError(f"singh_joachims.candidates_sweep values must lie in [2, 200], got {values}")
        return tuple(int(v) for v in _strictly_increasing(tuple(float(v) for v in values),
                                                          "singh_joachims.candidates_sweep"))


class RerankFairParams(StrictModel):
    """``rerank.fair``: FA*IR's ranked group fairness (:mod:`hermes_core.rerank.fair_topk`)."""

    p: float = Field(0.6, gt=0.0, lt=1.0, description="minimal proportion of protected items in every prefix")
    alpha: float = Field(0.1, gt=0.0, lt=1.0, description="family-wise significance (multiple-testing adjusted)")
    p_sweep: tuple[float, ...] = Field((0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8),
                                       description="proportions of the trade-off curve, strictly increasing in (0, 1)")

    @field_validator("p_sweep")
    @classmethod
    def _sweep(cls, values: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0.0 < v < 1.0 for v in values):
            raise ValueError(f"fair.p_sweep values must lie in (0, 1), got {values}")
        return _strictly_increasing(values, "fair.p_sweep")


class RerankTargetParams(StrictModel):
    """``rerank.target``: the issue's benchmark for the shipped policy."""

    max_ndcg_loss: float = Field(0.05, ge=0.0, le=1.0,
                                 description="largest relative NDCG@10 loss against the unreranked list")
    ratio_low: float = Field(0.8, gt=0.0, le=1.0, description="lower end of the accepted disparate-exposure ratio")
    ratio_high: float = Field(1.25, ge=1.0, le=100.0, description="upper end of the accepted disparate-exposure ratio")


class RerankMovielensParams(StrictModel):
    """``rerank.movielens``: the policies on MovieLens 100K (:mod:`hermes_core.rerank.movielens`)."""

    enabled: bool = Field(True, description="run the MovieLens 100K part (a missing folder is an error)")
    path: str = Field("../shared/data/ml-100k", description="MovieLens 100K folder, relative to the repository")
    kg_path: str = Field("../shared/data/ml-100k-kg", description="its Freebase KG folder: directors are the creators")
    mainstream_share: float = Field(0.2, gt=0.0, lt=1.0,
                                    description="share of directors, most training ratings first, that are mainstream")
    holdout_share: float = Field(0.2, gt=0.0, lt=1.0, description="share of each user's ratings held out as relevance")
    n_factors: int = Field(50, ge=1, le=500, description="rank of PureSVD, the scorer of the candidates")
    candidates: int = Field(200, ge=10, le=1682, description="unseen directed films per user, PureSVD's top")
    users: int | None = Field(None, ge=10, le=1_000_000, description="users evaluated, a seeded sample; null = all")


class RerankParams(StrictModel):
    """Knobs of the rerank stage (``hermes_core.rerank``)."""

    seed: int = Field(20261215, ge=0, description="seed of the LP's sampling, user samples, splits and bootstrap")
    default_policy: PolicyName = Field("parity", description="the policy whose slates the stage ships")
    slate_size: int = Field(20, ge=10, le=200, description="K: items in the final slate (the policies' top-N)")
    max_candidates: int = Field(200, ge=10, le=10_000, description="the rank stage's top candidates per key kept")
    score_mapping: Literal["rank_percentile", "min_max", "sigmoid"] = Field(
        "rank_percentile", description="how a policy turns the ranker's scores into relevance in [0, 1]")
    category: Literal["domain", "genre"] = Field("domain", description="the world's category of category coverage")
    n_bootstrap: int = Field(1000, ge=100, le=100_000, description="bootstrap resamples over users")
    ci_level: float = Field(0.95, ge=0.5, le=0.999, description="confidence level of every interval")
    cohorts: RerankCohortParams = RerankCohortParams()
    mmr: RerankMmrParams = RerankMmrParams()
    parity: RerankParityParams = RerankParityParams()
    singh_joachims: RerankLpParams = RerankLpParams()
    fair: RerankFairParams = RerankFairParams()
    target: RerankTargetParams = RerankTargetParams()
    movielens: RerankMovielensParams = RerankMovielensParams()

    @model_validator(mode="after")
    def _consistent(self) -> RerankParams:
        if self.slate_size > self.max_candidates:
            raise ValueError(f"rerank.slate_size ({self.slate_size}) must not exceed rerank.max_candidates "
                             f"({self.max_candidates})")
        lp = self.singh_joachims
        small = [n for n in (lp.candidates, *lp.candidates_sweep) if n < self.slate_size]
        if small:
            raise ValueError(f"rerank.singh_joachims pools {small} are smaller than rerank.slate_size "
                             f"({self.slate_size}): the LP needs at least K candidates")
        if self.movielens.candidates < self.slate_size:
            raise ValueError(f"rerank.movielens.candidates ({self.movielens.candidates}) must be at least "
                             f"rerank.slate_size ({self.slate_size})")
        return self

    @property
    def default_policy_index(self) -> int:
        """Position of ``default_policy`` in :data:`POLICIES` (its code in the numbers-only metrics)."""
        return POLICIES.index(self.default_policy)
