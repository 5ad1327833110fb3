"""What the OPE notebook may conclude, computed: paired verdicts, ties of difficulty measures,
the Open Bandit agreement check and the gate's coverage of the true uplift.

Every "A beats / ties with / loses to B" sentence goes through
:mod:`hermes_core.evaluation.verdict`: the per-log (or per-run) errors of A and B on the *same*
logs are paired, and the percentile bootstrap interval of their mean difference decides
(:func:`~hermes_core.evaluation.bootstrap.paired_bootstrap`, ``higher_is_better=False`` since an
error is compared). Everything else is stated as a point estimate, without a verdict.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from hermes_core.evaluation.bootstrap import paired_bootstrap
from hermes_core.evaluation.verdict import Comparison, coverage_sentence
from hermes_core.ope.open_bandit import LargestRowInfluence, OpenBanditExperimentResult
from hermes_core.ope.shadow import GateReport
from hermes_core.ope.world_experiments import WorldStudy

PUBLISHED_N_RUNS = 30
"""Bootstrap runs behind OBP's published table (``--n_runs 30``, see
:data:`hermes_core.ope.open_bandit.PUBLISHED_SOURCE`)."""

DISPLAY_NAMES: dict[str, str] = {
    "dm": "DM", "ipw": "IPS", "snipw": "SNIPS", "dr": "DR", "sndr": "SNDR", "switch-dr": "Switch-DR",
    "dr-os": "DRos", "switch-dr-slope": "Switch-DR (SLOPE)", "dr-os-slope": "DRos (SLOPE)",
    "dr-clip": "DR-clip", "ipw-subgauss": "SG-IPS", "ipw-clip-slope": "IPS clipped (SLOPE)",
    "dr-clip-slope": "DR-clip (SLOPE)", "ipw-subgauss-slope": "SG-IPS (SLOPE)",
}  # fmt: skip


def display_name(estimator: str) -> str:
    """``ipw`` -> ``IPS``, ``ipw-clip@5`` -> ``IPS clipped at 5``; unknown names unchanged."""
    if estimator.startswith("ipw-clip@"):
        return f"IPS clipped at {estimator.removeprefix('ipw-clip@')}"
    return DISPLAY_NAMES.get(estimator, estimator)


# ----------------------------------------------------------------------------- paired verdicts
def per_log_relative_errors(study: WorldStudy, target: str, estimator: str) -> pd.Series:
    """:math:`|\\hat V_r - V_r| / V_r` of ``estimator`` on ``target`` for every fresh log ``r``
    (indexed by resample, sorted), the unit the world study's comparisons pair on."""
    rows = study.estimates[(study.estimates["target"] == target) & (study.estimates["estimator"] == estimator)]
    if rows.empty:
        raise KeyError(f"the world study has no estimates of {estimator!r} on target {target!r}")
    rows = rows.set_index("resample").sort_index()
    return (rows["estimate"] - rows["truth"]).abs() / rows["truth"].abs()


def compare_on_logs(study: WorldStudy, target: str, a: str, b: str, *, level: float, n_resamples: int,
                    seed: int) -> Comparison | None:
    """Paired comparison of the relative errors of estimators ``a`` and ``b`` on ``target``
    over the study's logs: :math:`\\bar d = \\frac1R\\sum_r (e^a_r - e^b_r)` with its paired
    bootstrap interval at ``level`` (lower error is better). ``None`` with fewer than 2 logs,
    where no interval exists."""
    errors_a = per_log_relative_errors(study, target, a)
    errors_b = per_log_relative_errors(study, target, b).reindex(errors_a.index)
    if len(errors_a) < 2:
        return None
    return paired_bootstrap(errors_a.to_numpy(), errors_b.to_numpy(), level=level, n_bootstrap=n_resamples,
                            seed=seed, higher_is_better=False)  # fmt: skip


