"""The notebook's conclusions (``hermes_core.rerank.conclusions``): each sentence's wording follows the
numbers it is given (meets / misses, beats / ties / loses, inside / on the edge)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hermes_core.rerank import conclusions


def bench(**changes: object) -> dict:
    base = {"policy": "parity", "ndcg_relative_loss": 0.002, "ndcg_relative_loss_low": -0.001,
            "ndcg_relative_loss_high": 0.004, "exposure_ratio": 0.99, "exposure_ratio_low": 0.95,
            "exposure_ratio_high": 1.04, "before_exposure_ratio": 0.7, "max_ndcg_loss": 0.05, "ratio_low": 0.8,
            "ratio_high": 1.25, "ndcg_within_target": True, "ratio_within_target": True,
            "ndcg_target_verdict": "meets (interval inside)", "ratio_target_verdict": "meets (interval inside)",
            "before_ratio_within_target": False}  # fmt: skip
    return {**base, **changes}


def test_benchmark_sentence_follows_both_criteria_and_the_unreranked_ratio() -> None:
    met = conclusions.benchmark_sentence(bench())
    assert "meets the target (both intervals inside)" in met and "0.20%" in met and "inside [0.8, 1.25]" in met
    assert "0.700, outside the band" in met
    missed = conclusions.benchmark_sentence(bench(ndcg_relative_loss=0.08, ndcg_relative_loss_low=0.06,
                                                  ndcg_relative_loss_high=0.1, ndcg_within_target=False,
                                                  ndcg_target_verdict="misses (interval outside)"))
    assert "misses the target" in missed and "point beyond 5%; misses (interval outside)" in missed
    trivial = conclusions.benchmark_sentence(bench(before_exposure_ratio=0.85, before_ratio_within_target=True))
    assert "already lies inside the band" in trivial and "nearer to parity" in trivial


def test_benchmark_judges_each_criterion_on_its_interval() -> None:
    from hermes_core.rerank.evaluation import interval_verdict

    assert interval_verdict(0.01, 0.04, upper=0.05) == "meets (interval inside)"
    assert interval_verdict(0.03, 0.07, upper=0.05) == "inconclusive (interval crosses)"
    assert interval_verdict(0.06, 0.07, upper=0.05) == "misses (interval outside)"
    assert interval_verdict(0.7, 0.85, 0.8, 1.25) == "inconclusive (interval crosses)"
    assert interval_verdict(1.3, 1.4, 0.8, 1.25) == "misses (interval outside)"
    assert interval_verdict(np.nan, 0.1, upper=0.05).startswith("inconclusive")
    # both points inside the target, but the loss's interval crosses 5%: not "meets"
    crossing = conclusions.benchmark_sentence(bench(ndcg_relative_loss=0.04, ndcg_relative_loss_low=0.02,
                                                    ndcg_relative_loss_high=0.07,
                                                    ndcg_target_verdict=interval_verdict(0.02, 0.07, upper=0.05)))
    assert "is inconclusive against the target" in crossing and "meets the target" not in crossing
    assert "point within 5%; inconclusive (interval crosses)" in crossing
    # the ratio's point is inside the band but its interval lies... partly outside: inconclusive too
    ratio = conclusions.benchmark_sentence(bench(exposure_ratio=0.82, exposure_ratio_low=0.75, exposure_ratio_high=0.9,
                                                 ratio_target_verdict=interval_verdict(0.75, 0.9, 0.8, 1.25)))
    assert "is inconclusive against the target" in ratio and "point inside [0.8, 1.25]; inconclusive" in ratio
    # one criterion outside decides: misses, whatever the other
    both = conclusions.benchmark_sentence(bench(ndcg_target_verdict="inconclusive (interval crosses)",
                                                ratio_target_verdict="misses (interval outside)"))
    assert "misses the target (an interval outside)" in both


def comparisons(diff: float, low: float, high: float) -> pd.DataFrame:
    row = {"ndcg_at_10_diff": diff, "ndcg_at_10_diff_low": low, "ndcg_at_10_diff_high": high,
           "ild_diff": 0.01, "ild_diff_low": 0.005, "ild_diff_high": 0.02, "expected_clicks_diff": np.nan,
           "expected_clicks_diff_low": np.nan, "expected_clicks_diff_high": np.nan, "ndcg_relative_loss": -diff / 0.5,
           "ndcg_relative_loss_low": -high / 0.5, "ndcg_relative_loss_high": -low / 0.5}  # fmt: skip
    return pd.DataFrame([row], index=pd.Index(["mmr"], name="policy"))


def headline() -> pd.DataFrame:
    values = {"label": ["before", "mmr lam=0.8"], "ndcg_at_10": [0.5, 0.49], "ild": [0.6, 0.7],
              "exposure_ratio": [0.8, 0.82], "exposure_gini": [0.6, 0.61], "expected_clicks": [np.nan, np.nan]}
    return pd.DataFrame(values, index=pd.Index(["before", "mmr"], name="policy"))


def test_policy_sentences_state_the_verdict_of_the_paired_interval() -> None:
    loses = conclusions.policy_sentences(headline(), comparisons(-0.01, -0.015, -0.005))
    assert "MMR loses to the unreranked list on NDCG@10" in loses[1] and "relative loss of 2.0%" in loses[1]
    ties = conclusions.policy_sentences(headline(), comparisons(-0.01, -0.02, 0.001))
    assert "MMR ties with the unreranked list on NDCG@10" in ties[1]
    assert "MMR beats the unreranked list on intra-list diversity" in ties[1]
    assert "expected clicks" not in ties[1]  # no click model: no clicks sentence


def test_sweep_sentences_say_where_the_operating_point_lies() -> None:
    edges = pd.DataFrame({"operating_value": [0.8, 1.0], "sweep_min": [0.0, 0.5], "sweep_max": [1.0, 1.0],
                          "on_edge": [False, True], "points": [5, 3], "points_that_act": [4, 3]},
                         index=pd.Index(["mmr", "fair"], name="policy"))  # fmt: skip
    sweep = pd.DataFrame({"policy": ["before", "mmr", "mmr", "mmr"], "value": [np.nan, 1.0, 0.8, 0.5],
                          "ndcg_at_10": [0.5, 0.5, 0.48, 0.4], "ild": [0.6, 0.6, 0.65, 0.8]})
    lines = conclusions.sweep_sentences(edges, sweep, 0.05)
    assert "lies inside the sweep [0, 1]" in lines[0] and "lies on an edge of the sweep [0.5, 1]" in lines[1]
    # losses: 0 at 1, 4% at 0.8, 20% at 0.5 -> within 5% from 1 down to 0.8
    assert "at every λ of the sweep from 1 down to λ = 0.8" in lines[2] and "the next, λ = 0.5, loses 20.0%" in lines[2]
    # a loss that is not monotone in lambda: 0.3 is within 5% again, but 0.5 is not, so nothing below 0.8 is claimed
    bumpy = pd.concat([sweep, pd.DataFrame({"policy": ["mmr"], "value": [0.3], "ndcg_at_10": [0.49], "ild": [0.9]})])
    line = conclusions.sweep_sentences(edges, bumpy, 0.05)[2]
    assert "down to λ = 0.8" in line and "λ = 0.3" not in line
    top_only = sweep.assign(ndcg_at_10=[0.5, 0.5, 0.4, 0.49])
    line = conclusions.sweep_sentences(edges, top_only, 0.05)[2]
    assert "at λ = 1, the top of its sweep" in line and "the next, λ = 0.8, loses 20.0%" in line


def test_pareto_sentence_counts_only_points_that_change_the_slates() -> None:
    sweep = pd.DataFrame({"policy": ["before", "mmr", "mmr", "parity"], "front_ild": [True, True, True, False],
                          "front_parity": [True, True, False, True], "same_as_before": [True, True, False, False]})
    text = conclusions.pareto_sentence(sweep)
    assert "NDCG@10 against diversity: MMR (λ) 1;" in text
    assert "closeness to parity: exposure parity (tolerance) 1" in text


def ml_headline(before: tuple[float, float, float], after: tuple[float, float, float]) -> pd.DataFrame:
    ratio, low, high = zip(before, after)
    values = {"label": ["before", "parity tolerance=0.02"], "ndcg_at_10": [0.3, 0.29], "ndcg_at_10_low": [0.28, 0.27],
              "ndcg_at_10_high": [0.32, 0.31], "exposure_ratio": list(ratio), "exposure_ratio_low": list(low),
              "exposure_ratio_high": list(high)}  # fmt: skip
    return pd.DataFrame(values, index=pd.Index(["before", "parity"], name="policy"))


def test_movielens_side_of_parity_is_read_from_the_interval() -> None:
    change = pd.DataFrame([{"ndcg_relative_loss": 0.03, "ndcg_relative_loss_low": 0.01, "ndcg_relative_loss_high": 0.05}],
                          index=pd.Index(["parity"], name="policy"))
    summary = {"users_evaluated": 943, "directors": 1131, "mainstream_directors": 226, "protocol": "hold-out"}

    def line(before: tuple, after: tuple) -> str:
        return conclusions.movielens_sentences(ml_headline(before, after), change, summary)[1]

    # point above 1 but the interval contains 1: near parity, not "over-exposes"
    near = line((0.6, 0.55, 0.65), (1.05, 0.97, 1.12))
    assert "near parity" in near and "over-exposes" not in near
    # point below 1, interval containing 1: near parity, not "still under-exposes"
    assert "near parity" in line((0.6, 0.55, 0.65), (0.95, 0.9, 1.01))
    assert "over-exposes the protected cohort" in line((0.6, 0.55, 0.65), (1.2, 1.1, 1.3))
    # "still" only when the unreranked list's interval lies below 1
    still = line((0.6, 0.55, 0.65), (0.8, 0.75, 0.85))
    assert "still under-exposes" in still
    crossing_before = line((0.95, 0.85, 1.05), (0.8, 0.75, 0.85))
    assert "under-exposes" in crossing_before and "still" not in crossing_before


def test_parity_sentence_gives_each_failed_tolerances_reason() -> None:
    convergence = pd.DataFrame({
        "tolerance": [0.05, 0.005], "operating_point": [True, False], "multiplier": [1.2, 1.3],
        "log_boost": [0.18, 0.26], "boosted_cohort": ["independent", "independent"], "evaluations": [8, 60],
        "converged": [True, False], "reason": ["converged", "max_iterations reached"],
        "estimated_ratio_start": [0.7, 0.7], "estimated_ratio": [1.01, 0.99], "true_ratio": [0.98, 0.97]})
    text = conclusions.parity_sentence(convergence)
    assert "did not converge: 0.005 (max_iterations reached)" in text and "jumps" not in text


def test_lp_sentence_says_when_its_measures_include_lists_outside_its_sample() -> None:
    report = {"lists_reranked": 50, "lists_total": 200, "infeasible": 0, "infeasible_by_cause": {},
              "mean_utility_share": 0.98, "mean_permutations": 3.0}
    assert "The other 150 lists lie outside its seeded sample" in conclusions.lp_sentence(report, 30)
    assert "outside its seeded sample" not in conclusions.lp_sentence({**report, "lists_reranked": 200}, 30)
