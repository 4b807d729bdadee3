"""tme on a real SLURM: the shipped profile submits every job with sbatch and gives the same tables.

A session fixture starts a single-node SLURM on localhost with tests/cluster/start_slurm.sh
(apt-installs slurmctld/slurmd/munge when missing) and stops it by PID afterwards.  The
workflow runs with ``--profile workflow/profiles/slurm --profile tests/cluster/profile-test``:
the shipped profile plus a test override (partition ``debug``, squeue status checks, short
intervals).  Nothing is mocked.

The workflow runs on the suite's shared small cohort with the config of the suite's shared local
run (``small_cohort``, ``small_run`` in tests/conftest.py), which is the reference the SLURM
tables are compared with byte for byte: no second local run of the same workflow. That config has
no analysis plan and no ``planning`` section, so the ``planning`` rule is not submitted here (its
resources are in the shipped profile like every other rule's; it runs locally in tests/test_readme.py
and tests/test_plan_workflow.py).

Skipped only where SLURM cannot run at all (not root, or neither apt-get nor SLURM binaries);
with ``CI=true`` that is a failure instead, so CI cannot go green without running these tests.

    .venv/bin/python -m pytest -m slurm tests/test_slurm.py
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from conftest import cohort_config

pytestmark = pytest.mark.slurm

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = ROOT / "tests" / "cluster"
START = CLUSTER / "start_slurm.sh"
STOP = CLUSTER / "stop_slurm.sh"
TEST_PROFILE = CLUSTER / "profile-test"
IN_CI = os.environ.get("CI", "").lower() == "true"
# Every snakemake call gets a hard timeout so that a hang fails the test instead of CI.
RUN_TIMEOUT = int(os.environ.get("TME_SLURM_RUN_TIMEOUT", "300"))
# The resume test runs the workflow up to this rule (a short chain of SLURM jobs).
RESUME_TARGET = "score_signatures"
# Results compared byte for byte between the local and the SLURM run.
COMPARED_DIRS = ("results/tables", "results/qc")
# Files that legitimately differ between two runs (time stamps, host names, versions).
VOLATILE = re.compile(r"(provenance|session|versions?|timestamp|benchmark)", re.IGNORECASE)

SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+)")
LOCALRULE = re.compile(r"^localrule (\w+):", re.MULTILINE)
FINISHED = re.compile(r"^Finished jobid: \d+ \(Rule: (\w+)\)", re.MULTILINE)
JOB_STATS_ROW = re.compile(r"^(\w+)\s+(\d+)\s*$")


def snakemake_bin() -> str:
    candidate = Path(sys.executable).with_name("snakemake")
    return str(candidate) if candidate.exists() else (shutil.which("snakemake") or "snakemake")


# --------------------------------------------------------------------------- cluster fixture
def _cannot_run_slurm(reason: str):
    if IN_CI:
        pytest.fail(f"CI=true but SLURM cannot run on this machine: {reason}")
    pytest.skip(f"SLURM cannot run on this machine: {reason}")


@pytest.fixture(scope="session")
def slurm_cluster():
    """A running single-node SLURM (partition ``debug``); stopped afterwards if started here."""
    have_binaries = all(shutil.which(b) for b in ("slurmctld", "slurmd", "sbatch", "munged"))
    if os.geteuid() != 0:
        _cannot_run_slurm("start_slurm.sh needs root (it installs packages and writes /etc/slurm)")
    if not sys.platform.startswith("linux"):
        _cannot_run_slurm("needs Linux")
    if not have_binaries and not shutil.which("apt-get"):
        _cannot_run_slurm("no SLURM binaries and no apt-get to install them")

    started = subprocess.run(["bash", str(START)], capture_output=True, text=True, timeout=600)
    if started.returncode == 2:  # start_slurm.sh: "this machine cannot run SLURM"
        _cannot_run_slurm(started.stderr.strip() or started.stdout.strip())
    assert started.returncode == 0, (
        f"start_slurm.sh failed (exit {started.returncode}):\n{started.stdout}\n{started.stderr}"
    )
    already_running = "already running" in started.stdout
    try:
        yield
    finally:
        if not already_running:  # leave a cluster the developer started by hand alone
            subprocess.run(["bash", str(STOP)], capture_output=True, text=True, timeout=120)


# --------------------------------------------------------------------------- helpers
def copy_workflow(dest: Path, cohort: Path) -> Path:
    """A private copy of the runnable workflow (Snakefile, workflow/, config/, envs/) whose
    config/config.yaml is the shared local run's config (:func:`conftest.cohort_config` of *cohort*)."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "Snakefile", dest / "Snakefile")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for sub in ("workflow", "config", "envs"):
        if (ROOT / sub).is_dir():
            shutil.copytree(ROOT / sub, dest / sub, ignore=ignore)
    (dest / "config" / "config.yaml").write_text(yaml.safe_dump(cohort_config(cohort)))
    return dest


