"""Determinism and fault tolerance of whole runs.

* two runs of the same inputs and config give byte-identical outputs (provenance.json, which holds
  the timestamps, excepted);
* a run killed with SIGKILL mid-way and rerun with the same command gives the same bytes as an
  uninterrupted run (Snakemake's incomplete-output tracking + tme's atomic writes);
* an output directory that cannot be written gives a clear error and leaves earlier outputs intact.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO, SNAKEMAKE, cohort_config, run_workflow

pytestmark = pytest.mark.workflow


#: The run's timestamps live in provenance.json, which the report's methods page shows.
TIMESTAMPED = {"provenance.json", "methods.html"}


def digests(results: Path) -> dict[str, str]:
    return {str(p.relative_to(results)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(results.rglob("*")) if p.is_file() and p.name not in TIMESTAMPED}


@pytest.fixture(scope="module")
def reference_run(small_run):
    return small_run / "results"


def test_two_runs_are_byte_identical(reference_run, small_cohort, tmp_path):
    proc = run_workflow(tmp_path, cohort_config(small_cohort))
    assert proc.returncode == 0, proc.stderr[-3000:]
    first, second = digests(reference_run), digests(tmp_path / "results")
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []


def test_sigkill_and_rerun_is_identical(reference_run, small_cohort, tmp_path):
    import yaml

    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(cohort_config(small_cohort)))
    cmd = [str(SNAKEMAKE), "--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path),
           "--configfile", str(config), "--cores", "2", "--quiet", "rules"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    flow = tmp_path / "results" / "tables" / "sample_flow.tsv"
    deadline = time.time() + 120
    while not flow.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    time.sleep(1.0)  # into the next jobs
    assert proc.poll() is None, "the run finished before it could be killed; the test needs a slower step"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # a killed Snakemake leaves its lock behind: --unlock, then the same command (README, Data safety)
    subprocess.run(cmd + ["--unlock"], capture_output=True, text=True, timeout=120, check=True)
    rerun = subprocess.run(cmd + ["--rerun-incomplete"], capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert digests(tmp_path / "results") == digests(reference_run)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_results_directory(small_cohort, tmp_path):
    (tmp_path / "results").mkdir()
    os.chmod(tmp_path / "results", 0o555)
    try:
        proc = run_workflow(tmp_path, cohort_config(small_cohort))
    finally:
        os.chmod(tmp_path / "results", 0o755)
    assert proc.returncode != 0 and "Permission denied" in proc.stderr + proc.stdout


@pytest.fixture
def tiny_results_disk(tmp_path):
    """results/ on a 1 MiB tmpfs: room for the first tables, not for the AnnData."""
    results = tmp_path / "results"
    results.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(results)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({mounted.stderr.decode().strip()}); needs root")
    yield tmp_path
    subprocess.run(["umount", str(results)], check=True)


def test_full_disk_fails_clearly_and_keeps_earlier_results(small_cohort, tiny_results_disk):
    workdir = tiny_results_disk
    first = run_workflow(workdir, cohort_config(small_cohort), "--until", "sample_flow")
    assert first.returncode == 0, first.stderr[-3000:]
    before = digests(workdir / "results")
    proc = run_workflow(workdir, cohort_config(small_cohort))
    assert proc.returncode != 0
    assert "No space left on device" in proc.stdout + proc.stderr
    after = digests(workdir / "results")
    assert {k: after.get(k) for k in before} == before  # earlier outputs intact
    assert not [p for p in (workdir / "results").rglob("*") if p.name.endswith(".part")]  # no partial file
    assert not (workdir / "results" / "expression" / "expression.h5ad").exists()
