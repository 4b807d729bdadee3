# Signature scores per sample (library + user gene sets) and their gene coverage.


rule score_signatures:
    input:
        adata="results/expression/expression.h5ad",
        gene_sets=config["scoring"]["gene_sets"],
    output:
        scores="results/tables/signature_scores.tsv",
        coverage="results/qc/signature_coverage.tsv",
        rule_warnings=f"{WARNINGS}/score_signatures.tsv",
    log:
        "logs/scoring/score_signatures.log",
    conda:
        "../../envs/tme.yaml"
    threads: 2
    resources:
        mem_mb=lambda wc, input, attempt: (2000 + 4 * int(input.size_mb)) * attempt,
        runtime=lambda wc, attempt: 30 * attempt,
    params:
        settings=config["scoring"],
    script:
        "../scripts/score_signatures.py"
