# Signature scores per sample (library + user gene sets) and their gene coverage.


rule score_signatures:
    input:
        adata="results/expression/expression.h5ad",
        gene_sets=config["scoring"]["gene_sets"],
    output:
        scores="results/tables/signature_scores.tsv",
        coverage="results/qc/signature_coverage.tsv",
    params:
        settings=config["scoring"],
    threads: 2
    log:
        "logs/scoring/score_signatures.log",
    resources:
        mem_mb=lambda wc, input, attempt: (2000 + 4 * int(input.size_mb)) * attempt,
        runtime=lambda wc, attempt: 30 * attempt,
    conda:
        "../../envs/tme.yaml"
    script:
        "../scripts/score_signatures.py"
