# Figures (PNG for the report, PDF + SVG for papers) and the inputs of `snakemake --report`.
# Each figure rule: thin script → one tme.plots function; captions in workflow/report/*.rst are
# Jinja templates reading the rule's params (design and per-arm counts from the sample sheet, which
# are known before any job runs, so they never trigger reruns; usable/paired n are in the figures).
from tme.report import caption_counts

FIGURES = "results/figures"


def report_design():
    """Design as used by the figures and captions (arms, timepoints, covariates)."""
    return design_params()


def report_counts():
    """Per arm, from the sample sheet: patients randomised, rows at pre and at post."""
    return caption_counts(SAMPLES, DESIGN.arms, DESIGN.pre, DESIGN.post)


def gene_level_on():
    """Whether the gene-level interaction (DE + GSEA) runs: count data and the switch on."""
    return bool(config.get("expression")) and config["expression"]["format"] in COUNT_FORMATS \
        and config["statistics"]["differential_expression"]


def feature_inputs(wildcards):
    """Tables the per-feature figures read: the between-arm table and the per-sample values."""
    inputs = {"effects": "results/tables/effects_between_arms.tsv"}
    inputs.update(statistics_inputs(wildcards))
    return inputs


def report_tables(wildcards):
    """Every result table, flagged for the report (downloadable TSV) in its category."""
    def table(path, category, caption):
        return report(path, caption=f"../report/{caption}.rst", category=category, subcategory="Tables",
                      labels={"table": os.path.basename(path)})
    tables = {
        "flow": table("results/tables/sample_flow.tsv", "Cohort & QC", "table_sample_flow"),
        "inputs": table("results/qc/input_files.tsv", "Methods", "table_input_files"),
        "effects": table("results/tables/effects_between_arms.tsv", "Between-arm effects", "table_effects"),
        "within": table("results/tables/changes_within_arm.tsv", "Between-arm effects", "table_within"),
    }
    if config.get("expression"):
        tables["expression_qc"] = table("results/qc/expression_qc.tsv", "Cohort & QC", "table_expression_qc")
        tables["scores"] = table("results/tables/signature_scores.tsv", "Signatures", "table_scores")
        tables["coverage"] = table("results/qc/signature_coverage.tsv", "Signatures", "table_coverage")
    if config.get("immune"):
        tables["immune"] = table("results/immune/immune_values.tsv", "Immune cells", "table_immune")
    if gene_level_on():
        tables["de"] = table("results/tables/de_interaction.tsv", "Genes & pathways", "table_de")
        tables["gsea"] = table("results/tables/gsea_interaction.tsv", "Genes & pathways", "table_gsea")
    if hasattr(rules, "provenance"):  # run times, command, git and package versions of the run
        tables["provenance"] = rules.provenance.output[0]
    return tables


def report_targets():
    """Figures and the methods page for rule all (add to all_targets() in common.smk)."""
    targets = [f"{FIGURES}/cohort/sample_flow.png", f"{FIGURES}/effects/forest_ancova.png",
               f"{FIGURES}/effects/change_heatmap.png", f"{FIGURES}/paired/signatures",
               f"{FIGURES}/paired/immune", "results/report/methods.html"]
    if config.get("expression"):
        targets += [f"{FIGURES}/cohort/expression_qc.png", f"{FIGURES}/cohort/expression_pca.png"]
        if gene_level_on():
            targets += [f"{FIGURES}/genes/volcano_interaction.png", f"{FIGURES}/genes/gsea_interaction.png"]
    if config.get("immune"):
        targets += [f"{FIGURES}/immune/immune_values.png"]
        if config.get("expression"):
            targets += [f"{FIGURES}/immune/agreement.png"]
    return targets


rule plot_sample_flow:
    input:
        flow="results/tables/sample_flow.tsv",
    output:
        png=report(f"{FIGURES}/cohort/sample_flow.png", caption="../report/sample_flow.rst",
                   category="Cohort & QC", subcategory="Figures", labels={"figure": "sample flow"}),
        pdf=f"{FIGURES}/cohort/sample_flow.pdf",
        svg=f"{FIGURES}/cohort/sample_flow.svg",
    params:
        design=report_design(),
        counts=report_counts(),
    log:
        "logs/report/plot_sample_flow.log",
    localrule: True
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    conda:
        "../../envs/tme.yaml"
    script:
        "../scripts/plot_sample_flow.py"


rule plot_expression_qc:
    input:
        qc="results/qc/expression_qc.tsv",
        adata="results/expression/expression.h5ad",
    output:
        qc=report(f"{FIGURES}/cohort/expression_qc.png", caption="../report/expression_qc.rst",
                  category="Cohort & QC", subcategory="Figures", labels={"figure": "expression QC"}),
        pca=report(f"{FIGURES}/cohort/expression_pca.png", caption="../report/expression_pca.rst",
                   category="Cohort & QC", subcategory="Figures", labels={"figure": "expression PCA"}),
        other=multiext(f"{FIGURES}/cohort/expression_", "qc.pdf", "qc.svg", "pca.pdf", "pca.svg"),
    params:
        design=report_design(),
        counts=report_counts(),
        min_library_size=lookup(dpath="expression/min_library_size", within=config, default=None),
    log:
        "logs/report/plot_expression_qc.log",
    resources:
        mem_mb=lambda wc, input, attempt: (1500 + 10 * int(input.size_mb)) * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    conda:
        "../../envs/tme.yaml"
    script:
        "../scripts/plot_expression_qc.py"


