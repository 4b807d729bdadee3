"""One paired figure per primary feature: spaghetti per arm + change by arm with the ANCOVA (tme.plots.paired).

Signature features go to ``output.signatures``, immune measures to ``output.immune``; file names
are sanitised feature names (the full name is in each figure's title and in the tables). In a
blinded run the title carries the pooled change (Hodges–Lehmann) instead of the ANCOVA, in a single-arm
study the within-arm change.
"""

import logging
from pathlib import Path

from tme.config import Design
from tme.plots import plot_feature, save_figure
from tme.plots.data import feature_values, file_stems, primary_analysis, read_table, select_primary_features
from tme.plots.paired import change_text
from tme.workflow import run


def main(snakemake):
    design = Design.from_config(snakemake.config)  # from the config, never from params
    arms = list(design.arms)
    stats = read_table(snakemake.input.stats)
    scores = read_table(snakemake.input.scores) if "scores" in snakemake.input.keys() else None
    immune = read_table(snakemake.input.immune) if "immune" in snakemake.input.keys() else None
    values = feature_values(scores, immune, stats["feature"])
    between = not (design.blinded or design.single_arm)  # otherwise the within-group change annotates
    analysis = "ancova" if between else "wilcoxon_signed_rank"
    rows = primary_analysis(stats, analysis).set_index("feature")
    features = select_primary_features(stats, values)
    stems = file_stems(features)
    kinds = values.drop_duplicates("feature").set_index("feature")["feature_type"]
    for out in (snakemake.output.signatures, snakemake.output.immune):
        Path(out).mkdir(parents=True, exist_ok=True)
    for feature in features:
        out = snakemake.output.immune if kinds[feature] == "immune" else snakemake.output.signatures
        row = rows.loc[feature].to_dict() if feature in rows.index else None
        annotation = None if between else change_text(row, "Pooled change" if design.blinded else "Within-arm change")
        fig = plot_feature(values, feature, arms, design.pre, design.post, effect=row, annotation=annotation)
        save_figure(fig, Path(out) / stems[feature])
        logging.info("plotted %s as %s", feature, stems[feature])


run(snakemake, main)
