"""Within-arm changes and between-arm effects for paired pre/post biopsies, per feature.

The estimand (``Design``) is the difference between arms in the within-patient change
``post - pre``, treatment arm minus reference arm. Within-arm changes are descriptive: the
reference arm carries the core-biopsy → resection drift.

Input: ``values``, a long table ``patient_id, arm, timepoint, feature, value`` (+ covariate
columns constant per sample), on the analysis scale (e.g. log1p densities, scores).
Rules (NA rows carry the reason in ``note``):

* a patient is *paired* for a feature when both samples have a non-missing value; ANCOVA, the
  rank tests, t tests and bootstrap use paired patients; the mixed model uses every sample;
* an arm with fewer than 3 pairs: its within-arm rows, and all between-arm rows, are NA;
* a feature constant in all samples: all rows NA;
* covariates enter ANCOVA (with the values of the *post* sample, i.e. of the outcome) and the mixed
  model (per sample); missing covariate values or a covariate confounded with arm / timepoint /
  timepoint × arm on all samples is an error (:mod:`tme.stats.design`); for one feature's
  samples, a covariate constant among them is left out (noted) and one that becomes confounded
  with arm or timepoint gives NA rows with the explanation;
* q-values: Benjamini–Hochberg within each ``family`` × ``analysis`` (within-arm table: across
  both arms too, as in the R reference), NaN p-values excluded.

Table ``changes_within_arm`` — one row per feature × arm × analysis:

``feature``, ``feature_type``, ``family``
    Feature name, its type (signature score, immune measure, gene…) and its BH family.
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
``q``
    BH q-value within family × analysis.
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
    change with a BCa patient-level bootstrap CI; no p-value).
``method``
    The estimation/inference method in words (exactness, df method, resamples and seed).
``model``
    The model formula or contrast.
``covariates``
    Covariates adjusted for (``;``-separated; only ANCOVA and mixed model use them).
``n_reference_arm, n_treatment_arm``
    Patients per arm used: paired patients; for ``mixed_model`` every patient with ≥ 1 sample.
``estimate, se, ci_low, ci_high, statistic, df, p, q, note``
    As above; ``df`` is the residual df (ANCOVA), Welch df, or Satterthwaite df (mixed model).

References: Vickers & Altman, BMJ 2001;323:1123 (ANCOVA); Hodges & Lehmann, Ann Math Stat
1963;34:598; Bauer, JASA 1972;67:687 (exact rank CIs); Kuznetsova et al., J Stat Softw
2017;82(13) (Satterthwaite df); Efron, JASA 1987;82:171 (BCa); Benjamini & Hochberg, JRSS B
1995;57:289. Parity with R 4.2.2 / lme4 1.1-31 / lmerTest 3.1-3 is tested in
``tests/test_stats_r_parity.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from tme.stats.analyses import BETWEEN_ARM, FeatureData, rank_estimate
from tme.stats.design import Design, check_covariates, feature_table, validate_values
from tme.stats.multiplicity import add_q_values
from tme.stats.parametric import paired_t
from tme.stats.rank_tests import signed_rank_test
from tme.stats.result import not_estimable

MIN_PAIRS = 3

RESULT_COLUMNS = ["estimate", "se", "ci_low", "ci_high", "statistic", "df", "p", "q", "note"]
WITHIN_COLUMNS = [
    "feature",
    "feature_type",
    "family",
    "arm",
    "analysis",
    "method",
    "model",
    "covariates",
    "n_pairs",
    "pre_mean",
    "pre_median",
    "pre_sd",
    "post_mean",
    "post_median",
    "post_sd",
    "change_mean",
    "change_median",
    "change_sd",
    *RESULT_COLUMNS,
]
BETWEEN_COLUMNS = [
    "feature",
    "feature_type",
    "family",
    "analysis",
    "method",
    "model",
    "covariates",
    "n_reference_arm",
    "n_treatment_arm",
    *RESULT_COLUMNS,
]


def _prepare(values, design, feature_info, families):
    values, samples = validate_values(values, design)
    features = feature_table(values["feature"].unique(), feature_info, families)
    return values, samples, features


def _paired_table(sub: pd.DataFrame, design: Design) -> pd.DataFrame:
    """Patients with both samples for one feature: ``arm, pre, post, change`` indexed by patient."""
    wide = sub.pivot(index="patient_id", columns="timepoint", values="value")
    wide = wide.reindex(columns=[design.pre, design.post]).dropna()
    wide.columns = ["pre", "post"]
    arms = sub.drop_duplicates("patient_id").set_index("patient_id")["arm"]
    wide.insert(0, "arm", arms.loc[wide.index])
    wide["change"] = wide["post"] - wide["pre"]
    return wide


def _summaries(pairs: pd.DataFrame) -> dict:
    out = {}
    for column in ("pre", "post", "change"):
        x = pairs[column]
        out |= {f"{column}_mean": x.mean(), f"{column}_median": x.median(), f"{column}_sd": x.std(ddof=1)}
    return out


def changes_within_arm(
    values: pd.DataFrame,
    design: Design,
    feature_info: Mapping[str, tuple[str, str]] | pd.DataFrame | None = None,
    families: Iterable[str] | None = None,
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Descriptive within-arm change per feature: summaries, Wilcoxon signed-rank + HL, paired t.

    Parameters
    ----------
    values
        Long table ``patient_id, arm, timepoint, feature, value`` (see module docstring).
    design
        Arm and timepoint labels (covariates are not used within arm).
    feature_info
        Feature → ``(feature_type, family)``; ``None`` puts all features in ``all_features``.
    families
        Family names declared in the config (checked; see :func:`tme.stats.design.feature_table`).
    conf_level
        Confidence level of the CIs.

    Returns
    -------
    DataFrame with columns ``WITHIN_COLUMNS`` (documented in the module docstring).

    Examples
    --------
    >>> info = {"CD8": ("immune_measure", "primary")}
    >>> changes_within_arm(values, Design(), info, families=["primary"])  # doctest: +SKIP
    """
    values, _, features = _prepare(values, design, feature_info, families)
    rows = []
    for feature, sub in values.groupby("feature", sort=False):
        pairs = _paired_table(sub, design)
        constant = sub["value"].nunique() == 1
        for arm in (design.reference_arm, design.treatment_arm):
            arm_pairs = pairs[pairs["arm"] == arm]
            n = len(arm_pairs)
            change = arm_pairs["change"].to_numpy()
            if constant:
                reason = "feature is constant in all samples"
            elif n < MIN_PAIRS:
                reason = f"fewer than {MIN_PAIRS} pairs in this arm ({n})"
            else:
                reason = ""
            results = (
                {
                    "wilcoxon_signed_rank": rank_estimate(signed_rank_test(change, conf_level)),
                    "paired_t": paired_t(change, conf_level),
                }
                if not reason
                else dict.fromkeys(("wilcoxon_signed_rank", "paired_t"), not_estimable(reason))
            )
            base = {
                "feature": feature,
                "arm": arm,
                "model": "post - pre",
                "covariates": "",
                "n_pairs": n,
                **_summaries(arm_pairs),
            }
            rows += [base | {"analysis": a} | r.as_dict() for a, r in results.items()]
    table = pd.DataFrame(rows).merge(features, on="feature", how="left")
    return add_q_values(table, ["family", "analysis"]).reindex(columns=WITHIN_COLUMNS)


