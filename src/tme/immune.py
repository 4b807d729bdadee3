"""Immune-cell measurements: multiplex IF / IHC densities, stromal TILs, cell fractions.

Long format (``sample_id, measure, value, unit``; see ``immune.schema.yaml``) or wide format
(``sample_id`` then one column per measure, units given in ``immune.units`` of the config).
Each measure has one unit, which fixes its scale and default analysis transform:

========== ========= =====================================================================
unit       scale     default transform (``immune.transforms`` overrides per measure)
========== ========= =====================================================================
cells/mm2  density   log1p — densities are right-skewed with zeros (log(1 + x))
%          percent   none  — e.g. sTILs on the 0-100 scale of the TIL working group
fraction   fraction  none  — e.g. deconvolution fractions on 0-1
========== ========= =====================================================================

``logit`` (for percent/fraction) uses p clipped to [0.001, 0.999] so that 0 and 100 % stay finite.
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

SCALES = {"cells/mm2": "density", "%": "percent", "fraction": "fraction"}
DEFAULT_TRANSFORM = {"density": "log1p", "percent": "none", "fraction": "none"}
UPPER = {"percent": 100.0, "fraction": 1.0}


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


def _check_plausible(frame: pd.DataFrame, path: Path) -> None:
    """A transform the unit cannot take is an error; percentages that all lie in [0, 1] are warned about."""
    bounded = frame[frame["transform"].eq("logit") & ~frame["scale"].isin(list(UPPER))]
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
        One row per measure: ``measure, unit, scale, transform, n_samples``.
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
    for _, row in frame.iterrows():
        record = {k: row[k] for k in ("sample_id", "measure", "value", "unit")}
        if record["value"].strip().lower() in MISSING_TOKENS:
            record["value"] = "nan"
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
    over = frame["value"] > frame["scale"].map(UPPER).fillna(np.inf)
    if over.any():
        row = frame[over].iloc[0]
        raise TmeInputError(
            f"{row['value']:g} is above the maximum of a {row['scale']} ({UPPER[row['scale']]:g})",
            file=path,
            line=int(row["_line"]),
            column="value",
            fix="percentages are 0-100 and fractions 0-1; correct the value or its unit",
        )
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
    return values, measures
