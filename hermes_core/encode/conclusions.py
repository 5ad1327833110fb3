"""The conclusions of the encode stage, phrased from the numbers its notebook shows.

Every statement that one model does better than another goes through
:mod:`hermes_core.evaluation.verdict`: the paired bootstrap interval of the difference
(:func:`~.coldstart.model_differences` over users, :func:`~.queries.query_differences` over held-out
queries) decides between "beats", "ties with" and "loses to", and a tie is written as a tie.
The thresholds a sentence applies are the constants of this module, each with the reason for
its value. :func:`encode_conclusions` returns Markdown bullet lines; every number in them
appears in a table of the notebook.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hermes_core.evaluation.verdict import Comparison, compare_interval

if TYPE_CHECKING:
    from hermes_core.encode.metrics import EncodeRun

ALPHA_DESIGN_CLAIM = 0.95
"""The design note's claim: visual text queries drive the fused model's ``alpha_vision`` towards 0.95."""

ALPHA_CLAIM_THRESHOLD = 0.85
"""The target of the fusion (issue "Encode v2"): ``alpha_vision`` at least 0.85 on visual queries
(the image weighs more than 5.7 times the text) and at most :data:`ALPHA_CONTENT_THRESHOLD` on
content queries. The claim *holds* when the whole bootstrap interval of the visual queries' mean
lies at or above this value and that of the content queries at or below the other, *does not
hold* when either interval lies wholly on the wrong side, and is *undecided* otherwise."""

ALPHA_CONTENT_THRESHOLD = 0.15
"""The content queries' side of :data:`ALPHA_CLAIM_THRESHOLD` (the mirror image, 1 - 0.85)."""

EQUAL_WEIGHT_TOLERANCE = 0.05
"""A mean ``alpha_vision`` within this distance of 0.5 counts as "equal weights": the two
modalities then weigh between 45:55 and 55:45, and since
:math:`Z_j - \\tfrac12(v_jW_v + t_jW_t) = (\\alpha_v - \\tfrac12)(v_jW_v - t_jW_t)` the fused vector
lies within a twentieth of the distance between the two modality terms from their equal-weight
average. The attention starts there (logits near 0), so this also reads "training barely moved it"."""


SELECTION_GAP = 0.1
"""A difference of at least this much in concatenation's effective vision share between visual and
content queries is called a selection by the query projection (a tenth of the share's range)."""

DIGITS = 4
"""Decimals of every difference and interval in the conclusions, as in the notebook's tables."""


@dataclass(frozen=True)
class EncodeFindings:
    """The numbers the conclusions are phrased from (all shown in the notebook's tables)."""

    source: str
    modality_counts: dict[str, int]
    cold_table: pd.DataFrame  # one row per model: ndcg_col, recall_col, users scored / excluded
    ndcg_col: str  # e.g. "NDCG@10"
    recall_col: str  # e.g. "recall@50"
    n_cold_items: int
    differences: pd.DataFrame  # coldstart.model_differences: first, second, difference, ci_low, ci_high
    trained: tuple[str, ...]  # labels of the trained towers
    best_epochs: dict[str, int]  # label -> kept epoch
    max_epochs: int
    purity: pd.DataFrame  # embedding_space.purity_table
    # index_type, tower, k, search_recall_at_k, two_stage_recall, certified, n_vectors, n_queries, qps, exact_qps
    index: dict[str, Any]
    level: float = 0.95
    query_k: int | None = None
    query_table: pd.DataFrame | None = None  # NDCG@k by model (rows) and kind (columns)
    query_differences: pd.DataFrame | None = None  # queries.query_differences, index (kind, "A - B")
    alpha_by_kind: pd.DataFrame | None = None  # attention.alpha_by_query_kind
    fused_alpha_history: tuple[float, ...] | None = None  # mean alpha_vision of the training positives, per epoch
    fused_kept_epoch: int | None = None
    user_alpha: dict[str, float] | None = None  # attention.user_alpha_summary
    weights: pd.DataFrame | None = None  # attention.weight_diagnostics
    oracle: pd.DataFrame | None = None  # oracle.oracle_table
    gate_recovery: dict[str, float] | None = None  # attention.best_gate_recovery
    predictability: pd.DataFrame | None = None  # attention.profile_reveals_weight
    alpha_by_seed: pd.DataFrame | None = None  # queries.QueryEvaluation.alpha_by_seed
    domain_shares: dict[str, float] | None = None  # oracle.oracle_table's domain share of each concat part


