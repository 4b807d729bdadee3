"""Multiplex IF / IHC per-cell exports: readers, phenotype map, compartment areas, spatial metrics per biopsy.

* :func:`read_cell_export` — QuPath, HALO and inForm per-cell exports (auto-detected) → µm coordinates,
  labels, marker calls and region labels;
* :class:`PhenotypeMap` — classes / marker combinations → the trial's cell types;
* :class:`CompartmentMap`, :func:`read_region_table`, :func:`read_annotation_areas` — tumour / stroma
  compartments and their areas (mm²);
* :func:`biopsy_metrics`, :class:`MetricPlan` — densities, ratios, proportions, nearest-tumour distances,
  fraction within r, cross-type Ripley K / L per biopsy (:mod:`tme.cells.spatial`);
* :func:`slide_metrics`, :func:`slide_biopsy`, :func:`slide_cells`, :func:`cohort_metrics`,
  :func:`read_manifest`, :func:`exports_in_directory`, :func:`usable_exports`, :func:`check_cell_cohort`,
  :func:`patient_slides`, :func:`slide_job`, :func:`job_metrics`, :class:`CellSettings` — one biopsy
  per job, the cohort, the ``cells:`` config;
* :func:`paired_values`, :func:`planned_features`, :func:`read_metrics` — the metrics as input of
  :func:`tme.stats.effects_between_arms`, their names before any slide is read, the workflow's table;
* :func:`write_cell_cohort` — a simulated OZM-034-like cohort with planted truth.
"""

from tme.lazy import lazy_exports

#: Public name → the module defining it (imported on first use: the workflow reads this package
#: when it parses the Snakefile, and most runs never read a cell export or an RCC file).
_EXPORTS = {
    "CellSettings": "cohort",
    "check_cell_cohort": "cohort",
    "cohort_metrics": "cohort",
    "exports_in_directory": "cohort",
    "job_metrics": "cohort",
    "patient_slides": "cohort",
    "read_manifest": "cohort",
    "slide_biopsy": "cohort",
    "slide_cells": "cohort",
    "slide_job": "cohort",
    "slide_metrics": "cohort",
    "usable_exports": "cohort",
    "CellExport": "exports",
    "detect_software": "exports",
    "read_cell_export": "exports",
    "Biopsy": "metrics",
    "METRIC_COLUMNS": "metrics",
    "MetricPlan": "metrics",
    "biopsy_from_export": "metrics",
    "biopsy_metrics": "metrics",
    "paired_values": "metrics",
    "planned_features": "metrics",
    "read_metrics": "metrics",
    "PhenotypeMap": "phenotypes",
    "CompartmentMap": "regions",
    "read_annotation_areas": "regions",
    "read_region_table": "regions",
    "simulate_cell_cohort": "simulate",
    "write_cell_cohort": "simulate",
}

__all__ = sorted(_EXPORTS)

lazy_exports(__name__, _EXPORTS)
