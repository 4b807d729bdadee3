"""Wilcoxon signed-rank and Mann–Whitney tests with Hodges–Lehmann estimates and exact CIs.

Both follow R's ``stats::wilcox.test(..., conf.int = TRUE, exact = TRUE)`` (R 4.2) so that tme's
numbers can be checked against R to machine precision.

Signed-rank (paired, ``d = post - pre``; zero differences are dropped, as in R):
    ``V = sum(rank(|d|)[d > 0])``. The Hodges–Lehmann estimate is the median of the
    ``n(n+1)/2`` Walsh averages ``(d_i + d_j)/2, i <= j`` (Hodges & Lehmann, Ann Math Stat 1963).
Rank-sum (two samples ``x`` treatment, ``y`` reference):
    ``W = sum(rank(c(x, y))[x]) - n_x(n_x+1)/2`` (the Mann–Whitney U of ``x``). The
    Hodges–Lehmann shift is the median of the ``n_x n_y`` differences ``x_i - y_j``.

Exact inference (no ties, no zeros, every sample size < 50): the two-sided p-value doubles the
smaller tail of the exact null distribution; the confidence interval is Bauer's (JASA 1972;67:687):
with ``k = q(alpha/2)`` the exact lower quantile of the statistic (``k = 1`` when it is 0), the
interval is ``[A_(k), A_(M+1-k)]`` of the sorted Walsh averages / pairwise differences ``A``,
``M`` their number.

With ties or zeros (or n >= 50) the p-value is R's normal approximation with tie correction and
continuity correction. The CI then uses the same order statistics with the normal-approximation
critical value ``k = floor(M/2 - z_{1-alpha/2} * sigma)`` and the estimate stays the median of the
Walsh averages / differences; R instead solves for the CI and estimate with ``uniroot(tol=1e-4)``,
so in that case tme and R agree only to about 1e-4.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import stats

_EXACT_MAX_N = 50
_FUZZ = 10 * np.finfo(float).eps  # R's qsignrank/qwilcox fuzz


@dataclass(frozen=True)
class RankTestResult:
    """Statistic (R's V or W), two-sided p, Hodges–Lehmann estimate and its CI, and the method."""

    statistic: float
    p: float
    estimate: float
    ci_low: float
    ci_high: float
    method: str


@lru_cache(maxsize=None)
def _signrank_pmf(n: int) -> np.ndarray:
    """Null pmf of V for n untied non-zero differences: ``c_n(k) = c_{n-1}(k) + c_{n-1}(k-n)``."""
    counts = np.zeros(n * (n + 1) // 2 + 1)
    counts[0] = 1.0
    for m in range(1, n + 1):
        counts[m:] = counts[m:] + counts[:-m].copy()
    return counts / 2.0**n


@lru_cache(maxsize=None)
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


def _walsh_averages(d: np.ndarray) -> np.ndarray:
    i, j = np.triu_indices(len(d))
    return np.sort((d[i] + d[j]) / 2.0)


def signed_rank_test(d: np.ndarray, conf_level: float = 0.95) -> RankTestResult:
    """Wilcoxon signed-rank test of paired differences ``d`` with the HL median change and CI.

    Matches R ``wilcox.test(post, pre, paired = TRUE, conf.int = TRUE, exact = TRUE)``.
    Returns NaNs when fewer than one non-zero difference remains.
    """
    d = np.asarray(d, dtype=float)
    zeros = bool(np.any(d == 0))
    d = d[d != 0]
    n = len(d)
    if n == 0:
        return RankTestResult(np.nan, np.nan, np.nan, np.nan, np.nan, "all differences are zero")
    ranks = stats.rankdata(np.abs(d))
    v = float(ranks[d > 0].sum())
    ties = len(np.unique(ranks)) < n
    walsh = _walsh_averages(d)
    alpha = 1.0 - conf_level
    if n < _EXACT_MAX_N and not ties and not zeros:
        pmf = _signrank_pmf(n)
        p = _two_sided_exact_p(v, pmf)
        k = _exact_lower_quantile(pmf, alpha / 2)
        method = "exact (Bauer 1972 CI)"
    else:
        _, counts = np.unique(ranks, return_counts=True)
        sigma = np.sqrt(n * (n + 1) * (2 * n + 1) / 24 - np.sum(counts**3 - counts) / 48)
        z = v - n * (n + 1) / 4
        z = (z - np.sign(z) * 0.5) / sigma
        p = float(2 * stats.norm.sf(abs(z)))
        k = int(np.floor(n * (n + 1) / 4 - stats.norm.ppf(1 - alpha / 2) * sigma))
        method = "normal approximation with tie and continuity correction"
    low, high, method = _order_statistic_ci(walsh, k, method)
    return RankTestResult(v, p, float(np.median(walsh)), low, high, method)


def rank_sum_test(x: np.ndarray, y: np.ndarray, conf_level: float = 0.95) -> RankTestResult:
    """Mann–Whitney test of ``x`` vs ``y`` with the HL shift (x − y) and CI.

    Matches R ``wilcox.test(x, y, conf.int = TRUE, exact = TRUE)``.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    nx, ny = len(x), len(y)
    ranks = stats.rankdata(np.concatenate([x, y]))
    w = float(ranks[:nx].sum() - nx * (nx + 1) / 2)
    ties = len(np.unique(ranks)) < nx + ny
    diffs = np.sort(np.subtract.outer(x, y).ravel())
    alpha = 1.0 - conf_level
    if nx < _EXACT_MAX_N and ny < _EXACT_MAX_N and not ties:
        pmf = _ranksum_pmf(nx, ny)
        p = _two_sided_exact_p(w, pmf)
        k = _exact_lower_quantile(pmf, alpha / 2)
        method = "exact (Bauer 1972 CI)"
    else:
        _, counts = np.unique(ranks, return_counts=True)
        n = nx + ny
        sigma = np.sqrt(nx * ny / 12 * ((n + 1) - np.sum(counts**3 - counts) / (n * (n - 1))))
        z = w - nx * ny / 2
        z = (z - np.sign(z) * 0.5) / sigma
        p = float(2 * stats.norm.sf(abs(z)))
        k = int(np.floor(nx * ny / 2 - stats.norm.ppf(1 - alpha / 2) * sigma))
        method = "normal approximation with tie and continuity correction"
    low, high, method = _order_statistic_ci(diffs, k, method)
    return RankTestResult(w, p, float(np.median(diffs)), low, high, method)
