"""The command line: every bad argument gives one line (no traceback) and a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from test_planning_settings import ENDPOINTS, TARGETS, trial_values

from tme import __version__
from tme.cli import main as tme_main

TME = str(Path(sys.executable).with_name("tme"))

BAD = {
    "no command": [],
    "unknown command": ["bogus"],
    "non-integer option": ["simulate", "--out", "{tmp}/x", "--patients", "x"],
    "patients not in blocks of 4": ["simulate", "--out", "{tmp}/x", "--patients", "6"],
    "too few genes": ["simulate", "--out", "{tmp}/x", "--genes", "3000"],
    "single cell: patients not in blocks of 4": ["simulate", "--single-cell", "--out", "{tmp}/x", "--patients", "5"],
    "nanostring: patients not in blocks of 4": ["simulate", "--nanostring", "--out", "{tmp}/x", "--patients", "6"],
    "nanostring and single cell together": ["simulate", "--nanostring", "--single-cell", "--out", "{tmp}/x"],
    "missing required option": ["prepare", "riaz2017"],
    "config that does not exist": ["validate", "--config", "{tmp}/none.yaml"],
    "run with a config that does not exist": ["run", "--config", "{tmp}/none.yaml"],
    "output under a file": ["simulate", "--out", "{tmp}/file/x"],
    "unknown option": ["validate", "--configg", "x"],
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_arguments_give_one_line(tmp_path, case):
    (tmp_path / "file").write_text("not a directory")
    args = [a.replace("{tmp}", str(tmp_path)) for a in BAD[case]]
    done = subprocess.run([TME, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("tme") and "error" in done.stderr, done.stderr


def test_version():
    done = subprocess.run([TME, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"tme {__version__}"


# ----------------------------------------------------------------------------- tme power
def _power_config(tmp_path, cohort, **top) -> Path:
    """A config on the small cohort with a plan (CD68 and the IL-1 signature primary) and a planning section."""
    import yaml

    config = {
        "samples": str(cohort / "samples.tsv"),
        "immune": {"path": str(cohort / "immune.tsv")},
        "analysis_plan": {"endpoints": ENDPOINTS},
        "planning": {"targets": TARGETS, "n_trials": 100, "n_bootstrap": 100, "n_grid": [5, 10]},
        **top,
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({k: v for k, v in config.items() if v is not None}))
    return path


def test_power_from_a_values_table(tmp_path, small_cohort, capsys):
    values = tmp_path / "values.tsv"
    trial_values().to_csv(values, sep="\t", index=False)
    config = _power_config(tmp_path, small_cohort)
    outputs = []
    for out in ("a", "b"):
        assert tme_main(["power", "--config", str(config), "--values", str(values), "--out", str(tmp_path / out)]) == 0
        printed = capsys.readouterr().out.splitlines()
        assert printed[0].startswith("tam: randomise ") and printed[1].startswith("il1: randomise ")
        files = sorted(p.relative_to(tmp_path / out) for p in (tmp_path / out).rglob("*") if p.is_file())
        outputs.append({str(f): (tmp_path / out / f).read_bytes() for f in files})
    assert set(outputs[0]) == {
        "tables/planning.tsv",
        "tables/planning_power_grid.tsv",
        "tables/planning_assumptions.md",
        "tables/planning_internal_pilot.tsv",
        *(f"figures/planning/power_curves.{ext}" for ext in ("png", "pdf", "svg")),
    }
    assert outputs[0] == outputs[1]  # same inputs and seed: the same bytes


def test_blinded_power_from_pooled_values(tmp_path, small_cohort, capsys):
    values = tmp_path / "pooled.tsv"
    trial_values().drop(columns="arm").to_csv(values, sep="\t", index=False)
    config = _power_config(tmp_path, small_cohort, blinded=True)
    assert (
        tme_main(["power", "--config", str(config), "--values", str(values), "--out", str(tmp_path), "--blinded"]) == 0
    )
    table = pd.read_csv(tmp_path / "tables" / "planning_blinded.tsv", sep="\t")
    pairs = trial_values().groupby("feature")["patient_id"].apply(lambda p: int(p.duplicated().sum()))
    assert list(table["endpoint"]) == ["tam", "il1"]
    assert list(table["n_pairs_pilot"]) == [pairs["CD68"], pairs["TME_IL1_INDUCED|singscore"]]
    assert capsys.readouterr().out.splitlines()[0].startswith("tam: randomise ")


POWER_BAD = {
    "no planning section": ({"planning": None}, [], "config key 'planning' is not set"),
    "--blinded on an unblinded config": ({}, ["--blinded"], "config key 'blinded' is false, but --blinded"),
    "a blinded config without --blinded": ({"blinded": True}, [], "add --blinded"),
    "no finished run": ({}, ["--results", "{tmp}/results"], "run the workflow first"),
    "values without an arm column": ({}, ["--values", "{tmp}/no_arm.tsv"], "column 'arm'"),
    "too few pairs for a correlation": ({}, ["--values", "{tmp}/few.tsv"], "planning.priors: {tam: {rho: 0.5}}"),
    "arm labels in a blinded re-estimation": ({"blinded": True}, ["--blinded", "--values", "{tmp}/values.tsv"],
                                              "'arm' column"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(POWER_BAD))
def test_power_bad_input_writes_nothing(tmp_path, small_cohort, capsys, case):
    top, args, fragment = POWER_BAD[case]
    values = trial_values()
    values.to_csv(tmp_path / "values.tsv", sep="\t", index=False)
    values.drop(columns="arm").to_csv(tmp_path / "no_arm.tsv", sep="\t", index=False)
    few = values["patient_id"].isin(["P00", "P01", "P02", "P12", "P13"])  # 2 or 3 pairs per arm
    values[few].to_csv(tmp_path / "few.tsv", sep="\t", index=False)
    config = _power_config(tmp_path, small_cohort, **top)
    before = sorted(tmp_path.rglob("*"))
    code = tme_main(["power", "--config", str(config), "--out", str(tmp_path / "out")] + [
        a.replace("{tmp}", str(tmp_path)) for a in args])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and err.startswith("tme: error: ") and "Fix:" in err, err
    assert fragment in err, err
    assert sorted(tmp_path.rglob("*")) == before  # nothing written


def test_simulate_nanostring_writes_a_runnable_panel_example(tmp_path):
    done = subprocess.run(
        [TME, "simulate", "--nanostring", "--patients", "8", "--out", str(tmp_path / "ns")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    written = {Path(line).relative_to(tmp_path / "ns").parts[0] for line in done.stdout.splitlines()}
    assert written == {
        "rcc",
        "OZM_IO360_like.rlf",
        "samples.tsv",
        "immune.tsv",
        "truth.tsv",
        "qc_truth.tsv",
        "config.yaml",
    }
    checked = subprocess.run(
        [TME, "validate", "--config", str(tmp_path / "ns" / "config.yaml")], capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 0, checked.stderr
    assert "matched to the sheet by file_name" in checked.stdout and "nCounter QC: 3 excluded" in checked.stdout
    assert "not scored: " in checked.stdout  # the coverage table, before the run
