"""Sentences on the parity table, the reward model, the slate study and the gate's error rates.

Each function turns numbers the notebook shows into a sentence whose claim follows from them (a
mean within its Monte-Carlo error, an interval that excludes a value); they compute nothing new.
The older parts of the stage have theirs in :mod:`hermes_core.ope.conclusions`.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd
from scipy import stats

from hermes_core.ope.calibration import CalibrationReport
from hermes_core.ope.gate_error_rates import CHAMPION, GateErrorRates
from hermes_core.ope.open_bandit import PUBLISHED_BTS_FROM_RANDOM_ALL, OpenBanditExperimentResult
from hermes_core.ope.reward_model import RewardModelCrossFit
from hermes_core.ope.slate_study import SlateStudy

SLATE_NAMES: dict[str, str] = {"iips": "IIPS", "rips": "RIPS", "cascade-dr": "Cascade-DR", "sips": "SIPS",
                               "pi": "PseudoInverse"}  # fmt: skip


def parity_table(parity: OpenBanditExperimentResult) -> pd.DataFrame:
    """The parity run beside OBP's published table: per estimator our mean, std and Monte-Carlo
    standard error of the mean (``mc_se``), the published mean and std, the difference and
    ``|difference| / mc_se``."""
    summary = parity.summary()
    rows = {}
    for name, (published_mean, published_std) in PUBLISHED_BTS_FROM_RANDOM_ALL.items():
        if name not in summary:
            continue
        ours = summary[name]
        difference = ours["mean"] - published_mean
        rows[name] = {"mean": ours["mean"], "std": ours["std"], "mc_se": ours["mc_se"],
                      "published_mean": published_mean, "published_std": published_std,
                      "difference": difference,
                      "difference_in_mc_se": abs(difference) / ours["mc_se"] if ours["mc_se"] > 0 else math.nan}  # fmt: skip
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("estimator")


def parity_sentence(parity: OpenBanditExperimentResult, table: pd.DataFrame) -> str:
    """Which estimators reproduce the published mean exactly (to 6 decimals), which within one
    Monte-Carlo standard error, and which not."""
    exact = [name for name, row in table.iterrows() if abs(row["difference"]) < 5e-7]
    within = [name for name, row in table.iterrows()
              if name not in exact and row["difference_in_mc_se"] <= 1.0]  # fmt: skip
    beyond = [name for name in table.index if name not in exact and name not in within]
    parts = [f"Under OBP's own protocol ({parity.n_runs} runs), "]
    if exact:
        parts.append(f"{', '.join(exact)} reproduce the published mean relative error to six decimals")
    if within:
        gap = table.loc[within, "difference_in_mc_se"].max()
        parts.append(f"{'; ' if exact else ''}{', '.join(within)} land within {gap:.2f} Monte-Carlo standard "
                     "errors of theirs")
    if beyond:
        parts.append(f"; {', '.join(beyond)} differ by more than one Monte-Carlo standard error")
    return "".join(parts) + "."


def chosen_c_counts(values: np.ndarray | list[float]) -> dict[str, int]:
    """How often each :math:`C` was chosen, values printed with ``:g``, in increasing order."""
    finite = [float(v) for v in np.asarray(values, dtype=float).ravel() if math.isfinite(v)]
    return {f"{value:g}": count for value, count in sorted(Counter(finite).items())}


def reward_model_sentence(model: str, calibration: CalibrationReport, fit: RewardModelCrossFit | None,
                          where: str) -> str:
    """The reward model's calibration on one log and, for ``logistic-cv``, the :math:`C` it chose
    (and whether that is the edge of its grid)."""
    skill = calibration.log_loss_skill
    verdict = ("removes part of the constant click rate's log-loss" if skill > 0 else
               "does no better than the constant click rate")  # fmt: skip
    text = (f"The reward model ({model}) on {where}: log-loss {calibration.log_loss:.5f} against "
            f"{calibration.base_rate_log_loss:.5f} for the constant click rate (skill {skill:+.3f}: it {verdict}), "
            f"expected calibration error {calibration.expected_calibration_error:.4f}, Brier {calibration.brier:.5f}")
    if fit is not None and fit.c_grid:
        counts = chosen_c_counts(fit.chosen_c)
        text += f"; cross-validated log-loss chose C = {', '.join(f'{c} ({n}x)' for c, n in counts.items())}"
        chosen = [float(c) for c in counts]
        if chosen and all(c == min(fit.c_grid) for c in chosen):
            text += (f", the smallest C of the grid: the regularisation that shrinks the model towards the constant "
                     f"click rate wins, i.e. the features carry almost no click signal on this log")
        elif chosen and all(c == max(fit.c_grid) for c in chosen):
            text += ", the largest C of the grid (extend `ope.estimators.reward_model_cv_grid` upwards)"
    return text + "."


def world_reward_model_sentence(table: pd.DataFrame, model: str) -> str:
    """The reward model over the world study's logs: mean calibration and the :math:`C` chosen."""
    if table.empty:
        return f"No world log was fitted, so the reward model ({model}) has no world calibration."
    chosen = Counter(c for text in table["chosen_c"] for c in str(text).split())
    text = (f"Over the world study's {len(table)} logs the reward model ({model}) has log-loss skill "
            f"{table['log_loss_skill'].mean():+.3f} (range {table['log_loss_skill'].min():+.3f} to "
            f"{table['log_loss_skill'].max():+.3f}) and expected calibration error "
            f"{table['expected_calibration_error'].mean():.4f} on average")
    if chosen:
        text += "; C chosen per fold: " + ", ".join(f"{c} ({n}x)" for c, n in sorted(chosen.items(),
                                                                                 key=lambda kv: float(kv[0])))
    return text + "."


