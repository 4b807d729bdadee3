"""Run the paired statistics as the analysis plan says: families and order, covariates, populations.

:func:`analyse` takes the assembled features (values and feature info, :mod:`tme.features`) and the
sample sheet and returns the tables the workflow writes:

* ``within`` — :func:`tme.stats.changes_within_arm` (descriptive in a two-arm trial; the inference of
  a single-arm study), adjusted per family with the plan's procedures;
* ``between`` — :func:`tme.stats.effects_between_arms` for the plan's primary and sensitivity
  analyses in the intention-to-treat population, adjusted for the plan's strata and baseline
  covariates, then the primary analysis again in the per-protocol population when the plan defines
  one (``population`` column); absent for a single-arm study;
* ``pooled`` — blinded runs: the pooled pre → post change only (nothing arm-wise).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from tme.config import POOLED, Design, pooled_design
from tme.plan import AnalysisPlan
from tme.plan.baseline import baseline_covariates, per_protocol_patients, post_covariates, read_patients
from tme.stats import changes_within_arm, effects_between_arms


def analyse(
    config: Mapping[str, Any], values: pd.DataFrame, info: pd.DataFrame, samples: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """The plan's tables (module docstring) from ``values`` (``sample_id, patient_id, arm, timepoint,
    feature, value``), ``info`` (``feature, feature_type, family``) and the validated sample sheet."""
    design, plan = Design.from_config(config), AnalysisPlan.from_config(config)
    stats = config["statistics"]
    features = plan.feature_table(info)
    conf_level, methods = stats["confidence_level"], plan.multiplicity_map()
    if design.blinded:
        pooled = changes_within_arm(
            values, pooled_design(design), features, conf_level=conf_level, multiplicity=methods
        )
        return {"pooled": pooled[pooled["arm"] == POOLED].reset_index(drop=True)}
    tables = {"within": changes_within_arm(values, design, features, conf_level=conf_level, multiplicity=methods)}
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
    between = [effects_between_arms(values, design, analyses=plan.analyses, **settings)]
    protocol = per_protocol_patients(plan, patients)
    if protocol is not None:
        subset = values[values["patient_id"].isin(protocol)]
        between.append(
            effects_between_arms(
                subset, design, analyses=[plan.primary_analysis], population="per_protocol", **settings
            )
        )
    tables["between"] = pd.concat(between, ignore_index=True)
    return tables
