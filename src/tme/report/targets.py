"""What the report shows, by config: figure targets, the statistics table figures annotate, result
tables and their report categories."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tme.report.tables import report_tables

FIGURES = "results/figures"


def compares_arms(config: Mapping[str, Any]) -> bool:
    """Whether a run compares arms: not blinded, and not a single-arm study (``design.reference_arm: null``)."""
    return not config.get("blinded") and (config.get("design") or {}).get("reference_arm", "usual_care") is not None


def report_targets(config: Mapping[str, Any], gene_level: bool) -> list[str]:
    """Figures and the methods page that ``rule all`` needs for the report, by config switches.

    ``gene_level``: whether the DE + GSEA interaction runs (count data and the switch on). A run that
    compares no arms (blinded, or single-arm) gets no between-arm figure (no forest plots, no
    sensitivity figures, no gene level).
    """
    blinded = not compares_arms(config)
    targets = [
        f"{FIGURES}/cohort/sample_flow.png",
        f"{FIGURES}/effects/change_heatmap.png",
        f"{FIGURES}/paired/signatures",
        f"{FIGURES}/paired/immune",
        "results/report/methods.html",
    ]
    if not blinded:
        targets += [
            f"{FIGURES}/effects/forest",
            f"{FIGURES}/effects/forest.pdf",
            f"{FIGURES}/sensitivity/tipping_point",
            f"{FIGURES}/sensitivity/residuals",
        ]
    if config.get("expression"):
        targets += [f"{FIGURES}/cohort/expression_qc.png", f"{FIGURES}/cohort/expression_pca.png"]
        if gene_level and not blinded:
            targets += [f"{FIGURES}/genes/volcano_interaction.png", f"{FIGURES}/genes/gsea_interaction.png"]
    if config.get("immune"):
        targets.append(f"{FIGURES}/immune/immune_values.png")
        if config.get("expression"):
            targets.append(f"{FIGURES}/immune/agreement.png")
    return targets


def statistics_table(config: Mapping[str, Any]) -> str:
    """The per-feature statistics table the figures annotate: between-arm effects; pooled changes when
    blinded; within-arm changes in a single-arm study."""
    if config.get("blinded"):
        return "results/tables/changes_pooled.tsv"
    return (
        "results/tables/effects_between_arms.tsv" if compares_arms(config) else "results/tables/changes_within_arm.tsv"
    )


def report_table_specs(config: Mapping[str, Any], gene_level: bool) -> dict[str, tuple[str, str]]:
    """Result tables attached to the report as TSV downloads: key → (path, report category)."""
    return {t.key: (t.path, t.category) for t in report_tables(config, gene_level)}
