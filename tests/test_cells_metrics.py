"""tme.cells.metrics: every metric exact on hand-placed layouts (closed forms), NA rules, config errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tme.cells import (
    Biopsy,
    CellSettings,
    MetricPlan,
    biopsy_metrics,
    job_metrics,
    paired_values,
    planned_features,
    read_metrics,
    slide_job,
    slide_metrics,
)
from tme.cells.spatial import Window
from tme.errors import TmeInputError

EXACT = 1e-9
TYPES = ["tumour cell", "CD8+ T", "FOXP3+ Treg", "CD68+ TAM", "CD163+ TAM", "IL-1β+ macrophage", "CD56+ NK", "other"]


def biopsy(points: list[tuple[float, float, str, str]], areas=None, window=None) -> Biopsy:
    """Cells as (x, y, cell type, compartment)."""
    xy = np.array([(x, y) for x, y, _, _ in points], dtype=float)
    return Biopsy(
        "S1",
        xy,
        np.array([TYPES.index(t) for _, _, t, _ in points]),
        TYPES,
        np.array([["tumour", "stroma"].index(c) for *_, c in points]),
        ["tumour", "stroma"],
        areas or {"tumour": 0.25, "stroma": 0.5},
        window,
    )


@pytest.fixture()
def layout() -> Biopsy:
    """Tumour cells at (0, 0) and (100, 0); CD8 at distances 5 (3, 4), 10 (100, 10) and 50 (50, 0)."""
    return biopsy(
        [
            (0, 0, "tumour cell", "tumour"),
            (100, 0, "tumour cell", "tumour"),
            (3, 4, "CD8+ T", "tumour"),
            (100, 10, "CD8+ T", "stroma"),
            (50, 0, "CD8+ T", "stroma"),
            (200, 200, "FOXP3+ Treg", "stroma"),
            (10, 10, "CD68+ TAM", "stroma"),
            (20, 20, "CD163+ TAM", "stroma"),
            (30, 30, "CD163+ TAM", "stroma"),
            (40, 40, "IL-1β+ macrophage", "stroma"),
            (300, 300, "other", "stroma"),
        ]
    )


def table(metrics: pd.DataFrame) -> pd.Series:
    return metrics.set_index("feature")["value"]


def test_densities_are_counts_over_areas(layout):
    values = table(biopsy_metrics(layout))
    assert values["density|CD8+ T|tumour"] == pytest.approx(1 / 0.25, abs=EXACT)
    assert values["density|CD8+ T|stroma"] == pytest.approx(2 / 0.5, abs=EXACT)
    assert values["density|CD8+ T|total"] == pytest.approx(3 / 0.75, abs=EXACT)
    assert values["density|macrophage|stroma"] == pytest.approx(4 / 0.5, abs=EXACT)
    assert values["density|CD56+ NK|total"] == 0.0


def test_ratios_and_proportions(layout):
    metrics = biopsy_metrics(layout).set_index("feature")
    assert metrics.at["ratio|CD8+ T / FOXP3+ Treg|total", "value"] == 3.0
    assert metrics.at["ratio|CD8+ T / FOXP3+ Treg|total", "analysis_value"] == pytest.approx(
        np.log(3.5 / 1.5), abs=EXACT
    )
    assert metrics.at["ratio|CD163+ TAM / CD68+ TAM|stroma", "value"] == 2.0
    assert metrics.at["proportion|IL-1β+ macrophage of macrophage|total", "value"] == 0.25
    tumour_ratio = metrics.loc["ratio|CD8+ T / FOXP3+ Treg|tumour"]
    assert np.isnan(tumour_ratio["value"]) and tumour_ratio["note"] == "no FOXP3+ Treg cells"
    assert tumour_ratio["analysis_value"] == pytest.approx(np.log(1.5 / 0.5), abs=EXACT)  # defined with ½ pseudo-counts
    empty = metrics.loc["proportion|IL-1β+ macrophage of macrophage|tumour"]
    assert np.isnan(empty["value"]) and empty["note"] == "no macrophage cells"


def test_nearest_tumour_distance_and_fraction_within_r(layout):
    metrics = biopsy_metrics(layout).set_index("feature")
    row = metrics.loc["nn_distance_median|CD8+ T to tumour cell|total"]
    assert row["value"] == pytest.approx(10.0, abs=EXACT)  # median of 5, 10, 50
    assert row["analysis_value"] == pytest.approx(np.log1p(10.0), abs=EXACT)
    assert (row["n_cells"], row["n_reference"]) == (3, 2)
    assert metrics.at["within_20um|CD8+ T to tumour cell|total", "value"] == pytest.approx(2 / 3, abs=EXACT)
    plan = MetricPlan(radius_um=5.0, spatial_compartments=("stroma", "total"))
    values = table(biopsy_metrics(layout, plan))
    assert values["within_5um|CD8+ T to tumour cell|total"] == pytest.approx(1 / 3, abs=EXACT)  # 5 ≤ 5 counts
    assert values["nn_distance_median|CD8+ T to tumour cell|stroma"] == pytest.approx(30.0, abs=EXACT)  # (10 + 50) / 2
    assert np.isnan(values["nn_distance_median|CD56+ NK to tumour cell|total"])


def test_ripley_summary_closed_form():
    """One CD8 cell with 2 tumour cells within R = 50, far from the window edge: K = |W| · 2 / (1 · n_j)."""
    window = Window(0.0, 1000.0, 0.0, 1000.0)
    cells = biopsy(
        [
            (500, 500, "CD8+ T", "tumour"),
            (510, 500, "tumour cell", "tumour"),
            (500, 540, "tumour cell", "tumour"),
            (900, 900, "tumour cell", "tumour"),
        ],
        window=window,
    )
    plan = MetricPlan(edge_correction=("border", "isotropic"))
    metrics = biopsy_metrics(cells, plan).set_index("feature")
    expected_k = 1e6 * 2 / 3
    for correction in ("border", "isotropic"):
        assert metrics.at[f"ripley_K_{correction}_50um|CD8+ T to tumour cell|total", "value"] == pytest.approx(
            expected_k, abs=EXACT * expected_k
        )
        ell = metrics.loc[f"ripley_L_{correction}_50um|CD8+ T to tumour cell|total"]
        assert ell["value"] == pytest.approx(np.sqrt(expected_k / np.pi), abs=EXACT)
        assert ell["family"] == "cells_ripley_L" and ell["area_mm2"] == 1.0
    assert metrics.at["ripley_K_border_50um|CD8+ T to tumour cell|total", "family"] == ""  # reported, not analysed


def test_table_columns_and_units(layout):
    metrics = biopsy_metrics(layout)
    assert list(metrics.columns) == [
        "sample_id",
        "feature",
        "metric",
        "compartment",
        "cell_type",
        "reference_type",
        "value",
        "unit",
        "n_cells",
        "n_reference",
        "area_mm2",
        "radius_um",
        "edge_correction",
        "transform",
        "analysis_value",
        "family",
        "note",
    ]
    assert not metrics["feature"].duplicated().any()
    units = metrics.drop_duplicates("metric").set_index("metric")["unit"].to_dict()
    assert units == {
        "density": "cells/mm2",
        "ratio": "ratio",
        "proportion": "fraction",
        "nn_distance_median": "um",
        "fraction_within_r": "fraction",
        "ripley_K": "um2",
        "ripley_L": "um",
    }


def test_plan_errors(layout):
    with pytest.raises(TmeInputError, match="'CD4\\+ T' is neither a cell type"):
        biopsy_metrics(layout, MetricPlan(ratios=(("CD4+ T", "CD8+ T"),)))
    with pytest.raises(TmeInputError, match="subset must lie in its population"):
        biopsy_metrics(layout, MetricPlan(proportions=(("CD8+ T", "macrophage"),)))
    with pytest.raises(TmeInputError, match="border or isotropic"):
        biopsy_metrics(layout, MetricPlan(edge_correction=("translate",)))


def test_density_of_an_unannotated_compartment_is_na(layout):
    no_stroma = Biopsy(**{**layout.__dict__, "areas": {"tumour": 0.25}})
    metrics = biopsy_metrics(Biopsy(**{**no_stroma.__dict__, "compartment": np.zeros(len(layout.xy), dtype=int)}))
    stroma = metrics[(metrics["metric"] == "density") & (metrics["compartment"] == "stroma")]
    assert stroma["value"].isna().all() and (stroma["note"] == "no stroma area recorded for this biopsy").all()


def test_paired_values_layout(layout):
    metrics = pd.concat([biopsy_metrics(layout), biopsy_metrics(Biopsy(**{**layout.__dict__, "sample_id": "S2"}))])
    samples = pd.DataFrame(
        {"patient_id": ["P1", "P1"], "arm": ["anakinra"] * 2, "timepoint": ["pre", "post"]}, index=["S1", "S2"]
    )
    values, info = paired_values(metrics, samples)
    assert list(values.columns) == ["sample_id", "patient_id", "arm", "timepoint", "feature", "value"]
    assert list(info.columns) == ["feature", "feature_type", "family", "transform"]
    transform = info.set_index("feature")["transform"]
    assert transform["density|CD8+ T|total"] == "log1p" and transform["ratio|CD8+ T / FOXP3+ Treg|total"] == "log"
    assert set(transform[info["family"].isin(["cells_proportion", "cells_ripley_L"]).to_numpy()]) == {"none"}
    assert not info["feature"].str.startswith("ripley_K").any() and (info["feature_type"] == "cell_metric").all()
    assert set(info["family"]) == {
        "cells_density",
        "cells_ratio",
        "cells_proportion",
        "cells_nn_distance_median",
        "cells_fraction_within_r",
        "cells_ripley_L",
    }


def test_planned_features_are_the_analysed_metrics(layout):
    """The names known before any slide is read are exactly those a real slide's table enters into
    the analysis, with the same families."""
    _, info = paired_values(biopsy_metrics(layout), pd.DataFrame(columns=["patient_id", "arm", "timepoint"]))
    planned = planned_features(MetricPlan(), TYPES, ["tumour", "stroma"])
    assert list(planned["feature"]) == list(info["feature"])
    assert list(planned["family"]) == list(info["family"]) and (planned["feature_type"] == "cell_metric").all()


def test_read_metrics_keeps_text_and_missing_values(layout, tmp_path):
    from tme.io import write_tsv

    no_stroma = Biopsy(**{**layout.__dict__, "areas": {"tumour": 0.25}})
    metrics = biopsy_metrics(Biopsy(**{**no_stroma.__dict__, "compartment": np.zeros(len(layout.xy), dtype=int)}))
    write_tsv(metrics, tmp_path / "m.tsv")
    back = read_metrics(tmp_path / "m.tsv")
    assert list(back.columns) == list(metrics.columns)
    assert (back["family"] == metrics["family"]).all() and (back["note"] == metrics["note"]).all()
    assert back["value"].isna().sum() == metrics["value"].isna().sum() > 0
    both = back["value"].notna()
    assert np.allclose(back.loc[both, "value"], metrics.loc[both, "value"], rtol=1e-9, atol=0)


QUPATH = (
    "Image\tName\tClass\tParent\tROI\tCentroid X µm\tCentroid Y µm\n"
    "s\t\tPanCK\tTumor\tPolygon\t0\t0\n"
    "s\t\tPanCK\tTumor\tPolygon\t100\t0\n"
    "s\t\tCD8\tTumor\tPolygon\t3\t4\n"
    "s\t\tCD8\tStroma\tPolygon\t100\t10\n"
    "s\t\t\tNecrosis\tPolygon\t50\t50\n"
)


def test_slide_metrics_end_to_end(tmp_path):
    export = tmp_path / "S1.tsv"
    export.write_text(QUPATH, encoding="utf-8")
    settings = CellSettings.from_config(
        {
            "phenotypes": {"tumour cell": {"PanCK": "+"}, "CD8+ T": {"CD8": "+"}, "other": "*"},
            "compartments": {"tumour": ["Tumor"], "stroma": ["Stroma"], "exclude": ["Necrosis"]},
            "ratios": [],
            "proportions": [],
            "populations": {},
            "radius_um": 6,
            "edge_correction": "border",
        }
    )
    areas = pd.DataFrame({"sample_id": ["S1", "S1"], "compartment": ["tumour", "stroma"], "area_mm2": [0.01, 0.02]})
    values = table(slide_metrics({"sample_id": "S1", "file": str(export)}, settings, areas))
    assert values["density|CD8+ T|total"] == pytest.approx(2 / 0.03, abs=EXACT)
    assert values["density|other|total"] == 0.0  # the necrosis cell is excluded
    assert values["within_6um|CD8+ T to tumour cell|total"] == 0.5
    with pytest.raises(TmeInputError, match="cells in compartment 'stroma' but no area"):
        slide_metrics({"sample_id": "S1", "file": str(export)}, settings, areas[areas["compartment"] == "tumour"])
    with pytest.raises(TmeInputError, match="no region areas for biopsy 'S1'"):
        slide_metrics({"sample_id": "S1", "file": str(export)}, settings, None)


def test_slide_job_holds_the_manifest_row_and_areas(tmp_path):
    """A job's plain-value params (manifest row, region areas) give the same table as the library call."""
    export = tmp_path / "S1.tsv"
    export.write_text(QUPATH, encoding="utf-8")
    settings = CellSettings.from_config(
        {
            "phenotypes": {"tumour cell": {"PanCK": "+"}, "CD8+ T": {"CD8": "+"}, "other": "*"},
            "compartments": {"tumour": ["Tumor"], "stroma": ["Stroma"], "exclude": ["Necrosis"]},
            **dict.fromkeys(["ratios", "proportions"], []),
            "populations": {},
        }
    )
    exports = pd.DataFrame(
        {
            "sample_id": ["S0", "S1"],
            "file": ["elsewhere.tsv", str(export)],
            "software": "qupath",
            "pixel_size_um": [0.5, np.nan],
        }
    )
    areas = pd.DataFrame({"sample_id": ["S1", "S1", "S0"], "compartment": ["tumour", "stroma", "tumour"],
                          "area_mm2": [0.01, 0.02, 9.0]})  # fmt: skip
    job = slide_job(exports, areas, "S1")
    assert job == {
        "entry": {"sample_id": "S1", "file": str(export), "software": "qupath", "pixel_size_um": None},
        "areas": {"tumour": 0.01, "stroma": 0.02},
    }
    assert type(slide_job(exports, areas, "S0")["entry"]["pixel_size_um"]) is float  # plain values (recorded params)
    pd.testing.assert_frame_equal(job_metrics(job, settings), slide_metrics(job["entry"], settings, areas))
    assert slide_job(exports, None, "S1")["areas"] is None


def test_degenerate_slide_gives_na_ripley_rows():
    cells = biopsy([(5, 5, "CD8+ T", "tumour"), (5, 9, "tumour cell", "tumour")])  # one x position: no window
    metrics = biopsy_metrics(cells).set_index("feature")
    ripley = metrics[metrics["metric"] == "ripley_L"]
    assert len(ripley) == 6 and ripley["value"].isna().all()
    assert metrics.at["nn_distance_median|CD8+ T to tumour cell|total", "value"] == 4.0
