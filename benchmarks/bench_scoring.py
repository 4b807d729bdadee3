"""Benchmark tme ssGSEA against the ranking floor and gseapy, and measure its peak memory.

Not a test. In one run, on a seeded synthetic log-normal matrix (genes x samples) scored with
the 50 MSigDB Hallmark sets:

1. the floor: one ``argsort`` of every sample (what any exact ssGSEA must at least do);
2. tme ssGSEA, single-threaded (best of ``--repeats``) and with ``n_jobs=2``;
3. gseapy ``ssgsea(sample_norm_method="rank")``, single-threaded, once; its ES divided by their
   global range must equal tme's ``normalize=True`` scores to 1e-8;
4. in a fresh subprocess, ``--big-samples`` samples: peak resident memory (``VmHWM``) of the
   whole process relative to the input matrix's ``nbytes`` (the input itself, the interpreter
   and the libraries included), and the scoring call's own peak allocations (tracemalloc).

The last line is ``RESULT speedup_vs_gseapy=<x> floor_ratio=<y> peak_mem_ratio=<z>``
(speed-up = gseapy time / tme time; floor ratio = tme time / floor time).

Usage: ``.venv/bin/python benchmarks/bench_scoring.py --genes 20000 --samples 1000 --big-samples 2000``
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

HALLMARK = Path(__file__).resolve().parents[1].parent / "shared/reference/genesets/h.all.v7.5.1.symbols.gmt"


def hallmark_sets() -> dict[str, list[str]]:
    """The 50 Hallmark sets (GMT: name, URL, genes)."""
    sets = {}
    for line in HALLMARK.read_text().splitlines():
        fields = line.split("\t")
        sets[fields[0]] = fields[2:]
    return sets


def synthetic(n_genes: int, n_samples: int, sets: dict[str, list[str]], seed: int = 20261125) -> pd.DataFrame:
    """Seeded log-normal expression, genes x samples; all Hallmark genes plus filler genes."""
    hallmark_genes = sorted({g for genes in sets.values() for g in genes})
    names = hallmark_genes + [f"FILLER{i:05d}" for i in range(n_genes - len(hallmark_genes))]
    values = np.random.default_rng(seed).lognormal(mean=1.0, sigma=1.5, size=(n_samples, n_genes))
    return pd.DataFrame(values.T, index=names[:n_genes], columns=[f"S{j:05d}" for j in range(n_samples)])


def best_of(repeats: int, *funcs):
    """Best wall time of each function over ``repeats`` rounds, interleaved so that load from
    other processes affects all of them alike; returns ``[(seconds, last result), ...]``."""
    times = [[] for _ in funcs]
    results = [None] * len(funcs)
    for _ in range(repeats):
        for i, func in enumerate(funcs):
            start = time.perf_counter()
            results[i] = func()
            times[i].append(time.perf_counter() - start)
    return [(min(t), r) for t, r in zip(times, results)]


def argsort_floor(samples_x_genes: np.ndarray) -> None:
    for row in samples_x_genes:
        np.argsort(row)


def run_gseapy(data: pd.DataFrame, sets: dict[str, list[str]]) -> pd.DataFrame:
    import gseapy

    result = gseapy.ssgsea(
        data=data,
        gene_sets=sets,
        outdir=None,
        sample_norm_method="rank",
        min_size=1,
        max_size=100_000,
        permutation_num=0,
        no_plot=True,
        threads=1,
        verbose=False,
    )
    es = result.res2d.pivot(index="Name", columns="Term", values="ES").astype(float)
    return es.loc[data.columns, list(sets)]


def memory_child(n_genes: int, n_samples: int) -> None:
    """Subprocess body: score a big matrix and print peak memory figures as JSON."""
    from tme.scoring import score

    sets = hallmark_sets()
    data = synthetic(n_genes, n_samples, sets)
    nbytes = data.to_numpy().nbytes
    tracemalloc.start()
    score(data, sets)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(json.dumps({"nbytes": nbytes, "peak_rss": peak_resident_bytes(), "traced_peak": traced_peak}))


def peak_resident_bytes() -> int:
    """This process's peak resident set size.

    ``VmHWM`` from /proc (Linux) belongs to the current program image; ``ru_maxrss`` would also
    count the parent's peak, which a child inherits across fork + exec.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--samples", type=int, default=1_000)
    parser.add_argument("--big-samples", type=int, default=2_000, help="samples for the memory run")
    parser.add_argument("--repeats", type=int, default=3, help="repeats for tme and the floor (best kept)")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.genes, args.big_samples)
        return

    from tme.scoring import score

    sets = hallmark_sets()
    data = synthetic(args.genes, args.samples, sets)
    X = data.to_numpy().T
    print(f"matrix: {args.genes} genes x {args.samples} samples, {len(sets)} Hallmark sets", flush=True)

    (t_floor, _), (t_tme, raw), (t_tme2, raw2) = best_of(
        args.repeats, lambda: argsort_floor(X), lambda: score(data, sets), lambda: score(data, sets, n_jobs=2)
    )
    identical = np.array_equal(raw.to_numpy(), raw2.to_numpy())
    print(f"argsort floor          : {t_floor:8.3f} s", flush=True)
    print(f"tme ssgsea (1 thread)  : {t_tme:8.3f} s  ({t_tme / t_floor:.2f} x floor)", flush=True)
    print(
        f"tme ssgsea (n_jobs=2)  : {t_tme2:8.3f} s  ({t_tme2 / t_floor:.2f} x floor), "
        f"bit-identical to 1 thread: {identical}",
        flush=True,
    )
    wall, cpu = time.perf_counter(), time.process_time()
    score(data, sets, n_jobs=2)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"  n_jobs=2 used {cpu / wall:.2f} cores on average (2.00 = both cores free; "
        f"below that, other processes held a core)",
        flush=True,
    )
    [(t_gseapy, es)] = best_of(1, lambda: run_gseapy(data, sets))
    print(f"gseapy ssgsea (1 thr.) : {t_gseapy:8.3f} s  (tme is {t_gseapy / t_tme:.1f} x faster)", flush=True)

    gseapy_norm = es.to_numpy() / (es.to_numpy().max() - es.to_numpy().min())
    tme_norm = score(data, sets, normalize=True).to_numpy()
    diff = float(np.abs(gseapy_norm - tme_norm).max())
    print(
        f"max |tme - gseapy| after global-range normalisation: {diff:.2e} ({'OK' if diff <= 1e-8 else 'FAIL'} at 1e-8)",
        flush=True,
    )

    child = subprocess.run(
        [
            sys.executable,
            __file__,
            "--memory-child",
            "--genes",
            str(args.genes),
            "--big-samples",
            str(args.big_samples),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    mem = json.loads(child.stdout.strip().splitlines()[-1])
    peak_ratio = mem["peak_rss"] / mem["nbytes"]
    print(
        f"memory, {args.genes} x {args.big_samples}: input {mem['nbytes'] / 2**20:.0f} MiB, "
        f"process peak RSS {mem['peak_rss'] / 2**20:.0f} MiB ({peak_ratio:.2f} x input), "
        f"scoring's own peak allocations {mem['traced_peak'] / 2**20:.1f} MiB "
        f"({mem['traced_peak'] / mem['nbytes']:.3f} x input)",
        flush=True,
    )
    if diff > 1e-8 or not identical:
        sys.exit("numerical check failed")
    print(
        f"RESULT speedup_vs_gseapy={t_gseapy / t_tme:.2f} floor_ratio={t_tme / t_floor:.2f} "
        f"peak_mem_ratio={peak_ratio:.2f}"
    )


if __name__ == "__main__":
    main()
