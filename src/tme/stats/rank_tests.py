"""Wilcoxon signed-rank and Mann–Whitney tests with Hodges–Lehmann estimates and CIs.

Both reproduce R's ``stats::wilcox.test(..., conf.int = TRUE)`` with its default
``exact = NULL`` and ``correct = TRUE`` (R 4.2.2), so that tme's numbers can be checked against R.

Signed-rank (paired, ``d = post - pre``; zero differences are dropped, as in R):
    ``V = sum(rank(|d|)[d > 0])``.
Rank-sum (two samples ``x`` treatment, ``y`` reference):
    ``W = sum(rank(c(x, y))[x]) - n_x(n_x+1)/2`` (the Mann–Whitney U of ``x``).

**Exact inference** (no ties, no zeros, every sample size < 50): the two-sided p-value doubles the
smaller tail of the exact null distribution; the estimate is the Hodges–Lehmann median of the
``n(n+1)/2`` Walsh averages ``(d_i + d_j)/2, i <= j`` (signed rank) or of the ``n_x n_y``
differences ``x_i - y_j`` (rank sum) (Hodges & Lehmann, Ann Math Stat 1963;34:598); the CI is
Bauer's (JASA 1972;67:687): with ``k = q(alpha/2)`` the exact lower quantile of the statistic
(``k = 1`` when it is 0), ``[A_(k), A_(M+1-k)]`` of the sorted Walsh averages / differences ``A``,
``M`` their number.

**Normal approximation** (ties, zeros, or a sample size >= 50): the p-value uses
``z = (S - E S - sign(S - E S)/2) / sigma`` with the tie-corrected ``sigma``. The CI limits and
the estimate are the points where the standardised statistic of the shifted data,
``W(delta)`` (the statistic of ``d - delta``, resp. of ``x - delta`` vs ``y``, recomputed with its
own ties, zeros and continuity correction), crosses ``z_{1-alpha/2}``, ``z_{alpha/2}`` and —
without continuity correction — 0. ``W`` is a step function of ``delta`` (it jumps at the Walsh
averages / pairwise differences), and R locates each crossing with ``uniroot(tol = 1e-4)``: Brent's zeroin
(Brent 1973, ch. 4; R's ``zeroin.c``), which stops at a point within about 1e-4 of the jump — or,
where ``W`` equals its target on a whole interval (common for the estimate with ties, where
``W = 0`` between two jumps), at whichever point of that interval its search reaches first.
R's estimate is then *not* the median of the Walsh averages / differences: for ``x = (1, 2, 2,
3, 4)``, ``y = (2, 3, 5, 5, 6, 7)`` R reports −2.567887 where the median difference is −2.5.
tme therefore runs the same zeroin iteration (same bracket and function values, tolerance
``2 eps |b| + tol/2``, the same interpolation rules) on the same ``W``, so it returns the point
R returns: estimates and limits equal R's to rounding (≤ 1e-12 on the fixtures; the test bar is
1e-9), for the changes (0.5, 0.5, 1, 1.5, −0.5, 2) HL 0.750077 and CI (4.25e-5, 1.500039) at the
achievable level 0.90. Because the search path depends on the last bits of the data where ``W``
is flat, "matching R" means: the same doubles in, the same numbers out.

As in R, when the requested level is not achievable with the normal approximation (very small
``n``) the signed-rank CI is given at the highest achievable level, which the method string
states; the rank-sum CI falls back to the data range. Degenerate data follow R too: no non-zero
difference → statistic 0 (signed rank), everything else NaN; all non-zero differences equal →
p-value, no CI, estimate = their midrange (R's ``midrange``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy import special

_EXACT_MAX_N = 50
_FUZZ = 10 * np.finfo(float).eps  # R's qsignrank/qwilcox fuzz
_ROOT_TOL = 1e-4  # R's wilcox.test(tol.root = 1e-4)
_NORMAL = "normal approximation with tie and continuity correction; estimate and CI by R's uniroot"


@dataclass(frozen=True)
class RankTestResult:
    """Statistic (R's V or W), two-sided p, Hodges–Lehmann estimate and its CI, and the method."""

    statistic: float
    p: float
    estimate: float
    ci_low: float
    ci_high: float
    method: str


@cache
def _signrank_pmf(n: int) -> np.ndarray:
    """Null pmf of V for n untied non-zero differences: ``c_n(k) = c_{n-1}(k) + c_{n-1}(k-n)``."""
    counts = np.zeros(n * (n + 1) // 2 + 1)
    counts[0] = 1.0
    for m in range(1, n + 1):
        counts[m:] = counts[m:] + counts[:-m].copy()
    return counts / 2.0**n


@cache
def _ranksum_pmf(m: int, n: int) -> np.ndarray:
    """Null pmf of the Mann–Whitney U for sizes m, n.

    Counts follow ``c(k; i, j) = c(k-j; i-1, j) + c(k; i, j-1)`` (the largest observation is an
    x, adding j to U, or a y).
    """
    rows = [np.ones(1) for _ in range(n + 1)]  # i = 0: U = 0 with one arrangement, for every j
    for i in range(1, m + 1):
        new = [np.ones(1)]  # j = 0
        for j in range(1, n + 1):
            counts = np.zeros(i * j + 1)
            counts[j : j + len(rows[j])] += rows[j]  # largest value from x: shift by j
            counts[: len(new[j - 1])] += new[j - 1]  # largest value from y
            new.append(counts)
        rows = new
    counts = rows[n]
    return counts / counts.sum()


def _two_sided_exact_p(statistic: float, pmf: np.ndarray) -> float:
    cdf = np.cumsum(pmf)
    centre = (len(pmf) - 1) / 2
    k = int(round(statistic))
    tail = (1.0 - cdf[k - 1]) if statistic > centre else cdf[k]
    return float(min(2.0 * tail, 1.0))


def _exact_lower_quantile(pmf: np.ndarray, prob: float) -> int:
    """R's ``qsignrank``/``qwilcox`` for prob <= 0.5: smallest q with P(S <= q) >= prob (fuzzed)."""
    cdf = np.cumsum(pmf)
    return int(np.searchsorted(cdf, prob - _FUZZ, side="left"))


def _order_statistic_ci(sorted_values: np.ndarray, k: int, method: str) -> tuple[float, float, str]:
    """``[A_(k), A_(M+1-k)]``; when ``k < 1`` the level is not achievable and R (and tme) use
    ``k = 1``, the full range, which the method string then says."""
    if k < 1:
        k = 1
        method += "; requested confidence level not achievable at this n: CI is the full range"
    m = len(sorted_values)
    return float(sorted_values[k - 1]), float(sorted_values[m - k]), method


def _zeroin(
    f: Callable[[float], float], a: float, b: float, fa: float, fb: float, tol: float = _ROOT_TOL, maxiter: int = 1000
) -> float:
    """Brent's zeroin root of ``f`` in ``[a, b]`` given ``f(a)``, ``f(b)`` of opposite signs.

    The algorithm of Forsythe, Malcolm & Moler (1977, Computer Methods for Mathematical
    Computations, §7.2; Brent 1973, ch. 4) with the arithmetic of R's ``R_zeroin2``, which
    ``uniroot`` calls: ``b`` is the best point, ``c`` brackets the root with it, each step is an
    inverse quadratic (or secant) interpolation when it falls well inside ``[b, c]`` and a bisection
    otherwise, never shorter than ``tol_act = 2 eps |b| + tol / 2``; it stops when
    ``|c - b| / 2 <= tol_act`` and returns ``b``.
    """
    eps = np.finfo(float).eps
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    c, fc = a, fa
    for _ in range(maxiter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):  # make b the best approximation
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * eps * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            new_step = _interpolation_step(a, b, c, fa, fb, fc, prev_step, tol_act, new_step)
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


def _interpolation_step(a, b, c, fa, fb, fc, prev_step, tol_act, bisection):
    """Secant (two distinct points) or inverse quadratic step ``p / q`` of zeroin, if acceptable."""
    cb = c - b
    if a == c:
        t1 = fb / fa
        p = cb * t1
        q = 1.0 - t1
    else:
        q, t1, t2 = fa / fc, fb / fc, fb / fa
        p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
        q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
    if p > 0:
        q = -q
    else:
        p = -p
    if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
        return p / q
    return bisection


def _uniroot(f: Callable[[float], float], lower: float, upper: float, f_lower: float, f_upper: float) -> float:
    """R ``uniroot(f, lower, upper, f.lower, f.upper, tol = 1e-4)$root`` (NaN if not bracketed)."""
    finite = np.isfinite(f_lower) and np.isfinite(f_upper)
    if not finite or np.sign(f_lower) * np.sign(f_upper) > 0:
        return np.nan
    return _zeroin(f, lower, upper, f_lower, f_upper)


def _average_ranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ranks 1..n with ties given their average rank (R ``rank``, ``scipy.stats.rankdata``), and the
    size of each group of tied values (1 for an untied value). (``tme.scoring._ranks`` ranks genes
    within samples for the scorers; importing it loads the scoring package, ~1 s, and these samples
    have tens of values.)"""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    edges = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1], True])
    sizes = np.diff(edges)
    ranks = np.empty(len(values))
    ranks[order] = np.repeat((edges[:-1] + 1 + edges[1:]) / 2, sizes)
    return ranks, sizes


def _signed_rank_z(d: np.ndarray, correct: bool = True) -> tuple[float, float]:
    """``(V, z)`` of the normal approximation for ``d`` (zeros dropped; z NaN when no variance)."""
    d = d[d != 0]
    n = len(d)
    ranks, ties = _average_ranks(np.abs(d))
    v = float(ranks[d > 0].sum())
    sigma = np.sqrt(n * (n + 1) * (2 * n + 1) / 24 - np.sum(ties**3 - ties) / 48)
    centred = v - n * (n + 1) / 4
    shift = np.sign(centred) * 0.5 if correct else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        return v, float((centred - shift) / sigma)


def _rank_sum_z(x: np.ndarray, y: np.ndarray, correct: bool = True) -> tuple[float, float]:
    """``(W, z)`` of the normal approximation for ``x`` vs ``y`` (tie-corrected variance)."""
    nx, ny = len(x), len(y)
    ranks, ties = _average_ranks(np.concatenate([x, y]))
    w = float(ranks[:nx].sum() - nx * (nx + 1) / 2)
    centred = w - nx * ny / 2
    shift = np.sign(centred) * 0.5 if correct else 0.0
    n = nx + ny
    sigma = np.sqrt((nx * ny / 12) * ((n + 1) - np.sum(ties**3 - ties) / (n * (n - 1))))
    with np.errstate(invalid="ignore", divide="ignore"):
        return w, float((centred - shift) / sigma)


def _normal_p(z: float) -> float:
    return float(2 * special.ndtr(-abs(z))) if np.isfinite(z) else np.nan


def _walsh_averages(d: np.ndarray) -> np.ndarray:
    i, j = np.triu_indices(len(d))
    return np.sort((d[i] + d[j]) / 2.0)


def _signed_rank_normal_ci(d: np.ndarray, conf_level: float) -> tuple[float, float, float, str]:
    """R's normal-approximation HL estimate and CI of the signed-rank test (``d`` without zeros).

    When ``W(min d)`` or ``W(max d)`` cannot reach the normal quantiles, R doubles ``alpha`` until
    they can and reports the lower level; so does tme (in the method string).
    """
    low_end, high_end = float(d.min()), float(d.max())

    def w(delta: float, correct: bool = True) -> float:
        return _signed_rank_z(d - delta, correct)[1]

    w_low = w(low_end)
    if not np.isfinite(w_low):  # all non-zero differences equal: R's midrange, no CI
        return (low_end + high_end) / 2, np.nan, np.nan, _NORMAL + "; all differences tied: no CI"
    w_high = w(high_end)
    alpha, method = 1.0 - conf_level, _NORMAL
    while w_low < -special.ndtri(alpha / 2) or w_high > special.ndtri(alpha / 2):
        alpha *= 2
    if alpha >= 1 or 1 - conf_level < alpha * 0.75:
        method += f"; requested confidence level not achievable: CI at level {1 - min(1.0, alpha):.4g}"
    if alpha < 1:
        low, high = (
            _uniroot(lambda t, q=q: w(t) - q, low_end, high_end, w_low - q, w_high - q)
            for q in (-special.ndtri(alpha / 2), special.ndtri(alpha / 2))
        )
    else:
        low = high = float(np.median(d))
    estimate = _uniroot(lambda t: w(t, False), low_end, high_end, w(low_end, False), w(high_end, False))
    return estimate, float(low), float(high), method


def signed_rank_test(d: np.ndarray, conf_level: float = 0.95) -> RankTestResult:
    """Wilcoxon signed-rank test of paired differences ``d`` with the HL median change and CI.

    Matches R ``wilcox.test(post, pre, paired = TRUE, conf.int = TRUE, conf.level = conf_level)``
    (see the module docstring for the exact and normal-approximation branches). When every
    difference is zero, R's answer is kept: ``V = 0`` and everything else NaN (no test).
    """
    d = np.asarray(d, dtype=float)
    zeros = bool(np.any(d == 0))
    d = d[d != 0]
    n = len(d)
    if n == 0:
        return RankTestResult(
            0.0, np.nan, np.nan, np.nan, np.nan, "all differences are zero: no test (R: V = 0, p = NA)"
        )
    ranks, sizes = _average_ranks(np.abs(d))
    ties = bool((sizes > 1).any())
    if n < _EXACT_MAX_N and not ties and not zeros:
        pmf = _signrank_pmf(n)
        v = float(ranks[d > 0].sum())
        walsh = _walsh_averages(d)
        k = _exact_lower_quantile(pmf, (1.0 - conf_level) / 2)
        low, high, method = _order_statistic_ci(walsh, k, "exact (Bauer 1972 CI)")
        return RankTestResult(v, _two_sided_exact_p(v, pmf), float(np.median(walsh)), low, high, method)
    v, z = _signed_rank_z(d)
    estimate, low, high, method = _signed_rank_normal_ci(d, conf_level)
    return RankTestResult(v, _normal_p(z), estimate, low, high, method)


def _rank_sum_normal_ci(x: np.ndarray, y: np.ndarray, conf_level: float) -> tuple[float, float, float]:
    """R's normal-approximation HL shift and CI of the rank-sum test.

    A limit whose quantile ``W`` cannot reach inside ``[min x - max y, max x - min y]`` is that end
    of the range, as in R.
    """
    low_end, high_end = float(x.min() - y.max()), float(x.max() - y.min())

    def w(delta: float, correct: bool = True) -> float:
        return _rank_sum_z(x - delta, y, correct)[1]

    w_low, w_high = w(low_end), w(high_end)
    limits = []
    for q in (-special.ndtri((1 - conf_level) / 2), special.ndtri((1 - conf_level) / 2)):
        if w_low - q <= 0:
            limits.append(low_end)
        elif w_high - q >= 0:
            limits.append(high_end)
        else:
            limits.append(_uniroot(lambda t, q=q: w(t) - q, low_end, high_end, w_low - q, w_high - q))
    estimate = _uniroot(lambda t: w(t, False), low_end, high_end, w(low_end, False), w(high_end, False))
    return estimate, float(limits[0]), float(limits[1])


def rank_sum_test(x: np.ndarray, y: np.ndarray, conf_level: float = 0.95) -> RankTestResult:
    """Mann–Whitney test of ``x`` vs ``y`` with the HL shift (x − y) and CI.

    Matches R ``wilcox.test(x, y, conf.int = TRUE, conf.level = conf_level)`` (module docstring).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    nx, ny = len(x), len(y)
    ranks, sizes = _average_ranks(np.concatenate([x, y]))
    ties = bool((sizes > 1).any())
    if nx < _EXACT_MAX_N and ny < _EXACT_MAX_N and not ties:
        pmf = _ranksum_pmf(nx, ny)
        w = float(ranks[:nx].sum() - nx * (nx + 1) / 2)
        diffs = np.sort(np.subtract.outer(x, y).ravel())
        k = _exact_lower_quantile(pmf, (1.0 - conf_level) / 2)
        low, high, method = _order_statistic_ci(diffs, k, "exact (Bauer 1972 CI)")
        return RankTestResult(w, _two_sided_exact_p(w, pmf), float(np.median(diffs)), low, high, method)
    w, z = _rank_sum_z(x, y)
    estimate, low, high = _rank_sum_normal_ci(x, y, conf_level)
    return RankTestResult(w, _normal_p(z), estimate, low, high, _NORMAL)
