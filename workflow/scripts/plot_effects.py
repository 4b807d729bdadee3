"""Between-arm forest plot (primary ANCOVA) and heatmap of within-patient changes (tme.plots)."""

from tme.plots import plot_change_heatmap, plot_forest, save_figure
from tme.plots.data import feature_scales, feature_values, read_table, select_primary_features
from tme.workflow import run


def main(snakemake):
    d = snakemake.config["design"]
    arms = [d["reference_arm"], d["treatment_arm"]]
    effects = read_table(snakemake.input.effects)
    scores = read_table(snakemake.input.scores) if "scores" in snakemake.input.keys() else None
    immune = read_table(snakemake.input.immune) if "immune" in snakemake.input.keys() else None
    values = feature_values(scores, immune, effects["feature"])
    save_figure(plot_forest(effects, "ancova", arms, feature_scales(values)), snakemake.output.forest)
    features = select_primary_features(effects, values)
    save_figure(plot_change_heatmap(values, features, arms, d["pre"], d["post"]), snakemake.output.heatmap)


run(snakemake, main)
