"""The cohort of slides: which export belongs to which biopsy, the config, and one slide per job.

Exports are listed in a manifest (``sample_id``, ``file``; optional ``software``,
``pixel_size_um``, ``annotation_file``; files relative to the manifest) or found in a directory
(file name = ``sample_id`` plus ``.csv``, ``.tsv``, ``.txt`` or ``_cell_seg_data.txt``, optionally
``.gz``). Two exports for one biopsy, and an export whose biopsy is not in the sample sheet, are
errors. :func:`slide_metrics` computes one biopsy's metrics (a Snakemake job per slide);
:func:`cohort_metrics` runs them all in one process (small cohorts, tests, the demo).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tme.cells.exports import read_cell_export
from tme.cells.metrics import METRIC_COLUMNS, MetricPlan, biopsy_from_export, biopsy_metrics
from tme.cells.phenotypes import PhenotypeMap
from tme.cells.regions import CompartmentMap, read_annotation_areas
from tme.errors import TmeInputError
from tme.io import read_small_table

_SUFFIX = re.compile(r"(_cell_seg_data\.txt|\.csv|\.tsv|\.txt)(\.gz)?$", re.IGNORECASE)
MANIFEST_COLUMNS = ("sample_id", "file", "software", "pixel_size_um", "annotation_file")
#: Input keys of the ``cells:`` section read by the workflow, not by :class:`CellSettings`.
INPUT_KEYS = {"manifest", "directory", "regions"}


@dataclass
class CellSettings:
    """The ``cells:`` config section, parsed (keys and defaults in :meth:`from_config`)."""

    phenotypes: PhenotypeMap
    compartments: CompartmentMap = field(default_factory=CompartmentMap)
    plan: MetricPlan = field(default_factory=MetricPlan)
    software: str | None = None
    pixel_size_um: float | None = None
    coordinate_unit: str = "auto"
    region_column: str | None = None

    @classmethod
    def from_config(cls, cells: Mapping) -> CellSettings:
        """Keys: ``phenotypes`` (required), ``compartments``, ``software``, ``pixel_size_um``,
        ``coordinate_unit``, ``region_column``, ``tumour``, ``immune``, ``populations``, ``ratios``,
        ``proportions``, ``density_compartments``, ``spatial_compartments``, ``radius_um``,
        ``ripley_radius_um``, ``edge_correction`` (see :class:`MetricPlan`)."""
        plan_keys = {
            "tumour",
            "immune",
            "populations",
            "ratios",
            "proportions",
            "density_compartments",
            "spatial_compartments",
            "radius_um",
            "ripley_radius_um",
            "edge_correction",
        }
        own = {"phenotypes", "compartments", "software", "pixel_size_um", "coordinate_unit", "region_column"}
        unknown = sorted(set(cells) - plan_keys - own - INPUT_KEYS)
        if unknown:
            raise TmeInputError(
                f"unknown key cells.{unknown[0]}",
                column=f"cells.{unknown[0]}",
                fix=f"use one of: {', '.join(sorted(plan_keys | own | INPUT_KEYS))}",
            )
        plan_args = {}
        for key in plan_keys & set(cells):
            value = cells[key]
            if key in ("ratios", "proportions"):
                value = tuple(tuple(pair) for pair in value)
            elif key == "populations":
                value = {name: tuple(types) for name, types in value.items()}
            elif key in ("tumour", "immune", "density_compartments", "spatial_compartments", "edge_correction"):
                value = (value,) if isinstance(value, str) else tuple(value)
            plan_args[key] = value
        return cls(
            phenotypes=PhenotypeMap.from_config(cells.get("phenotypes")),
            compartments=CompartmentMap(cells.get("compartments")),
            plan=MetricPlan(**plan_args),
            software=cells.get("software"),
            pixel_size_um=cells.get("pixel_size_um"),
            coordinate_unit=cells.get("coordinate_unit", "auto"),
            region_column=cells.get("region_column"),
        )


def _check_one_export_per_biopsy(frame: pd.DataFrame, path, where: str) -> None:
    dup = frame[frame["sample_id"].duplicated(keep=False)]
    if len(dup):
        first = dup.iloc[0]
        files = dup.loc[dup["sample_id"] == first["sample_id"], "file"].tolist()
        raise TmeInputError(
            f"biopsy {first['sample_id']!r} has two exports ({', '.join(map(str, files))})",
            file=path,
            line=int(dup["_line"].iloc[1]) if "_line" in dup else None,
            column="sample_id" if where == "manifest" else None,
            fix="keep one export per biopsy (merge the fields of one slide upstream)",
        )


def _check_in_sheet(frame: pd.DataFrame, sample_ids, path) -> None:
    unknown = frame[~frame["sample_id"].isin(set(sample_ids))]
    if len(unknown):
        row = unknown.iloc[0]
        raise TmeInputError(
            f"export {row['file']} is for biopsy {row['sample_id']!r}, which is not in the sample sheet",
            file=path if "_line" in unknown else row["file"],
            line=int(row["_line"]) if "_line" in unknown else None,
            column="sample_id",
            fix="correct the sample_id (or the file name), or add the biopsy to the sample sheet",
        )


def read_manifest(path, sample_ids) -> pd.DataFrame:
    """Read the export manifest; returns ``sample_id, file`` (absolute) and the optional columns."""
    path = Path(path)
    frame = read_small_table(path, "cell export manifest")
    unknown = [c for c in frame.columns if c not in (*MANIFEST_COLUMNS, "_line")]
    missing = [c for c in ("sample_id", "file") if c not in frame.columns]
    if missing or unknown:
        bad = (missing or unknown)[0]
        raise TmeInputError(
            f"column {bad!r} {'missing from' if missing else 'not allowed in'} the manifest",
            file=path,
            line=1,
            column=bad,
            fix=f"columns: sample_id, file and optionally {', '.join(MANIFEST_COLUMNS[2:])}",
        )
    frame["file"] = [str((path.parent / f).resolve()) for f in frame["file"]]
    if "annotation_file" in frame.columns:
        frame["annotation_file"] = [str((path.parent / f).resolve()) if f else "" for f in frame["annotation_file"]]
    if "pixel_size_um" in frame.columns:
        sizes = pd.to_numeric(frame["pixel_size_um"].replace("", None), errors="coerce")
        bad = frame["pixel_size_um"].ne("") & ~(sizes > 0)
        if bad.any():
            row = frame[bad].iloc[0]
            raise TmeInputError(
                f"pixel size {row['pixel_size_um']!r} is not a positive number",
                file=path,
                line=int(row["_line"]),
                column="pixel_size_um",
                fix="give µm per pixel, e.g. 0.5",
            )
        frame["pixel_size_um"] = sizes
    _check_one_export_per_biopsy(frame, path, "manifest")
    _check_in_sheet(frame, sample_ids, path)
    return frame


def exports_in_directory(directory, sample_ids) -> pd.DataFrame:
    """Exports named ``<sample_id>.csv`` (``.tsv``, ``.txt``, ``_cell_seg_data.txt``; ``.gz`` ok) in a directory."""
    directory = Path(directory)
    files = sorted(p for p in directory.iterdir() if p.is_file() and _SUFFIX.search(p.name))
    if not files:
        raise TmeInputError(
            "no per-cell exports in the directory",
            file=directory,
            fix="name each export <sample_id>.csv, .tsv, .txt or <sample_id>_cell_seg_data.txt",
        )
    frame = pd.DataFrame({"sample_id": [_SUFFIX.sub("", p.name) for p in files], "file": [str(p) for p in files]})
    _check_one_export_per_biopsy(frame, directory, "directory")
    _check_in_sheet(frame, sample_ids, directory)
    return frame


def _areas_for(sample_id: str, entry: Mapping, areas: pd.DataFrame | None, settings: CellSettings):
    annotation = entry.get("annotation_file") or ""
    if annotation:
        table = read_annotation_areas(annotation, settings.compartments, sample_id, entry.get("pixel_size_um"))
        return dict(zip(table["compartment"], table["area_mm2"])), annotation
    if areas is None:
        raise TmeInputError(
            f"no region areas for biopsy {sample_id!r}, so no density can be computed",
            column="cells.regions",
            fix="give a region table (sample_id, region, area_mm2) or an annotation_file per export in the manifest",
        )
    own = areas[areas["sample_id"] == sample_id]
    return dict(zip(own["compartment"], own["area_mm2"])), areas.attrs.get("path", "the region table")


def _export(entry: Mapping, settings: CellSettings):
    pixel = entry.get("pixel_size_um")
    pixel = settings.pixel_size_um if pixel is None or (isinstance(pixel, float) and np.isnan(pixel)) else float(pixel)
    export = read_cell_export(
        entry["file"],
        entry.get("software") or settings.software,
        pixel_size_um=pixel,
        coordinate_unit=settings.coordinate_unit,
        region_column=settings.region_column,
    )
    return export, pixel


def slide_cells(entry: Mapping, settings: CellSettings) -> pd.DataFrame:
    """One slide's cells as ``x, y`` (µm), ``cell_type``, ``compartment`` (excluded regions dropped), for figures."""
    export, _ = _export(entry, settings)
    region = settings.compartments.codes(export.regions, file=export.path, column=export.region_column)
    types = np.asarray(settings.phenotypes.types)[settings.phenotypes.assign(export)]
    keep = region >= 0
    return pd.DataFrame(
        {
            "x": export.x[keep],
            "y": export.y[keep],
            "cell_type": types[keep],
            "compartment": np.asarray(settings.compartments.compartments)[region[keep]],
        }
    )


