# Figures (PNG for the report, PDF + SVG for papers): each rule runs a thin script calling one
# tme.plots function; captions in workflow/report/*.rst are Jinja templates reading the config.
from tme.report.targets import caption_counts, statistics_table

# Per arm role (reference / treatment), from the sample sheet: patients randomised, rows at pre and
# at post, for the captions. Params hold numbers only: Snakemake's report embeds job params and
# wildcards unescaped in a <script> block, so no user string (arm, signature, path) may go there;
# scripts and captions read names from the config instead.
REPORT_COUNTS = caption_counts(SAMPLES, DESIGN.reference_arm, DESIGN.treatment_arm, DESIGN.pre, DESIGN.post)
# The per-feature statistics the figures annotate (between-arm effects; pooled changes if blinded).
REPORT_STATISTICS = statistics_table(config)
FIGURES = "results/figures"


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
    params:
        counts=REPORT_COUNTS,
    script:
        "../scripts/plot_sample_flow.py"


rule plot_expression_qc:
    input:
        qc="results/qc/expression_qc.tsv",
        adata="results/expression/expression.h5ad",
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
        mem_mb=lambda wc, input, attempt: (1500 + 10 * int(input.size_mb)) * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    params:
        counts=REPORT_COUNTS,
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
    params:
        counts=REPORT_COUNTS,
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
    params:
        counts=REPORT_COUNTS,
    script:
        "../scripts/plot_agreement.py"


rule plot_forest:
    input:
        unpack(statistics_inputs),
        effects="results/tables/effects_between_arms.tsv",
    output:
        forest=report(
            f"{FIGURES}/effects/forest_ancova.png",
            caption="../report/forest.rst",
            category="Between-arm effects",
            subcategory="Figures",
            labels={"figure": "forest plot (ANCOVA)"},
        ),
        other=multiext(f"{FIGURES}/effects/forest_ancova", ".pdf", ".svg"),
    log:
        "logs/report/plot_forest.log",
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=lambda wc, attempt: 1500 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    params:
        counts=REPORT_COUNTS,
    script:
        "../scripts/plot_forest.py"


rule plot_change_heatmap:
    input:
        unpack(statistics_inputs),
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
    params:
        counts=REPORT_COUNTS,
    script:
        "../scripts/plot_change_heatmap.py"


rule plot_paired_features:
    input:
        unpack(statistics_inputs),
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
    log:
        "logs/report/plot_paired_features.log",
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=lambda wc, attempt: 1500 * attempt,
        runtime=lambda wc, attempt: 20 * attempt,
    params:
        counts=REPORT_COUNTS,
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
    params:
        counts=REPORT_COUNTS,
    script:
        "../scripts/plot_genes.py"
