"""Within-arm changes and between-arm effects for paired pre/post biopsies, per feature.

The estimand (``Design``) is the difference between arms in the within-patient change
``post - pre``, treatment arm minus reference arm. Within-arm changes are descriptive: the
reference arm carries the core-biopsy → resection drift.

Input: ``values``, a long table ``patient_id, arm, timepoint, feature, value``, on the analysis
scale (e.g. log1p densities, scores); for the adjusted analyses a baseline covariate table, one row
per patient (strata and covariates of the analysis plan, values at the pre-window sample or from the
patients sheet: post-randomisation values never enter the primary model).
Rules (NA rows carry the reason in ``note``):

* a patient is *paired* for a feature when both samples have a non-missing value; ANCOVA, the
  rank tests, t tests and bootstrap use paired patients; the mixed model uses every sample;
* an arm with fewer than 3 pairs: its within-arm rows, and all between-arm rows, are NA;
* a feature constant in all samples: all rows NA;
* baseline covariates enter the adjusted analyses (ANCOVA, mixed model); a missing value or a
  covariate confounded with arm across patients is an error (:mod:`tme.stats.design`); for one
  feature's patients, a covariate constant among them is left out (noted) and one that becomes
  confounded gives NA rows with the explanation;
* ``p_adjusted``: the family's multiplicity procedure (``multiplicity`` column; the analysis plan's
  for its roles, Benjamini–Hochberg for every other family) within ``family`` × ``analysis`` ×
  ``population`` (within-arm table: across both arms too, as in the R reference); a confirmatory
  family (``primary``, ``key_secondary``) keeps its pre-specified size, exploratory ones drop NaN.
* rows come in the order of the ``features`` table given (the plan's order for its endpoints).

Table ``changes_within_arm`` — one row per feature × arm × analysis:

``feature``, ``feature_type``, ``family``
    Feature name, its type (signature score, immune measure, gene…) and its multiplicity family.
``endpoint``, ``display_name``, ``role``, ``unit``
    The analysis-plan endpoint the feature is (empty for features outside the plan).
``arm``
    The arm summarised.
``analysis``
    ``wilcoxon_signed_rank`` (estimate = Hodges–Lehmann median of the Walsh averages of the
    changes, exact Bauer CI, statistic = R's V) or ``paired_t`` (estimate = mean change).
``method``
    Exact or normal-approximation rank test, or ``paired t``.
``model``, ``covariates``
    ``post - pre``; no covariates (empty).
``n_pairs``
    Patients of the arm with both samples.
``pre_mean, pre_median, pre_sd, post_mean, post_median, post_sd,``
``change_mean, change_median, change_sd``
    Descriptive summaries over the paired patients (SD with n − 1).
``estimate, se, ci_low, ci_high, statistic, df, p``
    Point estimate, its SE (t test only), 95 % CI (``conf_level``), test statistic, degrees of
    freedom (t test only) and two-sided p.
``p_adjusted``, ``multiplicity``
    Adjusted p-value and the procedure (holm, hochberg, bonferroni, hierarchical, bh, none).
``note``
    Why a row is NA, or a caveat; empty otherwise.

Table ``effects_between_arms`` — one row per feature × analysis, estimate = treatment − reference:

``feature, feature_type, family``
    As above.
``analysis``
    ``ancova`` (primary: coefficient of arm in OLS ``post ~ pre + arm + covariates``),
    ``mann_whitney_change`` (Hodges–Lehmann shift of the changes with exact Bauer CI; statistic =
    R's W of the treatment arm), ``welch_t_change`` (difference in mean change),
    ``mixed_model`` (timepoint × arm interaction of ``value ~ timepoint * arm + covariates +
    (1 | patient_id)``, REML, Satterthwaite df), ``bootstrap_mean_change`` (difference in mean
    change with a BCa patient-level bootstrap CI; no p-value), ``ancova_post_covariates``; the
    registry is :data:`tme.stats.analyses.BETWEEN_ARM`.
``method``
    The estimation/inference method in words (exactness, df method, resamples and seed).
``model``
    The model formula or contrast.
``covariates``
    Covariates adjusted for (``;``-separated; only ANCOVA and mixed model use them).
``population``
    ``itt`` (every randomised patient) or ``per_protocol``.
``n_reference_arm, n_treatment_arm``
    Patients per arm used: paired patients; for ``mixed_model`` every patient with ≥ 1 sample.
``estimate, se, ci_low, ci_high, statistic, df, p, p_adjusted, multiplicity, note``
    As above; ``df`` is the residual df (ANCOVA), Welch df, or Satterthwaite df (mixed model).

References: Vickers & Altman, BMJ 2001;323:1123 (ANCOVA); Hodges & Lehmann, Ann Math Stat
1963;34:598; Bauer, JASA 1972;67:687 (exact rank CIs); Kuznetsova et al., J Stat Softw
2017;82(13) (Satterthwaite df); Efron, JASA 1987;82:171 (BCa); Benjamini & Hochberg, JRSS B
1995;57:289. Parity with R 4.2.2 / lme4 1.1-31 / lmerTest 3.1-3 is tested in
``tests/test_stats_r_parity.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from tme.stats.analyses import (
    BETWEEN_ARM,
    FeatureData,
    PatientCovariates,
    Patients,
    adjusted_for,
    rank_estimate,
    readable_columns,
)
from tme.stats.design import (
    MIN_PAIRS,
    Design,
    check_covariates,
    check_patient_covariates,
    feature_table,
    validate_values,
)
from tme.stats.effects import READABLE_COLUMNS
from tme.stats.multiplicity import add_adjusted_p
from tme.stats.parametric import paired_t
from tme.stats.rank_tests import signed_rank_test
from tme.stats.result import not_estimable

#: Families whose size is pre-specified: a missing p counts as 1 (tme.stats.multiplicity).
CONFIRMATORY = ("primary", "key_secondary")
#: Endpoint columns of the feature table (from the analysis plan; empty outside it).
ENDPOINT_COLUMNS = ["endpoint", "display_name", "role", "unit"]

RESULT_COLUMNS = ["estimate", "se", "ci_low", "ci_high", "statistic", "df", "p", "p_adjusted", "multiplicity", "note"]
WITHIN_COLUMNS = [
    "feature", "feature_type", "family", *ENDPOINT_COLUMNS, "arm", "analysis", "method", "model", "covariates",
    "population", "n_pairs", "pre_mean", "pre_median", "pre_sd", "post_mean", "post_median", "post_sd",
    "change_mean", "change_median", "change_sd", *RESULT_COLUMNS,
]  # fmt: skip
BETWEEN_COLUMNS = [
    "feature", "feature_type", "family", *ENDPOINT_COLUMNS, "analysis", "method", "model", "covariates",
    "population", "n_reference_arm", "n_treatment_arm", *RESULT_COLUMNS, *READABLE_COLUMNS,
]  # fmt: skip


def patients_by_feature(values: pd.DataFrame, design: Design) -> Iterator[tuple[str, Patients]]:
    """Each feature (in order of first appearance) with its patients that have at least one sample
    (sorted by patient; NaN where a sample is missing). One reshape of the whole table, then slices."""
    if values.empty:
        return
    wide = values.set_index(["feature", "patient_id", "timepoint"])["value"].unstack("timepoint")
    wide = wide.reindex(columns=[design.pre, design.post])  # sorted by feature, then patient
    arms = values.drop_duplicates("patient_id").set_index("patient_id")["arm"]
    ids = wide.index.get_level_values("patient_id").to_numpy()
    arm = arms.reindex(ids).to_numpy()
    pre, post = (wide[column].to_numpy() for column in (design.pre, design.post))
    treated = (arm == design.treatment_arm).astype(float)
    features = wide.index.get_level_values("feature")
    starts = np.flatnonzero(np.r_[True, features[1:] != features[:-1]])
    bounds = dict(zip(features[starts], zip(starts, np.r_[starts[1:], len(features)])))
    for feature in values["feature"].unique():
        rows = slice(*bounds[feature])
        yield feature, Patients(ids[rows], arm[rows], pre[rows], post[rows], treated[rows])


def _constant(patients: Patients) -> bool:
    """Every sample of the feature has the same value."""
    observed = np.concatenate([patients.pre, patients.post])
    observed = observed[~np.isnan(observed)]
    return bool((observed == observed[0]).all())


def _summaries(pairs: Patients) -> dict:
    """Mean, median and SD (n - 1) of ``pre``, ``post`` and ``change``; NaN where there are too few values."""
    out = {}
    for column in ("pre", "post", "change"):
        x = getattr(pairs, column)
        out |= {
            f"{column}_mean": x.mean() if len(x) else np.nan,
            f"{column}_median": np.median(x) if len(x) else np.nan,
            f"{column}_sd": x.std(ddof=1) if len(x) > 1 else np.nan,
        }
    return out


def _finish(rows: list[dict], features: pd.DataFrame, columns: list[str], multiplicity: Mapping[str, str] | None):
    """Rows in the features table's order, endpoint columns joined, adjusted p filled."""
    if not rows:  # no feature has a value
        return pd.DataFrame(columns=columns)
    table = pd.DataFrame(rows)
    order = {f: i for i, f in enumerate(features["feature"])}
    table = table.merge(
        features.reindex(columns=["feature", "feature_type", "family", *ENDPOINT_COLUMNS]), on="feature", how="left"
    )
    table = table.iloc[table["feature"].map(order).argsort(kind="stable")].reset_index(drop=True)
    table[ENDPOINT_COLUMNS] = table[ENDPOINT_COLUMNS].fillna("")
    table = add_adjusted_p(table, ["family", "analysis", "population"], dict(multiplicity or {}), CONFIRMATORY)
    return table.reindex(columns=columns)


