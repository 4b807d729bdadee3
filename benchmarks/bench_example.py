"""Wall clock of a cohort from scratch (``snakemake --cores 2``, then ``--report``), per rule: the
bundled example (default) or CheckMate-038 (Riaz 2017, ``--cohort riaz2017``).

Each round runs the workflow in a fresh directory (the example: ``config/`` linked in; Riaz: the
config ``tme prepare riaz2017`` writes once, before the rounds, with absolute paths to
``../shared/validation/riaz2017``; nothing cached but the Python bytecode), then builds the report,
and reads each job's start and end from Snakemake's log. One warm-up round is not counted; the
medians over the counted rounds are reported with the load. The anchor, timed in the same rounds,
is Snakemake's dry run of the same workflow (parsing the Snakefile and building the DAG: the floor
every run pays before its first job). Without ``../shared/validation/riaz2017`` the Riaz benchmark
says so and exits 0.

Usage::

    .venv/bin/python benchmarks/bench_example.py --rounds 3
    .venv/bin/python benchmarks/bench_example.py --cohort riaz2017 --rounds 3

The last line is ``RESULT <cohort>_s=<workflow> report_s=<report> total_s=<both> dry_run_s=<anchor>
total_vs_dry_run=<ratio> rule_<name>=<s> ... target_s=<bar> meets_target=<bool> load=<l> rounds=<r>``
(bars of issue 20, workflow + report: 45 s for the example, 60 s for Riaz 2017).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")


RIAZ = REPO.parent / "shared" / "validation" / "riaz2017"
RIAZ_FILES = (
    "GSE91061_BMS038109Sample.hg19KnownGene.raw.csv.gz",
    "bms038_clinical_data.csv",
    "SampleTableCorrected.9.19.16.csv",
)
TARGETS = {"example": 45.0, "riaz2017": 60.0}  # seconds, workflow + report (issue 20)


def _snakemake(workdir: Path, configfile: Path, *args: str) -> float:
    """Seconds of one Snakemake call on ``configfile`` in ``workdir`` (its log names each job's rule)."""
    cmd = [str(SNAKEMAKE), "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir)]
    cmd += ["--configfile", str(configfile), "--cores", "2", *args]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    return time.perf_counter() - start


def rule_seconds(log: Path) -> dict[str, float]:
    """Each job's seconds from its start to its end (Snakemake's log stamps lines to the second)."""
    started, seconds, stamp = {}, {}, None
    for line in log.read_text().splitlines():
        if match := STAMP.match(line):
            stamp = datetime.strptime(match.group(1), "%a %b %d %H:%M:%S %Y")
        elif match := re.match(r"\s*(?:local)?rule (\w+):", line):
            started[match.group(1)] = stamp
        elif (match := re.match(r"Finished jobid: \d+ \(Rule: (\w+)\)", line)) and match.group(1) in started:
            seconds[match.group(1)] = (stamp - started[match.group(1)]).total_seconds()
    return seconds


def prepare_riaz(out: Path) -> Path | None:
    """``tme prepare riaz2017`` into ``out``; its config, or None when the shared data are absent."""
    if not all((RIAZ / name).exists() for name in RIAZ_FILES):
        return None
    tme = Path(sys.executable).with_name("tme")
    counts, clinical, table = (str(RIAZ / name) for name in RIAZ_FILES)
    cmd = [str(tme), "prepare", "riaz2017", "--counts", counts, "--clinical", clinical, "--sample-table", table]
    subprocess.run([*cmd, "--out", str(out)], check=True, capture_output=True)
    return out / "config.yaml"


def one_round(configfile: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="tme-bench-") as tmp:
        work = Path(tmp)
        (work / "config").symlink_to(REPO / "config")  # the example's relative paths
        dry = _snakemake(work, configfile, "--dry-run")
        workflow = _snakemake(work, configfile)
        report = _snakemake(work, configfile, "--report", str(work / "report.html"))
        # the run's log: the one with finished jobs (the dry run and the report write their own)
        rules = max((rule_seconds(p) for p in (work / ".snakemake" / "log").glob("*.log")), key=len)
    return {"workflow": workflow, "report": report, "dry_run": dry, **{f"rule:{k}": v for k, v in rules.items()}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="counted rounds (one warm-up round first)")
    parser.add_argument("--cohort", choices=sorted(TARGETS), default="example")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tme-prepared-") as prepared:
        configfile = REPO / "config" / "config.yaml"
        if args.cohort == "riaz2017" and (configfile := prepare_riaz(Path(prepared))) is None:
            print(f"SKIP {RIAZ} is absent (the shared folder sits beside the checkout); nothing timed")
            return
        one_round(configfile)
        rounds = []
        for i in range(args.rounds):
            rounds.append(one_round(configfile))
            print(f"round {i + 1}: workflow {rounds[-1]['workflow']:.1f} s, report {rounds[-1]['report']:.1f} s, "
                  f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
    median = {k: statistics.median(r.get(k, 0.0) for r in rounds) for k in rounds[0]}
    rules = sorted(((k[5:], v) for k, v in median.items() if k.startswith("rule:")), key=lambda kv: -kv[1])
    for name, seconds in rules:
        print(f"  {name:<28} {seconds:6.0f} s")
    total = median["workflow"] + median["report"]
    target = TARGETS[args.cohort]
    print(
        f"RESULT {args.cohort}_s={median['workflow']:.1f} report_s={median['report']:.1f} total_s={total:.1f} "
        f"dry_run_s={median['dry_run']:.1f} total_vs_dry_run={total / median['dry_run']:.1f} "
        + " ".join(f"rule_{name}={seconds:.0f}" for name, seconds in rules[:4])
        + f" target_s={target:g} meets_target={total <= target} load={os.getloadavg()[0]:.1f} rounds={args.rounds}"
    )


if __name__ == "__main__":
    main()
