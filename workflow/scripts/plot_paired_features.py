"""One paired figure per primary feature: spaghetti per arm + change by arm with the ANCOVA (tme.plots.paired).

Signature features go to ``output.signatures``, immune measures to ``output.immune`` (one PNG each,
plus all of a directory's figures as pages of one PDF); file names are sanitised feature names (the
display name is in each figure's title, the full name in the tables). In a blinded run the title
carries the pooled change (Hodges–Lehmann) instead of the ANCOVA, in a single-arm study the
within-arm change.
"""

import logging
from pathlib import Path

from tme.config import Design
from tme.plots.data import (
    display_names,
    feature_values,
    file_stems,
    primary_analysis,
    read_table,
    select_primary_features,
)
from tme.plots.paired import change_text, plot_feature
from tme.plots.style import FigurePages
from tme.workflow import run


def main(snakemake):
    design = Design.from_config(snakemake.config)  # from the config, never from params
    arms, level = list(design.arms), snakemake.params.conf_level
    stats = read_table(snakemake.input.stats)
    scores = read_table(snakemake.input.scores) if "scores" in snakemake.input.keys() else None
    immune = read_table(snakemake.input.immune) if "immune" in snakemake.input.keys() else None
    values = feature_values(scores, immune, stats["feature"])
    between = not (design.blinded or design.single_arm)  # otherwise the within-group change annotates
    rows = primary_analysis(stats, "ancova" if between else "wilcoxon_signed_rank").set_index("feature")
    features = select_primary_features(stats, values)
    stems, names = file_stems(features), display_names(stats)
    kinds = values.drop_duplicates("feature").set_index("feature")["feature_type"]
    outputs = {"signature": snakemake.output.signatures, "immune": snakemake.output.immune}
    for out in outputs.values():
        Path(out).mkdir(parents=True, exist_ok=True)
    with FigurePages(snakemake.output.signatures_pdf) as sig, FigurePages(snakemake.output.immune_pdf) as imm:
        for feature in features:
            kind = "immune" if kinds[feature] == "immune" else "signature"
            row = rows.loc[feature].to_dict() if feature in rows.index else None
            within = "Pooled change" if design.blinded else "Within-arm change"
            annotation = None if between else change_text(row, within, level)
            fig = plot_feature(
                values, feature, arms, design.pre, design.post, row, annotation, names.get(feature), level
            )
            (imm if kind == "immune" else sig).save(fig, Path(outputs[kind]) / f"{stems[feature]}.png")
            logging.info("plotted %s as %s", feature, stems[feature])


run(snakemake, main)
