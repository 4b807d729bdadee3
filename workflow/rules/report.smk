# The inputs of `snakemake --report`: result tables and the methods page. Include after every other
# stage (it reads their rules, e.g. provenance, and the figures of figures.smk).
from tme.report.targets import report_table_specs, report_targets

# The gene-level interaction (DE + GSEA) runs for count data with the switch on.
REPORT_GENE_LEVEL = (
    has_counts(config.get("expression")) and config["statistics"]["differential_expression"] and not DESIGN.single_arm
)
# Figures and the methods page for rule all: all_targets() in common.smk adds these.
REPORT_TARGETS = report_targets(config, REPORT_GENE_LEVEL)
# Every result table, flagged for the report as a downloadable TSV in its category.
REPORT_TABLES = {
    key: report(
        path,
        caption=f"../report/{caption}.rst",
        category=category,
        subcategory="Tables",
        labels={"table": os.path.basename(path)},
    )
    for key, (path, category, caption) in report_table_specs(config, REPORT_GENE_LEVEL).items()
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
