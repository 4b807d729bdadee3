"""Within-arm changes and between-arm effects for every feature, as the analysis plan says
(tme.plan.apply); in a blinded run (rule pooled_changes) only the pooled pre → post change."""

from tme.inputs import read_sheet
from tme.io import write_tsv
from tme.plan.apply import analyse
from tme.run_features import assemble_features
from tme.workflow import run


def main(snakemake):
    config = snakemake.params.config
    samples = read_sheet(config)
    values, info = assemble_features(config, dict(snakemake.input.items()), samples)
    for name, table in analyse(config, values, info, samples).items():
        write_tsv(table, snakemake.output[name])


run(snakemake, main)
