# Configuration, sample sheet and input functions. Validation runs when Snakemake reads the
# workflow, before any job: a bad config or sample sheet stops here with one message naming the
# file, line, column and the fix (the same checks as `tme validate`).
import os
import hashlib
import json
import sys

import tme
from snakemake.exceptions import WorkflowError
from tme.cells.cohort import cell_cohort, slide_job
from tme.config import single_cell_paths
from tme.errors import TmeInputError
from tme.expression import expression_paths, format_tables, has_counts
from tme.planning.run import FIGURE, planning_outputs
from tme.provenance import remember_run
from tme.run_features import feature_tables
from tme.report import statistics_table
from tme.workflow import check_workflow_config

# tme's validation reads the same JSON schemas as snakemake.utils.validate (workflow/schemas links
# to them) but turns violations into messages a user can act on.
try:
    validated, DESIGN, SAMPLES = check_workflow_config(config, workflow.configfiles)
    config.update(validated)
    # Multiplex-IF cell exports, one job per usable biopsy: listed now (manifest or directory) with the
    # region areas, each export checked in full by the first rule (tme.cells.check_cell_cohort).
    CELL_EXPORTS, CELL_AREAS = cell_cohort(config.get("cells"), SAMPLES)
except TmeInputError as error:
    raise WorkflowError(str(error)) from None

# The command line is provenance, not a rerun trigger (as a param it would rerun jobs whenever e.g.
# --cores changes): jobs inherit it through the environment, as they do tme's source tree, which
# envs/tme.post-deploy.sh installs into a conda environment.
remember_run(sys.argv, workflow.basedir)


#: Config keys that reading the sample sheet needs (design, blinding, IDs), for every job that reads it.
SHEET_KEYS = ("samples", "design", "blinded", "pseudonymise_ids", "pseudonymisation")


def config_part(*keys):
    """Only the config keys a rule uses (dotted paths, e.g. ``statistics.n_bootstrap``), as a nested
    dict for the rule's params: changing any other key does not rerun the rule."""
    part = {}
    for key in keys:
        *parents, last = key.split(".")
        source, target = config, part
        for name in parents:
            source = source.get(name) or {}
            target = target.setdefault(name, {})
        if last in source:
            target[last] = source[last]
    return part


def config_digest(*keys):
    """SHA-256 of :func:`config_part` for a rule whose script reads those keys from ``snakemake.config``
    (free text the report must not embed as a param): changing them reruns the rule, nothing else does."""
    return hashlib.sha256(json.dumps(config_part(*keys), sort_keys=True).encode()).hexdigest()


def design_params():
    """The design as a plain dict for scripts."""
    return {
        "reference_arm": DESIGN.reference_arm,
        "treatment_arm": DESIGN.treatment_arm,
        "pre": DESIGN.pre,
        "post": DESIGN.post,
        "blinded": DESIGN.blinded,
    }


def input_files(wildcards):
    """The user's input files, named, so that a changed input reruns what depends on it."""
    files = {"samples": config["samples"]}
    if config.get("expression"):
        files["expression"] = expression_paths(config["expression"])  # a matrix, or every RCC file
    if config.get("immune"):
        files["immune"] = config["immune"]["path"]
    if config.get("single_cell"):
        files["single_cell"] = single_cell_paths(config)
    return files


def cell_input_files(wildcards):
    """The cells section's files (manifest, region table, every usable biopsy's export and annotation
    file), for the first rule, which checks them all."""
    if not config.get("cells"):
        return {}
    section = config["cells"]
    files = {key: section[key] for key in ("manifest", "regions") if section.get(key)}
    files["cell_exports"] = list(CELL_EXPORTS["file"])
    if "annotation_file" in CELL_EXPORTS:
        files["cell_annotations"] = [f for f in CELL_EXPORTS["annotation_file"] if f]
    return files


def cell_slide_job(wildcards):
    """One biopsy's manifest row and region areas (tme.cells.slide_job)."""
    return slide_job(CELL_EXPORTS, CELL_AREAS, wildcards.sample)


def cell_slide_inputs(wildcards):
    """One biopsy's export and annotation file (the manifest row and areas are the job's params)."""
    entry = cell_slide_job(wildcards)["entry"]
    files = {"export": entry["file"]}
    if entry.get("annotation_file"):
        files["annotation"] = entry["annotation_file"]
    return files


def cell_figure_inputs(wildcards):
    """The cell-metric table, the statistics the figures annotate, and the files that say where each
    slide's export is (the figure reads the representative patient's two exports itself)."""
    section = config["cells"]
    files = {key: section[key] for key in ("manifest", "regions") if section.get(key)}
    return {**files, "metrics": "results/immune/cell_metrics.tsv", "stats": statistics_table(config)}


def cell_slide_mb():
    """Size (MB) of the largest cell export: the memory a job holding one slide plans for."""
    if CELL_EXPORTS is None:
        return 0.0
    return max((os.path.getsize(f) / 1e6 for f in CELL_EXPORTS["file"]), default=0.0)


def cell_exports_mb():
    """Total size (MB) of the cell exports and their annotation files."""
    if CELL_EXPORTS is None:
        return 0.0
    files = cell_input_files(None)
    return sum(os.path.getsize(f) for f in files["cell_exports"] + files.get("cell_annotations", [])) / 1e6


