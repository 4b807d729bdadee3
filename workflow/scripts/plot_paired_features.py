"""One paired figure per primary feature: spaghetti per arm + change by arm with the ANCOVA (tme.plots.paired).

Signature features go to ``output.signatures``, immune measures to ``output.immune``; file names
are sanitised feature names (the full name is in each figure's title and in the tables).
"""

import logging
from pathlib import Path

from tme.plots import plot_feature, save_figure
from tme.plots.data import feature_values, file_stems, primary_analysis, read_table, select_primary_features
from tme.workflow import run


def main(snakemake):
    d = snakemake.config["design"]
    arms = [d["reference_arm"], d["treatment_arm"]]
    effects = read_table(snakemake.input.effects)
    scores = read_table(snakemake.input.scores) if "scores" in snakemake.input.keys() else None
    immune = read_table(snakemake.input.immune) if "immune" in snakemake.input.keys() else None
    values = feature_values(scores, immune, effects["feature"])
    ancova = primary_analysis(effects, "ancova").set_index("feature")
    features = select_primary_features(effects, values)
    stems = file_stems(features)
    kinds = values.drop_duplicates("feature").set_index("feature")["feature_type"]
    for out in (snakemake.output.signatures, snakemake.output.immune):
        Path(out).mkdir(parents=True, exist_ok=True)
    for feature in features:
        out = snakemake.output.immune if kinds[feature] == "immune" else snakemake.output.signatures
        effect = ancova.loc[feature].to_dict() if feature in ancova.index else None
        fig = plot_feature(values, feature, arms, d["pre"], d["post"], effect)
        save_figure(fig, Path(out) / stems[feature])
        logging.info("plotted %s as %s", feature, stems[feature])


run(snakemake, main)