def compare_runs(errors_a: np.ndarray, errors_b: np.ndarray, *, level: float, n_resamples: int,
                 seed: int) -> Comparison | None:
    """The same paired comparison over Open Bandit bootstrap runs (run ``r`` of every estimator
    uses the same resample of the log); ``None`` with fewer than 2 runs."""
    if np.asarray(errors_a).size < 2:
        return None
    return paired_bootstrap(errors_a, errors_b, level=level, n_bootstrap=n_resamples, seed=seed,
                            higher_is_better=False)  # fmt: skip


def comparison_sentence(comparison: Comparison | None, a: str, b: str, measure: str) -> str:
    """The verdict sentence (differences in percentage points of relative error), or, without an
    interval, a plain statement that no verdict is possible."""
    if comparison is None:
        return f"no verdict between {a} and {b} on {measure}: fewer than 2 paired units"
    return comparison.sentence(a, b, measure, digits=2, percent=True)


def verdict_counts(study: WorldStudy, targets: Sequence[str], a: str, b: str, *, level: float,
                   n_resamples: int, seed: int) -> dict[str, list[str]]:
    """For each target, the verdict of :func:`compare_on_logs` (``a`` against ``b``); the targets
    grouped by verdict (keys ``beats``, ``ties with``, ``loses to``; empty lists kept)."""
    counts: dict[str, list[str]] = {"beats": [], "ties with": [], "loses to": []}
    for target in targets:
        comparison = compare_on_logs(study, target, a, b, level=level, n_resamples=n_resamples, seed=seed)
        if comparison is not None:
            counts[comparison.verdict].append(target)
    return counts


def counts_sentence(counts: Mapping[str, list[str]], a: str, b: str) -> str:
    """``SNIPS beats IPS on 2, ties with it on 5 and loses to it on 0 of 7 targets``."""
    total = sum(len(v) for v in counts.values())
    return (f"{a} beats {b} on {len(counts['beats'])}, ties with it on {len(counts['ties with'])} and loses "
            f"to it on {len(counts['loses to'])} of {total} targets")


# ----------------------------------------------------------------------------- difficulty measures
def spearman_step(n: int) -> float:
    """Resolution of Spearman's :math:`\\rho = 1 - 6\\sum_i d_i^2 / (n(n^2-1))` over ``n`` items
    without tied ranks: :math:`\\sum_i d_i^2 = 2\\sum_i r_i^2 - 2\\sum_i r_i s_i` is even, so
    :math:`\\rho` moves in steps of :math:`12/(n(n^2-1))`, twice the :math:`6/(n(n^2-1))` of one
    unit of :math:`\\sum d^2`. One step is what swapping two targets that are neighbours in both
    rankings changes: the smallest disagreement the statistic can show."""
    if n < 2:
        raise ValueError(f"Spearman's rho needs at least 2 targets, got {n}")
    return 12.0 / (n * (n * n - 1))


def strongest_measures(rho: Mapping[str, float], n_targets: int) -> list[str]:
    """The difficulty measures tied for the largest :math:`|\\rho|` with the error.

    Two measures tie when their :math:`|\\rho|` differ by at most one :func:`spearman_step`: a
    single swap of two neighbouring targets (which noise in two near-equal errors produces) moves
    :math:`\\rho` by that much, so a smaller gap says nothing about which measure ranks better.
    NaN correlations (a constant measure) never win. Returned in the order of ``rho``.
    """
    finite = {label: abs(value) for label, value in rho.items() if not math.isnan(value)}
    if not finite:
        return []
    best = max(finite.values())
    tolerance = spearman_step(n_targets) + 1e-9
    return [label for label, value in finite.items() if best - value <= tolerance]


