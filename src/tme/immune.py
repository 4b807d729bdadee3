"""Immune-cell measurements and pathology scores: multiplex IF / IHC densities, IHC scores, stromal TILs,
cell fractions.

Long format (``sample_id, measure, value, unit``; see ``immune.schema.yaml``) or wide format
(``sample_id`` then one column per measure, units given in ``immune.units`` of the config).
Each measure has one unit, which fixes its scale, its range check and its default analysis:

================  =========  ========  =======================================================
unit              scale      range     default transform (``immune.transforms`` overrides)
================  =========  ========  =======================================================
cells/mm2         density    ≥ 0       log1p — densities are right-skewed with zeros (log(1 + x))
%                 percent    0-100     none — e.g. sTILs (below)
percent_positive  percent    0-100     none — % of tumour (or immune) cells stained by an IHC
fraction          fraction   0-1       none — e.g. deconvolution fractions
hscore            hscore     0-300     none — H-score, 1 × % weak + 2 × % moderate + 3 × % strong
allred            allred     0, 2-8    none — Allred score, proportion (0-5) + intensity (0-3)
                                       score, whole numbers (1 cannot occur; Harvey 1999)
intensity         intensity  0-3       none — IHC intensity grade 0, 1+, 2+, 3+ (written so or 0-3)
================  =========  ========  =======================================================

``logit`` (percent and fraction only) uses p clipped to [0.001, 0.999] so that 0 and 100 % stay finite.

**Ordinal and bounded scores** (``hscore``, ``allred``, ``intensity``: :data:`RANK_BASED_SCALES`)
get rank-based analyses by default: within arm the Wilcoxon signed-rank test with the
Hodges–Lehmann median change (tme's within-arm analysis for every feature), between arms the plan's
analysis of these measures defaults to ``mann_whitney_change`` (Mann–Whitney on the within-patient
changes, Hodges–Lehmann shift with its exact CI) instead of the ANCOVA; an analysis-plan endpoint
can name another (``analysis: ancova``). Why: an ANCOVA on an H-score estimates the difference in
mean post-window H-score at equal baseline, treating the score as an interval scale (a move from 0
to 100 counts as much as one from 200 to 300, and 1 × 100 % weak equals 3 × 33 % strong), assuming a
straight-line baseline relation and normal residuals of constant spread — for a score bounded at 0
and 300, heaped at 0 and at multiples of 5 or 10 and read from a few intensity classes, the mean and
its model are hard to defend and can predict impossible values; for an intensity grade (4 levels)
or an Allred score a mean is not meaningful at all. The rank analyses use only the order of the
changes, are exact with ties, and their Hodges–Lehmann shift is on the score's own scale.

**Stromal TILs** (sTILs) are reported as the International TILs Working Group defines them: the
percentage of the *stromal area* within the tumour border occupied by mononuclear inflammatory cells
(not a percentage of cells), unit ``%``, 0–100 (Salgado et al., Ann Oncol 2015;26:259-271,
recommendations 1 and 9). The Working Group asks for a continuous score, "in as much detail as the
pathologist feels comfortable with", and notes that pathologists usually round to the nearest
5–10 % (13.5 % reported as 15 %); studies often score in 1 % or 5 % steps below 10 %. tme analyses
the values as given: it neither rounds them nor warns about unrounded values (a continuous score is
what the Working Group prefers; rounding would only add ties), and analyses sTILs like any percent
(ANCOVA on the 0–100 scale; a ``logit`` or ``log1p`` transform can be declared).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tme.errors import TmeInputError, TmeInputWarning, shorten
from tme.io import MISSING_TOKENS, read_small_table
from tme.schema import validate

SCALES = {
    "cells/mm2": "density",
    "%": "percent",
    "percent_positive": "percent",
    "fraction": "fraction",
    "hscore": "hscore",
    "allred": "allred",
    "intensity": "intensity",
}
DEFAULT_TRANSFORM = {scale: "none" for scale in SCALES.values()} | {"density": "log1p"}
UPPER = {"percent": 100.0, "fraction": 1.0, "hscore": 300.0, "allred": 8.0, "intensity": 3.0}
#: Scales of ordinal and bounded scores: rank-based analyses by default (module docstring).
RANK_BASED_SCALES = ("hscore", "allred", "intensity")
#: The between-arm analysis those scales default to (a name of tme.stats.analyses.BETWEEN_ARM).
RANK_BASED_ANALYSIS = "mann_whitney_change"
#: What each bounded scale is, for range messages.
_MEANING = {
    "percent": "a percentage (0-100)",
    "fraction": "a fraction (0-1)",
    "hscore": "an H-score (1 x % weak + 2 x % moderate + 3 x % strong cells, 0-300)",
    "allred": "an Allred score (proportion score 0-5 + intensity score 0-3, 0-8)",
    "intensity": "an IHC intensity grade (0, 1+, 2+, 3+)",
}
_INTENSITY = {"0": 0.0, "1+": 1.0, "2+": 2.0, "3+": 3.0}


def transform(values: np.ndarray, how: str, scale: str) -> np.ndarray:
    """Apply an analysis transform (``none``, ``log1p``, ``log2`` of x + 1, ``logit``)."""
    values = np.asarray(values, dtype=float)
    if how == "none":
        return values
    if how == "log1p":
        return np.log1p(values)
    if how == "log2":
        return np.log2(values + 1)
    p = np.clip(values / UPPER.get(scale, 1.0), 1e-3, 1 - 1e-3)
    return np.log(p / (1 - p))


def _intensity(raw: str, path: Path, line: int) -> str:
    """An IHC intensity grade as a number ('0', '1+', '2+', '3+' or 0-3); anything else is an error."""
    text = raw.strip()
    if text in _INTENSITY:
        return str(_INTENSITY[text])
    try:
        value = float(text)
    except ValueError:
        value = np.nan
    if value in (0.0, 1.0, 2.0, 3.0):
        return str(value)
    raise TmeInputError(
        f"{shorten(repr(raw), 40)} is not an IHC intensity grade",
        file=path,
        line=line,
        column="value",
        fix="write 0, 1+, 2+ or 3+ (or 0-3); score a mixed stain by its predominant grade, or give an H-score "
        "(unit hscore) instead",
    )


def _check_range(frame: pd.DataFrame, path: Path) -> None:
    """Values above their scale's maximum, and Allred scores or intensity grades that are not whole numbers
    (or an Allred score of 1), are errors naming the line."""
    upper = frame["scale"].map(UPPER).fillna(np.inf)
    whole = frame["scale"].isin(["allred", "intensity"])
    checks = (
        (frame["value"] > upper, lambda r: f"{r['value']:g} is above the maximum of {_MEANING[r['scale']]}"),
        (whole & (frame["value"] != np.round(frame["value"])), lambda r: f"{r['value']:g} is not a whole number"),
        (
            frame["scale"].eq("allred") & frame["value"].eq(1),
            lambda r: (
                "an Allred score of 1 cannot occur (any stained cell scores proportion >= 1 and intensity "
                ">= 1; Harvey 1999)"
            ),
        ),
    )
    for bad, problem in checks:
        if bad.any():
            row = frame[bad].iloc[0]
            raise TmeInputError(
                problem(row),
                file=path,
                line=int(row["_line"]),
                column="value",
                fix=f"correct the value, or the unit if it is not {_MEANING[row['scale']].split(' (')[0]} "
                "(units: cells/mm2, % and percent_positive 0-100, fraction 0-1, hscore 0-300, allred 0-8, "
                "intensity 0-3)",
            )


def _check_plausible(frame: pd.DataFrame, path: Path) -> None:
    """A transform the unit cannot take is an error; percentages that all lie in [0, 1] are warned about."""
    bounded = frame[frame["transform"].eq("logit") & ~frame["scale"].isin(["percent", "fraction"])]
    if len(bounded):
        row = bounded.iloc[0]
        raise TmeInputError(
            f"measure {row['measure']!r} is a {row['scale']} ({row['unit']}), which the logit transform "
            "cannot take (logit needs a bounded percent or fraction)",
            file=path,
            column="unit",
            fix=f"use log1p or none for {row['measure']} under immune.transforms",
        )
    percents = frame[frame["scale"] == "percent"].groupby("measure")["value"].max()
    for measure in percents[percents <= 1.0].index:
        warnings.warn(
            f"{path}: every value of measure {measure!r} (unit %) lies in [0, 1]; if these are fractions, "
            "declare the unit 'fraction' (or multiply by 100)",
            TmeInputWarning,
            stacklevel=3,
        )


def _wide_to_long(frame: pd.DataFrame, units: Mapping[str, str], path: Path) -> pd.DataFrame:
    if "sample_id" not in frame.columns:
        raise TmeInputError(
            "column 'sample_id' missing",
            file=path,
            line=1,
            fix="the first column of a wide immune table is sample_id, then one column per measure",
        )
    measures = [c for c in frame.columns if c not in ("sample_id", "_line")]
    no_unit = [m for m in measures if m not in units]
    if no_unit:
        raise TmeInputError(
            f"measure column {no_unit[0]!r} has no unit in the config",
            file=path,
            line=1,
            column=no_unit[0],
            fix=f"add it under immune.units in the config, e.g. {no_unit[0]}: cells/mm2 (allowed: {', '.join(SCALES)})",
        )
    long = frame.melt(id_vars=["sample_id", "_line"], value_vars=measures, var_name="measure", value_name="value")
    long = long[long["value"] != ""]
    long["unit"] = long["measure"].map(units)
    return long


def read_immune(settings: Mapping[str, Any], samples: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read, validate and transform the immune table.

    Returns
    -------
    values
        Long table ``sample_id, patient_id, arm, timepoint, measure, unit, scale, transform, value,
        analysis_value`` for usable samples (sorted by measure then sample).
    measures
        One row per measure: ``measure, unit, scale, transform, n_samples, rank_based`` (an ordinal or
        bounded score, analysed with rank-based tests by default).
    """
    path = Path(settings["path"])
    frame = read_small_table(path, "immune-cell table")
    if settings.get("format", "long") == "wide":
        frame = _wide_to_long(frame, settings.get("units", {}), path)
    else:
        missing = [c for c in ("sample_id", "measure", "value", "unit") if c not in frame.columns]
        if missing:
            raise TmeInputError(
                f"required column(s) {', '.join(map(repr, missing))} missing",
                file=path,
                line=1,
                fix="a long immune table has sample_id, measure, value, unit (or set immune.format: wide)",
            )
    for index, row in frame.iterrows():
        record = {k: row[k] for k in ("sample_id", "measure", "value", "unit")}
        if record["value"].strip().lower() in MISSING_TOKENS:
            record["value"] = "nan"
        elif record["unit"] == "intensity":
            record["value"] = frame.at[index, "value"] = _intensity(record["value"], path, int(row["_line"]))
        try:
            record["value"] = float(record["value"])
        except ValueError:
            raise TmeInputError(
                f"{shorten(repr(row['value']), 80)} is not a number",
                file=path,
                line=int(row["_line"]),
                column="value",
                fix="give a plain non-negative number (no units or dates in the value column)",
            ) from None
        if not np.isfinite(record["value"]):
            raise TmeInputError(
                "missing or infinite value",
                file=path,
                line=int(row["_line"]),
                column="value",
                fix="leave out the row of an unmeasured sample instead of writing NA",
            )
        validate(record, "immune", file=str(path), line=int(row["_line"]), what="table")
    frame["value"] = frame["value"].astype(float)

    units = frame.groupby("measure")["unit"].unique()
    two = units[units.map(len) > 1]
    if len(two):
        measure = two.index[0]
        lines = frame.loc[frame["measure"] == measure].drop_duplicates("unit")["_line"].tolist()
        raise TmeInputError(
            f"measure {measure!r} is reported in more than one unit ({', '.join(two.iloc[0])})",
            file=path,
            line=int(lines[1]),
            column="unit",
            fix="convert all its values to one unit, or give each unit a different measure name",
        )
    unknown = frame.loc[~frame["sample_id"].isin(samples["source_id"])]
    if len(unknown):
        row = unknown.iloc[0]
        raise TmeInputError(
            f"sample_id {row['sample_id']!r} is not in the sample sheet",
            file=path,
            line=int(row["_line"]),
            column="sample_id",
            fix="correct the sample_id or add the sample to the sheet",
        )
    dup = frame.duplicated(["sample_id", "measure"], keep=False)
    if dup.any():
        rows = frame[dup]
        first = rows.iloc[0]
        raise TmeInputError(
            f"sample {first['sample_id']!r} has measure {first['measure']!r} more than once",
            file=path,
            line=int(rows["_line"].iloc[1]),
            column="measure",
            fix="give one value per sample and measure (average replicate fields upstream)",
        )

    frame["scale"] = frame["unit"].map(SCALES)
    _check_range(frame, path)
    overrides = settings.get("transforms", {})
    unknown_measure = sorted(set(overrides) - set(frame["measure"]))
    if unknown_measure:
        raise TmeInputError(
            f"config key 'immune.transforms' names measure {unknown_measure[0]!r}, which is not in the table",
            file=path,
            fix=f"use one of: {', '.join(sorted(frame['measure'].unique()))}",
        )
    frame["transform"] = [overrides.get(m, DEFAULT_TRANSFORM[s]) for m, s in zip(frame["measure"], frame["scale"])]
    _check_plausible(frame, path)

    usable = samples[samples["exclude_reason"] == ""]
    frame["sample_id"] = frame["sample_id"].map(dict(zip(samples["source_id"], samples.index)))
    frame = frame[frame["sample_id"].isin(usable.index)].copy()
    frame["analysis_value"] = [
        transform(np.array([v]), t, s)[0] for v, t, s in zip(frame["value"], frame["transform"], frame["scale"])
    ]
    for column in ("patient_id", "arm", "timepoint"):
        frame[column] = frame["sample_id"].map(usable[column])
    values = (
        frame[
            [
                "sample_id",
                "patient_id",
                "arm",
                "timepoint",
                "measure",
                "unit",
                "scale",
                "transform",
                "value",
                "analysis_value",
            ]
        ]
        .sort_values(["measure", "sample_id"])
        .reset_index(drop=True)
    )
    measures = values.groupby(["measure", "unit", "scale", "transform"]).size().rename("n_samples").reset_index()
    measures["rank_based"] = measures["scale"].isin(RANK_BASED_SCALES)
    return values, measures


def rank_based_measures(values: pd.DataFrame) -> set[str]:
    """Measures of the immune table (:func:`read_immune`'s ``values``) on an ordinal or bounded-score scale."""
    return set(values.loc[values["scale"].isin(RANK_BASED_SCALES), "measure"])
