"""Assemble the features the paired statistics analyse, each with its FDR family.

A feature is a signature scored with one method (``<signature>|<method>``) or an immune-cell
measure on its analysis scale. Families (Benjamini–Hochberg within each, per analysis):

``primary``
    the pre-specified primary panel, each signature with its primary method only;
``exploratory_signatures``
    every other signature × method (ESTIMATE composites included);
``immune_measures``
    every immune-cell measure (densities, sTILs, fractions);
``single_cell``
    per-biopsy single-cell features: cell-type proportions (``proportion|<type>``, fraction of the
    biopsy's cells, analysed as is) and mean per-cell scores (``score|<signature>|<type>``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping

import pandas as pd

from tme.errors import TmeInputError, TmeInputWarning
from tme.geneset import Signature
from tme.signatures import default_methods, primary_panel

FAMILIES = ("primary", "exploratory_signatures", "immune_measures", "single_cell")
SEPARATOR = "|"
VALUE_COLUMNS = ["sample_id", "patient_id", "arm", "timepoint", "feature", "value"]


def resolve_panel(setting: str | Iterable[str], signatures: Mapping[str, Signature]) -> list[str]:
    """The primary panel's signature names.

    ``library`` = tme's OZM-034 panel, restricted to the collections scored (a warning names the
    members left out); an explicit list must name scored signatures only.
    """
    if setting == "library":
        panel = primary_panel()
        left_out = [name for name in panel if name not in signatures]
        if left_out:
            warnings.warn(
                f"primary panel members not scored (their collection is not in scoring.collections): "
                f"{', '.join(left_out)}",
                TmeInputWarning,
                stacklevel=2,
            )
        return [name for name in panel if name in signatures]
    panel = list(setting)
    unknown = [name for name in panel if name not in signatures]
    if unknown:
        raise TmeInputError(
            f"config key 'statistics.primary_panel' names {unknown[0]!r}, which is not among the scored signatures",
            fix="use signature names from the library or your gene-set files, and keep their collection in "
            "scoring.collections",
        )
    return panel


def signature_features(
    scores: pd.DataFrame, signatures: Mapping[str, Signature], panel: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(values, feature info) from the tidy score table."""
    values = scores.assign(feature=scores["signature"] + SEPARATOR + scores["method"], value=scores["score"])[
        VALUE_COLUMNS
    ]
    pairs = scores[["signature", "method"]].drop_duplicates()
    primary = {(name, default_methods(signatures[name])[0]) for name in panel}
    info = pd.DataFrame(
        {
            "feature": pairs["signature"] + SEPARATOR + pairs["method"],
            "feature_type": "signature",
            "family": [
                "primary" if (s, m) in primary else "exploratory_signatures"
                for s, m in zip(pairs["signature"], pairs["method"])
            ],
        }
    )
    return values, info


def immune_features(immune: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(values, feature info) from the immune table on its analysis scale."""
    values = immune.assign(feature=immune["measure"], value=immune["analysis_value"])[VALUE_COLUMNS]
    info = pd.DataFrame(
        {"feature": immune["measure"].unique(), "feature_type": "immune_measure", "family": "immune_measures"}
    )
    return values, info


def singlecell_features(table: pd.DataFrame, samples: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(values, feature info) from the single-cell feature table, joined to the sheet's labels."""
    labels = samples[["sample_id", "patient_id", "arm", "timepoint"]].reset_index(drop=True)
    values = table.merge(labels, on="sample_id")[VALUE_COLUMNS]
    info = table[["feature", "feature_type"]].drop_duplicates().assign(family="single_cell")
    return values, info


def with_covariates(values: pd.DataFrame, samples: pd.DataFrame, covariates: Iterable[str]) -> pd.DataFrame:
    """Attach the configured sample-sheet covariates to each value (by sample)."""
    covariates = list(covariates)
    missing = [c for c in covariates if c not in samples.columns]
    if missing:
        raise TmeInputError(
            f"covariate {missing[0]!r} is not a column of the sample sheet",
            file=samples.attrs.get("path"),
            line=1,
            fix="add the column, or remove it from design.covariates",
        )
    return values.merge(samples[["sample_id", *covariates]].reset_index(drop=True), on="sample_id", how="left")
