"""Wall clock of the bundled example from scratch (``snakemake --cores 2``, then ``--report``), per rule.

Each round runs the workflow in a fresh directory (``config/`` linked in, nothing cached but the
Python bytecode), then builds the report, and reads each job's start and end from Snakemake's log.
One warm-up round is not counted; the medians over the counted rounds are reported with the load.
The anchor, timed in the same rounds, is Snakemake's dry run of the same workflow (parsing the
Snakefile and building the DAG: the floor every run pays before its first job).

Usage::

    .venv/bin/python benchmarks/bench_example.py --rounds 3

The last line is ``RESULT example_s=<workflow> report_s=<report> total_s=<both> dry_run_s=<anchor>
total_vs_dry_run=<ratio> slowest_rule=<name>:<s> ...``.
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


def _snakemake(workdir: Path, *args: str) -> float:
    """Seconds of one Snakemake call on the example in ``workdir`` (its log names each job's rule)."""
    cmd = [str(SNAKEMAKE), "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir)]
    cmd += ["--configfile", str(REPO / "config" / "config.yaml"), "--cores", "2", *args]
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


def one_round() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="tme-example-") as tmp:
        work = Path(tmp)
        (work / "config").symlink_to(REPO / "config")
        dry = _snakemake(work, "--dry-run")
        example = _snakemake(work)
        report = _snakemake(work, "--report", str(work / "report.html"))
        # the run's log: the one with finished jobs (the dry run and the report write their own)
        rules = max((rule_seconds(p) for p in (work / ".snakemake" / "log").glob("*.log")), key=len)
    return {"example": example, "report": report, "dry_run": dry, **{f"rule:{k}": v for k, v in rules.items()}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="counted rounds (one warm-up round first)")
    args = parser.parse_args(argv)
    one_round()
    rounds = []
    for i in range(args.rounds):
        rounds.append(one_round())
        print(f"round {i + 1}: example {rounds[-1]['example']:.1f} s, report {rounds[-1]['report']:.1f} s, "
              f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
    median = {k: statistics.median(r.get(k, 0.0) for r in rounds) for k in rounds[0]}
    rules = sorted(((k[5:], v) for k, v in median.items() if k.startswith("rule:")), key=lambda kv: -kv[1])
    for name, seconds in rules:
        print(f"  {name:<28} {seconds:6.0f} s")
    total = median["example"] + median["report"]
    print(
        f"RESULT example_s={median['example']:.1f} report_s={median['report']:.1f} total_s={total:.1f} "
        f"dry_run_s={median['dry_run']:.1f} total_vs_dry_run={total / median['dry_run']:.1f} "
        + " ".join(f"rule_{name}={seconds:.0f}" for name, seconds in rules[:4])
        + f" load={os.getloadavg()[0]:.1f} rounds={args.rounds}"
    )


if __name__ == "__main__":
    main()
