"""Within-arm sums of squares and products, vectorised over leading axes (trials, resamples).

For arrays ``x, y`` of shape ``(..., n_patients)`` and a boolean arm vector, only patients with
both values finite count. Per arm ``g``: ``n_g``, means ``x̄_g, ȳ_g``; pooled over arms:
``S_xx = Σ_g Σ_i (x_gi − x̄_g)²``, ``S_xy``, ``S_yy`` alike. These give the pooled within-arm
SDs and correlation (:mod:`tme.planning.nuisance`) and the closed-form ANCOVA
(:mod:`tme.planning.trials`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Fewest pooled patients with both samples for a blinded variance (2 residual df of the pooled regression).
MIN_PILOT_PAIRS = 4


@dataclass(frozen=True)
class ArmSums:
    """``n``, ``mean_x``, ``mean_y``: (reference, treatment) pairs of arrays; ``sxx, sxy, syy`` pooled."""

    n: tuple[np.ndarray, np.ndarray]
    mean_x: tuple[np.ndarray, np.ndarray]
    mean_y: tuple[np.ndarray, np.ndarray]
    sxx: np.ndarray
    sxy: np.ndarray
    syy: np.ndarray


def within_arm_sums(x: np.ndarray, y: np.ndarray, treated: np.ndarray) -> ArmSums:
    """Pooled within-arm sums over patients with finite ``x`` and ``y`` (module docstring)."""
    ok = np.isfinite(x) & np.isfinite(y)
    n, mean_x, mean_y, sums = [], [], [], []
    for g in (False, True):
        w = ok & (treated == g)
        count = w.sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mx = np.where(w, x, 0).sum(axis=-1) / count
            my = np.where(w, y, 0).sum(axis=-1) / count
        dx = np.where(w, x - mx[..., None], 0)
        dy = np.where(w, y - my[..., None], 0)
        sums.append(((dx * dx).sum(-1), (dx * dy).sum(-1), (dy * dy).sum(-1)))
        n.append(count)
        mean_x.append(mx)
        mean_y.append(my)
    sxx, sxy, syy = (sums[0][i] + sums[1][i] for i in range(3))
    return ArmSums(tuple(n), tuple(mean_x), tuple(mean_y), sxx, sxy, syy)
