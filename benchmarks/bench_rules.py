"""Benchmark: wall time of rules of the example workflow (every figure rule by default), against a
bare-matplotlib anchor.

The example (``config/config.yaml``) is run once into ``--workdir`` (skipped when its tables are
already there). Then, for each of ``--rounds`` rounds, Snakemake reruns the rules (``--rules``;
default every ``plot_*`` rule with a job in the example) with ``--forcerun`` on one core, so the
jobs run one after another and do not compete with each other; each job's wall time is read from Snakemake's own
record (``.snakemake/metadata``: ``endtime − starttime`` of the job's outputs). This is the time a
user waits for the rule: Python start, the script's imports, reading the tables, drawing and
writing every file.

Anchor, measured before and after every round in the same run: a fresh Python process that imports
matplotlib (Agg) and saves an empty figure as PNG (``savefig`` of a bare figure): the floor of
any figure rule. Ratios against it make runs on a loaded machine comparable; the load average is
printed too. Medians over the rounds.

Usage::

    .venv/bin/python benchmarks/bench_rules.py                          # figure rules; ~3 min the first time
    .venv/bin/python benchmarks/bench_rules.py --rules paired_statistics --target 3 --rounds 5
    # another checkout's rules (e.g. the code before a change), same tables:
    PYTHONPATH=/path/to/checkout/src .venv/bin/python benchmarks/bench_rules.py \\
        --snakefile /path/to/checkout/Snakefile --workdir /tmp/other-run

Last line: ``RESULT rules=<n> rounds=<r> max_rule_s=<t> max_rule=<name> median_rule_s=<t>
anchor_s=<t> max_over_anchor=<x> sum_rules_s=<t> target_s=<t> meets_target=<bool> load1=<l>``
(targets of issue 20: 2 s for a figure rule, 3 s for ``paired_statistics``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
ANCHOR = (
    "import io, matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt; "
    "fig = plt.figure(figsize=(7, 4)); fig.savefig(io.BytesIO(), format='png', dpi=150)"
)
FIGURE_TARGET = 2.0  # seconds per figure rule (issue 20)


def _snakemake(snakefile: Path, workdir: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [str(SNAKEMAKE), "--snakefile", str(snakefile), "--directory", str(workdir), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})


def prepare(snakefile: Path, workdir: Path) -> None:
    """Run the example once (every rule) unless its between-arm table is already there."""
    if (workdir / "results" / "tables" / "effects_between_arms.tsv").exists():
        return
    workdir.mkdir(parents=True, exist_ok=True)
    if not (workdir / "config").exists():
        (workdir / "config").symlink_to(snakefile.resolve().parent / "config")  # the checkout's own example
    start = time.perf_counter()
    done = _snakemake(snakefile, workdir, "--cores", "2")
    if done.returncode:
        sys.exit(f"the example run failed:\n{done.stderr[-3000:]}")
    print(f"example run: {time.perf_counter() - start:.1f} s", flush=True)


def figure_rules(snakefile: Path, workdir: Path) -> list[str]:
    """The ``plot_*`` rules with a job in this run's DAG (rules of switched-off modalities excluded)."""
    done = _snakemake(snakefile, workdir, "--forceall", "--dry-run", "--quiet", "rules")
    names = {line.split()[0] for line in done.stdout.splitlines() if line.strip()}
    return sorted(name for name in names if name.startswith("plot_"))


def job_seconds(workdir: Path, rules: list[str]) -> dict[str, float]:
    """Wall time of each rule's last job, from Snakemake's metadata records."""
    times: dict[str, tuple[float, float]] = {}
    for record in (workdir / ".snakemake" / "metadata").iterdir():
        try:
            meta = json.loads(record.read_text())
        except (OSError, ValueError):
            continue
        if meta.get("rule") in rules and meta.get("starttime") and meta.get("endtime"):
            start, end = times.get(meta["rule"], (meta["starttime"], meta["endtime"]))
            times[meta["rule"]] = (max(start, meta["starttime"]), max(end, meta["endtime"]))
    return {rule: end - start for rule, (start, end) in times.items()}


def anchor_seconds() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", ANCHOR], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/tme-bench-rules"))
    parser.add_argument("--snakefile", type=Path, default=REPO / "Snakefile")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rules", nargs="+", help="rules to time (default: every plot_* rule of the example)")
    parser.add_argument("--target", type=float, default=FIGURE_TARGET, help="seconds a rule should take at most")
    args = parser.parse_args()
    workdir = args.workdir.resolve()
    prepare(args.snakefile, workdir)
    rules = args.rules or figure_rules(args.snakefile, workdir)
    anchor_seconds()  # warm-up: file cache, fonts
    per_rule: dict[str, list[float]] = {rule: [] for rule in rules}
    anchors = [anchor_seconds()]
    for round_ in range(args.rounds):
        done = _snakemake(args.snakefile, workdir, "--cores", "1", "--forcerun", *rules, "--quiet", "rules")
        if done.returncode:
            sys.exit(f"round {round_ + 1} failed:\n{done.stderr[-3000:]}")
        for rule, seconds in job_seconds(workdir, rules).items():
            per_rule[rule].append(seconds)
        anchors.append(anchor_seconds())
    anchor = statistics.median(anchors)
    medians = {rule: statistics.median(v) for rule, v in per_rule.items() if v}
    print(f"{'rule':28s} {'median s':>9s} {'× anchor':>9s}   runs")
    for rule, seconds in sorted(medians.items(), key=lambda kv: -kv[1]):
        runs = " ".join(f"{v:.2f}" for v in per_rule[rule])
        print(f"{rule:28s} {seconds:9.2f} {seconds / anchor:9.2f}   {runs}")
    print(f"{'anchor (bare savefig)':28s} {anchor:9.2f} {1:9.2f}   " + " ".join(f"{v:.2f}" for v in anchors))
    slowest = max(medians, key=medians.get)
    print(
        f"RESULT rules={len(medians)} rounds={args.rounds} max_rule_s={medians[slowest]:.2f} max_rule={slowest} "
        f"median_rule_s={statistics.median(medians.values()):.2f} anchor_s={anchor:.2f} "
        f"max_over_anchor={medians[slowest] / anchor:.2f} sum_rules_s={sum(medians.values()):.2f} "
        f"target_s={args.target:g} meets_target={medians[slowest] <= args.target} load1={os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
