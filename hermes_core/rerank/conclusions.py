"""The rerank notebook's conclusions: sentences computed from the numbers it shows.

A comparison with the unreranked list states its paired bootstrap interval over the same users and
the verdict of :mod:`hermes_core.evaluation.verdict` (an interval containing 0 is a tie); a single
number is stated with its percentile interval. No sentence holds a fixed claim: each one's wording
follows the numbers (beats / ties / loses, inside / outside the band, on / off a sweep's edge).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from hermes_core.evaluation.verdict import compare_interval
from hermes_core.rerank.plots import NAMES, measured_on

LABEL: dict[str, str] = {"mmr": "MMR", "parity": "exposure parity", "singh_joachims": "the Singh–Joachims LP",
                         "fair": "FA*IR"}  # fmt: skip


def _interval(row: pd.Series, measure: str, digits: int = 3) -> str:
    low, high = row.get(f"{measure}_low", np.nan), row.get(f"{measure}_high", np.nan)
    if not (np.isfinite(low) and np.isfinite(high)):
        return f"{row[measure]:.{digits}f}"
    return f"{row[measure]:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def _verdict(comparisons: pd.DataFrame, policy: str, measure: str, what: str, level: float, digits: int = 4) -> str:
    row = comparisons.loc[policy]
    if not np.isfinite(row[f"{measure}_diff"]):
        return f"no {what} to compare"
    comparison = compare_interval(row[f"{measure}_diff"], row[f"{measure}_diff_low"], row[f"{measure}_diff_high"], level)
    return comparison.sentence(LABEL[policy], "the unreranked list", what, digits=digits)


def policy_sentences(headline: pd.DataFrame, comparisons: pd.DataFrame, level: float = 0.95) -> list[str]:
    """Per policy at its operating point: NDCG@10 and its loss, the ratio, ILD and expected clicks
    against the unreranked list, each with its interval and verdict."""
    before = headline.loc["before"]
    lines = [f"Unreranked: NDCG@10 {_interval(before, 'ndcg_at_10')}, intra-list diversity {_interval(before, 'ild')}, "
             f"disparate-exposure ratio {_interval(before, 'exposure_ratio')}, Gini of item exposure "
             f"{_interval(before, 'exposure_gini')}"
             + (f", expected clicks {_interval(before, 'expected_clicks', 4)}" if np.isfinite(before["expected_clicks"])
                else "") + f" ({level:.0%} bootstrap intervals over users)."]
    for policy in comparisons.index:
        row, change = headline.loc[policy], comparisons.loc[policy]
        loss = change["ndcg_relative_loss"]
        sentence = (f"{LABEL[policy][0].upper() + LABEL[policy][1:]} ({row['label']}): NDCG@10 "
                    f"{_interval(row, 'ndcg_at_10')}, a relative {'loss' if loss >= 0 else 'gain'} of "
                    f"{abs(loss):.1%} [{change['ndcg_relative_loss_low']:.1%}, {change['ndcg_relative_loss_high']:.1%}] "
                    f"— {_verdict(comparisons, policy, 'ndcg_at_10', 'NDCG@10', level)}; "
                    f"ratio {_interval(row, 'exposure_ratio')}; "
                    f"{_verdict(comparisons, policy, 'ild', 'intra-list diversity', level)}")
        if np.isfinite(change["expected_clicks_diff"]):
            sentence += f"; {_verdict(comparisons, policy, 'expected_clicks', 'expected clicks', level)}"
        lines.append(sentence + ".")
    return lines


def benchmark_sentence(result: dict[str, Any]) -> str:
    """The shipped policy against the issue's target, judged on each criterion's interval (meets:
    inside, misses: outside, inconclusive: it crosses the bound) beside its point estimate, both
    numbers stated either way, and whether the unreranked list already met the ratio part."""
    name = LABEL[result["policy"]]
    ndcg_ok, ratio_ok = result["ndcg_within_target"], result["ratio_within_target"]
    verdicts = (result["ndcg_target_verdict"], result["ratio_target_verdict"])
    if all(v.startswith("meets") for v in verdicts):
        verdict = "meets the target (both intervals inside)"
    elif any(v.startswith("misses") for v in verdicts):
        verdict = "misses the target (an interval outside)"
    else:
        verdict = "is inconclusive against the target (an interval crosses its bound)"
    text = (f"Benchmark: the shipped policy, {name}, {verdict} — relative NDCG@10 loss "
            f"{result['ndcg_relative_loss']:.2%} [{result['ndcg_relative_loss_low']:.2%}, "
            f"{result['ndcg_relative_loss_high']:.2%}] (point {'within' if ndcg_ok else 'beyond'} "
            f"{result['max_ndcg_loss']:.0%}; {verdicts[0]}), disparate-exposure ratio {result['exposure_ratio']:.3f} "
            f"[{result['exposure_ratio_low']:.3f}, {result['exposure_ratio_high']:.3f}] "
            f"(point {'inside' if ratio_ok else 'outside'} [{result['ratio_low']:g}, {result['ratio_high']:g}]; "
            f"{verdicts[1]}).")
    before = result["before_exposure_ratio"]
    if result["before_ratio_within_target"]:
        text += (f" The unreranked list's ratio, {before:.3f}, already lies inside the band, so the ratio part of the "
                 f"target does not discriminate here; the policy moves it to {result['exposure_ratio']:.3f}, "
                 f"{'nearer to' if abs(np.log(result['exposure_ratio'])) < abs(np.log(before)) else 'no nearer to'} parity.")
    else:
        text += f" The unreranked list's ratio is {before:.3f}, outside the band."
    return text


def sweep_sentences(edges: pd.DataFrame, sweep: pd.DataFrame, max_ndcg_loss: float) -> list[str]:
    """Whether each knob acts over its sweep and where its operating point lies; for MMR, how far
    down from the sweep's largest λ the NDCG@10 loss stays within ``max_ndcg_loss`` at every point
    (the loss need not be monotone in λ, so no point below the first failure is claimed)."""
    lines = []
    for policy, row in edges.iterrows():
        where = "on an edge of" if row["on_edge"] else "inside"
        lines.append(f"{LABEL[policy][0].upper() + LABEL[policy][1:]}: {int(row['points_that_act'])} of "
                     f"{int(row['points'])} sweep points change the unreranked slates; the operating value "
                     f"{row['operating_value']:g} lies {where} the sweep [{row['sweep_min']:g}, {row['sweep_max']:g}].")
    before = float(sweep.loc[sweep["policy"] == "before", "ndcg_at_10"].iat[0])
    mmr = sweep[sweep["policy"] == "mmr"].sort_values("value", ascending=False)
    loss = (1.0 - mmr["ndcg_at_10"] / before).to_numpy(dtype=float)
    within = loss <= max_ndcg_loss
    n_kept = len(within) if within.all() else int(np.argmin(within))  # the sweep's points from the top before a failure
    if n_kept:
        best = mmr.iloc[n_kept - 1]
        span = (f"at every λ of the sweep from {mmr['value'].iat[0]:g} down to λ = {best['value']:g}" if n_kept > 1
                else f"at λ = {best['value']:g}, the top of its sweep")
        after = (f"; the next, λ = {mmr['value'].iat[n_kept]:g}, loses {loss[n_kept]:.1%}" if n_kept < len(within)
                 else "")
        lines.append(f"MMR keeps NDCG@10 within {max_ndcg_loss:.0%} of the unreranked list {span} (ILD "
                     f"{best['ild']:.3f} against {float(sweep.loc[sweep['policy'] == 'before', 'ild'].iat[0]):.3f})"
                     f"{after}.")
    return lines


def parity_sentence(convergence: pd.DataFrame) -> str:
    """What the shared multiplier converged to at the operating tolerance, the estimated ratio it
    reached on the policy's relevance and the true ratio, and which tolerances did not converge."""
    row = convergence[convergence["operating_point"]].iloc[0]
    failed = convergence[~convergence["converged"]]
    text = (f"Exposure parity at tolerance {row['tolerance']:g}: the multiplier converged to m = {row['multiplier']:.5g} "
            f"(log-boost {row['log_boost']:.4f} on the mapped relevance, boosting {row['boosted_cohort']}) in "
            f"{int(row['evaluations'])} evaluations"
            if row["converged"] else
            f"Exposure parity at tolerance {row['tolerance']:g} did not converge ({row['reason']}); it kept m = "
            f"{row['multiplier']:.5g}")
    text += (f"; the estimated ratio went from {row['estimated_ratio_start']:.3f} to {row['estimated_ratio']:.3f} and "
             f"the true ratio is {row['true_ratio']:.3f}")
    if len(failed):
        text += ". Tolerances that did not converge: " + "; ".join(
            f"{t:g} ({reason})" for t, reason in zip(failed["tolerance"], failed["reason"]))
    return text + "."


