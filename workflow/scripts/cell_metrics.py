"""Every biopsy's cell metrics in one table, in sample_id order: results/immune/cell_metrics.tsv."""

import pandas as pd

from tme.cells import METRIC_COLUMNS, read_metrics
from tme.io import write_tsv
from tme.workflow import run


def main(snakemake):
    tables = [read_metrics(path) for path in sorted(snakemake.input.slides)]
    metrics = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=METRIC_COLUMNS)
    write_tsv(metrics.sort_values("sample_id", kind="stable"), snakemake.output.metrics)


run(snakemake, main)
