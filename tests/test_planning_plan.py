"""The whole planning chain (tme.planning.plan_next_trial / write_planning): outputs, determinism, targets in
readable units, the assumptions text, and bad input that stops before anything is written."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from tme.config import Design
from tme.errors import TmeInputError
from tme.planning import (
    GRID_COLUMNS,
    TABLE_COLUMNS,
    Target,
    TrialModel,
    ancova_power,
    ancova_sample_size,
    plan_next_trial,
    resolve_targets,
    simulate_trials,
    write_planning,
)

TARGETS = {"IL-1 signature": {"effect": 0.6, "scale": "log2"}, "CD68": {"effect": -0.3}}
ENDPOINTS = {"IL-1 signature": "il1", "CD68": "cd68"}


@pytest.fixture(scope="module")
def values() -> pd.DataFrame:
    """A 40-patient trial with two features, 10 % missing posts."""
    rng = np.random.default_rng(2)
    frames = []
    for feature, model, effect in (
        ("il1", TrialModel(0.5, 0.6, 0.7, 0.1, 0.1), -0.8),
        ("cd68", TrialModel(0.6, 0.6, 0.5, 0.0, 0.1), -0.4),
    ):
        trials = simulate_trials(model, 20, effect, 1, rng)
        for timepoint, v in (("pre", trials.pre[0]), ("post", trials.post[0])):
            frames.append(
                pd.DataFrame(
                    {
                        "patient_id": [f"P{i:02d}" for i in range(40)],
                        "arm": np.where(trials.treated, "anakinra", "usual_care"),
                        "timepoint": timepoint,
                        "feature": feature,
                        "value": v,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True).dropna(subset=["value"])


@pytest.fixture(scope="module")
def planning(values):
    return plan_next_trial(
        values,
        Design(),
        ENDPOINTS,
        TARGETS,
        alpha=0.05,
        power=0.8,
        multiplicity="holm",
        n_grid=[5, 10, 20, 40],
        n_trials=400,
        n_bootstrap=400,
        seed=4,
    )


def test_table_columns_and_numbers(planning):
    table = planning.table.set_index("endpoint")
    assert list(planning.table.columns) == TABLE_COLUMNS and list(planning.grid.columns) == GRID_COLUMNS
    il1 = table.loc["IL-1 signature"]
    assert il1["target_difference"] == pytest.approx(np.log2(0.6)) and il1["target_scale"] == "log2"
    assert il1["alpha_per_endpoint"] == 0.025 and il1["family_size"] == 2
    n = ancova_sample_size(np.log2(0.6), il1["residual_sd"], 0.025, 0.8)
    assert il1["n_pairs_per_arm"] == int(np.ceil(n))
    assert il1["n_pairs_per_arm_noncentral_t"] <= il1["n_pairs_per_arm"]
    assert il1["n_pairs_per_arm_ci_low"] <= il1["n_pairs_per_arm"] <= il1["n_pairs_per_arm_ci_high"]
    assert il1["n_per_arm"] == int(np.ceil(il1["n_pairs_per_arm"] / (1 - il1["missing_post"]) - 1e-9))
    assert il1["n_per_arm_design"] == 20
    pairs = 20 * (1 - il1["missing_post"])
    assert ancova_power(pairs, il1["mde_difference"], il1["residual_sd"], 0.025) == pytest.approx(0.8, abs=1e-9)
    assert il1["mde_effect"] == pytest.approx(2 ** -il1["mde_difference"])  # a decrease, like the target
    # the inflated size reaches the target power in the family (Holm: at least the alpha/m power)
    assert il1["power_simulated"] >= 0.8 - 3 * il1["power_simulated_mc_se"]
    assert table.loc["CD68", "mde_effect"] == pytest.approx(-table.loc["CD68", "mde_difference"])


def test_grid_covers_endpoints_n_and_effects(planning):
    grid = planning.grid
    assert len(grid) == 2 * 4 * 5 and set(grid["n_per_arm"]) == {5, 10, 20, 40}
    for _, curve in grid.groupby(["endpoint", "effect_multiplier"]):
        assert curve["power_analytic"].is_monotonic_increasing


def test_assumptions_text_quotes_the_table(planning):
    text = planning.assumptions
    il1 = planning.table.set_index("endpoint").loc["IL-1 signature"]
    assert "**IL-1 signature**" in text and "Holm's step-down procedure" in text
    assert f"randomise {int(il1['n_per_arm'])} per arm" in text and "0.6-fold change" in text
    assert "Shieh, Psychometrika 2020" in text and "95 % CI" in text
    largest = planning.table["n_per_arm"].max()
    assert f"Randomising **{largest} patients per arm**" in text


def test_deterministic_outputs(values, planning, tmp_path):
    again = plan_next_trial(
        values, Design(), ENDPOINTS, TARGETS, n_grid=[5, 10, 20, 40], n_trials=400, n_bootstrap=400, seed=4
    )
    digests = []
    for run, result in (("a", planning), ("b", again)):
        paths = write_planning(
            result,
            tmp_path / run / "planning.tsv",
            tmp_path / run / "grid.tsv",
            tmp_path / run / "planning_assumptions.md",
        )
        digests.append([hashlib.sha256(p.read_bytes()).hexdigest() for p in paths])
    assert digests[0] == digests[1]
    assert (tmp_path / "a" / "planning.tsv").read_text().splitlines()[0].split("\t") == TABLE_COLUMNS


def test_targets_in_readable_units():
    assert Target("x", 1.5, "log2").difference == pytest.approx(0.5849625007)
    assert Target("x", 0.5, "ln").difference == pytest.approx(np.log(0.5))
    assert Target("x", 2.0, "log2").readable(-1.0) == 0.5
    assert Target("x", -0.05).readable(-0.05) == -0.05


@pytest.mark.parametrize(
    "change,match",
    [
        (dict(targets={"IL-1 signature": {"effect": 0.0}, "CD68": {"effect": -0.3}}), "difference of 0"),
        (
            dict(targets={"IL-1 signature": {"effect": 1.0, "scale": "log2"}, "CD68": {"effect": -0.3}}),
            "fold change of 1",
        ),
        (
            dict(targets={"IL-1 signature": {"effect": -2.0, "scale": "log2"}, "CD68": {"effect": -0.3}}),
            "not a positive fold change",
        ),
        (dict(targets={**TARGETS, "CD86": {"effect": 1.0}}), r"endpoint 'CD86'.*not in the plan.*did you mean 'CD68'"),
        (dict(targets={"CD68": {"effect": -0.3}}), r"no target effect for plan endpoint\(s\) \['IL-1 signature'\]"),
        (
            dict(targets={"IL-1 signature": {"effect": 0.6, "scale": "log10"}, "CD68": {"effect": -0.3}}),
            "unknown scale 'log10'",
        ),
        (dict(power=0.05), "not between alpha"),
        (dict(power=0.01), "not between alpha"),
        (dict(multiplicity="sidak"), "unknown multiplicity"),
        (dict(n_trials=10), "n_trials = 10 is too small"),
        (dict(endpoints={"IL-1 signature": "il1", "CD68": "cd86"}), "feature 'cd86'.*did you mean 'cd68'"),
        (dict(priors={"IL-1 signature": {"rho": -1.5}}), "prior rho = -1.5"),
        (dict(design=Design(blinded=True)), "configuration is blinded"),
    ],
)
def test_bad_input_stops_before_anything_is_written(values, tmp_path, change, match):
    kwargs = dict(endpoints=ENDPOINTS, targets=TARGETS, design=Design(), n_trials=200, n_bootstrap=200)
    kwargs.update(change)
    with pytest.raises(TmeInputError, match=match):
        planning = plan_next_trial(
            values, kwargs.pop("design"), kwargs.pop("endpoints"), kwargs.pop("targets"), **kwargs
        )
        write_planning(planning, tmp_path / "planning.tsv", tmp_path / "grid.tsv", tmp_path / "a.md")
    assert not any(tmp_path.iterdir())


def test_too_few_pairs_explains_and_suggests_a_prior(values):
    few = values[values["patient_id"].isin(["P00", "P01", "P02", "P20", "P21"]) | (values["feature"] == "cd68")]
    with pytest.raises(TmeInputError, match=r"too few patients with both samples.*priors"):
        plan_next_trial(few, Design(), ENDPOINTS, TARGETS, n_trials=200, n_bootstrap=200)
    planning = plan_next_trial(
        few,
        Design(),
        ENDPOINTS,
        TARGETS,
        n_trials=200,
        n_bootstrap=200,
        priors={"IL-1 signature": {"rho": 0.6, "post_sd": 0.6}},
    )
    row = planning.table.set_index("endpoint").loc["IL-1 signature"]
    assert row["source"] == "prior: post_sd, rho" and row["residual_sd"] == pytest.approx(0.48)
    assert "(prior value)" in planning.assumptions


def test_resolve_targets_keeps_plan_order():
    resolved = resolve_targets(["b", "a"], {"a": Target("a", 1.0), "b": {"effect": 2.0, "scale": "ln"}})
    assert list(resolved) == ["b", "a"] and resolved["b"].difference == pytest.approx(np.log(2))


def test_more_baseline_covariates_cost_degrees_of_freedom(values):
    common = dict(n_grid=[10], effect_multipliers=(1.0,), n_trials=100, n_bootstrap=100)
    one = plan_next_trial(values, Design(), ENDPOINTS, TARGETS, **common).table.set_index("endpoint")
    four = plan_next_trial(values, Design(), ENDPOINTS, TARGETS, n_covariates=4, **common).table.set_index("endpoint")
    row = one.loc["IL-1 signature"]
    expected = np.ceil(ancova_sample_size(row["target_difference"], row["residual_sd"], 0.025, 0.8, 4))
    assert four.loc["IL-1 signature", "n_pairs_per_arm"] == expected >= row["n_pairs_per_arm"]
    assert (four["n_covariates"] == 4).all() and (four["mde_difference"] > one["mde_difference"]).all()


def test_sizes_and_levels_are_checked(values):
    for kwargs, match in (
        (dict(n_per_arm=1), "not whole numbers >= 2"),
        (dict(n_grid=[4, 2.5]), "not whole"),
        (dict(conf_level=1.2), "confidence level 1.2"),
    ):
        with pytest.raises(TmeInputError, match=match):
            plan_next_trial(values, Design(), ENDPOINTS, TARGETS, n_trials=100, n_bootstrap=100, **kwargs)


def test_a_tiny_target_is_planned_but_not_simulated(values):
    tiny = {"IL-1 signature": {"effect": 1.001, "scale": "log2"}, "CD68": {"effect": -0.3}}
    planning = plan_next_trial(
        values, Design(), ENDPOINTS, tiny, n_trials=100, n_bootstrap=100, effect_multipliers=(1.0,)
    )
    row = planning.table.set_index("endpoint").loc["IL-1 signature"]
    assert row["n_per_arm"] > 100_000 and np.isnan(row["power_simulated"])
    assert planning.grid["n_per_arm"].max() <= 2000
    assert "too large to simulate" in planning.assumptions and "nan" not in planning.assumptions
