"""Between-arm forest plot of the primary ANCOVA, one panel per FDR family × scale (tme.plots.forest)."""

from tme.config import Design
from tme.plots import plot_forest, save_figure
from tme.plots.data import feature_scales, feature_values, read_table
from tme.workflow import run


def main(snakemake):
    arms = list(Design.from_config(snakemake.config).arms)  # design from the config, never from params
    effects = read_table(snakemake.input.effects)
    scores = read_table(snakemake.input.scores) if "scores" in snakemake.input.keys() else None
    immune = read_table(snakemake.input.immune) if "immune" in snakemake.input.keys() else None
    values = feature_values(scores, immune, effects["feature"])
    save_figure(plot_forest(effects, "ancova", arms, feature_scales(values)), snakemake.output.forest)


run(snakemake, main)
