"""The registry of between-arm analyses: one :class:`BetweenArmAnalysis` per ``analysis`` name.

Every analysis gets one feature's data as a :class:`FeatureData` and returns an
:class:`~tme.stats.result.Estimate` of treatment − reference. :func:`tme.stats.paired.effects_between_arms`
runs the analyses the caller (the analysis plan) names, in registry order; the methods page and the
figures take each analysis's description and label from here. A new analysis is one function and
one entry in :data:`BETWEEN_ARM`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tme import stats  # the analyses' implementations load on first use (scipy): not for the registry's names
from tme.stats.design import Design, confounded_covariates, covariate_matrix
from tme.stats.result import Estimate, not_estimable

if TYPE_CHECKING:
    from tme.stats.rank_tests import RankTestResult


class PatientCovariates:
    """A covariate table (one row per patient) with its rows and :func:`feature_covariates` memoised
    per list of patients: the features measured on the same patients (every gene and score of one
    assay) share one design matrix instead of rebuilding it per feature and analysis."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self.incomplete = frozenset(frame.index[frame.isna().any(axis=1)])  # patients with a missing value
        self._rows: dict[tuple, pd.DataFrame] = {}
        self._matrices: dict[tuple, tuple[np.ndarray | None, str]] = {}

    @property
    def names(self) -> list[str]:
        return list(self.frame.columns)

    def rows(self, patients: Iterable[str]) -> pd.DataFrame:
        """The table's rows for ``patients``, in that order."""
        key = tuple(patients)
        if key not in self._rows:
            self._rows[key] = self.frame.reindex(key)
        return self._rows[key]

    def matrix(self, patients: Iterable[str]) -> tuple[np.ndarray | None, str]:
        """:func:`feature_covariates` of ``patients``' rows."""
        key = tuple(patients)
        if key not in self._matrices:
            self._matrices[key] = feature_covariates(self.rows(key))
        return self._matrices[key]


@dataclass(frozen=True)
class Patients:
    """One feature's patients as arrays (one entry per patient): ``ids``, ``arm``, ``pre`` and ``post``
    (NaN where the sample is missing), ``treated`` (1 for the treatment arm, 0 for the reference arm)."""

    ids: np.ndarray
    arm: np.ndarray
    pre: np.ndarray
    post: np.ndarray
    treated: np.ndarray

    @property
    def change(self) -> np.ndarray:
        """``post - pre`` (NaN unless both samples are there)."""
        return self.post - self.pre

    def subset(self, mask: np.ndarray) -> Patients:
        return Patients(self.ids[mask], self.arm[mask], self.pre[mask], self.post[mask], self.treated[mask])

    def paired(self) -> Patients:
        """The patients with both samples."""
        return self.subset(~np.isnan(self.change))


@dataclass(frozen=True)
class FeatureData:
    """One feature, as the between-arm analyses see it.

    ``patients``: every patient with at least one sample (:class:`Patients`); ``covariates``: the
    baseline covariates and stratification factors every adjusted model uses (no columns =
    unadjusted); ``post_covariates``: those and the post-window sample values (``post_``-prefixed)
    that only ``ancova_post_covariates`` uses, or None; ``options``: analysis settings
    (``n_bootstrap``, ``seed``, ``n_imputations``).
    """

    feature: str
    patients: Patients
    covariates: PatientCovariates
    design: Design
    conf_level: float = 0.95
    options: Mapping[str, Any] = field(default_factory=dict)
    post_covariates: PatientCovariates | None = None
    transform: str = "none"

    @cached_property
    def pairs(self) -> Patients:
        """The paired patients (both samples)."""
        return self.patients.paired()

    def changes(self, arm: str) -> np.ndarray:
        """The paired patients' changes ``post - pre`` in ``arm``."""
        return self.pairs.change[self.pairs.arm == arm]

    @property
    def paired_covariates(self) -> tuple[np.ndarray | None, str]:
        """:func:`feature_covariates` of the paired patients."""
        return self.covariates.matrix(self.pairs.ids)

    @property
    def patient_covariates(self) -> tuple[np.ndarray | None, str]:
        """:func:`feature_covariates` of every patient with a sample (:attr:`patients`)."""
        return self.covariates.matrix(self.patients.ids)


@dataclass(frozen=True)
class BetweenArmAnalysis:
    """A registered between-arm analysis.

    ``model(design)`` is the model formula or contrast in words; ``adjusted``: the configured
    covariates enter the model; ``all_samples``: it uses every patient with a sample (the n columns
    then count those), otherwise the paired patients; ``label``: a short name for figures;
    ``readable``: its rows carry the readable effects (:func:`readable_columns`).
    """

    name: str
    label: str
    description: str
    model: Callable[[str], str]
    run: Callable[[FeatureData], Estimate]
    adjusted: bool = False
    all_samples: bool = False
    readable: bool = False


