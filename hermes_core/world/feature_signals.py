r"""What the items' dense side features reveal of the hidden, collaborative-only factor.

The hidden latent :math:`h_i` of an item is, by the world's definition, visible only through
interactions: no content reveals it, so a cold-start model cannot know it and a ranker that uses it
has learned it from feedback. The dense side features (exported as ``dense_features``) must
therefore not encode it. The check is the :math:`R^2` of an ordinary least-squares fit, with an
intercept, of each hidden coordinate on the dense features, averaged over coordinates
(issue 9's goal: at most 0.3).
"""

from __future__ import annotations

import numpy as np

from hermes_core.world.world import World

HIDDEN_R2_GOAL = 0.3


def linear_r2(features: np.ndarray, target: np.ndarray) -> float:
    """:math:`R^2 = 1 - \\lVert y - X\\hat\\beta \\rVert^2 / \\lVert y - \\bar y \\rVert^2` of the OLS fit of
    ``target`` (n,) on ``features`` (n, d) with an intercept (in-sample)."""
    design = np.column_stack([np.ones(len(features)), features])  # (n, d + 1)
    coefficients, *_ = np.linalg.lstsq(design, target, rcond=None)
    residual = target - design @ coefficients
    total = target - target.mean()
    return float(1.0 - residual @ residual / (total @ total))


def hidden_factor_r2(world: World) -> dict[str, float]:
    """Mean and largest :func:`linear_r2` of the hidden latent's coordinates on the dense features."""
    catalogue = world.catalogue
    scores = [linear_r2(catalogue.dense_features, catalogue.hidden_latent[:, k])
              for k in range(catalogue.hidden_latent.shape[1])]
    return {"mean_r2": float(np.mean(scores)), "max_r2": float(np.max(scores)), "goal": HIDDEN_R2_GOAL}
