"""Check every input, then write the pseudonymisation key and ID map (if configured), the sample flow
per arm and modality and the input files' checksums — nothing before every check has passed."""

from tme.inputs import check_inputs, write_checked_inputs
from tme.workflow import run


def main(snakemake):
    checked = check_inputs(snakemake.params.config)
    write_checked_inputs(checked, snakemake.params.config, snakemake.output.flow, snakemake.output.files)


run(snakemake, main)
