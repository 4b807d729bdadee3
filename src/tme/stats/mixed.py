"""Random-intercept mixed model ``value ~ timepoint * arm (+ covariates) + (1 | patient_id)``.

All samples are used, including patients with only one sample (valid when the missing sample is
missing at random given the observed one). The model is ``y = X b + Z u + e`` with
``u ~ N(0, s_p^2 I)``, ``e ~ N(0, s_e^2 I)``, so ``V = s_p^2 Z Z' + s_e^2 I``. Variance components
are estimated by REML (:func:`random_intercept_reml`: the profiled deviance minimised over the
variance ratio, as lme4 does); the fixed effects and their covariance are then the GLS quantities
``b = Phi X' V^{-1} y``, ``Phi = (X' V^{-1} X)^{-1}`` — the same as lme4's.

The p-value uses Satterthwaite's degrees of freedom as lmerTest does (Kuznetsova et al.,
J Stat Softw 2017;82(13)): for the contrast ``c`` (the ``timepoint = post × arm = treatment``
coefficient), ``df = 2 (c' Phi c)^2 / (g' A g)`` with ``g_k = d(c' Phi c)/d theta_k
= c' Phi X' V^{-1} V_k V^{-1} X Phi c`` for ``theta = (s_p^2, s_e^2)``, ``V_k = dV/d theta_k``, and
``A`` the inverse of the observed REML information
``I_kl = -1/2 tr(P V_k P V_l) + y' P V_k P V_l P y``, ``P = V^{-1} - V^{-1} X Phi X' V^{-1}``.
(lmerTest differentiates numerically in another parametrisation; the df agree to ~1e-4 and the
p-values to ~1e-6.) The CI is ``b ± t_{df} SE``.

At the boundary ``s_p^2 = 0`` (lme4's "singular fit") the REML optimum is not a stationary point
in ``s_p^2``, and the df depend on the parametrisation. lmerTest works in
``(theta = s_p / s_e, s_e)``; there ``c' Phi c`` depends on ``theta^2`` only, so its derivative in
``theta`` is 0 at ``theta = 0`` and only ``s_e`` contributes: the df reduce to the residual df of
the fixed-effects model, ``n - p`` (e.g. 28.000 for 16 patients × 2 samples, where the
``s_p^2``-parametrised formula gives 17.75). tme follows lmerTest: at the boundary the sums above
run over ``s_e^2`` alone, which gives ``n - p`` exactly.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from tme.stats.result import Estimate, not_estimable, t_estimate

_METHOD = "REML (profiled deviance, Brent), Satterthwaite df"


class _PatientSums:
    """Sums over each patient's samples that the profiled REML deviance needs, computed once.

    ``V / s_e^2 = I + ratio ZZ'`` is block diagonal with blocks ``I + ratio J`` (a patient with ``m``
    samples), whose inverse is ``I - ratio / (1 + ratio m) J`` and log-determinant
    ``log(1 + ratio m)``. So with ``S = Z'X`` (per-patient column sums of ``X``) and ``t = Z'y``,
    ``X'V^-1 X = X'X - S' diag(w) S`` and ``X'V^-1 y = X'y - S' diag(w) t`` with
    ``w = ratio / (1 + ratio m)``, and for the GLS residuals ``r``,
    ``r'V^-1 r = r'r - (Z'r)' diag(w) (Z'r)`` (from ``r`` itself, not by subtracting two large
    quadratic forms): each evaluation is O(n p + patients p^2), without the n x n matrix.
    """

    def __init__(self, y: np.ndarray, x: np.ndarray, groups: np.ndarray):
        _, self.patient = np.unique(groups, return_inverse=True)
        self.z = z = np.zeros((len(y), self.patient.max() + 1))
        z[np.arange(len(y)), self.patient] = 1.0
        self.m = z.sum(axis=0)
        self.s, self.t = z.T @ x, z.T @ y
        self.xtx, self.xty = x.T @ x, x.T @ y
        self.x, self.y = x, y
        self.n, self.p = x.shape


def _profiled_reml_deviance(ratio: np.ndarray, sums: _PatientSums) -> tuple[np.ndarray, np.ndarray]:
    """REML deviance profiled over ``s_e^2`` at each ``ratio = s_p^2 / s_e^2``, and that ``s_e^2``.

    With ``V = s_e^2 (I + ratio ZZ')`` the REML deviance (up to a constant) is
    ``log|I + ratio ZZ'| + log|X'(I + ratio ZZ')^{-1}X| + (n - p) log(s_e^2)`` with
    ``s_e^2 = r'(I + ratio ZZ')^{-1} r / (n - p)`` and ``r`` the GLS residuals
    (:class:`_PatientSums`). ``ratio`` is an array (a grid is evaluated in one pass).
    """
    w = ratio[:, None] / (1.0 + ratio[:, None] * sums.m)  # (ratios, patients)
    xtvx = sums.xtx - np.einsum("jp,gj,jq->gpq", sums.s, w, sums.s)
    xtvy = sums.xty - (w * sums.t) @ sums.s
    resid = sums.y - np.linalg.solve(xtvx, xtvy[..., None])[..., 0] @ sums.x.T
    per_patient = resid @ sums.z
    var_residual = (np.sum(resid**2, axis=1) - np.sum(w * per_patient**2, axis=1)) / (sums.n - sums.p)
    log_det_v = np.sum(np.log1p(ratio[:, None] * sums.m), axis=1)
    deviance = log_det_v + np.linalg.slogdet(xtvx)[1] + (sums.n - sums.p) * np.log(var_residual)
    return deviance, var_residual


def random_intercept_reml(sums: _PatientSums) -> tuple[float, float]:
    """REML estimates ``(s_p^2, s_e^2)`` of the random-intercept model.

    The REML deviance profiled over ``s_e^2`` (:func:`_profiled_reml_deviance`) is a function of
    the one ratio ``s_p^2 / s_e^2``: it is evaluated on a log grid (0 and 1e-4 … 1e4), then
    minimised by bounded Brent (xatol 1e-10) between the neighbours of the best grid point. The
    boundary ``s_p^2 = 0`` (lme4's "singular fit") is a candidate like any other. This is the
    criterion lme4 minimises (in ``theta = s_p / s_e``); the estimates agree with lme4 to ~1e-8 and
    take a fraction of a general optimiser's time (statsmodels ``MixedLM`` was 50× slower here).
    """

    def deviance(ratio: float) -> float:
        return float(_profiled_reml_deviance(np.array([ratio]), sums)[0][0])

    grid = np.concatenate([[0.0], np.logspace(-4, 4, 17)])
    values = _profiled_reml_deviance(grid, sums)[0]
    best = int(np.argmin(values))
    ratio = grid[best]
    if best > 0:
        bounds = (grid[best - 1], grid[min(best + 1, len(grid) - 1)] * (10.0 if best == len(grid) - 1 else 1.0))
        search = optimize.minimize_scalar(deviance, bounds=bounds, method="bounded", options={"xatol": 1e-10})
        if search.fun < values[best]:
            ratio = float(search.x)
    var_residual = float(_profiled_reml_deviance(np.array([ratio]), sums)[1][0])
    return ratio * var_residual, var_residual


def _satterthwaite_pieces(sums: _PatientSums, theta: np.ndarray) -> tuple:
    """GLS ``beta``, ``Phi``, the REML score on the log-variance scale, the observed information
    ``I_kl = -1/2 tr(P V_k P V_l) + y'P V_k P V_l P y`` and ``g = V^-1 X Phi`` for
    ``theta = (s_p^2, s_e^2)``, ``V_0 = ZZ'``, ``V_1 = I``.

    ``V^-1 = (I - Z diag(w) Z') / s_e^2`` with ``w = s_p^2 / (s_e^2 + s_p^2 m)`` (no inversion), and
    the traces reduce to ``Z'PZ`` and ``PZ``: ``tr(P V_0 P V_0) = ||Z'PZ||^2``,
    ``tr(P V_0 P V_1) = ||PZ||^2``, ``tr(P V_1 P V_1) = ||P||^2`` (Frobenius norms).
    """
    value, x, z = sums.y, sums.x, sums.z
    var_patient, var_residual = theta
    w = var_patient / (var_residual + var_patient * sums.m)
    v_inv = (np.eye(len(value)) - (z * w) @ z.T) / var_residual
    vx = v_inv @ x
    phi = np.linalg.inv(x.T @ vx)
    beta = phi @ (vx.T @ value)
    p_mat = v_inv - vx @ phi @ vx.T
    pz = p_mat @ z
    zpz = z.T @ pz
    py = p_mat @ value
    zpy = z.T @ py
    # d l / d log theta_k = theta_k (y'PV_kPy - tr(PV_k)) / 2
    score = theta * (np.array([zpy @ zpy, py @ py]) - np.array([np.trace(zpz), np.trace(p_mat)])) / 2
    cross_trace, cross_quadratic = np.sum(pz**2), zpy @ (pz.T @ py)
    expected = np.array([[np.sum(zpz**2), cross_trace], [cross_trace, np.sum(p_mat**2)]])
    quadratic = np.array([[zpy @ zpz @ zpy, cross_quadratic], [cross_quadratic, py @ p_mat @ py]])
    return beta, phi, score, quadratic - 0.5 * expected, vx @ phi


def mixed_model_interaction(
    value: np.ndarray,
    post: np.ndarray,
    treated: np.ndarray,
    patient: np.ndarray,
    covariates: np.ndarray | None = None,
    conf_level: float = 0.95,
) -> Estimate:
    """Timepoint × arm interaction of the random-intercept model (GLS, Satterthwaite df).

    ``post`` and ``treated`` are 0/1 indicators per sample; ``patient`` the grouping labels.
    """
    value = np.asarray(value, float)
    post = np.asarray(post, float)
    treated = np.asarray(treated, float)
    columns = [np.ones(len(value)), post, treated, post * treated]
    x = np.column_stack(columns if covariates is None else [*columns, covariates])
    if np.linalg.matrix_rank(x) < x.shape[1]:
        return not_estimable("mixed-model design is rank-deficient", _METHOD)
    sums = _PatientSums(value, x, np.asarray(patient))
    theta = np.array(random_intercept_reml(sums))
    beta, phi, score, info, g = _satterthwaite_pieces(sums, theta)
    variance = phi[3, 3]  # the interaction coefficient's
    grad = np.array([np.sum((sums.z.T @ g[:, 3]) ** 2), g[:, 3] @ g[:, 3]])  # c'Phi X'V^-1 V_k V^-1 X Phi c
    boundary = theta[0] <= 1e-8 * theta.sum()
    if boundary:
        note = "patient variance estimated at the boundary (0): df from the residual variance alone, as lmerTest"
        info, grad = info[1:, 1:], grad[1:]
    elif np.abs(score).max() > 1e-3:
        note = f"REML fit did not converge (score {np.abs(score).max():.2g})"
    else:
        note = ""
    try:
        df = 2 * variance**2 / (grad @ np.linalg.solve(info, grad))
    except np.linalg.LinAlgError:
        df = np.nan
    if not np.isfinite(df) or df <= 0:
        df = float(len(value) - x.shape[1])
        note = "; ".join(
            filter(None, [note, "Satterthwaite df unavailable (variance component at the boundary): residual df used"])
        )
    return t_estimate(float(beta[3]), float(np.sqrt(variance)), float(df), conf_level, _METHOD, note)
