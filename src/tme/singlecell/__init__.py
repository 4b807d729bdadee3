"""Single-cell biopsies: read and QC ``.h5ad`` files, score signatures per cell, summarise per biopsy.

* :func:`read_h5ads` — ``.h5ad`` files → one QC-filtered AnnData joined to the sample sheet;
* :func:`score_genes` — :func:`scanpy.tl.score_genes` reproduced exactly (Tirosh 2016);
* :func:`score_signatures` — every signature at once, one sparse product per chunk of cells
  (backed AnnData supported); :func:`score_h5ad` — the same on a file, reading only the matrix
  and the barcodes;
* :func:`aucell` — AUCell rank scores (Aibar 2017);
* :func:`annotate_cell_types`, :func:`cell_type_proportions`, :func:`mean_scores`,
  :func:`pseudobulk`, :func:`pseudobulk_per_cell_type`, :func:`summary_table` — per-biopsy
  features for the paired statistics;
* :func:`simulate_singlecell`, :func:`write_singlecell_example` — a cohort with planted truth.

Reading (scanpy's QC), the summaries and the simulator are imported on first use (PEP 562), so
scoring does not pay for them.
"""

from importlib import import_module

from tme.singlecell.aucell import aucell
from tme.singlecell.score import control_genes, gene_means, score_genes, score_h5ad, score_signatures, signature_weights

_SUBMODULE = {
    "read_h5ads": "inputs",
    "simulate_singlecell": "simulate",
    "write_singlecell_example": "simulate",
    "MARKER_PANEL": "summarise",
    "annotate_cell_types": "summarise",
    "cell_type_proportions": "summarise",
    "mean_scores": "summarise",
    "pseudobulk": "summarise",
    "pseudobulk_per_cell_type": "summarise",
    "summary_table": "summarise",
}

__all__ = [
    "MARKER_PANEL",
    "annotate_cell_types",
    "aucell",
    "cell_type_proportions",
    "control_genes",
    "gene_means",
    "mean_scores",
    "pseudobulk",
    "pseudobulk_per_cell_type",
    "read_h5ads",
    "score_genes",
    "score_h5ad",
    "score_signatures",
    "signature_weights",
    "simulate_singlecell",
    "summary_table",
    "write_singlecell_example",
]


def __getattr__(name: str):
    if name not in _SUBMODULE:
        raise AttributeError(f"module 'tme.singlecell' has no attribute {name!r}")
    return getattr(import_module(f"tme.singlecell.{_SUBMODULE[name]}"), name)


def __dir__() -> list[str]:
    return __all__