def comparison(differences: pd.DataFrame, first: str, second: str, level: float) -> Comparison | None:
    """The :class:`~hermes_core.evaluation.verdict.Comparison` of row ``"first - second"``, or
    of its mirror ``"second - first"`` negated (difference :math:`-d`, interval
    :math:`[-d_{hi}, -d_{lo}]`); ``None`` when the table has neither or the interval is undefined."""
    label, mirror = f"{first} - {second}", f"{second} - {first}"
    if label in differences.index:
        row = differences.loc[label]
        values = (row["difference"], row["ci_low"], row["ci_high"])
    elif mirror in differences.index:
        row = differences.loc[mirror]
        values = (-row["difference"], -row["ci_high"], -row["ci_low"])
    else:
        return None
    if not np.isfinite(values).all():
        return None
    return compare_interval(*values, level)


def _sentence(differences: pd.DataFrame, first: str, second: str, measure: str, level: float,
              name_b: str | None = None) -> str | None:
    found = comparison(differences, first, second, level)
    return None if found is None else found.sentence(f"`{first}`", name_b or f"`{second}`", measure, digits=DIGITS)


def modality_line(counts: dict[str, int]) -> str:
    return (f"- Items encoded: {counts['items']}. Without text: {counts['text_missing']}; without an image file: "
            f"{counts['image_missing']}; with a corrupt image: {counts['image_corrupt']}; with neither modality (not "
            f"recommendable from content): {counts['neither']}.")


def cold_start_lines(findings: EncodeFindings) -> list[str]:
    """The model of highest mean NDCG against the runner-up and the baselines; the fused tower
    against the better single modality, concat and popularity; image against text."""
    f, level = findings, findings.level
    ndcg, recall = f.cold_table[f.ndcg_col], f.cold_table[f.recall_col]
    ranked = sorted(ndcg.index, key=lambda name: (-ndcg[name], name))
    best = ranked[0]
    users = int(f.cold_table["users scored (NDCG)"].iloc[0] + f.cold_table["users excluded (NDCG)"].iloc[0])
    kind = "an untrained baseline" if best not in f.trained else "a trained tower"
    evidence = [
        _sentence(f.differences, best, other, f.ndcg_col, level, name_b=f"`{other}`{note}")
        for other, note in ((ranked[1] if len(ranked) > 1 else None, " (the runner-up)"),
                            ("popularity", ""), ("random", ""))
        if other is not None and other != best
    ]
    lines = [f"- Cold start ({f.n_cold_items} cold items, full ranking, {users} users): the highest mean "
             f"{f.ndcg_col} is `{best}` ({kind}; {ndcg[best]:.4f}, {f.recall_col} {recall[best]:.4f}); popularity "
             f"reaches {ndcg.get('popularity', float('nan')):.4f} and random {ndcg.get('random', float('nan')):.4f}. "
             + "; ".join(s for s in evidence if s) + "."]
    singles = [name for name in ("text", "image") if name in ndcg.index]
    if "fused" in ndcg.index and singles:
        best_single = max(singles, key=lambda name: ndcg[name])
        parts = [_sentence(f.differences, "fused", best_single, f.ndcg_col, level,
                           name_b=f"`{best_single}` (the better single-modality tower)")]
        versus_concat = comparison(f.differences, "fused", "concat", level)
        if versus_concat is not None:
            effect = {"ties with": "add nothing measurable over", "beats": "do better than",
                      "loses to": "do worse than"}[versus_concat.verdict]
            parts.append(versus_concat.sentence("`fused`", "`concat`", f.ndcg_col, digits=DIGITS)
                         + f", so the query-conditioned weights {effect} a fixed concatenation of the two modalities")
        parts.append(_sentence(f.differences, "fused", "popularity", f.ndcg_col, level))
        lines.append("- " + "; ".join(p for p in parts if p) + ".")
        image_text = _sentence(f.differences, "image", "text", f.ndcg_col, level)
        if image_text:
            lines.append(f"- {image_text}.")
    elif "fused" not in ndcg.index:
        lines.append(f"- Source `{f.source}` has no images: only the text tower was trained; the image, concat and "
                     f"fused entries of the metrics are null.")
    return lines


