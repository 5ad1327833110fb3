"""Every figure returns the table it draws, and the table holds exactly what is drawn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from hermes_core.encode import plots  # noqa: E402
from hermes_core.figures import save_figure  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures() -> Any:
    yield
    plt.close("all")


def test_modality_coverage_draws_one_bar_per_gap_and_group() -> None:
    coverage = pd.DataFrame({"warm": [10, 1, 2, 0, 1], "cold": [4, 0, 1, 1, 0], "all": [14, 1, 3, 1, 1]},
                            index=["items", "text_missing", "image_missing", "image_corrupt", "neither"])
    fig, data = plots.modality_coverage(coverage)
    # 4 gaps x (warm, cold) = 8 bars, each the count of the table
    assert len(fig.axes[0].patches) == len(data) == 8
    assert data.set_index(["lacking", "items"])["count"].to_dict()[("image_missing", "cold")] == 1
    assert sorted(p.get_height() for p in fig.axes[0].patches) == sorted(data["count"].tolist())
    assert "14 items in all" in fig.axes[0].get_title()


def test_cold_start_bars_follow_increasing_ndcg() -> None:
    table = pd.DataFrame({"NDCG@10": [0.3, 0.1, 0.2], "recall@10": [0.5, 0.2, 0.4]},
                         index=pd.Index(["fused", "random", "text"], name="model"))
    fig, data = plots.cold_start(table, "NDCG@10", "recall@10")
    assert data.index.tolist() == ["random", "text", "fused"]
    assert data.columns.tolist() == ["ndcg", "recall"]  # one header whatever k is
    assert [p.get_width() for p in fig.axes[0].patches] == pytest.approx([0.1, 0.2, 0.3])


def test_training_curves_draw_every_epoch_of_every_tower() -> None:
    history = pd.DataFrame({"epoch": [1.0, 2.0, 1.0, 2.0], "loss": [2.0, 1.5, 2.2, 1.9],
                            "validation_ndcg": [0.4, 0.5, 0.3, 0.35], "alpha_vision": [0.5, 0.6, 0.0, 0.0],
                            "model": ["fused", "fused", "text", "text"]})
    fig, data = plots.training_curves(history, 10, fused_kept_epoch=2)
    assert len(data) == 4 and len(fig.axes[0].lines) == 2
    # the kept epoch is the dotted vertical line of the attention panel
    assert fig.axes[2].lines[-1].get_xdata()[0] == 2


def test_ann_recall_qps_adds_the_exact_search_row() -> None:
    sweep = pd.DataFrame({"index": "IndexHNSWFlat", "knob": "ef_search", "value": [8, 16], "k": 10,
                          "search_recall_at_k": [0.9, 0.95], "qps": [2000.0, 1000.0]})
    fig, data = plots.ann_recall_qps(sweep, "hnsw", 500.0, 10)
    assert data["search_recall_at_k"].tolist() == [0.9, 0.95, 1.0] and data["qps"].tolist() == [2000.0, 1000.0, 500.0]
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), [2.0, 1.0])


def test_world_figures_save_with_their_tables(world_run: dict[str, Any], tmp_path: Path) -> None:
    from hermes_core.encode import conclusions
    from hermes_core.encode.embedding_space import projection_frame

    queries, users_alpha, inputs, encoded = (world_run[k] for k in ("queries", "users_alpha", "inputs", "encoded"))
    fig, data = plots.alpha_by_query_kind(queries.alpha, conclusions.ALPHA_DESIGN_CLAIM,
                                          conclusions.ALPHA_CLAIM_THRESHOLD)
    # one histogram bar per bin and kind; the table holds every held-out query once
    assert len(data) == len(queries.alpha) and sum(p.get_height() for p in fig.axes[0].patches) == len(data)
    save_figure(fig, data, tmp_path, "alpha_by_query_kind")
    fig, data = plots.alpha_vs_affinity(users_alpha, 0.1)
    assert len(fig.axes[0].collections[0].get_offsets()) == len(data) == len(users_alpha)
    projection = projection_frame(inputs.items, encoded, seed=0)
    fig, data = plots.embedding_pca(projection, "domain")
    # four domains (fewer than TOP_LABELS): every projected point is drawn
    assert len(data) == len(projection) == sum(len(c.get_offsets()) for ax in fig.axes for c in ax.collections)
    save_figure(fig, data, tmp_path, "embedding_pca")
    assert (tmp_path / "embedding_pca.csv").read_text().splitlines()[0] == "modality,item_id,domain,x,y,explained"
