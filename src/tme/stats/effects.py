"""Readable between-arm effects: adjusted arm means, back-transformed ratios, standardised effects.

All three re-express the primary ANCOVA ``post = b0 + b1 pre + b2 arm + g'z + e``
(:func:`tme.stats.parametric.ancova`) for readers who do not think on the analysis scale.

**Adjusted arm means (LS means)**: the model's mean post value of each arm at the mean baseline
and the mean of every covariate column over the patients analysed,
``m_a = b0 + b1 mean(pre) + b2 a + g' mean(z)``, with ``SE = sqrt(s^2 c'(X'X)^-1 c)`` and a t
interval on the residual df. The **adjusted mean change** of an arm is ``m_a − mean(pre)``: the
change from the common mean baseline the model predicts for that arm (same SE and CI width, the
baseline being conditioned on); their difference is ``b2``. For numeric covariates this is R
``emmeans(fit, "arm")``; for a dummy-coded factor it is the observed mix of its levels, i.e. ``emmeans(..., weights =
"proportional")`` (emmeans' default would weight the levels equally). Their difference is ``b2``.

**Ratio (log-scale features)**: if the analysis value is ``log_B(x + k)``, ``b2`` is the adjusted
difference in mean ``log_B(x + k)``, so ``B^b2`` (and ``B^`` of the CI limits) is the ratio,
treatment / reference, of the baseline-adjusted geometric means of ``x + k`` at post:

* ``log2`` (``k = 0``, e.g. normalised log2 NanoString values): the fold change of the geometric
  mean expression;
* ``log2(x+1)`` (log2(CPM + 1) expression, immune ``log2``): the ratio of geometric means of
  ``CPM + 1`` (``x + 1``); close to the fold change of expression only where ``x`` is well above 1;
* ``log1p`` (densities, cells/mm²): ``exp(b2)`` is the ratio of the geometric means of
  ``1 + density``, **not** a ratio of densities; it approaches the density ratio only when
  densities are much larger than 1 cell/mm², and is pulled towards 1 by near-zero densities;
* ``logit`` (fractions): ``exp(b2)`` is the ratio of the geometric-mean odds ``x / (1 - x)``;
* ``none`` (scores, percentages): no ratio (NaN).

**Standardised effect**: ``b2 / s_pre``, with ``s_pre`` the pooled within-arm SD of the baseline
values of the patients analysed, ``s_pre^2 = ((n_r - 1) s_r^2 + (n_t - 1) s_t^2) / (n_r + n_t - 2)``
(the pretest-SD standardiser of Morris, Organ Res Methods 2008;11:364, without his small-sample
bias correction). Its CI is the ANCOVA CI divided by ``s_pre``: ``s_pre`` is a function of the
baseline values, on which the ANCOVA conditions, so it is treated as a fixed scale and the
standardised CI has the coverage and the p-value of the primary analysis. It does not carry the
sampling error of ``s_pre`` as an estimate of the population SD, so it is slightly narrower than
a CI for the population standardised effect would be. Endpoints on different scales can share one
forest-plot axis in these units.
"""

from __future__ import annotations

import numpy as np

from tme.stats.parametric import ancova, ancova_design, fit_ols
from tme.stats.result import t_quantile

#: transform → (base B, offset k) of the analysis value ``log_B(x + k)``, and the ratio's meaning
BACK_TRANSFORMS: dict[str, tuple[float, float, str] | None] = {
    "none": None,
    "log2": (2.0, 0.0, "fold change: ratio of geometric means, treatment / reference"),
    "log2(x+1)": (2.0, 1.0, "ratio of geometric means of (x + 1), treatment / reference"),
    "log10": (10.0, 0.0, "ratio of geometric means, treatment / reference"),
    "log": (np.e, 0.0, "ratio of geometric means, treatment / reference"),
    "log1p": (np.e, 1.0, "ratio of geometric means of (1 + x), treatment / reference; not a ratio of x"),
    "logit": (np.e, 0.0, "ratio of geometric-mean odds x / (1 - x), treatment / reference"),
}

LSMEAN_COLUMNS = [
    f"lsmean_{arm}{suffix}" for arm in ("reference", "treatment") for suffix in ("", "_se", "_ci_low", "_ci_high")
]
#: the mean baseline the LS means are evaluated at, and each arm's adjusted mean change from it
CHANGE_COLUMNS = [
    "baseline_mean",
    *(f"adjusted_change_{arm}{suffix}" for arm in ("reference", "treatment") for suffix in ("", "_ci_low", "_ci_high")),
]
RATIO_COLUMNS = ["ratio", "ratio_ci_low", "ratio_ci_high", "ratio_meaning"]
STANDARDISED_COLUMNS = ["baseline_sd", "std_effect", "std_effect_ci_low", "std_effect_ci_high"]
#: columns added to an ``effects_between_arms`` ANCOVA row by :func:`readable_effects`
READABLE_COLUMNS = [*LSMEAN_COLUMNS, *CHANGE_COLUMNS, *RATIO_COLUMNS, *STANDARDISED_COLUMNS]


