# Figures (PNG for the report, PDF + SVG for papers; a series of pages as PNGs + one multi-page
# PDF): each rule runs a thin script calling tme.plots; captions in workflow/report/*.rst are Jinja
# templates reading the config. Snakemake's report prints each job's params on its figure pages and
# embeds them unescaped in a <script> block: params hold numbers only (no user string, no dict);
# scripts and captions read names from the config instead.
from tme.report.targets import statistics_table

# The per-feature statistics the figures annotate (between-arm effects; pooled changes if blinded).
REPORT_STATISTICS = statistics_table(config)
FIGURES = "results/figures"
# The confidence level of every interval a figure draws (a param: a new level redraws the figures).
CONF_LEVEL = config["statistics"]["confidence_level"]


rule plot_sample_flow:
    input:
        flow="results/tables/sample_flow.tsv",
    output:
        png=report(
            f"{FIGURES}/cohort/sample_flow.png",
            caption="../report/sample_flow.rst",
            category="Cohort & QC",
            subcategory="Figures",
            labels={"figure": "sample flow"},
        ),
        pdf=f"{FIGURES}/cohort/sample_flow.pdf",
        svg=f"{FIGURES}/cohort/sample_flow.svg",
    log:
        "logs/report/plot_sample_flow.log",
    localrule: True
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    script:
        "../scripts/plot_sample_flow.py"


rule plot_expression_qc:
    input:
        qc="results/qc/expression_qc.tsv",
        pca="results/qc/expression_pca.tsv",
    output:
        qc=report(
            f"{FIGURES}/cohort/expression_qc.png",
            caption="../report/expression_qc.rst",
            category="Cohort & QC",
            subcategory="Figures",
            labels={"figure": "expression QC"},
        ),
        pca=report(
            f"{FIGURES}/cohort/expression_pca.png",
            caption="../report/expression_pca.rst",
            category="Cohort & QC",
            subcategory="Figures",
            labels={"figure": "expression PCA"},
        ),
        other=multiext(f"{FIGURES}/cohort/expression_", "qc.pdf", "qc.svg", "pca.pdf", "pca.svg"),
    log:
        "logs/report/plot_expression_qc.log",
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    params:
        min_library_size=config["expression"]["min_library_size"] if has_counts(config.get("expression")) else None,
    script:
        "../scripts/plot_expression_qc.py"


rule plot_immune:
    input:
        immune="results/immune/immune_values.tsv",
    output:
        png=report(
            f"{FIGURES}/immune/immune_values.png",
            caption="../report/immune_values.rst",
            category="Immune cells",
            subcategory="Figures",
            labels={"figure": "immune cells pre/post"},
        ),
        other=multiext(f"{FIGURES}/immune/immune_values", ".pdf", ".svg"),
    log:
        "logs/report/plot_immune.log",
    localrule: True
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    script:
        "../scripts/plot_immune.py"


rule plot_agreement:
    input:
        scores="results/tables/signature_scores.tsv",
        immune="results/immune/immune_values.tsv",
    output:
        png=report(
            f"{FIGURES}/immune/agreement.png",
            caption="../report/agreement.rst",
            category="Immune cells",
            subcategory="Figures",
            labels={"figure": "expression vs measured cells"},
        ),
        other=multiext(f"{FIGURES}/immune/agreement", ".pdf", ".svg"),
    log:
        "logs/report/plot_agreement.log",
    localrule: True
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    script:
        "../scripts/plot_agreement.py"


rule plot_forest:
    input:
        effects="results/tables/effects_between_arms.tsv",
    output:
        pages=report(
            directory(f"{FIGURES}/effects/forest"),
            patterns=[r"{rank,\d+}_{family}_{page,\d+}.png"],
            caption="../report/forest.rst",
            category="Between-arm effects",
            subcategory="Forest plots by family",
            labels={"family": "{family}", "page": "{page}"},
        ),
        pdf=f"{FIGURES}/effects/forest.pdf",
    log:
        "logs/report/plot_forest.log",
    localrule: True
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    params:
        conf_level=CONF_LEVEL,
    script:
        "../scripts/plot_forest.py"


