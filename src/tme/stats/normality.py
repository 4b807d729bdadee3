"""Shapiro–Wilk test of normality (Royston's algorithm AS R94), for the residual diagnostics.

Royston (Appl Stat 1995;44:547) approximates the Shapiro–Wilk coefficients and the null
distribution of ``W`` for 3 ≤ n ≤ 5000; R's ``shapiro.test`` and ``scipy.stats.shapiro`` implement
the same algorithm. For the sorted sample ``x_(1) ≤ … ≤ x_(n)``:

* ``m_i = Φ^-1((i - 3/8) / (n + 1/4))``, ``||m||^2 = sum m_i^2``, ``u = 1 / sqrt(n)``;
* the outermost coefficients are polynomials in ``u``: ``a_n = -m_1 / ||m|| + c1(u)`` and, for
  n > 5, ``a_(n-1) = -m_2 / ||m|| + c2(u)``; the inner ones are ``-m_i / phi`` with ``phi``
  rescaling them so that ``sum a_i^2 = 1``; ``a_(n+1-i) = -a_i`` (n = 3: ``a_3 = sqrt(1/2)``);
* ``W`` is the squared correlation of ``x_(i)`` with ``a_i`` (``1 - W`` computed directly, as AS
  R94 does, to keep precision when ``W`` is near 1);
* p-value: n = 3 exactly, ``(6 / pi) (asin(sqrt(W)) - asin(sqrt(3/4)))``; 4 ≤ n ≤ 11:
  ``-log(gamma - log(1 - W))`` with ``gamma = -2.273 + 0.459 n`` is normal with mean and log-SD
  cubic in ``n``; n ≥ 12: ``log(1 - W)`` is normal with mean cubic and log-SD quadratic in
  ``log n``. The upper tail is the p-value.

Why tme has its own: importing ``scipy.stats`` costs ~0.4 s in every rule process, and this test was
the only thing the paired-statistics rule used it for. It agrees with R's ``shapiro.test`` to
1e-13 in ``W`` and 1e-11 in p for n from 3 to 5000, ties included (tests/test_stats_normality.py,
fixtures from R 4.2.2); ``scipy.stats.shapiro`` differs from both by up to 1e-9 in ``W`` and 1e-7
in p.
"""

from __future__ import annotations

import numpy as np
from numpy.polynomial import polynomial
from scipy import special

# Royston (1995), Table 1 / AS R94: polynomial coefficients, lowest order first
_C1 = (0.0, 0.221157, -0.147981, -2.07119, 4.434685, -2.706056)
_C2 = (0.0, 0.042981, -0.293762, -1.752461, 5.682633, -3.582633)
_C3 = (0.544, -0.39978, 0.025054, -6.714e-4)
_C4 = (1.3822, -0.77857, 0.062767, -0.0020322)
_C5 = (-1.5861, -0.31082, -0.083751, 0.0038915)
_C6 = (-0.4803, -0.082676, 0.0030302)


def _coefficients(n: int) -> np.ndarray:
    """The AS R94 coefficients ``a_1 … a_n`` (antisymmetric, ``sum a_i^2 = 1``)."""
    half = n // 2
    if n == 3:
        upper = np.array([np.sqrt(0.5)])
    else:
        m = special.ndtri((np.arange(1, half + 1) - 0.375) / (n + 0.25))  # lower half, negative
        norm2 = 2 * np.sum(m**2)
        u = 1 / np.sqrt(n)
        upper = -m / np.sqrt(norm2)
        fixed = 2 if n > 5 else 1
        upper[0] += polynomial.polyval(u, _C1)
        if n > 5:
            upper[1] += polynomial.polyval(u, _C2)
        phi = np.sqrt((norm2 - 2 * np.sum(m[:fixed] ** 2)) / (1 - 2 * np.sum(upper[:fixed] ** 2)))
        upper[fixed:] = -m[fixed:] / phi
    return np.concatenate([-upper, np.zeros(n % 2), upper[::-1]])


def shapiro_wilk(x) -> tuple[float, float]:
    """``(W, p)`` of the Shapiro–Wilk test (module docstring) for 3 ≤ n ≤ 5000 values, not all equal."""
    x = np.sort(np.asarray(x, float))
    n = len(x)
    if not 3 <= n <= 5000 or x[-1] == x[0]:
        raise ValueError("Shapiro-Wilk needs 3 to 5000 values that are not all equal")
    a = _coefficients(n)
    a = a - a.mean()
    x = (x - x[n // 2]) / (x[-1] - x[0])  # shifted and scaled first: values far from 0 keep their precision
    x = x - x.mean()
    ssa, ssx, sax = a @ a, x @ x, a @ x
    root = np.sqrt(ssa * ssx)
    one_minus_w = (root - sax) * (root + sax) / (ssa * ssx)
    w = 1 - one_minus_w
    if n == 3:
        return float(w), float(max(0.0, 6 / np.pi * (np.arcsin(np.sqrt(w)) - np.arcsin(np.sqrt(0.75)))))
    y = np.log(one_minus_w)
    if n <= 11:
        gamma = -2.273 + 0.459 * n
        if y >= gamma:
            return float(w), 1e-99
        y = -np.log(gamma - y)
        mean, sd = polynomial.polyval(n, _C3), np.exp(polynomial.polyval(n, _C4))
    else:
        mean, sd = polynomial.polyval(np.log(n), _C5), np.exp(polynomial.polyval(np.log(n), _C6))
    return float(w), float(special.ndtr(-(y - mean) / sd))
