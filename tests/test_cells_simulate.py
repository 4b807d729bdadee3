"""tme.cells.simulate: deterministic files, all three readers, planted spatial effects recovered by the paired statistics."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
import yaml

from tme.cells import CellSettings, cohort_metrics, paired_values, read_manifest, read_region_table, write_cell_cohort
from tme.config import Design
from tme.stats.paired import effects_between_arms


def _digest(folder) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


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
    folder, settings, samples, exports, metrics = cohort
    values, info = paired_values(metrics, samples)
    effects = effects_between_arms(values, Design(), info, n_bootstrap=0)
    ancova = effects[effects["analysis"] == "ancova"].set_index("feature")
    truth = pd.read_csv(folder / "truth.tsv", sep="\t").set_index("feature")
    truth = truth[truth.index.isin(ancova.index)]
    primary = truth.index[truth["primary"]]
    assert set(primary) == {"proportion|IL-1β+ macrophage of macrophage|total",
                            "nn_distance_median|CD8+ T to tumour cell|total"}
    assert (ancova.loc[primary, "q"] < 0.05).all()
    assert (np.sign(ancova.loc[primary, "estimate"]) == truth.loc[primary, "direction"]).all()
    nulls = ancova[~ancova.index.isin(truth.index)]
    assert len(nulls) > 30 and (nulls["q"] >= 0.05).all()