rule plot_change_heatmap:
    input:
        unpack(figure_value_tables),
        stats=REPORT_STATISTICS,
    output:
        heatmap=report(
            f"{FIGURES}/effects/change_heatmap.png",
            caption="../report/change_heatmap.rst",
            category="Between-arm effects",
            subcategory="Figures",
            labels={"figure": "heatmap of within-patient changes"},
        ),
        other=multiext(f"{FIGURES}/effects/change_heatmap", ".pdf", ".svg"),
    log:
        "logs/report/plot_change_heatmap.log",
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=lambda wc, attempt: 1500 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    script:
        "../scripts/plot_change_heatmap.py"


rule plot_paired_features:
    input:
        unpack(figure_value_tables),
        stats=REPORT_STATISTICS,
    output:
        signatures=report(
            directory(f"{FIGURES}/paired/signatures"),
            patterns=["{name}.png"],
            caption="../report/paired_feature.rst",
            category="Signatures",
            subcategory="Paired plots (primary panel)",
            labels={"feature": "{name}"},
        ),
        immune=report(
            directory(f"{FIGURES}/paired/immune"),
            patterns=["{name}.png"],
            caption="../report/paired_feature.rst",
            category="Immune cells",
            subcategory="Paired plots",
            labels={"feature": "{name}"},
        ),
        signatures_pdf=f"{FIGURES}/paired/signatures.pdf",
        immune_pdf=f"{FIGURES}/paired/immune.pdf",
    log:
        "logs/report/plot_paired_features.log",
    localrule: True
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    params:
        conf_level=CONF_LEVEL,
    script:
        "../scripts/plot_paired_features.py"


rule plot_genes:
    input:
        de="results/tables/de_interaction.tsv",
        gsea="results/tables/gsea_interaction.tsv",
    output:
        volcano=report(
            f"{FIGURES}/genes/volcano_interaction.png",
            caption="../report/volcano.rst",
            category="Genes & pathways",
            subcategory="Figures",
            labels={"figure": "volcano (interaction)"},
        ),
        gsea=report(
            f"{FIGURES}/genes/gsea_interaction.png",
            caption="../report/gsea.rst",
            category="Genes & pathways",
            subcategory="Figures",
            labels={"figure": "GSEA (interaction)"},
        ),
        other=multiext(
            f"{FIGURES}/genes/",
            "volcano_interaction.pdf",
            "volcano_interaction.svg",
            "gsea_interaction.pdf",
            "gsea_interaction.svg",
        ),
    log:
        "logs/report/plot_genes.log",
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=lambda wc, attempt: 1500 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    script:
        "../scripts/plot_genes.py"


rule plot_tipping_point:
    input:
        grid="results/tables/tipping_point_grid.tsv",
        sensitivity="results/tables/sensitivity.tsv",
    output:
        pages=report(
            directory(f"{FIGURES}/sensitivity/tipping_point"),
            patterns=[r"{rank,\d+}_{endpoint}.png"],
            caption="../report/tipping_point.rst",
            category="Between-arm effects",
            subcategory="Missing-post sensitivity",
            labels={"endpoint": "{endpoint}"},
        ),
        pdf=f"{FIGURES}/sensitivity/tipping_point.pdf",
    log:
        "logs/report/plot_tipping_point.log",
    localrule: True
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    params:
        conf_level=CONF_LEVEL,
    script:
        "../scripts/plot_tipping_point.py"


rule plot_residuals:
    input:
        residuals="results/tables/residuals.tsv",
        diagnostics="results/tables/residual_diagnostics.tsv",
    output:
        pages=report(
            directory(f"{FIGURES}/sensitivity/residuals"),
            patterns=[r"page_{page,\d+}.png"],
            caption="../report/residuals.rst",
            category="Between-arm effects",
            subcategory="Model checks",
            labels={"figure": "residual diagnostics", "page": "{page}"},
        ),
        pdf=f"{FIGURES}/sensitivity/residuals.pdf",
    log:
        "logs/report/plot_residuals.log",
    localrule: True
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    script:
        "../scripts/plot_residuals.py"
