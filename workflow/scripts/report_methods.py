"""The report's methods and provenance page (tme.report.methods_html)."""

import json
from pathlib import Path

from tme.io import atomic_path
from tme.plots.data import read_table
from tme.report.methods import git_revision, methods_html, signature_provenance, software_versions
from tme.workflow import run


def main(snakemake):
    inp = snakemake.input
    table = lambda key: read_table(inp[key]) if key in inp.keys() else None  # noqa: E731
    config = snakemake.config  # not a param: params end up unescaped in the HTML report
    page = methods_html(
        config=config,
        design=config["design"],
        flow=table("flow"),
        inputs=table("inputs"),
        effects=table("effects"),
        within=table("within") if "within" in inp.keys() else table("pooled"),
        scores=table("scores"),
        coverage=table("coverage"),
        provenance=signature_provenance(config.get("scoring") or {}) if "scores" in inp.keys() else None,
        versions=software_versions(),
        revision=git_revision(Path(snakemake.scriptdir).parents[1]),
        record=json.loads(Path(inp["provenance"]).read_text()) if "provenance" in inp.keys() else None,
    )
    with atomic_path(snakemake.output.html) as tmp:
        tmp.write_text(page, encoding="utf-8")


run(snakemake, main)
