"""Write results/provenance.json once every analysis output exists."""

import datetime as dt
from pathlib import Path

import pandas as pd

from tme.provenance import command_line, provenance, write_provenance
from tme.workflow import run


def main(snakemake):
    files = pd.read_csv(snakemake.input.files, sep="\t")
    # the run started when its first output (the input check) was written
    started = dt.datetime.fromtimestamp(Path(snakemake.input.files).stat().st_mtime, dt.UTC)
    record = provenance(
        snakemake.params.config,
        files,
        snakemake.params.workflow_dir,
        started,
        list(snakemake.input.outputs),
        command_line(),
    )
    write_provenance(record, snakemake.output[0])


run(snakemake, main)
