"""``expression.format: nanostring_rcc``: a folder of RCC files → QC, normalisation, one AnnData.

:func:`read_nanostring` reads the files the config's ``expression.path`` names
(:func:`~tme.nanostring.panel.read_rcc_set`), matches them to the sample sheet
(:func:`~tme.nanostring.match.match_files`), normalises the usable samples
(:func:`~tme.nanostring.normalise.normalise`), runs the nCounter QC
(:func:`~tme.nanostring.qc.nanostring_qc`) and builds the AnnData the rest of tme reads:

* ``X``: normalised log2 expression of the panel's genes (Endogenous and Housekeeping probes);
* ``layers["counts"]``: the raw counts of the same probes, for count-based gene-level analyses
  with the housekeeping-derived size factors ``obsm["nanostring"]["size_factor"]``;
* ``obs``: the sample-sheet rows; ``obsm["nanostring"]``: the per-sample factors;
* ``var``: ``probe`` (name in the RCC files), ``code_class``, ``accession``, ``housekeeper_used``.

Probe names are mapped to current gene symbols (:class:`tme.genes.GeneMap`); unmapped names are
listed, and two probes of one gene keep the one with the higher mean log2 value (maxMean).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tme.errors import TmeInputError
from tme.genes import GeneMap
from tme.nanostring.match import match_files
from tme.nanostring.normalise import NormalisationOptions, Normalised, normalise
from tme.nanostring.panel import RccSet, read_rcc_set
from tme.nanostring.qc import QcThresholds, nanostring_qc

if TYPE_CHECKING:  # anndata (0.6 s) only where an RCC cohort is read, not when the workflow is planned
    import anndata as ad

_GENE_CLASSES = ("Endogenous", "Housekeeping")
#: What replaces file names and typed IDs in the returned tables when the sheet is pseudonymised.
HIDDEN = "(pseudonymised)"
_TOP_KEYS = {
    "match_by",
    "pattern",
    "rlf",
    "positive_controls",
    "background",
    "background_sd",
    "floor",
    "housekeepers",
    "genorm",
    "genorm_min",
    "housekeeping_reference",
    "pseudocount",
    "qc",
}
_QC_KEYS = {
    "policy",
    "instrument",
    "min_fov_ratio",
    "binding_density",
    "min_positive_r2",
    "positive_factor",
    "housekeeping_factor",
    "max_housekeepers_below_background",
}


@dataclass
class NanostringInput:
    """What :func:`read_nanostring` found: the AnnData, the QC and the file-to-sample table.

    ``qc``: :func:`~tme.nanostring.qc.nanostring_qc` with ``sample_id`` first;
    ``qc_exclusions``: sample → reason for samples failing QC under ``policy: exclude``;
    ``files``: :func:`~tme.nanostring.match.match_files` (the field used is its ``match_by``);
    ``unmapped``: probe names not mapped to a gene (``input_id, id_type, status``);
    ``extra_samples``: files not in the sheet (ignored); ``genorm``: geNorm table or None. With a
    pseudonymised sheet, file names and matched IDs (which carry the original IDs) read :data:`HIDDEN`.
    """

    adata: ad.AnnData
    qc: pd.DataFrame
    qc_exclusions: dict[str, str]
    files: pd.DataFrame
    unmapped: pd.DataFrame
    extra_samples: list[str]
    genorm: pd.DataFrame | None


def _tuple(value: Any) -> tuple | None:
    return None if value is None else tuple(value)


def nanostring_options(settings: Mapping[str, Any]) -> tuple[NormalisationOptions, QcThresholds]:
    """Normalisation options and QC thresholds from the config's ``expression.nanostring`` mapping."""
    for key in settings:
        if key not in _TOP_KEYS:
            raise TmeInputError(
                f"unknown key {key!r}",
                column=f"expression.nanostring.{key}",
                fix=f"use only {', '.join(sorted(_TOP_KEYS))}",
            )
    qc = dict(settings.get("qc") or {})
    for key in qc:
        if key not in _QC_KEYS:
            raise TmeInputError(
                f"unknown key {key!r}",
                column=f"expression.nanostring.qc.{key}",
                fix=f"use only {', '.join(sorted(_QC_KEYS))}",
            )
    norm = NormalisationOptions(
        positive_controls=_tuple(settings.get("positive_controls")),
        background=settings.get("background", "threshold"),
        background_sd=float(settings.get("background_sd", 2.0)),
        floor=float(settings.get("floor", 1.0)),
        housekeepers=_tuple(settings.get("housekeepers")),
        genorm=bool(settings.get("genorm", False)),
        genorm_min=int(settings.get("genorm_min", 3)),
        housekeeping_reference=settings.get("housekeeping_reference", "mean"),
        pseudocount=float(settings.get("pseudocount", 0.0)),
    )
    for key in ("binding_density", "positive_factor", "housekeeping_factor"):
        if key in qc and qc[key] is not None:
            qc[key] = tuple(float(v) for v in qc[key])
    qc.setdefault("background_sd", norm.background_sd)  # the limit of detection uses the same background
    return norm, QcThresholds(**{k: v for k, v in qc.items() if v is not None})


