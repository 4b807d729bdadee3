"""Paired t, Welch t and ANCOVA, matching R's ``t.test`` and ``lm`` (R 4.2).

* Paired t: ``d = post - pre``, ``t = mean(d) / (sd(d)/sqrt(n))`` on ``n - 1`` df.
* Welch t on changes (treatment ``x`` minus reference ``y``):
  ``t = (mean(x) - mean(y)) / sqrt(s_x^2/n_x + s_y^2/n_y)`` with Welch–Satterthwaite df
  ``(s_x^2/n_x + s_y^2/n_y)^2 / ((s_x^2/n_x)^2/(n_x-1) + (s_y^2/n_y)^2/(n_y-1))``.
* ANCOVA (Vickers & Altman, BMJ 2001;323:1123): OLS ``post = b0 + b1 pre + b2 arm + g'z + e``
  with ``arm = 1`` for the treatment arm; ``b2`` is the baseline-adjusted between-arm difference
  in post values, which equals the difference in change adjusted for baseline. SE from
  ``s^2 (X'X)^{-1}``, t on ``n - rank(X)`` df; :func:`ancova_hc3` gives the same coefficient with
  the HC3 sandwich SE.

No variation (SE exactly 0, e.g. every change of an arm is 0): the estimate and ``se = 0`` are
reported, CI, statistic and p are NaN and the note says why. This is what R's ``t.test`` returns
for all-zero changes (estimate 0, ``stderr`` 0, t NaN, p NA); for equal non-zero changes R stops
("data are essentially constant") while tme reports the estimate the same way — a mean with no
spread is a fact about the data, and a test of it is undefined rather than significant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tme.stats.result import Estimate, not_estimable, t_estimate


def _t_result(estimate: float, se: float, df: float, conf_level: float, method: str) -> Estimate:
    """t interval and test; with ``se == 0`` the estimate and SE stand, no test (module doc)."""
    if se == 0 and np.isfinite(estimate):
        return Estimate(
            float(estimate),
            0.0,
            df=float(df),
            method=method,
            note="no variation (standard error 0): estimate without CI or test",
        )
    if not np.isfinite(se) or se < 0:
        return not_estimable("the standard error is not finite", method)
    return t_estimate(estimate, se, df, conf_level, method)


def paired_t(change: np.ndarray, conf_level: float = 0.95) -> Estimate:
    """One-sample t test of the paired changes (R ``t.test(post, pre, paired = TRUE)``)."""
    change = np.asarray(change, dtype=float)
    n = len(change)
    return _t_result(change.mean(), change.std(ddof=1) / np.sqrt(n), n - 1, conf_level, "paired t")


def welch_t(x: np.ndarray, y: np.ndarray, conf_level: float = 0.95) -> Estimate:
    """Welch two-sample t test, estimate ``mean(x) - mean(y)`` (R ``t.test(x, y)``)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    se = np.sqrt(vx + vy)
    df = (vx + vy) ** 2 / (vx**2 / (len(x) - 1) + vy**2 / (len(y) - 1)) if se > 0 else np.nan
    return _t_result(x.mean() - y.mean(), se, df, conf_level, "Welch t")


@dataclass(frozen=True)
class OlsFit:
    """OLS fit of the ANCOVA ``post ~ pre + arm (+ covariates)``: design ``x`` (columns intercept,
    pre, arm, covariates), ``beta``, ``(X'X)^-1``, residuals, leverages, residual df and
    ``sigma2 = RSS / df``."""

    x: np.ndarray
    beta: np.ndarray
    xtx_inv: np.ndarray
    resid: np.ndarray
    leverage: np.ndarray
    df: int
    sigma2: float


def ancova_design(pre, treated, covariates=None) -> np.ndarray:
    """ANCOVA design matrix: intercept, baseline, arm indicator, then the covariate columns."""
    columns = [np.ones(len(pre)), np.asarray(pre, float), np.asarray(treated, float)]
    if covariates is not None:
        columns.append(np.asarray(covariates, float).reshape(len(pre), -1))
    return np.column_stack(columns)


def fit_ols(x: np.ndarray, y: np.ndarray) -> OlsFit | str:
    """OLS of ``y`` on the full-rank design ``x``; the reason as a string when it cannot be fit."""
    y = np.asarray(y, float)
    rank = np.linalg.matrix_rank(x)
    if rank < x.shape[1]:
        return "ANCOVA design is rank-deficient"
    df = len(y) - rank
    if df < 1:
        return "no residual degrees of freedom"
    xtx_inv = np.linalg.inv(x.T @ x)
    beta = xtx_inv @ x.T @ y
    resid = y - x @ beta
    leverage = np.einsum("ij,jk,ik->i", x, xtx_inv, x)
    return OlsFit(x, beta, xtx_inv, resid, leverage, df, float(resid @ resid / df))


def ancova(
    pre: np.ndarray,
    post: np.ndarray,
    treated: np.ndarray,
    covariates: np.ndarray | None = None,
    conf_level: float = 0.95,
) -> Estimate:
    """Coefficient of ``arm`` in OLS ``post ~ pre + arm (+ covariates)`` (R ``lm`` + ``confint``).

    ``covariates`` is an (n, k) numeric matrix (see :func:`tme.stats.design.covariate_matrix`).
    A rank-deficient design returns NaN with a note (the caller explains which covariate).
    """
    fit = fit_ols(ancova_design(pre, treated, covariates), post)
    if isinstance(fit, str):
        return not_estimable(fit, "OLS")
    return _t_result(fit.beta[2], np.sqrt(fit.sigma2 * fit.xtx_inv[2, 2]), fit.df, conf_level, "OLS")


def ancova_hc3(
    pre: np.ndarray,
    post: np.ndarray,
    treated: np.ndarray,
    covariates: np.ndarray | None = None,
    conf_level: float = 0.95,
) -> Estimate:
    """ANCOVA arm coefficient with the HC3 sandwich SE (robust to unequal residual variances).

    ``V = (X'X)^-1 X' diag(e_i^2 / (1 - h_ii)^2) X (X'X)^-1`` (MacKinnon & White, J Econometrics
    1985;29:305; Long & Ervin, Am Stat 2000;54:217 recommend HC3 for small samples); ``h_ii`` the
    leverages. The t test and CI use the residual df ``n - p``, as R
    ``lmtest::coeftest(fit, vcov = sandwich::vcovHC(fit, type = "HC3"))`` and ``coefci`` do. A
    patient with leverage 1 (fit exactly by its own parameter) makes HC3 undefined: NaN, noted.
    """
    fit = fit_ols(ancova_design(pre, treated, covariates), post)
    method = "OLS, HC3 sandwich SE"
    if isinstance(fit, str):
        return not_estimable(fit, method)
    if np.any(fit.leverage > 1 - 1e-10):
        return not_estimable("a patient has leverage 1: the HC3 SE is undefined", method)
    bread = fit.xtx_inv @ fit.x.T
    weights = (fit.resid / (1 - fit.leverage)) ** 2
    variance = (bread * weights) @ bread.T
    return _t_result(fit.beta[2], np.sqrt(variance[2, 2]), fit.df, conf_level, method)
