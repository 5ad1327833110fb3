r"""The elapsed-time negative weight: how likely an unconverted click is a real negative.

Under the Delayed Feedback Model (Chapelle, KDD 2014) a click converts eventually with
probability :math:`p(x)` and, if it does, after an exponential delay of rate :math:`\lambda(x)`.
A click still unconverted after an elapsed time :math:`E` is a real negative with the posterior
probability (Bayes' rule)

.. math::

    W(E, x) = P\bigl(y = 0 \mid \text{no conversion within } E,\ x\bigr)
        = \frac{1 - p(x)}{1 - p(x) + p(x)\, e^{-\lambda(x) E}}
        = \frac{1 - p(x)}{1 - p(x)\bigl(1 - e^{-\lambda(x) E}\bigr)}.

It is the weight of an observed negative in FSIW, :math:`P(Y=0 \mid C=0, x, E)` (Yasui et al.,
WWW 2020), with DFM's parametric delay in place of FSIW's auxiliary classifier, and ES-DFM's
:math:`f_{rn}` for the window :math:`c = E` (Yang et al., AAAI 2021).

*Limits.* :math:`W` rises monotonically in :math:`E` (for :math:`\lambda > 0`, :math:`0 < p < 1`)
between

.. math::

    W(0, x) = 1 - p(x), \qquad \lim_{E \to \infty} W(E, x) = 1 .

At :math:`E = 0` the click has had no time to convert, so the posterior is the prior
:math:`1 - p(x)`; it is **not** close to 0 (a design note claimed so): for a conversion rate of a
few percent, a brand-new unconverted click keeps a weight near 1, e.g. :math:`W(0) = 0.95` at
:math:`p = 0.05`. Long after the click every unconverted click is surely negative and the weight
tends to 1. The bounds :math:`1 - p \le W \le 1` hold for every :math:`E \ge 0`.

The exponential delay has no attribution window: a conversion beyond the window never counts in
the world, which this formula ignores: beyond the window an unconverted click is surely negative
(:math:`W = 1`), where the formula gives less.
"""

from __future__ import annotations

import numpy as np


def elapsed_negative_weight(probability: np.ndarray, rate: np.ndarray, elapsed: np.ndarray) -> np.ndarray:
    """:math:`W(E, x) = (1 - p) / (1 - p (1 - e^{-\\lambda E}))` elementwise (module docstring).

    ``probability`` :math:`p \\in [0, 1]`, ``rate`` :math:`\\lambda > 0` (per day), ``elapsed``
    :math:`E \\ge 0` (days, ``inf`` allowed); arrays that broadcast together. At :math:`p = 1` the
    weight is 0 (the click is surely a fake negative) for every finite :math:`E` and 1 in the limit
    :math:`E = \\infty`. Raises ``ValueError`` on values out of range.
    """
    p = np.asarray(probability, dtype=np.float64)
    lam = np.asarray(rate, dtype=np.float64)
    e = np.asarray(elapsed, dtype=np.float64)
    if not ((p >= 0) & (p <= 1)).all():
        raise ValueError("probability must lie in [0, 1]")
    if not ((lam > 0) & np.isfinite(lam)).all():
        raise ValueError("rate must be finite and > 0 (per day)")
    if not (e >= 0).all():
        raise ValueError("elapsed must be >= 0 (days; inf allowed), got a negative value or NaN")
    p, lam, e = np.broadcast_arrays(p, lam, e)
    converted_share = -np.expm1(-lam * e)  # 1 - exp(-lambda E), accurate for small lambda E
    certain = p == 1
    # for p < 1 the denominator is >= 1 - p > 0; at p = 1 the ratio is 0 / exp(-lambda E), which
    # underflows to 0/0 for large lambda E, so it is set from its value (0) and its limit (1)
    denominator = np.where(certain, 1.0, 1.0 - p * converted_share)
    return np.where(certain, np.where(np.isinf(e), 1.0, 0.0), (1.0 - p) / denominator)
