"""The cohort of slides: which export belongs to which biopsy, the config, and one slide per job.

Exports are listed in a manifest (``sample_id``, ``file``; optional ``software``,
``pixel_size_um``, ``annotation_file``; files relative to the manifest) or found in a directory
(file name = ``sample_id`` plus ``.csv``, ``.tsv``, ``.txt`` or ``_cell_seg_data.txt``, optionally
``.gz``). Two exports for one biopsy, and an export whose biopsy is not in the sample sheet, are
errors. :func:`usable_exports` lists the exports of a ``cells:`` config section (the workflow's
jobs, one per biopsy); :func:`check_cell_cohort` checks every one in full before any metric (``tme
validate`` and the workflow's first rule); :func:`slide_metrics` computes one biopsy's metrics (a
Snakemake job per slide); :func:`cohort_metrics` runs them all in one process (small cohorts, tests).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tme.cells.exports import SOFTWARE, read_cell_export
from tme.cells.metrics import METRIC_COLUMNS, Biopsy, MetricPlan, biopsy_from_export, biopsy_metrics
from tme.cells.phenotypes import PhenotypeMap
from tme.cells.regions import CompartmentMap, read_annotation_areas, read_region_table
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
            if value is None:  # the config's null: the library default
                continue
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


def _check_manifest_values(frame: pd.DataFrame, path: Path) -> None:
    """Every listed file exists (Snakemake needs them as job inputs before any check runs) and every
    declared software is known."""
    for column in ("file", "annotation_file"):
        if column not in frame.columns:
            continue
        required = column == "file"  # an annotation file is optional: empty is fine
        missing = frame[[bool(f or required) and not Path(f).is_file() for f in frame[column]]]
        if len(missing):
            row = missing.iloc[0]
            raise TmeInputError(
                f"{'export' if column == 'file' else 'annotation file'} {row[column] or '(empty)'} does not exist",
                file=path,
                line=int(row["_line"]),
                column=column,
                fix="correct the path (relative paths start at the manifest's folder)",
            )
    if "software" in frame.columns:
        bad = frame[~frame["software"].isin(["", *SOFTWARE])]
        if len(bad):
            raise TmeInputError(
                f"unknown software {bad['software'].iloc[0]!r}",
                file=path,
                line=int(bad["_line"].iloc[0]),
                column="software",
                fix=f"use one of {', '.join(SOFTWARE)}, or leave it empty to detect the tool from the export's header",
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
    frame["file"] = [str((path.parent / f).resolve()) if f else "" for f in frame["file"]]
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
    _check_manifest_values(frame, path)
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


def exports_of(section: Mapping, sample_ids) -> pd.DataFrame:
    """The exports a ``cells:`` config section names: its ``manifest``, else its ``directory``."""
    if section.get("manifest"):
        return read_manifest(section["manifest"], sample_ids)
    return exports_in_directory(section["directory"], sample_ids)


def usable_exports(section: Mapping, samples: pd.DataFrame) -> pd.DataFrame:
    """The exports (:func:`exports_of`) of the biopsies the sheet does not exclude, in ``sample_id`` order."""
    exports = exports_of(section, samples.index)
    usable = set(samples.index[samples["exclude_reason"] == ""])
    return exports[exports["sample_id"].isin(usable)].sort_values("sample_id").reset_index(drop=True)


def cell_cohort(section: Mapping | None, samples: pd.DataFrame) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The usable exports and the region table of a ``cells:`` section (``None, None`` without one):
    what the workflow lists when Snakemake reads it, one job per export."""
    if not section:
        return None, None
    return usable_exports(section, samples), region_areas(section, CellSettings.from_config(section), samples.index)


def region_areas(section: Mapping, settings: CellSettings, sample_ids) -> pd.DataFrame | None:
    """The ``cells.regions`` table as ``sample_id, compartment, area_mm2`` (``None`` without one)."""
    return read_region_table(section["regions"], settings.compartments, sample_ids) if section.get("regions") else None


def check_cell_cohort(section: Mapping, samples: pd.DataFrame) -> tuple[CellSettings, pd.DataFrame]:
    """Every check of a ``cells:`` section on the cohort, before any metric: settings, manifest (or
    directory), region table, and every usable biopsy's export in full (:func:`slide_biopsy`), one
    slide in memory at a time.

    ``samples`` is the sample sheet (indexed by ``sample_id``, with ``exclude_reason``). Returns the
    settings and the exports (manifest rows) of the usable biopsies with their ``n_cells`` (cells in
    compartments that are not excluded).
    """
    settings = CellSettings.from_config(section)
    exports = usable_exports(section, samples)
    areas = region_areas(section, settings, samples.index)
    exports["n_cells"] = [len(slide_biopsy(row, settings, areas).xy) for row in exports.to_dict("records")]
    return settings, exports


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


