"""tme: paired tumour-microenvironment biomarker analysis for window-of-opportunity trials.

The Snakemake workflow (``workflow/Snakefile``) runs everything from a config; the same pieces are
a Python API over the data users already hold (pandas DataFrames, AnnData):

Reading inputs
    :func:`read_samplesheet` (sample sheet → validated DataFrame), :func:`read_expression`
    (matrix → AnnData, samples × genes, log2 analysis scale, raw counts in ``layers["counts"]``),
    :func:`read_immune` (immune-cell table, analysis transform applied); :class:`Design` names the
    arms and timepoints.
Signatures and scoring
    :func:`load_library` (tme's cited library), :func:`read_gmt`, :func:`read_signature_table`
    (your gene sets); :func:`score` (ssGSEA, GSVA, singscore, … on AnnData or genes × samples
    DataFrames), :func:`coverage`.
Statistics
    :mod:`tme.stats`: :func:`tme.stats.effects_between_arms` (the between-arm difference in
    within-patient change: ANCOVA, rank, mixed-model and bootstrap analyses),
    :func:`tme.stats.changes_within_arm`, sensitivity analyses, gene-level DE and GSEA.
Figures, single cell, planning
    :mod:`tme.plots`, :mod:`tme.singlecell`, :mod:`tme.planning`.

Names load on first use, so ``import tme`` stays fast. Every function raises
:class:`TmeInputError` with the file, line or key and a fix when its input is wrong.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

from tme.errors import TmeInputError, TmeInputWarning

try:
    __version__ = version("tme")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

#: Public name → the module that defines it (imported when the name is first used).
_API = {
    "Design": "tme.config",
    "read_samplesheet": "tme.samplesheet",
    "read_expression": "tme.expression",
    "read_immune": "tme.immune",
    "load_library": "tme.signatures",
    "read_gmt": "tme.signatures",
    "read_signature_table": "tme.signatures",
    "score": "tme.scoring",
    "coverage": "tme.scoring",
}
_SUBPACKAGES = ("stats", "plots", "scoring", "signatures", "singlecell", "planning", "nanostring", "cells")

__all__ = ["TmeInputError", "TmeInputWarning", "__version__", *_API, *_SUBPACKAGES]


def __getattr__(name: str):
    if name in _API:
        return getattr(import_module(_API[name]), name)
    if name in _SUBPACKAGES:
        return import_module(f"tme.{name}")
    raise AttributeError(f"module 'tme' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
