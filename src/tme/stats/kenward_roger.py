"""Kenward–Roger small-sample inference for one contrast of a REML-fitted linear model.

For ``y ~ N(X b, V)`` with ``V = sum_k theta_k V_k`` linear in the covariance parameters
``theta`` (variance components, or the elements of an unstructured covariance) estimated by
REML, Kenward & Roger (Biometrics 1997;53:983) correct the plug-in covariance of the GLS
estimate, ``Phi = (X' V^-1 X)^-1``, for the uncertainty of ``theta``:

    ``Phi_A = Phi + 2 Phi [sum_ij W_ij (Q_ij - P_i Phi P_j)] Phi``,
    ``P_i = -X' V^-1 V_i V^-1 X``,  ``Q_ij = X' V^-1 V_i V^-1 V_j V^-1 X``,

with ``W`` the inverse of the expected REML information ``1/2 tr(P V_i P V_j)``
(``P = V^-1 - V^-1 X Phi X' V^-1``); the second-derivative term ``R_ij`` vanishes because ``V`` is
linear in ``theta``. For a single contrast ``c`` their scaled F statistic has scale 1 and
denominator df ``m = 2 (c'Phi c)^2 / (g' W g)``, ``g_i = c' Phi P_i Phi c`` (a Satterthwaite df
with the expected information), so the test is ``t = c'b / sqrt(c' Phi_A c)`` on ``m`` df. This
is what R ``pbkrtest::vcovAdj`` and ``get_Lb_ddf`` compute for lme4 fits (tested against them,
tests/test_stats_signoff_parity.py).
"""

from __future__ import annotations

import numpy as np


def kenward_roger(x: np.ndarray, v_k: list[np.ndarray], theta: np.ndarray, contrast: np.ndarray) -> tuple[float, float]:
    """``(c' Phi_A c, m)``: the Kenward–Roger variance of ``c'b`` and its df (module docstring).

    ``x``: fixed-effects design (n, p); ``v_k``: the matrices ``dV / d theta_k`` (n, n);
    ``theta``: REML estimates; ``contrast``: ``c`` (p,). NaN df when ``W`` is singular or
    ``g' W g`` is not positive.
    """
    v_inv = np.linalg.inv(sum(t * v for t, v in zip(theta, v_k)))
    vx = v_inv @ x
    phi = np.linalg.inv(x.T @ vx)
    p_mat = v_inv - vx @ phi @ vx.T
    half = [vi @ vx for vi in v_k]  # V_i V^-1 X
    p_k = [-(vx.T @ h) for h in half]
    pv = [p_mat @ vi for vi in v_k]
    info = 0.5 * np.array([[np.sum(a * b.T) for b in pv] for a in pv])
    try:
        w = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return float(contrast @ phi @ contrast), np.nan
    k = len(v_k)
    correction = sum(
        w[i, j] * (half[i].T @ v_inv @ half[j] - p_k[i] @ phi @ p_k[j]) for i in range(k) for j in range(k)
    )
    phi_a = phi + 2 * phi @ correction @ phi
    variance = float(contrast @ phi @ contrast)
    g = np.array([contrast @ phi @ p @ phi @ contrast for p in p_k])
    denominator = g @ w @ g
    df = 2 * variance**2 / denominator if denominator > 0 else np.nan
    return float(contrast @ phi_a @ contrast), float(df)
