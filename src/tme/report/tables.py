"""Result tables as sortable, searchable, paginated HTML pages inside the report.

One self-contained page per report category (:func:`tables_page`): DataTables (datatables.net,
MIT), bundled offline by the ``itables`` package, renders each table from JSON embedded in the
page; the TSV itself stays in the report as a download. Numbers are shown to a readable precision
(:func:`display_values`: 4 significant digits, p-values 3) — the TSV keeps full precision.

Size: the report shows each page through a data URL, which Chromium caps at 2 MB, so the
DataTables bundle and each table's rows travel gzip-compressed and base64-encoded
(:func:`packed`) and are unpacked in the browser (``DecompressionStream``).

Safety: cells are rendered as text (``DataTable.render.text()``), headers are escaped in Python,
and the rows sit base64-encoded in a ``<script type="text/plain">`` block, so no value can close
the block or become markup. When a table is drawn the page posts
``{"tme_tables": {id: rows}}`` to its parent frame (the report's test reads it).
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from tme.config import Design
from tme.report.html import CSS, escape

#: Columns holding p-values or adjusted p-values (shown with 3 significant digits).
P_COLUMN = re.compile(r"^(p|pvalue|padj|p_adjusted|fdr|q|q_value|.*_p|p_.*)$", re.I)
PAGE_LENGTH = 25


def _always(config: Mapping[str, Any], gene_level: bool) -> bool:
    return True


def _compares_arms(config: Mapping[str, Any], gene_level: bool) -> bool:
    return not config.get("blinded") and (config.get("design") or {}).get("reference_arm", "") is not None


def _single_arm_gene_level(config: Mapping[str, Any], gene_level: bool) -> bool:
    return gene_level and not config.get("blinded") and not _compares_arms(config, gene_level)


@dataclass(frozen=True)
class ReportTable:
    """A result table of the report: its file (``{arm}``: the treatment arm, see :func:`report_tables`),
    report category, what a row is, and when a run has it (``shown(config, gene_level)``)."""

    key: str
    path: str
    category: str
    description: str
    shown: Callable[[Mapping[str, Any], bool], bool] = _always

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


#: Every result table the report shows, in page order within each category.
TABLES = (
    ReportTable(
        "flow",
        "results/tables/sample_flow.tsv",
        "Cohort & QC",
        "Sample flow per modality and arm: patients randomised, with a usable pre and post sample, paired; "
        "one row per excluded sample or missing biopsy with the reason.",
    ),
    ReportTable(
        "endpoint_flow",
        "results/tables/endpoint_flow.tsv",
        "Cohort & QC",
        "Patients per feature and arm: randomised, with a value before and after treatment, with both "
        "(paired), and in the primary analysis (analysed); every n in the figures and tables comes from here.",
    ),
    ReportTable(
        "expression_qc",
        "results/qc/expression_qc.tsv",
        "Cohort & QC",
        "Expression QC per sample: library size, detected genes, median log2 expression, exclusion reason.",
        lambda c, g: bool(c.get("expression")),
    ),
    ReportTable(
        "expression_pca",
        "results/qc/expression_pca.tsv",
        "Cohort & QC",
        "Expression PCA of the usable samples: scores on PC1 and PC2, the variance each explains and the "
        "number of most variable genes used (the values of the PCA figure).",
        lambda c, g: bool(c.get("expression")),
    ),
    ReportTable(
        "effects",
        "results/tables/effects_between_arms.tsv",
        "Between-arm effects",
        "Between-arm difference in within-patient change per feature, analysis and population (treatment − "
        "reference): estimate, CI, p, adjusted p with the plan's procedure, readable effects on the primary "
        "analysis rows; note explains NA rows.",
        _compares_arms,
    ),
    ReportTable(
        "sensitivity",
        "results/tables/sensitivity.tsv",
        "Between-arm effects",
        "Missing-data sensitivity analyses of the confirmatory endpoints: complete-case ANCOVA, HC3, cLDA, "
        "multiple imputation under MAR and the delta-adjusted tipping point.",
        _compares_arms,
    ),
    ReportTable(
        "tipping_grid",
        "results/tables/tipping_point_grid.tsv",
        "Between-arm effects",
        "Tipping-point grid: the between-arm effect when imputed post values of the treatment arm are "
        "shifted by delta.",
        _compares_arms,
    ),
    ReportTable(
        "diagnostics",
        "results/tables/residual_diagnostics.tsv",
        "Between-arm effects",
        "Residual diagnostics of the primary ANCOVA of each confirmatory endpoint: normality, equal "
        "variance, influential patients.",
        _compares_arms,
    ),
    ReportTable(
        "within",
        "results/tables/changes_within_arm.tsv",
        "Between-arm effects",
        "Within-arm changes per feature, arm and analysis (Wilcoxon signed-rank with the Hodges–Lehmann "
        "median change; paired t) with pre, post and change summaries (descriptive in a two-arm trial).",
        lambda c, g: not c.get("blinded"),
    ),
    ReportTable(
        "pooled",
        "results/tables/changes_pooled.tsv",
        "Between-arm effects",
        "Pooled within-patient changes of a blinded run (arm labels not read) per feature and analysis.",
        lambda c, g: bool(c.get("blinded")),
    ),
    ReportTable(
        "scores",
        "results/tables/signature_scores.tsv",
        "Signatures",
        "Signature scores per sample, signature and method, with the genes used and in the signature.",
        lambda c, g: bool(c.get("expression")),
    ),
    ReportTable(
        "coverage",
        "results/qc/signature_coverage.tsv",
        "Signatures",
        "Gene coverage per signature and method: genes in the signature, found in the data, missing.",
        lambda c, g: bool(c.get("expression")),
    ),
    ReportTable(
        "immune",
        "results/immune/immune_values.tsv",
        "Immune cells",
        "Immune measurements per sample: raw value with unit, and the analysis value (transform applied).",
        lambda c, g: bool(c.get("immune")),
    ),
    ReportTable(
        "cell_metrics",
        "results/immune/cell_metrics.tsv",
        "Cells & space",
        "Per biopsy, from the per-cell exports: densities per compartment, ratios, proportions and spatial "
        "metrics (nearest-tumour-cell distance, share within r, Ripley's L and K) with unit, cell counts, "
        "area, analysis value and a note for NA values.",
        lambda c, g: bool(c.get("cells")),
    ),
    ReportTable(
        "de",
        "results/tables/de_interaction.tsv",
        "Genes & pathways",
        "Gene-level arm × timepoint interaction (DESeq2's method, tme.stats.de): baseMean, log2 fold "
        "change, SE, Wald statistic, p, padj (Benjamini–Hochberg over genes).",
        lambda c, g: g and _compares_arms(c, g),
    ),
    ReportTable(
        "gsea",
        "results/tables/gsea_interaction.tsv",
        "Genes & pathways",
        "Pre-ranked GSEA of the interaction statistic: ES, NES, permutation p, q (Benjamini–Hochberg over "
        "gene sets), leading-edge genes.",
        lambda c, g: g and _compares_arms(c, g),
    ),
    ReportTable(
        "planning",
        "results/tables/planning.tsv",
        "Planning the next trial",
        "Per plan endpoint: nuisance parameters with bootstrap CIs (baseline SD, pre–post correlation, drift, "
        "missing-post rate), ANCOVA sample size per arm for the target effect, minimum detectable effect, "
        "simulated power with its Monte Carlo SE.",
        lambda c, g: bool(c.get("planning")) and not c.get("blinded"),
    ),
    ReportTable(
        "planning_grid",
        "results/tables/planning_power_grid.tsv",
        "Planning the next trial",
        "Power over the grid of patients per arm and effect sizes (analytic and simulated, Monte Carlo SE).",
        lambda c, g: bool(c.get("planning")) and not c.get("blinded"),
    ),
    ReportTable(
        "planning_pilot",
        "results/tables/planning_internal_pilot.tsv",
        "Planning the next trial",
        "Blinded sample-size re-estimation at an internal pilot: simulated type I error and power.",
        lambda c, g: bool(c.get("planning")) and not c.get("blinded"),
    ),
    ReportTable(
        "planning_blinded",
        "results/tables/planning_blinded.tsv",
        "Planning the next trial",
        "Blinded sample-size re-estimation from the pooled (arm-blind) variance of each endpoint.",
        lambda c, g: bool(c.get("planning")) and bool(c.get("blinded")),
    ),
    ReportTable(
        "de_within",
        "results/tables/de_within_{arm}.tsv",
        "Genes & pathways",
        "Gene-level within-patient change post vs pre of a single-arm study (DESeq2's paired ~ patient + "
        "timepoint design, tme.stats.de): baseMean, log2 fold change, SE, Wald statistic, p, padj "
        "(Benjamini–Hochberg over genes). Nothing is compared between arms.",
        _single_arm_gene_level,
    ),
    ReportTable(
        "gsea_within",
        "results/tables/gsea_within_{arm}.tsv",
        "Genes & pathways",
        "Pre-ranked GSEA of the within-arm Wald statistic of a single-arm study: ES, NES, permutation p, q "
        "(Benjamini–Hochberg over gene sets), leading-edge genes.",
        _single_arm_gene_level,
    ),
    ReportTable(
        "warnings",
        "results/qc/warnings.tsv",
        "Warnings",
        "Every warning that changed what was analysed: the run's mode, excluded samples and missing "
        "biopsies, endpoints that lost patients, and what each rule reported (low signature coverage, "
        "patients dropped from a model, fallbacks).",
    ),
    ReportTable(
        "inputs",
        "results/qc/input_files.tsv",
        "Methods",
        "Input files with SHA-256 checksums, sizes and a one-line summary of each.",
    ),
)


def report_tables(config: Mapping[str, Any], gene_level: bool) -> list[ReportTable]:
    """The tables a run with ``config`` writes (``gene_level``: whether DE + GSEA run: of the interaction,
    or of the one arm in a single-arm study), with ``{arm}`` in paths set to the treatment arm."""
    arm = Design.from_config(config).treatment_arm
    return [replace(t, path=t.path.format(arm=arm)) for t in TABLES if t.shown(config, gene_level)]


def category_slug(category: str) -> str:
    """A file name for a category's table page: ``Cohort & QC`` → ``cohort_qc``."""
    return re.sub(r"[^a-z0-9]+", "_", category.lower()).strip("_")


