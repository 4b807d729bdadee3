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
from dataclasses import replace

import numpy as np
import pandas as pd

from tme.errors import TmeInputError
from tme.stats.bootstrap import bootstrap_mean_change_difference
from tme.stats.design import (
    Design,
    check_covariates,
    confounded_covariates,
    covariate_matrix,
    feature_table,
    validate_values,
)
from tme.stats.mixed import mixed_model_interaction
from tme.stats.multiplicity import add_q_values
from tme.stats.parametric import ancova, paired_t, welch_t
from tme.stats.rank_tests import RankTestResult, rank_sum_test, signed_rank_test
from tme.stats.result import Estimate, not_estimable

MIN_PAIRS = 3

RESULT_COLUMNS = ["estimate", "se", "ci_low", "ci_high", "statistic", "df", "p", "q", "note"]
WITHIN_COLUMNS = [
    "feature", "feature_type", "family", "arm", "analysis", "method", "model", "covariates",
    "n_pairs", "pre_mean", "pre_median", "pre_sd", "post_mean", "post_median", "post_sd",
    "change_mean", "change_median", "change_sd", *RESULT_COLUMNS,
]
BETWEEN_COLUMNS = [
    "feature", "feature_type", "family", "analysis", "method", "model", "covariates",
    "n_reference_arm", "n_treatment_arm", *RESULT_COLUMNS,
]


def _rank_estimate(result: RankTestResult) -> Estimate:
    return Estimate(result.estimate, np.nan, result.ci_low, result.ci_high, result.statistic,
                    np.nan, result.p, result.method)


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
        out |= {f"{column}_mean": x.mean(), f"{column}_median": x.median(),
                f"{column}_sd": x.std(ddof=1)}
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
            results = {
                "wilcoxon_signed_rank": _rank_estimate(signed_rank_test(change, conf_level)),
                "paired_t": paired_t(change, conf_level),
            } if not reason else dict.fromkeys(("wilcoxon_signed_rank", "paired_t"),
                                               not_estimable(reason))
            base = {"feature": feature, "arm": arm, "model": "post - pre", "covariates": "",
                    "n_pairs": n, **_summaries(arm_pairs)}
            rows += [base | {"analysis": a} | r.as_dict() for a, r in results.items()]
    table = pd.DataFrame(rows).merge(features, on="feature", how="left")
    return add_q_values(table, ["family", "analysis"]).reindex(columns=WITHIN_COLUMNS)


def _feature_covariates(frame: pd.DataFrame, design: Design) -> tuple[np.ndarray | None, str]:
    """Covariate matrix for one feature's samples, without covariates constant among them.

    A covariate constant in this feature's samples (e.g. one batch measured this marker) carries
    no information; it is left out and the note says so.
    """
    varying = [c for c in design.covariates if frame[c].nunique() > 1]
    constant = [c for c in design.covariates if c not in varying]
    note = (f"covariate(s) {', '.join(constant)} constant among this feature's samples: not "
            "adjusted for") if constant else ""
    matrix = covariate_matrix(frame, varying)
    return (matrix.to_numpy() if varying else None), note


def _with_note(result: Estimate, note: str) -> Estimate:
    return replace(result, note="; ".join(filter(None, [result.note, note])))


def _ancova_row(pairs, post_covariates, design, conf_level) -> Estimate:
    treated = (pairs["arm"] == design.treatment_arm).to_numpy(float)
    frame = post_covariates.loc[pairs.index]
    covs, note = _feature_covariates(frame, design)
    result = ancova(pairs["pre"].to_numpy(), pairs["post"].to_numpy(), treated, covs, conf_level)
    if result.note == "ANCOVA design is rank-deficient":
        why = confounded_covariates(
            {"baseline value": pairs["pre"].to_numpy(), "arm": treated},
            covariate_matrix(frame, design.covariates), design.covariates,
        )
        result = not_estimable(f"ANCOVA design rank-deficient: {'; '.join(why)}", result.method)
    return _with_note(result, note)


