"""Per-cell exports of image-analysis software: QuPath, HALO and inForm, read into one shape.

Each reader returns a :class:`CellExport`: coordinates in µm, the cell's class / phenotype label
(when the tool writes one), per-marker positivity (when it writes one), and the tissue region
label of each cell. Row ``i`` of an export is line ``i + 2`` of its file (the header is line 1);
errors name that line.

======== ================================================ ============================ ====================
software coordinates (unit)                               phenotype                    region (default)
======== ================================================ ============================ ====================
qupath   ``Centroid X µm`` / ``Centroid Y µm`` (µm), or    ``Class`` (older QuPath)     ``Parent`` (the
         ``Centroid X px`` / ``Centroid Y px`` (pixels)    or ``Classification``;        annotation holding
                                                           a composite class such as     the cell)
                                                           ``CD68: IL1B`` lists the
                                                           positive markers
halo     centre of ``XMin``/``XMax``, ``YMin``/``YMax``    ``<marker> Positive           ``Classifier Label``
         (pixels; HALO object data)                        Classification`` (0/1)        (tissue classifier)
inform   ``Cell X Position`` / ``Cell Y Position``         ``Phenotype`` and/or          ``Tissue Category``
         (pixels, or µm when the export's column names     ``Phenotype <marker>``
         mention microns, as phenoptr decides)             (``CD8+`` / ``CD8-``)
======== ================================================ ============================ ====================

Column names follow the tools' documentation and public readers (QuPath measurement exports;
HALO object data as read by SPIAT ``format_halo_to_spe`` and spatialprofilingtoolbox; inForm
``cell_seg_data.txt`` as read by phenoptr ``read_cell_seg_data``). ``µm`` may be written ``um``
or with the Greek letter μ. Pixel coordinates need the scan's pixel size (µm per pixel): there is
no default, a pixel export without one is an error.
"""

from __future__ import annotations

import gzip
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tme.errors import TmeInputError, TmeInputWarning

SOFTWARE = ("qupath", "halo", "inform")
DEFAULT_REGION_COLUMN = {"qupath": "Parent", "halo": "Classifier Label", "inform": "Tissue Category"}
#: Column naming the image (inForm: the field) each row comes from; one export must hold one slide.
IMAGE_COLUMN = {"qupath": "Image", "halo": "Image Location", "inform": "Sample Name"}
_MICRO = r"(?:µm|μm|um)"
_HALO_MARKER = re.compile(r"^(.+) Positive Classification$")
_INFORM_MARKER = re.compile(r"^Phenotype (.+)$")


@dataclass
class CellExport:
    """One slide's cells as read from an export (row ``i`` is line ``i + 2`` of ``path``).

    ``markers`` holds one boolean column per marker (``None`` when the tool wrote no per-marker
    calls); ``markers_from_labels`` is true for QuPath, whose composite class names the positive
    markers (a marker not named is negative).
    """

    path: Path
    software: str
    x: np.ndarray
    y: np.ndarray
    labels: pd.Series | None
    label_column: str | None
    markers: pd.DataFrame | None
    marker_columns: dict[str, str]
    regions: pd.Series
    region_column: str
    markers_from_labels: bool = False

    def __len__(self) -> int:
        return len(self.x)

    @property
    def xy(self) -> np.ndarray:
        return np.column_stack([self.x, self.y])