def _arm_counts(frame: pd.DataFrame, design: Design) -> dict[str, int]:
    arms = frame["arm"]
    return {
        "n_reference_arm": int((arms == design.reference_arm).sum()),
        "n_treatment_arm": int((arms == design.treatment_arm).sum()),
    }


def _not_estimable_reason(sub: pd.DataFrame, pair_counts: dict[str, int]) -> str:
    """Why no between-arm analysis can run for a feature ('' when they can)."""
    if sub["value"].nunique() == 1:
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
    analyses: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Between-arm difference in change per feature, one row per feature × analysis.

    Parameters
    ----------
    values, design, feature_info, families, conf_level
        As in :func:`changes_within_arm`; ``design.covariates`` enter the adjusted analyses.
    n_bootstrap
        Bootstrap resamples for ``bootstrap_mean_change``; 0 omits that analysis.
    seed
        Seed of ``numpy.random.default_rng`` for the bootstrap; the same seed is used for every
        feature, so results do not depend on feature order.
    analyses
        Names from :data:`tme.stats.analyses.BETWEEN_ARM` (default: all, in registry order).

    Returns
    -------
    DataFrame with columns ``BETWEEN_COLUMNS`` (documented in the module docstring).
    """
    values, samples, features = _prepare(values, design, feature_info, families)
    check_covariates(samples, design)
    chosen = [
        BETWEEN_ARM[name]
        for name in (analyses or BETWEEN_ARM)
        if not (name == "bootstrap_mean_change" and n_bootstrap == 0)
    ]
    post_covariates = samples[samples["timepoint"] == design.post].set_index("patient_id")
    options = {"n_bootstrap": n_bootstrap, "seed": seed}
    rows = []
    for feature, sub in values.groupby("feature", sort=False):
        pairs = _paired_table(sub, design)
        data = FeatureData(feature, sub, pairs, post_covariates, design, conf_level, options)
        n_pairs = _arm_counts(pairs, design)
        reason = _not_estimable_reason(sub, n_pairs)
        for analysis in chosen:
            result = not_estimable(reason) if reason else analysis.run(data)
            counts = _arm_counts(sub.drop_duplicates("patient_id"), design) if analysis.all_samples else n_pairs
            rows.append(
                {
                    "feature": feature,
                    "analysis": analysis.name,
                    "model": analysis.model(design),
                    "covariates": ";".join(design.covariates) if analysis.adjusted else "",
                    **counts,
                    **result.as_dict(),
                }
            )
    table = pd.DataFrame(rows).merge(features, on="feature", how="left")
    return add_q_values(table, ["family", "analysis"]).reindex(columns=BETWEEN_COLUMNS)
