"""Baseline covariates, the patients sheet and the per-protocol population of an analysis plan.

Only pre-randomisation information may enter the primary model (ICH E9; a covariate measured after
randomisation can carry part of the treatment effect and bias the arm estimate). So a covariate is

* a sample-sheet column, taken at the patient's **pre-window** sample (for a column that is the same
  on every sample of a patient, such as ``subtype``, the patient's other sample serves when the pre
  sample is missing); a column that is constant at the pre samples but varies at the post samples
  (``sample_type``: every pre sample is a core, posts are cores or resections; ``days_from_baseline``:
  0 at every pre) describes the post-window specimen, is post-randomisation, and is refused — it may
  appear under ``post_covariates`` for one named sensitivity analysis;
* or a column of the optional **patients sheet** (one row per randomised patient, ``patient_id`` then
  the columns the plan declares with their type, ``number`` or ``category``).

A stratification factor with a level held by one patient cannot be adjusted for (the level's
coefficient would fit that patient exactly) and is an error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from tme.errors import TmeInputError, shorten
from tme.io import read_small_table
from tme.plan import AnalysisPlan


def read_patients(settings: Mapping[str, Any], samples: pd.DataFrame) -> pd.DataFrame:
    """The patients sheet: one row per randomised patient of ``samples`` (index ``patient_id``, the
    sheet's possibly pseudonymised ID), the declared columns typed."""
    path = Path(settings["path"])
    frame = read_small_table(path, "patients sheet")
    columns = dict(settings.get("columns") or {})
    absent = [c for c in ("patient_id", *columns) if c not in frame.columns]
    if absent:
        raise TmeInputError(
            f"column {absent[0]!r} is missing",
            file=path,
            line=1,
            fix="the header needs patient_id and every column declared under analysis_plan.patients.columns",
        )
    codes = dict(zip(samples["source_patient_id"], samples["patient_id"]))  # IDs as written → IDs used
    unknown = frame[~frame["patient_id"].isin(codes)]
    if len(unknown):
        raise TmeInputError(
            f"patient {unknown['patient_id'].iloc[0]!r} is not in the sample sheet",
            file=path,
            line=int(unknown["_line"].iloc[0]),
            column="patient_id",
            fix="correct the patient_id, or remove the row",
        )
    twice = frame[frame["patient_id"].duplicated(keep=False)]
    if len(twice):
        raise TmeInputError(
            f"patient {twice['patient_id'].iloc[0]!r} has more than one row",
            file=path,
            line=int(twice["_line"].iloc[1]),
            column="patient_id",
            fix="keep one row per patient",
        )
    absent_patients = sorted(set(codes) - set(frame["patient_id"]))
    if absent_patients:
        raise TmeInputError(
            f"{len(absent_patients)} patient(s) of the sample sheet have no row (e.g. {absent_patients[0]!r})",
            file=path,
            column="patient_id",
            fix="give every randomised patient a row (leave a cell empty when a value is unknown)",
        )
    typed = {name: [_cell(row, name, kind, path) for _, row in frame.iterrows()] for name, kind in columns.items()}
    return pd.DataFrame(typed, index=pd.Index(frame["patient_id"].map(codes), name="patient_id"))


def _cell(row: pd.Series, column: str, kind: str, path: Path):
    value = row[column]
    if value == "":
        return math.nan if kind == "number" else None
    if kind == "category":
        return value
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise TmeInputError(
            f"{shorten(repr(value), 60)} is not a number",
            file=path,
            line=int(row["_line"]),
            column=column,
            fix="give a plain number, or leave the cell empty",
        )
    return number


def _sheet_covariate(samples: pd.DataFrame, column: str, pre: str) -> pd.Series:
    """A sample-sheet column's baseline value per patient (module docstring); post-randomisation refused."""
    if column not in samples.columns:
        raise TmeInputError(
            f"covariate {column!r} (analysis_plan) is not a column of the sample sheet",
            file=samples.attrs.get("path"),
            line=1,
            fix=f"add a {column} column, or remove it from analysis_plan.covariates / strata",
        )
    samples = samples.assign(**{column: samples[column].replace("", None)})  # an empty cell is unknown
    at_pre = samples[samples["timepoint"] == pre].set_index("patient_id")[column]
    at_post = samples[samples["timepoint"] != pre].set_index("patient_id")[column]
    if at_pre.nunique() <= 1 and set(at_post.dropna()) - set(at_pre.dropna()):
        raise TmeInputError(
            f"covariate {column!r} is the same at every pre-window sample and takes other values only at the "
            "post-window samples: it describes the post-window specimen (a post-randomisation value, which would "
            "bias the "
            "arm effect in the primary model)",
            file=samples.attrs.get("path"),
            column=column,
            fix=f"remove {column} from analysis_plan.covariates / strata; name it under analysis_plan.post_covariates "
            "for a sensitivity analysis",
        )
    if not (samples.groupby("patient_id")[column].nunique(dropna=True) <= 1).all():
        return at_pre
    # a patient property (one value per patient throughout the sheet): either sample gives it
    fallback = samples.dropna(subset=[column]).drop_duplicates("patient_id").set_index("patient_id")[column]
    return at_pre.combine_first(fallback)


def baseline_covariates(
    plan: AnalysisPlan, samples: pd.DataFrame, patients: pd.DataFrame | None, pre: str
) -> pd.DataFrame:
    """Strata and covariates (columns, in :attr:`AnalysisPlan.adjust_for` order) of every randomised
    patient (index ``patient_id``), from the usable samples of the sheet and the patients sheet."""
    index = pd.Index(sorted(samples["patient_id"].unique()), name="patient_id")
    table = pd.DataFrame(index=index)
    for name in plan.adjust_for:
        if patients is not None and name in patients.columns:
            table[name] = patients[name].reindex(index)
        else:
            table[name] = _sheet_covariate(samples, name, pre).reindex(index)
    for name in plan.strata:
        counts = table[name].value_counts()
        if (counts < 2).any():
            from_patients = patients is not None and name in patients.columns
            raise TmeInputError(
                f"stratification factor {name!r} has a level held by one patient ({counts.index[counts < 2][0]!r})",
                file=plan.patients["path"] if from_patients else samples.attrs.get("path"),
                column=name,
                fix="merge the level with another (as the randomisation did), or correct the data",
            )
    return table


def post_covariates(plan: AnalysisPlan, samples: pd.DataFrame, post: str) -> pd.DataFrame:
    """The plan's ``post_covariates`` at each patient's post-window sample (index ``patient_id``)."""
    at_post = samples[samples["timepoint"] == post].set_index("patient_id")
    return at_post[list(plan.post_covariates)].copy()


def per_protocol_patients(plan: AnalysisPlan, patients: pd.DataFrame | None) -> list[str] | None:
    """Patients of the per-protocol population (``None`` when the plan defines none)."""
    rule = plan.per_protocol
    if not rule:
        return None
    column = patients[rule["column"]]
    keep = column >= rule["min"] if "min" in rule else column.astype(str) == str(rule["equals"])
    return sorted(patients.index[keep.fillna(False)])
