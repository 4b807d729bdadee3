"""One biopsy's cell metrics (tme.cells.job_metrics): results/immune/cell_metrics/<sample_id>.tsv."""

from tme.cells import CellSettings, job_metrics
from tme.io import write_tsv
from tme.workflow import run


def main(snakemake):
    settings = CellSettings.from_config(snakemake.params.config["cells"])
    write_tsv(job_metrics(snakemake.params.slide, settings), snakemake.output.metrics)


run(snakemake, main)