def _mixed_row(sub, samples, design, conf_level) -> Estimate:
    data = sub[["patient_id", "arm", "timepoint", "value"]].merge(
        samples, on=["patient_id", "arm", "timepoint"], how="left")
    post = (data["timepoint"] == design.post).to_numpy(float)
    treated = (data["arm"] == design.treatment_arm).to_numpy(float)
    covs, note = _feature_covariates(data, design)
    result = mixed_model_interaction(data["value"].to_numpy(), post, treated,
                                     data["patient_id"].to_numpy(), covs, conf_level)
    if result.note == "mixed-model design is rank-deficient":
        why = confounded_covariates(
            {"timepoint": post, "arm": treated, "timepoint × arm": post * treated},
            covariate_matrix(data, design.covariates), design.covariates,
        )
        result = not_estimable(f"mixed-model design rank-deficient: {'; '.join(why)}",
                               result.method)
    return _with_note(result, note)


def effects_between_arms(
    values: pd.DataFrame,
    design: Design,
    feature_info: Mapping[str, tuple[str, str]] | pd.DataFrame | None = None,
    families: Iterable[str] | None = None,
    n_bootstrap: int = 2000,
    seed: int = 0,
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Between-arm difference in change per feature (ANCOVA primary; MWU+HL, Welch, LMM, bootstrap).

    Parameters
    ----------
    values, design, feature_info, families, conf_level
        As in :func:`changes_within_arm`; ``design.covariates`` enter ANCOVA and the mixed model.
    n_bootstrap
        Bootstrap resamples for ``bootstrap_mean_change``; 0 omits that analysis.
    seed
        Seed of ``numpy.random.default_rng`` for the bootstrap; the same seed is used for every
        feature, so results do not depend on feature order.

    Returns
    -------
    DataFrame with columns ``BETWEEN_COLUMNS`` (documented in the module docstring).
    """
    values, samples, features = _prepare(values, design, feature_info, families)
    check_covariates(samples, design)
    post_covariates = samples[samples["timepoint"] == design.post].set_index("patient_id")
    cov_text = ";".join(design.covariates)
    cov_terms = "".join(f" + {c}" for c in design.covariates)
    models = {
        "ancova": (f"post ~ pre + arm{cov_terms}", cov_text),
        "mann_whitney_change": ("post - pre ~ arm (rank sum)", ""),
        "welch_t_change": ("post - pre ~ arm", ""),
        "mixed_model": (f"value ~ timepoint * arm{cov_terms} + (1 | patient_id)", cov_text),
        "bootstrap_mean_change": ("mean(post - pre | treatment) - mean(post - pre | reference)",
                                  ""),
    }
    if n_bootstrap == 0:
        del models["bootstrap_mean_change"]
    rows = []
    for feature, sub in values.groupby("feature", sort=False):
        pairs = _paired_table(sub, design)
        change_t = pairs.loc[pairs["arm"] == design.treatment_arm, "change"].to_numpy()
        change_r = pairs.loc[pairs["arm"] == design.reference_arm, "change"].to_numpy()
        n_pairs = {"n_reference_arm": len(change_r), "n_treatment_arm": len(change_t)}
        if sub["value"].nunique() == 1:
            reason = "feature is constant in all samples"
        elif min(len(change_r), len(change_t)) < MIN_PAIRS:
            reason = (f"fewer than {MIN_PAIRS} pairs in an arm (reference {len(change_r)}, "
                      f"treatment {len(change_t)})")
        else:
            reason = ""
        patients = sub.drop_duplicates("patient_id")["arm"]
        n_all = {"n_reference_arm": int((patients == design.reference_arm).sum()),
                 "n_treatment_arm": int((patients == design.treatment_arm).sum())}
        for analysis, (model, covariates) in models.items():
            if reason:
                result = not_estimable(reason)
            elif analysis == "ancova":
                result = _ancova_row(pairs, post_covariates, design, conf_level)
            elif analysis == "mann_whitney_change":
                result = _rank_estimate(rank_sum_test(change_t, change_r, conf_level))
            elif analysis == "welch_t_change":
                result = welch_t(change_t, change_r, conf_level)
            elif analysis == "mixed_model":
                result = _mixed_row(sub, samples, design, conf_level)
            else:
                result = bootstrap_mean_change_difference(change_t, change_r, n_bootstrap, seed,
                                                          conf_level)
            counts = n_all if analysis == "mixed_model" else n_pairs
            rows.append({"feature": feature, "analysis": analysis, "model": model,
                         "covariates": covariates, **counts, **result.as_dict()})
    table = pd.DataFrame(rows).merge(features, on="feature", how="left")
    return add_q_values(table, ["family", "analysis"]).reindex(columns=BETWEEN_COLUMNS)
