"""A cohort of RCC files measured on one panel (CodeSet): probes × files counts and lane attributes.

All files must list the same probes (``CodeClass, Name, Accession``; the order may differ):
files from two CodeSets in one folder are an error naming the first file that differs and the
probe, since counts of different panels cannot be normalised together. With the panel's RLF, each
probe must be in it, and the RLF's class and control concentrations are used.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tme.errors import TmeInputError, TmeInputWarning
from tme.nanostring.rcc import LANE_NUMBERS, RccFile, rcc_paths, read_rcc
from tme.nanostring.rlf import read_rlf

#: Lane-table columns (one row per file), in order.
LANE_COLUMNS = [
    "file",
    "file_name",
    "sample_attribute_id",
    "gene_rlf",
    "lane_id",
    "cartridge_id",
    "scanner_id",
    "stage_position",
    "date",
    "fov_count",
    "fov_counted",
    "binding_density",
    "file_version",
    "software_version",
    "messages",
    "code_summary_line",
    "id_line",
]
_MIXED_FIX = (
    "analyse one CodeSet per run: move the files of the other panel to their own folder "
    "(the Sample_Attributes GeneRLF line names each file's panel)"
)


@dataclass
class RccSet:
    """Counts of one panel: ``probes`` (``code_class, name, accession, concentration``), ``counts``
    (probes × files, int64) and ``lanes`` (one row per file, :data:`LANE_COLUMNS`)."""

    probes: pd.DataFrame
    counts: np.ndarray
    lanes: pd.DataFrame

    def rows(self, code_class: str) -> np.ndarray:
        """Boolean mask of the probes of one code class (``Positive``, ``Negative``, ``Housekeeping``,
        ``Endogenous``)."""
        return (self.probes["code_class"] == code_class).to_numpy()

    def subset(self, files: Sequence[int]) -> RccSet:
        """The same panel restricted to some files (positions), in the given order."""
        files = list(files)
        return RccSet(self.probes, self.counts[:, files], self.lanes.iloc[files].reset_index(drop=True))

    def require(self, code_class: str, fix: str) -> None:
        """Error naming the first file's ``<Code_Summary>`` when the panel has no probe of ``code_class``."""
        if not self.rows(code_class).any():
            first = self.lanes.iloc[0]
            raise TmeInputError(
                f"the panel has no {code_class} probes (no {code_class} row in <Code_Summary>)",
                file=first["file"],
                line=int(first["code_summary_line"]),
                column="CodeClass",
                fix=fix,
            )


def _number(rcc: RccFile, key: str) -> float:
    if key not in rcc.lane:
        raise TmeInputError(
            f"<Lane_Attributes> has no {key} line",
            file=rcc.path,
            line=rcc.lines["Lane_Attributes"],
            fix="the imaging QC needs FovCount, FovCounted and BindingDensity; copy the file from the instrument again",
        )
    try:
        return float(rcc.lane[key])
    except ValueError:
        raise TmeInputError(
            f"{key} {rcc.lane[key]!r} is not a number",
            file=rcc.path,
            line=rcc.lines[f"Lane_Attributes:{key}"],
            column=key,
            fix="copy the file from the instrument again",
        ) from None


def _lane_row(rcc: RccFile) -> dict:
    row = dict(
        file=str(rcc.path),
        file_name=rcc.path.name,
        sample_attribute_id=rcc.sample.get("ID", ""),
        gene_rlf=rcc.sample.get("GeneRLF", ""),
        lane_id=rcc.lane.get("ID", ""),
        cartridge_id=rcc.lane.get("CartridgeID", ""),
        scanner_id=rcc.lane.get("ScannerID", ""),
        stage_position=rcc.lane.get("StagePosition", ""),
        date=rcc.sample.get("Date", ""),
        file_version=rcc.header.get("FileVersion", ""),
        software_version=rcc.header.get("SoftwareVersion", ""),
        messages="; ".join(rcc.messages),
        code_summary_line=rcc.lines["Code_Summary"],
        id_line=rcc.lines.get("Sample_Attributes:ID", rcc.lines["Sample_Attributes"]),
    )
    row.update({column: _number(rcc, key) for key, column in LANE_NUMBERS.items()})
    return row


