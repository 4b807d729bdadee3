"""Shared fixtures: paths, a small simulated cohort, and a Snakemake runner."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from contextlib import contextmanager
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


@contextmanager
def built_once(tmp_path_factory, name: str):
    """A directory every xdist worker shares, built by the first worker that asks (the others wait on
    its lock, then reuse it): yields ``(directory, build)``, where ``build`` says whether to build it."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's base directory, common to the workers
    folder = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = root / f"{name}.done"
        yield folder, not done.exists()
        done.touch()


@pytest.fixture(scope="session")
def small_cohort(tmp_path_factory) -> Path:
    """A small simulated cohort (16 patients, 6,000 genes) written once per session."""
    from tme.simulate import write_cohort

    with built_once(tmp_path_factory, "small_cohort") as (out, build):
        if build:
            out.mkdir(parents=True, exist_ok=True)
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
    """The whole workflow run once on the small cohort (once for all xdist workers); returns its
    working directory. Tests only read it (or dry-run Snakemake in it)."""
    with built_once(tmp_path_factory, "small_run") as (workdir, build):
        if build:
            proc = run_workflow(workdir, cohort_config(small_cohort))
            assert proc.returncode == 0, proc.stderr[-4000:]
    return workdir


#: Modules that run whole workflows, longest first (measured with ``make test``'s durations). With
#: ``--dist loadfile --no-loadscope-reorder`` (the Makefile) xdist hands modules to workers in
#: collection order, so the long ones start first and the short ones fill the gaps at the end instead
#: of one worker idling behind SLURM. (Without ``--no-loadscope-reorder``, xdist ≥ 3.5 sorts modules
#: by their number of tests and SLURM's three tests ran last: pytest 602 s against 531 s.)
LONGEST_FIRST = (
    "test_slurm",
    "test_formats",
    "test_blinded",
    "test_validation_riaz2017",
    "test_readme",
    "test_plan_workflow",
    "test_reliability",
    "test_cells_workflow",
    "test_report_browser",
    "test_pseudonymise",
    "test_deploy",
    "test_example_analysis",
    "test_catalogue_snakemake",
)


def pytest_collection_modifyitems(config, items):
    """Put the modules of :data:`LONGEST_FIRST` first, in that order (the rest keep theirs)."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.module.__name__.rsplit(".", 1)[-1], len(rank)))
