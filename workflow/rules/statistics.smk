# Paired statistics: within-arm changes (descriptive) and the between-arm difference in change.


# One of the two writes endpoint_flow.tsv: the blinded run's rule never sees an arm.
if config["blinded"]:

    rule pooled_changes:
        input:
            unpack(statistics_inputs),
            samples=config["samples"],
        output:
            pooled="results/tables/changes_pooled.tsv",
            endpoint_flow=ENDPOINT_FLOW,
            rule_warnings=f"{WARNINGS}/pooled_changes.tsv",
        log:
            "logs/statistics/pooled_changes.log",
        conda:
            "../../envs/tme.yaml"
        resources:
            mem_mb=lambda wc, attempt: 2000 * attempt,
            runtime=lambda wc, attempt: 30 * attempt,
        params:
            config=config_part(*SHEET_KEYS, "scoring", "analysis_plan", "statistics.confidence_level"),
        script:
            "../scripts/paired_statistics.py"

else:

    rule paired_statistics:
        input:
            unpack(statistics_inputs),
            samples=config["samples"],
        output:
            **statistics_outputs(),
            rule_warnings=f"{WARNINGS}/paired_statistics.tsv",
        log:
            "logs/statistics/paired_statistics.log",
        conda:
            "../../envs/tme.yaml"
        resources:
            mem_mb=lambda wc, attempt: 2000 * attempt,
            runtime=lambda wc, attempt: 30 * attempt,
        params:
            config=config_part(
                *SHEET_KEYS,
                "scoring",
                "expression.format",
                "expression.scale",
                "analysis_plan",
                "statistics.n_bootstrap",
                "statistics.confidence_level",
                "seed",
            ),
        script:
            "../scripts/paired_statistics.py"
