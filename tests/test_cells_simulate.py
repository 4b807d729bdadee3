"""tme.cells.simulate: deterministic files, all three readers, planted spatial effects recovered by the
paired statistics."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
import yaml

from tme.cells import CellSettings, cohort_metrics, paired_values, read_manifest, read_region_table, write_cell_cohort
from tme.cli import main
from tme.config import Design
from tme.stats.paired import effects_between_arms

from conftest import REPO


def _digest(folder) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes(tmp_path):
    write_cell_cohort(tmp_path / "a", seed=5, n_patients=4, field_mm=0.4)
    write_cell_cohort(tmp_path / "b", seed=5, n_patients=4, field_mm=0.4)
    write_cell_cohort(tmp_path / "c", seed=6, n_patients=4, field_mm=0.4)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def load(folder):
    settings = CellSettings.from_config(yaml.safe_load((folder / "cells.yaml").read_text(encoding="utf-8")))
    samples = pd.read_csv(folder / "samples.tsv", sep="\t").set_index("sample_id", drop=False)
    exports = read_manifest(folder / "manifest.tsv", samples["sample_id"])
    areas = read_region_table(folder / "regions.tsv", settings.compartments, samples["sample_id"])
    return settings, samples, exports, cohort_metrics(exports, settings, areas)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """The default example: 44 patients, 1 mm² slides of a few thousand cells (~10 s)."""
    folder = tmp_path_factory.mktemp("cells")
    write_cell_cohort(folder, seed=34)
    return (folder, *load(folder))


def test_every_reader_and_area_source_is_used(cohort):
    folder, settings, samples, exports, metrics = cohort
    assert set(exports["software"]) == {"qupath", "halo", "inform"}
    assert (exports["annotation_file"] != "").sum() == (exports["software"] == "qupath").sum()
    assert len(exports) == len(samples) - 1  # one post slide missing
    assert metrics["sample_id"].nunique() == len(exports)
    n_cells = metrics[metrics["feature"].str.startswith("density|") & metrics["feature"].str.endswith("|total")]
    per_slide = n_cells[n_cells["cell_type"] != "macrophage"].groupby("sample_id")["n_cells"].sum()
    assert 1500 < per_slide.median() < 6000  # a few thousand cells per biopsy
    total_area = metrics.loc[metrics["feature"] == "density|CD8+ T|total", "area_mm2"]
    assert np.allclose(total_area, 1.0, atol=1e-9)  # the tumour and stroma areas add up to the 1 mm² field


def test_planted_spatial_effects_recovered_and_nulls_stay_null(cohort):
    """ANCOVA, BH within each metric's family, the default seed 34.

    BH bounds the expected false-discovery proportion, not the chance of any null discovery: on
    other seeds a null metric correlated with a chance imbalance (e.g. CD68⁺ TAM infiltration) can
    reach q < 0.05, more easily in families rich in true effects. The default seed is the project's
    (not chosen for this test); the smallest null q here is 0.052.
    """
    folder, settings, samples, exports, metrics = cohort
    values, info = paired_values(metrics, samples)
    effects = effects_between_arms(values, Design(), info, n_bootstrap=0)
    ancova = effects[effects["analysis"] == "ancova"].set_index("feature")
    truth = pd.read_csv(folder / "truth.tsv", sep="\t").set_index("feature")
    truth = truth[truth.index.isin(ancova.index)]
    primary = truth.index[truth["primary"]]
    assert set(primary) == {
        "proportion|IL-1β+ macrophage of macrophage|total",
        "nn_distance_median|CD8+ T to tumour cell|total",
    }
    assert (ancova.loc[primary, "p_adjusted"] < 0.05).all()
    assert (np.sign(ancova.loc[primary, "estimate"]) == truth.loc[primary, "direction"]).all()
    nulls = ancova[~ancova.index.isin(truth.index)]
    assert len(nulls) > 30 and (nulls["p_adjusted"] >= 0.05).all()


def test_representative_slide_pair_figure(cohort, tmp_path):
    from tme.cells import slide_cells
    from tme.plots.cells import plot_slide_pair, representative_patient
    from tme.plots.style import save_figure

    folder, settings, samples, exports, metrics = cohort
    values, _ = paired_values(metrics, samples)
    feature = "nn_distance_median|CD8+ T to tumour cell|total"
    patient = representative_patient(values, feature, "anakinra")
    change = values[values["feature"] == feature].pivot_table(index="patient_id", columns="timepoint", values="value")
    arm = samples.drop_duplicates("patient_id").set_index("patient_id")["arm"]
    treated = (change["post"] - change["pre"]).dropna()[lambda c: arm.loc[c.index] == "anakinra"]
    assert abs(treated[patient] - treated.median()) == (treated - treated.median()).abs().min()
    entries = exports.set_index("sample_id", drop=False)
    pre, post = (slide_cells(entries.loc[f"{patient}-{s}"].to_dict(), settings) for s in ("BX", "RS"))
    assert set(pre.columns) == {"x", "y", "cell_type", "compartment"} and set(pre["compartment"]) == {
        "tumour",
        "stroma",
    }
    stems = []
    for run in ("a", "b"):
        fig = plot_slide_pair(pre, post, patient, "anakinra", types=settings.phenotypes.types, max_cells=1500)
        stems.append(save_figure(fig, tmp_path / run / "slides", formats=("png", "svg")))
    assert all(p.read_bytes() == q.read_bytes() for p, q in zip(*stems))
    assert representative_patient(values, "no such feature", "anakinra") is None


def test_cli_simulate_cells_writes_the_library_cohort(tmp_path, capsys):
    """`tme simulate --cells` is write_cell_cohort with the same seed; the example config
    (config/cells.yaml) reads it with the simulator's own phenotype map."""
    assert main(["simulate", "--cells", "--seed", "34", "--patients", "4", "--out", str(tmp_path / "cli")]) == 0
    write_cell_cohort(tmp_path / "lib", seed=34, n_patients=4)
    assert _digest(tmp_path / "cli") == _digest(tmp_path / "lib")
    assert {"manifest.tsv", "regions.tsv", "samples.tsv", "cells.yaml", "truth.tsv"} <= set(_digest(tmp_path / "cli"))
    example = yaml.safe_load((REPO / "config" / "cells.yaml").read_text(encoding="utf-8"))["cells"]
    simulated = yaml.safe_load((tmp_path / "cli" / "cells.yaml").read_text(encoding="utf-8"))
    assert example["phenotypes"] == simulated["phenotypes"]
    assert main(["simulate", "--cells", "--single-cell", "--out", str(tmp_path / "both")]) != 0
    assert "--single-cell and --cells" in capsys.readouterr().err and not (tmp_path / "both").exists()


