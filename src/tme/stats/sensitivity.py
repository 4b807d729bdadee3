"""Sensitivity analyses of one endpoint's primary ANCOVA, as tidy rows for ``sensitivity.tsv``.

Per endpoint (feature), :func:`sensitivity_analyses` returns one row per analysis
(:data:`SENSITIVITY_COLUMNS`) and the tipping-point grid (:data:`TIPPING_GRID_COLUMNS`, for
:func:`tme.plots.sensitivity.tipping_point_figure`). Estimates are treatment − reference on the
analysis scale.

Table ``sensitivity`` — one row per feature × analysis:

``feature``
    Endpoint / feature name.
``analysis``
    ``ancova`` — the primary complete-case ANCOVA ``post ~ pre + arm (+ covariates)``, repeated
    for comparison; ``ancova_hc3`` — the same coefficient with the HC3 sandwich SE
    (:func:`tme.stats.parametric.ancova_hc3`); ``clda`` — constrained longitudinal data analysis
    on every patient with ≥ 1 sample, REML, Kenward–Roger SE and df (:mod:`tme.stats.clda`);
    ``mi_mar`` — multiple imputation of missing posts within arm under MAR, ANCOVA, Rubin's rules
    with Barnard–Rubin df (:mod:`tme.stats.imputation`); ``tipping_point`` — delta-adjusted MI:
    the shift of the imputed treatment-arm posts at which the ``mi_mar`` conclusion at
    ``alpha = 1 - conf_level`` changes.
``method, model``
    Estimation and inference in words; the model formula.
``n_reference_arm, n_treatment_arm``
    Patients per arm analysed: with both samples (``ancova``, ``ancova_hc3``), with ≥ 1 sample
    (``clda``), with a baseline value (``mi_mar``, ``tipping_point``).
``n_imputed_reference, n_imputed_treatment``
    Missing post values imputed per arm (MI rows; 0 otherwise).
``estimate, se, ci_low, ci_high, statistic, df, p``
    The analysis result (CI at ``conf_level``). For ``tipping_point``: the delta-adjusted MI
    result at the tipping delta (where ``p = alpha`` and one CI limit is 0), NaN when there is
    no tipping point on the grid.
``tipping_delta, tipping_delta_sd``
    ``tipping_point`` only: the shift in the endpoint's analysis units (e.g. log1p units,
    ssGSEA units) and in pooled baseline SDs.
``fragile``
    ``tipping_point`` only: True when a significant ``mi_mar`` result is lost with a shift of at
    most ``plausible_delta_sd`` baseline SDs (default 0.5: a "moderate" standardised shift).
``note``
    Why a row is NA, or a caveat.

Grid ``tipping_grid``: ``feature, delta, delta_sd, estimate, se, ci_low, ci_high, df, p,
significant`` — the delta-adjusted MI result at each grid point.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tme.stats.clda import clda
from tme.stats.effects import pooled_baseline_sd
from tme.stats.imputation import (
    TIPPING_COLUMNS,
    default_deltas,
    impute_posts,
    mi_estimate,
    tipping_point,
)
from tme.stats.parametric import ancova, ancova_hc3
from tme.stats.result import not_estimable

SENSITIVITY_ANALYSES = ("ancova", "ancova_hc3", "clda", "mi_mar", "tipping_point")
SENSITIVITY_COLUMNS = [
    "feature",
    "analysis",
    "method",
    "model",
    "n_reference_arm",
    "n_treatment_arm",
    "n_imputed_reference",
    "n_imputed_treatment",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "statistic",
    "df",
    "p",
    "tipping_delta",
    "tipping_delta_sd",
    "fragile",
    "note",
]
TIPPING_GRID_COLUMNS = ["feature", "delta", "delta_sd", *TIPPING_COLUMNS[1:]]


def _models(n_covariates: int) -> dict[str, str]:
    cov = " + covariates" if n_covariates else ""
    cov_t = " + timepoint:covariates" if n_covariates else ""
    return {
        "ancova": f"post ~ pre + arm{cov}",
        "ancova_hc3": f"post ~ pre + arm{cov}",
        "clda": f"value ~ timepoint + arm:post{cov_t}; unstructured 2x2 covariance",
        "mi_mar": f"post ~ pre{cov} within arm (imputation); post ~ pre + arm{cov} (analysis)",
        "tipping_point": "mi_mar with the imputed treatment-arm posts shifted by delta",
    }


def _counts(mask: np.ndarray, treated: np.ndarray) -> dict:
    return {
        "n_reference_arm": int((mask & (treated == 0)).sum()),
        "n_treatment_arm": int((mask & (treated == 1)).sum()),
    }


def _tipping_row(tipping, sd: float, plausible_delta_sd: float) -> dict:
    """Result at the tipping delta, the delta in units and SDs, and the fragility flag."""
    result = tipping.at_delta.as_dict() | {"note": tipping.note}
    fragile = bool(tipping.significant_at_zero and abs(tipping.delta) <= plausible_delta_sd * sd)
    return result | {"tipping_delta": tipping.delta, "tipping_delta_sd": tipping.delta / sd, "fragile": fragile}


def sensitivity_analyses(
    feature: str,
    pre,
    post,
    treated,
    covariates=None,
    *,
    analyses=SENSITIVITY_ANALYSES,
    n_imputations: int = 50,
    seed: int = 0,
    deltas=None,
    plausible_delta_sd: float = 0.5,
    conf_level: float = 0.95,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sensitivity analyses of one endpoint (module docstring).

    Parameters
    ----------
    feature
        Endpoint / feature name.
    pre, post
        One value per patient with at least one sample, NaN where the sample is missing.
    treated
        1 for the treatment arm, 0 for the reference arm.
    covariates
        (n_patients, k) baseline covariate matrix (numeric / dummy-coded; no missing values) or
        None; the same covariates as the primary ANCOVA.
    analyses
        Which of :data:`SENSITIVITY_ANALYSES` to run (rows in this order).
    n_imputations, seed
        MI size (≥ 50 recommended) and the seed of ``numpy.random.default_rng``; use the same seed
        for every feature so that results do not depend on feature order.
    deltas
        Tipping-point shifts in the endpoint's units; default ±2 pooled baseline SDs in 0.1 SD
        steps (:func:`tme.stats.imputation.default_deltas`).
    plausible_delta_sd
        A significant result lost within this many baseline SDs is flagged ``fragile``.
    conf_level
        Confidence level of every interval; ``1 - conf_level`` is the level of the tipping point.

    Returns
    -------
    ``(rows, grid)`` with :data:`SENSITIVITY_COLUMNS` and :data:`TIPPING_GRID_COLUMNS`.
    """
    unknown = sorted(set(analyses) - set(SENSITIVITY_ANALYSES))
    if unknown:
        raise ValueError(f"unknown sensitivity analyses {unknown}; choose from {list(SENSITIVITY_ANALYSES)}")
    pre, post, treated = (np.asarray(a, float) for a in (pre, post, treated))
    z = None if covariates is None else np.asarray(covariates, float).reshape(len(pre), -1)
    with_pre = ~np.isnan(pre)
    models = _models(0 if z is None else z.shape[1])
    needs_mi = bool({"mi_mar", "tipping_point"} & set(analyses))
    imputations = impute_posts(pre, post, treated, z, n_imputations, seed) if needs_mi else None
    if deltas is None:
        deltas = default_deltas(pre[with_pre], treated[with_pre])
    sd = pooled_baseline_sd(pre[with_pre], treated[with_pre])
    sd = sd if sd > 0 else np.nan  # constant baselines: no SD units
    rows, grid = [], pd.DataFrame(columns=TIPPING_GRID_COLUMNS)
    for analysis in analyses:
        if analysis in ("mi_mar", "tipping_point"):
            counts = _counts(with_pre, treated) | _imputed(imputations)
            if isinstance(imputations, str):
                result = not_estimable(imputations).as_dict()
            elif analysis == "mi_mar":
                result = mi_estimate(imputations, conf_level).as_dict()
            else:
                tipping = tipping_point(imputations, deltas, conf_level)
                result = _tipping_row(tipping, sd, plausible_delta_sd)
                grid = tipping.grid.assign(feature=feature, delta_sd=tipping.grid["delta"] / sd)
        else:
            result, counts = _direct(analysis, pre, post, treated, z, conf_level)
        rows.append({"feature": feature, "analysis": analysis, "model": models[analysis]} | counts | result)
    table = pd.DataFrame(rows).reindex(columns=SENSITIVITY_COLUMNS)
    table["fragile"] = table["fragile"].astype("boolean")
    return table, grid.reindex(columns=TIPPING_GRID_COLUMNS)


def _imputed(imputations) -> dict:
    counts = (0, 0) if isinstance(imputations, str) else imputations.n_imputed
    return dict(zip(("n_imputed_reference", "n_imputed_treatment"), counts))


def _direct(analysis: str, pre, post, treated, z, conf_level: float) -> tuple[dict, dict]:
    """Result and patient counts of ``ancova``, ``ancova_hc3`` (paired patients) or ``clda``."""
    none_imputed = {"n_imputed_reference": 0, "n_imputed_treatment": 0}
    if analysis == "clda":
        result = clda(pre, post, treated, z, conf_level)
        return result.as_dict(), _counts(~np.isnan(pre) | ~np.isnan(post), treated) | none_imputed
    paired = ~np.isnan(pre) & ~np.isnan(post)
    fit = ancova if analysis == "ancova" else ancova_hc3
    result = fit(pre[paired], post[paired], treated[paired], None if z is None else z[paired], conf_level)
    return result.as_dict(), _counts(paired, treated) | none_imputed