def rank_estimate(result: RankTestResult) -> Estimate:
    """A rank test's result as an :class:`Estimate` (no SE or df)."""
    return Estimate(
        result.estimate, np.nan, result.ci_low, result.ci_high, result.statistic, np.nan, result.p, result.method
    )


def feature_covariates(frame: pd.DataFrame) -> tuple[np.ndarray | None, str]:
    """Covariate matrix of the patients (or samples) in ``frame``, without covariates constant among them.

    A covariate constant among one feature's patients (e.g. one stratum measured this marker)
    carries no information; it is left out and the note says so.
    """
    varying = [c for c in frame.columns if frame[c].nunique() > 1]
    constant = [c for c in frame.columns if c not in varying]
    note = (
        f"covariate(s) {', '.join(constant)} constant among this feature's patients: not adjusted for"
        if constant
        else ""
    )
    matrix = covariate_matrix(frame, varying)
    return (matrix.to_numpy() if varying else None), note


def _with_note(result: Estimate, note: str) -> Estimate:
    return replace(result, note="; ".join(filter(None, [result.note, note])))


def adjusted_for(data_or_names) -> str:
    """The model's covariate terms, e.g. `` + subtype + age``."""
    names = data_or_names if isinstance(data_or_names, list) else list(data_or_names.columns)
    return "".join(f" + {c}" for c in names)


def _ancova_with(data: FeatureData, frame: pd.DataFrame, prepared: tuple | None = None) -> Estimate:
    """ANCOVA adjusted for the covariates in ``frame`` (``prepared``: their :func:`feature_covariates`)."""
    covs, note = prepared or feature_covariates(frame)
    pairs = data.pairs
    result = stats.ancova(pairs.pre, pairs.post, pairs.treated, covs, data.conf_level)
    if result.note == "ANCOVA design is rank-deficient":
        why = confounded_covariates(
            {"baseline value": pairs.pre, "arm": pairs.treated},
            covariate_matrix(frame, list(frame.columns)),
            list(frame.columns),
        )
        result = not_estimable(f"ANCOVA design rank-deficient: {'; '.join(why)}", result.method)
    return _with_note(result, note)


def _ancova(data: FeatureData) -> Estimate:
    return _ancova_with(data, data.covariates.rows(data.pairs.ids), data.paired_covariates)


def _ancova_post_covariates(data: FeatureData) -> Estimate:
    if data.post_covariates is None:
        return not_estimable("no post_covariates in the analysis plan")
    ids = data.pairs.ids
    if data.post_covariates.incomplete.intersection(ids):  # baseline covariates are complete (checked)
        return not_estimable("a post-window covariate value is missing for a paired patient")
    return _ancova_with(data, data.post_covariates.rows(ids), data.post_covariates.matrix(ids))


def _mixed_model(data: FeatureData) -> Estimate:
    """Every sample of every patient (patients with one sample included)."""
    patients = data.patients
    observed = np.column_stack([patients.pre, patients.post])
    patient, slot = np.nonzero(~np.isnan(observed))  # each patient's pre then post
    post, treated, ids = slot.astype(float), patients.treated[patient], patients.ids[patient]
    covs, note = data.patient_covariates  # per patient; a covariate varies across samples iff across patients
    result = stats.mixed_model_interaction(observed[patient, slot], post, treated, ids,
                                           None if covs is None else covs[patient], data.conf_level)  # fmt: skip
    if result.note == "mixed-model design is rank-deficient":
        per_sample = data.covariates.rows(ids)
        why = confounded_covariates(
            {"timepoint": post, "arm": treated, "timepoint × arm": post * treated},
            covariate_matrix(per_sample, data.covariates.names),
            data.covariates.names,
        )
        result = not_estimable(f"mixed-model design rank-deficient: {'; '.join(why)}", result.method)
    return _with_note(result, note)


def _ancova_hc3(data: FeatureData) -> Estimate:
    covs, note = data.paired_covariates
    pairs = data.pairs
    return _with_note(stats.ancova_hc3(pairs.pre, pairs.post, pairs.treated, covs, data.conf_level), note)


def _clda(data: FeatureData) -> Estimate:
    patients = data.patients
    covs, note = data.patient_covariates
    return _with_note(stats.clda(patients.pre, patients.post, patients.treated, covs, data.conf_level), note)


def _mi_mar(data: FeatureData) -> Estimate:
    patients = data.patients
    covs, note = data.patient_covariates
    result = stats.multiple_imputation_ancova(patients.pre, patients.post, patients.treated, covs,
                                        data.options.get("n_imputations", 50), data.options.get("seed", 0),
                                        data.conf_level)  # fmt: skip
    return _with_note(result, note)


