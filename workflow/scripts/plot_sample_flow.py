"""CONSORT-style sample flow figure (tme.plots.flow)."""

from tme.plots import plot_sample_flow, save_figure
from tme.plots.data import read_table
from tme.workflow import run


def main(snakemake):
    design = snakemake.config["design"]
    flow = read_table(snakemake.input.flow)
    save_figure(plot_sample_flow(flow, [design["reference_arm"], design["treatment_arm"]]), snakemake.output.png)


run(snakemake, main)