def slide_metrics(
    entry: Mapping, settings: CellSettings, areas: pd.DataFrame | None = None, sample_id: str | None = None
) -> pd.DataFrame:
    """Metrics of one biopsy: read its export, type and place its cells, compute every metric.

    ``entry`` is one manifest row (``sample_id``, ``file``, optional ``software``,
    ``pixel_size_um``, ``annotation_file``); ``areas`` the region table
    (:func:`tme.cells.regions.read_region_table`); ``sample_id`` overrides the ID written in the
    table (e.g. a pseudonymised code). Peak memory is one slide.
    """
    export, pixel = _export(entry, settings)
    compartment_areas, source = _areas_for(entry["sample_id"], {**entry, "pixel_size_um": pixel}, areas, settings)
    biopsy = biopsy_from_export(
        export, sample_id or entry["sample_id"], settings.phenotypes, settings.compartments, compartment_areas, source
    )
    return biopsy_metrics(biopsy, settings.plan)


def cohort_metrics(exports: pd.DataFrame, settings: CellSettings, areas: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`slide_metrics` of every export, concatenated in ``sample_id`` order."""
    tables = [slide_metrics(row, settings, areas) for row in exports.sort_values("sample_id").to_dict("records")]
    return pd.concat(tables, ignore_index=True).reindex(columns=METRIC_COLUMNS)
