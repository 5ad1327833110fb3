r"""Users of the synthetic world and their true tastes.

User u has Gaussian preferences over the visual styles, the textual themes, the hidden
factors and the creators' taste factors, a *modality affinity* ``m_u ~ Beta(c, c)`` (the weight
of looks versus content), domain affinities ``a_u``, a heavy-tailed activity
``log activity_u ~ N(0, activity_sigma^2)`` that decides how many sessions they start, and a
direction in which their text taste drifts over time.

Observable features with a **known effect** (what a ranking model's feature attributions can be
checked against):

* region ``r``: ``a_u ~ Dirichlet(2 pi_d exp(gamma_r R[r, d]))`` with the domain shares ``pi``,
  ``gamma_r = world.region_domain_effect`` and the fixed table :data:`REGION_DOMAIN` (each
  region favours one domain and disfavours another; ``central`` is neutral);
* age: the visual-style preferences are ``p^vis_u = eps_u + gamma_a z(age_u) A`` with
  ``eps_u ~ N(0, I)``, ``z`` the standardised age, ``gamma_a = world.age_style_effect`` and the
  fixed direction :data:`AGE_STYLE` (older users like dark, angular, blue looks; younger ones
  bright, round ones);
* ``newsletter`` (a yes/no sign-up flag): a **placebo**, drawn independently of every taste, so
  its true effect on anything is exactly zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hermes_core.world.params import DOMAINS, WorldParams
from hermes_core.world.vocabulary import REGIONS, THEME_NAMES, VISUAL_STYLE_NAMES

CREATOR_TASTE_DIM = 4
"""Dimension of the low-rank creator taste factors (users' ``creator_preference``, creators' latents)."""

REGION_DOMAIN: dict[str, tuple[float, float, float, float]] = {
    # movie, music, product, news
    "north": (1.0, 0.0, -1.0, 0.0),
    "south": (0.0, 1.0, 0.0, -1.0),
    "east": (-1.0, 0.0, 0.0, 1.0),
    "west": (0.0, -1.0, 1.0, 0.0),
    "central": (0.0, 0.0, 0.0, 0.0),
}
"""Log-shift of each domain's Dirichlet weight by region (times ``world.region_domain_effect``)."""

AGE_STYLE: dict[str, float] = {"red": 0.0, "blue": 0.5, "green": 0.0, "dark": 1.0, "bright": -1.0,
                               "round": -1.0, "angular": 1.0, "striped": -0.5}
"""Direction of the visual-style preferences per standard deviation of age (older: positive)."""
AGE_MEAN, AGE_STD = 47.5, float(np.sqrt((64**2 - 1) / 12.0))
"""Mean and deviation of the uniform integer ages 16..79, to standardise age exactly."""


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
    creator_preference: np.ndarray  # (n_users, CREATOR_TASTE_DIM) taste for the creators' factors
    text_drift: np.ndarray  # (n_users, 16) change of the text preference over the logging window
    newsletter: np.ndarray  # (n_users,) bool, the placebo feature (no effect on anything)


def age_style_shift(params: WorldParams, age: np.ndarray) -> np.ndarray:
    """``gamma_a z(age) A``: the part of the visual-style preferences due to age, (n, 8)."""
    direction = np.array([AGE_STYLE[name] for name in VISUAL_STYLE_NAMES])
    return params.age_style_effect * ((np.asarray(age, dtype=float) - AGE_MEAN) / AGE_STD)[:, None] * direction[None, :]


def region_domain_alpha(params: WorldParams, region: np.ndarray) -> np.ndarray:
    """Dirichlet weights of the domain tastes of users in ``region``: (n, 4)."""
    shares = np.array([getattr(params.domain_shares, d) for d in DOMAINS])
    shift = np.array([REGION_DOMAIN[name] for name in REGIONS])[np.asarray(region)]
    return np.maximum(2.0 * shares, 1e-3)[None, :] * np.exp(params.region_domain_effect * shift)


def generate_users(params: WorldParams, rng: np.random.Generator) -> Users:
    n = params.n_users
    visual = rng.standard_normal((n, len(VISUAL_STYLE_NAMES)))
    text = rng.standard_normal((n, len(THEME_NAMES)))
    hidden = rng.standard_normal((n, params.hidden_dim))
    modality = rng.beta(params.modality_concentration, params.modality_concentration, size=n)
    age = rng.integers(16, 80, size=n)
    region = rng.integers(len(REGIONS), size=n)
    alpha = region_domain_alpha(params, region)
    domain_affinity = np.vstack([rng.dirichlet(a) for a in alpha]) if n else np.zeros((0, len(DOMAINS)))
    return Users(
        visual_preference=visual + age_style_shift(params, age),
        text_preference=text,
        hidden_preference=hidden,
        modality_affinity=modality,
        domain_affinity=domain_affinity,
        activity=np.exp(params.activity_sigma * rng.standard_normal(n)),
        age=age,
        region=region,
        signup_offset=rng.uniform(1.0, 3.0 * 365.0, size=n) * 86_400.0,
        creator_preference=rng.standard_normal((n, CREATOR_TASTE_DIM)),
        text_drift=params.taste_drift * rng.standard_normal((n, len(THEME_NAMES))),
        newsletter=rng.random(n) < 0.3,
    )
