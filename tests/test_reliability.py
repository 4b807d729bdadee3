"""Determinism and fault tolerance of whole runs.

* two runs of the same inputs and config give byte-identical outputs, figures included
  (provenance.json and the methods page, which hold the timestamps, excepted): the resumed run below
  is compared, file by file, with the shared reference run;
* a run whose Snakemake process is killed with SIGKILL mid-way, resumed with the README's commands
  as written, gives the same bytes as an uninterrupted run (Snakemake's incomplete-output tracking
  + tme's atomic writes);
* an output directory that cannot be written gives a clear error and leaves earlier outputs intact.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO, cohort_config, run_workflow

pytestmark = pytest.mark.workflow


#: The run's timestamps live in provenance.json, which the report's methods page shows.
TIMESTAMPED = {"provenance.json", "methods.html"}


def digests(results: Path) -> dict[str, str]:
    return {
        str(p.relative_to(results)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(results.rglob("*"))
        if p.is_file() and p.name not in TIMESTAMPED
    }


@pytest.fixture(scope="module")
def reference_run(small_run):
    return small_run / "results"


def readme_resume_commands() -> list[list[str]]:
    """The resume lines of the README (the fenced block after its ``resume-commands`` marker)."""
    text = (REPO / "README.md").read_text()
    block = text[text.index("<!-- resume-commands") :].split("```bash\n", 1)[1].split("```", 1)[0]
    return [shlex.split(line) for line in block.splitlines() if line.strip() and not line.startswith("#")]


def _as_in_readme(command: list[str]) -> list[str]:
    """The README's ``.venv/bin/…`` programs are this environment's."""
    program = command[0].replace(".venv/bin/", "")
    return [str(Path(sys.executable).with_name(program)), *command[1:]]


def test_sigkill_of_snakemake_then_the_readme_commands(reference_run, small_cohort, tmp_path):
    """Kill only the Snakemake process (its running jobs live on), then follow the README literally."""
    for name in ("Snakefile", "workflow", "config"):  # a checkout, as the README's commands expect
        (tmp_path / name).symlink_to(REPO / name)
    (tmp_path / "my.yaml").write_text(yaml.safe_dump(cohort_config(small_cohort)))
    commands = readme_resume_commands()
    assert [c[1] for c in commands] == ["--unlock", "--cores"], commands
    run = _as_in_readme(commands[1][:-1])  # the README's run command, without --rerun-incomplete
    proc = subprocess.Popen(run, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    flow = tmp_path / "results" / "tables" / "sample_flow.tsv"
    deadline = time.time() + 300
    while not flow.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    time.sleep(1.0)  # into the next jobs
    assert proc.poll() is None, "the run finished before it could be killed; the test needs a slower step"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for command in commands:
        done = subprocess.run(_as_in_readme(command), cwd=tmp_path, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, (command, done.stderr[-3000:])
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
