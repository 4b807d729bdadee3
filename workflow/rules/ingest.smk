# Ingest: check every input and write the sample flow first (every other rule depends on it, so bad
# input stops the run before anything is written), then the harmonised AnnData and immune table.


rule sample_flow:
    input:
        unpack(input_files),
        unpack(cell_input_files),
    output:
        flow="results/tables/sample_flow.tsv",
        files="results/qc/input_files.tsv",
        rule_warnings=f"{WARNINGS}/sample_flow.tsv",
    log:
        "logs/ingest/sample_flow.log",
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=sample_flow_mem_mb,
        runtime=sample_flow_runtime,
    params:
        config=config_part(*SHEET_KEYS, "expression", "immune", "single_cell", "cells", "scoring", "analysis_plan"),
    script:
        "../scripts/sample_flow.py"


rule ingest_expression:
    input:
        unpack(input_files),
        flow="results/tables/sample_flow.tsv",
    output:
        **expression_tables(),
        adata="results/expression/expression.h5ad",
        unmapped="results/qc/unmapped_genes.tsv",
        qc="results/qc/expression_qc.tsv",
        pca="results/qc/expression_pca.tsv",
        rule_warnings=f"{WARNINGS}/ingest_expression.tsv",
    log:
        "logs/ingest/expression.log",
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=lambda wc, input, attempt: (2000 + 40 * int(input.size_mb)) * attempt,
        runtime=lambda wc, attempt: 15 * attempt,
    params:
        config=config_part(*SHEET_KEYS, "expression"),
    script:
        "../scripts/ingest_expression.py"


rule ingest_immune:
    input:
        unpack(input_files),
        flow="results/tables/sample_flow.tsv",
    output:
        values="results/immune/immune_values.tsv",
        measures="results/qc/immune_measures.tsv",
        rule_warnings=f"{WARNINGS}/ingest_immune.tsv",
    log:
        "logs/ingest/immune.log",
    localrule: True
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    params:
        config=config_part(*SHEET_KEYS, "immune"),
    script:
        "../scripts/ingest_immune.py"