def training_line(findings: EncodeFindings, feedback: str) -> str:
    """The best trained tower against the untrained text cosine, and where validation peaked."""
    f = findings
    ndcg = f.cold_table[f.ndcg_col]
    trained = [name for name in f.trained if name in ndcg.index]
    # the same order as coldstart.comparison_pairs (higher NDCG, then name), so a tie names the tower it paired
    best_trained = min(trained, key=lambda name: (-ndcg[name], name))
    versus = comparison(f.differences, best_trained, "text_cosine", f.level)
    epochs = ", ".join(f"{epoch} ({label})" for label, epoch in f.best_epochs.items())
    still_improving = [label for label, epoch in f.best_epochs.items() if epoch >= f.max_epochs]
    text = f"- The towers learn from {feedback} on warm items. "
    if versus is not None:
        meaning = {"beats": "training adds measurable quality over the untrained text profile",
                   "ties with": "training adds nothing measurable over the untrained text profile",
                   "loses to": "training does worse than the untrained text profile"}[versus.verdict]
        text += (versus.sentence(f"`{best_trained}` (the best trained tower)", "`text_cosine` (untrained)", f.ndcg_col,
                                 digits=DIGITS)
                 + f": {meaning}. ")
    text += (f"The validation score (NDCG of the held-out warm items and, where there are text queries, of the "
             f"validation queries) peaks, for the first seed, at epoch {epochs} of {f.max_epochs}")
    if still_improving:
        return text + f"; {', '.join(f'`{s}`' for s in still_improving)} was still improving at the last epoch."
    return text + (": every tower's validation score peaked before the last epoch, so longer training fits the "
                   "training pairs without helping held-out items and queries.")


def purity_line(purity: pd.DataFrame) -> str | None:
    """How far each modality's nearest neighbours go from chance to perfect label purity:
    :math:`(p - c) / (1 - c)` with :math:`p` the purity and :math:`c` the chance level."""
    if purity.empty:
        return None
    column = purity.columns[0]
    label = column.split(" purity")[0]
    parts = []
    for modality, row in purity.iterrows():
        p, c = row[column], row["chance"]
        share = (p - c) / (1 - c) if c < 1 else float("nan")
        parts.append(f"{modality} {p:.4f} ({share:.0%} of the way from chance {c:.4f} to 1)")
    return f"- Share of the 10 nearest neighbours with the item's {label}: " + "; ".join(parts) + "."


def alpha_claim(alpha_by_kind: pd.DataFrame, by_seed: pd.DataFrame | None = None) -> str:
    """``holds``, ``does not hold`` or ``is undecided``: the visual queries' interval (seed-averaged
    weights) against :data:`ALPHA_CLAIM_THRESHOLD` and the content queries' against
    :data:`ALPHA_CONTENT_THRESHOLD`. With ``by_seed`` (each replica's mean per kind), "holds" also
    needs every replica's means on the right side: the served tower is one replica, not the average;
    otherwise the claim ``holds on the seed average only``."""
    visual, content = alpha_by_kind.loc["visual"], alpha_by_kind.loc["content"]
    if visual["ci_high"] < ALPHA_CLAIM_THRESHOLD or content["ci_low"] > ALPHA_CONTENT_THRESHOLD:
        return "does not hold"
    if visual["ci_low"] >= ALPHA_CLAIM_THRESHOLD and content["ci_high"] <= ALPHA_CONTENT_THRESHOLD:
        if by_seed is not None and len(by_seed) and not (
                (by_seed["visual"] >= ALPHA_CLAIM_THRESHOLD).all() and (by_seed["content"] <= ALPHA_CONTENT_THRESHOLD).all()):
            return "holds on the seed average only"
        return "holds"
    return "is undecided"


