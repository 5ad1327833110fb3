"""The retrieve notebook's conclusions: sentences computed from the numbers it shows.

A comparison between two lists is stated with its paired bootstrap interval over the same
requests and the verdict of :mod:`hermes_core.evaluation.verdict` (an interval containing 0 is a
tie); a single number is stated as measured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from hermes_core.evaluation.verdict import Comparison
from hermes_core.retrieve.blending import SourceResult, WeightFit
from hermes_core.retrieve.evaluation import paired_recall_difference
from hermes_core.retrieve.orchestrator import BatchReport
from hermes_core.retrieve.paper_protocol import PaperProtocolResult
from hermes_core.retrieve.query_understanding import ConstraintScores

SINGLE_SOURCES: tuple[str, ...] = ("ann", "kg", "sasrec")
MIN_PAIRED_REQUESTS = 10
"""Fewest requests on which a paired bootstrap interval is stated."""


def constraint_sentence(scores: ConstraintScores, by_kind: pd.DataFrame) -> str:
    """Precision and recall of the extracted constraints, and the false ones on visual queries."""
    visual = by_kind.loc["visual", "predicted"] if "visual" in by_kind.index else 0
    return (f"Query understanding: on the world's {int(by_kind['queries'].sum()):,} queries the extracted constraints "
            f"have precision {scores.precision:.4f} and recall {scores.recall:.4f} ({scores.n_correct:,} of "
            f"{scores.n_predicted:,} predicted fields right, {scores.n_true:,} true); visual queries, which state no "
            f"constraint, received {int(visual)} false ones.")


def _comparison(lists: Mapping[str, Sequence[SourceResult | None]], relevant: Sequence, a: str, b: str, k: int,
                seed: int) -> Comparison:
    difference, low, high = paired_recall_difference(lists, relevant, a, b, k, seed=seed)
    return Comparison(difference, low, high, 0.95)


def recall_sentences(recall: pd.DataFrame, lists: Mapping[str, Sequence[SourceResult | None]], relevant: Sequence,
                     query_class: Sequence[str], k: int = 100, seed: int = 0) -> list[str]:
    """The best single source per query class at ``k``, the blend against it, and SASRec against the
    transition model, each with its paired interval."""
    lines = []
    part = recall[recall["k"] == k]
    for name in dict.fromkeys(part["query_class"]):
        rows = part[part["query_class"] == name].set_index("list")
        best = rows.loc[[s for s in SINGLE_SOURCES if s in rows.index], "recall"].idxmax()
        chosen = [i for i, c in enumerate(query_class) if (name == "all" or c == name) and len(relevant[i])]
        text = (f"Recall@{k}, {name} ({int(rows['n_requests'].iloc[0]):,} requests): the best single source is "
                f"{best} ({rows.loc[best, 'recall']:.3f}); the blend has {rows.loc['blend', 'recall']:.3f}. ")
        if len(chosen) < MIN_PAIRED_REQUESTS:
            lines.append(text + f"Too few requests ({len(chosen)}) for a paired interval: no verdict.")
            continue
        sub_lists = {key: [lists[key][i] for i in chosen] for key in ("blend", best)}
        comparison = _comparison(sub_lists, [relevant[i] for i in chosen], "blend", best, k, seed)
        lines.append(text + comparison.sentence("The blend", best, f"recall@{k}") + ".")
    if {"sasrec", "transition"} <= set(lists):
        comparison = _comparison(lists, relevant, "sasrec", "transition", k, seed)
        lines.append("Against the contextual truth (every test request and query): "
                     + comparison.sentence("SASRec", "the first-order transition model", f"recall@{k}") + ".")
    return lines


def weight_sentence(fit: WeightFit) -> str:
    """The fitted weights per class, saying which sit on the simplex's edge."""
    parts = []
    for query_class, weights in fit.chosen.by_class.items():
        text = ", ".join(f"{source} {weight:.1f}" for source, weight in weights.items())
        if fit.single_source.get(query_class):
            text += f" (a vertex: {fit.single_source[query_class]} alone)"
        elif fit.on_boundary.get(query_class):
            text += " (on an edge: one source gets no weight)"
        parts.append(f"{query_class}: {text}")
    return f"Blend weights fitted on the validation split (recall@{fit.k}): " + "; ".join(parts) + "."


