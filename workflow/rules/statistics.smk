# Paired statistics: within-arm changes (descriptive) and the between-arm difference in change.


rule paired_statistics:
    input:
        unpack(statistics_inputs),
        samples=config["samples"],
    output:
        within="results/tables/changes_within_arm.tsv",
        between="results/tables/effects_between_arms.tsv",
    params:
        config=config_part(*SHEET_KEYS, "scoring", "statistics.primary_panel", "statistics.n_bootstrap",
                           "statistics.confidence_level", "seed"),
    log:
        "logs/statistics/paired_statistics.log",
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=lambda wc, attempt: 30 * attempt,
    conda:
        "../../envs/tme.yaml"
    script:
        "../scripts/paired_statistics.py"


rule pooled_changes:
    input:
        unpack(statistics_inputs),
        samples=config["samples"],
    output:
        pooled="results/tables/changes_pooled.tsv",
    params:
        config=config_part(*SHEET_KEYS, "scoring", "statistics.primary_panel", "statistics.confidence_level"),
    log:
        "logs/statistics/pooled_changes.log",
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=lambda wc, attempt: 30 * attempt,
    conda:
        "../../envs/tme.yaml"
    script:
        "../scripts/paired_statistics.py"