def difficulty_sentence(rho: Mapping[str, float], n_targets: int, error_of: str = "IPS") -> str:
    """The correlations and which measure ranks the targets' difficulty best, or that several tie."""
    listed = "; ".join(f"{value:+.2f} with the {label}" for label, value in rho.items())
    strongest = strongest_measures(rho, n_targets)
    step = spearman_step(n_targets)
    if len(strongest) == 1:
        verdict = (f"The {strongest[0]} ranks the targets' difficulty best here (its |ρ| exceeds the others' by "
                   f"more than one step of ρ, {step:.3f} with {n_targets} targets).")
    elif strongest:
        verdict = (f"The {' and the '.join(strongest)} tie for ranking the targets' difficulty: their |ρ| differ by "
                   f"at most one step of ρ ({step:.3f} with {n_targets} targets, what swapping two neighbouring "
                   "targets changes), so these targets cannot tell them apart.")
    else:
        verdict = "No measure varies across the targets, so none ranks their difficulty."
    return (f"the Spearman correlation of {error_of}'s mean relative error with each difficulty measure is {listed} "
            f"(negative: the error rises as the measure falls). {verdict}")


# ----------------------------------------------------------------------------- Open Bandit
def obd_agreement(ours_mean: pd.Series, ours_std: pd.Series, n_runs: int, published_mean: pd.Series,
                  published_std: pd.Series, published_runs: int = PUBLISHED_N_RUNS) -> pd.DataFrame:
    """Whether our mean relative error and OBP's published one agree within two standard errors.

    Each side's standard error is that of its **mean** over bootstrap runs,
    :math:`s / \\sqrt{n_\\text{runs}}` (not the run-to-run spread :math:`s`); the two are
    independent, so the standard error of the difference is
    :math:`\\sqrt{s_\\text{ours}^2/n_\\text{ours} + s_\\text{OBP}^2/n_\\text{OBP}}` and the two
    agree when :math:`|\\bar e_\\text{ours} - \\bar e_\\text{OBP}| \\le 2\\,\\mathrm{SE}`. Rows:
    the estimators with a published value; columns ``ours``, ``ours_se``, ``published``,
    ``published_se``, ``difference``, ``difference_se``, ``within_2_se``.
    """
    if n_runs < 1 or published_runs < 1:
        raise ValueError(f"run counts must be positive, got {n_runs} and {published_runs}")
    published = published_mean.dropna()
    names = published.index
    table = pd.DataFrame({
        "ours": ours_mean.loc[names],
        "ours_se": ours_std.loc[names] / math.sqrt(n_runs),
        "published": published,
        "published_se": published_std.loc[names] / math.sqrt(published_runs),
    })  # fmt: skip
    table["difference"] = table["ours"] - table["published"]
    table["difference_se"] = np.sqrt(table["ours_se"] ** 2 + table["published_se"] ** 2)
    table["within_2_se"] = table["difference"].abs() <= 2 * table["difference_se"]
    return table


def agreement_sentence(agreement: pd.DataFrame, n_runs: int, published_runs: int = PUBLISHED_N_RUNS) -> str:
    """How many estimators' means agree with the published ones within two standard errors."""
    close = [display_name(name) for name in agreement.index[agreement["within_2_se"]]]
    return (f"our mean and OBP's lie within two standard errors of their difference for {len(close)} of "
            f"{len(agreement)} estimators ({', '.join(close) or 'none'}); each mean's standard error is its "
            f"run-to-run standard deviation over √{n_runs} runs (ours) or √{published_runs} (OBP's), and the two "
            "are combined as √(SE_ours² + SE_OBP²)")


# ----------------------------------------------------------------------------- gate
def gate_sentence(name: str, report: GateReport) -> str:
    """The decision, whether it was right, and whether the uplift interval holds the true uplift."""
    d = report.decision
    right = "right" if report.right else "WRONG"
    covered = coverage_sentence(report.true_uplift, d.ci_low, d.ci_high, "uplift")
    return (f"Gate, challenger `{name}`: DR uplift {d.uplift:+.4f} → **{d.decision}**, so the decision was {right}; "
            f"{covered} ({d.level:.0%} {d.method} interval).")


