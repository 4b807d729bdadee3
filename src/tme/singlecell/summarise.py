"""Per-biopsy summaries of single-cell data, for the paired (pre/post) statistics.

* :func:`annotate_cell_types` — a marker-score annotation when the files carry no ``cell_type``;
* :func:`cell_type_proportions` — samples × cell types fractions;
* :func:`mean_scores` — mean per-cell signature score per sample × cell type;
* :func:`pseudobulk` — summed raw counts per sample (or sample × cell type), genes × groups, in
  the ``counts`` layout the bulk path reads (first column gene identifiers, one column per sample);
  :func:`pseudobulk_per_cell_type` — one such genes × samples matrix per cell type;
* :func:`summary_table` — the long table ``sample_id, feature, feature_type, value`` fed to the
  paired statistics (FDR family ``single_cell``).

Feature names: ``proportion|<cell type>`` (feature_type ``cell_type_proportion``; the fraction of the
sample's cells), ``score|<signature>|<cell type>`` (``cell_type_score``; the mean score over the
sample's cells of that type, ``all`` for every cell). Groups with fewer than ``min_cells`` cells get
no score feature (a mean over a handful of cells is noise).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from tme.singlecell.score import _row_chunks, score_signatures

#: Marker panel for :func:`annotate_cell_types`: canonical lineage markers of the cells of a
#: breast-tumour biopsy (Wu et al. 2021 Nat Genet 53:1334 breast cancer atlas; Danaher 2017).
MARKER_PANEL: dict[str, tuple[str, ...]] = {
    "T cell": ("CD3D", "CD3E", "CD3G", "CD2", "CD247", "LCK", "CD6"),
    "NK": ("KLRD1", "KLRF1", "NCR1", "GNLY", "NCAM1", "SH2D1B"),
    "B cell": ("MS4A1", "CD79A", "CD79B", "CD19", "BANK1", "CD22"),
    "Macrophage": ("CD68", "CD163", "C1QA", "C1QB", "C1QC", "CSF1R", "MRC1", "MS4A6A"),
    "Neutrophil": ("FCGR3B", "CSF3R", "CXCR2", "CXCR1", "FPR1", "CMTM2"),
    "Tumour epithelial": ("EPCAM", "KRT8", "KRT18", "KRT19", "KRT5", "KRT14", "KRT17", "CDH1"),
    "CAF": ("COL1A1", "COL1A2", "COL3A1", "DCN", "LUM", "PDGFRB", "FAP"),
    "Endothelial": ("PECAM1", "VWF", "CDH5", "KDR", "CLDN5", "PLVAP"),
}
UNASSIGNED = "unassigned"


def annotate_cell_types(
    adata: AnnData,
    markers: Mapping[str, Sequence[str]] = MARKER_PANEL,
    *,
    min_score: float = 0.5,
    key_added: str = "cell_type",
    random_state: int = 0,
    **score_kwargs,
) -> None:
    """Label each cell with the highest-scoring marker set, or ``'unassigned'``.

    Every set of ``markers`` is scored per cell with :func:`~tme.singlecell.score.score_signatures`
    (Tirosh 2016: set mean minus expression-matched control mean, log-normalised data); a cell gets
    the set with the highest score when that score exceeds ``min_score`` (log1p units: the markers
    are on average ``exp(0.5) ≈ 1.6``-fold above their controls), else ``'unassigned'``. It is a
    coarse lineage call for biopsies without an annotation — states within a lineage (e.g. IL1B⁺
    macrophages) are not separated — and the marker scores are kept in ``adata.obsm['marker_scores']``
    to audit it.

    Annotates ``adata.obs[key_added]`` (categorical) in place.
    """
    scores = score_signatures(adata, markers, random_state=random_state, key_added="marker_scores", **score_kwargs)
    best = scores.to_numpy().argmax(axis=1)
    top = scores.to_numpy()[np.arange(len(best)), best]
    labels = np.where(top > min_score, scores.columns.to_numpy()[best], UNASSIGNED)
    adata.obs[key_added] = pd.Categorical(labels, categories=[*scores.columns, UNASSIGNED])
    adata.uns[key_added + "_annotation"] = {
        "method": "marker_score_argmax",
        "min_score": min_score,
        "markers": {k: list(v) for k, v in markers.items()},
    }


def cell_type_proportions(
    obs: pd.DataFrame, *, sample_key: str = "sample_id", cell_type_key: str = "cell_type"
) -> pd.DataFrame:
    """Fraction of each sample's cells in each cell type (samples × cell types; rows sum to 1)."""
    return pd.crosstab(obs[sample_key].astype(str), obs[cell_type_key].astype(str), normalize="index")


def mean_scores(
    scores: pd.DataFrame,
    obs: pd.DataFrame,
    *,
    sample_key: str = "sample_id",
    cell_type_key: str | None = "cell_type",
    min_cells: int = 20,
) -> pd.DataFrame:
    """Mean per-cell score per sample and cell type (long: ``sample_id, signature, cell_type, value, n_cells``).

    ``cell_type`` ``all`` is the mean over all the sample's cells; groups with fewer than
    ``min_cells`` cells are left out.
    """
    sample = obs[sample_key].astype(str).to_numpy()
    labels = [np.full(len(obs), "all", dtype=object)]
    if cell_type_key is not None:
        labels.append(obs[cell_type_key].astype(str).to_numpy())
    frames = []
    for cell_type in labels:
        index = pd.MultiIndex.from_arrays([sample, cell_type], names=["sample_id", "cell_type"])
        grouped = scores.set_axis(index, axis=0).groupby(level=[0, 1], sort=True)
        n = grouped.size()
        means = grouped.mean()[n.to_numpy() >= min_cells]
        long = means.rename_axis(columns="signature").stack().rename("value").reset_index()
        long["n_cells"] = n.reindex(pd.MultiIndex.from_frame(long[["sample_id", "cell_type"]])).to_numpy()
        frames.append(long[["sample_id", "signature", "cell_type", "value", "n_cells"]])
    return pd.concat(frames, ignore_index=True)


