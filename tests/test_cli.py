"""The command line: every bad argument gives one line (no traceback) and a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tme import __version__

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
