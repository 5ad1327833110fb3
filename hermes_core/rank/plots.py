"""Figures of the rank stage (matplotlib); every function returns ``(figure, data)``, the tidy table
the figure draws, which the notebook saves beside the PNG (``hermes_core.figures.save_figure``)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

COLOURS: dict[str, str] = {"listmle": "#3c6fb5", "softmax": "#3c9a5f", "approxndcg": "#b5543c", "lambdaloss": "#8c5fb5",
                           "ranknet": "#c9a227", "pointwise_bce": "#777777", "lightgbm_lambdarank": "#222222",
                           "popularity": "#bbbbbb", "random": "#dddddd", "clicks_naive": "#d98c5f",
                           "clicks_ips": "#5fa8d9"}  # fmt: skip


def learning_curves(curves: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Training loss (each loss on its own scale, divided by its first epoch) and validation NDCG@10
    per epoch, mean over seeds with the seeds' range shaded. Data: per loss and epoch."""
    grouped = curves.groupby(["loss", "epoch"])
    data = grouped.agg(train_loss=("train_loss", "mean"), validation_ndcg_at_10=("validation_ndcg_at_10", "mean"),
                       validation_low=("validation_ndcg_at_10", "min"),
                       validation_high=("validation_ndcg_at_10", "max")).reset_index()  # fmt: skip
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    for loss, rows in data.groupby("loss", sort=False):
        first = rows["train_loss"].iat[0]
        left.plot(rows["epoch"], rows["train_loss"] / first if first else rows["train_loss"], "-", color=COLOURS.get(loss),
                  label=loss)  # fmt: skip
        right.plot(rows["epoch"], rows["validation_ndcg_at_10"], "-", color=COLOURS.get(loss), label=loss)
        right.fill_between(rows["epoch"], rows["validation_low"], rows["validation_high"], color=COLOURS.get(loss), alpha=0.15)
    left.set_xlabel("epoch")
    left.set_ylabel("training loss / its first-epoch value")
    left.set_title("Training loss (mean over seeds)")
    right.set_xlabel("epoch")
    right.set_ylabel("validation NDCG@10")
    right.set_title("Validation NDCG@10 (mean; band: seeds' range)")
    right.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig, data


def comparison(table: pd.DataFrame, measure: str = "ndcg_at_10") -> tuple[Figure, pd.DataFrame]:
    """``measure`` of every ranker (bars: mean over seeds; whiskers: 95% bootstrap over requests of the
    seed-averaged values). Data: ranker, mean, interval, seed spread."""
    data = table[[measure, f"{measure}_ci_low", f"{measure}_ci_high", f"{measure}_seed_sd", "n_seeds"]].reset_index()
    fig, ax = plt.subplots(figsize=(8, 3.8))
    x = np.arange(len(data))
    ax.bar(x, data[measure], color=[COLOURS.get(name, "#999999") for name in data["ranker"]],
           yerr=[data[measure] - data[f"{measure}_ci_low"], data[f"{measure}_ci_high"] - data[measure]], capsize=3)
    for i, value in enumerate(data[measure]):
        ax.annotate(f"{value:.3f}", (i, value), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8)
    ax.set_xticks(x, data["ranker"], rotation=25, ha="right")
    ax.set_ylabel(measure.replace("_at_", "@").replace("ndcg", "NDCG"))
    ax.set_title(f"{measure.replace('_at_', '@').replace('ndcg', 'NDCG')} against the true grades (test requests; "
                 "whiskers: 95% bootstrap over requests)", fontsize=10)  # fmt: skip
    fig.tight_layout()
    return fig, data