def pseudobulk(
    adata: AnnData,
    *,
    groupby: str | Sequence[str] = "sample_id",
    layer: str | None = "counts",
    min_cells: int = 1,
    chunk_size: int = 50_000,
) -> pd.DataFrame:
    """Sum raw counts over the cells of each sample (or sample × cell type): genes × groups.

    Sums are exact (float64 accumulation of integer counts, returned as int64), chunked over cells
    so a backed AnnData is never loaded whole. Columns are the group labels joined with ``|``
    (``OZM-001-BX`` or ``OZM-001-BX|Macrophage``); groups with fewer than ``min_cells`` cells are
    dropped; ``attrs['n_cells']`` maps each kept group to its number of cells. Written with the index as first
    column, the table is a ``counts`` expression matrix for the bulk path.
    """
    keys = [groupby] if isinstance(groupby, str) else list(groupby)
    labels = adata.obs[keys].astype(str).agg("|".join, axis=1).to_numpy()
    groups, codes = np.unique(labels, return_inverse=True)
    X = adata.layers[layer] if layer is not None else adata.X
    total = np.zeros((len(groups), adata.n_vars), dtype=np.float64)
    for start, stop, rows in _row_chunks(X, chunk_size):
        member = sp.csr_matrix(
            (np.ones(stop - start), (codes[start:stop], np.arange(stop - start))), shape=(len(groups), stop - start)
        )
        part = member @ rows.astype(np.float64)
        total += part.toarray() if sp.issparse(part) else part
    if not np.all(np.mod(total, 1) == 0):
        raise ValueError(f"{'X' if layer is None else f'layers[{layer!r}]'} does not hold integer counts")
    n_cells = np.bincount(codes, minlength=len(groups))
    keep = n_cells >= min_cells
    table = pd.DataFrame(total[keep].T.astype(np.int64), index=adata.var_names.rename("gene"), columns=groups[keep])
    table.attrs["n_cells"] = dict(zip(groups[keep].tolist(), n_cells[keep].tolist()))
    return table


def pseudobulk_per_cell_type(
    adata: AnnData,
    *,
    sample_key: str = "sample_id",
    cell_type_key: str = "cell_type",
    layer: str | None = "counts",
    min_cells: int = 10,
    chunk_size: int = 50_000,
) -> dict[str, pd.DataFrame]:
    """One genes × samples count matrix per cell type (one pass over the cells; exact sums).

    Each matrix has the sample_ids as columns — a ``counts`` expression matrix the bulk path reads
    unchanged — and holds the samples with at least ``min_cells`` cells of that type.
    """
    table = pseudobulk(
        adata, groupby=[sample_key, cell_type_key], layer=layer, min_cells=min_cells, chunk_size=chunk_size
    )
    sample, cell_type = table.columns.str.rsplit("|", n=1).str[0], table.columns.str.rsplit("|", n=1).str[1]
    out = {}
    for name in sorted(set(cell_type)):
        part = table.loc[:, cell_type == name].set_axis(sample[cell_type == name], axis=1)
        part.attrs["n_cells"] = {s: table.attrs["n_cells"][f"{s}|{name}"] for s in part.columns}
        out[name] = part
    return out


def summary_table(
    obs: pd.DataFrame,
    scores: pd.DataFrame | None = None,
    *,
    sample_key: str = "sample_id",
    cell_type_key: str = "cell_type",
    min_cells: int = 20,
) -> pd.DataFrame:
    """Long table ``sample_id, feature, feature_type, value`` of per-biopsy single-cell features.

    ``proportion|<cell type>`` from :func:`cell_type_proportions` and, when ``scores`` (cells ×
    signatures, aligned with ``obs``) is given, ``score|<signature>|<cell type>`` from
    :func:`mean_scores` (``all`` = every cell of the sample).
    """
    props = cell_type_proportions(obs, sample_key=sample_key, cell_type_key=cell_type_key)
    long = props.rename_axis(index="sample_id", columns="cell_type").stack().rename("value").reset_index()
    frames = [
        pd.DataFrame(
            {
                "sample_id": long["sample_id"],
                "feature": "proportion|" + long["cell_type"],
                "feature_type": "cell_type_proportion",
                "value": long["value"],
            }
        )
    ]
    if scores is not None:
        means = mean_scores(scores, obs, sample_key=sample_key, cell_type_key=cell_type_key, min_cells=min_cells)
        frames.append(
            pd.DataFrame(
                {
                    "sample_id": means["sample_id"],
                    "feature": "score|" + means["signature"] + "|" + means["cell_type"],
                    "feature_type": "cell_type_score",
                    "value": means["value"],
                }
            )
        )
    return pd.concat(frames, ignore_index=True).sort_values(
        ["feature_type", "feature", "sample_id"], kind="stable", ignore_index=True
    )
