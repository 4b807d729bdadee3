# Single-cell biopsies: QC, per-cell signature scores (scanpy score_genes, fast path), per-biopsy
# features (cell-type proportions, mean scores per cell type) and pseudobulk counts.


rule singlecell_features:
    input:
        unpack(input_files),
        flow="results/tables/sample_flow.tsv",
    output:
        features="results/tables/singlecell_features.tsv",
        qc="results/qc/singlecell_qc.tsv",
        coverage="results/qc/singlecell_signature_coverage.tsv",
        pseudobulk="results/singlecell/pseudobulk_counts.tsv.gz",
        rule_warnings=f"{WARNINGS}/singlecell_features.tsv",
    log:
        "logs/singlecell/singlecell_features.log",
    conda:
        "../../envs/tme.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, input, attempt: (4000 + 3 * int(input.size_mb)) * attempt,
        runtime=lambda wc, attempt: 60 * attempt,
    params:
        config=config_part(*SHEET_KEYS, "single_cell", "scoring", "seed"),
    script:
        "../scripts/singlecell_features.py"