def alpha_line(alpha_by_kind: pd.DataFrame, level: float, by_seed: pd.DataFrame | None = None) -> str:
    """The target on visual and content queries (seed average, and each replica), and visual against
    content queries."""
    visual, content, gap = (alpha_by_kind.loc[name] for name in ("visual", "content", "visual - content"))
    seeds = ""
    if by_seed is not None and len(by_seed):
        seeds = (" Per replica (seed: visual, content): "
                 + "; ".join(f"{seed}: {row['visual']:.4f}, {row['content']:.4f}" for seed, row in by_seed.iterrows())
                 + f"; the index serves seed {by_seed.index[0]}'s.")
    text = (f"- The target (alpha_vision at least {ALPHA_CLAIM_THRESHOLD} on visual queries and at most "
            f"{ALPHA_CONTENT_THRESHOLD} on content ones) {alpha_claim(alpha_by_kind, by_seed)}: the {int(visual['queries'])} held-out visual "
            f"queries give a mean alpha_vision of {visual['mean']:.4f} "
            f"[{visual['ci_low']:.4f}, {visual['ci_high']:.4f}] "
            f"({level:.0%} interval) and the {int(content['queries'])} content queries {content['mean']:.4f} "
            f"[{content['ci_low']:.4f}, {content['ci_high']:.4f}] (weights averaged over seeds).{seeds} ")
    if not np.isfinite([gap["mean"], gap["ci_low"], gap["ci_high"]]).all():
        return text.rstrip()
    versus = compare_interval(gap["mean"], gap["ci_low"], gap["ci_high"], level)
    meaning = {"beats": "higher for visual than for content queries",
               "ties with": "not measurably different between visual and content queries",
               "loses to": "lower for visual than for content queries"}[versus.verdict]
    return text + (f"The fused tower's weight on the image is {meaning}: visual - content "
                   f"{versus.interval_text(digits=4)} ({level:.0%} interval, "
                   f"{'excludes' if versus.excludes_zero else 'includes'} 0).")


def query_lines(query_table: pd.DataFrame, query_differences: pd.DataFrame, k: int, level: float) -> list[str]:
    """Held-out text-query retrieval per kind: every paired comparison with its verdict."""
    lines = []
    verdicts: dict[tuple[str, str], str] = {}
    for kind in ("visual", "content"):
        if kind not in query_differences.index.get_level_values("kind"):
            continue
        part = query_differences.loc[kind]
        sentences = []
        for label, row in part.iterrows():
            if row["verdict"] == "not compared":
                continue
            found = compare_interval(row["difference"], row["ci_low"], row["ci_high"], level)
            verdicts[(kind, str(label))] = found.verdict
            sentences.append(found.sentence(f"`{row['first']}`", f"`{row['second']}`", f"NDCG@{k}", digits=DIGITS))
        means = ", ".join(f"{model} {query_table.loc[model, kind]:.4f}" for model in query_table.index)
        n = int(part["n_queries"].max()) if len(part) else 0
        lines.append(f"- Held-out {kind} queries ({n}, NDCG@{k} over the whole catalogue: {means}): "
                     + "; ".join(sentences) + ".")
    if (verdicts.get(("visual", "fused - image")) in ("ties with", "loses to")
            and verdicts.get(("visual", "fused - text")) == "beats"):
        lines.append("- On visual queries the fused tower beats the text tower but not the image-only tower, which has "
                     "no attention at all: its gain there is what the image values alone give, not the weights.")
    return lines


def attention_epoch_line(history: tuple[float, ...], kept: int) -> str:
    """The fused tower's mean weight on the image (training positives, first seed) at the kept epoch and the last."""
    kept_alpha, last_alpha = history[kept - 1], history[-1]
    equal = abs(kept_alpha - 0.5) <= EQUAL_WEIGHT_TOLERANCE
    return (f"- The fused tower kept (first seed) is that of epoch {kept}, when the mean alpha_vision of its training positives was "
            f"{kept_alpha:.4f}; by epoch {len(history)} it was {last_alpha:.4f}. "
            + (f"At the kept epoch the weights are within {EQUAL_WEIGHT_TOLERANCE} of equal (0.5, where they "
               "start): the fused model is close to an equal-weight average of its two modality projections."
               if equal else
               f"At the kept epoch the weights are more than {EQUAL_WEIGHT_TOLERANCE} away from equal (0.5)."))


