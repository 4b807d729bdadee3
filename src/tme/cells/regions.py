"""Tissue compartments and their areas: the denominators of every density.

Compartments
    Each cell's region label (QuPath ``Parent``, HALO ``Classifier Label``, inForm ``Tissue
    Category``) is mapped to a compartment by ``cells.compartments`` (compartment → labels). The
    default recognises ``Tumor``/``Tumour`` → ``tumour`` and ``Stroma``/``Stromal`` → ``stroma``,
    ignoring case and QuPath's ``Annotation (…)`` wrapper. The compartment ``exclude`` drops its
    cells and its area (e.g. ``Background``, ``Necrosis``). A cell whose label maps to no
    compartment — including QuPath's ``Root object (Image)``, a cell outside every annotation —
    is an error: tme never guesses where a cell lies.

Areas (mm²)
    From a region table (``sample_id``, ``region``, ``area_mm2`` or ``area_um2``; one row per
    biopsy and region label, labels mapped like the cells') or from a QuPath annotation
    measurement export (``Area µm^2`` or ``Area px^2`` per annotation, labelled by its ``Name`` or
    ``Class``). A region with zero or negative area is an error; a compartment holding cells
    without a known area is an error when its density is computed (never a guessed area).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from tme.errors import TmeInputError
from tme.io import read_small_table

EXCLUDE = "exclude"
DEFAULT_COMPARTMENTS = {"tumour": ["tumour", "tumor"], "stroma": ["stroma", "stromal"]}
_WRAPPED = re.compile(r"^Annotation \((.*)\)$")


def normalise_label(label: str) -> str:
    """Region label for matching: QuPath's ``Annotation (X)`` unwrapped, stripped, lower case."""
    text = str(label).strip()
    match = _WRAPPED.match(text)
    return (match.group(1) if match else text).strip().lower()


class CompartmentMap:
    """Region label → compartment (``exclude`` drops the cells and the area)."""

    def __init__(self, mapping: Mapping[str, list[str]] | None = None, key: str = "cells.compartments") -> None:
        mapping = DEFAULT_COMPARTMENTS if mapping is None else mapping
        self.lookup: dict[str, str] = {}
        for compartment, labels in mapping.items():
            labels = [labels] if isinstance(labels, str) else list(labels)
            for label in [compartment, *labels]:
                norm = normalise_label(label)
                if self.lookup.get(norm, compartment) != compartment:
                    raise TmeInputError(
                        f"region label {label!r} is listed under two compartments ({self.lookup[norm]}, {compartment})",
                        column=key,
                        fix="list each region label under one compartment",
                    )
                self.lookup[norm] = compartment
        self.compartments = [c for c in mapping if c != EXCLUDE]

    def codes(
        self, labels: pd.Series, *, file, column: str, line_offset: int = 2, lines: np.ndarray | None = None
    ) -> np.ndarray:
        """Index into :attr:`compartments` per label (−1 for ``exclude``); unknown labels are errors."""
        codes, uniques = pd.factorize(labels)
        index = {c: i for i, c in enumerate(self.compartments)}
        per_unique = np.array(
            [
                index.get(self.lookup.get(normalise_label(u), ""), -2)
                if self.lookup.get(normalise_label(u)) != EXCLUDE
                else -1
                for u in uniques
            ],
            dtype=int,
        )
        out = per_unique[codes] if len(uniques) else np.full(len(labels), -2)
        if (out == -2).any():
            row = int(np.flatnonzero(out == -2)[0])
            label = labels.iloc[row]
            n = int((out == -2).sum())
            line = int(lines[row]) if lines is not None else row + line_offset
            where = (
                "outside every annotated region"
                if (not label or label.startswith("Root object"))
                else f"in region {label!r}, which maps to no compartment"
            )
            raise TmeInputError(
                f"cell is {where} ({n} such cell(s))",
                file=file,
                line=line,
                column=column,
                fix=f"map the region in cells.compartments (compartments: {', '.join(self.compartments)}"
                f", or {EXCLUDE}), or annotate the whole tissue",
            )
        return out


def _area_column(frame: pd.DataFrame, path: Path) -> tuple[str, float]:
    for column, factor in (("area_mm2", 1.0), ("area_um2", 1e-6)):
        if column in frame.columns:
            return column, factor
    raise TmeInputError(
        "the region table needs an area column",
        file=path,
        line=1,
        fix="give sample_id, region and area_mm2 (or area_um2) columns",
    )


