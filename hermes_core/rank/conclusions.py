"""Sentences for the notebook's conclusions, each computed from the numbers it states.

A comparison of two rankers states the paired bootstrap interval over the same test requests of
their seed-averaged values; an interval that contains 0 is a tie and is called one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hermes_core.rank.evaluation import SeedRuns, paired_comparison


def _paired(runs: dict[str, dict[str, SeedRuns]], a: str, b: str, measure: str, n_bootstrap: int, seed: int) -> str:
    return paired_comparison(runs[a][measure], runs[b][measure], n_bootstrap, seed).sentence(a, b, measure.replace(
        "_at_", "@").replace("ndcg", "NDCG"))


def loss_sentences(runs: dict[str, dict[str, SeedRuns]], table: pd.DataFrame, losses: tuple[str, ...],
                   n_bootstrap: int, seed: int) -> list[str]:
    """The best loss against LambdaMART, the ListMLE/LambdaMART ratio, and which losses tie with the best."""
    present = [loss for loss in losses if loss in runs]
    best = max(present, key=lambda loss: table.at[loss, "ndcg_at_10"])
    lines = [f"The best fine-ranker loss on NDCG@10 is {best} ({table.at[best, 'ndcg_at_10']:.4f}, seed sd "
             f"{table.at[best, 'ndcg_at_10_seed_sd']:.4f}); "
             + _paired(runs, best, "lightgbm_lambdarank", "ndcg_at_10", n_bootstrap, seed) + "."]
    if "listmle" in runs:
        ratio = table.at["listmle", "ndcg_at_10"] / table.at["lightgbm_lambdarank", "ndcg_at_10"]
        lines.append(f"ListMLE reaches {ratio:.3f} of LambdaMART's NDCG@10 "
                     f"({'meets' if ratio >= 1 else 'misses'} the benchmark goal of at least 1).")
    ties, beaten = [], []
    for loss in present:
        if loss == best:
            continue
        comparison = paired_comparison(runs[best]["ndcg_at_10"], runs[loss]["ndcg_at_10"], n_bootstrap, seed)
        (ties if comparison.verdict == "ties with" else beaten).append(f"{loss} ({comparison.interval_text(4)})")
    if ties:
        lines.append(f"Within the noise of {best} (paired interval includes 0): {', '.join(ties)}.")
    if beaten:
        lines.append(f"Below {best} beyond the noise: {', '.join(beaten)}.")
    return lines


def diagnosis_sentences(grid: pd.DataFrame, size_curve: pd.DataFrame, loss: str) -> list[str]:
    """What the model-versus-objective grid and the training-size curve say about the gap."""
    net, trees = grid.loc["DCN-v2 network"], grid.loc["gradient-boosted trees"]
    pointwise_gap = trees["pointwise"] - net["pointwise"]
    lambda_gap = trees["lambda-weighted pairs"] - net["lambda-weighted pairs"]
    lines = [f"With the objective held fixed, the trees lead the network by {pointwise_gap:+.4f} NDCG@10 (pointwise) "
             f"and {lambda_gap:+.4f} (lambda-weighted pairs); switching objective within a model class moves NDCG@10 by "
             f"{net['lambda-weighted pairs'] - net['pointwise']:+.4f} for the network and "
             f"{trees['lambda-weighted pairs'] - trees['pointwise']:+.4f} for the trees."]
    if pointwise_gap > 0 and lambda_gap > 0:
        lines.append("The gap follows the model class, not the objective: on these dense, partly monotone features "
                     "(counts, cosines, the pre-ranker's score) the trees fit better than the network under either objective.")
    pivot = size_curve.pivot(index="n_lists", columns="ranker", values="ndcg_at_10")
    gaps = pivot["lightgbm_lambdarank"] - pivot[loss]
    if gaps.iloc[-1] < gaps.iloc[0]:
        trend = " (the gap narrows with more lists: the network is the less sample-efficient)."
    elif gaps.iloc[-1] > gaps.iloc[0]:
        trend = " (the gap widens with more lists: the trees make more of the added lists)."
    else:
        trend = " (the gap does not change with more lists)."
    lines.append("LambdaMART minus " + loss + " by training lists: "
                 + ", ".join(f"{n:,} lists {gap:+.4f}" for n, gap in gaps.items()) + trend)
    return lines


def cascade_sentences(runs: dict[str, dict[str, SeedRuns]], loss: str, recall: float, top_n: int,
                      n_bootstrap: int, seed: int) -> list[str]:
    """The pre-ranker against the retrieve order, what the cut does to the fine ranker, and the ceiling."""
    after, without = f"fine ranker ({loss}) after the cut", f"fine ranker ({loss}) without the cut"
    ceiling = float(np.nanmean(runs["truth after the cut (ceiling)"]["ndcg_at_10"].averaged))
    cut = paired_comparison(runs[after]["ndcg_at_10"], runs[without]["ndcg_at_10"], n_bootstrap, seed)
    if cut.verdict == "beats":
        effect = ("the cut helps the fine ranker: scoring every retrieved candidate instead lowers its NDCG@10, because "
                  "candidates far down the pre-ranker's order lie outside what its training lists covered")
    elif cut.verdict == "loses to":
        effect = "the cut costs the fine ranker relevant candidates it would have ranked high"
    else:
        effect = "the cut neither helps nor costs the fine ranker within the noise"
    return [
        f"The pre-ranker keeps {recall:.1%} of the retrieved relevant candidates in its top {top_n}; "
        + _paired(runs, "pre-ranker", "retrieve order", "ndcg_at_10", n_bootstrap, seed) + ".",
        f"On NDCG@10, {effect}: " + cut.sentence(after, without, "NDCG@10")
        + f". Ordered by the truth, the kept candidates would reach NDCG@10 {ceiling:.4f}.",
    ]


def pool_sentence(table: pd.DataFrame, chosen: int, loss: str) -> str:
    """How the training pool's depth moves the network and the trees on the validation lists."""
    net, trees = table[f"{loss} validation NDCG@10"], table["lightgbm_lambdarank validation NDCG@10"]
    return (f"On the validation lists, deepening the training pool from {table.index[0]} to {table.index[-1]} moves {loss} "
            f"from {net.iloc[0]:.4f} to {net.iloc[-1]:.4f} (best {net.max():.4f} at {chosen}, chosen) and LambdaMART from "
            f"{trees.iloc[0]:.4f} to {trees.iloc[-1]:.4f} (range {trees.max() - trees.min():.4f} against the network's "
            f"{net.max() - net.min():.4f}): "
            + ("the network depends far more than the trees on lists that cover the candidates it will score."
               if net.max() - net.min() > max(2 * (trees.max() - trees.min()), 0.005) else
               "neither model class depends much more on the pool than the other."))