def user_alpha_line(summary: dict[str, float], level: float) -> str:
    """Users' attention against their true visual affinity (Spearman, interval against 0)."""
    versus = compare_interval(summary["rho"], summary["ci_low"], summary["ci_high"], level)
    meaning = {"beats": "rises with", "ties with": "shows no measurable relation to",
               "loses to": "falls with"}[versus.verdict]
    return (f"- For the {int(summary['n'])} evaluated users, mean alpha_vision is {summary['mean_alpha_vision']:.4f} "
            f"(standard deviation {summary['std_alpha_vision']:.4f}); its Spearman correlation with the true visual "
            f"affinity is {summary['rho']:+.4f} [{summary['ci_low']:+.4f}, {summary['ci_high']:+.4f}] ({level:.0%} "
            f"interval, {'excludes' if versus.excludes_zero else 'includes'} 0): a user's attention on the image "
            f"{meaning} how much the user cares about the visual side.")


def weights_line(weights: pd.DataFrame) -> str | None:
    """What the towers' rankings use: alpha against the effective vision share, per query kind."""
    if weights is None or weights.empty:
        return None
    parts = []
    for model in dict.fromkeys(weights.index.get_level_values("model")):
        rows = weights.loc[model]
        share = ", ".join(f"{kind} {rows.loc[kind, 'effective vision share']:.4f}" for kind in rows.index)
        alpha = rows["mean alpha_vision"]
        text = f"`{model}`: effective vision share {share}"
        if np.isfinite(alpha).all():
            text += (f" (mean alpha_vision " + ", ".join(f"{kind} {alpha[kind]:.4f}" for kind in rows.index)
                     + f"; the query explains {rows['query share of weight variance'].iloc[0]:.1%} of the weights' "
                       f"variance)")
        parts.append(text)
    text = ("- What each ranking uses (share of the spread of a query's scores carried by the vision part): "
            + "; ".join(parts) + ".")
    if "fused" in weights.index.get_level_values("model"):
        fused = weights.loc["fused"]
        share, alpha = fused["effective vision share"], fused["mean alpha_vision"]
        if ({"visual", "content"} <= set(fused.index) and share["visual"] > alpha["visual"]
                and share["content"] < alpha["content"]):
            text += (f" For the fused tower the ranking follows the query more completely than its weights say "
                     f"(vision share {share['visual']:.4f} against alpha {alpha['visual']:.4f} on visual queries, "
                     f"{share['content']:.4f} against {alpha['content']:.4f} on content ones): the projection qP does "
                     f"part of the selection, so a gate short of its target need not leave the other modality in the "
                     f"ranking.")
    if "concat" in weights.index.get_level_values("model"):
        concat = weights.loc["concat", "effective vision share"]
        gap = float(concat.get("visual", np.nan) - concat.get("content", np.nan))
        if np.isfinite(gap) and gap >= SELECTION_GAP:
            text += (f" Concatenation has no weight to move, yet its vision share is {gap:.4f} higher on visual than "
                     f"on content queries: the bilinear score lets the query projection select a modality by itself, "
                     f"so a gate is not the only place where the selection can live.")
    return text


