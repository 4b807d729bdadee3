"""The report's methods page and escaping: every user string escaped, no script can run, long
names wrap instead of widening the page."""

from __future__ import annotations

import pandas as pd
from test_plots import HOSTILE, effects_table, flow_table, scores_table  # synthetic tables (not tests)

from tme.report.html import escape, html_table
from tme.report.methods import fdr_families, flow_summary, methods_html, software_versions  # noqa: E402

LONG = "X" * 500


def test_escape():
    assert escape("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert escape("a & \"b\" 'c'") == "a &amp; &quot;b&quot; &#x27;c&#x27;"
    assert escape(None) == "" and escape(float("nan")) == ""


def test_html_table_escapes_cells_and_headers():
    t = html_table(pd.DataFrame({HOSTILE: [HOSTILE, 1.23456789]}))
    assert "<script>" not in t and "&lt;script&gt;" in t and "1.235" in t
    assert "more rows" in html_table(pd.DataFrame({"a": range(5)}), max_rows=2)


def _page(**overrides):
    scores = scores_table(signatures=("TME_IL1_INDUCED", HOSTILE, LONG))
    features = [f"{s}|singscore" for s in scores["signature"].unique()]
    config = {
        "seed": 20261125,
        "samples": f"/data/{HOSTILE}.tsv",
        "statistics": {"confidence_level": 0.95},
        "scoring": {"collections": "all", "methods": "authors"},
    }
    design = {
        "reference_arm": "usual_care",
        "treatment_arm": "anakinra",
        "pre": "pre",
        "post": "post",
        "covariates": [],
    }
    record = {
        "git": {"commit": "abc123", "dirty": True},
        "started": "2026-11-25T09:00:00",
        "command": ["snakemake", HOSTILE],
        "packages": {"snakemake": "9.27.1", "numpy": "2.0"},
        "platform": {"python": "3.11.7", "system": "Linux"},
        "seeds": {"seed": 20261125},
    }
    kwargs = dict(
        config=config,
        design=design,
        flow=flow_table(),
        effects=effects_table(features),
        scores=scores,
        inputs=pd.DataFrame({"input": ["samples"], "path": [HOSTILE], "sha256": ["0" * 64]}),
        provenance={HOSTILE: {"collection": "user:x.gmt", "citation": HOSTILE}},
        record=record,
    )
    kwargs.update(overrides)
    return methods_html(**kwargs)


def test_methods_page_escapes_every_user_string():
    page = _page()
    assert "<script>alert(1)</script>" not in page
    assert "<script" not in page.lower()  # the page itself has no script at all
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 5  # sheet path, flow, signature, note, command
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "overflow-wrap:anywhere" in page and "table-layout:fixed" in page  # long names wrap
    assert LONG in page  # full names in tables (wrapped by CSS, not cut)


def test_methods_page_has_provenance_models_families_and_seeds():
    page = _page()
    for text in (
        "abc123 + uncommitted changes",
        "ANCOVA",
        "primary_signatures",
        "exploratory",
        "20261125",
        "Benjamini–Hochberg",
        "snakemake",
        "9.27.1",
        "TME_IL1_INDUCED",
    ):
        assert text in page, text


def test_methods_page_without_optional_tables():
    page = methods_html(config={}, design={})
    assert page.startswith("<!DOCTYPE html>") and "(none)" in page


def test_summaries():
    s = flow_summary(flow_table())
    assert list(s.columns[:2]) == ["modality", "arm"] and s["excluded_or_missing_samples"].tolist() == [1, 1]
    f = fdr_families(effects_table(["a", "b", "c"]))
    assert set(f["family"]) == {"primary_signatures", "exploratory"}
    v = software_versions(["tme", "surely-not-a-package"])
    assert v.set_index("software").loc["surely-not-a-package", "version"] == "not installed"


def test_report_targets_follow_the_config_switches():
    from tme.report.targets import report_table_specs, report_targets, statistics_table

    full = {"expression": {"format": "nfcore_salmon_counts"}, "immune": {"path": "x"}}
    targets = report_targets(full, gene_level=True)
    assert {"results/figures/effects/forest", "results/figures/sensitivity/tipping_point"} <= set(
        targets
    ) and "results/figures/genes/volcano_interaction.png" in targets
    blinded = report_targets({**full, "blinded": True}, gene_level=True)
    assert not any("forest" in t or "genes/" in t for t in blinded)  # nothing between arms while blinded
    assert statistics_table({"blinded": True}).endswith("changes_pooled.tsv")
    specs = report_table_specs({**full, "blinded": True}, gene_level=True)
    assert "effects" not in specs and "de" not in specs and "within" not in specs
    assert specs["pooled"][0].endswith("changes_pooled.tsv")
    single_arm = report_table_specs({**full, "design": {"reference_arm": None}}, gene_level=True)
    assert "within" in single_arm and "effects" not in single_arm and "de" not in single_arm
    assert single_arm["de_within"] == ("results/tables/de_within_anakinra.tsv", "Genes & pathways")
    assert single_arm["gsea_within"][0] == "results/tables/gsea_within_anakinra.tsv"
    assert "de_within" not in report_table_specs({**full, "design": {"reference_arm": None}}, gene_level=False)
    assert "de_within" not in report_table_specs(full, gene_level=True) and "gsea" in report_table_specs(full, True)
    immune_only = report_targets({"immune": {"path": "x"}}, gene_level=False)
    assert not any("expression" in t or "agreement" in t for t in immune_only)
