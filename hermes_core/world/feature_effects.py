r"""The known effects of the users' features and the session's hour, measured on the truth.

The world plants effects of a known direction (:mod:`hermes_core.world.population`,
:mod:`hermes_core.world.preferences`); a ranking model's feature attributions are checked against
them. Each effect's size is the :math:`R^2` of an ordinary least-squares fit with an intercept
(:func:`~hermes_core.world.feature_signals.linear_r2`, in-sample, over all users):

* **region -> domain tastes**: for each domain ``d``, the :math:`R^2` of the user's domain taste
  ``a_{ud}`` on the one-hot region (``len(REGIONS) - 1`` columns; the intercept carries the
  first region); ``region_domain_r2`` is the mean over the four domains;
* **age -> looks**: the :math:`R^2` of the visual-style preference projected on the age direction,
  ``p^vis_u . A / |A|`` (:data:`~hermes_core.world.population.AGE_STYLE`), on the standardised age
  ``z(age_u)``; the truth is ``p^vis_u = eps_u + gamma_a z(age_u) A`` with ``eps_u ~ N(0, I)``,
  so its expected value is ``gamma_a^2 |A|^2 / (gamma_a^2 |A|^2 + 1)``;
* **placebo**: the same two fits on the ``newsletter`` flag, whose true effect is exactly zero
  (``placebo_domain_r2``, mean over domains, and ``placebo_style_r2``): only noise, about
  ``1 / n_users``;
* **hour -> domain tastes** (context): over every logged session (its first request's hour) and
  every item, the standard deviation of the context term ``chi(x, d(i))`` (the ``context`` part
  of :func:`~hermes_core.world.preferences.weighted_components`) divided by that of the static
  affinity ``s(u, i)`` over the same (session, item) pairs: ``context_over_static``.

The hidden factor's fit on the items' dense features is :mod:`hermes_core.world.feature_signals`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from hermes_core.world.feature_signals import linear_r2
from hermes_core.world.params import DOMAINS
from hermes_core.world.population import AGE_MEAN, AGE_STD, AGE_STYLE
from hermes_core.world.preferences import SessionContext, raw_components, weighted_components
from hermes_core.world.vocabulary import REGIONS, VISUAL_STYLE_NAMES
from hermes_core.world.world import World

SESSION_CHUNK = 1_000


@dataclass(frozen=True)
class FeatureEffects:
    """The measured size of each planted feature effect (see the module docstring)."""

    n_users: int
    region_domain_r2: float  # mean over domains
    region_domain_r2_by_domain: dict[str, float]
    age_style_r2: float
    placebo_domain_r2: float  # mean over domains
    placebo_style_r2: float
    n_sessions: int
    context_std: float
    static_std: float
    context_over_static: float

    def as_dict(self) -> dict[str, object]:
        """JSON-ready numbers (for ``metrics/ingest.json: world_signals``)."""
        return asdict(self)


def region_one_hot(region: np.ndarray) -> np.ndarray:
    """One column per region but the first (the intercept's): (n, len(REGIONS) - 1) of 0/1."""
    return np.eye(len(REGIONS))[np.asarray(region, dtype=np.int64)][:, 1:]


def age_style_projection(visual_preference: np.ndarray) -> np.ndarray:
    """``p^vis_u . A / |A|``: each user's visual-style preference along the age direction, (n,)."""
    direction = np.array([AGE_STYLE[name] for name in VISUAL_STYLE_NAMES])
    return np.asarray(visual_preference) @ (direction / np.linalg.norm(direction))


def standardised_age(age: np.ndarray) -> np.ndarray:
    """``z(age) = (age - 47.5) / sd``, the world's own standardisation of the uniform ages 16..79."""
    return (np.asarray(age, dtype=float) - AGE_MEAN) / AGE_STD


def expected_age_style_r2(age_style_effect: float) -> float:
    """The population value of ``age_style_r2``: ``gamma_a^2 |A|^2 / (gamma_a^2 |A|^2 + 1)`` (the
    projected noise ``eps_u . A / |A|`` is standard normal, ``z(age)`` has unit variance)."""
    direction = np.array([AGE_STYLE[name] for name in VISUAL_STYLE_NAMES])
    signal = age_style_effect**2 * float(direction @ direction)
    return signal / (signal + 1.0)


def context_spread(world: World, chunk_size: int = SESSION_CHUNK) -> tuple[int, float, float]:
    """``(n_sessions, sd(chi), sd(s))`` over every (logged session, item) pair: the context term at
    the session's hour and the static affinity of the session's user (module docstring)."""
    logs = world.logs
    first = np.flatnonzero(logs.step == 0)
    users, hours = logs.user[first], logs.hour[first]
    n_items = world.n_items
    sums = np.zeros(4)  # sum chi, sum chi^2, sum s, sum s^2
    for start in range(0, len(first), chunk_size):
        rows = slice(start, start + chunk_size)
        parts = weighted_components(world.model, raw_components(world.model, users[rows], np.arange(n_items),
                                                                SessionContext(hour=hours[rows])))
        context = parts.pop("context")
        static = sum(parts.values())  # no intent and no day in the context: the static parts
        sums += (context.sum(), (context**2).sum(), static.sum(), (static**2).sum())
    n = len(first) * n_items
    if n == 0:
        return 0, float("nan"), float("nan")
    context_var = max(sums[1] / n - (sums[0] / n) ** 2, 0.0)
    static_var = max(sums[3] / n - (sums[2] / n) ** 2, 0.0)
    return len(first), float(np.sqrt(context_var)), float(np.sqrt(static_var))


def feature_effects(world: World) -> FeatureEffects:
    """The planted feature effects' :math:`R^2` and the hour's spread relative to taste (module docstring)."""
    users = world.users
    regions = region_one_hot(users.region)
    newsletter = users.newsletter.astype(float)[:, None]
    style = age_style_projection(users.visual_preference)
    by_domain = {name: linear_r2(regions, users.domain_affinity[:, d]) for d, name in enumerate(DOMAINS)}
    placebo_domain = [linear_r2(newsletter, users.domain_affinity[:, d]) for d in range(len(DOMAINS))]
    n_sessions, context_std, static_std = context_spread(world)
    return FeatureEffects(
        n_users=len(users.activity),
        region_domain_r2=float(np.mean(list(by_domain.values()))),
        region_domain_r2_by_domain=by_domain,
        age_style_r2=linear_r2(standardised_age(users.age)[:, None], style),
        placebo_domain_r2=float(np.mean(placebo_domain)),
        placebo_style_r2=linear_r2(newsletter, style),
        n_sessions=n_sessions,
        context_std=context_std,
        static_std=static_std,
        context_over_static=context_std / static_std if static_std > 0 else float("nan"),
    )