rule plot_immune:
    input:
        immune="results/immune/immune_values.tsv",
    output:
        png=report(f"{FIGURES}/immune/immune_values.png", caption="../report/immune_values.rst",
                   category="Immune cells", subcategory="Figures", labels={"figure": "immune cells pre/post"}),
        other=multiext(f"{FIGURES}/immune/immune_values", ".pdf", ".svg"),
    params:
        design=report_design(),
        counts=report_counts(),
    log:
        "logs/report/plot_immune.log",
    localrule: True
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    conda:
        "../../envs/tme.yaml"
    script:
        "../scripts/plot_immune.py"


rule plot_agreement:
    input:
        scores="results/tables/signature_scores.tsv",
        immune="results/immune/immune_values.tsv",
    output:
        png=report(f"{FIGURES}/immune/agreement.png", caption="../report/agreement.rst",
                   category="Immune cells", subcategory="Figures", labels={"figure": "expression vs measured cells"}),
        other=multiext(f"{FIGURES}/immune/agreement", ".pdf", ".svg"),
    params:
        design=report_design(),
        counts=report_counts(),
    log:
        "logs/report/plot_agreement.log",
    localrule: True
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    conda:
        "../../envs/tme.yaml"
    script:
        "../scripts/plot_agreement.py"


rule plot_effects:
    input:
        unpack(feature_inputs),
    output:
        forest=report(f"{FIGURES}/effects/forest_ancova.png", caption="../report/forest.rst",
                      category="Between-arm effects", subcategory="Figures", labels={"figure": "forest plot (ANCOVA)"}),
        heatmap=report(f"{FIGURES}/effects/change_heatmap.png", caption="../report/change_heatmap.rst",
                       category="Between-arm effects", subcategory="Figures",
                       labels={"figure": "heatmap of within-patient changes"}),
        other=multiext(f"{FIGURES}/effects/", "forest_ancova.pdf", "forest_ancova.svg", "change_heatmap.pdf",
                       "change_heatmap.svg"),
    params:
        design=report_design(),
        counts=report_counts(),
    log:
        "logs/report/plot_effects.log",
    resources:
        mem_mb=lambda wc, attempt: 1500 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    conda:
        "../../envs/tme.yaml"
    script:
        "../scripts/plot_effects.py"


rule plot_paired_features:
    input:
        unpack(feature_inputs),
    output:
        signatures=report(directory(f"{FIGURES}/paired/signatures"), patterns=["{name}.png"],
                          caption="../report/paired_feature.rst", category="Signatures",
                          subcategory="Paired plots (primary panel)", labels={"feature": "{name}"}),
        immune=report(directory(f"{FIGURES}/paired/immune"), patterns=["{name}.png"],
                      caption="../report/paired_feature.rst", category="Immune cells",
                      subcategory="Paired plots", labels={"feature": "{name}"}),
    params:
        design=report_design(),
        counts=report_counts(),
    log:
        "logs/report/plot_paired_features.log",
    resources:
        mem_mb=lambda wc, attempt: 1500 * attempt,
        runtime=lambda wc, attempt: 20 * attempt,
    conda:
        "../../envs/tme.yaml"
    script:
        "../scripts/plot_paired_features.py"


rule plot_genes:
    input:
        de="results/tables/de_interaction.tsv",
        gsea="results/tables/gsea_interaction.tsv",
    output:
        volcano=report(f"{FIGURES}/genes/volcano_interaction.png", caption="../report/volcano.rst",
                       category="Genes & pathways", subcategory="Figures", labels={"figure": "volcano (interaction)"}),
        gsea=report(f"{FIGURES}/genes/gsea_interaction.png", caption="../report/gsea.rst",
                    category="Genes & pathways", subcategory="Figures", labels={"figure": "GSEA (interaction)"}),
        other=multiext(f"{FIGURES}/genes/", "volcano_interaction.pdf", "volcano_interaction.svg",
                       "gsea_interaction.pdf", "gsea_interaction.svg"),
    params:
        design=report_design(),
        counts=report_counts(),
    log:
        "logs/report/plot_genes.log",
    resources:
        mem_mb=lambda wc, attempt: 1500 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    conda:
        "../../envs/tme.yaml"
    script:
        "../scripts/plot_genes.py"


rule report_methods:
    input:
        unpack(report_tables),
    output:
        html=report("results/report/methods.html", caption="../report/methods.rst", category="Methods",
                    subcategory="Methods and provenance", labels={"page": "methods and provenance"}),
    params:
        config=config,
        design=report_design(),
        repository=workflow.basedir,
    log:
        "logs/report/report_methods.log",
    localrule: True
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    conda:
        "../../envs/tme.yaml"
    script:
        "../scripts/report_methods.py"