# ----------------------------------------------------------------------------- the notebook's §9
VERDICT_RESAMPLES = 2000
"""Bootstrap resamples of every paired verdict (cheap: the units are logs or runs, not rounds)."""

DIFFICULTY_MEASURES: tuple[tuple[str, str], ...] = (
    ("kl", "KL divergence from the logging policy"),
    ("pscore_p01_played", "1% quantile of the logging propensity of what the target plays"),
    ("effective_sample_share", "effective sample share"),
)
"""Columns of :func:`hermes_core.ope.tables.sweep_table` that measure how hard a target is."""


def difficulty_correlations(sweep: pd.DataFrame, estimator: str = "ipw") -> dict[str, float]:
    """Spearman's :math:`\\rho` of ``estimator``'s mean relative error with each difficulty
    measure over the sweep's targets, keyed by the measure's label."""
    column = f"relative_ee_mean[{estimator}]"
    return {label: float(sweep[[measure, column]].corr(method="spearman").iloc[0, 1])
            for measure, label in DIFFICULTY_MEASURES}  # fmt: skip


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


def _mean_and_se(values: pd.Series) -> tuple[float, float]:
    se = float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else math.nan
    return float(values.mean()), se


def _bias_line(study: WorldStudy, target: str) -> str:
    """DM's and DR's bias (mean ± standard error over the logs, 10⁻³ units) and how far DM's
    estimate follows the truth across targets."""
    estimates = study.estimates

    def errors_of(name: str) -> pd.Series:
        rows = estimates[(estimates["target"] == target) & (estimates["estimator"] == name)]
        return rows["estimate"] - rows["truth"]

    dm_bias, dm_se = _mean_and_se(errors_of("dm"))
    dr_bias, dr_se = _mean_and_se(errors_of("dr"))
    dm_span = float(estimates[estimates["estimator"] == "dm"].groupby("target")["estimate"].mean().agg(np.ptp))
    truth = study.target_summary()["truth"]
    truth_span = float(truth.max() - truth.min())
    significant = abs(dm_bias) > 2 * dm_se
    where = "more than two standard errors from 0" if significant else "within two standard errors of 0"
    share_removed = 1 - abs(dr_bias) / abs(dm_bias) if dm_bias else float("nan")
    if not significant:
        removed = ""
    elif share_removed >= 0:
        removed = (f"; its importance-weighted correction of the model's residual removes {share_removed:.0%} of DM's "
                   "bias (point estimates)")
    else:
        removed = f"; its |bias| is {abs(dr_bias) / abs(dm_bias):.1f}× DM's (point estimates)"
    ratio = dm_span / truth_span if truth_span > 0 else float("nan")
    follows = ("far less than" if ratio < 0.5 else "far more than" if ratio > 2 else
               f"{ratio:.1f}× as much as")
    return (f"DM's bias on `{target}` is {1e3 * dm_bias:+.2f} ± {1e3 * dm_se:.2f} × 10⁻³ clicks per impression (mean ± "
            f"standard error over the logs), {where}. DM's mean estimate spans {dm_span:.4f} across the targets, whose "
            f"true values span {truth_span:.4f}: the reward model, fitted on observable features only, moves {follows} "
            f"the truth does. DR's bias is {1e3 * dr_bias:+.2f} ± {1e3 * dr_se:.2f} × 10⁻³{removed}.")


