"""The Snakemake workflow end to end on a small simulated cohort, and bad input through it.

Bad input must stop the run with exit ≠ 0, one message naming the file/line/column and the fix,
and no file left under results/.
"""

from __future__ import annotations

import gzip
import subprocess

import pandas as pd
import pytest

from conftest import REPO, SNAKEMAKE, cohort_config, run_workflow

pytestmark = pytest.mark.workflow


def result_files(workdir):
    return sorted(p.relative_to(workdir) for p in (workdir / "results").rglob("*") if p.is_file())


def test_workflow_runs_and_writes_sample_flow(small_cohort, tmp_path):
    proc = run_workflow(tmp_path / "run", cohort_config(small_cohort))
    assert proc.returncode == 0, proc.stderr[-3000:]
    flow = pd.read_csv(tmp_path / "run/results/tables/sample_flow.tsv", sep="\t", keep_default_na=False)
    counts = flow[flow["step"] != "excluded"].set_index(["modality", "arm", "step"])["n_patients"]
    assert counts[("expression", "anakinra", "randomised")] == "8"
    samples = pd.read_csv(small_cohort / "samples.tsv", sep="\t", keep_default_na=False)
    excluded_in_sheet = set(samples.loc[samples["exclude_reason"] != "", "sample_id"])
    assert excluded_in_sheet <= set(flow.loc[flow["step"] == "excluded", "sample_id"])
    files = pd.read_csv(tmp_path / "run/results/qc/input_files.tsv", sep="\t")
    assert list(files["input"]) == ["samples", "expression", "immune"] and files["sha256"].str.len().eq(64).all()


def test_lint_is_clean(tmp_path):
    proc = subprocess.run([str(SNAKEMAKE), "--lint", "--snakefile", str(REPO / "Snakefile"), "--directory", str(REPO)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _sheet(cohort, edit):
    path = cohort / "samples.tsv"
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    frame = edit(frame)
    frame.to_csv(path, sep="\t", index=False)


def _matrix(cohort, edit):
    path = cohort / "salmon.merged.gene_counts.tsv.gz"
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    frame = edit(frame)
    path.write_bytes(gzip.compress(frame.to_csv(sep="\t", index=False).encode()))


def _set(frame, row, column, value):
    frame.loc[row, column] = value
    return frame


BAD = {
    "missing required column": (lambda c: _sheet(c, lambda f: f.drop(columns="timepoint")), "samples.tsv", "'timepoint'"),
    "duplicate sample_id": (lambda c: _sheet(c, lambda f: _set(f, 1, "sample_id", f.loc[0, "sample_id"])), "samples.tsv", "line 3"),
    "two pre samples": (lambda c: _sheet(c, lambda f: _set(f, 1, "timepoint", "pre")), "samples.tsv", "usable 'pre' samples"),
    "arm differs within patient": (lambda c: _sheet(c, lambda f: _set(f, 1, "arm", "anakinra" if f.loc[0, "arm"] == "usual_care" else "usual_care")), "samples.tsv", "more than one arm"),
    "unknown arm": (lambda c: _sheet(c, lambda f: _set(f, 2, "arm", "placebo")), "samples.tsv", "line 4"),
    "unknown timepoint": (lambda c: _sheet(c, lambda f: _set(f, 2, "timepoint", "surgery")), "samples.tsv", "line 4"),
    "sample missing from matrix": (lambda c: _matrix(c, lambda f: f.drop(columns=f.columns[3])), "samples.tsv", "no column in the expression matrix"),
    "matrix column not in sheet": (lambda c: _matrix(c, lambda f: f.assign(EXTRA_SAMPLE="1")), "gene_counts", "'EXTRA_SAMPLE'"),
    "non-numeric count": (lambda c: _matrix(c, lambda f: _set(f, 4, f.columns[2], "abc")), "gene_counts", "line 6"),
    "negative count": (lambda c: _matrix(c, lambda f: _set(f, 4, f.columns[2], "-3")), "gene_counts", "negative count"),
    "missing value": (lambda c: _matrix(c, lambda f: _set(f, 4, f.columns[2], "NA")), "gene_counts", "missing or infinite"),
    "duplicated gene id": (lambda c: _matrix(c, lambda f: _set(f, 5, "gene_id", f.loc[4, "gene_id"])), "gene_counts", "line 7"),
    "excel-mangled names": (lambda c: _matrix(c, lambda f: _set(f, 5, "gene_name", "1-Mar")), "gene_counts", "Excel"),
    "empty matrix": (lambda c: (c / "salmon.merged.gene_counts.tsv.gz").write_bytes(gzip.compress(b"")), "gene_counts", "empty"),
    "immune measure in two units": (lambda c: (c / "immune.tsv").open("a").write(
        pd.read_csv(c / "immune.tsv", sep="\t").iloc[0]["sample_id"] + "\tsTILs\t0.5\tfraction\n"), "immune.tsv", "more than one unit"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_stops_cleanly(copy_cohort, tmp_path, case):
    mutate, file_fragment, message_fragment = BAD[case]
    mutate(copy_cohort)
    workdir = tmp_path / "run"
    proc = run_workflow(workdir, cohort_config(copy_cohort))
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    assert file_fragment in text and message_fragment in text and "Fix:" in text, text[-3000:]
    assert result_files(workdir) == []


def test_bad_config_key_and_path(small_cohort, tmp_path):
    proc = run_workflow(tmp_path / "a", cohort_config(small_cohort, sed=1))
    assert proc.returncode != 0 and "unknown key 'sed'" in proc.stderr
    config = cohort_config(small_cohort)
    config["immune"]["path"] = str(tmp_path / "nowhere.tsv")
    proc = run_workflow(tmp_path / "b", config)
    assert proc.returncode != 0 and "'immune.path'" in proc.stderr and "does not exist" in proc.stderr
    assert not (tmp_path / "a" / "results").exists() and not (tmp_path / "b" / "results").exists()


def test_no_usable_post_in_an_arm(copy_cohort, tmp_path):
    def drop_post(frame):
        frame.loc[(frame["arm"] == "anakinra") & (frame["timepoint"] == "post"), "exclude_reason"] = "lost"
        return frame
    _sheet(copy_cohort, drop_post)
    proc = run_workflow(tmp_path / "run", cohort_config(copy_cohort))
    assert proc.returncode != 0 and "'anakinra' has no usable 'post' sample" in proc.stderr
