"""Why a neural listwise ranker and LambdaMART differ: the model class, the objective or the data size.

Two ablations on the same features and lists, each changing one thing:

* **model versus objective**: LightGBM's trees fitted to the grades by least squares (a pointwise
  objective) beside LambdaMART (the same trees, the lambda objective), and the DCN-v2 network
  with a pointwise, a lambda-weighted and a likelihood objective (``pointwise_bce``,
  ``lambdaloss``, ``listmle``). If the trees beat the network under every objective, the gap is the
  model class on these features; if an objective moves both model classes alike, it is the objective.
* **training size**: the headline loss and LambdaMART trained on nested fractions of the training
  lists (the first ``f`` of a seeded permutation); a gap that narrows with more lists points to
  sample efficiency, one that stays points to capacity or inductive bias.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import torch

from hermes_core.rank.lambdamart import train_lambdamart
from hermes_core.rank.lists import RankingLists
from hermes_core.rank.params import RankParams
from hermes_core.rank.training import train_fine_ranker

Evaluate = Callable[[np.ndarray], float]
"""``kept-candidate scores (n, L) of the test lists -> mean NDCG@10`` under the stage's protocol."""


def pointwise_trees(train: RankingLists, validation: RankingLists, test: RankingLists, params: RankParams,
                    evaluate: Evaluate, n_threads: int = 0) -> pd.DataFrame:
    """LightGBM with the least-squares objective on the grades, one fit per seed: ``seed``, ``ndcg_at_10``,
    ``rounds`` (the validation NDCG@10 chooses the round count, as for LambdaMART)."""
    rows = []
    for seed in params.seeds:
        model = train_lambdamart(train, validation, params.lightgbm, seed, n_threads, objective="regression")
        rows.append({"seed": seed, "ndcg_at_10": evaluate(model.score(test)), "rounds": model.best_iteration})
    return pd.DataFrame(rows)


def model_versus_objective(main_table: pd.DataFrame, trees_pointwise: pd.DataFrame) -> pd.DataFrame:
    """The 2 x objective grid of NDCG@10 (mean over seeds): rows the model class, columns the
    objective's family; ``main_table`` is the stage's comparison (index: ranker)."""
    def value(name: str) -> float:
        return float(main_table.at[name, "ndcg_at_10"]) if name in main_table.index else np.nan

    return pd.DataFrame({
        "pointwise": [value("pointwise_bce"), float(trees_pointwise["ndcg_at_10"].mean())],
        "lambda-weighted pairs": [value("lambdaloss"), value("lightgbm_lambdarank")],
        "Plackett-Luce likelihood (ListMLE)": [value("listmle"), np.nan],
    }, index=pd.Index(["DCN-v2 network", "gradient-boosted trees"], name="model class"))  # fmt: skip


def training_size_curve(train: RankingLists, validation: RankingLists, test: RankingLists, params: RankParams,
                        fractions: tuple[float, ...], evaluate: Evaluate, device: torch.device,
                        n_threads: int = 0) -> pd.DataFrame:
    """NDCG@10 of the headline loss and of LambdaMART trained on nested shares of the training lists
    (first seed): ``fraction``, ``n_lists``, ``ranker``, ``ndcg_at_10``."""
    seed = params.seeds[0]
    order = np.random.default_rng(np.random.SeedSequence([params.seed, 7])).permutation(len(train))
    rows = []
    for fraction in fractions:
        subset = train.subset(np.sort(order[:max(int(round(fraction * len(train))), 2)]))
        fine = train_fine_ranker(subset, validation, params.loss, params.fine, seed, device)
        trees = train_lambdamart(subset, validation, params.lightgbm, seed, n_threads)
        rows += [{"fraction": fraction, "n_lists": len(subset), "ranker": params.loss, "ndcg_at_10": evaluate(fine.score(test))},
                 {"fraction": fraction, "n_lists": len(subset), "ranker": "lightgbm_lambdarank",
                  "ndcg_at_10": evaluate(trees.score(test))}]  # fmt: skip
    return pd.DataFrame(rows)


__all__ = ["Evaluate", "model_versus_objective", "pointwise_trees", "training_size_curve"]
