"""Single-cell input: ``.h5ad`` files → one QC-filtered AnnData joined to the sample sheet.

Each file holds cells × genes with ``obs['sample_id']`` (a ``sample_id`` of the sample sheet) and
optionally ``obs['cell_type']``. Raw counts are taken from ``layers['counts']``, else ``X``, else
``raw.X`` (with ``raw.var_names``, often more genes than ``X``), whichever holds non-negative
integers. Cell QC uses :func:`scanpy.pp.calculate_qc_metrics`
on the counts (genes detected, total counts, % counts from mitochondrial genes ``MT-*``); a sample
with fewer than ``min_cells`` cells passing QC, or excluded in the sheet, is dropped and its reason
returned. Every problem a user can fix raises :class:`~tme.errors.TmeInputError` naming the file,
the ``obs`` column and the fix.

Output layout: ``layers['counts']`` raw counts (float32 CSR), ``X`` = ``log1p(counts / cell total ×
1e4)`` (``sc.pp.normalize_total(target_sum=1e4)`` + ``sc.pp.log1p``), ``obs`` = ``sample_id``,
``cell_type`` (when given), ``file``, the QC metrics and the sheet's ``patient_id, arm, timepoint``.
Log-normalised input without counts is accepted only with ``require_counts=False`` (no pseudobulk).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc
import scipy.sparse as sp

from tme.errors import TmeInputError

TARGET_SUM = 1e4
_ENSEMBL = re.compile(r"^ENS[A-Z]*G\d{11}(\.\d+)?$")
_DEFAULT_NAMES_FIX = "set adata.obs_names to the cell barcodes (unique across files) before writing the file"


def _read(path: Path) -> ad.AnnData:
    try:
        adata = ad.read_h5ad(path)
    except FileNotFoundError:
        raise TmeInputError("the .h5ad file does not exist", file=path, fix="correct the path in the config") from None
    except KeyError as exc:
        if "_index" in str(exc):
            raise TmeInputError(
                "obs has no index (no cell barcodes)", file=path, column="obs", fix=_DEFAULT_NAMES_FIX
            ) from None
        raise TmeInputError(
            f"not a readable AnnData file ({exc})", file=path, fix="write it with anndata.AnnData.write_h5ad"
        ) from None
    except OSError as exc:
        raise TmeInputError(
            f"not a readable .h5ad file ({exc})",
            file=path,
            fix="write it with anndata.AnnData.write_h5ad (HDF5), not loom or zarr",
        ) from None
    if adata.n_obs and adata.obs_names.equals(pd.RangeIndex(adata.n_obs).astype(str)):
        raise TmeInputError(
            "obs has no cell barcodes (its index is 0, 1, 2, …)", file=path, column="obs", fix=_DEFAULT_NAMES_FIX
        )
    if not adata.var_names.is_unique:
        dup = adata.var_names[adata.var_names.duplicated()][0]
        raise TmeInputError(
            f"gene {dup!r} appears more than once in var_names",
            file=path,
            column="var",
            fix="make gene names unique (adata.var_names_make_unique()) or sum duplicated genes",
        )
    return adata


def _is_counts(X) -> bool:
    data = X.data if sp.issparse(X) else np.asarray(X)
    return bool(data.size == 0 or (np.all(data >= 0) and np.all(np.mod(data, 1) == 0)))


def _counts(adata: ad.AnnData, path: Path, require_counts: bool) -> tuple[sp.csr_matrix, pd.Index, bool]:
    """The first of layers['counts'], X, raw.X holding counts, its genes, and whether it is counts (else X)."""
    candidates = []
    if "counts" in adata.layers:
        candidates.append(("layers['counts']", adata.layers["counts"], adata.var_names))
    candidates.append(("X", adata.X, adata.var_names))
    if adata.raw is not None:
        candidates.append(("raw.X", adata.raw.X, adata.raw.var_names))
    for _, X, genes in candidates:
        if _is_counts(X):
            return sp.csr_matrix(X, dtype=np.float32), genes, True
    if require_counts:
        where = ", ".join(name for name, _, _ in candidates)
        raise TmeInputError(
            f"no raw counts found: {where} hold non-integer or negative values (log-normalised or scaled data)",
            file=path,
            column="X",
            fix="store the raw UMI counts in layers['counts'] (or X); pseudobulk and QC need counts",
        )
    return sp.csr_matrix(adata.X, dtype=np.float32), adata.var_names, False


def _gene_id_type(var_names: pd.Index) -> str:
    ensembl = var_names.str.match(_ENSEMBL).mean()
    return "ensembl" if ensembl > 0.5 else "symbol"


def read_h5ads(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    samples: pd.DataFrame,
    *,
    min_genes: int = 200,
    min_counts: int = 500,
    max_pct_mito: float = 20.0,
    min_cells: int = 50,
    require_counts: bool = True,
) -> tuple[ad.AnnData, pd.DataFrame]:
    """Read, check, QC and join one or many ``.h5ad`` files to the sample sheet.

    Parameters
    ----------
    paths
        One path or several; cells of all files are concatenated (genes: those in every file).
    samples
        The validated sample sheet (:func:`tme.samplesheet.read_samplesheet`), indexed by sample_id.
    min_genes, min_counts, max_pct_mito
        Cell QC: cells with fewer genes detected or counts, or a higher % of mitochondrial counts,
        are removed (scanpy's ``n_genes_by_counts``, ``total_counts``, ``pct_counts_mt``).
        ``max_pct_mito`` is not applied to Ensembl-ID data (no ``MT-`` symbols to recognise).
    min_cells
        Samples with fewer cells after QC are excluded (reason in the returned table).
    require_counts
        Raise when no raw counts are found; ``False`` accepts log-normalised ``X`` (QC on genes
        detected only; no pseudobulk).

    Returns
    -------
    ``(adata, qc)``: the cells passing QC of the samples kept, laid out as the module docstring
    says, and one row per sample of the sheet found in the files: ``sample_id, file, n_cells,
    n_cells_qc, median_genes, median_counts, median_pct_mito, exclude_reason`` ('' when kept).
    """
    paths = [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(p) for p in paths]
    sheet_path = samples.attrs.get("path")
    parts, seen, id_types, has_counts = [], {}, {}, {}
    for path in paths:
        adata = _read(path)
        if "sample_id" not in adata.obs.columns:
            raise TmeInputError(
                "obs has no 'sample_id' column",
                file=path,
                column="sample_id",
                fix="add obs['sample_id'] naming each cell's biopsy as in the sample sheet",
            )
        sid = adata.obs["sample_id"].astype(str)
        unknown = sorted(set(sid) - set(samples.index))
        if unknown:
            raise TmeInputError(
                f"sample_id {unknown[0]!r} ({len(unknown)} value(s) in all) is not in the sample sheet"
                + (f" {sheet_path}" if sheet_path else ""),
                file=path,
                column="sample_id",
                fix="add the biopsy to the sample sheet or correct obs['sample_id']",
            )
        if adata.obs_names.has_duplicates:
            barcode = adata.obs_names[adata.obs_names.duplicated()][0]
            raise TmeInputError(
                f"cell barcode {barcode!r} appears twice",
                file=path,
                column="obs",
                fix="make barcodes unique, e.g. prefix them with the sample_id",
            )
        clash = adata.obs_names[adata.obs_names.isin(list(seen))]
        if len(clash):
            raise TmeInputError(
                f"cell barcode {clash[0]!r} ({len(clash)} in all) is also in {seen[clash[0]]}",
                file=path,
                column="obs",
                fix="make barcodes unique across files, e.g. prefix them with the sample_id",
            )
        seen.update(dict.fromkeys(adata.obs_names, str(path)))
        counts, genes, has_counts[path] = _counts(adata, path, require_counts)
        id_types[path] = _gene_id_type(genes)
        if len(set(id_types.values())) > 1:
            first = next(p for p, t in id_types.items() if t != id_types[path])
            raise TmeInputError(
                f"genes are {id_types[path]} identifiers here but {id_types[first]} in {first}",
                file=path,
                column="var",
                fix="use the same gene identifiers (all symbols or all Ensembl IDs) in every file",
            )
        if len(set(has_counts.values())) > 1:
            raise TmeInputError(
                "this file holds log-normalised values but another holds raw counts",
                file=path,
                column="X",
                fix="give raw counts (layers['counts'] or X) in every file",
            )
        obs = pd.DataFrame(
            {"sample_id": sid.to_numpy(), "file": pd.Categorical([str(path)] * adata.n_obs)}, index=adata.obs_names
        )
        if "cell_type" in adata.obs.columns:
            obs["cell_type"] = adata.obs["cell_type"].astype(str).to_numpy()
        parts.append(ad.AnnData(counts, obs=obs, var=pd.DataFrame(index=genes)))
    adata = ad.concat(parts, join="inner", merge=None) if len(parts) > 1 else parts[0]
    if adata.n_vars == 0:
        raise TmeInputError(
            "the files share no gene", file=paths[-1], column="var", fix="use the same gene identifiers in every file"
        )

    is_counts = has_counts[paths[0]]
    mito = id_types[paths[0]] == "symbol"
    adata.var["mt"] = adata.var_names.str.upper().str.startswith("MT-")
    sc.pp.calculate_qc_metrics(adata, qc_vars=["mt"], percent_top=None, log1p=False, inplace=True)
    keep = adata.obs["n_genes_by_counts"].to_numpy() >= min_genes
    if is_counts:
        keep &= adata.obs["total_counts"].to_numpy() >= min_counts
        if mito:
            keep &= adata.obs["pct_counts_mt"].to_numpy() <= max_pct_mito

    obs = adata.obs.assign(qc_pass=keep)
    qc = obs.groupby("sample_id", observed=True, sort=True).agg(
        file=("file", "first"), n_cells=("qc_pass", "size"), n_cells_qc=("qc_pass", "sum")
    )
    passed = obs[keep].groupby("sample_id", observed=True)
    qc["median_genes"] = passed["n_genes_by_counts"].median()
    qc["median_counts"] = passed["total_counts"].median() if is_counts else np.nan
    qc["median_pct_mito"] = passed["pct_counts_mt"].median() if is_counts and mito else np.nan
    sheet_reason = samples.get("exclude_reason", pd.Series("", index=samples.index)).reindex(qc.index).fillna("")
    too_few = [f"{n} cells passed QC (< min_cells {min_cells})" if n < min_cells else "" for n in qc["n_cells_qc"]]
    qc["exclude_reason"] = np.where(sheet_reason != "", "excluded in the sample sheet: " + sheet_reason, too_few)
    qc = qc.reset_index()

    kept = set(qc.loc[qc["exclude_reason"] == "", "sample_id"])
    adata = adata[keep & adata.obs["sample_id"].isin(kept).to_numpy()].copy()
    if is_counts:
        adata.layers["counts"] = adata.X.copy()
        sc.pp.normalize_total(adata, target_sum=TARGET_SUM)
        sc.pp.log1p(adata)
    for column in ("patient_id", "arm", "timepoint"):
        adata.obs[column] = adata.obs["sample_id"].map(samples[column]).astype(str).to_numpy()
    adata.obs["sample_id"] = adata.obs["sample_id"].astype("category")
    adata.uns["tme_input"] = {"counts": is_counts, "gene_ids": id_types[paths[0]], "target_sum": TARGET_SUM}
    return adata, qc