def _logging_line(logging_summary: pd.DataFrame, logging_t: float, n_logs: int) -> str:
    """The logging policy on its own logs: weights exactly 1, IPS = click rate, no bias."""

    def largest(row: str) -> float:  # back from 10⁻³ units to clicks per impression
        return max(abs(logging_summary.loc[row, "min"]), abs(logging_summary.loc[row, "max"])) / 1e3

    weight, rate = largest("mean weight − 1"), largest("IPS − on-policy click rate")
    exact = ("both 0 up to rounding, as weights of exactly 1 require" if max(weight, rate) < 1e-9
             else "not 0 although every weight should be exactly 1: check the propensities")  # fmt: skip
    bias = logging_summary.loc["IPS − truth V of the log"]
    if math.isnan(logging_t):
        verdict = "not testable (its standard error is 0 or there is one log)"
    else:
        verdict = "consistent with no bias" if abs(logging_t) < 2 else "a detectable bias: investigate"
    return (f"Logging policy on its own logs: the largest |mean importance weight − 1| over the logs is {weight:.1e} "
            f"and the largest |IPS − on-policy click rate| {rate:.1e} ({exact}); IPS's mean error "
            f"{bias['mean']:+.2f} ± {bias['standard error']:.2f} × 10⁻³ (t = {logging_t:.2f} over {n_logs} logs) is "
            f"{verdict}.")


def world_conclusions(study: WorldStudy, *, main_target: str, ci_level: float, seed: int,
                      interval_method: str, sweep: pd.DataFrame, clip_table: pd.DataFrame,
                      clip_rmse: pd.DataFrame, logging_summary: pd.DataFrame, logging_t: float,
                      headline: Sequence[str]) -> list[str]:
    """The world study's conclusions, one Markdown bullet each, every number computed here.

    ``logging_summary`` is :func:`hermes_core.ope.tables.logging_check_summary` (10⁻³ units),
    ``sweep`` :func:`~hermes_core.ope.tables.sweep_table`, ``clip_table`` and ``clip_rmse``
    :func:`~hermes_core.ope.tables.clipping_tables`; ``headline`` the seven estimators. Every
    comparison of two estimators is a paired verdict over the logs (:func:`compare_on_logs`).
    """
    t = main_target
    main = study.summary().loc[t]
    targets = study.target_summary()
    verdict = {"level": ci_level, "n_resamples": VERDICT_RESAMPLES, "seed": seed}
    n_logs = study.n_resamples

    def versus(a: str, b: str) -> str:
        comparison = compare_on_logs(study, t, a, b, **verdict)
        return comparison_sentence(comparison, display_name(a), display_name(b), f"relative error on `{t}`")

    seven = main.loc[list(headline), "relative_ee_mean"]
    lines = [
        f"On the world's main target `{t}` (true value {targets.loc[t, 'truth']:.4f} clicks per impression), over "
        f"{n_logs} fresh logs of {study.n_requests:,} requests, the seven estimators' mean relative errors run from "
        f"{seven.min():.2%} ({display_name(seven.idxmin())}) to {seven.max():.2%} ({display_name(seven.idxmax())}). "
        f"Paired over the logs: {versus('dr', 'ipw')}; {versus('dr', 'dm')}. The standard deviation of V̂ − V over "
        f"the logs is {1e3 * main.loc['dr', 'std']:.2f} × 10⁻³ for DR and {1e3 * main.loc['ipw', 'std']:.2f} × 10⁻³ "
        "for IPS.",
        _bias_line(study, t),
        f"The {ci_level:.0%} {interval_method} intervals (request as the resampling unit) covered the truth on "
        + ", ".join(f"{main.loc[name, 'coverage']:.0%} ({display_name(name)})" for name in ("ipw", "dr", "snipw", "sndr"))
        + f" of the logs for `{t}`; with {n_logs} logs one miss moves coverage by {1 / n_logs:.0%}.",
        _logging_line(logging_summary, logging_t, n_logs),
    ]

    weights = targets["mean_weight"].drop("logging", errors="ignore")
    exact = ("all within 2% of 1, as exact propensities require." if (weights - 1).abs().max() < 0.02
             else "some more than 2% from 1, which exact propensities make unlikely: check them.")  # fmt: skip
    lines.append(f"Mean importance weights of the other targets lie between {weights.min():.4f} ({weights.idxmin()}) "
                 f"and {weights.max():.4f} ({weights.idxmax()}): {exact}")

    hardest = sweep["relative_ee_mean[ipw]"].idxmax()
    lines.append(
        f"Stress test: across the {len(sweep)} non-logging targets, "
        f"{difficulty_sentence(difficulty_correlations(sweep, 'ipw'), len(sweep))} The target with the largest IPS "
        f"error is {hardest} ({sweep.loc[hardest, 'relative_ee_mean[ipw]']:.2%}, effective sample share "
        f"{sweep.loc[hardest, 'effective_sample_share']:.1%}, 1% propensity quantile "
        f"{sweep.loc[hardest, 'pscore_p01_played']:.1e})."
    )

    clips = [name for name in clip_table.index if name.startswith("ipw-clip@")]
    if not clips:
        return lines
    strongest = min(clips, key=lambda name: float(name.removeprefix("ipw-clip@")))
    rmse = 1e3 * clip_table["rmse"]
    lines.append(
        f"Clipping and self-normalisation on `{t}` (RMSE over the logs, × 10⁻³ clicks per impression, point "
        f"estimates): IPS {rmse['ipw']:.2f}, {display_name(strongest)} {rmse[strongest]:.2f} (bias "
        f"{1e3 * clip_table.loc[strongest, 'bias']:+.2f}), SNIPS {rmse['snipw']:.2f}, DR {rmse['dr']:.2f}, SNDR "
        f"{rmse['sndr']:.2f}. Paired over the logs: {versus(strongest, 'ipw')}; {versus('snipw', 'ipw')}; "
        f"{versus('sndr', 'dr')}."
    )
    best_clip = clip_rmse[clips].idxmin(axis=1)
    gain = clip_rmse[clips].min(axis=1) / clip_rmse["ipw"]
    on_main = f", on `{t}` {display_name(best_clip[t])} (× {gain[t]:.2f})" if t in best_clip.index and t != hardest else ""
    snips = verdict_counts(study, list(clip_rmse.index), "snipw", "ipw", **verdict)
    sndr = verdict_counts(study, list(clip_rmse.index), "sndr", "dr", **verdict)
    lines.append(
        f"Across targets the clipping threshold with the lowest RMSE moves: on {hardest} it is "
        f"{display_name(best_clip[hardest])} (RMSE × {gain[hardest]:.2f} of plain IPS){on_main} (point estimates). "
        f"Paired over the logs, target by target: {counts_sentence(snips, 'SNIPS', 'IPS')}; "
        f"{counts_sentence(sndr, 'SNDR', 'DR')} (relative error, {ci_level:.0%} intervals)."
    )
    return lines


