r"""Analytic power, sample size and minimum detectable effect of the primary ANCOVA.

The primary analysis is the ANCOVA ``post ~ pre + arm`` (Vickers & Altman, BMJ 2001;323:1123):
the arm coefficient :math:`\hat\delta` has residual variance :math:`\sigma^2_{res} = \sigma^2(1 -
\rho^2)`, with :math:`\sigma` the SD of the post values within arm and :math:`\rho` the pre–post
correlation within arm (Borm, Fransen & Lemmens, J Clin Epidemiol 2007;60:1234). With
:math:`n_1, n_2` patients with both samples, :math:`N = n_1 + n_2` and :math:`k` baseline
covariates (``k = 1``: the baseline value), the two-sided test at level :math:`\alpha` rejects
when :math:`|T| > q = t_{1-\alpha/2,\,N-2-k}`. Two methods:

``"noncentral_t"`` (the classical formula; R ``pwr::pwr.t.test`` and ``stats::power.t.test(...,
strict = TRUE)`` give it for ``k = 0``)
    :math:`T` is noncentral t with :math:`\nu = N - 2 - k` df and noncentrality
    :math:`\lambda = \delta / (\sigma_{res}\sqrt{1/n_1 + 1/n_2})`;
    power :math:`= P(T_{\nu,\lambda} > q) + P(T_{\nu,\lambda} < -q)` (both tails, as
    ``pwr.t.test``). With ``k = 1`` this is the usual ANCOVA recipe ("t test on
    :math:`\sigma\sqrt{1-\rho^2}` with one df fewer"). It treats the baseline values as fixed and
    balanced between arms, so it **overstates** the power of a randomised trial with a random
    baseline: by 0.05 at 5 patients per arm and 80 % nominal power, 0.01 at 20
    (``tests/test_planning_analytic.py``; simulated ANCOVAs follow the exact method,
    ``tests/test_planning_simulation.py``).
``"exact"`` (default; Shieh, Psychometrika 2020;85:101)
    Conditionally on the baseline values, :math:`T` is noncentral t with :math:`\nu` df and
    :math:`\lambda_c = \lambda / \sqrt{1 + (\bar x_1 - \bar x_2)^2 / (S_{xx} (1/n_1 + 1/n_2))}`,
    :math:`S_{xx}` the within-arm sum of squares of the baseline. For normal baselines
    randomised to the arms, :math:`1 + \ldots = 1/W^2` with :math:`W^2 \sim
    \mathrm{Beta}((N-1-k)/2,\, k/2)`, so power :math:`= E_W[P(|T_{\nu,\lambda W}| > q)]`, a
    one-dimensional integral over :math:`U = W^2`, computed by 20-node Gauss quadrature for the
    Beta weight (:func:`beta_quadrature`; agrees with adaptive QUADPACK integration to 1e-12). It is
    exact for the bivariate-normal trial :mod:`tme.planning.trials` simulates.

Sample size (per arm, equal arms, continuous :math:`n`) and the minimum detectable effect solve
power = target with Brent's method (:func:`scipy.optimize.brentq`, ``xtol`` 1e-12), like R's
``uniroot``; round :math:`n` up for a design.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import optimize, special, stats

from tme.errors import TmeInputError

METHODS = ("exact", "noncentral_t")


def _two_tailed(q: float, df: float, ncp: np.ndarray | float) -> np.ndarray | float:
    """P(|T| > q) for T ~ nct(df, ncp): the lower tail as P(-T > q) with -T ~ nct(df, -ncp).

    ``special.nctdtr`` (the CDF, 2 us a call) is the same Boost function as ``stats.nct`` without its
    argument checks (50 us), which the sample-size searches call thousands of times; where it returns
    NaN (far in a tail) ``stats.nct.sf`` is asked instead.
    """
    tails = (1 - special.nctdtr(df, ncp, q)) + (1 - special.nctdtr(df, np.negative(ncp), q))
    if np.isnan(tails).any():
        return np.where(np.isnan(tails), stats.nct.sf(q, df, ncp) + stats.nct.sf(q, df, -ncp), tails)
    return tails


def check_levels(alpha: float, power: float | None = None) -> None:
    if not 0 < alpha < 1:
        raise TmeInputError(
            f"alpha = {alpha} is not a probability strictly between 0 and 1",
            column="alpha",
            fix="give the two-sided significance level, e.g. 0.05",
        )
    if power is not None and not alpha < power < 1:
        raise TmeInputError(
            f"target power {power} is not between alpha ({alpha}) and 1: a level-alpha test rejects with "
            "probability alpha even when there is no effect, so no sample size is needed for that power",
            column="power",
            fix="give a target power above alpha, e.g. 0.8 or 0.9",
        )


def _check_sd(residual_sd: float) -> None:
    if not (np.isfinite(residual_sd) and residual_sd > 0):
        raise TmeInputError(
            f"residual SD {residual_sd} is not a positive number",
            column="residual_sd",
            fix="check the endpoint's SD and pre-post correlation (|rho| < 1), or give prior values",
        )


def _check_method(method: str, n_covariates: int) -> None:
    if method not in METHODS:
        raise TmeInputError(f"unknown power method {method!r}", column="method", fix=f"use one of {METHODS}")
    if n_covariates < 0 or int(n_covariates) != n_covariates:
        raise TmeInputError(
            f"n_covariates = {n_covariates} is not a whole number >= 0",
            column="n_covariates",
            fix="count the baseline covariates of the ANCOVA (1: the baseline value)",
        )


def ancova_power(
    n_per_arm: float,
    difference: float,
    residual_sd: float,
    alpha: float = 0.05,
    n_covariates: int = 1,
    method: str = "exact",
    n_other_arm: float | None = None,
) -> float:
    r"""Two-sided power of the ANCOVA arm test (formulas in the module docstring).

    Parameters
    ----------
    n_per_arm
        Patients with both samples in the (first) arm; may be non-integer (expected counts).
    difference
        True between-arm difference on the analysis scale (:math:`\delta`); its sign is irrelevant.
    residual_sd
        :math:`\sigma\sqrt{1-\rho^2}`.
    alpha
        Two-sided level (already divided by the family size if the family is adjusted).
    n_covariates
        Baseline covariates ``k`` (1 = the baseline value; 0 gives the two-sample t test).
    method
        ``"exact"`` (random normal baseline, Shieh 2020) or ``"noncentral_t"`` (fixed baseline).
    n_other_arm
        Patients with both samples in the other arm (default: ``n_per_arm``).

    Examples
    --------
    >>> round(ancova_power(20, 0.5, 0.6, 0.05, n_covariates=0, method="noncentral_t"), 6)  # = pwr.t.test
    0.728468
    """
    check_levels(alpha)
    _check_sd(residual_sd)
    _check_method(method, n_covariates)
    n1 = float(n_per_arm)
    n2 = n1 if n_other_arm is None else float(n_other_arm)
    df = n1 + n2 - 2 - n_covariates
    if df < 1:
        return float("nan")
    q = -special.stdtrit(df, alpha / 2)  # t_{1-alpha/2, df}, as stats.t.isf without its overhead
    ncp = abs(difference) / (residual_sd * np.sqrt(1 / n1 + 1 / n2))
    if method == "noncentral_t" or n_covariates == 0:
        return float(_two_tailed(q, df, ncp))
    u, w = beta_quadrature((n1 + n2 - 1 - n_covariates) / 2, n_covariates / 2)
    return float(np.clip(w @ _two_tailed(q, df, ncp * np.sqrt(u)), 0.0, 1.0))


@functools.lru_cache(maxsize=4096)
def beta_quadrature(a: float, b: float, m: int = 20) -> tuple[np.ndarray, np.ndarray]:
    r"""Gauss nodes and weights (summing to 1) for expectations over :math:`U \sim \mathrm{Beta}(a, b)`.

    Golub–Welsch on the three-term recurrence of the Jacobi polynomials :math:`P^{(b-1, a-1)}` on
    [−1, 1] (Golub & Welsch, Math Comp 1969;23:221), mapped by :math:`u = (1 + x)/2`. The weights are
    the squared first components of the eigenvectors, so no Beta function is evaluated and large
    ``a`` (thousands of patients) does not overflow, unlike ``scipy.special.roots_jacobi``.
    """
    alpha, beta = b - 1.0, a - 1.0
    k = np.arange(m, dtype=float)
    s = 2 * k + alpha + beta
    with np.errstate(invalid="ignore", divide="ignore"):
        diag = np.where(k == 0, (beta - alpha) / (alpha + beta + 2), (beta**2 - alpha**2) / (s * (s + 2)))
        j = k[1:]
        s1 = 2 * j + alpha + beta
        off = np.sqrt(4 * j * (j + alpha) * (j + beta) * (j + alpha + beta) / (s1**2 * (s1 + 1) * (s1 - 1)))
    nodes, vectors = np.linalg.eigh(np.diag(diag) + np.diag(off, 1) + np.diag(off, -1))
    weights = vectors[0] ** 2
    return (1 + nodes) / 2, weights / weights.sum()


def _expand_until(f, hi: float) -> float:
    """Double ``hi`` until ``f(hi) >= 0`` (power increases with n and with the effect)."""
    for _ in range(60):
        if f(hi) >= 0:
            return hi
        hi *= 2
    raise TmeInputError(
        "no sample size up to 1e18 per arm reaches the target power",
        column="power",
        fix="check the target effect and the SD",
    )


def ancova_sample_size(
    difference: float,
    residual_sd: float,
    alpha: float = 0.05,
    power: float = 0.8,
    n_covariates: int = 1,
    method: str = "exact",
) -> float:
    """Patients with both samples per arm (continuous) at which :func:`ancova_power` equals ``power``.

    Round up for a design (``math.ceil``). The smallest n considered leaves one residual df
    (``2n - 2 - k = 1``). Raises :class:`TmeInputError` for a zero effect or ``power <= alpha``.

    Examples
    --------
    >>> round(ancova_sample_size(0.5, 0.6, 0.05, 0.8, n_covariates=0, method="noncentral_t"), 4)
    23.6047
    """
    check_levels(alpha, power)
    _check_sd(residual_sd)
    _check_method(method, n_covariates)
    if not np.isfinite(difference) or difference == 0:
        raise TmeInputError(
            f"the target effect is {difference}: a zero difference cannot be detected with any sample size "
            "(the power stays at alpha)",
            column="target_effect",
            fix="give the smallest effect worth detecting (a non-zero difference, or a fold change other than 1)",
        )
    n_lo = (3 + n_covariates) / 2

    def gap(n: float) -> float:
        return ancova_power(n, difference, residual_sd, alpha, n_covariates, method) - power

    if gap(n_lo) >= 0:
        return n_lo
    hi = _expand_until(gap, max(4.0, 2 * n_lo))
    return float(optimize.brentq(gap, n_lo, hi, xtol=1e-12, rtol=1e-14, maxiter=500))


def minimum_detectable_effect(
    n_per_arm: float,
    residual_sd: float,
    alpha: float = 0.05,
    power: float = 0.8,
    n_covariates: int = 1,
    method: str = "exact",
) -> float:
    """Smallest positive difference detected with ``power`` by ``n_per_arm`` pairs per arm.

    Examples
    --------
    >>> round(minimum_detectable_effect(20, 0.6, 0.05, 0.8, n_covariates=0, method="noncentral_t"), 5)
    0.54548
    """
    check_levels(alpha, power)
    _check_sd(residual_sd)
    _check_method(method, n_covariates)
    if 2 * n_per_arm - 2 - n_covariates < 1:
        raise TmeInputError(
            f"{n_per_arm} patients per arm leave no residual degrees of freedom for the ANCOVA",
            column="n_per_arm",
            fix=f"give at least {int(np.ceil((3 + n_covariates) / 2))} per arm",
        )

    def gap(delta: float) -> float:
        return ancova_power(n_per_arm, delta, residual_sd, alpha, n_covariates, method) - power

    # bracket around the normal approximation (z_{1-alpha/2} + z_power) * sd * sqrt(2/n)
    guess = (stats.norm.isf(alpha / 2) + stats.norm.ppf(power)) * residual_sd * np.sqrt(2 / n_per_arm)
    lo = 0.5 * guess if gap(0.5 * guess) < 0 else 0.0
    hi = _expand_until(gap, 2 * guess)
    return float(optimize.brentq(gap, lo, hi, xtol=1e-14 * residual_sd, rtol=1e-14, maxiter=500))


def inflate_for_missing(n_pairs_per_arm, missing_post):
    """Patients to randomise per arm so that ``n_pairs_per_arm`` are expected to have both samples.

    ``ceil(n / (1 - missing_post))``, with ``n`` rounded up first (Julious, *Sample sizes for
    clinical trials*, 2010, §1.6: divide by the expected proportion evaluable). Scalars give an
    ``int``; arrays (one value per simulated trial) an integer array.
    """
    missing = np.asarray(missing_post, float)
    if not np.all((missing >= 0) & (missing < 1)):
        raise TmeInputError(
            f"missing-post fraction {missing_post} is not in [0, 1)",
            column="missing_post",
            fix="give the expected share of patients without a usable post sample",
        )
    n = np.ceil(np.ceil(np.asarray(n_pairs_per_arm, float) - 1e-9) / (1 - missing) - 1e-9).astype(int)
    return int(n) if n.ndim == 0 else n
