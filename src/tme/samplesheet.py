"""The sample sheet: one row per biopsy, validated against ``samples.schema.yaml`` and the design.

Checks (each a :class:`~tme.errors.TmeInputError` naming file, line, column and fix): required
columns, unknown columns, per-cell types and allowed values, arms and timepoints named by the
config (with a hint for case mistakes), unique ``sample_id``, one arm per patient, at most one
sample per patient and timepoint, and at least one usable sample per arm and timepoint. In a
blinded run the arm column is dropped unread and every sample belongs to the pooled group.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import pandas as pd

from tme.config import POOLED, Design
from tme.errors import TmeInputError, TmeInputWarning, shorten
from tme.io import read_small_table
from tme.pseudonym import Pseudonymiser
from tme.schema import load_schema, validate

REQUIRED = ("sample_id", "patient_id", "arm", "timepoint")


def _numeric_columns() -> set[str]:
    props = load_schema("samples")["properties"]
    return {k for k, v in props.items() if v.get("type") in ("number", "integer")}


def _row_record(row: pd.Series, numeric: set[str], path: Path) -> dict:
    record = {}
    for column, value in row.items():
        if column == "_line" or value == "":
            continue
        if column in numeric:
            try:
                record[column] = float(value)
            except ValueError:
                record[column] = math.nan
            if not math.isfinite(record[column]):
                raise TmeInputError(
                    f"{shorten(repr(value), 80)} is not a number",
                    file=path,
                    line=int(row["_line"]),
                    column=column,
                    fix="give a plain number (days as an integer count, percentages as "
                    "0-100), or leave the cell empty when it is unknown",
                )
        else:
            record[column] = value
    return record


def _check_label(
    values: pd.Series, allowed: tuple[str, ...], column: str, key: str, frame: pd.DataFrame, path: Path
) -> None:
    bad = ~values.isin(allowed)
    if not bad.any():
        return
    i = bad.idxmax()
    value = values[i]
    hint = [a for a in allowed if a.lower() == value.strip().lower()]
    fix = (
        f"write it exactly as the config names it: {hint[0]!r}"
        if hint
        else f"use one of {', '.join(map(repr, allowed))} or change design.{key} in the config"
    )
    raise TmeInputError(
        f"{column} {value!r} is not one the config names",
        file=path,
        line=int(frame.at[i, "_line"]),
        column=column,
        fix=fix,
    )


def read_samplesheet(path: str | os.PathLike, design: Design, ids: Pseudonymiser | None = None) -> pd.DataFrame:
    """Read and validate the sample sheet.

    Returns
    -------
    DataFrame indexed by ``sample_id`` with ``patient_id, arm, timepoint``, the optional covariate
    columns present (numbers as float), ``exclude_reason`` ('' when the sample is usable) and
    ``_line`` (the row's line in the file, for later messages), ``source_id`` and
    ``source_patient_id`` (the IDs as written, to find the sample in the data files). With a
    :class:`~tme.pseudonym.Pseudonymiser`, ``sample_id`` and ``patient_id`` are its codes.
    """
    path = Path(path)
    frame = read_small_table(path, "sample sheet")
    if design.blinded:  # the arm column is dropped unread: every patient is in the pooled group
        frame = frame.drop(columns=["arm"], errors="ignore").assign(arm=POOLED)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise TmeInputError(
            f"required column(s) {', '.join(map(repr, missing))} missing",
            file=path,
            line=1,
            fix=f"the header must contain {', '.join(REQUIRED)} (tab-separated)",
        )
    allowed = set(load_schema("samples")["properties"]) | {"_line"}
    unknown = [c for c in frame.columns if c not in allowed]
    if unknown:
        raise TmeInputError(
            f"unknown column {unknown[0]!r}",
            file=path,
            line=1,
            column=unknown[0],
            fix=f"remove or rename it; allowed columns: {', '.join(sorted(allowed - {'_line'}))}",
        )
    numeric = _numeric_columns()
    for _, row in frame.iterrows():
        validate(_row_record(row, numeric, path), "samples", file=str(path), line=int(row["_line"]), what="sheet")
    for column in numeric & set(frame.columns):
        frame[column] = pd.to_numeric(frame[column].replace("", None))

    if not design.blinded:
        _check_label(frame["arm"], design.arms, "arm", "reference_arm/treatment_arm", frame, path)
    _check_label(frame["timepoint"], design.timepoints, "timepoint", "pre/post", frame, path)

    dup = frame["sample_id"].duplicated(keep=False)
    if dup.any():
        rows = frame[dup]
        first = rows.iloc[0]
        lines = rows.loc[rows["sample_id"] == first["sample_id"], "_line"].tolist()
        raise TmeInputError(
            f"sample_id {first['sample_id']!r} appears on lines {', '.join(map(str, lines))}",
            file=path,
            line=int(lines[1]),
            column="sample_id",
            fix="give every sample a unique sample_id",
        )

    arms = frame.groupby("patient_id")["arm"].nunique()
    if (arms > 1).any():
        patient = arms[arms > 1].index[0]
        rows = frame[frame["patient_id"] == patient]
        detail = "; ".join(f"line {n}: {a}" for n, a in zip(rows["_line"], rows["arm"]))
        raise TmeInputError(
            f"patient {patient!r} is in more than one arm ({detail})",
            file=path,
            line=int(rows["_line"].iloc[-1]),
            column="arm",
            fix="a patient is randomised to one arm: correct the arm, or the patient_id if two patients share it",
        )

    if "exclude_reason" not in frame.columns:
        frame["exclude_reason"] = ""
    usable = frame[frame["exclude_reason"] == ""]
    per_tp = usable.groupby(["patient_id", "timepoint"]).size()
    if (per_tp > 1).any():
        patient, timepoint = per_tp[per_tp > 1].index[0]
        rows = usable[(usable["patient_id"] == patient) & (usable["timepoint"] == timepoint)]
        raise TmeInputError(
            f"patient {patient!r} has {len(rows)} usable {timepoint!r} samples (lines "
            f"{', '.join(map(str, rows['_line']))})",
            file=path,
            line=int(rows["_line"].iloc[-1]),
            column="timepoint",
            fix="keep one sample per patient and timepoint: give the others an exclude_reason (e.g. 'replicate')",
        )
    for arm in design.arms:
        for timepoint in design.timepoints:
            if not ((usable["arm"] == arm) & (usable["timepoint"] == timepoint)).any():
                listed = frame[(frame["arm"] == arm) & (frame["timepoint"] == timepoint)]
                tally = "; ".join(f"{n} × {why}" for why, n in listed["exclude_reason"].value_counts().items())
                raise TmeInputError(
                    f"arm {arm!r} has no usable {timepoint!r} sample ({tally or 'none listed'}), so the within-patient "
                    "change cannot be compared between arms",
                    file=path,
                    column="timepoint",
                    fix="check the arm and timepoint labels and exclude_reason values; a paired analysis needs pre "
                    "and post samples in both arms",
                )
    _check_timing(usable, design, path)
    frame["source_id"] = frame["sample_id"]
    frame["source_patient_id"] = frame["patient_id"]
    if ids is not None:
        frame = ids.apply(frame)
    frame = frame.set_index("sample_id", drop=False).rename_axis(None)
    frame.attrs["path"] = str(path)
    return frame


def _check_timing(usable: pd.DataFrame, design: Design, path: Path) -> None:
    """Pre/post labels against ``days_from_baseline`` (error) and ``sample_type`` (warning).

    A post sample taken on or before its pre sample's day cannot follow the window; a resection
    labelled pre is implausible in a window trial (surgery ends the window) but is only warned about,
    since a diagnostic excision can precede the window.
    """
    if "days_from_baseline" in usable.columns:
        days = usable.pivot_table(index="patient_id", columns="timepoint", values="days_from_baseline", aggfunc="first")
        if {design.pre, design.post} <= set(days.columns):
            wrong = days[days[design.post] <= days[design.pre]]
            if len(wrong):
                patient = wrong.index[0]
                row = usable[(usable["patient_id"] == patient) & (usable["timepoint"] == design.post)].iloc[0]
                raise TmeInputError(
                    f"patient {patient!r}: the {design.post!r} sample is on day {wrong.iloc[0][design.post]:g}, not "
                    "after "
                    f"the {design.pre!r} sample (day {wrong.iloc[0][design.pre]:g})",
                    file=path,
                    line=int(row["_line"]),
                    column="days_from_baseline",
                    fix="check the timepoint labels and days_from_baseline of this patient",
                )
    if "sample_type" in usable.columns:
        resected = usable[(usable["timepoint"] == design.pre) & (usable["sample_type"] == "resection")]
        if len(resected):
            warnings.warn(
                f"{path}, line {int(resected['_line'].iloc[0])}: {len(resected)} {design.pre!r} sample(s) are "
                "resections; in a window trial the pre-window sample is a biopsy (check timepoint and "
                "sample_type)",
                TmeInputWarning,
                stacklevel=3,
            )