def test_cell_metric_figure_panels(cohort):
    """The figure shows the plan's cell endpoints first, then each family's smallest p (ties: table
    order); log axes for metrics analysed on a log scale, linear for proportions."""
    from tme.plots.cells import plot_cell_metrics, select_cell_features

    folder, settings, samples, exports, metrics = cohort
    stats = pd.DataFrame(
        {
            "feature": ["proportion|a", "density|x", "density|y", "ratio|r", "gene|IL1B", "density|z"],
            "feature_type": ["cell_metric"] * 4 + ["gene", "cell_metric"],
            "family": ["primary", "cells_density", "cells_density", "cells_ratio", "genes", "cells_density"],
            "role": ["primary", "", "", "", "", ""],
            "analysis": ["ancova"] * 5 + ["wilcoxon_signed_rank"],
            "p": [0.5, 0.2, 0.01, np.nan, 0.0, 0.0],
        }
    )
    assert select_cell_features(stats, "ancova") == ["proportion|a", "density|y", "ratio|r"]
    assert select_cell_features(stats, "ancova", max_panels=1) == ["proportion|a"]
    values = metrics[metrics["family"] != ""].join(samples[["patient_id", "arm", "timepoint"]], on="sample_id")
    shown = ["density|CD8+ T|total", "proportion|IL-1β+ macrophage of macrophage|total", "absent|feature"]
    fig = plot_cell_metrics(values, shown, ["usual_care", "anakinra"], "pre", "post", {shown[0]: "note"})
    axes = [ax for ax in fig.axes if ax.axison]
    assert [ax.get_yscale() for ax in axes] == ["log", "linear"] and axes[0].get_title().endswith("note")
    empty = plot_cell_metrics(values, ["absent|feature"], ["usual_care", "anakinra"], "pre", "post")
    assert [t.get_text() for t in empty.axes[0].texts] == ["No cell metrics to show."]
