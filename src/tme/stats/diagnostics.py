"""Residual diagnostics of the primary ANCOVA ``post ~ pre + arm (+ covariates)``, per endpoint.

Three checks, one tidy row each (:data:`DIAGNOSTIC_COLUMNS`), plus a per-patient table
(:data:`RESIDUAL_COLUMNS`) for the figure (:func:`tme.plots.sensitivity.diagnostics_figure`):

``shapiro_wilk``
    Shapiro–Wilk test of the OLS residuals ``e = post - X b`` (Shapiro & Wilk, Biometrika
    1965;52:591; Royston's algorithm AS R94 in :mod:`tme.stats.normality`, as R ``shapiro.test(residuals(fit))``);
    ``statistic`` = W. Needs 3–5000 patients. ANCOVA's t test is robust to moderate
    non-normality, so a small p is a prompt to look at the figure and the rank-based analyses,
    not a verdict.
``arm_x_baseline``
    Whether the baseline slope differs by arm: the ``pre × arm`` coefficient of
    ``post ~ pre + arm + pre:arm (+ covariates)`` with its t test on ``n - p - 1`` df (R
    ``summary(lm(post ~ pre * arm + ...))``); ``estimate``/``se`` are the difference in slopes
    (treatment − reference). If present, the arm effect depends on the baseline level and the
    ANCOVA estimate is the effect at the mean baseline.
``cooks_distance``
    Cook's distance of every patient, ``D_i = e_i^2 h_ii / (p s^2 (1 - h_ii)^2)`` (Cook,
    Technometrics 1977;19:15; R ``cooks.distance``), ``p`` the number of coefficients,
    ``s^2 = RSS / (n - p)``. ``statistic`` is the largest ``D_i``; patients with
    ``D_i > 4 / n`` (the usual rule of thumb, ``n`` patients analysed; Bollen & Jackman 1990)
    are listed in ``patients`` as ``id (D)``, largest first. They are not removed: the row says
    whose data the conclusion leans on.

``flagged`` is True when ``p < alpha`` (first two) or any patient exceeds ``4 / n``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tme.stats.normality import shapiro_wilk
from tme.stats.parametric import ancova_design, fit_ols
from tme.stats.result import t_two_sided_p

DIAGNOSTIC_COLUMNS = [
    "feature",
    "check",
    "estimate",
    "se",
    "statistic",
    "df",
    "p",
    "threshold",
    "flagged",
    "patients",
    "n",
    "note",
]
RESIDUAL_COLUMNS = [
    "feature",
    "patient_id",
    "treated",
    "fitted",
    "residual",
    "leverage",
    "cooks_distance",
    "influential",
]


def _row(check: str, **values) -> dict:
    base = dict.fromkeys(DIAGNOSTIC_COLUMNS, np.nan) | {"check": check, "flagged": False, "patients": "", "note": ""}
    return base | values


def _shapiro(resid: np.ndarray, alpha: float) -> dict:
    if not 3 <= len(resid) <= 5000 or np.ptp(resid) == 0:
        return _row("shapiro_wilk", n=len(resid), note="Shapiro-Wilk needs 3 to 5000 residuals that are not all equal")
    w, p = shapiro_wilk(resid)
    return _row("shapiro_wilk", statistic=float(w), p=float(p), threshold=alpha, flagged=bool(p < alpha), n=len(resid))


def _interaction(x: np.ndarray, post: np.ndarray, alpha: float) -> dict:
    x_int = np.column_stack([x, x[:, 1] * x[:, 2]])
    fit = fit_ols(x_int, post)
    if isinstance(fit, str):
        return _row("arm_x_baseline", n=len(post), note=f"interaction model: {fit}")
    k = x_int.shape[1] - 1
    estimate, se = float(fit.beta[k]), float(np.sqrt(fit.sigma2 * fit.xtx_inv[k, k]))
    if se == 0:
        return _row("arm_x_baseline", estimate=estimate, se=se, n=len(post), note="residuals are 0: no test")
    t = estimate / se
    p = t_two_sided_p(t, fit.df)
    return _row(
        "arm_x_baseline",
        estimate=estimate,
        se=se,
        statistic=t,
        df=float(fit.df),
        p=p,
        threshold=alpha,
        flagged=bool(p < alpha),
        n=len(post),
    )


def cooks_distance(x: np.ndarray, post: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(fitted, residual, leverage, D)`` of the OLS fit of ``post`` on ``x`` (NaN where h = 1)."""
    fit = fit_ols(x, post)
    if isinstance(fit, str):
        nan = np.full(len(post), np.nan)
        return nan, nan, nan, nan
    with np.errstate(divide="ignore", invalid="ignore"):
        d = fit.resid**2 * fit.leverage / (x.shape[1] * fit.sigma2 * (1 - fit.leverage) ** 2)
    d[fit.leverage > 1 - 1e-10] = np.nan
    return np.asarray(post, float) - fit.resid, fit.resid, fit.leverage, d


def residual_diagnostics(
    feature: str, pre, post, treated, covariates=None, patient_ids=None, alpha: float = 0.05
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The three checks of the module docstring for one endpoint's paired patients.

    Parameters
    ----------
    feature
        Endpoint / feature name written in every row.
    pre, post, treated, covariates
        As for :func:`tme.stats.parametric.ancova` (paired patients only).
    patient_ids
        Labels for the influential patients (default ``0..n-1``).
    alpha
        Level of the Shapiro–Wilk and interaction flags.

    Returns
    -------
    ``(checks, residuals)``: three rows with :data:`DIAGNOSTIC_COLUMNS`, and one row per patient
    with :data:`RESIDUAL_COLUMNS`.
    """
    post = np.asarray(post, float)
    n = len(post)
    ids = np.asarray(patient_ids if patient_ids is not None else np.arange(n)).astype(str)
    x = ancova_design(pre, treated, covariates)
    fitted, resid, leverage, d = cooks_distance(x, post)
    threshold = 4 / n if n else np.nan
    influential = d > threshold
    order = np.argsort(-np.nan_to_num(d, nan=np.inf), kind="stable")
    listed = "; ".join(f"{ids[i]} ({d[i]:.3g})" for i in order if influential[i])
    largest = float(np.nanmax(d)) if np.isfinite(d).any() else np.nan
    cooks = _row(
        "cooks_distance",
        statistic=largest,
        threshold=threshold,
        flagged=bool(influential.any()),
        patients=listed,
        n=n,
        note="leverage 1 (Cook's distance undefined) for some patient"
        if np.isnan(d).any() and np.isfinite(resid).all()
        else "",
    )
    checks = [
        _shapiro(resid, alpha) if np.isfinite(resid).all() else _row("shapiro_wilk", n=n, note="ANCOVA cannot be fit"),
        _interaction(x, post, alpha),
        cooks,
    ]
    table = pd.DataFrame(checks).assign(feature=feature).reindex(columns=DIAGNOSTIC_COLUMNS)
    residuals = pd.DataFrame(
        {
            "feature": feature,
            "patient_id": ids,
            "treated": np.asarray(treated, float),
            "fitted": fitted,
            "residual": resid,
            "leverage": leverage,
            "cooks_distance": d,
            "influential": influential,
        }
    )
    return table, residuals