def _align(rcc: RccFile, reference: RccFile, index: dict[tuple[str, str, str], int]) -> np.ndarray:
    """Positions of ``rcc``'s probes in the reference order; error if the probe sets differ."""
    keys = rcc.probe_keys
    positions = [index.get(k) for k in keys]
    if None not in positions and len(keys) == len(index):  # same probes, perhaps in another order
        return np.array(positions)
    panels = (
        f"(GeneRLF {rcc.sample.get('GeneRLF', '?')!r} here, {reference.sample.get('GeneRLF', '?')!r} in "
        f"{reference.path.name})"
    )
    if None in positions:
        extra = positions.index(None)
        raise TmeInputError(
            f"probe {keys[extra][1]!r} ({keys[extra][0]}) is not on the panel of {reference.path.name} {panels}",
            file=rcc.path,
            line=rcc.probe_lines[extra],
            column="Name",
            fix=_MIXED_FIX,
        )
    present = set(keys)
    absent = next(k for k in reference.probe_keys if k not in present)
    raise TmeInputError(
        f"probe {absent[1]!r} ({absent[0]}) of {reference.path.name} is missing here {panels}",
        file=rcc.path,
        line=rcc.lines["Code_Summary"],
        column="Name",
        fix=_MIXED_FIX,
    )


def _apply_rlf(probes: pd.DataFrame, rlf_path: Path, first: RccFile, gene_rlf: str) -> pd.DataFrame:
    rlf = read_rlf(rlf_path)
    lookup = {(n, a): i for i, (n, a) in enumerate(zip(rlf["name"], rlf["accession"]))}
    where = [lookup.get((n, a)) for n, a in zip(probes["name"], probes["accession"])]
    if None in where:
        i = where.index(None)
        raise TmeInputError(
            f"probe {probes.at[i, 'name']!r} ({probes.at[i, 'accession']}) is not in the RLF {rlf_path}",
            file=first.path,
            line=first.probe_lines[i],
            column="Name",
            fix="give the RLF of the CodeSet these files were run on (Sample_Attributes GeneRLF), "
            "or remove expression.nanostring.rlf",
        )
    if gene_rlf and rlf_path.stem != gene_rlf:
        warnings.warn(
            f"the RCC files name their panel {gene_rlf!r} but the RLF file is {rlf_path.name}; its probes match, so "
            "it is used",
            TmeInputWarning,
            stacklevel=3,
        )
    mapped = rlf.iloc[where].reset_index(drop=True)
    out = probes.copy()
    out["code_class"] = mapped["code_class"].to_numpy()
    out["concentration"] = np.where(mapped["concentration"].notna(), mapped["concentration"], out["concentration"])
    return out


def read_rcc_set(path: str | os.PathLike | Sequence[str | os.PathLike], rlf: str | os.PathLike | None = None) -> RccSet:
    """Read every RCC file ``path`` names (:func:`~tme.nanostring.rcc.rcc_paths`) as one panel.

    Probes keep the order of the first file (files sorted by path). Raises
    :class:`~tme.errors.TmeInputError` for an unreadable file, a malformed one, or mixed panels.
    """
    files = [read_rcc(p) for p in rcc_paths(path)]
    reference = files[0]
    index = {k: i for i, k in enumerate(reference.probe_keys)}
    counts = np.empty((len(index), len(files)), dtype=np.int64)
    for j, rcc in enumerate(files):
        counts[_align(rcc, reference, index), j] = rcc.count
    probes = pd.DataFrame(
        {
            "code_class": reference.code_class,
            "name": reference.name,
            "accession": reference.accession,
            "concentration": reference.concentration,
        }
    )
    lanes = pd.DataFrame([_lane_row(rcc) for rcc in files], columns=LANE_COLUMNS)
    panels = sorted(set(lanes["gene_rlf"]))
    if len(panels) > 1:
        warnings.warn(
            f"the RCC files name {len(panels)} panels (GeneRLF {', '.join(map(repr, panels))}) but list the same "
            "probes; "
            "they are analysed together",
            TmeInputWarning,
            stacklevel=2,
        )
    if rlf is not None:
        probes = _apply_rlf(probes, Path(rlf), reference, lanes.at[0, "gene_rlf"])
    return RccSet(probes, counts, lanes)