def failure_sentences(test: BatchReport, demo: BatchReport | None) -> list[str]:
    """Failures in the test run, and what the fault-injection demo showed."""
    counts = {name: sum(c.values()) for name, c in test.source_failures.items()}
    lines = [f"Test run: {len(test.inputs):,} requests; failed or skipped calls per source: "
             + ", ".join(f"{name} {n}" for name, n in counts.items()) + "."]
    if demo is not None:
        described = "; ".join(f"{name}: {c.get('error', 0)} errors, {c.get('timeout', 0)} timeouts, "
                              f"{c.get('skipped', 0)} skipped by its breaker"
                              for name, c in demo.source_failures.items())  # fmt: skip
        answered = sum(1 for blend_input in demo.inputs if blend_input.results)
        lines.append(f"Fault injection over {len(demo.inputs)} requests — {described}; {answered} of "
                     f"{len(demo.inputs)} requests still got candidates from the sources that answered.")
    return lines


def paper_sentences(results: Mapping[str, PaperProtocolResult]) -> list[str]:
    """SASRec under the paper's protocol on each dataset, and its lead over the transition model
    under both protocols."""
    lines = []
    for result in results.values():
        table = result.table()
        k_sampled = [c for c in table.columns if c.startswith("hr_at_") and c.endswith("_sampled")][0]
        k = k_sampled.split("_")[2]
        sasrec = table.loc["sasrec"]
        differences = result.sasrec_minus_transition()
        leads = "; ".join(
            Comparison(row["difference"], row["low"], row["high"], 0.95).sentence("SASRec", "transition",
                                                                                  f"NDCG@{k} ({kind})")
            for kind, row in differences.iterrows())  # fmt: skip
        lines.append(f"SASRec on {result.dataset} ({result.n_users:,} users, {result.n_items:,} items), paper protocol: "
                     f"HR@{k} {sasrec[k_sampled]:.4f} and NDCG@{k} {sasrec[f'ndcg_at_{k}_sampled']:.4f} against 100 "
                     f"sampled negatives, NDCG@{k} {sasrec[f'ndcg_at_{k}_full']:.4f} over the full catalogue. {leads}")
    return lines


def graph_sentence(check: pd.DataFrame, n_items: int | None = None) -> str:
    """The knowledge-graph source on MovieLens 100K against popularity, and which single path
    carries what (rows ``path: <meta-path>`` of the check)."""
    column = [c for c in check.columns if c.startswith("hr_at_")][0]
    kg, pop = float(check.loc["knowledge graph", column]), float(check.loc["popularity", column])
    k = int(column.split("_")[-1])
    text = (f"On MovieLens 100K's Freebase graph the knowledge-graph source has HR@{k} {kg:.4f} on each user's last "
            f"film (leave-one-out, full ranking) against {pop:.4f} for popularity")
    if n_items:
        text += f" and about {k / n_items:.4f} for a random list"
    paths = check[check.index.str.startswith("path: ")]
    if len(paths):
        best = paths[column].astype(float).idxmax()
        text += (f"; alone, the paths reach {', '.join(f'{name[6:]} {float(v):.4f}' for name, v in paths[column].items())}"
                 f" — the best single path is {best[6:]}")
    if kg < pop:
        text += (". The walks know nothing of how popular a film is, and here the next film follows popularity "
                 f"(popularity's HR@{k} is {pop / kg:.1f} times the graph's) while no single relation's neighbourhood "
                 "does much better than chance")
    return text + "."


__all__ = ["constraint_sentence", "failure_sentences", "graph_sentence", "paper_sentences", "recall_sentences",
           "weight_sentence"]
