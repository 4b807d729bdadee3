# The inputs of `snakemake --report`: result tables and the methods page. Include after every other
# stage (it reads their rules, e.g. provenance, and the figures of figures.smk).
from tme.report.caveats import print_warnings_line
from tme.report.tables import category_slug, report_tables
from tme.report.targets import compares_arms, report_table_specs, report_targets

# The gene level (DE + GSEA: the interaction, or a single-arm study's within-arm change) runs for count
# data with the switch on.
REPORT_GENE_LEVEL = has_counts(config.get("expression")) and config["statistics"]["differential_expression"]
# The compact forest of the key results (a between-arm figure: none when blinded or single-arm).
KEY_FOREST = (
    {
        "forest": "results/figures/key_results/forest.png",
        "forest_other": multiext("results/figures/key_results/forest", ".pdf", ".svg"),
    }
    if compares_arms(config)
    else {}
)
# Figures and the methods page for rule all: all_targets() in common.smk adds these.
REPORT_TARGETS = report_targets(config, REPORT_GENE_LEVEL)
# Every result table as a TSV download in its category (tme.report.tables.TABLES); the rendered,
# sortable pages come from rule report_tables.
REPORT_TABLES = {
    key: report(
        path,
        caption="../report/table_download.rst",
        category=category,
        subcategory="Tables",
        labels={"table": f"{os.path.basename(path)} (download)"},
    )
    for key, (path, category) in report_table_specs(config, REPORT_GENE_LEVEL).items()
}
REPORT_TABLES["provenance"] = "results/provenance.json"  # run times, command, git and package versions


rule report_methods:
    input:
        **REPORT_TABLES,
    output:
        html=report(
            "results/report/methods.html",
            caption="../report/methods.rst",
            category="Methods",
            subcategory="Methods and provenance",
            labels={"page": "methods and provenance"},
        ),
    log:
        "logs/report/report_methods.log",
    localrule: True
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    script:
        "../scripts/report_methods.py"


rule collect_warnings:
    input:
        rules=warning_tables,
        flow="results/tables/sample_flow.tsv",
        endpoint_flow=ENDPOINT_FLOW,
    output:
        warnings="results/qc/warnings.tsv",
    log:
        "logs/report/collect_warnings.log",
    localrule: True
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    params:
        blinded=DESIGN.blinded,
        single_arm=DESIGN.single_arm,
        pseudonymised=bool(config["pseudonymise_ids"]),
    script:
        "../scripts/collect_warnings.py"


# The first screen: workflow.rst includes results/report/key_results.html (tme.report.key_results).
rule key_results:
    input:
        stats=REPORT_STATISTICS,
        flow="results/tables/sample_flow.tsv",
        warnings="results/qc/warnings.tsv",
    output:
        **KEY_FOREST,
        landing="results/report/key_results.html",
        page=report(
            "results/report/key_results_page.html",
            caption="../report/key_results.rst",
            category="Key results",
            subcategory="Key results",
            labels={"page": "key results"},
        ),
        pdf=report(
            "results/key_results.pdf",
            caption="../report/key_results_pdf.rst",
            category="Key results",
            subcategory="Key results",
            labels={"page": "key results (PDF)"},
        ),
    log:
        "logs/report/key_results.log",
    localrule: True
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    params:
        # the script reads these from the config (free text stays out of the report's params)
        settings=config_digest("design", "analysis_plan", "statistics.confidence_level", "blinded"),
    script:
        "../scripts/key_results.py"


# Every result table as a sortable, searchable page, one page per report category.
rule report_tables:
    input:
        **{t.key: t.path for t in report_tables(config, REPORT_GENE_LEVEL)},
    output:
        **{
            category_slug(category): report(
                f"results/report/tables/{category_slug(category)}.html",
                caption="../report/table_page.rst",
                category=category,
                subcategory="Tables",
                labels={"table": "all tables of this section (sortable)"},
            )
            for category in dict.fromkeys(t.category for t in report_tables(config, REPORT_GENE_LEVEL))
        },
    log:
        "logs/report/report_tables.log",
    localrule: True
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=lambda wc, input, attempt: (1000 + 5 * int(input.size_mb)) * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    params:
        gene_level=REPORT_GENE_LEVEL,
    script:
        "../scripts/report_tables.py"


# rule all: the first screen, the PDF, the table pages and the warnings, besides the figures.
REPORT_TARGETS += [*rules.key_results.output, *rules.report_tables.output, *rules.collect_warnings.output]
