# Gene level: tme's DESeq2 (tme.stats.de) between-arm interaction and within-arm paired designs, then pre-ranked GSEA
# of the interaction statistic over the signature library (Hallmarks included).


rule differential_expression:
    input:
        adata="results/expression/expression.h5ad",
    output:
        interaction="results/tables/de_interaction.tsv",
        within=expand("results/tables/de_within_{arm}.tsv", arm=DESIGN.arms),
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