def oracle_line(cold_table: pd.DataFrame, differences: pd.DataFrame, ndcg_col: str, level: float,
                oracle: pd.DataFrame | None = None, recovery: dict[str, float] | None = None,
                domain_shares: dict[str, float] | None = None) -> str | None:
    """The modality oracle beside concatenation and the fused tower; with the oracle table, why it
    lands where it does (strengths, shuffled control, the per-user upper bound)."""
    ndcg = cold_table[ndcg_col]
    if "oracle" not in ndcg.index or "concat" not in ndcg.index:
        return None
    gain = ndcg["oracle"] - ndcg["concat"]
    text = (f"- Concatenation reweighed with the world's true modality weight (a diagnostic that reads the truth) reaches "
            f"{ndcg['oracle']:.4f} {ndcg_col} against concat's {ndcg['concat']:.4f} ({gain:+.4f})")
    versus = comparison(differences, "fused", "concat", level)
    if versus is not None and "fused" in ndcg.index:
        text += f"; the fused tower's user gates add {versus.interval_text(digits=DIGITS)} ({versus.verdict} concat)"
    text += "."
    if oracle is not None and len(oracle):
        column = oracle.columns[0]
        values = oracle[column]
        strengths = [name for name in values.index if name.startswith("true weight")]
        best_strength = max(strengths, key=lambda name: values[name])
        shuffled = values.get("shuffled weight (control)", np.nan)
        bound = values.get("best gate per user (upper bound)", np.nan)
        text += (f" The weights carry information (true {values[strengths[-1]]:.4f} against {shuffled:.4f} with the "
                 f"users' weights shuffled), and the best strength is `{best_strength}` ({values[best_strength]:.4f})")
        if best_strength != strengths[-1] and domain_shares:
            text += (f": the full reweighing overshoots; the item's domain explains "
                     f"{domain_shares.get('text part', np.nan):.1%} of the spread of a user's text-part scores against "
                     f"{domain_shares.get('vision part', np.nan):.1%} of the vision part's, and the world does not "
                     f"weigh the domain term by the modality weight, so scaling the text part also scales the domain")
        text += (f". Choosing each user's gate with the truth (an upper bound, not an estimate) would reach "
                 f"{bound:.4f}")
        if recovery is not None:
            text += (f", and those truth-chosen gates correlate {recovery['rho']:+.4f} "
                     f"[{recovery['ci_low']:+.4f}, {recovery['ci_high']:+.4f}] (Spearman) with the true affinity")
        text += "."
    return text


PREDICTABLE_R2 = 0.05
"""A cross-validated R^2 below this counts as "the profile does not reveal the weight": a linear
read-out would then explain under a twentieth of the variance of logit m_u."""


def predictability_line(table: pd.DataFrame) -> str:
    """Whether any linear gate on the profile could recover the users' modality weight (the diagnosis
    of a gate that does not)."""
    best = table["cv R2"].idxmax()
    r2, sd = table.loc[best, "cv R2"], table.loc[best, "cv R2 sd"]
    text = (f"- A ridge regression of the true logit m_u on what a user gate reads reaches a cross-validated R^2 of "
            f"at most {r2:.4f} (± {sd:.4f}, `{best}`)")
    if r2 < PREDICTABLE_R2:
        return text + (f", below {PREDICTABLE_R2}: the profile (mean clicked embeddings and their coherence) does not "
                       "reveal how much a user weighs looks (linearly: the gate is a sigmoid of a linear read-out), "
                       "so the fused tower's user gates cannot recover the weight, however they are trained; the gain "
                       "of the truth-chosen gates below needs a signal the profile lacks.")
    return text + f": the profile carries part of the weight, which a better-trained gate could read."


def index_line(index: dict[str, Any]) -> str:
    """Index recall against exact search and two-stage recall; speed as measured, not compared."""
    return (f"- The {index['index_type']} index over {index['n_vectors']} vectors of the `{index['tower']}` tower "
            f"finds {index['search_recall_at_k']:.1%} of the exact top {index['k']} for the {index['n_queries']} user "
            f"queries; "
            f"two-stage retrieval (index, then exact rescoring) reproduces {index['two_stage_recall']:.1%} of the top "
            f"{index['k']} by the tower's exact score"
            + (f" and certifies {index['certified']:.1%} of the queries exact. " if np.isfinite(index["certified"])
               else " (no exactness certificate: an approximate index's last score bounds nothing it missed). ")
            + "Speed in this run (median of 3 timings on shared cores, not a metric): "
            + f"{index['qps'] / 1e3:,.1f} thousand queries/s against "
            f"{index['exact_qps'] / 1e3:,.1f} thousand for exact search.")