def _genes(symbols: pd.DataFrame, log2: np.ndarray) -> np.ndarray:
    """Positions of the probes kept: mapped, and per symbol the probe with the highest mean log2."""
    ok = np.flatnonzero((symbols["status"] == "mapped").to_numpy())
    frame = pd.DataFrame({"pos": ok, "symbol": symbols["symbol"].to_numpy()[ok], "mean": log2[ok].mean(axis=1)})
    frame = frame.sort_values(["symbol", "mean", "pos"], ascending=[True, False, True], kind="mergesort")
    return frame.drop_duplicates("symbol")["pos"].to_numpy()


def _anndata(rcc: RccSet, norm: Normalised, obs: pd.DataFrame) -> tuple[ad.AnnData, pd.DataFrame]:
    """The genes of the panel (Endogenous and Housekeeping probes mapped to symbols) as an AnnData, and
    the unmapped names."""
    import anndata as ad

    genes = np.flatnonzero(rcc.probes["code_class"].isin(_GENE_CLASSES).to_numpy())
    symbols = GeneMap.load().to_symbols(rcc.probes["name"].to_numpy()[genes].tolist()).reset_index(drop=True)
    unmapped = symbols.loc[symbols["status"] != "mapped", ["input_id", "id_type", "status"]].reset_index(drop=True)
    chosen = _genes(symbols, norm.log2[genes])
    rows = genes[chosen]
    probes = rcc.probes.iloc[rows]
    var = pd.DataFrame(
        {
            "probe": probes["name"].to_numpy(),
            "code_class": probes["code_class"].to_numpy(),
            "accession": probes["accession"].to_numpy(),
        },
        index=pd.Index(symbols["symbol"].to_numpy()[chosen]),
    )
    var["housekeeper_used"] = var["probe"].isin(norm.housekeepers).to_numpy()
    adata = ad.AnnData(
        X=norm.log2[rows].T.astype(np.float64),
        obs=obs.drop(columns=["_line", "source_id", "source_patient_id"]),
        var=var,
    )
    adata.layers["counts"] = rcc.counts[rows].T.copy()
    adata.obsm["nanostring"] = norm.factors.set_index(obs.index)
    adata.uns["tme"] = {
        "expression_format": "nanostring_rcc",
        "collapse_rule": "maxmean",
        "housekeepers": norm.housekeepers,
        "analysis_scale": "log2 nCounter-normalised counts (positive controls, background, housekeepers)",
    }
    return adata, unmapped


def read_nanostring(settings: Mapping[str, Any], samples: pd.DataFrame) -> NanostringInput:
    """Read, match, normalise and QC the RCC files of the config's ``expression`` section.

    ``settings``: ``path`` (folder, glob or list of RCC files), ``extra_samples`` (``error`` or
    ``ignore``) and ``nanostring`` (see :func:`nanostring_options`; ``match_by``, ``pattern``,
    ``rlf``). ``samples``: the validated sheet (:func:`tme.samplesheet.read_samplesheet`).
    """
    options = dict(settings.get("nanostring") or {})
    norm_options, thresholds = nanostring_options(options)
    rcc = read_rcc_set(settings["path"], options.get("rlf"))
    files = match_files(
        rcc,
        samples,
        match_by=options.get("match_by", "file_name"),
        pattern=options.get("pattern"),
        extra_samples=settings.get("extra_samples", "error"),
    )
    used = files[files["status"] == "used"]
    order = sorted(used.index, key=lambda i: samples.index.get_loc(used.at[i, "sample_id"]))
    keep = [used.at[i, "sample_id"] for i in order]
    rcc = rcc.subset(order)
    norm = normalise(rcc, norm_options)
    qc = nanostring_qc(rcc, norm, thresholds)
    qc.insert(0, "sample_id", keep)
    exclusions = {
        s: "nCounter QC: " + why
        for s, why, action in zip(qc["sample_id"], qc["qc_failures"], qc["qc_action"])
        if action == "exclude"
    }

    adata, unmapped = _anndata(rcc, norm, samples.loc[keep])
    adata.uns["tme"].update({"expression_file": str(settings["path"]), "match_by": files["match_by"].iat[0]})
    if (samples["source_id"] != samples.index).any():  # pseudonymised: file names and typed IDs carry the originals
        qc["file"] = HIDDEN
        files[["file", "matched_on"]] = HIDDEN
    extra = files.loc[files["status"] == "not in the sheet", "file"].tolist()
    return NanostringInput(adata, qc, exclusions, files, unmapped, extra, norm.genorm)
