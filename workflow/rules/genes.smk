# Gene level: tme's DESeq2 (tme.stats.de) between-arm interaction and within-arm paired designs, then pre-ranked GSEA
# of the interaction statistic over the signature library (Hallmarks included). A single-arm study has no interaction:
# its DE is the paired ~ patient + timepoint design of the arm, and its GSEA ranks genes by that within-arm statistic.


rule differential_expression:
    input:
        adata="results/expression/expression.h5ad",
    output:
        **differential_expression_tables(),
        rule_warnings=f"{WARNINGS}/differential_expression.tsv",
    log:
        "logs/genes/differential_expression.log",
    conda:
        "../../envs/tme.yaml"
    threads: 1  # a second thread saves 0.5 s and would stall the scoring → statistics → figures chain
    resources:
        mem_mb=lambda wc, input, attempt: (1000 + 10 * int(input.size_mb)) * attempt,
        runtime=lambda wc, attempt: 15 * attempt,
    params:
        design=design_params(),
    script:
        "../scripts/differential_expression.py"


rule gsea_interaction:
    input:
        de="results/tables/de_interaction.tsv",
        gene_sets=config["scoring"]["gene_sets"],
    output:
        gsea="results/tables/gsea_interaction.tsv",
        rule_warnings=f"{WARNINGS}/gsea_interaction.tsv",
    log:
        "logs/genes/gsea_interaction.log",
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=lambda wc, attempt: 30 * attempt,
    params:
        scoring=config["scoring"],
        permutations=config["statistics"]["gsea_permutations"],
        min_size=config["statistics"]["gsea_min_size"],
        seed=config["seed"],
    script:
        "../scripts/gsea_interaction.py"


# Single-arm study: the same GSEA of the arm's within-patient change (a rule of its own, so that two-arm runs keep
# rule gsea_interaction and its outputs unchanged). Concrete paths, no wildcard: collect_warnings finds its warnings.
use rule gsea_interaction as gsea_within_arm with:
    input:
        de=f"results/tables/de_within_{DESIGN.treatment_arm}.tsv",
        gene_sets=config["scoring"]["gene_sets"],
    output:
        gsea=f"results/tables/gsea_within_{DESIGN.treatment_arm}.tsv",
        rule_warnings=f"{WARNINGS}/gsea_within_{DESIGN.treatment_arm}.tsv",
    log:
        f"logs/genes/gsea_within_{DESIGN.treatment_arm}.log",