def ls_means(pre, post, treated, covariates=None, conf_level: float = 0.95) -> dict:
    """Adjusted mean post value per arm at the mean baseline and covariates (module docstring).

    Returns the :data:`LSMEAN_COLUMNS` (NaN when the ANCOVA cannot be fit).
    """
    x = ancova_design(pre, treated, covariates)
    fit = fit_ols(x, post)
    if isinstance(fit, str):
        return dict.fromkeys([*LSMEAN_COLUMNS, *CHANGE_COLUMNS], np.nan)
    quantile = t_quantile(conf_level, fit.df)
    baseline = float(x[:, 1].mean())
    out = {"baseline_mean": baseline}
    for arm, indicator in (("reference", 0.0), ("treatment", 1.0)):
        at = x.mean(axis=0)
        at[2] = indicator
        mean = float(at @ fit.beta)
        se = float(np.sqrt(fit.sigma2 * at @ fit.xtx_inv @ at))
        low, high = mean - quantile * se, mean + quantile * se
        out |= {
            f"lsmean_{arm}": mean,
            f"lsmean_{arm}_se": se,
            f"lsmean_{arm}_ci_low": low,
            f"lsmean_{arm}_ci_high": high,
            f"adjusted_change_{arm}": mean - baseline,
            f"adjusted_change_{arm}_ci_low": low - baseline,
            f"adjusted_change_{arm}_ci_high": high - baseline,
        }
    return out


def back_transformed_ratio(estimate: float, ci_low: float, ci_high: float, transform: str) -> dict:
    """``B^estimate`` and ``B^`` of the CI limits for a feature analysed as ``log_B(x + k)``.

    ``transform`` is a key of :data:`BACK_TRANSFORMS`; ``none`` gives NaN and an empty meaning.
    """
    if transform not in BACK_TRANSFORMS:
        raise ValueError(f"unknown transform {transform!r}; expected one of {sorted(BACK_TRANSFORMS)}")
    spec = BACK_TRANSFORMS[transform]
    if spec is None:
        return {"ratio": np.nan, "ratio_ci_low": np.nan, "ratio_ci_high": np.nan, "ratio_meaning": ""}
    base, _, meaning = spec
    return {
        "ratio": float(base**estimate),
        "ratio_ci_low": float(base**ci_low),
        "ratio_ci_high": float(base**ci_high),
        "ratio_meaning": meaning,
    }


def pooled_baseline_sd(pre, treated) -> float:
    """Pooled within-arm SD of the baseline values (n − 1 in each arm)."""
    pre, treated = np.asarray(pre, float), np.asarray(treated, float)
    groups = [g for g in (pre[treated == 0.0], pre[treated == 1.0]) if len(g)]
    dof = sum(len(g) - 1 for g in groups)
    if dof < 1:
        return np.nan
    return float(np.sqrt(sum(((g - g.mean()) ** 2).sum() for g in groups) / dof))


def standardised_effect(estimate: float, ci_low: float, ci_high: float, baseline_sd: float) -> dict:
    """Estimate and CI divided by the pooled baseline SD (module docstring); NaN if the SD is 0."""
    sd = baseline_sd if baseline_sd > 0 else np.nan
    return {
        "baseline_sd": baseline_sd,
        "std_effect": estimate / sd,
        "std_effect_ci_low": ci_low / sd,
        "std_effect_ci_high": ci_high / sd,
    }


def readable_effects(
    pre, post, treated, covariates=None, transform: str = "none", conf_level: float = 0.95, ancova_result=None
) -> dict:
    """The :data:`READABLE_COLUMNS` of one feature's ANCOVA row.

    Parameters
    ----------
    pre, post, treated, covariates
        The paired patients' baseline and post values, arm indicator (1 = treatment) and baseline
        covariate matrix, exactly as passed to :func:`tme.stats.parametric.ancova`.
    transform
        The feature's analysis transform (a key of :data:`BACK_TRANSFORMS`).
    conf_level
        Confidence level of every interval.
    ancova_result
        The feature's :class:`~tme.stats.result.Estimate` from ``ancova`` if already computed.
    """
    result = ancova_result or ancova(pre, post, treated, covariates, conf_level)
    return (
        ls_means(pre, post, treated, covariates, conf_level)
        | back_transformed_ratio(result.estimate, result.ci_low, result.ci_high, transform)
        | standardised_effect(result.estimate, result.ci_low, result.ci_high, pooled_baseline_sd(pre, treated))
    )