def readable_columns(data: FeatureData, result: Estimate) -> dict:
    """LS means, the back-transformed ratio and the standardised effect of an ANCOVA result
    (:func:`tme.stats.effects.readable_effects`); NaN when the ANCOVA was not estimable."""
    if not np.isfinite(result.estimate):
        return {}
    covs, _ = data.paired_covariates
    pairs = data.pairs
    return stats.readable_effects(pairs.pre, pairs.post, pairs.treated, covs, data.transform, data.conf_level, result)


def _mann_whitney(data: FeatureData) -> Estimate:
    d = data.design
    return rank_estimate(
        stats.rank_sum_test(data.changes(d.treatment_arm), data.changes(d.reference_arm), data.conf_level)
    )


def _welch(data: FeatureData) -> Estimate:
    d = data.design
    return stats.welch_t(data.changes(d.treatment_arm), data.changes(d.reference_arm), data.conf_level)


def _bootstrap(data: FeatureData) -> Estimate:
    d = data.design
    return stats.bootstrap_mean_change_difference(
        data.changes(d.treatment_arm),
        data.changes(d.reference_arm),
        data.options.get("n_bootstrap", 2000),
        data.options.get("seed", 0),
        data.conf_level,
    )


#: Registered between-arm analyses by name, in the order tables list them (read-only).
BETWEEN_ARM: Mapping[str, BetweenArmAnalysis] = MappingProxyType(
    {
        a.name: a
        for a in (
            BetweenArmAnalysis(
                "ancova",
                "ANCOVA (post ~ pre + arm)",
                "ANCOVA, OLS of post on pre and arm (+ covariates): the primary analysis (Vickers & Altman, BMJ "
                "2001;323:1123)",
                lambda terms: f"post ~ pre + arm{terms}",
                _ancova,
                adjusted=True,
                readable=True,
            ),
            BetweenArmAnalysis(
                "clda",
                "cLDA, every patient (all-data ANCOVA)",
                "constrained longitudinal data analysis: common baseline mean, arm effect at post only, unstructured "
                "2x2 covariance, REML, Kenward-Roger df, every patient with at least one sample (Liang & Zeger 2000; "
                "Coffman 2016): the all-data counterpart of the ANCOVA, valid when posts are missing at random",
                lambda terms: "value ~ timepoint + timepoint:arm" + (f" + timepoint:({terms[3:]})" if terms else ""),
                _clda,
                adjusted=True,
                all_samples=True,
            ),
            BetweenArmAnalysis(
                "mi_mar",
                "multiple imputation (MAR)",
                "missing posts imputed from post ~ pre + arm (+ covariates) (Bayesian regression, seeded), ANCOVA per "
                "imputation, Rubin's rules with Barnard-Rubin df",
                lambda terms: f"post ~ pre + arm{terms} (posts imputed)",
                _mi_mar,
                adjusted=True,
                all_samples=True,
            ),
            BetweenArmAnalysis(
                "ancova_hc3",
                "ANCOVA, HC3 robust SE",
                "the primary ANCOVA's arm coefficient with the HC3 heteroscedasticity-consistent SE (MacKinnon & White "
                "1985; R sandwich::vcovHC type HC3)",
                lambda terms: f"post ~ pre + arm{terms}",
                _ancova_hc3,
                adjusted=True,
            ),
            BetweenArmAnalysis(
                "ancova_post_covariates",
                "ANCOVA + post-window covariates",
                "sensitivity ANCOVA that also adjusts for the plan's post_covariates at the post-window sample "
                "(post-randomisation values: biased for the arm effect when treatment changes them; never primary)",
                lambda terms: f"post ~ pre + arm{terms} + post-window covariates",
                _ancova_post_covariates,
                adjusted=True,
            ),
            BetweenArmAnalysis(
                "mann_whitney_change",
                "Mann–Whitney on changes (Hodges–Lehmann shift)",
                "Mann–Whitney test on the within-patient changes, Hodges–Lehmann shift with exact (Bauer 1972) CI",
                lambda terms: "post - pre ~ arm (rank sum)",
                _mann_whitney,
            ),
            BetweenArmAnalysis(
                "welch_t_change",
                "Welch t on changes",
                "Welch t test on the within-patient changes",
                lambda terms: "post - pre ~ arm",
                _welch,
            ),
            BetweenArmAnalysis(
                "mixed_model",
                "mixed model (timepoint × arm)",
                "linear mixed model value ~ timepoint × arm + (1 | patient), REML, Satterthwaite df; keeps unpaired "
                "samples",
                lambda terms: f"value ~ timepoint * arm{terms} + (1 | patient_id)",
                _mixed_model,
                adjusted=True,
                all_samples=True,
            ),
            BetweenArmAnalysis(
                "bootstrap_mean_change",
                "bootstrap difference in mean change",
                "patient-level BCa bootstrap CI of the difference in mean change (no p-value)",
                lambda terms: "mean(post - pre | treatment) - mean(post - pre | reference)",
                _bootstrap,
            ),
        )
    }
)
