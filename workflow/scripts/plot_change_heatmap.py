"""Heatmap of within-patient changes of the primary features, arms stacked (tme.plots.paired)."""

from tme.config import Design
from tme.plots.data import display_names, feature_values, read_table, select_primary_features
from tme.plots.paired import plot_change_heatmap
from tme.plots.style import save_figure
from tme.workflow import run


def main(snakemake):
    design = Design.from_config(snakemake.config)
    stats = read_table(snakemake.input.stats)  # between-arm effects, or pooled changes when blinded
    scores = read_table(snakemake.input.scores) if "scores" in snakemake.input.keys() else None
    immune = read_table(snakemake.input.immune) if "immune" in snakemake.input.keys() else None
    values = feature_values(scores, immune, stats["feature"])
    features = select_primary_features(stats, values)
    fig = plot_change_heatmap(values, features, list(design.arms), design.pre, design.post, names=display_names(stats))
    save_figure(fig, snakemake.output.heatmap)


run(snakemake, main)
