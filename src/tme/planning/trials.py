r"""Simulated two-arm window trials from an endpoint's nuisance parameters, and their ANCOVA at once.

Model (one endpoint, ``n`` patients randomised to each arm, patients independent):

.. math::
    x = \mu + \sigma_x z_1, \qquad
    y = \mu + d_{ref} + \delta\,[\text{treatment}] + \sigma_y(\rho z_1 + \sqrt{1-\rho^2}\, z_2),

:math:`z_1, z_2` independent standard normal: pre (:math:`x`) and post (:math:`y`) bivariate normal
within arm with the endpoint's ``baseline_sd``, ``post_sd`` and ``rho``; the reference arm drifts by
``drift_reference``, the treatment arm by that plus the design effect :math:`\delta`. Post values
go missing at random given the baseline (MAR): :math:`P(\text{missing} \mid x) =
\mathrm{expit}(a + b z_1)` with slope ``missing_slope`` :math:`b` (log-odds per baseline SD; 0 =
missing completely at random) and :math:`a` solved so that the average is ``missing_post``.

:func:`ancova_many` fits ``post ~ pre + arm`` to every simulated trial at once (closed-form OLS of
one covariate and two groups: pooled within-arm slope :math:`b = S_{xy}/S_{xx}`,
:math:`\hat\delta = (\bar y_1 - \bar y_0) - b(\bar x_1 - \bar x_0)`, residual SS
:math:`S_{yy} - S_{xy}^2/S_{xx}` on :math:`n - 3` df, :math:`\mathrm{Var}(\hat\delta) =
s^2(1/n_0 + 1/n_1 + (\bar x_1 - \bar x_0)^2/S_{xx})`), equal to :func:`tme.stats.ancova` on each
trial (tested to 1e-10).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

from tme.errors import TmeInputError
from tme.planning.moments import within_arm_sums


@dataclass(frozen=True)
class Trials:
    """``n_trials`` simulated trials of one endpoint: ``pre`` and ``post`` are ``(n_trials, n_patients)``
    (NaN: no value), ``treated`` is ``(n_patients,)`` (True = treatment arm)."""

    pre: np.ndarray
    post: np.ndarray
    treated: np.ndarray


#: An analysis of simulated trials: two-sided p-value per trial (NaN = not estimable, not rejected).
Analysis = Callable[[Trials], np.ndarray]


@dataclass(frozen=True)
class TrialModel:
    """Parameters of one endpoint's simulated trials (see the module docstring)."""

    baseline_sd: float
    post_sd: float
    rho: float
    drift_reference: float = 0.0
    missing_post: float = 0.0
    missing_slope: float = 0.0
    baseline_mean: float = 0.0

    def __post_init__(self) -> None:
        if not (self.baseline_sd > 0 and self.post_sd > 0 and -1 < self.rho < 1 and 0 <= self.missing_post < 1):
            raise TmeInputError(
                f"trial model {self} is not usable",
                column="nuisance",
                fix="SDs > 0, -1 < rho < 1, missing_post in [0, 1)",
            )

    @property
    def residual_sd(self) -> float:
        return self.post_sd * float(np.sqrt(1 - self.rho**2))

    @classmethod
    def from_row(cls, row: Mapping, missing_slope: float = 0.0) -> TrialModel:
        """From a row of :func:`tme.planning.estimate_nuisance`."""
        return cls(
            float(row["baseline_sd"]),
            float(row["post_sd"]),
            float(row["rho"]),
            float(row["drift_reference"]),
            float(row["missing_post"]),
            missing_slope,
        )


def _missing_intercept(rate: float, slope: float) -> float:
    """``a`` with ``E[expit(a + slope Z)] = rate`` for standard normal Z (Gauss–Hermite, 60 nodes)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    weights = weights / weights.sum()
    if slope == 0:
        return float(special.logit(rate))
    return float(optimize.brentq(lambda a: weights @ special.expit(a + slope * nodes) - rate, -50, 50, xtol=1e-12))


def simulate_trials(
    model: TrialModel, n_per_arm: int, difference: float, n_trials: int, rng: np.random.Generator
) -> Trials:
    """``n_trials`` trials with ``n_per_arm`` patients randomised to each arm (module docstring)."""
    if n_per_arm < 2 or n_trials < 1:
        raise TmeInputError(
            f"cannot simulate {n_trials} trials of {n_per_arm} patients per arm",
            column="n_per_arm",
            fix="give at least 2 patients per arm and 1 trial",
        )
    treated = np.repeat([False, True], n_per_arm)
    z1 = rng.standard_normal((n_trials, 2 * n_per_arm))
    z2 = rng.standard_normal((n_trials, 2 * n_per_arm))
    pre = model.baseline_mean + model.baseline_sd * z1
    post = (
        model.baseline_mean
        + model.drift_reference
        + difference * treated
        + model.post_sd * (model.rho * z1 + np.sqrt(1 - model.rho**2) * z2)
    )
    if model.missing_post > 0:
        a = _missing_intercept(model.missing_post, model.missing_slope)
        post[rng.random(post.shape) < special.expit(a + model.missing_slope * z1)] = np.nan
    return Trials(pre, post, treated)


@dataclass(frozen=True)
class AncovaFits:
    """Per-trial ANCOVA arm effect: ``estimate, se, df, p`` arrays (NaN where not estimable)."""

    estimate: np.ndarray
    se: np.ndarray
    df: np.ndarray
    p: np.ndarray


def ancova_many(trials: Trials) -> AncovaFits:
    """OLS ``post ~ pre + arm`` of every trial (module docstring); patients missing a value are left out."""
    m = within_arm_sums(trials.pre, trials.post, trials.treated)
    df = m.n[0] + m.n[1] - 3.0
    valid = (m.n[0] >= 1) & (m.n[1] >= 1) & (df >= 1) & (m.sxx > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = m.sxy / m.sxx
        gap_x = m.mean_x[1] - m.mean_x[0]
        estimate = (m.mean_y[1] - m.mean_y[0]) - slope * gap_x
        s2 = (m.syy - m.sxy * slope) / df
        se = np.sqrt(s2 * (1 / m.n[0] + 1 / m.n[1] + gap_x**2 / m.sxx))
        p = 2 * stats.t.sf(np.abs(estimate / se), df)
        valid &= se > 0
    nan = np.full(len(df), np.nan)
    return AncovaFits(
        np.where(valid, estimate, nan), np.where(valid, se, nan), np.where(valid, df, nan), np.where(valid, p, nan)
    )


def ancova_analysis(trials: Trials) -> np.ndarray:
    """The default :data:`Analysis`: two-sided p of the ANCOVA arm effect (:func:`ancova_many`)."""
    return ancova_many(trials).p