def slide_biopsy(
    entry: Mapping, settings: CellSettings, areas: pd.DataFrame | None = None, sample_id: str | None = None
) -> Biopsy:
    """One biopsy's cells, typed and placed, with its compartment areas: every check of the export
    (coordinates, units, phenotypes, regions, areas) without the metrics (what ``tme validate`` and
    the workflow's first rule run on every slide).

    ``entry`` is one manifest row (``sample_id``, ``file``, optional ``software``,
    ``pixel_size_um``, ``annotation_file``); ``areas`` the region table
    (:func:`tme.cells.regions.read_region_table`); ``sample_id`` overrides the ID the biopsy carries.
    """
    export, pixel = _export(entry, settings)
    compartment_areas, source = _areas_for(entry["sample_id"], {**entry, "pixel_size_um": pixel}, areas, settings)
    biopsy = biopsy_from_export(
        export, sample_id or entry["sample_id"], settings.phenotypes, settings.compartments, compartment_areas, source
    )
    settings.plan.check(biopsy.types)
    return biopsy


def patient_slides(
    exports: pd.DataFrame, settings: CellSettings, samples: pd.DataFrame, patient: str, timepoints
) -> list[pd.DataFrame | None]:
    """:func:`slide_cells` of ``patient``'s biopsy at each of ``timepoints`` (``None`` where it has no
    export); ``samples`` is the sample sheet (``patient_id``, ``timepoint``, ``exclude_reason``)."""
    entries = exports.set_index("sample_id", drop=False)
    own = samples[(samples["patient_id"] == patient) & (samples["exclude_reason"] == "")]
    out = []
    for timepoint in timepoints:
        ids = [s for s in own.index[own["timepoint"] == timepoint] if s in entries.index]
        out.append(slide_cells(entries.loc[ids[0]].to_dict(), settings) if ids else None)
    return out


def slide_metrics(
    entry: Mapping, settings: CellSettings, areas: pd.DataFrame | None = None, sample_id: str | None = None
) -> pd.DataFrame:
    """Metrics of one biopsy (:func:`slide_biopsy`, then :func:`tme.cells.metrics.biopsy_metrics`).

    One Snakemake job per slide; peak memory is one slide.
    """
    return biopsy_metrics(slide_biopsy(entry, settings, areas, sample_id), settings.plan)


def slide_job(exports: pd.DataFrame, areas: pd.DataFrame | None, sample_id: str) -> dict:
    """What one biopsy's workflow job needs besides its files, as plain Python values (the job's
    Snakemake params, recorded with its output): ``entry`` (its manifest row) and ``areas``
    (compartment → mm² from the region table; ``None`` without one)."""
    row = exports.set_index("sample_id", drop=False).loc[sample_id]
    plain = {k: v.item() if isinstance(v, np.generic) else v for k, v in row.items()}
    entry = {k: None if pd.isna(plain[k]) else plain[k] for k in MANIFEST_COLUMNS if k in plain}
    if areas is None:
        return {"entry": entry, "areas": None}
    own = areas[areas["sample_id"] == sample_id]
    return {"entry": entry, "areas": {c: float(a) for c, a in zip(own["compartment"], own["area_mm2"])}}


def job_metrics(job: Mapping, settings: CellSettings) -> pd.DataFrame:
    """:func:`slide_metrics` of a :func:`slide_job`."""
    areas = job["areas"]
    if areas is not None:
        areas = pd.DataFrame(
            {"sample_id": job["entry"]["sample_id"], "compartment": list(areas), "area_mm2": list(areas.values())}
        )
    return slide_metrics(job["entry"], settings, areas)


def cohort_metrics(exports: pd.DataFrame, settings: CellSettings, areas: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`slide_metrics` of every export, concatenated in ``sample_id`` order."""
    tables = [slide_metrics(row, settings, areas) for row in exports.sort_values("sample_id").to_dict("records")]
    return pd.concat(tables, ignore_index=True).reindex(columns=METRIC_COLUMNS)
