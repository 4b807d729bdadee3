# Provenance of the run: config, input checksums, software versions, git revision, seeds, times.


rule provenance:
    input:
        files="results/qc/input_files.tsv",
        outputs=analysis_targets(),
    output:
        "results/provenance.json",
    log:
        "logs/provenance.log",
    localrule: True
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    params:
        config=config,
        workflow_dir=workflow.basedir,
    script:
        "../scripts/provenance.py"