def lp_sentence(report: dict[str, Any], candidates: int) -> str:
    """The LP's reach: lists re-ranked, infeasible ones by cause, the utility it keeps; with a
    ``singh_joachims.users`` sample, that its measures are over all lists, the others unchanged."""
    causes = "; ".join(f"{n} {cause}" for cause, n in report["infeasible_by_cause"].items()) or "none"
    share = report["lists_reranked"] / report["lists_total"]
    sample = ""
    if report["lists_reranked"] < report["lists_total"]:
        sample = (f" The other {report['lists_total'] - report['lists_reranked']:,} lists lie outside its seeded sample "
                  "(singh_joachims.users) and keep the ranker's top K: the LP's measures above are over all lists, "
                  "those included, and its time per list is over the sample.")
    return (f"The Singh–Joachims LP re-ranked {report['lists_reranked']:,} of {report['lists_total']:,} lists "
            f"({share:.0%}), each over its top {candidates} candidates; {report['infeasible']} were infeasible "
            f"({causes}) and kept the ranker's order. Its solutions keep {report['mean_utility_share']:.2%} of the "
            f"unconstrained utility on the policy's relevance and mix {report['mean_permutations']:.1f} permutations on "
            "average; fairness inside a short pool is not the ratio over all candidates, which the evaluation measures."
            + sample)


