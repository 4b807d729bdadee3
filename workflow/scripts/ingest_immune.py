"""Immune-cell table → long table on the analysis scale and the per-measure summary."""

from tme.immune import read_immune
from tme.inputs import read_sheet
from tme.io import write_tsv
from tme.workflow import run


def main(snakemake):
    samples = read_sheet(snakemake.params.config)
    values, measures = read_immune(snakemake.params.config["immune"], samples)
    write_tsv(values, snakemake.output.values)
    write_tsv(measures, snakemake.output.measures)


run(snakemake, main)
