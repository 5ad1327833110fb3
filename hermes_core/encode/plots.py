"""Figures of the encode stage (matplotlib).

Every function returns ``(figure, data)``: ``data`` is the tidy table the figure draws (one row
per bar, point or curve point), which the notebook saves beside the PNG with
:func:`hermes_core.figures.save_figure` so that ``dvc plots diff`` can compare runs.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

LACKING = ["text_missing", "image_missing", "image_corrupt", "neither"]
"""Rows of the modality table drawn by :func:`modality_coverage`."""

TOP_LABELS = 8
"""Labels (domains or genres) drawn in the embedding projection; the rest would be unreadable."""


def modality_coverage(coverage: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Bars of the warm and cold items lacking each modality (``coverage``: :func:`~.catalogue.modality_table`)."""
    shown = coverage.loc[LACKING, ["warm", "cold"]]
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    shown.plot.bar(ax=ax, rot=0)
    ax.set_ylabel("items")
    ax.set_title(f"Items lacking a modality ({coverage.loc['items', 'all']} items in all)")
    fig.tight_layout()
    data = shown.rename_axis("lacking").reset_index().melt(id_vars="lacking", var_name="items", value_name="count")
    return fig, data


def training_curves(history: pd.DataFrame, ndcg_k: int, fused_kept_epoch: int | None) -> tuple[Figure, pd.DataFrame]:
    """Per epoch and tower (first seed): training loss, the validation score that picks the epoch
    and, for the fused tower, the mean ``alpha_vision`` of its training positives with its kept
    epoch dotted (``history``: :func:`~.training.history_frame`; the data keep every seed)."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.4))
    first = history[history["seed"] == history["seed"].min()] if "seed" in history else history
    selection = "validation_score" if "validation_score" in history else "validation_ndcg"
    for label, group in first.groupby("model"):
        axes[0].plot(group["epoch"], group["loss"], label=label)
        axes[1].plot(group["epoch"], group[selection], label=label)
        if label == "fused" and fused_kept_epoch is not None:
            axes[2].plot(group["epoch"], group["alpha_vision"], color="#b5543c")
            axes[2].axvline(fused_kept_epoch, color="k", ls=":", label="kept epoch")
            axes[2].legend()
    axes[0].set_title("training loss (in-batch sampled softmax)")
    axes[0].set_xlabel("epoch")
    axes[1].set_title(f"validation score (mean NDCG@{ndcg_k}, users and queries)"
                      if selection == "validation_score" else f"validation NDCG@{ndcg_k} (held-out warm items)")
    axes[1].set_xlabel("epoch")
    axes[2].set_title("fused: mean alpha_vision, training positives")
    axes[2].set_xlabel("epoch")
    axes[1].legend()
    for ax in axes:
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    fig.tight_layout()
    columns = [c for c in ("model", "seed", "epoch", "loss", "validation_ndcg", "validation_query_ndcg",
                           "validation_score", "alpha_vision") if c in history]
    return fig, history[columns]


def pair_weights(weights: dict[str, np.ndarray], kinds: np.ndarray, bins: int = 40) -> tuple[Figure, pd.DataFrame]:
    """Histograms of the per-(query, item) ``alpha_vision`` of each free-weight tower, visual and
    content held-out queries apart (``weights``: :attr:`~.queries.QueryEvaluation.weights`, rows in
    the order of ``kinds``). The data hold the histogram counts, not the pairs."""
    fig, axes = plt.subplots(1, max(len(weights), 1), figsize=(6.5 * max(len(weights), 1), 3.2), squeeze=False)
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows = []
    for ax, (label, alpha) in zip(axes[0], weights.items()):
        for kind, colour in (("visual", "#b5543c"), ("content", "#3c6fb5")):
            values = alpha[np.asarray(kinds) == kind].ravel()
            counts, _ = np.histogram(values, bins=edges)
            share = counts / max(counts.sum(), 1)
            ax.stairs(share, edges, fill=True, alpha=0.5, color=colour, label=f"{kind} queries")
            rows += [{"model": label, "kind": kind, "bin_low": lo, "bin_high": hi, "share": sh}
                     for lo, hi, sh in zip(edges[:-1], edges[1:], share)]
        ax.set_xlabel("alpha_vision of a (query, item) pair")
        ax.set_ylabel("share of pairs")
        ax.set_title(f"{label}: per-pair weight on the image")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig, pd.DataFrame(rows)


def cold_start(cold_table: pd.DataFrame, ndcg_col: str, recall_col: str) -> tuple[Figure, pd.DataFrame]:
    """Horizontal bars of every model's cold-start NDCG@k and recall@k, by increasing NDCG
    (``cold_table``: :meth:`~.coldstart.ColdStartEvaluation.table`). The data table names its
    columns ``ndcg`` and ``recall`` whatever k is, so that ``dvc plots`` reads one header across
    experiments that change ``encode.eval.ndcg_k``."""
    order = cold_table.sort_values(ndcg_col).index
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    cold_table.loc[order, ndcg_col].plot.barh(ax=axes[0], color="#3c6fb5")
    axes[0].set_title(f"cold-start {ndcg_col}")
    cold_table.loc[order, recall_col].plot.barh(ax=axes[1], color="#b5543c")
    axes[1].set_title(f"cold-start {recall_col}")
    fig.tight_layout()
    return fig, cold_table.loc[order, [ndcg_col, recall_col]].rename(columns={ndcg_col: "ndcg", recall_col: "recall"})


def alpha_by_query_kind(
    alpha: pd.DataFrame, design_claim: float, claim_threshold: float
) -> tuple[Figure, pd.DataFrame]:
    """Histograms of the held-out queries' mean ``alpha_vision`` by kind, with the design claim
    and the threshold it is read by (``alpha``: :attr:`~.queries.QueryEvaluation.alpha`)."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for kind, colour in (("visual", "#b5543c"), ("content", "#3c6fb5")):
        ax.hist(alpha.loc[alpha["kind"] == kind, "alpha_vision_all"], bins=20, range=(0, 1), alpha=0.6,
                color=colour, label=f"{kind} ({(alpha['kind'] == kind).sum()} queries)")
    ax.axvline(design_claim, color="k", ls=":", label=f"design claim {design_claim}")
    ax.axvline(claim_threshold, color="grey", ls="--", label=f"target: visual >= {claim_threshold}")
    ax.axvline(1.0 - claim_threshold, color="grey", ls="-.", label=f"target: content <= {1 - claim_threshold:.2f}")
    ax.set_xlabel("mean alpha_vision of a held-out query")
    ax.set_ylabel("queries")
    ax.legend(fontsize=8)
    ax.set_title("Fused tower's weight on the image by query kind")
    fig.tight_layout()
    data = alpha.loc[alpha["kind"].isin(["visual", "content"]), ["query_id", "kind", "alpha_vision_all"]]
    return fig, data