def _positive_area(value: str, path: Path, line: int, column: str) -> float:
    try:
        area = float(value)
    except ValueError:
        raise TmeInputError(
            f"area {value!r} is not a number",
            file=path,
            line=line,
            column=column,
            fix="give the region's area as a plain number",
        ) from None
    if not np.isfinite(area) or area <= 0:
        raise TmeInputError(
            f"region has area {value}, so no density can be computed over it",
            file=path,
            line=line,
            column=column,
            fix="give the region's measured area, or drop the row and its cells (map its label to exclude)",
        )
    return area


def read_region_table(path, compartments: CompartmentMap, sample_ids: pd.Series | None = None) -> pd.DataFrame:
    """Read a region table into ``sample_id, compartment, area_mm2`` (summed over a compartment's regions).

    ``sample_ids`` (the sheet's IDs as written) makes a sample unknown to the sheet an error.
    """
    path = Path(path)
    frame = read_small_table(path, "region table")
    missing = [c for c in ("sample_id", "region") if c not in frame.columns]
    if missing:
        raise TmeInputError(
            f"column {missing[0]!r} missing from the region table",
            file=path,
            line=1,
            column=missing[0],
            fix="give sample_id, region and area_mm2 columns",
        )
    column, factor = _area_column(frame, path)
    frame["area_mm2"] = [
        _positive_area(v, path, int(line), column) * factor for v, line in zip(frame[column], frame["_line"])
    ]
    dup = frame.duplicated(["sample_id", "region"], keep="first")
    if dup.any():
        row = frame[dup].iloc[0]
        raise TmeInputError(
            f"sample {row['sample_id']!r} lists region {row['region']!r} twice",
            file=path,
            line=int(row["_line"]),
            column="region",
            fix="give one area per biopsy and region",
        )
    if sample_ids is not None:
        unknown = frame[~frame["sample_id"].isin(set(sample_ids))]
        if len(unknown):
            row = unknown.iloc[0]
            raise TmeInputError(
                f"sample_id {row['sample_id']!r} is not in the sample sheet",
                file=path,
                line=int(row["_line"]),
                column="sample_id",
                fix="correct the sample_id or add the biopsy to the sample sheet",
            )
    codes = compartments.codes(frame["region"], file=path, column="region", lines=frame["_line"].to_numpy())
    kept = frame[codes >= 0].assign(compartment=[compartments.compartments[c] for c in codes[codes >= 0]])
    table = kept.groupby(["sample_id", "compartment"], as_index=False, sort=True)["area_mm2"].sum()
    table.attrs["path"] = str(path)
    return table


def read_annotation_areas(
    path, compartments: CompartmentMap, sample_id: str, pixel_size_um: float | None = None
) -> pd.DataFrame:
    """Compartment areas of one slide from a QuPath annotation measurement export.

    Columns ``Area µm^2`` (or ``Area px^2`` with ``pixel_size_um``) and ``Name`` / ``Class`` /
    ``Classification`` (a named annotation is labelled by its name, else by its class). Returns
    ``sample_id, compartment, area_mm2``.
    """
    path = Path(path)
    frame = read_small_table(path, "annotation measurement export")
    um = [c for c in frame.columns if re.match(r"^Area (µm|μm|um)\^2$", c)]
    px = [c for c in frame.columns if c == "Area px^2"]
    if um:
        column, factor = um[0], 1e-6
    elif px and pixel_size_um:
        column, factor = px[0], pixel_size_um**2 * 1e-6
    else:
        raise TmeInputError(
            "no annotation area in µm² (or in px² with a declared pixel size)",
            file=path,
            line=1,
            column=px[0] if px else "Area µm^2",
            fix="export annotation measurements with 'Area µm^2', or declare the pixel size",
        )
    names = frame["Name"] if "Name" in frame.columns else pd.Series("", index=frame.index)
    classes = next((frame[c] for c in ("Classification", "Class") if c in frame.columns), names)
    labels = pd.Series(np.where(names.str.strip() != "", names, classes), index=frame.index)
    areas = [_positive_area(v, path, int(line), column) * factor for v, line in zip(frame[column], frame["_line"])]
    codes = compartments.codes(labels, file=path, column="Name", lines=frame["_line"].to_numpy())
    kept = pd.DataFrame(
        {
            "sample_id": sample_id,
            "compartment": [compartments.compartments[c] for c in codes[codes >= 0]],
            "area_mm2": np.asarray(areas)[codes >= 0],
        }
    )
    return kept.groupby(["sample_id", "compartment"], as_index=False, sort=True)["area_mm2"].sum()
