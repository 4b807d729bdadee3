"""Run the paired statistics as the analysis plan says: families and order, covariates, populations.

:func:`analyse` takes the assembled features (values and feature info, :mod:`tme.features`) and the
sample sheet and returns the tables the workflow writes:

* ``within`` — :func:`tme.stats.changes_within_arm` (descriptive in a two-arm trial; the inference of
  a single-arm study), adjusted per family with the plan's procedures;
* ``between`` — :func:`tme.stats.effects_between_arms` for the plan's primary and sensitivity
  analyses in the intention-to-treat population, adjusted for the plan's strata and baseline
  covariates, then the primary analysis again in the per-protocol population when the plan defines
  one (``population`` column); absent for a single-arm study. Each feature has its own primary
  analysis (``primary_analysis`` of :meth:`tme.plan.AnalysisPlan.feature_table`: the plan's, or
  ``mann_whitney_change`` for an ordinal or bounded IHC score, or the endpoint's ``analysis``); the
  boolean column ``primary_analysis`` after ``analysis`` marks its rows, and a family's multiplicity
  is taken over them (family × primary rows × population; other rows by analysis as before);
* ``sensitivity``, ``tipping_grid``, ``diagnostics``, ``residuals`` — for the plan's confirmatory
  endpoints (primary, key secondary): the missing-post sensitivity analyses
  (:func:`tme.stats.sensitivity_analyses`: complete-case ANCOVA, HC3, cLDA, MI under MAR and the
  delta-adjusted tipping point with its grid) and the primary ANCOVA's residual diagnostics
  (:func:`tme.stats.residual_diagnostics`), each with the plan's baseline covariates;
* ``pooled`` — blinded runs: the pooled pre → post change only (nothing arm-wise).

``within``, ``between`` and ``pooled`` carry, after ``family``, a signature's gene ``coverage`` on the
data (``"12/18"``, ``"18/18; housekeepers 11/11"``; :func:`tme.signature_scores.signature_coverage`)
when ``info`` has that column, empty for other features.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from tme.config import POOLED, Design, pooled_design
from tme.flow import analysed_counts, endpoint_flow
from tme.plan import AnalysisPlan
from tme.plan.baseline import baseline_covariates, per_protocol_patients, post_covariates, read_patients
from tme.stats import (
    DIAGNOSTIC_COLUMNS,
    RESIDUAL_COLUMNS,
    SENSITIVITY_COLUMNS,
    TIPPING_GRID_COLUMNS,
    changes_within_arm,
    effects_between_arms,
    residual_diagnostics,
    sensitivity_analyses,
)
from tme.stats.analyses import Patients
from tme.stats.design import covariate_matrix
from tme.stats.imputation import default_deltas
from tme.stats.multiplicity import add_adjusted_p
from tme.stats.paired import CONFIRMATORY, patients_by_feature

#: Columns naming the plan endpoint in the confirmatory tables.
ENDPOINT = ["endpoint", "display_name", "role", "unit"]


def analyse(
    config: Mapping[str, Any], values: pd.DataFrame, info: pd.DataFrame, samples: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """The plan's tables (module docstring) from ``values`` (``sample_id, patient_id, arm, timepoint,
    feature, value``), ``info`` (``feature, feature_type, family``) and the validated sample sheet,
    with ``endpoint_flow``: patients per feature and arm from randomised to analysed
    (:func:`tme.flow.endpoint_flow`)."""
    design, plan = Design.from_config(config), AnalysisPlan.from_config(config)
    features = plan.feature_table(info)
    tables = _statistics(config, design, plan, features, values, samples)
    counted = pooled_design(design) if design.blinded else design
    tables["endpoint_flow"] = endpoint_flow(values, samples, counted, features, analysed_counts(tables, counted))
    return tables


def _statistics(
    config: Mapping[str, Any],
    design: Design,
    plan: AnalysisPlan,
    features: pd.DataFrame,
    values: pd.DataFrame,
    samples: pd.DataFrame,
) -> dict[str, pd.DataFrame]:
    stats = config["statistics"]
    conf_level, methods = stats["confidence_level"], plan.multiplicity_map()
    if design.blinded:
        pooled = changes_within_arm(
            values, pooled_design(design), features, conf_level=conf_level, multiplicity=methods
        )
        return {"pooled": _with_coverage(pooled[pooled["arm"] == POOLED].reset_index(drop=True), features)}
    within = changes_within_arm(values, design, features, conf_level=conf_level, multiplicity=methods)
    tables = {"within": _with_coverage(within, features)}
    if design.single_arm:
        return tables
    usable = samples[samples["exclude_reason"] == ""]
    patients = read_patients(plan.patients, samples) if plan.patients else None
    settings = dict(
        feature_info=features,
        n_bootstrap=stats["n_bootstrap"],
        seed=config["seed"],
        conf_level=conf_level,
        covariates=baseline_covariates(plan, usable, patients, design.pre),
        post_covariates=post_covariates(plan, usable, design.post),
        multiplicity=methods,
    )
    settings["n_imputations"] = (plan.missing_data or {}).get("n_imputations", 50)
    primary = list(dict.fromkeys(features["primary_analysis"]))
    between = [effects_between_arms(values, design, analyses=list(dict.fromkeys(plan.analyses + primary)), **settings)]
    protocol = per_protocol_patients(plan, patients)
    if protocol is not None:
        subset = values[values["patient_id"].isin(protocol)]
        rows = effects_between_arms(subset, design, analyses=primary, population="per_protocol", **settings)
        between.append(rows[_is_primary(rows, features)])
    tables["between"] = _with_coverage(
        _adjust_primary(pd.concat(between, ignore_index=True), features, methods), features
    )
    tables |= confirmatory_checks(plan, design, values, settings["covariates"], config["seed"], conf_level)
    return tables


def _is_primary(table: pd.DataFrame, features: pd.DataFrame) -> pd.Series:
    """Rows whose analysis is their feature's primary analysis."""
    return table["analysis"] == table["feature"].map(features.set_index("feature")["primary_analysis"])


