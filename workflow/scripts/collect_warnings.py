"""Every warning that changed what was analysed, in one table (tme.report.caveats)."""

import pandas as pd

from tme.io import write_tsv
from tme.report.caveats import collect_warnings, mode_warnings
from tme.workflow import run


def main(snakemake):
    p = snakemake.params
    modes = mode_warnings(blinded=p.blinded, single_arm=p.single_arm, pseudonymised=p.pseudonymised)
    rules = snakemake.input.rules  # one table: a str
    table = collect_warnings(
        [rules] if isinstance(rules, str) else list(rules),
        modes,
        pd.read_csv(snakemake.input.flow, sep="\t"),
        pd.read_csv(snakemake.input.endpoint_flow, sep="\t"),
    )
    write_tsv(table, snakemake.output.warnings)


run(snakemake, main)
