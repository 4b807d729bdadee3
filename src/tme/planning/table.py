"""The planning table (``results/tables/planning.tsv``) and the assumptions a protocol can cite.

One row per plan endpoint. Columns:

``endpoint, feature``
    Plan endpoint and the tme feature it reads.
``n_patients, n_pairs_reference, n_pairs_treatment``
    Patients of this trial with a value, and with both samples per arm.
``baseline_sd, post_sd, rho, residual_sd, drift_reference, drift_treatment, missing_post``
    Nuisance parameters (:mod:`tme.planning.nuisance`), each followed by ``<name>_ci_low``,
    ``<name>_ci_high`` (patient-level BCa bootstrap CI; NA for a prior value).
``source``
    ``estimated``, or which parameters are prior values.
``target_effect, target_scale, target_difference, standardised_effect``
    Target as given, how it is given (``difference`` on the analysis scale, or a fold change on a
    ``log2`` or ``ln`` analysis scale; :mod:`tme.planning.targets`), the difference on the analysis scale,
    and that difference in residual SDs.
``alpha, multiplicity, family_size, alpha_per_endpoint, power, n_covariates``
    Family-wise two-sided level, the family's procedure, its number of endpoints, the
    conservative per-endpoint level used analytically (:func:`tme.planning.family.per_endpoint_alpha`),
    target power, baseline covariates ``k`` of the ANCOVA (1: the baseline value).
``n_pairs_per_arm``
    Patients **with both samples** per arm for the target power: exact ANCOVA power with a
    random baseline, df = 2n − 2 − k (:mod:`tme.planning.analytic`), rounded up.
``n_pairs_per_arm_noncentral_t``
    The same by the classical noncentral-t formula on σ√(1 − ρ²) with df = 2n − 2 − k (R
    ``pwr.t.test`` on σ√(1 − ρ²) is this with one df more); smaller at small n.
``n_pairs_per_arm_ci_low, n_pairs_per_arm_ci_high``
    ``n_pairs_per_arm`` at the CI limits of ``residual_sd`` (a CI for the required size).
``n_per_arm``
    Patients to **randomise** per arm: ``n_pairs_per_arm`` inflated for ``missing_post``.
``n_per_arm_design, mde_difference, mde_effect, power_design``
    A given design size (randomised per arm; default this trial's size), its minimum detectable
    effect (analysis scale, and in the target's units, same direction as the target) and its
    analytic power for the target, at the expected pairs ``n (1 − missing_post)`` per arm.
``power_simulated, power_simulated_mc_se, n_trials, seed``
    Power of the endpoint at ``n_per_arm`` randomised per arm from ``n_trials`` simulated trials of
    the whole family (missing posts MAR, the family's procedure; :mod:`tme.planning.simulation`),
    its Monte Carlo SE, and the seed (NA above 2,000 patients per arm).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from tme.planning.analytic import ancova_power, ancova_sample_size, inflate_for_missing, minimum_detectable_effect
from tme.planning.family import per_endpoint_alpha
from tme.planning.nuisance import PARAMETERS
from tme.planning.simulation import simulated_power
from tme.planning.targets import Target
from tme.planning.trials import Analysis, TrialModel, ancova_analysis

TABLE_COLUMNS = [
    "endpoint",
    "feature",
    "n_patients",
    "n_pairs_reference",
    "n_pairs_treatment",
    *[c for p in PARAMETERS for c in (p, f"{p}_ci_low", f"{p}_ci_high")],
    "source",
    "target_effect",
    "target_scale",
    "target_difference",
    "standardised_effect",
    "alpha",
    "multiplicity",
    "family_size",
    "alpha_per_endpoint",
    "power",
    "n_covariates",
    "n_pairs_per_arm",
    "n_pairs_per_arm_noncentral_t",
    "n_pairs_per_arm_ci_low",
    "n_pairs_per_arm_ci_high",
    "n_per_arm",
    "n_per_arm_design",
    "mde_difference",
    "mde_effect",
    "power_design",
    "power_simulated",
    "power_simulated_mc_se",
    "n_trials",
    "seed",
]


def _n_pairs(difference: float, residual_sd: float, level: float, power: float, k: int, method: str = "exact") -> float:
    if not (np.isfinite(residual_sd) and residual_sd > 0):
        return np.nan
    return math.ceil(ancova_sample_size(difference, residual_sd, level, power, k, method) - 1e-9)


def _sizes(row: Mapping, target: Target, level: float, power: float, k: int) -> dict:
    diff, sd = target.difference, float(row["residual_sd"])
    pairs = _n_pairs(diff, sd, level, power, k)
    return {
        "n_pairs_per_arm": pairs,
        "n_pairs_per_arm_noncentral_t": _n_pairs(diff, sd, level, power, k, "noncentral_t"),
        "n_pairs_per_arm_ci_low": _n_pairs(diff, float(row["residual_sd_ci_low"]), level, power, k),
        "n_pairs_per_arm_ci_high": _n_pairs(diff, float(row["residual_sd_ci_high"]), level, power, k),
        "n_per_arm": inflate_for_missing(pairs, float(row["missing_post"])),
    }


def _detectable(row: Mapping, target: Target, level: float, power: float, k: int, n_design: int) -> dict:
    pairs = n_design * (1 - float(row["missing_post"]))
    sd = float(row["residual_sd"])
    mde = minimum_detectable_effect(pairs, sd, level, power, k)
    return {
        "n_per_arm_design": n_design,
        "mde_difference": mde,
        "mde_effect": target.readable(math.copysign(mde, target.difference)),
        "power_design": ancova_power(pairs, target.difference, sd, level, k),
    }


def planning_table(
    nuisance: pd.DataFrame,
    targets: Mapping[str, Target],
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    multiplicity: str = "holm",
    n_per_arm: int | None = None,
    n_trials: int = 1000,
    seed: int = 0,
    analysis: Analysis = ancova_analysis,
    missing_slope: float = 0.0,
    n_covariates: int = 1,
) -> pd.DataFrame:
    """One row per endpoint of ``nuisance`` (:func:`tme.planning.estimate_nuisance`), ``TABLE_COLUMNS``.

    ``targets``: endpoint → :class:`Target` (:func:`tme.planning.resolve_targets`); ``n_per_arm``:
    the design size for the MDE columns (default: this trial's patients per arm, ``n_patients / 2``
    rounded up); ``missing_slope``: MAR dependence of missing posts on the baseline in the simulation
    (:class:`tme.planning.TrialModel`); ``n_covariates``: baseline covariates of the primary ANCOVA
    counted in the analytic df ``2n - 2 - k`` (1: the baseline value; add one per further numeric
    covariate or stratum dummy — the exact method then treats them as normal, and the simulation
    still adjusts for the baseline only).
    """
    level = per_endpoint_alpha(alpha, multiplicity, len(nuisance))
    models = {r["endpoint"]: TrialModel.from_row(r, missing_slope) for _, r in nuisance.iterrows()}
    differences = {name: targets[name].difference for name in models}
    rows = []
    for _, row in nuisance.iterrows():
        target = targets[row["endpoint"]]
        sizes = _sizes(row, target, level, power, n_covariates)
        design_n = n_per_arm if n_per_arm is not None else math.ceil(row["n_patients"] / 2)
        simulated, mc_se = simulated_power(
            models,
            differences,
            row["endpoint"],
            sizes["n_per_arm"],
            n_trials=n_trials,
            alpha=alpha,
            multiplicity=multiplicity,
            seed=seed,
            analysis=analysis,
        )
        rows.append(
            {
                **row.to_dict(),
                "target_effect": target.effect,
                "target_scale": target.scale,
                "target_difference": target.difference,
                "standardised_effect": target.difference / float(row["residual_sd"]),
                "alpha": alpha,
                "multiplicity": multiplicity,
                "family_size": len(nuisance),
                "alpha_per_endpoint": level,
                "power": power,
                "n_covariates": n_covariates,
                **sizes,
                **_detectable(row, target, level, power, n_covariates, design_n),
                "power_simulated": simulated,
                "power_simulated_mc_se": mc_se,
                "n_trials": n_trials,
                "seed": seed,
            }
        )
    return pd.DataFrame(rows).reindex(columns=TABLE_COLUMNS)
