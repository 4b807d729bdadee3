"""Figures of tme (matplotlib, Agg). One module per figure family; one look in :mod:`tme.plots.style`.

Every ``plot_*`` function takes tidy tables (the documented TSVs of the workflow) and returns a
matplotlib Figure; :func:`save_figure` writes it as PNG + PDF + SVG, byte-identical across runs.

=====================  =======================================================================
module                 figures
=====================  =======================================================================
``flow``               CONSORT-style sample flow per modality and arm
``qc``                 library sizes / detected genes; PCA with each patient's pre → post joined
``paired``             per-feature spaghetti + change by arm (with ANCOVA); heatmap of changes
``forest``             between-arm effects with 95 % CI per BH family
``genes``              volcano of the gene-level interaction; GSEA dot plot
``immune``             measured immune cells pre/post; agreement with expression estimates
``planning``           power curves per primary endpoint for planning the next trial
``sensitivity``        tipping point per endpoint; ANCOVA residual diagnostics
``cells``              a representative patient's pre/post multiplex-IF slides as phenotype scatters
=====================  =======================================================================
"""

from tme.plots.cells import plot_slide_pair
from tme.plots.flow import plot_sample_flow
from tme.plots.forest import plot_forest
from tme.plots.genes import plot_gsea_dots, plot_volcano
from tme.plots.immune import plot_agreement, plot_immune_values
from tme.plots.paired import plot_change_heatmap, plot_feature
from tme.plots.planning import plot_power_curves
from tme.plots.qc import plot_expression_qc, plot_pca
from tme.plots.sensitivity import plot_residual_diagnostics, plot_tipping_point
from tme.plots.style import arm_colours, label, save_figure, theme

__all__ = [
    "arm_colours",
    "label",
    "plot_agreement",
    "plot_change_heatmap",
    "plot_expression_qc",
    "plot_feature",
    "plot_forest",
    "plot_gsea_dots",
    "plot_immune_values",
    "plot_pca",
    "plot_power_curves",
    "plot_residual_diagnostics",
    "plot_sample_flow",
    "plot_slide_pair",
    "plot_tipping_point",
    "plot_volcano",
    "save_figure",
    "theme",
]