def pareto_sentence(sweep: pd.DataFrame) -> str:
    """Which methods own the points of each Pareto front (settings whose slates are the unreranked
    ones, such as MMR at λ = 1, count as the unreranked list)."""
    parts = []
    for flag, plane in (("front_ild", "NDCG@10 against diversity"), ("front_parity", "NDCG@10 against closeness to parity")):
        front = sweep[sweep[flag] & ~sweep["same_as_before"]]
        counts = front.groupby("policy").size().to_dict()
        owners = ", ".join(f"{NAMES[p]} {n}" for p, n in counts.items()) or "only the unreranked list"
        parts.append(f"{plane}: {owners}")
    return "Pareto fronts (points not dominated by any method's) — " + "; ".join(parts) + "."


def timing_sentence(table: pd.DataFrame, n_lists: int) -> str:
    """The time of each policy extrapolated to ``n_lists`` lists."""
    column = f"seconds_for_{n_lists}"
    frame = table.drop(index="before", errors="ignore").sort_values(column)
    parts = ", ".join(f"{LABEL[name]} {row[column]:.1f} s" for name, row in frame.iterrows())
    return (f"Re-ranking {int(frame['candidates'].iat[0])} candidates to {int(frame['slate'].iat[0])} for "
            f"{n_lists:,} users on this machine (measured on {measured_on(table)}, scaled linearly): {parts}.")


def _ratio_side(row: pd.Series) -> str:
    """``above`` / ``below`` when the ratio's interval lies wholly above / below 1, else ``parity``
    (the point estimate stands in for a missing interval)."""
    ratio = float(row["exposure_ratio"])
    low, high = float(row.get("exposure_ratio_low", np.nan)), float(row.get("exposure_ratio_high", np.nan))
    if not (np.isfinite(low) and np.isfinite(high)):
        low = high = ratio
    return "above" if low > 1 else "below" if high < 1 else "parity"


def movielens_sentences(headline: pd.DataFrame, comparisons: pd.DataFrame, summary: dict[str, Any]) -> list[str]:
    """The policies on MovieLens 100K: the ratio before and after, the NDCG cost, and on which side of
    parity the policy leaves the protected cohort, read from the ratio's interval (near parity when it
    contains 1; "still" under-exposes only when the unreranked list's interval lies below 1)."""
    before = headline.loc["before"]
    before_below = _ratio_side(before) == "below"
    lines = [f"MovieLens 100K ({summary['users_evaluated']:,} users, {summary['directors']:,} directors, "
             f"{summary['mainstream_directors']} mainstream; {summary['protocol']}): unreranked NDCG@10 "
             f"{_interval(before, 'ndcg_at_10')}, ratio {_interval(before, 'exposure_ratio')}."]
    for policy in comparisons.index:
        row, change = headline.loc[policy], comparisons.loc[policy]
        side = {"above": "over-exposes the protected cohort for its held-out merit",
                "below": f"{'still ' if before_below else ''}under-exposes the protected cohort for its held-out merit",
                "parity": "near parity for the protected cohort's held-out merit: the interval contains 1"}[
            _ratio_side(row)]
        lines.append(f"{LABEL[policy][0].upper() + LABEL[policy][1:]}: ratio {_interval(row, 'exposure_ratio')} "
                     f"({side}), NDCG@10 relative loss "
                     f"{change['ndcg_relative_loss']:.1%} [{change['ndcg_relative_loss_low']:.1%}, "
                     f"{change['ndcg_relative_loss_high']:.1%}].")
    return lines


__all__ = ["benchmark_sentence", "lp_sentence", "movielens_sentences", "pareto_sentence", "parity_sentence",
           "policy_sentences", "sweep_sentences", "timing_sentence"]