def slurm_cmd(*extra: str) -> list[str]:
    return [
        snakemake_bin(),
        "--profile",
        str(ROOT / "workflow" / "profiles" / "slurm"),
        "--profile",
        str(TEST_PROFILE),
        *extra,
    ]


def run(cmd: list[str], cwd: Path, timeout: int = RUN_TIMEOUT) -> subprocess.CompletedProcess:
    """Run snakemake with a hard timeout; the output is kept next to the workflow for debugging."""
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"`{' '.join(cmd)}` did not finish within {timeout} s (hang?):\n{(exc.stderr or b'')[-3000:]!r}")
    (cwd / f"run-{time.monotonic_ns()}.log").write_text(done.stdout + done.stderr)
    return done


def job_counts(log: str) -> Counter:
    """Snakemake's own "Job stats" table (rule -> job count), without the ``total`` row."""
    counts, in_table = Counter(), False
    for line in log.splitlines():
        if line.startswith("Job stats:"):
            counts, in_table = Counter(), True
            continue
        if in_table:
            if not line.strip():
                if counts:
                    break
                continue
            match = JOB_STATS_ROW.match(line.strip())
            if match and match[1] != "total":
                counts[match[1]] += int(match[2])
    return counts


def squeue_states() -> dict[str, str]:
    """Every job slurmctld still knows (MinJobAge=3600 s), finished ones included."""
    out = subprocess.run(
        ["squeue", "-h", "-t", "all", "-o", "%i %T"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    return dict(line.split() for line in out.splitlines() if line.strip())


def last_job_id() -> int:
    """The newest SLURM job id so far (0 if none): later jobs belong to the test at hand."""
    return max((int(i) for i in squeue_states() if i.isdigit()), default=0)


def jobs_in(workdir: Path, after: int, states: str = "all") -> list[tuple[str, str]]:
    """(job id, state) of the SLURM jobs newer than *after* that ran in *workdir*."""
    out = subprocess.run(
        ["squeue", "-h", "-t", states, "-o", "%i|%T|%Z"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    rows = [line.split("|") for line in out.splitlines() if line.count("|") == 2]
    return [(i, s) for i, s, d in rows if i.isdigit() and int(i) > after and Path(d) == workdir]


def result_files(workdir: Path) -> dict[str, bytes]:
    files = {}
    for sub in COMPARED_DIRS:
        for path in sorted((workdir / sub).rglob("*")):
            rel = path.relative_to(workdir).as_posix()
            if path.is_file() and not VOLATILE.search(path.name):
                files[rel] = path.read_bytes()
    return files


def assert_same_results(local: dict[str, bytes], workdir: Path, part: bool = False):
    """Byte-for-byte equal result tables; with *part*, only those the SLURM run made."""
    cluster = result_files(workdir)
    assert local, "the local run produced no files under " + ", ".join(COMPARED_DIRS)
    assert cluster, "the SLURM run produced no files under " + ", ".join(COMPARED_DIRS)
    if part:
        assert set(cluster) <= set(local), f"not made locally: {sorted(set(cluster) - set(local))}"
    else:
        assert sorted(cluster) == sorted(local), (
            f"different files: only local {sorted(set(local) - set(cluster))}, "
            f"only SLURM {sorted(set(cluster) - set(local))}"
        )
    differing = [name for name in cluster if local[name] != cluster[name]]
    assert not differing, f"SLURM results differ byte-for-byte from the local run: {differing}"


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def local_results(small_run):
    """The reference: the suite's shared local run of the same config (tests/conftest.py)."""
    return result_files(small_run)


def stop_process_group(proc: subprocess.Popen):
    """Stop a snakemake started here (and only it: its own process group)."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


# --------------------------------------------------------------------------- tests
# The short tests come first (the shared local run may still be building on another worker).
def test_nonexistent_partition_fails_fast_with_slurms_message(slurm_cluster, small_cohort, tmp_path):
    workdir = copy_workflow(tmp_path / "wf", small_cohort)
    bad = tmp_path / "profile-bad-partition"
    bad.mkdir()
    (bad / "config.yaml").write_text(
        "default-resources:\n  slurm_partition: no_such_partition\n  mem_mb: 1000\n  runtime: 10\n"
    )
    before, started = last_job_id(), time.monotonic()
    done = run(slurm_cmd("--profile", str(bad)), cwd=workdir, timeout=120)
    elapsed = time.monotonic() - started
    log = done.stdout + done.stderr
    assert done.returncode != 0, "a nonexistent partition was accepted"
    assert re.search(r"invalid partition", log, re.IGNORECASE), (
        f"SLURM's 'invalid partition' message is not shown:\n{log[-3000:]}"
    )
    assert "no_such_partition" in log
    assert elapsed < 60, f"took {elapsed:.0f} s to report a bad partition"
    assert not jobs_in(workdir, after=before), "jobs were queued despite the bad partition"


MEMORY_HOG = """\
rule all:
    input: "out/hog.txt"

rule hog:
    output: "out/hog.txt"
    log: "logs/hog.log"
    resources:
        mem_mb=lambda wc, attempt: 600 * attempt,  # attempt 1: 600 MB < what it uses
        runtime=5,
    shell:
        # touches 600 MB for 4 s; with the job-step Snakemake (~250 MB) it needs ~850 MB
        "{python} -c 'import time; b = bytearray(600 << 20); b[::4096] = bytes(len(b[::4096])); "
        "time.sleep(4)' 2> {{log}} && echo {{resources.mem_mb}} > {{output}}"
"""


def test_job_over_its_memory_is_retried_with_more(slurm_cluster, tmp_path):
    """SLURM kills a job that exceeds its --mem (OverMemoryKill in the test slurm.conf); with
    ``retries`` Snakemake resubmits it with ``attempt`` = 2 and twice the memory, and it passes."""
    workdir = tmp_path / "hog"
    workdir.mkdir()
    (workdir / "Snakefile").write_text(MEMORY_HOG.format(python=sys.executable))
    done = run(slurm_cmd("--retries", "1"), cwd=workdir, timeout=180)
    log = done.stdout + done.stderr
    assert done.returncode == 0, f"the retried job did not pass:\n{log[-4000:]}"
    ids = [slurm_id for _, slurm_id in SUBMITTED.findall(log)]
    assert len(ids) == 2, f"expected one failed and one retried submission, got {ids}"
    states = squeue_states()
    assert [states.get(i) for i in ids] == ["FAILED", "COMPLETED"], states
    first_log = next((workdir / ".snakemake" / "slurm_logs").rglob(f"{ids[0]}.log")).read_text()
    assert "exceeded memory limit" in first_log, first_log[-2000:]
    assert (workdir / "out" / "hog.txt").read_text().strip() == "1200"


def test_every_job_goes_through_sbatch_and_matches_local(slurm_cluster, local_results, small_cohort, tmp_path):
    workdir = copy_workflow(tmp_path / "wf", small_cohort)
    before, started = last_job_id(), time.monotonic()
    done = run(slurm_cmd(), cwd=workdir)
    elapsed = time.monotonic() - started
    log = done.stdout + done.stderr
    assert done.returncode == 0, f"SLURM run failed:\n{log[-4000:]}"

    counts = job_counts(log)
    assert counts, "no 'Job stats' table in Snakemake's output"
    local_jobs = Counter(LOCALRULE.findall(log))
    submitted = dict(SUBMITTED.findall(log))  # snakemake job id -> SLURM job id
    expected = sum(counts.values()) - sum(local_jobs.values())
    assert expected > 0, f"every job ran locally ({dict(local_jobs)}); nothing went to SLURM"
    assert len(submitted) == expected, (
        f"{len(submitted)} jobs submitted with sbatch, but Snakemake ran {sum(counts.values())} "
        f"jobs of which {sum(local_jobs.values())} local ({dict(local_jobs)})"
    )
    assert len(set(submitted.values())) == len(submitted), "a SLURM job id was reported twice"
    assert all(int(i) > before for i in submitted.values()), "stale SLURM job ids in the log"

    # SLURM itself confirms each job: it ran in this directory and COMPLETED.
    states = squeue_states()
    mine = dict(jobs_in(workdir, after=before))
    for slurm_id in submitted.values():
        assert states.get(slurm_id) == "COMPLETED", f"SLURM job {slurm_id}: {states.get(slurm_id)}"
        assert slurm_id in mine, f"SLURM job {slurm_id} did not run in {workdir}"
        logs = list((workdir / ".snakemake" / "slurm_logs").rglob(f"{slurm_id}.log"))
        assert logs, f"no .snakemake/slurm_logs/**/{slurm_id}.log"

    assert_same_results(local_results, workdir)
    print(
        f"\nSLURM run: {len(submitted)} jobs via sbatch, {sum(local_jobs.values())} local "
        f"({dict(local_jobs)}), {elapsed:.0f} s"
    )


def test_resume_after_a_cancelled_job(slurm_cluster, local_results, small_cohort, tmp_path):
    """Cancel a running job with scancel; the same command again finishes only what is missing.

    Runs the part of the workflow up to RESUME_TARGET (ingest, then scoring) to keep it short;
    the whole workflow is covered by the test above."""
    workdir = copy_workflow(tmp_path / "wf", small_cohort)
    log_path = workdir / "first-run.log"
    before = last_job_id()
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            slurm_cmd(RESUME_TARGET),
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        # Cancel a RUNNING job once another one has COMPLETED, so that the rerun must keep
        # finished work and redo only the rest.
        victim, deadline = None, time.monotonic() + 240
        while victim is None and time.monotonic() < deadline and proc.poll() is None:
            jobs = jobs_in(workdir, after=before)
            if any(state == "COMPLETED" for _, state in jobs):
                victim = next((i for i, state in jobs if state == "RUNNING"), None)
                if victim and subprocess.run(["scancel", victim], timeout=30).returncode != 0:
                    victim = None  # it finished in between: wait for the next one
            time.sleep(0.2)
        assert victim, f"no job was RUNNING after a COMPLETED one:\n{log_path.read_text()[-3000:]}"
        proc.wait(timeout=RUN_TIMEOUT)
    finally:
        stop_process_group(proc)
    first = log_path.read_text()
    assert proc.returncode != 0, f"snakemake succeeded although job {victim} was cancelled"
    assert victim in first and "CANCELLED" in first, (
        f"the cancelled SLURM job {victim} is not reported:\n{first[-3000:]}"
    )

    # Same command again: rerun-incomplete (in the profile) redoes only what is missing.
    done = run(slurm_cmd(RESUME_TARGET), cwd=workdir)
    second = done.stdout + done.stderr
    assert done.returncode == 0, f"resumed run failed:\n{second[-4000:]}"
    assert SUBMITTED.findall(second), "the resumed run submitted nothing after a failed first run"
    # Exactly the jobs that did not finish the first time are run again.
    finished_first = Counter(FINISHED.findall(first))
    assert job_counts(second) == job_counts(first) - finished_first, (
        f"first run: {dict(job_counts(first))}, finished {dict(finished_first)}; "
        f"the resumed run ran {dict(job_counts(second))}"
    )
    assert RESUME_TARGET in job_counts(second), f"{RESUME_TARGET} was not rerun"
    assert_same_results(local_results, workdir, part=True)