def _adjust_primary(table: pd.DataFrame, features: pd.DataFrame, methods: dict[str, str]) -> pd.DataFrame:
    """Mark each feature's primary-analysis rows (``primary_analysis`` after ``analysis``) and adjust p within
    family × primary rows × population, so that a family mixing analyses (an H-score endpoint's
    Mann–Whitney beside the others' ANCOVA) keeps its pre-specified size; other rows by analysis as before.
    With one primary analysis for every feature the groups, and so the adjusted p, are the same as by analysis."""
    primary = _is_primary(table, features)
    table = table.assign(_set=table["analysis"].where(~primary, "primary analysis"))
    table = add_adjusted_p(table, ["family", "_set", "population"], methods, CONFIRMATORY).drop(columns="_set")
    table.insert(table.columns.get_loc("analysis") + 1, "primary_analysis", primary.to_numpy())
    return table


def _with_coverage(table: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the features' ``coverage`` after ``family`` ('' where there is none)."""
    cover = features.set_index("feature")["coverage"] if "coverage" in features else pd.Series(dtype=str)
    table.insert(table.columns.get_loc("family") + 1, "coverage", table["feature"].map(cover).fillna("").astype(str))
    return table


def confirmatory_checks(
    plan: AnalysisPlan, design: Design, values: pd.DataFrame, covariates: pd.DataFrame, seed: int, conf_level: float
) -> dict[str, pd.DataFrame]:
    """Missing-post sensitivity and residual diagnostics of the plan's confirmatory endpoints."""
    settings = plan.missing_data or {}
    parts = {"sensitivity": [], "tipping_grid": [], "diagnostics": [], "residuals": []}
    features = {endpoint.feature for endpoint in plan.confirmatory}
    measured = values[values["feature"].isin(features)].dropna(subset=["value"])
    by_feature = dict(patients_by_feature(measured, design))
    for endpoint in plan.confirmatory:
        patients = by_feature.get(endpoint.feature, Patients(*[np.array([])] * 5))
        z = covariate_matrix(covariates.reindex(patients.ids), list(covariates.columns)).to_numpy()
        z = z if z.shape[1] else None
        with_pre = ~np.isnan(patients.pre)
        deltas = default_deltas(
            patients.pre[with_pre],
            patients.treated[with_pre],
            settings.get("tipping_max_sd", 2.0),
            settings.get("tipping_step_sd", 0.1),
        )
        rows, grid = sensitivity_analyses(endpoint.feature, patients.pre, patients.post, patients.treated, z,
                                          n_imputations=settings.get("n_imputations", 50), seed=seed, deltas=deltas,
                                          plausible_delta_sd=settings.get("plausible_delta_sd", 0.5),
                                          conf_level=conf_level)  # fmt: skip
        paired = patients.paired()
        checks, residuals = residual_diagnostics(endpoint.feature, paired.pre, paired.post, paired.treated,
                                                 None if z is None else z[~np.isnan(patients.change)],
                                                 patient_ids=paired.ids)  # fmt: skip
        for name, table in (("sensitivity", rows), ("tipping_grid", grid), ("diagnostics", checks),
                            ("residuals", residuals)):  # fmt: skip
            parts[name].append(
                table.assign(
                    endpoint=endpoint.name, display_name=endpoint.label, role=endpoint.role, unit=endpoint.unit
                )
            )
    columns = {"sensitivity": SENSITIVITY_COLUMNS, "tipping_grid": TIPPING_GRID_COLUMNS,
               "diagnostics": DIAGNOSTIC_COLUMNS, "residuals": RESIDUAL_COLUMNS}  # fmt: skip
    return {name: pd.concat(frames, ignore_index=True).reindex(columns=[*ENDPOINT, *columns[name]]) if frames
            else pd.DataFrame(columns=[*ENDPOINT, *columns[name]]) for name, frames in parts.items()}  # fmt: skip
