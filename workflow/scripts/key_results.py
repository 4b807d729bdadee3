"""The report's first screen and results/key_results.pdf (tme.report.key_results)."""

import base64

import pandas as pd

from tme.config import Design
from tme.io import atomic_path
from tme.plots import plot_sample_flow, save_figure
from tme.plots.data import read_table
from tme.plots.key_results import plot_key_forest
from tme.report.key_results import Trial, key_results_html, key_results_page, key_results_table
from tme.report.key_results_pdf import table_page, write_key_results_pdf
from tme.stats.analyses import BETWEEN_ARM
from tme.workflow import run


def main(snakemake):
    config = snakemake.config  # not params: the report embeds params unescaped
    trial = Trial.from_config(config)
    primary = config["analysis_plan"]["analyses"]["primary"]
    model = BETWEEN_ARM[primary].label if trial.compares_arms else ""
    stats = read_table(snakemake.input.stats)
    warnings = pd.read_csv(snakemake.input.warnings, sep="\t", dtype=str, keep_default_na=False)
    table = key_results_table(stats, trial)
    png = ""
    if trial.compares_arms:
        save_figure(plot_key_forest(stats, trial), snakemake.output.forest)
        with open(snakemake.output.forest, "rb") as handle:
            png = base64.b64encode(handle.read()).decode()
    block = key_results_html(table, trial, forest_png=png, warnings=warnings, model=model)
    for path, text in ((snakemake.output.landing, block), (snakemake.output.page, key_results_page(block))):
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    pages = [table_page(table, trial, len(warnings), model)]
    if trial.compares_arms:
        pages.append(plot_key_forest(stats, trial))
    pages.append(plot_sample_flow(read_table(snakemake.input.flow), list(Design.from_config(config).arms)))
    write_key_results_pdf(snakemake.output.pdf, pages)


run(snakemake, main)
