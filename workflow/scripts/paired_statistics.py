"""Within-arm changes and between-arm effects for every signature score and immune measure.

In a blinded run (rule pooled_changes) only the pooled pre → post change is computed.
"""

import logging

import pandas as pd

from tme.config import POOLED, Design, pooled_design
from tme.features import (
    FAMILIES,
    immune_features,
    resolve_panel,
    signature_features,
    singlecell_features,
    with_covariates,
)
from tme.inputs import read_sheet
from tme.io import write_tsv
from tme.signature_scores import run_signatures
from tme.stats import changes_within_arm, effects_between_arms
from tme.workflow import run


def main(snakemake):
    config = snakemake.params.config
    design = Design.from_config(config)
    samples = read_sheet(config)
    samples = samples[samples["exclude_reason"] == ""]
    values, info = [], []
    if "scores" in snakemake.input.keys():
        signatures = run_signatures(config["scoring"])
        panel = resolve_panel(config["statistics"]["primary_panel"], signatures)
        scores = pd.read_csv(snakemake.input.scores, sep="\t")
        v, i = signature_features(scores, signatures, panel)
        values.append(v), info.append(i)
    if "immune" in snakemake.input.keys():
        v, i = immune_features(pd.read_csv(snakemake.input.immune, sep="\t"))
        values.append(v), info.append(i)
    if "single_cell" in snakemake.input.keys():
        v, i = singlecell_features(pd.read_csv(snakemake.input.single_cell, sep="\t"), samples)
        values.append(v), info.append(i)
    values = with_covariates(pd.concat(values, ignore_index=True), samples, design.covariates)
    info = pd.concat(info, ignore_index=True)
    families = [f for f in FAMILIES if f in set(info["family"])]
    stats = config["statistics"]
    logging.info("%d features in families %s", len(info), families)
    if design.blinded:
        pooled = changes_within_arm(values, pooled_design(design), info, families, conf_level=stats["confidence_level"])
        write_tsv(pooled[pooled["arm"] == POOLED].reset_index(drop=True), snakemake.output.pooled)
        return
    within = changes_within_arm(values, design, info, families, conf_level=stats["confidence_level"])
    between = effects_between_arms(
        values,
        design,
        info,
        families,
        n_bootstrap=stats["n_bootstrap"],
        seed=config["seed"],
        conf_level=stats["confidence_level"],
    )
    write_tsv(within, snakemake.output.within)
    write_tsv(between, snakemake.output.between)


run(snakemake, main)
