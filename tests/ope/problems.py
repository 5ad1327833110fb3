"""Hand-built OPE problems shared by several test modules of ``tests/ope``.

* :func:`random_problem`: logging and target policies with per-round Dirichlet marginals;
* :func:`hand_study`: a :class:`WorldStudy` of four logs whose every derived number is worked out
  by hand in ``test_metrics.py`` and ``test_tables.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hermes_core.ope.world_experiments import WorldStudy


def random_problem(seed: int, n: int = 300, n_actions: int = 4, len_list: int = 3) -> dict[str, np.ndarray]:
    """Logging and target policies with per-round Dirichlet marginals; binary rewards."""
    rng = np.random.default_rng(seed)
    logging = rng.dirichlet(np.ones(n_actions), size=(n, len_list)).transpose(0, 2, 1)
    target = rng.dirichlet(np.ones(n_actions) * 0.5, size=(n, len_list)).transpose(0, 2, 1)
    position = rng.integers(0, len_list, n)
    cumulative = logging[np.arange(n), :, position].cumsum(axis=1)
    action = np.minimum((rng.random(n)[:, None] > cumulative).sum(axis=1), n_actions - 1)
    return {
        "reward": (rng.random(n) < 0.3).astype(float),
        "action": action,
        "position": position,
        "pscore": logging[np.arange(n), action, position],
        "action_dist": target,
        "estimated_rewards_by_reg_model": rng.random((n, n_actions, len_list)),
    }


TRUTH = 0.2
ESTIMATES: dict[str, list[float]] = {
    "dm": [0.15, 0.15, 0.15, 0.15],  # relative error 0.25 on every log
    "ipw": [0.22, 0.18, 0.22, 0.18],  # 0.10
    "snipw": [0.21, 0.19, 0.21, 0.19],  # 0.05
    "dr": [0.202, 0.198, 0.202, 0.198],  # 0.01
}
HALF_WIDTH: dict[str, float] = {"dm": 0.01, "ipw": 0.03, "snipw": 0.03, "dr": 0.01}
"""Intervals estimate ± half width: DM's [0.14, 0.16] never holds 0.2; IPS's hold it except on
log 0, where the interval is shifted to [0.21, 0.23]; SNIPS's and DR's always hold it."""
LOGGING_IPW = [0.101, 0.099, 0.1, 0.1]
"""IPS on the logging target (truth 0.1, every weight 1, so IPS is the log's click rate):
errors +1, -1, 0, 0 (10⁻³)."""


def hand_study(target: str = "greedy-true") -> WorldStudy:
    rows = []
    for name, values in ESTIMATES.items():
        for resample, estimate in enumerate(values):
            low, high = estimate - HALF_WIDTH[name], estimate + HALF_WIDTH[name]
            if name == "ipw" and resample == 0:
                low, high = 0.21, 0.23
            rows.append({"resample": resample, "target": target, "estimator": name, "estimate": estimate,
                         "truth": TRUTH, "low": low, "high": high})  # fmt: skip
    for resample, estimate in enumerate(LOGGING_IPW):
        rows.append({"resample": resample, "target": "logging", "estimator": "ipw", "estimate": estimate,
                     "truth": 0.1, "low": estimate - 0.01, "high": estimate + 0.01})  # fmt: skip
    diagnostics = pd.DataFrame(
        [{"resample": r, "target": target, "truth": TRUTH, "logged_click_rate": LOGGING_IPW[r], "mean_weight": 1.02}
         for r in range(4)]
        + [{"resample": r, "target": "logging", "truth": 0.1, "logged_click_rate": LOGGING_IPW[r], "mean_weight": 1.0}
           for r in range(4)])  # fmt: skip
    return WorldStudy(pd.DataFrame(rows), diagnostics, n_requests=100, interval_method="bootstrap", ci_level=0.95)