def click_sentences(runs: dict[str, dict[str, SeedRuns]], reference: str, n_bootstrap: int, seed: int,
                    n_clicks: int | None = None, n_oracle_clicks: int | None = None) -> list[str]:
    """IPS against naive click training and against the examination-free oracle, read together, and
    the click-trained rankers against the same loss trained on grades."""
    ips_naive = paired_comparison(runs["clicks_ips"]["ndcg_at_10"], runs["clicks_naive"]["ndcg_at_10"], n_bootstrap, seed)
    lines = [ips_naive.sentence("clicks_ips", "clicks_naive", "NDCG@10") + "."]
    if "clicks_examination_free" in runs:
        ips_oracle = paired_comparison(runs["clicks_ips"]["ndcg_at_10"], runs["clicks_examination_free"]["ndcg_at_10"],
                                       n_bootstrap, seed)  # fmt: skip
        lines.append(ips_oracle.sentence("clicks_ips", "clicks_examination_free", "NDCG@10") + ".")
        if ips_naive.verdict == "loses to" and ips_oracle.verdict != "loses to":
            lines.append("IPS reaches what its correction promises (training on examination-free clicks does no better), "
                         "yet both trail naive training: the position bias in the logged clicks carries the logging "
                         "policy's order, which is itself informative about relevance, and removing it removes that signal.")
        elif ips_oracle.verdict == "loses to":
            counts = (f" ({n_clicks:,} logged clicks against the oracle's {n_oracle_clicks:,} on the same slates)"
                      if n_clicks is not None and n_oracle_clicks is not None else "")
            lines.append("IPS falls short of the examination-free clicks it targets. Its weighted clicks equal the oracle's "
                         "in expectation only if examination is the sole position effect: the world's similarity fatigue "
                         "also lowers clicks further down, which 1/theta_k does not undo, and the weights add variance"
                         + counts + ". This run does not separate the two causes. Below naive training IPS also loses "
                         "the logging policy's order, which the position bias carries into the naive clicks.")
    if reference in runs:
        lines.append(_paired(runs, reference, "clicks_ips", "ndcg_at_10", n_bootstrap, seed)
                     + " (trained on grades vs clicks).")
    return lines


def observed_sentence(table: pd.DataFrame, k: int) -> str:
    """How far the click-based and the truth-based orderings of the rankers agree."""
    clicks, truth = table[f"ndcg_at_{k}_clicks"], table[f"ndcg_at_{k}_truth"]
    rho = float(clicks.rank().corr(truth.rank()))
    top_clicks, top_truth = clicks.idxmax(), truth.idxmax()
    return (f"On the logged candidates, the rankers' NDCG@{k} measured with clicks and with the true grades have a "
            f"Spearman rank correlation of {rho:.2f}; clicks put {top_clicks} first, the truth {top_truth}"
            + (" (the same)." if top_clicks == top_truth else "."))


def real_data_sentences(runs: dict[str, dict[str, SeedRuns]], table: pd.DataFrame, name: str, losses: tuple[str, ...],
                        n_bootstrap: int, seed: int) -> list[str]:
    """The best loss against LambdaMART on a real set, paired over its test lists."""
    present = [loss for loss in losses if loss in runs]
    best = max(present, key=lambda loss: table.at[loss, "ndcg_at_10"])
    return [f"On {name}, the best loss is {best} (NDCG@10 {table.at[best, 'ndcg_at_10']:.4f}, LambdaMART "
            f"{table.at['lightgbm_lambdarank', 'ndcg_at_10']:.4f}, random {table.at['random', 'ndcg_at_10']:.4f}); "
            + _paired(runs, best, "lightgbm_lambdarank", "ndcg_at_10", n_bootstrap, seed) + "."]


__all__ = ["cascade_sentences", "click_sentences", "diagnosis_sentences", "loss_sentences", "observed_sentence",
           "pool_sentence", "real_data_sentences"]
