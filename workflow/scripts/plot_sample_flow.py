"""CONSORT-style sample flow figure (tme.plots.flow)."""

from tme.config import Design
from tme.plots import plot_sample_flow, save_figure
from tme.plots.data import read_table
from tme.workflow import run


def main(snakemake):
    arms = list(Design.from_config(snakemake.config).arms)  # from the config, never from params
    flow = read_table(snakemake.input.flow)
    save_figure(plot_sample_flow(flow, arms), snakemake.output.png)


run(snakemake, main)
