# Ingest: expression matrix → harmonised AnnData, immune table → analysis scale, sample flow.


rule ingest_expression:
    input:
        samples=config["samples"],
        matrix=config["expression"]["path"] if config.get("expression") else [],
    output:
        adata="results/expression/expression.h5ad",
        unmapped="results/qc/unmapped_genes.tsv",
        qc="results/qc/expression_qc.tsv",
    params:
        settings=config.get("expression"),
        design=design_params(),
    log:
        "logs/ingest/expression.log",
    resources:
        mem_mb=lambda wc, input, attempt: (2000 + 40 * int(input.size_mb)) * attempt,
        runtime=lambda wc, attempt: 15 * attempt,
    script:
        "../scripts/ingest_expression.py"


rule ingest_immune:
    input:
        samples=config["samples"],
        table=config["immune"]["path"] if config.get("immune") else [],
    output:
        values="results/immune/immune_values.tsv",
        measures="results/qc/immune_measures.tsv",
    params:
        settings=config.get("immune"),
        design=design_params(),
    log:
        "logs/ingest/immune.log",
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    script:
        "../scripts/ingest_immune.py"


rule sample_flow:
    input:
        unpack(flow_inputs),
        samples=config["samples"],
    output:
        flow="results/tables/sample_flow.tsv",
    params:
        design=design_params(),
    log:
        "logs/ingest/sample_flow.log",
    localrule: True
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/sample_flow.py"
