"""Figures of the retrieve stage (matplotlib); every function returns ``(figure, data)``, the tidy
table the figure draws, which the notebook saves beside the PNG (``hermes_core.figures.save_figure``)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from hermes_core.retrieve.blending import WeightFit

COLOURS: dict[str, str] = {"ann": "#3c6fb5", "kg": "#3c9a5f", "sasrec": "#b5543c", "blend": "#222222",
                           "popularity": "#aaaaaa", "transition": "#8c5fb5"}  # fmt: skip


def recall_by_class(recall: pd.DataFrame, k: int) -> tuple[Figure, pd.DataFrame]:
    """Recall@k of every list (bars, with the bootstrap interval over requests) per query class.
    Data: the rows of ``recall`` at ``k``."""
    part = recall[recall["k"] == k]
    classes = list(dict.fromkeys(part["query_class"]))
    lists = list(dict.fromkeys(part["list"]))
    fig, ax = plt.subplots(figsize=(1.6 + 1.6 * len(classes), 3.8))
    width = 0.8 / len(lists)
    for j, name in enumerate(lists):
        rows = part[part["list"] == name].set_index("query_class").reindex(classes)
        x = np.arange(len(classes)) + (j - (len(lists) - 1) / 2) * width
        ax.bar(x, rows["recall"], width, color=COLOURS.get(name), label=name,
               yerr=[rows["recall"] - rows["low"], rows["high"] - rows["recall"]], capsize=2)  # fmt: skip
    counts = part.groupby("query_class")["n_requests"].first()
    ax.set_xticks(np.arange(len(classes)), [f"{c}\n(n = {counts[c]:,})" for c in classes])
    ax.set_ylabel(f"recall@{k} of the truly relevant items")
    ax.set_title(f"Recall@{k} by source and query class (test split; bars: 95% bootstrap over requests)")
    ax.legend(fontsize=8, ncol=3)
    fig.tight_layout()
    return fig, part.reset_index(drop=True)


def recall_by_k(recall: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Recall@k against k for every list, all query classes together."""
    part = recall[recall["query_class"] == "all"]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for name, rows in part.groupby("list", sort=False):
        ax.plot(rows["k"], rows["recall"], "o-", color=COLOURS.get(name), label=name)
        ax.fill_between(rows["k"], rows["low"], rows["high"], color=COLOURS.get(name), alpha=0.12)
    ax.set_xscale("log")
    ax.set_xlabel("k (candidates kept)")
    ax.set_ylabel("recall@k")
    ax.set_title("Recall against list length (test split, every request and query)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig, part.reset_index(drop=True)


def overlap(counts: pd.DataFrame, k: int) -> tuple[Figure, pd.DataFrame]:
    """UpSet-style bars: relevant items per request found by exactly each combination of sources in
    their first ``k``."""
    fig, ax = plt.subplots(figsize=(7, 3.4))
    x = np.arange(len(counts))
    ax.bar(x, counts["found_per_request"], color=["#888888" if n > 1 else "#3c6fb5" for n in counts["n_lists"]])
    ax.set_xticks(x, counts["combination"], rotation=25, ha="right")
    for i, share in enumerate(counts["share_of_found"]):
        ax.annotate(f"{share:.0%}", (i, counts["found_per_request"].iat[i]), ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("relevant items found per request")
    ax.set_title(f"Who finds what: relevant items in the first {k} of exactly these sources (share of all found)")
    fig.tight_layout()
    return fig, counts


def weight_surface(fit: WeightFit) -> tuple[Figure, pd.DataFrame]:
    """Validation recall@k over the simplex of blend weights, one triangle per query class (the
    chosen weights circled)."""
    frame = fit.grid_frame()
    sources = list(fit.sources)
    classes = [c for c in fit.mean_recall if np.isfinite(fit.mean_recall[c]).any()]
    fig, axes = plt.subplots(1, len(classes), figsize=(4.2 * len(classes), 3.9), squeeze=False)
    corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]])
    for ax, query_class in zip(axes[0], classes):
        weights = fit.grid
        xy = weights @ corners
        recall = fit.mean_recall[query_class]
        image = ax.scatter(xy[:, 0], xy[:, 1], c=recall, cmap="viridis", s=60)
        best = fit.best_index[query_class]
        if best is not None:
            ax.scatter(*xy[best], s=220, facecolors="none", edgecolors="red", linewidths=2)
        for corner, name in zip(corners, sources):
            ax.annotate(name, corner, ha="center", va="top" if corner[1] == 0 else "bottom", fontsize=9)
        ax.set_axis_off()
        ax.set_title(f"{query_class}: recall@{fit.k} (max {np.nanmax(recall):.3f})", fontsize=9)
        fig.colorbar(image, ax=ax, shrink=0.7)
    fig.suptitle("Blend weights fitted on the validation split (red: chosen)")
    fig.tight_layout()
    return fig, frame


