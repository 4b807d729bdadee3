"""Check every input, write the sample flow per arm and modality and the input files' checksums."""

from tme.inputs import check_inputs
from tme.io import write_tsv
from tme.workflow import run


def main(snakemake):
    flow, files = check_inputs(snakemake.params.config)
    write_tsv(files, snakemake.output.files)
    write_tsv(flow, snakemake.output.flow)


run(snakemake, main)