def obd_conclusions(results: Mapping[str, OpenBanditExperimentResult], table: pd.DataFrame, *, ci_level: float,
                    seed: int) -> list[str]:
    """Open Bandit conclusions: experiment 2 against the published table (agreement within two
    standard errors of the means, rank correlation), DR against IPS paired over runs, and
    experiment 1's lowest error against the runner-up, paired over runs, and the values SLOPE chose
    in each experiment (:func:`slope_choice_sentence`), and the influence of IPS's largest round
    term in experiment 2 (:func:`largest_row_sentence`). ``table`` is
    :func:`hermes_core.ope.tables.obd_table`."""
    verdict = {"level": ci_level, "n_resamples": VERDICT_RESAMPLES, "seed": seed}
    experiment2, experiment1 = results["bts-from-random"], results["random-from-bts"]
    ours, published = table["bts-from-random"], table["published bts-from-random"]
    n_runs = experiment2.n_runs
    agreement = obd_agreement(ours["mean"], ours["std"], n_runs, published["mean"], published["std"])
    rho = float(agreement[["ours", "published"]].corr(method="spearman").iloc[0, 1])
    dr_vs_ips = compare_runs(experiment2.relative_errors["dr"], experiment2.relative_errors["ipw"], **verdict)
    means1 = table["random-from-bts"]["mean"].sort_values()
    first, second = means1.index[0], means1.index[1]
    first_vs_second = compare_runs(experiment1.relative_errors[first], experiment1.relative_errors[second], **verdict)
    return [
        f"Open Bandit, experiment 2 ({n_runs} bootstrap runs): our mean relative errors range from "
        f"{ours['mean'].min():.3f} ({display_name(ours['mean'].idxmin())}) to {ours['mean'].max():.3f} "
        f"({display_name(ours['mean'].idxmax())}), each with a Monte-Carlo standard error of at most "
        f"{ours['mc_se'].max():.3f}; OBP published {agreement['published'].min():.3f} to "
        f"{agreement['published'].max():.3f}. {_sentence_case(agreement_sentence(agreement, n_runs))}. The rank "
        f"correlation of the two columns is {rho:+.2f} over {len(agreement)} estimators. Paired over our runs: "
        f"{comparison_sentence(dr_vs_ips, 'DR', 'IPS', 'relative error')}.",
        f"Open Bandit, experiment 1 (uniform random from the BTS logs): the lowest mean relative error is "
        f"{display_name(first)}'s ({means1.iloc[0]:.3f}), the next {display_name(second)}'s ({means1.iloc[1]:.3f}); "
        f"paired over the runs, "
        f"{comparison_sentence(first_vs_second, display_name(first), display_name(second), 'relative error')}.",
        *(sentence for sentence in map(slope_choice_sentence, (experiment2, experiment1)) if sentence),
        *([largest_row_sentence(experiment2.largest_row)] if experiment2.largest_row is not None else []),
    ]


