"""Shared fixtures: paths, a small simulated cohort, and a Snakemake runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def shared_path(*parts: str) -> Path:
    """A path under ../shared, skipping the test with a reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared reference folder sits beside the checkout in CI)")
    return path


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def small_cohort(tmp_path_factory) -> Path:
    """A small simulated cohort (16 patients, 6,000 genes) written once per session."""
    from tme.simulate import write_cohort

    out = tmp_path_factory.mktemp("cohort")
    write_cohort(out, seed=7, n_patients=16, n_genes=6000)
    return out


def cohort_config(cohort: Path, **overrides) -> dict:
    """A config dict pointing at a cohort directory (absolute paths)."""
    config = {
        "samples": str(cohort / "samples.tsv"),
        "expression": {"path": str(cohort / "salmon.merged.gene_counts.tsv.gz"), "format": "nfcore_salmon_counts"},
        "immune": {"path": str(cohort / "immune.tsv")},
    }
    config.update(overrides)
    return config


def run_workflow(
    workdir: Path, config: dict | None, *args: str, timeout: int = 600, configfile: Path | None = None
) -> subprocess.CompletedProcess:
    """Run the repository's Snakefile in ``workdir`` with ``config`` (or an existing ``configfile``);
    returns the finished process."""
    workdir.mkdir(parents=True, exist_ok=True)
    if configfile is None:
        configfile = workdir / "config.yaml"
        configfile.write_text(yaml.safe_dump(config))
    cmd = [
        str(SNAKEMAKE),
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(configfile),
        "--cores",
        "2",
        "--quiet",
        "rules",
        *args,
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="session")
def small_run(small_cohort, tmp_path_factory) -> Path:
    """The whole workflow run once on the small cohort; returns its working directory."""
    workdir = tmp_path_factory.mktemp("small_run")
    proc = run_workflow(workdir, cohort_config(small_cohort))
    assert proc.returncode == 0, proc.stderr[-4000:]
    return workdir


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (``make test``), keep the tests that share an expensive resource on one worker,
    so that it is built once: the shared small workflow run, the real SLURM cluster, and each workflow
    module's own run."""
    for item in items:
        if "small_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("small_run"))
        elif item.get_closest_marker("slurm"):
            item.add_marker(pytest.mark.xdist_group("slurm"))
        elif item.get_closest_marker("workflow"):
            # a workflow module's tests share its module-scoped run: one worker builds it once
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))
