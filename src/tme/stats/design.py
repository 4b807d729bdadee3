"""The trial design, input validation and design-matrix rank checks shared by the stats modules.

Input is a tidy long table ``values`` with columns ``patient_id, arm, timepoint, feature, value``
and, for adjusted analyses, a baseline covariate table with one row per patient.
Decisions documented here (and raised as :class:`tme.errors.TmeInputError`):

* an arm or timepoint label other than the four in :class:`Design` is an error;
* a patient in both arms, or two values for one patient × timepoint × feature, is an error;
* covariates are baseline values, one row per patient (the analysis plan takes them from the
  pre-window sample or the patients sheet); a missing value is an error naming the covariate
  (tme does not silently drop patients from the primary analysis);
* a covariate confounded with arm, or constant (design rank check across patients), is an error
  naming the covariate and what it is confounded with;
* categorical covariates (non-numeric or boolean) are treatment-coded with the first level in
  sorted order as reference; numeric covariates enter linearly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from tme.config import Design  # noqa: F401  (re-exported: the one design type of tme)
from tme.errors import TmeInputError

#: Fewest patients with both samples per arm for a within-arm statistic or a pre-post correlation.
MIN_PAIRS = 3

REQUIRED_COLUMNS = ("patient_id", "arm", "timepoint", "feature", "value")


def feature_table(
    features: Iterable[str],
    feature_info: Mapping[str, tuple[str, str]] | pd.DataFrame | None,
    families: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Return ``feature, feature_type, family`` for each feature, checking the declared families.

    ``feature_info`` maps feature → ``(feature_type, family)`` (or is a DataFrame with those
    columns, whose row order and further columns are kept); ``None`` puts every feature in the
    family ``all_features``. ``families`` are the family names declared: a feature whose family is
    not declared, and a declared family that matches no feature, are errors (a family name typo
    would otherwise silently change what the multiplicity adjustment covers).
    """
    features = list(dict.fromkeys(features))
    if feature_info is None:
        table = pd.DataFrame({"feature": features, "feature_type": "unspecified", "family": "all_features"})
    else:
        if isinstance(feature_info, pd.DataFrame):  # its order and any extra columns are kept
            info = feature_info.drop_duplicates("feature").set_index("feature")
        else:
            info = pd.DataFrame.from_dict(dict(feature_info), orient="index", columns=["feature_type", "family"])
        missing = [f for f in features if f not in info.index]
        if missing:
            raise TmeInputError(
                f"{len(missing)} feature(s) have no feature type/family: {', '.join(missing[:5])}",
                column="feature",
                fix="add them to the feature → family mapping in the config",
            )
        present = set(features)
        table = info.loc[[f for f in info.index if f in present]].rename_axis("feature").reset_index()
    if families is not None:
        declared = list(dict.fromkeys(families))
        undeclared = sorted(set(table["family"]) - set(declared))
        if undeclared:
            raise TmeInputError(
                f"feature family/families {undeclared} are not declared (declared: {declared})",
                column="family",
                fix="declare the family in the config or correct the feature's family",
            )
        empty = [f for f in declared if f not in set(table["family"])]
        if empty:
            raise TmeInputError(
                f"declared family/families {empty} match no feature in the data "
                f"(families with features: {sorted(set(table['family']))})",
                column="family",
                fix="correct the family name or remove the family from the config",
            )
    return table


def validate_values(values: pd.DataFrame, design: Design) -> pd.DataFrame:
    """Check ``values`` and return it without missing values (that sample does not count for that feature)."""
    absent = [c for c in REQUIRED_COLUMNS if c not in values.columns]
    if absent:
        raise TmeInputError(
            f"the values table lacks column(s) {absent}",
            column=absent[0],
            fix="provide columns patient_id, arm, timepoint, feature, value",
        )
    # labels as plain strings: categorical columns (e.g. from AnnData .obs) would make groupby
    # yield empty groups for unused categories
    values = values.astype({c: str for c in REQUIRED_COLUMNS if c != "value"})
    for column, allowed in (("arm", design.arms), ("timepoint", (design.pre, design.post))):
        bad = sorted(set(values[column]) - set(allowed))
        if bad:
            raise TmeInputError(
                f"unexpected {column} label(s) {bad}; the design expects {list(allowed)}",
                column=column,
                fix=f"relabel the samples or set the design's {column} names",
            )
    arms_per_patient = values.groupby("patient_id")["arm"].nunique()
    if (arms_per_patient > 1).any():
        raise TmeInputError(
            f"patient(s) {list(arms_per_patient.index[arms_per_patient > 1][:5])} appear in both arms",
            column="arm",
            fix="each patient belongs to one arm; correct the sample sheet",
        )
    dup = values.duplicated(["patient_id", "timepoint", "feature"], keep=False)
    if dup.any():
        first = values.loc[dup, ["patient_id", "timepoint", "feature"]].iloc[0]
        raise TmeInputError(
            f"{int(dup.sum())} rows repeat a patient × timepoint × feature, e.g. "
            f"{first.patient_id} {first.timepoint} {first.feature}",
            fix="keep one value per patient, timepoint and feature (average replicates upstream)",
        )
    return values.dropna(subset=["value"])