def largest_row_sentence(largest: LargestRowInfluence) -> str:
    """One row's weight in experiment 2's IPS estimate on the full random log
    (:func:`~hermes_core.ope.open_bandit.largest_row_influence`)."""
    no_click = math.isnan(largest.term_share)
    share = "no click, so no row carries it" if no_click else f"{largest.term_share:.1%} of the estimate"
    return (f"One row's influence (IPS on the full random log, {largest.n_rounds:,} rounds): the largest round term "
            f"(item {largest.action} at position {largest.position}, weight {largest.weight:.2f}) carries {share}; "
            f"one extra copy of that row moves the IPS estimate by {largest.one_copy_shift_over_truth:.2%} of the "
            f"truth V.")


SLOPE_VALUES_LISTED = 3
"""At most this many of the most frequent chosen values are named per estimator; a per-input grid
(quantiles of each resample's weights) makes the values differ slightly from run to run, so the
sentence gives their median and range besides."""


def slope_choice_sentence(result: OpenBanditExperimentResult) -> str | None:
    """What SLOPE chose over the runs of one experiment, per SLOPE-tuned estimator: the median and
    range of the chosen values and the :data:`SLOPE_VALUES_LISTED` most frequent ones with their
    number of runs (every value is in the diagnostics; ``None`` when no estimator was tuned)."""
    counts = result.slope_choice_counts()
    if not counts:
        return None
    parts = []
    for name, values in counts.items():
        chosen = np.repeat([float(v) for v in values], list(values.values()))
        frequent = sorted(values.items(), key=lambda item: (-item[1], float(item[0])))[:SLOPE_VALUES_LISTED]
        parts.append(f"{display_name(name)}: median {np.median(chosen):.3g} (range {chosen.min():.3g} to "
                     f"{chosen.max():.3g}; most often " + ", ".join(f"{float(v):.3g} in {c}" for v, c in frequent)
                     + ")")
    return (f"SLOPE's choice of the hyperparameter over the {result.n_runs} runs of {result.experiment} "
            f"(all values in the diagnostics): " + "; ".join(parts) + ".")


def gate_conclusions(reports: Mapping[str, GateReport]) -> list[str]:
    """One :func:`gate_sentence` per challenger."""
    return [gate_sentence(name, report) for name, report in reports.items()]