def _number(x: float, digits: int) -> str:
    if not np.isfinite(x):
        return "" if np.isnan(x) else ("Inf" if x > 0 else "-Inf")
    if abs(x) >= 10**digits:
        return f"{x:.0f}"
    return f"{x:.{digits}g}"


def display_values(frame: pd.DataFrame) -> list[list[str]]:
    """Rows of display strings: integers as integers, other numbers to 4 significant digits (p-value
    columns 3, very small p-values in scientific notation), missing values empty."""
    columns = []
    for name in frame.columns:
        values = frame[name]
        if pd.api.types.is_bool_dtype(values):
            columns.append(values.astype(str).tolist())
        elif pd.api.types.is_integer_dtype(values):
            columns.append(["" if pd.isna(v) else str(int(v)) for v in values])
        elif pd.api.types.is_float_dtype(values):
            digits = 3 if P_COLUMN.match(str(name)) else 4
            columns.append([_number(float(v), digits) for v in values.to_numpy(dtype=float, na_value=np.nan)])
        else:
            columns.append(["" if pd.isna(v) else str(v) for v in values])
    return [list(row) for row in zip(*columns)] if columns else []


def packed(data: bytes) -> str:
    """``data`` gzip-compressed (no timestamp: the same bytes every run) and base64-encoded: the
    report shows a page through a data URL, which browsers cap at 2 MB."""
    return base64.b64encode(gzip.compress(data, compresslevel=9, mtime=0)).decode()


