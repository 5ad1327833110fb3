r"""SASRec and its baselines under the paper's protocol (Kang & McAuley, ICDM 2018, Sec. IV.B).

Time-ordered sequences of item ids ``1..n`` are split leave-one-out
(:func:`~hermes_core.evaluation.sequential.leave_one_out`: the last item is the test target, the
second-to-last the validation target, the rest trains). SASRec, the popularity and the first-order
transition models are fitted on the training part; each is measured

* **sampled**: the target ranked against ``n_negatives`` items the user never interacted with,
  HR@k and NDCG@k, the paper's numbers (label ``sampled-100``);
* **full ranking**: the target ranked against every item but the history's.

Sampled metrics overstate differences between models (Krichene & Rendle, KDD 2020, "On sampled
metrics for item recommendation"), so both are reported and labelled. SASRec's lead over the
transition model carries a paired bootstrap interval over users.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hermes_core.evaluation.bootstrap import paired_bootstrap
from hermes_core.evaluation.sequential import (
    SequentialMetrics,
    full_ranking_metrics,
    leave_one_out,
    sample_candidates,
    sampled_metrics,
)
from hermes_core.retrieve.params import RetrieveSasrecParams
from hermes_core.retrieve.sasrec import TrainedSasrec, train_sasrec
from hermes_core.retrieve.sequence_baselines import PopularityScorer, TransitionScorer

MODELS: tuple[str, ...] = ("popularity", "transition", "sasrec")


@dataclass(frozen=True, eq=False)
class PaperProtocolResult:
    """Test metrics of every model under both protocols, SASRec's training history, and the
    data's size; ``dataset`` names the sequences."""

    dataset: str
    n_users: int
    n_items: int
    n_interactions: int
    sampled: dict[str, SequentialMetrics]
    full: dict[str, SequentialMetrics]
    sasrec: TrainedSasrec

    def table(self) -> pd.DataFrame:
        """One row per model: HR@k and NDCG@k sampled and full, with each protocol's label."""
        rows = {}
        for name in self.sampled:
            s, f = self.sampled[name], self.full[name]
            rows[name] = {f"hr_at_{s.k}_sampled": s.hit_rate, f"ndcg_at_{s.k}_sampled": s.ndcg,
                          f"hr_at_{f.k}_full": f.hit_rate, f"ndcg_at_{f.k}_full": f.ndcg,
                          "sampled_protocol": s.protocol, "full_protocol": f.protocol, "users": s.n_users}  # fmt: skip
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")

    def sasrec_minus_transition(self, level: float = 0.95, n_bootstrap: int = 2000, seed: int = 0) -> pd.DataFrame:
        """SASRec's NDCG@k minus the transition model's, per protocol, with the paired bootstrap
        interval over users (:func:`~hermes_core.evaluation.bootstrap.paired_bootstrap`)."""
        rows = {}
        for label, metrics in (("sampled", self.sampled), ("full", self.full)):
            comparison = paired_bootstrap(metrics["sasrec"].per_user_ndcg, metrics["transition"].per_user_ndcg,
                                          level=level, n_bootstrap=n_bootstrap, seed=seed)  # fmt: skip
            rows[label] = {"difference": comparison.difference, "low": comparison.ci_low, "high": comparison.ci_high,
                           "protocol": metrics["sasrec"].protocol}  # fmt: skip
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("protocol_kind")


def run_paper_protocol(sequences: Sequence[np.ndarray], n_items: int, params: RetrieveSasrecParams, *,
                       dataset: str, seed: int, device: str, epochs: int | None = None) -> PaperProtocolResult:
    """The module docstring's protocol on ``sequences`` (item ids ``1..n_items``, oldest first):
    SASRec with ``params`` (``epochs`` overrides theirs), its learning curve on the validation
    targets' sampled candidates; negatives drawn with ``seed`` (validation) and ``seed + 1`` (test)."""
    split = leave_one_out(list(sequences), n_items)
    validation = sample_candidates(split, "validation", params.n_negatives, seed=seed)
    test = sample_candidates(split, "test", params.n_negatives, seed=seed + 1)
    train = list(split.train)
    # the test history is the training part plus the validation target, as in the reference
    models = {
        "popularity": PopularityScorer.fit(train, n_items),
        "transition": TransitionScorer.fit(train, n_items, params.transition_smoothing),
    }
    trained = train_sasrec(train, n_items, params.config(seed, device, epochs), validation=validation)
    models["sasrec"] = trained
    sampled = {name: sampled_metrics(model, test, params.k) for name, model in models.items()}
    full = {name: full_ranking_metrics(model, split, "test", params.k) for name, model in models.items()}
    n_interactions = int(sum(len(s) for s in sequences))
    return PaperProtocolResult(dataset, len(sequences), n_items, n_interactions, sampled, full, trained)


__all__ = ["MODELS", "PaperProtocolResult", "run_paper_protocol"]
