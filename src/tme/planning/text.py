"""The planning assumptions written out for a protocol's sample-size section (Markdown).

Every number comes from the planning table (:mod:`tme.planning.table`); the wording names the
analysis, the formula, the multiplicity and the references, so that a protocol author can cite
the paragraph as it stands and a reviewer can recompute each number.
"""

from __future__ import annotations

import pandas as pd

MULTIPLICITY_NAMES = {
    "holm": "Holm's step-down procedure",
    "hochberg": "Hochberg's step-up procedure",
    "bonferroni": "the Bonferroni correction",
    "bh": "the Benjamini–Hochberg procedure",
    "hierarchical": "a fixed-sequence (hierarchical) procedure in the plan's order",
    "none": "no multiplicity adjustment",
}

REFERENCES = (
    "Vickers & Altman, BMJ 2001;323:1123 (ANCOVA); Borm et al., J Clin Epidemiol 2007;60:1234 "
    "(σ²(1 − ρ²)); Anderson, JASA 1957;52:200 (SDs and correlation with missing post values); "
    "Shieh, Psychometrika 2020;85:101 (exact ANCOVA power); Julious, Sample Sizes for Clinical Trials, "
    "2010 (inflation for drop-out)."
)


def _num(x: float, digits: int = 3) -> str:
    return "NA" if pd.isna(x) else f"{x:.{digits}g}".replace("-", "−")


def _ci(row: pd.Series, name: str, conf: str) -> str:
    low, high = row[f"{name}_ci_low"], row[f"{name}_ci_high"]
    if pd.isna(low):
        return "(prior value)" if name in str(row["source"]) else ""
    return f"({conf} CI {_num(low)} to {_num(high)})"


def _effect(row: pd.Series, value: float, difference: float) -> str:
    if row["target_scale"] == "difference":
        return f"a difference of {_num(value)} on the analysis scale"
    return f"a {_num(value)}-fold change ({row['target_scale']} difference {_num(difference)})"


def _endpoint_paragraph(row: pd.Series, conf: str) -> str:
    pct = f"{100 * row['missing_post']:.0f} %"
    alpha_text = (
        f"two-sided α = {_num(row['alpha'])} for the family of {int(row['family_size'])} primary "
        f"endpoint(s) with {MULTIPLICITY_NAMES[row['multiplicity']]}, planned at "
        f"{_num(row['alpha_per_endpoint'])} per endpoint (conservative)"
    )
    return (
        f"**{row['endpoint']}** (feature `{row['feature']}`). Primary analysis: ANCOVA of the post value on the "
        f"baseline value and arm. In this trial ({int(row['n_patients'])} patients, "
        f"{int(row['n_pairs_reference'])} + {int(row['n_pairs_treatment'])} with both samples) the SD of the post "
        f"values within arm (allowing for missing post samples) was {_num(row['post_sd'])} "
        f"{_ci(row, 'post_sd', conf)}, the pre–post correlation within "
        f"arm {_num(row['rho'])} {_ci(row, 'rho', conf)}, so the residual SD σ√(1 − ρ²) is "
        f"{_num(row['residual_sd'])} {_ci(row, 'residual_sd', conf)}; baseline SD {_num(row['baseline_sd'])}; "
        f"mean change in the reference arm {_num(row['drift_reference'])} {_ci(row, 'drift_reference', conf)}; "
        f"{pct} of patients had no usable post sample {_ci(row, 'missing_post', conf)}. "
        f"Target: {_effect(row, row['target_effect'], row['target_difference'])}, "
        f"{_num(abs(row['standardised_effect']))} residual SDs; {alpha_text}; power {100 * row['power']:.0f} %. "
        f"With the exact ANCOVA power for a random baseline (Shieh 2020; noncentral t on "
        f"df = 2n − {2 + int(row['n_covariates'])} given the baselines, averaged over them) "
        f"{int(row['n_pairs_per_arm'])} patients with both samples are needed per arm "
        f"({int(row['n_pairs_per_arm_noncentral_t'])} by the classical formula that treats the baseline as fixed; "
        f"{_num(row['n_pairs_per_arm_ci_low'])} to {_num(row['n_pairs_per_arm_ci_high'])} over the residual SD's "
        f"CI); allowing for {pct} missing post samples, **randomise {int(row['n_per_arm'])} per arm**. "
        f"With {int(row['n_per_arm_design'])} randomised per arm the minimum detectable effect is "
        f"{_effect(row, row['mde_effect'], row['mde_difference'] * (1 if row['target_difference'] > 0 else -1))} "
        f"(power for the target {100 * row['power_design']:.0f} %). {_simulated(row)}"
    )


def _simulated(row: pd.Series) -> str:
    if pd.isna(row["power_simulated"]):
        return "The trial is too large to simulate (more than 2,000 patients per arm)."
    return (
        f"In {int(row['n_trials'])} simulated trials of the whole primary family (seed {int(row['seed'])}; missing "
        f"posts at random given the baseline; the family's adjustment) the power at {int(row['n_per_arm'])} per "
        f"arm was {100 * row['power_simulated']:.1f} % "
        f"(Monte Carlo SE {100 * row['power_simulated_mc_se']:.1f} %)."
    )


def assumptions_text(table: pd.DataFrame, conf_level: float = 0.95) -> str:
    """Markdown: one paragraph per endpoint, the recommended size for the family, and references."""
    conf = f"{100 * conf_level:g} %"
    parts = ["## Sample size: assumptions", *(_endpoint_paragraph(r, conf) for _, r in table.iterrows())]
    largest = table.loc[table["n_per_arm"].idxmax()]
    parts.append(
        f"Randomising **{int(largest['n_per_arm'])} patients per arm** "
        f"({2 * int(largest['n_per_arm'])} in total) gives every primary endpoint at least its target power "
        f"(the largest requirement is {largest['endpoint']}'s)."
    )
    parts.append(f"References: {REFERENCES}")
    return "\n\n".join(parts) + "\n"
