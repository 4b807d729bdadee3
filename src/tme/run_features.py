"""The features a run analyses, assembled from the tables its rules wrote.

The paired statistics (rule ``paired_statistics``), the planning of the next trial (rule ``planning``)
and ``tme power`` read one long table ``sample_id, patient_id, arm, timepoint, feature, value`` with
its feature information (``feature, feature_type, family, transform``; :mod:`tme.features`), built
here from the run's signature scores, immune values, cell metrics and single-cell features and, for the analysis
plan's ``gene|<symbol>`` endpoints, its expression matrix.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from tme.cells import read_metrics
from tme.errors import TmeInputError
from tme.expression import analysis_transform
from tme.features import cell_features, gene_features, immune_features, signature_features, singlecell_features
from tme.immune import rank_based_measures
from tme.plan import AnalysisPlan, gene_endpoints
from tme.signature_scores import feature_coverage

#: The run's tables the features come from, relative to its results directory.
RUN_TABLES = {
    "scores": "tables/signature_scores.tsv",
    "coverage": "qc/signature_coverage.tsv",
    "immune": "immune/immune_values.tsv",
    "cells": "immune/cell_metrics.tsv",
    "single_cell": "tables/singlecell_features.tsv",
    "expression": "expression/expression.h5ad",
}


def feature_tables(config: Mapping[str, Any], results: str | Path = "results") -> dict[str, Path]:
    """The tables of a run under ``results`` that hold the config's features (name → path), as
    ``workflow/rules/common.smk`` gives them to the paired statistics."""
    sections = {
        "scores": "expression",
        "coverage": "expression",
        "immune": "immune",
        "cells": "cells",
        "single_cell": "single_cell",
    }
    names = [name for name, section in sections.items() if config.get(section)]
    if gene_endpoints(AnalysisPlan.from_config(config)):
        names.append("expression")
    return {name: Path(results, RUN_TABLES[name]) for name in names}


def require_tables(tables: Mapping[str, Path]) -> None:
    """Refuse a run whose tables are absent (it has not finished, or ran elsewhere)."""
    for path in tables.values():
        if not Path(path).is_file():
            raise TmeInputError(
                "the finished run's table is absent",
                file=path,
                fix="run the workflow first (tme run --config ...), point --results at its results folder, "
                "or give a long table of values with --values",
            )


def assemble_features(
    config: Mapping[str, Any], tables: Mapping[str, str | Path], samples: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(values, feature info) from the run's ``tables`` (:func:`feature_tables`; names as in
    :data:`RUN_TABLES`) and the validated sample sheet (single-cell features take its labels)."""
    transform = analysis_transform(config.get("expression"))
    parts = []
    if "scores" in tables:
        values, info = signature_features(pd.read_csv(tables["scores"], sep="\t"), transform)
        if "coverage" in tables:  # genes found / in the signature, shown next to each result
            coverage = feature_coverage(pd.read_csv(tables["coverage"], sep="\t", keep_default_na=False))
            info = info.assign(coverage=info["feature"].map(coverage))
        parts.append((values, info))
    if "immune" in tables:
        immune = pd.read_csv(tables["immune"], sep="\t")
        values, info = immune_features(immune)
        parts.append((values, info.assign(rank_based=info["feature"].isin(rank_based_measures(immune)))))
    if "cells" in tables:
        parts.append(cell_features(read_metrics(tables["cells"]), samples))
    if "single_cell" in tables:
        parts.append(singlecell_features(pd.read_csv(tables["single_cell"], sep="\t"), samples))
    if "expression" in tables:
        import anndata as ad  # only runs with gene endpoints read the matrix

        genes = gene_endpoints(AnalysisPlan.from_config(config))
        parts.append(gene_features(ad.read_h5ad(tables["expression"]), genes, transform))
    values = pd.concat([v for v, _ in parts], ignore_index=True)
    info = pd.concat([i for _, i in parts], ignore_index=True)
    logging.info("%d features", info["feature"].nunique())
    return values, info
