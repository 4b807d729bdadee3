# Multiplex-IF cell exports (config section cells): one job per biopsy computes its metrics
# (tme.cells.slide_metrics; SLURM spreads slides over nodes, memory bounded by one slide), a gather
# step writes results/immune/cell_metrics.tsv, which the paired statistics read as features of the
# families cells_<metric>; the report's "Cells & space" figures.
CELL_FIGURES = (
    ["results/figures/cells/cell_metrics.png", "results/figures/cells/slide_pair.png"] if config.get("cells") else []
)


# The sample flow is an input so that every export is checked before any metric is written. A changed
# export reruns the checks and so every slide's job: Snakemake does not evaluate a job downstream of
# a rerun job for its own changed inputs, so an ancient() flow would leave the changed slide stale.
rule cell_metrics_slide:
    input:
        unpack(cell_slide_inputs),
        flow="results/tables/sample_flow.tsv",
    output:
        metrics="results/immune/cell_metrics/{sample}.tsv",
    log:
        "logs/cells/{sample}.log",
    benchmark:
        "logs/cells/{sample}.benchmark.tsv"
    wildcard_constraints:
        sample="[A-Za-z0-9._-]+",
    conda:
        "../../envs/tme.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, input, attempt: int(1000 + 3 * input.size_mb) * attempt,
        runtime=lambda wc, input, attempt: int(10 + input.size_mb / 100) * attempt,
    params:
        config=config_part("cells"),
        slide=cell_slide_job,
    script:
        "../scripts/cell_metrics_slide.py"


rule cell_metrics:
    input:
        slides=expand(
            "results/immune/cell_metrics/{sample}.tsv",
            sample=CELL_EXPORTS["sample_id"] if config.get("cells") else [],
        ),
        flow="results/tables/sample_flow.tsv",
    output:
        metrics="results/immune/cell_metrics.tsv",
    log:
        "logs/cells/cell_metrics.log",
    localrule: True
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=lambda wc, input, attempt: int(1000 + 5 * input.size_mb) * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    script:
        "../scripts/cell_metrics.py"


rule plot_cells:
    input:
        unpack(cell_figure_inputs),
    output:
        metrics=report(
            "results/figures/cells/cell_metrics.png",
            caption="../report/cell_metrics.rst",
            category="Cells & space",
            subcategory="Figures",
            labels={"figure": "cell metrics pre/post"},
        ),
        slides=report(
            "results/figures/cells/slide_pair.png",
            caption="../report/slide_pair.rst",
            category="Cells & space",
            subcategory="Figures",
            labels={"figure": "representative slide pair"},
        ),
        other=multiext(
            "results/figures/cells/",
            "cell_metrics.pdf",
            "cell_metrics.svg",
            "slide_pair.pdf",
            "slide_pair.svg",
        ),
    log:
        "logs/report/plot_cells.log",
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=lambda wc, attempt: int(1500 + 6 * cell_slide_mb()) * attempt,
        runtime=lambda wc, attempt: 15 * attempt,
    script:
        "../scripts/plot_cells.py"
