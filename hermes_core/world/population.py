"""Users of the synthetic world and their true tastes.

User u has Gaussian preferences over the visual styles, the textual themes and the hidden
factors, a *modality affinity* ``m_u ~ Beta(c, c)`` (the weight of looks versus content),
domain affinities ``a_u ~ Dirichlet``, and a heavy-tailed activity
``log activity_u ~ N(0, activity_sigma^2)`` that decides how many sessions they start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hermes_core.world.params import DOMAINS, WorldParams
from hermes_core.world.vocabulary import REGIONS, THEME_NAMES, VISUAL_STYLE_NAMES


@dataclass(frozen=True)
class Users:
    visual_preference: np.ndarray  # (n_users, 8)
    text_preference: np.ndarray  # (n_users, 16)
    hidden_preference: np.ndarray  # (n_users, H)
    modality_affinity: np.ndarray  # (n_users,) weight of the visual part, in (0, 1)
    domain_affinity: np.ndarray  # (n_users, 4) on the simplex
    activity: np.ndarray  # (n_users,) > 0
    age: np.ndarray  # (n_users,) int
    region: np.ndarray  # (n_users,) index into REGIONS
    signup_offset: np.ndarray  # (n_users,) seconds before the world's start


def generate_users(params: WorldParams, rng: np.random.Generator) -> Users:
    n = params.n_users
    shares = np.array([getattr(params.domain_shares, d) for d in DOMAINS])
    alpha = np.maximum(2.0 * shares, 1e-3)
    return Users(
        visual_preference=rng.standard_normal((n, len(VISUAL_STYLE_NAMES))),
        text_preference=rng.standard_normal((n, len(THEME_NAMES))),
        hidden_preference=rng.standard_normal((n, params.hidden_dim)),
        modality_affinity=rng.beta(params.modality_concentration, params.modality_concentration, size=n),
        domain_affinity=rng.dirichlet(alpha, size=n),
        activity=np.exp(params.activity_sigma * rng.standard_normal(n)),
        age=rng.integers(16, 80, size=n),
        region=rng.integers(len(REGIONS), size=n),
        signup_offset=rng.uniform(1.0, 3.0 * 365.0, size=n) * 86_400.0,
    )