def slate_sentences(study: SlateStudy, main_target: str) -> list[str]:
    """Per click model, on ``main_target``: each estimator's bias with its standard error over logs
    (a bias is called one only when it is further from 0 than the two-sided 95% Student-t quantile
    with ``n_logs - 1`` degrees of freedom times its standard error: with few logs the standard
    error itself is uncertain) and which estimator has the smallest RMSE."""
    summary = study.summary()
    lines = []
    for model in dict.fromkeys(summary.index.get_level_values("click_model")):
        if (model, main_target) not in summary.droplevel("estimator").index:
            continue
        part = summary.xs((model, main_target), level=("click_model", "target"))
        n_logs = int(part["n_logs"].iloc[0])
        t_quantile = float(stats.t(max(n_logs - 1, 1)).ppf(0.975))
        biased = [SLATE_NAMES.get(n, n) for n, row in part.iterrows()
                  if math.isfinite(row["bias_se"]) and abs(row["bias"]) > t_quantile * row["bias_se"]]  # fmt: skip
        best = part["relative_rmse"].idxmin()
        bias_text = ", ".join(f"{SLATE_NAMES.get(n, n)} {row['bias'] * 1e3:+.2f} ± {row['bias_se'] * 1e3:.2f}"
                              for n, row in part.iterrows())  # fmt: skip
        verdict = (f"biased beyond {t_quantile:.2f} standard errors (t, {n_logs - 1} df): {', '.join(biased)}" if biased
                   else f"no estimator's bias is beyond {t_quantile:.2f} standard errors (t, {n_logs - 1} df)")  # fmt: skip
        lines.append(f"Slate estimators, {model} clicks, target {main_target} ({n_logs} logs): bias (10⁻³ clicks per "
                     f"impression, ± SE over logs) {bias_text}; {verdict}; smallest RMSE: "
                     f"{SLATE_NAMES.get(best, best)} ({part.loc[best, 'relative_rmse']:.1%} of the true value).")
    return lines


def oracle_bias_sentences(expected: pd.DataFrame) -> list[str]:
    """Per click model: each slate estimator's exact bias on the main target (its expectation with the
    clicks replaced by their probabilities, :func:`~hermes_core.ope.slate_study.expected_estimates`),
    in percent of the truth, with its Monte Carlo error; a bias is called one beyond 3 such errors."""
    lines = []
    for model, part in expected.groupby("click_model", sort=False):
        part = part.set_index("estimator")
        text = ", ".join(f"{SLATE_NAMES.get(n, n)} {100 * row['relative_bias']:+.1f}% ± "
                         f"{100 * row['expected_mc_se'] / row['truth']:.1f}%" for n, row in part.iterrows())  # fmt: skip
        biased = [SLATE_NAMES.get(n, n) for n, row in part.iterrows() if abs(row["bias"]) > 3 * row["expected_mc_se"]]
        lines.append(f"Oracle bias, {model} clicks, target {part['target'].iat[0]} (expected clicks over the logging "
                     f"policy's slates, no click noise): {text}; biased beyond 3 Monte Carlo errors: "
                     f"{', '.join(biased) if biased else 'none'}.")
    return lines


def gate_error_sentences(errors: GateErrorRates) -> list[str]:
    """The gate's promote rate per challenger over the logs, and the two error rates with their
    Wilson intervals, set against the one-sided level the interval promises."""
    summary = errors.summary()
    lines = []
    for name, row in summary.iterrows():
        lines.append(f"Gate over {int(row['n_logs'])} independent logs of {errors.n_requests:,} requests, challenger "
                     f"{name} (mean true uplift {row['true_uplift_mean']:+.4f}): promoted on "
                     f"{row['promote_rate']:.0%} of them [{row['promote_rate_low']:.0%}, {row['promote_rate_high']:.0%}]"
                     + ("" if name != CHAMPION else " (the A/A control: the uplift is exactly 0 on every round)") + ".")
    real = summary.drop(index=CHAMPION, errors="ignore")
    not_better = real["n_not_better"].sum()
    better = real["n_better"].sum()
    table = errors.decisions[errors.decisions["challenger"] != CHAMPION]
    promoted = table["decision"].eq("promote").to_numpy()
    is_better = table["true_uplift"].astype(float).to_numpy() > 0
    level = float(real["one_sided_level"].iloc[0]) if len(real) else math.nan
    if not_better:
        rate = float(promoted[~is_better].mean())
        lines.append(f"Promoting a challenger that is not better happened in {rate:.1%} of {int(not_better)} such "
                     f"(log, challenger) pairs; the gate's one-sided test promises at most {level:.1%}"
                     + (" — within it." if rate <= level else " — above it."))
    if better:
        lines.append(f"Keeping the champion against a truly better challenger happened in "
                     f"{float((~promoted[is_better]).mean()):.1%} of {int(better)} pairs: the price of that caution at "
                     f"{errors.n_requests:,} requests per log.")
    return lines


__all__ = ["chosen_c_counts", "gate_error_sentences", "oracle_bias_sentences", "parity_sentence", "parity_table", "reward_model_sentence",
           "slate_sentences", "world_reward_model_sentence"]
