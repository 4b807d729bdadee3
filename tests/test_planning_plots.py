"""The power-curve figure of the planning page (tme.plots.planning)."""

from __future__ import annotations

import hashlib

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from tme.config import Design
from tme.planning import Target, TrialModel, plan_next_trial, simulate_trials
from tme.plots.planning import plot_power_curves
from tme.plots.style import save_figure

HOSTILE = "<script>alert(1)</script> & $x^2$ " + "VERY_LONG_ENDPOINT_NAME_" * 5


@pytest.fixture(scope="module")
def tables():
    rng = np.random.default_rng(3)
    frames = []
    for feature, model in (("x", TrialModel(1.0, 1.0, 0.5, missing_post=0.1)), ("y", TrialModel(0.6, 0.6, 0.6))):
        trials = simulate_trials(model, 20, -0.5, 1, rng)
        for timepoint, v in (("pre", trials.pre[0]), ("post", trials.post[0])):
            frames.append(
                pd.DataFrame(
                    {
                        "patient_id": [f"P{i:02d}" for i in range(40)],
                        "timepoint": timepoint,
                        "arm": np.where(trials.treated, "anakinra", "usual_care"),
                        "feature": feature,
                        "value": v,
                    }
                )
            )
    values = pd.concat(frames).dropna(subset=["value"])
    planning = plan_next_trial(
        values,
        Design(),
        {HOSTILE: "x", "CD68": "y"},
        {HOSTILE: Target(HOSTILE, 0.6, "log2"), "CD68": Target("CD68", -0.4)},
        n_grid=[4, 8, 16],
        n_trials=200,
        n_bootstrap=200,
        seed=1,
    )
    return planning.grid, planning.table


def _texts(fig):
    return [t.get_text() for t in fig.findobj(plt.Text)]


def test_power_curves_render_hostile_names_and_mark_the_plan(tables, tmp_path):
    grid, table = tables
    fig = plot_power_curves(grid, table)
    texts = "\n".join(_texts(fig))
    assert "0.6-fold (target)" in texts and "difference −0.4 (target)" in texts
    assert f"randomise {int(table['n_per_arm'].iloc[1])} per arm (dotted)" in texts
    assert max(len(line) for line in texts.split("\n")) <= 160
    paths = save_figure(fig, tmp_path / "planning_power", formats=("png", "svg"), dpi=60)
    svg = paths[1].read_text()
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_without_table_and_empty():
    fig = plot_power_curves(None)
    assert any("No planning grid" in t for t in _texts(fig))
    plt.close(fig)


def test_byte_identical(tables, tmp_path):
    digests = []
    for run in ("a", "b"):
        paths = save_figure(plot_power_curves(*tables), tmp_path / run / "p", formats=("png", "pdf"), dpi=60)
        digests.append([hashlib.sha256(p.read_bytes()).hexdigest() for p in paths])
    assert digests[0] == digests[1]
