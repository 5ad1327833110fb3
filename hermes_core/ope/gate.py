"""Champion/challenger gate: promote a challenger only when the logs show a clear uplift."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from hermes_core.ope.base import OffPolicyEstimator, RoundTerms
from hermes_core.ope.doubly_robust import DoublyRobust
from hermes_core.ope.intervals import bootstrap_interval, cluster_terms, normal_interval

Decision = Literal["promote", "keep champion"]


@dataclass(frozen=True)
class GateDecision:
    """Outcome of :func:`uplift_gate`: the uplift :math:`\\hat V(\\text{challenger}) -
    \\hat V(\\text{champion})`, its interval at ``level``, and the decision."""

    uplift: float
    ci_low: float
    ci_high: float
    decision: Decision
    level: float
    n_rounds: int
    method: Literal["bootstrap", "normal"]
    champion_value: float
    challenger_value: float


def uplift_gate(
    *,
    reward: object,
    action: object,
    pscore: object,
    champion_action_dist: object,
    challenger_action_dist: object,
    estimated_rewards_by_reg_model: object,
    position: object | None = None,
    level: float = 0.95,
    method: Literal["bootstrap", "normal"] = "bootstrap",
    n_bootstrap: int = 1000,
    seed: int = 0,
    estimator: OffPolicyEstimator | None = None,
    groups: object | None = None,
) -> GateDecision:
    """Estimate :math:`\\Delta = V(\\pi_{\\text{chal}}) - V(\\pi_{\\text{champ}})` on one log and
    decide.

    Both policies are evaluated on the *same* rounds with the same reward model, so the uplift is
    the mean of per-round differences
    :math:`\\delta_i = \\Gamma_i(\\pi_{\\text{chal}}) - \\Gamma_i(\\pi_{\\text{champ}})` of DR
    round rewards (Dudík et al., 2014, Eq. 2.3). The interval is a paired one: a bootstrap of the
    :math:`\\delta_i` (the two policies always see the same resample) or
    :math:`\\bar\\delta \\pm z\\, s_\\delta/\\sqrt n`. The bootstrap is the same paired bootstrap
    as :func:`hermes_core.evaluation.bootstrap.paired_bootstrap` on the per-unit differences: the
    percentile interval of the resampled means of :math:`\\delta_u` drawn by the same
    :func:`~hermes_core.evaluation.bootstrap.resampled_means` (same seed, same resamples, same
    quantiles); it runs through :func:`~hermes_core.ope.intervals.bootstrap_interval` because the
    differences are :class:`~hermes_core.ope.base.RoundTerms`, possibly clustered (``groups``).
    The decision is ``"promote"`` only when the interval's lower bound is above 0, otherwise
    ``"keep champion"``: a one-sided test at level :math:`(1 + \\text{level})/2`.

    ``estimator`` (default :class:`~hermes_core.ope.doubly_robust.DoublyRobust`) may be any
    non-self-normalised estimator, whose round rewards add up to the estimate.

    ``groups`` (n,), e.g. the request of each slot of a slate, makes the interval a cluster one
    (:func:`~hermes_core.ope.intervals.cluster_terms`): the :math:`\\delta_i` are averaged within
    each group (all groups must have the same size) and the groups are resampled. The uplift
    itself does not change.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    chosen = DoublyRobust() if estimator is None else estimator
    logged = {"reward": reward, "action": action, "pscore": pscore, "position": position,
              "estimated_rewards_by_reg_model": estimated_rewards_by_reg_model}  # fmt: skip
    terms: list[RoundTerms] = []
    for action_dist in (challenger_action_dist, champion_action_dist):
        term = chosen.round_terms_from_arrays(**logged, action_dist=action_dist)
        if term.self_normalised:
            raise ValueError(
                f"uplift_gate needs a non-self-normalised estimator, got '{chosen.name}'"
            )
        terms.append(term)
    challenger, champion = terms
    differences = challenger.round_rewards() - champion.round_rewards()  # (n,)
    units = RoundTerms(correction=differences)
    if groups is not None:
        units = cluster_terms(units, np.asarray(groups))
    alpha = 1 - level
    if method == "bootstrap":
        interval = bootstrap_interval(units, n_bootstrap=n_bootstrap, alpha=alpha, seed=seed)
    elif method == "normal":
        interval = normal_interval(units, alpha=alpha)
    else:
        raise ValueError(f"method must be 'bootstrap' or 'normal', got {method!r}")
    decision: Decision = "promote" if interval.low > 0 else "keep champion"
    return GateDecision(
        uplift=float(np.mean(differences)),
        ci_low=interval.low,
        ci_high=interval.high,
        decision=decision,
        level=level,
        n_rounds=int(differences.shape[0]),
        method=method,
        champion_value=champion.estimate(),
        challenger_value=challenger.estimate(),
    )
