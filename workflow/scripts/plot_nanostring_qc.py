"""nCounter QC figure (tme.plots.nanostring) from results/qc/nanostring_qc.tsv."""

from tme.nanostring import nanostring_options
from tme.plots import save_figure
from tme.plots.data import read_table
from tme.plots.nanostring import plot_nanostring_qc
from tme.workflow import run


def main(snakemake):
    _, thresholds = nanostring_options(snakemake.config["expression"].get("nanostring") or {})  # never from params
    save_figure(plot_nanostring_qc(read_table(snakemake.input.qc), thresholds), snakemake.output.png)


run(snakemake, main)
