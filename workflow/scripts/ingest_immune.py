"""Immune-cell table → long table on the analysis scale and the per-measure summary."""

from tme.config import Design
from tme.immune import read_immune
from tme.io import write_tsv
from tme.samplesheet import read_samplesheet
from tme.workflow import run


def main(snakemake):
    samples = read_samplesheet(snakemake.input.samples, Design(**snakemake.params.design))
    values, measures = read_immune(snakemake.params.settings, samples)
    write_tsv(values, snakemake.output.values)
    write_tsv(measures, snakemake.output.measures)


run(snakemake, main)
