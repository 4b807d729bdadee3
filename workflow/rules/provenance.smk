# Provenance of the run: config, input checksums, software versions, git revision, seeds, times.


rule provenance:
    input:
        files="results/qc/input_files.tsv",
        outputs=analysis_targets(),
    output:
        "results/provenance.json",
    params:
        config=config,
        workflow_dir=workflow.basedir,
    log:
        "logs/provenance.log",
    localrule: True
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../../envs/tme.yaml"
    script:
        "../scripts/provenance.py"
