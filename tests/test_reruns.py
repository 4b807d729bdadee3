"""Reruns follow what changed: a rule's params hold only the config keys it uses, and nothing
run-specific (command line, cores, times). Checked from Snakemake's own dry-run job list after a
finished run (the shared small run; a dry run changes nothing)."""

from __future__ import annotations

import pytest
import yaml

from conftest import cohort_config, run_workflow

pytestmark = pytest.mark.workflow


def planned_jobs(workdir, config, *args) -> dict[str, int]:
    """Rule → number of jobs Snakemake would run (its dry-run "Job stats" table)."""
    configfile = workdir / "changed.yaml"
    configfile.write_text(yaml.safe_dump(config))
    proc = run_workflow(workdir, None, "--dry-run", *args, configfile=configfile)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs, table = {}, False
    for line in (proc.stdout + proc.stderr).splitlines():
        cells = line.split()
        if cells[:2] == ["job", "count"]:
            table = True
        elif table and len(cells) == 2 and cells[1].isdigit() and cells[0] != "total":
            jobs[cells[0]] = int(cells[1])
    return jobs


def test_changing_the_bootstrap_reruns_only_the_statistics_and_what_reads_them(small_run, small_cohort):
    config = cohort_config(small_cohort, statistics={"n_bootstrap": 500})
    assert set(planned_jobs(small_run, config)) == {
        "paired_statistics",
        "plot_forest",
        "plot_change_heatmap",
        "plot_paired_features",
        "plot_tipping_point",
        "plot_residuals",
        "collect_warnings",  # reads the endpoint flow the statistics write
        "key_results",
        "report_tables",
        "provenance",
        "report_methods",
        "all",
    }


def test_changing_cores_or_the_command_line_reruns_nothing(small_run, small_cohort):
    assert planned_jobs(small_run, cohort_config(small_cohort), "--cores", "1") == {}
    assert planned_jobs(small_run, cohort_config(small_cohort), "--printshellcmds") == {}