def _header(path: Path) -> tuple[list[str], str]:
    """Column names and delimiter (tab, comma or semicolon, from the header line)."""
    try:
        with open(path, "rb") as raw:
            head = raw.read(2)
        opener = gzip.open if head == b"\x1f\x8b" else open
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            line = handle.readline().rstrip("\r\n")
    except FileNotFoundError:
        raise TmeInputError(
            "the cell export does not exist",
            file=path,
            fix="check the path in the cell manifest (or the export directory)",
        ) from None
    except UnicodeDecodeError:
        raise TmeInputError(
            "the cell export's header is not UTF-8 text",
            file=path,
            line=1,
            fix="export it again as UTF-8 (QuPath and inForm write UTF-8; re-save a Windows-1252 copy as UTF-8)",
        ) from None
    except (OSError, EOFError) as exc:
        raise TmeInputError(
            f"the cell export cannot be read ({exc})", file=path, fix="copy or export it again"
        ) from None
    if not line.strip():
        raise TmeInputError(
            "the cell export is empty or has no header",
            file=path,
            line=1,
            fix="export the per-cell (detection / object) measurements with their header",
        )
    sep = "\t" if "\t" in line else "," if "," in line else ";"
    return [c.strip().strip('"') for c in line.split(sep)], sep


def detect_software(columns: list[str], path: Path) -> str:
    """``qupath``, ``halo`` or ``inform`` from the header; an error if none or several match."""
    cols = set(columns)
    found = []
    if any(re.match(rf"^Centroid X ({_MICRO}|px)$", c) for c in cols):
        found.append("qupath")
    if {"XMin", "XMax", "YMin", "YMax"} <= cols:
        found.append("halo")
    if {"Cell X Position", "Cell Y Position"} <= cols:
        found.append("inform")
    if len(found) == 1:
        return found[0]
    what = "no" if not found else f"several ({', '.join(found)})"
    raise TmeInputError(
        f"the header matches {what} known per-cell export layout(s)",
        file=path,
        line=1,
        fix="export per-cell measurements from QuPath ('Centroid X µm', 'Centroid Y µm', 'Class', 'Parent'), "
        "HALO object data ('XMin', 'XMax', 'YMin', 'YMax', '<marker> Positive Classification') or inForm "
        "cell_seg_data.txt ('Cell X Position', 'Cell Y Position', 'Phenotype', 'Tissue Category'), "
        "or declare the tool in cells.software",
    )


def _coordinate_columns(software: str, columns: list[str], path: Path) -> tuple[list[str], bool]:
    """The coordinate columns and whether they are in µm (``True``) or pixels."""
    if software == "qupath":
        for unit, is_um in ((_MICRO, True), ("px", False)):
            xs = [c for c in columns if re.match(rf"^Centroid X {unit}$", c)]
            ys = [c for c in columns if re.match(rf"^Centroid Y {unit}$", c)]
            if xs and ys:
                return [xs[0], ys[0]], is_um
        need = ["Centroid X µm", "Centroid Y µm"]
    elif software == "halo":
        need = ["XMin", "XMax", "YMin", "YMax"]
        if set(need) <= set(columns):
            return need, False
    else:
        need = ["Cell X Position", "Cell Y Position"]
        if set(need) <= set(columns):
            return need, any("micron" in c.lower() for c in columns)
    missing = [c for c in need if c not in columns]
    raise TmeInputError(
        f"coordinate column {missing[0]!r} is missing from this {software} export",
        file=path,
        line=1,
        column=missing[0],
        fix="export the cell centroids (or declare the right cells.software)",
    )


def _unit_scale(is_um: bool, unit: str, pixel_size_um: float | None, path: Path, column: str) -> float:
    """Factor from file coordinates to µm, checking the declared unit and pixel size."""
    if unit == "um" or (unit == "auto" and is_um):
        if pixel_size_um is not None and unit == "auto":
            warnings.warn(
                f"{path}: coordinates are already in µm; the declared pixel size {pixel_size_um:g} µm is not used",
                TmeInputWarning,
                stacklevel=3,
            )
        return 1.0
    if pixel_size_um is None:
        raise TmeInputError(
            "coordinates are in pixels but no pixel size is declared",
            file=path,
            line=1,
            column=column,
            fix="give the scan's µm per pixel in cells.pixel_size_um or the manifest's pixel_size_um "
            "column (e.g. 0.5 for a 20x scan), or export coordinates in µm",
        )
    if not np.isfinite(pixel_size_um) or pixel_size_um <= 0:
        raise TmeInputError(
            f"pixel size {pixel_size_um!r} µm is not a positive number",
            file=path,
            column=column,
            fix="give the scan's µm per pixel, e.g. 0.5",
        )
    return float(pixel_size_um)