def check_patient_covariates(covariates: pd.DataFrame | None, patients: Iterable[str]) -> None:
    """The baseline covariate table (index ``patient_id``) covers every patient, without missing values."""
    if covariates is None or covariates.shape[1] == 0:
        return
    missing = sorted(set(map(str, patients)) - set(map(str, covariates.index)))
    if missing:
        raise TmeInputError(
            f"no baseline covariates for patient(s) {missing[:5]}",
            column="patient_id",
            fix="give every patient a row in the covariate table",
        )
    empty = covariates.columns[covariates.isna().any()].tolist()
    if empty:
        raise TmeInputError(
            f"covariate(s) {empty} have missing values",
            column=empty[0],
            fix="fill them in (tme does not drop patients from an adjusted analysis silently)",
        )


def covariate_matrix(frame: pd.DataFrame, covariates: Iterable[str]) -> pd.DataFrame:
    """Numeric covariates as they are; categorical ones as treatment-coded dummies ``name=level``."""
    blocks = []
    for cov in covariates:
        column = frame[cov]
        if is_numeric_dtype(column) and not is_bool_dtype(column):
            blocks.append(column.astype(float).to_frame(cov))
        else:
            dummies = pd.get_dummies(column.astype(str), prefix=cov, prefix_sep="=", dtype=float)
            blocks.append(dummies.iloc[:, 1:])
    if not blocks:
        return pd.DataFrame(index=frame.index)
    return pd.concat(blocks, axis=1)


def _in_span(block: np.ndarray, basis: np.ndarray) -> bool:
    coef, *_ = np.linalg.lstsq(basis, block, rcond=None)
    scale = max(1.0, float(np.abs(block).max()))
    return bool(np.abs(block - basis @ coef).max() <= 1e-9 * scale * len(block))


def confounded_covariates(
    structure: Mapping[str, np.ndarray], covariates: pd.DataFrame, names: Iterable[str]
) -> list[str]:
    """Explain, in words, a rank deficiency caused by covariates.

    ``structure`` maps a term (e.g. ``"timepoint"``, ``"arm"``) to its design column(s), in model
    order (an intercept is always included); ``covariates`` is :func:`covariate_matrix` output for
    the covariates ``names``. Each covariate is added after the structural terms and the preceding
    covariates; one whose columns do not raise the rank is reported as e.g.
    ``"'batch' is confounded with arm"``, naming the first structural term whose span (with the
    terms before it) contains it, or "the other covariates".
    """
    spans = [("the intercept (it is constant)", np.ones((len(covariates), 1)))]
    for label, cols in structure.items():
        spans.append((label, np.column_stack([spans[-1][1], cols])))
    current = spans[-1][1]
    problems = []
    for name in names:
        cols = [c for c in covariates.columns if c == name or c.startswith(f"{name}=")]
        if not cols:  # a categorical covariate with one level has no dummy column
            problems.append(f"'{name}' is confounded with the intercept (it is constant)")
            continue
        block = covariates[cols].to_numpy(float)
        candidate = np.column_stack([current, block])
        if np.linalg.matrix_rank(candidate) < np.linalg.matrix_rank(current) + block.shape[1]:
            what = next((label for label, span in spans if _in_span(block, span)), "the other covariates")
            problems.append(f"'{name}' is confounded with {what}")
        else:
            current = candidate
    return problems


def check_covariates(covariates: pd.DataFrame | None, arm: pd.Series, design: Design) -> None:
    """Error when a baseline covariate is constant or confounded with arm across patients.

    ``covariates``: one row per patient (index ``patient_id``); ``arm``: each patient's arm.
    """
    if covariates is None or covariates.shape[1] == 0:
        return
    names = list(covariates.columns)
    treated = (arm.reindex(covariates.index) == design.treatment_arm).to_numpy(float)
    problems = confounded_covariates({"arm": treated}, covariate_matrix(covariates, names), names)
    if problems:
        raise TmeInputError(
            "covariate(s) cannot be separated from the design: " + "; ".join(problems),
            column="covariates",
            fix="remove the covariate from analysis_plan.covariates / strata (e.g. a factor that is the same for "
            "every patient, or one processed by arm, cannot be adjusted for)",
        )