def _section(table_id: str, table: ReportTable, frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in frame.columns)
    described = f"<p>{escape(table.description)}</p>" if table.description else ""
    return (
        f'<section><h2 id="{table_id}-title">{escape(table.name)}</h2>{described}'
        f'<p class="note">{len(frame):,} rows × {frame.shape[1]} columns · {escape(table.path)} (full precision in '
        "the TSV download next to this page)</p>"
        f'<table id="{table_id}" class="display compact" style="width:100%"><thead><tr>{head}</tr></thead></table>'
        f'<script type="text/plain" id="{table_id}-data">{packed(_json(display_values(frame)))}</script>'
        "</section>"
    )


def _json(rows: list[list[str]]) -> bytes:
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":")).encode()


@cache
def _bundle() -> tuple[str, str]:
    """DataTables' JavaScript module and stylesheet as shipped by itables, packed."""
    folder = resources.files("itables") / "html"
    return tuple(packed((folder / name).read_bytes()) for name in ("dt_bundle.js", "dt_bundle.css"))


#: Loads the bundled DataTables module (as itables does offline) and draws every table on the page.
INIT = """<script type="module">
async function unpack(id) {
  const bytes = Uint8Array.from(atob(document.getElementById(id).textContent), c => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).text();
}
const css = document.createElement("style");
css.textContent = await unpack("dt-css");
document.head.appendChild(css);
const url = URL.createObjectURL(new Blob([await unpack("dt-js")], {type: "application/javascript"}));
const {default: DataTable} = await import(url);
const rendered = {};
for (const table of document.querySelectorAll("table.display")) {
  const data = JSON.parse(await unpack(table.id + "-data"));
  const columns = [...table.querySelectorAll("th")].map(() => ({render: DataTable.render.text()}));
  const dt = new DataTable(table, {data, columns, pageLength: PAGE_LENGTH, deferRender: true, order: [],
                                   scrollX: true, autoWidth: false});
  rendered[table.id] = dt.rows().count();
}
document.body.dataset.tmeTables = JSON.stringify(rendered);
if (window.parent !== window) window.parent.postMessage({tme_tables: rendered}, "*");
</script>""".replace("PAGE_LENGTH", str(PAGE_LENGTH))

PAGE_CSS = (
    CSS.replace("max-width:1100px", "max-width:none") + "section{margin-bottom:2em}.dt-container{font-size:12.5px}"
)


def tables_page(title: str, tables: Sequence[tuple[ReportTable, pd.DataFrame]]) -> str:
    """One HTML page with every table of ``tables`` (in order), each sortable, searchable and paginated."""
    js, css = _bundle()
    sections = "".join(_section(f"table-{i + 1}", t, frame) for i, (t, frame) in enumerate(tables))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{PAGE_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>{sections}"
        f'<script type="text/plain" id="dt-js">{js}</script><script type="text/plain" id="dt-css">{css}</script>'
        f"{INIT}</body></html>\n"
    )
