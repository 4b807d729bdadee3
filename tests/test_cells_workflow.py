"""Multiplex-IF cell exports through the workflow (config section ``cells``): one job per biopsy, the
gathered metric table equal to the library's, cell metrics as analysis-plan endpoints and as FDR
families, the planted effects recovered, a changed export rerunning its own slide only, and the
report's "Cells & space" figures.

One run per module of the example config (config/cells.yaml) on a simulated 12-patient cohort (seed 34,
the project's; QuPath, HALO and inForm exports in turn by patient, a few thousand cells per 1 mm² slide,
one post slide missing).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import REPO, run_workflow

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("cells_workflow")]

PRIMARY = "proportion|IL-1β+ macrophage of macrophage|total"
SECONDARY = "nn_distance_median|CD8+ T to tumour cell|total"


@pytest.fixture(scope="module")
def cells_run(tmp_path_factory):
    """The example config (config/cells.yaml) on a 12-patient cohort: its inputs moved to the cohort,
    no bootstrap and one sensitivity analysis (speed); the finished run (workflow, then the report)."""
    from tme.cells import write_cell_cohort

    data = tmp_path_factory.mktemp("cells_data")
    write_cell_cohort(data, seed=34, n_patients=12)
    config = yaml.safe_load((REPO / "config" / "cells.yaml").read_text(encoding="utf-8"))
    assert [e["feature"] for e in config["analysis_plan"]["endpoints"]] == [PRIMARY, SECONDARY]
    config["samples"] = str(data / "samples.tsv")
    config["cells"].update(manifest=str(data / "manifest.tsv"), regions=str(data / "regions.tsv"))
    config["analysis_plan"]["analyses"] = {"sensitivity": ["mann_whitney_change"]}
    config["statistics"] = {"n_bootstrap": 0}
    work = tmp_path_factory.mktemp("cells_run")
    for args in ((), ("--report", str(work / "report.html"))):
        done = run_workflow(work, config, *args)
        assert done.returncode == 0, done.stderr[-3000:]
    return data, work, config


def _table(path):
    return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=["NA"])


def test_one_job_per_biopsy_gathered_into_the_library_table(cells_run, tmp_path):
    from tme.cells import CellSettings, cohort_metrics, read_manifest, read_region_table
    from tme.io import write_tsv

    data, work, config = cells_run
    manifest = read_manifest(data / "manifest.tsv", _table(data / "samples.tsv")["sample_id"])
    jobs = sorted(p.name for p in (work / "logs" / "cells").glob("*.benchmark.tsv"))
    assert jobs == sorted(f"{s}.benchmark.tsv" for s in manifest["sample_id"])  # one job per biopsy
    assert set(manifest["software"]) == {"qupath", "halo", "inform"}
    written = yaml.safe_load((work / "config.yaml").read_text(encoding="utf-8"))  # cell types in the file's order
    settings = CellSettings.from_config(written["cells"])
    library = cohort_metrics(manifest, settings, read_region_table(data / "regions.tsv", settings.compartments))
    write_tsv(library, tmp_path / "library.tsv")
    assert (work / "results" / "immune" / "cell_metrics.tsv").read_bytes() == (tmp_path / "library.tsv").read_bytes()


def test_sample_flow_and_input_files(cells_run):
    data, work, _ = cells_run
    flow = _table(work / "results" / "tables" / "sample_flow.tsv")
    assert set(flow["modality"]) == {"cells"}
    excluded = flow[flow["step"] == "excluded"]
    assert list(excluded["reason"]) == ["no cell export"] and list(excluded["timepoint"]) == ["post"]
    files = _table(work / "results" / "qc" / "input_files.tsv")
    exports = files[files["input"] == "cells_export"]
    assert len(exports) == 23 and exports["sha256"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert exports["summary"].str.contains(r": [\d,]+ cells$").all()
    assert {"cells", "cells_regions", "cells_annotation"} <= set(files["input"])


def test_planted_effects_recovered_as_plan_endpoints(cells_run):
    """The plan's two cell endpoints (primary: IL-1β⁺ share of macrophages; key secondary: CD8⁺ T to
    tumour distance) reach adjusted p < 0.05 in the planted direction; the other cell metrics are in
    their own families, and those the truth does not move stay above 0.05 (BH within family)."""
    data, work, _ = cells_run
    effects = _table(work / "results" / "tables" / "effects_between_arms.tsv")
    ancova = effects[(effects["analysis"] == "ancova") & (effects["population"] == "itt")].set_index("feature")
    assert list(ancova.index[:2]) == [PRIMARY, SECONDARY]
    assert list(ancova.loc[[PRIMARY, SECONDARY], "family"]) == ["primary", "key_secondary"]
    assert (ancova.loc[[PRIMARY, SECONDARY], "p_adjusted"] < 0.05).all()
    assert (ancova.loc[[PRIMARY, SECONDARY], "estimate"] < 0).all()  # fewer IL-1β⁺, CD8⁺ T closer
    others = ancova[ancova["feature_type"] == "cell_metric"].drop([PRIMARY, SECONDARY])
    assert set(others["family"]) == {
        "cells_density",
        "cells_ratio",
        "cells_proportion",
        "cells_nn_distance_median",
        "cells_fraction_within_r",
        "cells_ripley_L",
    }
    assert not others.index.str.startswith("ripley_K").any()
    truth = set(_table(data / "truth.tsv")["feature"])
    nulls = others[~others.index.isin(truth)]
    assert len(nulls) > 30 and (nulls["p_adjusted"] >= 0.05).all()
    density = ancova.loc["density|CD8+ T|tumour"]  # a log1p metric back-transforms to a ratio
    assert np.isfinite(density["ratio"]) and "geometric means" in density["ratio_meaning"]


def test_report_has_the_cells_figures(cells_run):
    _, work, _ = cells_run
    figures = work / "results" / "figures" / "cells"
    assert {p.name for p in figures.iterdir()} == {
        f"{stem}.{ext}" for stem in ("cell_metrics", "slide_pair") for ext in ("png", "pdf", "svg")
    }
    html = (work / "report.html").read_text(encoding="utf-8")
    assert "Cells &amp; space" in html or "Cells & space" in html
    assert "representative slide pair" in html and "cell metrics pre/post" in html


def test_a_changed_export_reruns_the_checks_and_the_slides(cells_run):
    """Last in the module: it changes one export's bytes, not its cells (CRLF line ends; Snakemake
    compares the checksums of touched inputs, so a touch alone reruns nothing), and a dry run lists
    the jobs: the checks, then every slide (the checked sample flow is each slide job's input)."""
    data, work, config = cells_run
    export = next((data / "exports").glob("OZM-002-BX*"))
    export.write_bytes(export.read_bytes().replace(b"\n", b"\r\n"))
    done = run_workflow(work, config, "-n")
    assert done.returncode == 0, done.stderr[-3000:]
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", done.stdout + done.stderr, re.M))
    n_slides = len(list((work / "results" / "immune" / "cell_metrics").glob("*.tsv")))
    assert counts["sample_flow"] == "1" and counts["cell_metrics_slide"] == str(n_slides) == "23", counts
