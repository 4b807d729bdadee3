"""Expression readers → one AnnData (samples × genes) joined to the sample sheet.

Formats (``expression.format`` in the config):

``counts``
    genes × samples integer counts; first column gene identifiers (symbols, Ensembl — versioned or
    not — or Entrez).
``nfcore_salmon_counts`` / ``nfcore_salmon_tpm``
    nf-core/rnaseq ``salmon.merged.gene_counts.tsv`` / ``salmon.merged.gene_tpm.tsv``: ``gene_id``
    (Ensembl), ``gene_name``, then one column per sample. Salmon's estimated counts are rounded to
    integers for count models, as nf-core's own DESeq2 step does.
``normalised``
    genes × samples normalised expression (NanoString, arrays) on the declared ``scale``.

Analysis scale (``adata.X``): log2(CPM + 1) for counts (CPM on the sample's total counts),
log2(TPM + 1) for TPM, the given values for log2 data (log10 multiplied by log2(10), linear as
log2(x + 1)). Raw integer counts go to ``adata.layers["counts"]``.

Gene identifiers are mapped to current HGNC symbols with :class:`tme.genes.GeneMap`; identifiers
that do not map are dropped and listed (``unmapped_genes``). Several identifiers mapping to one
symbol are collapsed: counts and TPM are **summed** (they measure the same gene's transcripts, e.g.
PAR_Y copies of Ensembl IDs); normalised log values keep the **row with the highest mean**
(collapseRows "maxMean", Miller 2011), since log values cannot be added.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import anndata as ad
import numpy as np
import pandas as pd

from tme.errors import TmeInputError
from tme.genes import GeneMap, describe_excel_mangled, find_excel_mangled
from tme.io import MISSING_TOKENS, read_matrix_text

COUNT_FORMATS = {"counts", "nfcore_salmon_counts"}


@dataclass
class ExpressionInput:
    """The harmonised expression data and what the reader found on the way."""

    adata: ad.AnnData
    unmapped: pd.DataFrame  # input_id, id_type, status: identifiers dropped
    extra_samples: list[str]  # matrix columns not in the sheet (ignored when allowed)
    low_library: pd.Series  # sample_id -> library size, for samples under the minimum


def _id_columns(frame: pd.DataFrame, fmt: str, path: Path) -> list[str]:
    if fmt.startswith("nfcore"):
        missing = [c for c in ("gene_id", "gene_name") if c not in frame.columns]
        if missing:
            raise TmeInputError(f"column(s) {', '.join(missing)} missing for format {fmt}", file=path, line=1,
                                fix="point at nf-core/rnaseq's salmon.merged.gene_counts.tsv or gene_tpm.tsv, or set expression.format: counts")
        return ["gene_id", "gene_name"]
    return [frame.columns[0]]


def _to_numeric(block: pd.DataFrame, path: Path) -> np.ndarray:
    """Convert string cells to float64, raising at the first non-numeric, missing or infinite cell."""
    values = block.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raw = block.iat[row, col]
        kind = "a missing or infinite value" if raw.strip().lower() in MISSING_TOKENS else f"non-numeric value {raw!r}"
        n = int(bad.sum())
        raise TmeInputError(f"{kind} ({n} such cell{'s' if n > 1 else ''} in the matrix)", file=path,
                            line=int(row) + 2, column=str(block.columns[col]),
                            fix="every expression cell must be a finite number; re-export the matrix without missing values")
    return values


def _refuse_negative(values: np.ndarray, columns: list[str], path: Path, what: str, fix: str) -> None:
    """Error at the first negative cell (line and sample column named)."""
    negative = np.argwhere(values < 0)
    if len(negative):
        row, col = negative[0]
        raise TmeInputError(f"{what} {values[row, col]:g}", file=path, line=int(row) + 2, column=str(columns[col]), fix=fix)


def _check_counts(values: np.ndarray, columns: pd.Index, path: Path, fmt: str) -> np.ndarray:
    _refuse_negative(values, list(columns), path, "negative count",
                     "counts must be ≥ 0; if these are normalised or log values set expression.format: normalised")
    if fmt == "nfcore_salmon_counts":
        return np.rint(values)
    frac = values != np.rint(values)
    if frac.any():
        row, col = np.argwhere(frac)[0]
        raise TmeInputError(f"non-integer count {values[row, col]:g}", file=path, line=int(row) + 2, column=str(columns[col]),
                            fix="give raw integer counts (e.g. featureCounts/STAR); for salmon estimates use format nfcore_salmon_counts, for normalised data format normalised")
    return values


def _gene_ids(frame: pd.DataFrame, id_cols: list[str], path: Path) -> pd.DataFrame:
    ids = frame[id_cols].copy()
    for column in id_cols:
        ids[column] = ids[column].str.strip()
        empty = ids[column] == ""
        if empty.any() and column == id_cols[0]:
            raise TmeInputError("empty gene identifier", file=path, line=int(np.argmax(empty.to_numpy())) + 2,
                                column=column, fix="every row needs a gene identifier")
    first = ids[id_cols[0]]
    dup = first.duplicated(keep=False)
    if dup.any():
        name = first[dup].iloc[0]
        lines = (np.flatnonzero((first == name).to_numpy()) + 2).tolist()
        raise TmeInputError(f"gene identifier {name!r} appears on lines {', '.join(map(str, lines[:5]))}", file=path,
                            line=lines[1], column=id_cols[0],
                            fix="give each gene one row (sum or drop duplicates upstream), or use unique Ensembl IDs")
    mangled = find_excel_mangled(ids[id_cols[-1]].tolist())
    if mangled:
        where = int(np.flatnonzero(ids[id_cols[-1]].isin(mangled).to_numpy())[0]) + 2
        raise TmeInputError(
            describe_excel_mangled(mangled), file=path,
            line=where, column=id_cols[-1],
            fix="re-export the matrix without opening it in Excel (or import gene names as text), or use Ensembl IDs")
    return ids


def _map_symbols(ids: pd.DataFrame, id_cols: list[str]) -> pd.DataFrame:
    """Per row: symbol (or '' if unmapped), id_type, status; nf-core rows fall back to gene_name."""
    gm = GeneMap.load()
    mapped = gm.to_symbols(ids[id_cols[0]].tolist()).reset_index(drop=True)
    if len(id_cols) > 1:
        retry = mapped["status"] != "mapped"
        if retry.any():
            second = gm.to_symbols(ids.loc[retry.to_numpy(), id_cols[1]].tolist()).reset_index(drop=True)
            second["input_id"] = mapped.loc[retry, "input_id"].to_numpy() + "|" + second["input_id"]
            mapped.loc[retry.to_numpy()] = second.to_numpy()
    return mapped


def _collapse(values: np.ndarray, symbols: np.ndarray, how: str) -> tuple[np.ndarray, np.ndarray]:
    """Collapse rows sharing a symbol: ``sum`` or ``maxmean`` (row with the highest mean); sorted symbols."""
    uniq, inverse = np.unique(symbols, return_inverse=True)
    if how == "sum":
        out = np.zeros((len(uniq), values.shape[1]))
        np.add.at(out, inverse, values)
        return out, uniq
    means = values.mean(axis=1)
    order = np.lexsort((-means, inverse))  # per symbol, highest mean first
    first = order[np.r_[True, inverse[order][1:] != inverse[order][:-1]]]
    return values[first], uniq


#: Highest plausible log2 expression: 2^30 ≈ 1e9 reads or TPM in one gene cannot happen, so larger
#: values mean linear values (counts, TPM) declared as log.
MAX_LOG2 = 30.0


def _check_log_scale(values: np.ndarray, scale: str, path: Path) -> None:
    """Refuse a log-declared matrix whose values can only be linear (counts or TPM)."""
    if scale == "linear":
        return
    top = float(values.max()) * (np.log2(10) if scale == "log10" else 1.0)
    if top > MAX_LOG2:
        raise TmeInputError(
            f"values up to {values.max():g} on a declared {scale} scale would mean more than 2^{MAX_LOG2:g} "
            "(a billion) per gene, so they look linear", file=path, column="(values)",
            fix="set expression.scale: linear for linear normalised values, or expression.format: counts for raw counts")


def read_expression(settings: Mapping[str, Any], samples: pd.DataFrame) -> ExpressionInput:
    """Read the matrix the config's ``expression`` section names, join it to the sample sheet.

    ``samples`` is the validated sheet (:func:`tme.samplesheet.read_samplesheet`). Samples with an
    ``exclude_reason`` may be absent from the matrix; every other sheet sample must be present.
    """
    fmt = settings.get("format", "counts")
    frame, path = read_matrix_text(settings["path"], "expression matrix")
    id_cols = _id_columns(frame, fmt, path)
    sample_cols = [c for c in frame.columns if c not in id_cols]
    if not sample_cols:
        raise TmeInputError("the matrix has no sample columns", file=path, line=1,
                            fix="genes in rows, one column per sample after the gene identifier column")
    if frame.empty:
        raise TmeInputError("the matrix has a header but no gene rows", file=path, line=2,
                            fix="export the matrix again with its rows (the file may have been cut short)")

    usable = samples[samples["exclude_reason"] == ""]
    source = dict(zip(usable["source_id"], usable.index))  # IDs as written in the files → IDs used
    missing = [s for s in source if s not in sample_cols]
    if missing:
        first = usable.loc[source[missing[0]], "_line"]
        raise TmeInputError(
            f"{len(missing)} sample(s) have no column in the expression matrix {path} "
            f"({', '.join(missing[:5])}{', …' if len(missing) > 5 else ''})",
            file=samples.attrs.get("path"), line=int(first), column="sample_id",
            fix="correct the sample_id, or set the sample's exclude_reason (e.g. 'RNA failed') if it was not sequenced")
    extra = [c for c in sample_cols if c not in set(samples["source_id"])]
    if extra and settings.get("extra_samples", "error") == "error":
        raise TmeInputError(
            f"{len(extra)} matrix column(s) are not in the sample sheet ({', '.join(extra[:5])}{', …' if len(extra) > 5 else ''})",
            file=path, line=1, column=extra[0],
            fix="add them to the sample sheet, or set expression.extra_samples: ignore to analyse only the sheet's samples")

    ids = _gene_ids(frame, id_cols, path)
    keep = list(usable.index)
    values = _to_numeric(frame[sample_cols], path)[:, [sample_cols.index(s) for s in source]]
    counts = None
    if fmt in COUNT_FORMATS:
        values = _check_counts(values, pd.Index(list(source)), path, fmt)
    elif fmt == "nfcore_salmon_tpm":
        _refuse_negative(values, list(source), path, "negative TPM value", "give salmon's gene_tpm.tsv unchanged")

    mapped = _map_symbols(ids, id_cols)
    ok = (mapped["status"] == "mapped").to_numpy()
    if not ok.any():
        raise TmeInputError(
            f"none of the matrix's {len(ok):,} gene identifiers maps to a human gene (e.g. "
            f"{', '.join(map(repr, mapped['input_id'].head(3)))})", file=path, column=id_cols[0],
            fix="give human gene symbols, Ensembl gene IDs (ENSG…) or Entrez IDs in the first column")
    unmapped = mapped.loc[~ok, ["input_id", "id_type", "status"]].reset_index(drop=True)
    how = "maxmean" if fmt == "normalised" else "sum"
    values, symbols = _collapse(values[ok], mapped.loc[ok, "symbol"].to_numpy(dtype=str), how)
    n_ids = pd.Series(mapped.loc[ok, "symbol"]).value_counts().reindex(symbols).to_numpy()

    low = pd.Series(dtype=float)
    if fmt in COUNT_FORMATS:
        counts = values.astype(np.int64)
        library = counts.sum(axis=0)
        low = pd.Series(library, index=keep)[library < settings.get("min_library_size", 0)]
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.log2(counts / np.where(library > 0, library, 1) * 1e6 + 1)
    elif fmt == "nfcore_salmon_tpm":
        x = np.log2(values + 1)
    else:
        scale = settings.get("scale", "log2")
        _check_log_scale(values, scale, path)
        x = {"log2": values, "log10": values * np.log2(10), "linear": None}[scale]
        if scale == "linear":
            _refuse_negative(values, list(source), path, "negative value on a linear scale",
                             "set expression.scale to log2 or log10 if the values are logged")
            x = np.log2(values + 1)

    obs = samples.loc[keep].drop(columns=["_line", "source_id", "source_patient_id"])
    var = pd.DataFrame({"n_input_ids": n_ids}, index=pd.Index(symbols, name=None))
    adata = ad.AnnData(X=x.T.astype(np.float64), obs=obs, var=var)
    if counts is not None:
        adata.layers["counts"] = counts.T
    adata.uns["tme"] = {"expression_format": fmt, "expression_file": str(path),
                        "analysis_scale": {"counts": "log2(CPM + 1)", "nfcore_salmon_counts": "log2(CPM + 1)",
                                           "nfcore_salmon_tpm": "log2(TPM + 1)"}.get(fmt, f"log2 (from {settings.get('scale', 'log2')})"),
                        "collapse_rule": how}
    return ExpressionInput(adata, unmapped, extra, low)


def expression_qc(adata: ad.AnnData) -> pd.DataFrame:
    """Per-sample QC: library size and detected genes (counts > 0) for counts; median log expression always."""
    out = pd.DataFrame(index=adata.obs_names)
    out.index.name = "sample_id"
    for column in ("patient_id", "arm", "timepoint"):
        out[column] = adata.obs[column].to_numpy()
    if "counts" in adata.layers:
        counts = np.asarray(adata.layers["counts"])
        out["library_size"] = counts.sum(axis=1)
        out["detected_genes"] = (counts > 0).sum(axis=1)
    out["median_log2_expression"] = np.median(np.asarray(adata.X), axis=1)
    return out.reset_index()