def cascade(table: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """NDCG@10 and expected clicks of the top slate after each cascade step (with intervals)."""
    data = table[["ndcg_at_10", "ndcg_at_10_ci_low", "ndcg_at_10_ci_high", "expected_clicks"]].reset_index()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6))
    y = np.arange(len(data))[::-1]
    left.barh(y, data["ndcg_at_10"], color="#3c6fb5",
              xerr=[data["ndcg_at_10"] - data["ndcg_at_10_ci_low"], data["ndcg_at_10_ci_high"] - data["ndcg_at_10"]])
    left.set_yticks(y, data["ranker"])
    left.set_xlabel("NDCG@10 (ideal over every retrieved candidate)")
    right.barh(y, data["expected_clicks"], color="#3c9a5f")
    right.set_yticks(y, [""] * len(y))
    right.set_xlabel("expected clicks of the top slate (world's click model)")
    for ax, column in ((left, "ndcg_at_10"), (right, "expected_clicks")):
        for yy, value in zip(y, data[column]):
            ax.annotate(f"{value:.3f}", (value, yy), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
    fig.suptitle("Each step of the cascade, test requests", fontsize=11)
    fig.tight_layout()
    return fig, data


def observed_versus_true(table: pd.DataFrame, k: int) -> tuple[Figure, pd.DataFrame]:
    """Each ranker's NDCG@k on the logged candidates with clicks as labels against the same with the
    true grades: where the two orderings disagree."""
    data = table.reset_index()
    fig, ax = plt.subplots(figsize=(6, 4.4))
    x, y = data[f"ndcg_at_{k}_truth"], data[f"ndcg_at_{k}_clicks"]
    ax.scatter(x, y, color=[COLOURS.get(name, "#999999") for name in data["ranker"]], s=40, edgecolor="k")
    for name, xx, yy in zip(data["ranker"], x, y):
        ax.annotate(name, (xx, yy), xytext=(4, 2), textcoords="offset points", fontsize=7)
    ax.set_xlabel(f"NDCG@{k}, true grades as labels")
    ax.set_ylabel(f"NDCG@{k}, logged clicks as labels")
    ax.set_title("The same rankings judged by clicks and by the truth\n(logged candidates of the test requests)",
                 fontsize=10)  # fmt: skip
    fig.tight_layout()
    return fig, data


def size_curve(curve: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Test NDCG@10 against the number of training lists, one line per ranker (first seed)."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for ranker, rows in curve.groupby("ranker", sort=False):
        ax.plot(rows["n_lists"], rows["ndcg_at_10"], "o-", color=COLOURS.get(ranker), label=ranker)
    ax.set_xscale("log")
    ax.set_xlabel("training lists")
    ax.set_ylabel("test NDCG@10")
    ax.set_title("Training size: the network against the trees", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig, curve


def two_tower_loss(epoch_loss: list[float]) -> tuple[Figure, pd.DataFrame]:
    """The pre-ranker's sampled-softmax loss per epoch."""
    data = pd.DataFrame({"epoch": np.arange(1, len(epoch_loss) + 1), "sampled_softmax_loss": epoch_loss})
    fig, ax = plt.subplots(figsize=(4.8, 3.2))
    ax.plot(data["epoch"], data["sampled_softmax_loss"], "o-", color="#3c6fb5")
    ax.set_xlabel("epoch")
    ax.set_ylabel("in-batch sampled softmax loss")
    ax.set_title("Two-tower pre-ranker: training loss", fontsize=10)
    fig.tight_layout()
    return fig, data


def real_data(table: pd.DataFrame, title: str) -> tuple[Figure, pd.DataFrame]:
    """NDCG@10 of every ranker on a real set (mean over seeds; whiskers: the seeds' standard deviation)."""
    data = table[["ndcg_at_10", "ndcg_at_10_seed_sd"]].reset_index()
    fig, ax = plt.subplots(figsize=(7, 3.4))
    x = np.arange(len(data))
    ax.bar(x, data["ndcg_at_10"], color=[COLOURS.get(name, "#999999") for name in data["ranker"]],
           yerr=data["ndcg_at_10_seed_sd"].fillna(0.0), capsize=3)
    for i, value in enumerate(data["ndcg_at_10"]):
        ax.annotate(f"{value:.3f}", (i, value), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8)
    ax.set_xticks(x, data["ranker"], rotation=25, ha="right")
    ax.set_ylabel("NDCG@10")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig, data


__all__ = ["COLOURS", "cascade", "comparison", "learning_curves", "observed_versus_true", "real_data", "size_curve", "two_tower_loss"]
