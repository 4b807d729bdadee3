"""Patient-level bootstrap BCa CI for the between-arm difference in mean change.

The statistic is ``mean(change | treatment) - mean(change | reference)``. Patients (one change
each) are resampled with replacement within each arm (stratified, so arm sizes stay fixed),
``B`` times with ``numpy.random.default_rng(seed)``. The CI is the bias-corrected and accelerated
(BCa) interval (Efron, JASA 1987;82:171; Efron & Tibshirani 1993, ch. 14) — not the plain
percentile interval: its limits are bootstrap quantiles at levels moved by the bias correction
``z0`` and the acceleration ``a``:
``z0 = Phi^{-1}(#{theta*_b < theta_hat} / B)``, acceleration
``a = sum(d_i^3) / (6 (sum d_i^2)^{3/2})`` with ``d_i`` the leave-one-patient-out jackknife
deviations ``mean(theta_(.)) - theta_(i)``, and limits at the quantiles
``Phi(z0 + (z0 + z_q) / (1 - a (z0 + z_q)))`` for ``z_q = Phi^{-1}(alpha/2)`` and
``Phi^{-1}(1 - alpha/2)`` (numpy's default linear quantile interpolation). ``se`` is the SD of
the bootstrap distribution. A bootstrap gives no p-value here (``p`` is NaN).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from tme.stats.result import Estimate, not_estimable


def bootstrap_mean_change_difference(
    change_treatment: np.ndarray,
    change_reference: np.ndarray,
    n_resamples: int = 2000,
    seed: int = 0,
    conf_level: float = 0.95,
) -> Estimate:
    """BCa bootstrap CI of ``mean(change_treatment) - mean(change_reference)``."""
    ct = np.asarray(change_treatment, float)
    cr = np.asarray(change_reference, float)
    method = f"BCa bootstrap, {n_resamples} patient-level resamples within arm, seed {seed}"
    estimate = ct.mean() - cr.mean()
    rng = np.random.default_rng(seed)
    boot = ct[rng.integers(0, len(ct), (n_resamples, len(ct)))].mean(axis=1) - cr[
        rng.integers(0, len(cr), (n_resamples, len(cr)))
    ].mean(axis=1)
    if np.ptp(boot) == 0 or np.mean(boot < estimate) in (0.0, 1.0):
        return not_estimable("bootstrap distribution degenerate (no variation in changes)", method)
    jack = np.concatenate(
        [
            (ct.sum() - ct) / (len(ct) - 1) - cr.mean(),
            ct.mean() - (cr.sum() - cr) / (len(cr) - 1),
        ]
    )
    low, high = bca_interval(float(estimate), boot, jack, conf_level)
    return Estimate(float(estimate), float(boot.std(ddof=1)), low, high, method=method)


def bca_interval(
    estimate: float, boot: np.ndarray, jackknife: np.ndarray, conf_level: float = 0.95
) -> tuple[float, float]:
    """BCa limits from bootstrap replicates and leave-one-out (jackknife) values (formulas above).

    NaN replicates are left out; a degenerate distribution (all replicates on one side of the
    estimate, or no variation) gives ``(nan, nan)``.
    """
    boot = np.asarray(boot, float)
    boot = boot[np.isfinite(boot)]
    jackknife = np.asarray(jackknife, float)
    jackknife = jackknife[np.isfinite(jackknife)]
    below = np.mean(boot < estimate) if len(boot) else 0.0
    if below in (0.0, 1.0) or np.ptp(boot) == 0:
        return float("nan"), float("nan")
    z0 = special.ndtri(below)  # the standard normal quantile (scipy.stats.norm.ppf without its overhead)
    dev = jackknife.mean() - jackknife
    denom = 6 * np.sum(dev**2) ** 1.5
    accel = np.sum(dev**3) / denom if denom > 0 else 0.0
    z = special.ndtri([(1 - conf_level) / 2, (1 + conf_level) / 2])
    levels = special.ndtr(z0 + (z0 + z) / (1 - accel * (z0 + z)))
    low, high = np.quantile(boot, levels)
    return float(low), float(high)
