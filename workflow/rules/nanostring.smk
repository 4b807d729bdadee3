# NanoString nCounter panels (expression.format: nanostring_rcc): the QC figure of the nCounter QC that
# ingest_expression writes (results/qc/nanostring_qc.tsv). Include after ingest.smk.
from tme.nanostring import nanostring_options

# The QC limits as numbers for the caption (params hold numbers only: Snakemake's report embeds them
# unescaped in a <script> block); the script rebuilds the same limits from the config.
NANOSTRING = config.get("expression") and config["expression"]["format"] == "nanostring_rcc"
NANOSTRING_QC = nanostring_options(config["expression"].get("nanostring") or {})[1] if NANOSTRING else None
NANOSTRING_FIGURES = ["results/figures/cohort/nanostring_qc.png"] if NANOSTRING else []


rule plot_nanostring_qc:
    input:
        qc="results/qc/nanostring_qc.tsv",
    output:
        png=report(
            "results/figures/cohort/nanostring_qc.png",
            caption="../report/nanostring_qc.rst",
            category="Cohort & QC",
            subcategory="Figures",
            labels={"figure": "nCounter QC"},
        ),
        other=multiext("results/figures/cohort/nanostring_qc", ".pdf", ".svg"),
    log:
        "logs/nanostring/plot_nanostring_qc.log",
    localrule: True
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    params:
        min_fov_ratio=NANOSTRING_QC.min_fov_ratio if NANOSTRING else None,
        binding_density=list(NANOSTRING_QC.binding_density_range) if NANOSTRING else None,
        min_positive_r2=NANOSTRING_QC.min_positive_r2 if NANOSTRING else None,
        positive_factor=list(NANOSTRING_QC.positive_factor) if NANOSTRING else None,
        housekeeping_factor=list(NANOSTRING_QC.housekeeping_factor) if NANOSTRING else None,
        max_housekeepers_below_background=(NANOSTRING_QC.max_housekeepers_below_background if NANOSTRING else None),
        background_sd=NANOSTRING_QC.background_sd if NANOSTRING else None,
    script:
        "../scripts/plot_nanostring_qc.py"