def _numeric(frame: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    """A coordinate column as float; missing or non-numeric cells are errors naming the first line."""
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raw = frame[column].iloc[row]
        what = "missing" if pd.isna(raw) or str(raw).strip() == "" else f"{raw!r}, not a number"
        raise TmeInputError(
            f"coordinate is {what} ({int(bad.sum())} such row(s))",
            file=path,
            line=row + 2,
            column=column,
            fix="export the cells again with every centroid filled in (remove rows "
            "that are not cells, e.g. summary rows)",
        )
    return values


def _label_column(software: str, columns: list[str]) -> str | None:
    options = {"qupath": ("Classification", "Class"), "inform": ("Phenotype",), "halo": ()}[software]
    return next((c for c in options if c in columns), None)


def _marker_columns(software: str, columns: list[str]) -> dict[str, str]:
    pattern = {"halo": _HALO_MARKER, "inform": _INFORM_MARKER}.get(software)
    if pattern is None:
        return {}
    return {m.group(1).strip(): c for c in columns if (m := pattern.match(c))}


def _marker_calls(frame: pd.DataFrame, software: str, marker_columns: dict[str, str], path: Path) -> pd.DataFrame:
    """Boolean positivity per marker: HALO 0/1, inForm ``<marker>+`` / ``<marker>-``."""
    calls = {}
    for marker, column in marker_columns.items():
        raw = frame[column]
        if software == "halo":
            values = pd.to_numeric(raw, errors="coerce")
            ok = values.isin([0, 1]).to_numpy()
            positive = (values == 1).to_numpy()
            expected = "0 or 1"
        else:
            text = raw.astype(str).str.strip()
            positive = text.str.endswith("+").to_numpy()
            ok = positive | text.str.endswith("-").to_numpy()
            expected = f"'{marker}+' or '{marker}-'"
        if not ok.all():
            row = int(np.flatnonzero(~ok)[0])
            raise TmeInputError(
                f"marker call {raw.iloc[row]!r} is not {expected}",
                file=path,
                line=row + 2,
                column=column,
                fix="export the thresholded marker calls for every cell",
            )
        calls[marker] = positive
    return pd.DataFrame(calls, index=frame.index)


def _read_columns(path: Path, sep: str, coords: list[str], text_columns: list[str]) -> pd.DataFrame:
    """Only the needed columns: coordinates with NA markers, text columns verbatim ('' stays '')."""
    try:
        frame = pd.read_csv(
            path,
            sep=sep,
            usecols=list(dict.fromkeys(coords + text_columns)),
            dtype={c: str for c in text_columns},
            keep_default_na=False,
            na_values={c: ["", "NA", "#N/A", "NaN"] for c in coords},
            encoding="utf-8-sig",
            compression="infer",
            skip_blank_lines=False,
            engine="c",
        )
    except UnicodeDecodeError as exc:
        raise TmeInputError(
            f"the cell export is not UTF-8 text ({exc.reason})", file=path, fix="export it again as UTF-8"
        ) from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise TmeInputError(
            f"the cell export cannot be parsed as a table ({exc})",
            file=path,
            fix="make every row have one value per header column",
        ) from None
    if frame.empty:
        raise TmeInputError(
            "the cell export has a header but no cells",
            file=path,
            line=2,
            fix="export the slide's cells (or leave the biopsy out of the manifest)",
        )
    return frame


def _check_one_slide(images: pd.Series, software: str, is_um: bool, path: Path, column: str) -> None:
    """One export = one slide. inForm fields of one slide may share a file when positions are slide
    coordinates (µm, inForm ≥ 2.4); pixel positions are relative to each field and cannot be merged."""
    names = images.unique()
    if len(names) < 2 or (software == "inform" and is_um):
        return
    row = int(np.flatnonzero(images.to_numpy() != names[0])[0])
    what = "fields with field-relative pixel positions" if software == "inform" else "images"
    raise TmeInputError(
        f"the export holds {len(names)} {what} ({names[0]!r}, {names[1]!r}, …), so distances between "
        "them would be meaningless",
        file=path,
        line=row + 2,
        column=column,
        fix="export one file per slide (inForm: export positions in slide coordinates (microns) or "
        "one field per file) and list each in the manifest",
    )


def read_cell_export(
    path,
    software: str | None = None,
    *,
    pixel_size_um: float | None = None,
    coordinate_unit: str = "auto",
    region_column: str | None = None,
) -> CellExport:
    """Read one slide's per-cell export (QuPath, HALO or inForm; layouts in the module docstring).

    Parameters
    ----------
    path
        The export (``.csv``, ``.tsv`` or ``.txt``, optionally gzipped; delimiter from the header).
    software
        ``qupath``, ``halo`` or ``inform``; ``None`` detects it from the header.
    pixel_size_um
        µm per pixel of the scan, required when the coordinates are in pixels.
    coordinate_unit
        ``auto`` (from the column names; HALO object data are pixels), ``um`` or ``px``.
    region_column
        Column holding each cell's tissue region (default per software in the module docstring).

    Only the needed columns are parsed, so a 10⁶-cell export with hundreds of intensity columns
    stays within memory.
    """
    path = Path(path)
    columns, sep = _header(path)
    software = detect_software(columns, path) if software is None else software
    if software not in SOFTWARE:
        raise TmeInputError(
            f"unknown software {software!r}",
            column="cells.software",
            fix=f"use one of {', '.join(SOFTWARE)} (or leave it out to detect it from the header)",
        )
    coords, is_um = _coordinate_columns(software, columns, path)
    scale = _unit_scale(is_um, coordinate_unit, pixel_size_um, path, coords[0])
    region_column = region_column or DEFAULT_REGION_COLUMN[software]
    if region_column not in columns:
        raise TmeInputError(
            f"region column {region_column!r} is missing, so cells cannot be placed in tumour or stroma",
            file=path,
            line=1,
            column=region_column,
            fix="export the tissue classification of each cell, or name the column that holds it in "
            "cells.region_column",
        )
    label_column = _label_column(software, columns)
    marker_columns = _marker_columns(software, columns)
    if label_column is None and not marker_columns:
        raise TmeInputError(
            "the export has no phenotype: no class / phenotype column and no per-marker calls",
            file=path,
            line=1,
            fix="export the cells' classification (QuPath 'Class', HALO "
            "'<marker> Positive Classification', inForm 'Phenotype')",
        )
    image_column = IMAGE_COLUMN[software] if IMAGE_COLUMN[software] in columns else None
    text_columns = [c for c in [label_column, region_column, image_column, *marker_columns.values()] if c]
    frame = _read_columns(path, sep, coords, text_columns)
    if image_column:
        _check_one_slide(frame[image_column], software, is_um, path, image_column)
    xy = [_numeric(frame, c, path) for c in coords]
    if software == "halo":
        xy = [(xy[0] + xy[1]) / 2.0, (xy[2] + xy[3]) / 2.0]
    markers = _marker_calls(frame, software, marker_columns, path) if marker_columns else None
    return CellExport(
        path=path,
        software=software,
        x=xy[0] * scale,
        y=xy[1] * scale,
        labels=frame[label_column].str.strip() if label_column else None,
        label_column=label_column,
        markers=markers,
        marker_columns=marker_columns,
        regions=frame[region_column].str.strip(),
        region_column=region_column,
        markers_from_labels=software == "qupath",
    )