def changes_within_arm(
    values: pd.DataFrame,
    design: Design,
    feature_info: Mapping[str, tuple[str, str]] | pd.DataFrame | None = None,
    families: Iterable[str] | None = None,
    conf_level: float = 0.95,
    multiplicity: Mapping[str, str] | None = None,
    population: str = "itt",
) -> pd.DataFrame:
    """Within-arm change per feature: summaries, Wilcoxon signed-rank + HL, paired t.

    Descriptive in a two-arm trial (the reference arm carries the biopsy-to-resection drift); the
    inference of a single-arm study.

    Parameters
    ----------
    values
        Long table ``patient_id, arm, timepoint, feature, value`` (see module docstring).
    design
        Arm and timepoint labels.
    feature_info
        Feature → ``(feature_type, family)``, or a DataFrame ``feature, feature_type, family`` (+ the
        endpoint columns, in the order rows should come); ``None`` puts all features in ``all_features``.
    families
        Family names declared (checked; see :func:`tme.stats.design.feature_table`).
    conf_level
        Confidence level of the CIs.
    multiplicity
        Family → procedure (:data:`tme.stats.multiplicity.METHODS`); others ``bh``.
    population
        Label of the analysis population these values belong to.

    Returns
    -------
    DataFrame with columns ``WITHIN_COLUMNS`` (documented in the module docstring).
    """
    values = validate_values(values, design)
    features = feature_table(values["feature"].unique(), feature_info, families)
    rows = []
    for feature, patients in patients_by_feature(values, design):
        pairs = patients.paired()
        constant = _constant(patients)
        for arm in design.arms:
            in_arm = pairs.subset(pairs.arm == arm)
            change = in_arm.change
            if constant:
                reason = "feature is constant in all samples"
            elif len(change) < MIN_PAIRS:
                reason = f"fewer than {MIN_PAIRS} pairs in this arm ({len(change)})"
            else:
                reason = ""
            if reason:
                results = dict.fromkeys(("wilcoxon_signed_rank", "paired_t"), not_estimable(reason))
            else:
                results = {"wilcoxon_signed_rank": rank_estimate(signed_rank_test(change, conf_level)),
                           "paired_t": paired_t(change, conf_level)}  # fmt: skip
            base = {"feature": feature, "arm": arm, "model": "post - pre", "covariates": "", "population": population,
                    "n_pairs": len(change), **_summaries(in_arm)}  # fmt: skip
            rows += [base | {"analysis": a} | r.as_dict() for a, r in results.items()]
    return _finish(rows, features, WITHIN_COLUMNS, multiplicity)