def encode_conclusions(findings: EncodeFindings) -> list[str]:
    """Markdown bullet lines, one per finding, in the order of the notebook's sections."""
    f = findings
    is_world = f.source == "world"
    lines = [modality_line(f.modality_counts), *cold_start_lines(f)]
    lines.append(training_line(f, "clicks" if is_world else "positive ratings"))
    purity = purity_line(f.purity)
    if purity:
        lines.append(purity)
    if f.alpha_by_kind is not None and not f.alpha_by_kind.empty:
        lines.append(alpha_line(f.alpha_by_kind, f.level, f.alpha_by_seed))
    if f.query_table is not None and f.query_differences is not None and f.query_k is not None:
        lines.extend(query_lines(f.query_table, f.query_differences, f.query_k, f.level))
    if f.fused_alpha_history and f.fused_kept_epoch:
        lines.append(attention_epoch_line(f.fused_alpha_history, f.fused_kept_epoch))
    if f.user_alpha is not None:
        lines.append(user_alpha_line(f.user_alpha, f.level))
        if f.predictability is not None and len(f.predictability):
            lines.append(predictability_line(f.predictability))
    for extra in (weights_line(f.weights) if f.weights is not None else None,
                  oracle_line(f.cold_table, f.differences, f.ndcg_col, f.level, f.oracle, f.gate_recovery,
                              f.domain_shares)):
        if extra:
            lines.append(extra)
    lines.append(index_line(f.index))
    return lines


def findings_from_run(run: EncodeRun) -> EncodeFindings:
    """Collect one run's results and the tables the notebook showed (held by the run) into
    :class:`EncodeFindings`."""
    from hermes_core.encode.catalogue import modality_counts
    from hermes_core.encode.training import MODEL_LABELS

    enc, towers, evaluation, queries, index_report = (
        run.params.encode, run.towers, run.evaluation, run.queries, run.index_report)
    from hermes_core.encode.attention import headline_fused_kind

    fused_kind = headline_fused_kind(towers)
    fused = None if fused_kind is None else towers[fused_kind]
    return EncodeFindings(
        source=run.inputs.source,
        modality_counts=modality_counts(run.inputs.items, run.encoded),
        cold_table=evaluation.table(),
        ndcg_col=f"NDCG@{enc.eval.ndcg_k}",
        recall_col=f"recall@{enc.eval.recall_k}",
        n_cold_items=len(evaluation.cold_rows),
        differences=run.differences,
        trained=tuple(t.label for t in towers.values()),
        best_epochs={t.label: t.best_epoch for t in towers.values()},
        max_epochs=enc.fusion.epochs,
        purity=run.purity,
        index={"index_type": index_report.index_type, "tower": MODEL_LABELS[index_report.tower_kind],
               "k": index_report.k, "search_recall_at_k": index_report.search_recall_at_k,
               "two_stage_recall": index_report.two_stage_recall, "certified": index_report.two_stage_certified,
               "n_vectors": len(index_report.stacked.item_rows), "n_queries": index_report.n_queries,
               "qps": index_report.qps, "exact_qps": index_report.exact_qps},
        level=enc.eval.ci_level,
        query_k=None if queries is None else queries.k,
        query_table=None if queries is None else queries.table,
        query_differences=run.query_differences,
        alpha_by_kind=run.alpha_by_kind,
        # the mean weight of the training positives means something for the attention (whose weights start equal
        # for every pair); for the gates it averages visual, content and user queries, whose weights part ways
        fused_alpha_history=(tuple(row["alpha_vision"] for row in fused.history)
                             if fused is not None and fused.kind == "cross_attention" else None),
        fused_kept_epoch=None if fused is None else fused.best_epoch,
        user_alpha=run.user_alpha,
        weights=run.weights,
        oracle=run.oracle,
        gate_recovery=run.gate_recovery,
        predictability=run.predictability,
        alpha_by_seed=None if queries is None else queries.alpha_by_seed,
        domain_shares=run.domain_shares,
    )
