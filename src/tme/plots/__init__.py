"""Figures of tme (matplotlib, Agg). One module per figure family; one look in :mod:`tme.plots.style`.

Every ``plot_*`` function takes tidy tables (the documented TSVs of the workflow) and returns a
matplotlib Figure; :func:`save_figure` writes it as PNG + PDF + SVG, byte-identical across runs, and
:class:`FigurePages` writes a series of figures as PNGs plus one multi-page PDF.

=====================  =======================================================================
module                 figures
=====================  =======================================================================
``flow``               CONSORT-style sample flow per modality and arm
``qc``                 library sizes / detected genes; PCA with each patient's pre → post joined
``paired``             per-feature spaghetti + change by arm (with ANCOVA); heatmap of changes
``forest``             between-arm effects on the standardised axis, pages per multiplicity family
``genes``              volcano of the gene-level interaction; GSEA dot plot
``immune``             measured immune cells pre/post; agreement with expression estimates
``planning``           power curves per primary endpoint for planning the next trial
``sensitivity``        tipping point per endpoint; ANCOVA residual diagnostics
``cells``              a representative patient's pre/post multiplex-IF slides as phenotype scatters
=====================  =======================================================================
"""

from __future__ import annotations

import importlib

#: Public name → the module that defines it. Imported on first use, so that a script drawing one
#: figure does not pay for the others' imports (scipy.stats, the nCounter and planning modules).
_EXPORTS = {
    "plot_slide_pair": "cells",
    "plot_sample_flow": "flow",
    "plot_forest": "forest",
    "plot_gsea_dots": "genes",
    "plot_volcano": "genes",
    "plot_agreement": "immune",
    "plot_immune_values": "immune",
    "plot_change_heatmap": "paired",
    "plot_feature": "paired",
    "plot_power_curves": "planning",
    "plot_expression_qc": "qc",
    "plot_pca": "qc",
    "plot_residual_diagnostics": "sensitivity",
    "plot_tipping_point": "sensitivity",
    "FigurePages": "style",
    "arm_colours": "style",
    "label": "style",
    "save_figure": "style",
    "theme": "style",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
