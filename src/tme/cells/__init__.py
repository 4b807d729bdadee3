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

from tme.cells.cohort import (
    CellSettings,
    check_cell_cohort,
    cohort_metrics,
    exports_in_directory,
    job_metrics,
    patient_slides,
    read_manifest,
    slide_biopsy,
    slide_cells,
    slide_job,
    slide_metrics,
    usable_exports,
)
from tme.cells.exports import CellExport, detect_software, read_cell_export
from tme.cells.metrics import (
    METRIC_COLUMNS,
    Biopsy,
    MetricPlan,
    biopsy_from_export,
    biopsy_metrics,
    paired_values,
    planned_features,
    read_metrics,
)
from tme.cells.phenotypes import PhenotypeMap
from tme.cells.regions import CompartmentMap, read_annotation_areas, read_region_table
from tme.cells.simulate import simulate_cell_cohort, write_cell_cohort

__all__ = [
    "METRIC_COLUMNS",
    "Biopsy",
    "CellExport",
    "CellSettings",
    "CompartmentMap",
    "MetricPlan",
    "PhenotypeMap",
    "biopsy_from_export",
    "biopsy_metrics",
    "check_cell_cohort",
    "cohort_metrics",
    "detect_software",
    "exports_in_directory",
    "job_metrics",
    "paired_values",
    "patient_slides",
    "planned_features",
    "read_annotation_areas",
    "read_cell_export",
    "read_manifest",
    "read_metrics",
    "read_region_table",
    "simulate_cell_cohort",
    "slide_biopsy",
    "slide_cells",
    "slide_job",
    "slide_metrics",
    "usable_exports",
    "write_cell_cohort",
]