def _arm_counts(patients: Patients, design: Design) -> dict[str, int]:
    arms = patients.arm
    return {
        "n_reference_arm": int((arms == design.reference_arm).sum()),
        "n_treatment_arm": int((arms == design.treatment_arm).sum()),
    }


def _not_estimable_reason(patients: Patients, pair_counts: dict[str, int]) -> str:
    """Why no between-arm analysis can run for a feature ('' when they can)."""
    if _constant(patients):
        return "feature is constant in all samples"
    if min(pair_counts.values()) < MIN_PAIRS:
        return (
            f"fewer than {MIN_PAIRS} pairs in an arm (reference {pair_counts['n_reference_arm']}, "
            f"treatment {pair_counts['n_treatment_arm']})"
        )
    return ""


def effects_between_arms(
    values: pd.DataFrame,
    design: Design,
    feature_info: Mapping[str, tuple[str, str]] | pd.DataFrame | None = None,
    families: Iterable[str] | None = None,
    n_bootstrap: int = 2000,
    seed: int = 0,
    conf_level: float = 0.95,
    analyses: Sequence[str] | None = None,
    covariates: pd.DataFrame | None = None,
    post_covariates: pd.DataFrame | None = None,
    multiplicity: Mapping[str, str] | None = None,
    population: str = "itt",
    n_imputations: int = 50,
) -> pd.DataFrame:
    """Between-arm difference in change per feature, one row per feature × analysis.

    Parameters
    ----------
    values, design, feature_info, families, conf_level, multiplicity, population
        As in :func:`changes_within_arm`.
    n_bootstrap
        Bootstrap resamples for ``bootstrap_mean_change``; 0 omits that analysis.
    seed
        Seed of ``numpy.random.default_rng`` for the bootstrap; the same seed is used for every
        feature, so results do not depend on feature order.
    analyses
        Names from :data:`tme.stats.analyses.BETWEEN_ARM` (default: all but ``ancova_post_covariates``,
        in registry order).
    covariates
        Baseline covariates and strata, one row per patient (index ``patient_id``), numeric or
        categorical columns; ``None``: unadjusted.
    post_covariates
        Post-window sample values (one row per patient) that ``ancova_post_covariates`` adds.
    n_imputations
        Imputations of ``mi_mar`` (seeded with ``seed``).

    The primary analysis's rows (``ancova``) also carry the readable effects
    (:data:`tme.stats.effects.READABLE_COLUMNS`: LS means, the back-transformed ratio for a feature
    whose ``transform`` column in ``feature_info`` names a log scale, the standardised effect).

    Returns
    -------
    DataFrame with columns ``BETWEEN_COLUMNS`` (documented in the module docstring).
    """
    values = validate_values(values, design)
    features = feature_table(values["feature"].unique(), feature_info, families)
    patients = values.drop_duplicates("patient_id").set_index("patient_id")["arm"]
    covariates = pd.DataFrame(index=patients.index) if covariates is None else covariates
    check_patient_covariates(covariates, patients.index)
    check_covariates(covariates.reindex(patients.index), patients, design)
    names = analyses or [a for a in BETWEEN_ARM if a != "ancova_post_covariates"]
    chosen = [BETWEEN_ARM[n] for n in names if not (n == "bootstrap_mean_change" and n_bootstrap == 0)]
    options = {"n_bootstrap": n_bootstrap, "seed": seed, "n_imputations": n_imputations}
    terms = adjusted_for(covariates)
    transforms = features.set_index("feature")["transform"] if "transform" in features else pd.Series(dtype=str)
    baseline = PatientCovariates(covariates)
    with_post = None
    if post_covariates is not None and post_covariates.shape[1]:
        with_post = PatientCovariates(covariates.join(post_covariates.add_prefix("post_")))
    rows = []
    for feature, patients in patients_by_feature(values, design):
        transform = transforms.get(feature, "none")
        data = FeatureData(feature, patients, baseline, design, conf_level, options, with_post,
                           transform if isinstance(transform, str) else "none")  # fmt: skip
        n_pairs, n_patients = _arm_counts(data.pairs, design), _arm_counts(patients, design)
        reason = _not_estimable_reason(patients, n_pairs)
        for analysis in chosen:
            result = not_estimable(reason) if reason else analysis.run(data)
            counts = n_patients if analysis.all_samples else n_pairs
            readable = readable_columns(data, result) if analysis.readable else {}
            rows.append({"feature": feature, "analysis": analysis.name, "model": analysis.model(terms),
                         "covariates": ";".join(covariates.columns) if analysis.adjusted else "",
                         "population": population, **counts, **result.as_dict(), **readable})  # fmt: skip
    return _finish(rows, features, BETWEEN_COLUMNS, multiplicity)
