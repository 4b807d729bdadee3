"""Assemble the features the paired statistics analyse, each with its type and family by type.

A feature is a signature scored with one method (``<signature>|<method>``), an immune-cell measure
on its analysis scale, the log2 expression of a gene an analysis-plan endpoint names
(``gene|<symbol>``), or a per-biopsy single-cell feature (``proportion|<cell type>``,
``score|<signature>|<cell type>``), or a per-biopsy metric of multiplex-IF cell exports
(``density|CD8+ T|stroma``, ``nn_distance_median|CD8+ T to tumour cell|total``, …; :mod:`tme.cells`).
The families here are by type — ``exploratory_signatures``, ``immune_measures``, ``genes``,
``single_cell``, and one per cell metric ``cells_<metric>`` (Benjamini–Hochberg within each, per analysis);
the analysis plan then moves its endpoints into the families of their roles
(:meth:`tme.plan.AnalysisPlan.feature_table`).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from tme.errors import TmeInputError

SEPARATOR = "|"
VALUE_COLUMNS = ["sample_id", "patient_id", "arm", "timepoint", "feature", "value"]
#: Signature features the ESTIMATE method adds (composites of its two signatures).
ESTIMATE_COMPOSITES = ("ESTIMATE_Score", "ESTIMATE_TumourPurity")
#: Scoring methods whose score is a mean of the genes' analysis values (so the expression's transform
#: applies to it: a difference in mean log2 expression back-transforms to a ratio of geometric means).
MEAN_OF_LOG_METHODS = ("mean", "mcpcounter", "cyt")
#: Immune transforms (tme.immune) as the back-transform names of tme.stats.effects.
IMMUNE_TRANSFORM = {"none": "none", "log1p": "log1p", "log2": "log2(x+1)", "logit": "logit"}


def _info(features: Iterable[str], feature_type: str, family: str, transform="none") -> pd.DataFrame:
    features = list(dict.fromkeys(features))
    return pd.DataFrame({"feature": features, "feature_type": feature_type, "family": family, "transform": transform})


def signature_features(scores: pd.DataFrame, expression_transform: str = "none") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(values, feature info) from the tidy score table; scores that are means of log expression take
    ``expression_transform`` (:func:`tme.expression.analysis_transform`), the others none."""
    values = scores.assign(feature=scores["signature"] + SEPARATOR + scores["method"], value=scores["score"])
    info = values.drop_duplicates("feature")
    transform = [expression_transform if m in MEAN_OF_LOG_METHODS else "none" for m in info["method"]]
    return values[VALUE_COLUMNS], _info(info["feature"], "signature", "exploratory_signatures", transform)


def immune_features(immune: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(values, feature info) from the immune table on its analysis scale."""
    values = immune.assign(feature=immune["measure"], value=immune["analysis_value"])[VALUE_COLUMNS]
    measures = immune.drop_duplicates("measure")
    transform = measures["transform"].map(IMMUNE_TRANSFORM).fillna("none").tolist() if "transform" in immune else "none"
    return values, _info(measures["measure"], "immune_measure", "immune_measures", transform)


def gene_features(adata, genes: Iterable[str], transform: str = "log2(x+1)") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(values, feature info): each gene's expression on the analysis scale (``adata.X``, log2)."""
    genes = list(genes)
    absent = [g for g in genes if g not in adata.var_names]
    if absent:
        raise TmeInputError(
            f"gene {absent[0]!r} (an analysis-plan endpoint) is not in the expression data",
            column="analysis_plan.endpoints",
            fix="use a current gene symbol the matrix measures",
        )
    x = np.asarray(adata[:, genes].X)
    obs = adata.obs[["patient_id", "arm", "timepoint"]].astype(str)
    frames = [
        obs.assign(sample_id=adata.obs_names, feature=f"gene{SEPARATOR}{g}", value=x[:, j]) for j, g in enumerate(genes)
    ]
    values = pd.concat(frames, ignore_index=True)[VALUE_COLUMNS] if frames else pd.DataFrame(columns=VALUE_COLUMNS)
    return values, _info(values["feature"], "gene", "genes", transform)


def singlecell_features(table: pd.DataFrame, samples: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(values, feature info) from the single-cell feature table, joined to the sheet's labels."""
    labels = samples[["sample_id", "patient_id", "arm", "timepoint"]].reset_index(drop=True)
    values = table.merge(labels, on="sample_id")[VALUE_COLUMNS]
    info = table[["feature", "feature_type"]].drop_duplicates().assign(family="single_cell")
    return values, info


def cell_features(metrics: pd.DataFrame, samples: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(values, feature info) from the cell-metric table (``results/immune/cell_metrics.tsv``), joined to
    the labels of the sheet (indexed by ``sample_id``) by :func:`tme.cells.paired_values` (``ripley_K`` is
    not analysed)."""
    from tme.cells.metrics import paired_values

    values, info = paired_values(metrics, samples)
    return values[VALUE_COLUMNS], info


def planned_signature_features(plan: Iterable[tuple[str, str]]) -> list[str]:
    """The signature feature names a scoring plan (``(signature, method)`` pairs) produces."""
    names = [f"{s}{SEPARATOR}{m}" for s, m in plan]
    if any(m == "estimate" for _, m in plan):
        names += [f"{c}{SEPARATOR}estimate" for c in ESTIMATE_COMPOSITES]
    return names
