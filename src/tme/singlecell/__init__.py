"""Single-cell biopsies: read and QC ``.h5ad`` files, score signatures per cell, summarise per biopsy.

* :func:`read_h5ads` — ``.h5ad`` files → one QC-filtered AnnData joined to the sample sheet;
* :func:`score_genes` — :func:`scanpy.tl.score_genes` reproduced exactly (Tirosh 2016);
* :func:`score_signatures` — every signature at once, one sparse product per chunk of cells
  (backed AnnData supported);
* :func:`aucell` — AUCell rank scores (Aibar 2017);
* :func:`annotate_cell_types`, :func:`cell_type_proportions`, :func:`mean_scores`,
  :func:`pseudobulk`, :func:`pseudobulk_per_cell_type`, :func:`summary_table` — per-biopsy
  features for the paired statistics;
* :func:`simulate_singlecell`, :func:`write_singlecell_example` — a cohort with planted truth.
"""

from tme.singlecell.aucell import aucell
from tme.singlecell.inputs import read_h5ads
from tme.singlecell.score import control_genes, gene_means, score_genes, score_signatures, signature_weights
from tme.singlecell.simulate import simulate_singlecell, write_singlecell_example
from tme.singlecell.summarise import (
    MARKER_PANEL,
    annotate_cell_types,
    cell_type_proportions,
    mean_scores,
    pseudobulk,
    pseudobulk_per_cell_type,
    summary_table,
)

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
    "score_signatures",
    "signature_weights",
    "simulate_singlecell",
    "summary_table",
    "write_singlecell_example",
]