def sample_flow_mem_mb(wildcards, input, attempt):
    """The first rule holds the expression matrix whole (~40 x its file) but one cell export at a time."""
    return int(2000 + 40 * (input.size_mb - cell_exports_mb()) + 3 * cell_slide_mb()) * attempt


def sample_flow_runtime(wildcards, attempt):
    """Minutes: 15, plus 1 per GB of cell exports (each one is read and checked in full)."""
    return int(15 + cell_exports_mb() / 1000) * attempt


def expression_tables():
    """The expression format's own QC tables (e.g. the nCounter QC of RCC files), by name."""
    return {name: f"results/qc/{name}.tsv" for name in format_tables(config.get("expression"))}


def figure_value_tables(wildcards):
    """The per-sample feature tables a figure reads values or scales from."""
    tables = {}
    if config.get("expression"):
        tables["scores"] = "results/tables/signature_scores.tsv"
    if config.get("immune"):
        tables["immune"] = "results/immune/immune_values.tsv"
    return tables


def statistics_inputs(wildcards):
    """Feature tables the paired statistics analyse (tme.run_features), and the plan's patients sheet."""
    inputs = {name: str(path) for name, path in feature_tables(config).items()}
    plan = config["analysis_plan"]
    if plan["patients"]:
        inputs["patients"] = plan["patients"]["path"]
    return inputs


#: Per-rule tables of the warnings that change what was analysed (tme.workflow.run), gathered into
#: results/qc/warnings.tsv by rule collect_warnings.
WARNINGS = "results/qc/warnings"
#: Patients per feature and arm from randomised to analysed (tme.flow.endpoint_flow).
ENDPOINT_FLOW = "results/tables/endpoint_flow.tsv"


def statistics_outputs():
    """The paired statistics' tables: within-arm changes, and between-arm effects unless single-arm."""
    outputs = {"within": "results/tables/changes_within_arm.tsv", "endpoint_flow": ENDPOINT_FLOW}
    if not DESIGN.single_arm:
        outputs["between"] = "results/tables/effects_between_arms.tsv"
        outputs["sensitivity"] = "results/tables/sensitivity.tsv"
        outputs["tipping_grid"] = "results/tables/tipping_point_grid.tsv"
        outputs["diagnostics"] = "results/tables/residual_diagnostics.tsv"
        outputs["residuals"] = "results/tables/residuals.tsv"
    return outputs


def differential_expression_tables():
    """Tables of the DE rule, the between-arm interaction (unless single-arm) and
    each arm's within-patient change."""
    tables = {} if DESIGN.single_arm else {"interaction": "results/tables/de_interaction.tsv"}
    tables["within"] = expand("results/tables/de_within_{arm}.tsv", arm=DESIGN.arms)
    return tables


def gene_level_tables():
    """DESeq2 and pre-ranked GSEA tables: of the interaction, or of the one arm's change in a single-arm study."""
    if DESIGN.single_arm:
        return [f"results/tables/{kind}_within_{DESIGN.treatment_arm}.tsv" for kind in ("de", "gsea")]
    return ["results/tables/de_interaction.tsv", "results/tables/gsea_interaction.tsv"]


def analysis_targets():
    """Every analysis output the config switches on."""
    targets = ["results/tables/sample_flow.tsv", "results/qc/input_files.tsv"]
    if config["blinded"]:  # nothing arm-wise: pooled changes only
        targets += ["results/tables/changes_pooled.tsv", ENDPOINT_FLOW]
    else:
        targets += list(statistics_outputs().values())
    if config.get("expression"):
        targets += [
            "results/expression/expression.h5ad",
            "results/qc/unmapped_genes.tsv",
            "results/tables/signature_scores.tsv",
            "results/qc/signature_coverage.tsv",
            *expression_tables().values(),
        ]
        if (
            has_counts(config["expression"])
            and config["statistics"]["differential_expression"]
            and not config["blinded"]
        ):
            targets += gene_level_tables()
    if config.get("immune"):
        targets += ["results/immune/immune_values.tsv", "results/qc/immune_measures.tsv"]
    if config.get("cells"):
        targets += ["results/immune/cell_metrics.tsv"]
    if config.get("single_cell"):
        targets += ["results/tables/singlecell_features.tsv", "results/singlecell/pseudobulk_counts.tsv.gz"]
    if config.get("planning"):  # the next trial (blinded: the blinded sample-size re-estimation only)
        targets += list(planning_outputs(config["blinded"]).values())
    return targets


def warning_tables(wildcards=None):
    """The warnings tables of the rules this run executes: those with an output among the targets."""
    needed = set(analysis_targets())
    return sorted(
        job.output.rule_warnings
        for job in workflow.rules
        if "rule_warnings" in job.output.keys() and needed & set(map(str, job.output))
    )


def planning_figures():
    """The power curves of an unblinded run's planning (rule plot_planning)."""
    if not config.get("planning") or config["blinded"]:
        return []
    return [f"results/{FIGURE}{ext}" for ext in (".png", ".pdf", ".svg")]


def all_targets():
    """The analysis outputs, the planning's figure, the run's provenance record and the report's figures and pages."""
    return (
        analysis_targets()
        + planning_figures()
        + ["results/provenance.json"]
        + REPORT_TARGETS
        + NANOSTRING_FIGURES
        + CELL_FIGURES
    )