def learning_curve(history: list[dict[str, float]], title: str) -> tuple[Figure, pd.DataFrame]:
    """SASRec's training loss per epoch and its validation HR@10 / NDCG@10 (sampled protocol). Data:
    one row per epoch without the history's timings (they vary between runs; the diagnostics keep them)."""
    frame = pd.DataFrame(history).drop(columns=["seconds", "sequences_per_second"], errors="ignore")
    fig, left = plt.subplots(figsize=(6.2, 3.6))
    left.plot(frame["epoch"], frame["loss"], color="#555555", label="training loss (BCE)")
    left.set_xlabel("epoch")
    left.set_ylabel("loss")
    right = left.twinx()
    for column, colour in (("validation_hr@10", "#3c6fb5"), ("validation_ndcg@10", "#b5543c")):
        if column in frame:
            points = frame.dropna(subset=[column])
            right.plot(points["epoch"], points[column], "o-", color=colour, label=column.replace("_", " "))
    right.set_ylabel("validation (sampled-100)")
    handles = left.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    left.legend(handles, [h.get_label() for h in handles], fontsize=8, loc="center right")
    left.set_title(title)
    fig.tight_layout()
    return fig, frame


def latency(report_metrics: dict) -> tuple[Figure, pd.DataFrame]:
    """p50 and p99 latency per source and for the whole fan-out (``BatchReport.as_metrics()``)."""
    rows = [{"name": name, "p50": s["p50"], "p99": s["p99"], "n": s["n"]}
            for name, s in report_metrics["latency_ms"].items()]  # fmt: skip
    frame = pd.DataFrame(rows)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    x = np.arange(len(frame))
    ax.bar(x - 0.2, frame["p50"], 0.4, label="p50", color="#3c6fb5")
    ax.bar(x + 0.2, frame["p99"], 0.4, label="p99", color="#b5543c")
    ax.set_xticks(x, frame["name"])
    ax.set_ylabel("ms per request")
    ax.set_title("Latency per request (test split; varies with the machine's load)")
    ax.legend()
    fig.tight_layout()
    return fig, frame


def fault_outcomes(outcomes: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Each source's outcome per request of the fault-injection demo (ok, error, timeout,
    skipped by the breaker)."""
    codes = {"ok": 0, "error": 1, "timeout": 2, "skipped": 3}
    colours = ["#3c9a5f", "#b5543c", "#e0a03c", "#bbbbbb"]
    matrix = outcomes.replace(codes).to_numpy(dtype=float).T
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.45 * matrix.shape[0]))
    from matplotlib.colors import ListedColormap

    ax.imshow(matrix, aspect="auto", cmap=ListedColormap(colours), vmin=-0.5, vmax=3.5)
    ax.set_yticks(range(matrix.shape[0]), outcomes.columns)
    ax.set_xlabel("request")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colours]
    ax.legend(handles, list(codes), ncol=4, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.35))
    ax.set_title("Fault injection: kg down, sasrec slower than its budget\n"
                 "each breaker opens, skips the cool-down, then tries once more", fontsize=10)
    fig.tight_layout()
    long = outcomes.reset_index().melt(id_vars="request", var_name="source", value_name="status")
    return fig, long