def alpha_vs_affinity(users_alpha: pd.DataFrame, rho: float) -> tuple[Figure, pd.DataFrame]:
    """Each evaluated user's mean ``alpha_vision`` over the cold items against the true visual
    affinity (``users_alpha``: :func:`~.attention.user_alpha`; ``rho``: their Spearman correlation)."""
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.scatter(users_alpha["true_visual_affinity"], users_alpha["alpha_vision"], s=4, alpha=0.4)
    ax.set_xlabel("true visual affinity m_u")
    ax.set_ylabel("mean alpha_vision over cold items")
    ax.set_title(f"Users: attention vs true modality affinity (Spearman {rho:+.3f})")
    fig.tight_layout()
    return fig, users_alpha[["user_id", "true_visual_affinity", "alpha_vision"]]


def embedding_pca(projection: pd.DataFrame, colour_by: str) -> tuple[Figure, pd.DataFrame]:
    """One scatter per modality of the 2-D PCA, coloured by the :data:`TOP_LABELS` most frequent
    values of ``colour_by`` (``projection``: :func:`~.embedding_space.projection_frame`)."""
    modalities = list(dict.fromkeys(projection["modality"]))
    fig, axes = plt.subplots(1, len(modalities), figsize=(5.2 * len(modalities), 4.2), squeeze=False)
    top_labels = pd.Series(projection[colour_by]).value_counts().index[:TOP_LABELS]
    for ax, modality in zip(axes[0], modalities):
        part = projection[projection["modality"] == modality]
        for label in top_labels:
            chosen = part[part[colour_by] == label]
            ax.scatter(chosen["x"], chosen["y"], s=5, alpha=0.6, label=label)
        ax.set_title(f"{modality} embeddings, PCA ({part['explained'].iloc[0]:.0%} of variance)")
    axes[0][0].legend(markerscale=3, fontsize=8)
    fig.tight_layout()
    drawn = projection[projection[colour_by].isin(top_labels)]
    return fig, drawn[["modality", "item_id", colour_by, "x", "y", "explained"]]


def ann_recall_qps(sweep: pd.DataFrame, index_type: str, exact_qps: float, k: int) -> tuple[Figure, pd.DataFrame]:
    """Search recall@k against thousands of queries a second over the index's search knob, with
    exact search's speed dotted (``sweep``: :attr:`~.item_index.IndexReport.sweep`)."""
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    ax.plot(sweep["search_recall_at_k"], sweep["qps"] / 1e3, "o-", label=index_type)
    for _, row in sweep.iterrows():
        ax.annotate(f"{row['knob']}={row['value']}", (row["search_recall_at_k"], row["qps"] / 1e3), fontsize=7)
    ax.axhline(exact_qps / 1e3, color="k", ls=":", label="exact search")
    ax.set_yscale("log")
    ax.set_xlabel(f"recall@{k} vs exact")
    ax.set_ylabel("thousand queries/s (log)")
    ax.legend()
    ax.set_title("Recall vs speed over the search knob")
    fig.tight_layout()
    exact = pd.DataFrame({"index": ["IndexFlatIP"], "knob": ["exact"], "value": [0], "search_recall_at_k": [1.0],
                          "qps": [exact_qps]})
    data = pd.concat([sweep[["index", "knob", "value", "search_recall_at_k", "qps"]], exact], ignore_index=True)
    return fig, data
