"""Benchmark: gene-level DE of the paired two-arm design — tme vs R DESeq2, same input, alternating runs.

Input: the bundled example cohort (config/example: nf-core salmon counts rounded, 15,000 genes, the
84 usable libraries of 44 patients, 4 of them without a post sample), written once as
counts.tsv.gz + samples.tsv; ``--genes N`` takes a seeded subset for a quick run. Both methods
drop unpaired patients, apply the same pre-filter and fit ``~ arm + arm:patient_n + arm:timepoint``
with the interaction and both within-arm tables (tme: ``tme.stats.de.differential_expression``;
R: tests/fixtures/de/deseq2_paired.R, DESeq2 ``DESeq(full = model_matrix)`` + ``results()``).

Each run is a fresh process from the input files to the three result tables on disk:
``whole`` is its wall clock from the parent (interpreter or R start, imports / ``library()``,
reading, fitting, writing) and its own peak RSS; ``core`` is the fit and the three tables timed
inside that process (tme: the ``differential_expression`` call; R: ``DESeq()`` + three
``results()``). One warm-up round (not counted), then ``--rounds`` counted rounds, the order of
the two methods reversed every round; medians. Every BLAS/OpenMP pool is capped at ``--threads``
for both, and tme gets ``n_cpus = --threads``. R is skipped with a note when ``Rscript`` or DESeq2
is missing. Parity of the last runs: log2 fold change Pearson (minimum over the three tables),
the size of the symmetric difference of the padj < 0.05 sets (maximum) and the largest
|log2FC difference|.

    .venv/bin/python benchmarks/bench_de.py                 # full example, 1 warm-up + 3 rounds
    .venv/bin/python benchmarks/bench_de.py --genes 3000    # quick

Last line: ``RESULT whole_speedup_vs_deseq2=<x> core_speedup_vs_deseq2=<y> ...``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
R_SCRIPT = ROOT / "tests" / "fixtures" / "de" / "deseq2_paired.R"
TABLES = {
    "de_interaction": "interaction",
    "de_within_anakinra": "within_anakinra",
    "de_within_usual_care": "within_usual_care",
}
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(R_SCRIPT.parent))

from paired_runs import alternate, load, median, run, thread_env  # noqa: E402


def write_input(folder: Path, n_genes: int | None) -> None:
    """counts.tsv.gz and samples.tsv of the bundled example (all genes or a seeded subset)."""
    from make_input import example_counts  # the fixture's reading of the bundled example

    counts, samples = example_counts()
    if n_genes:
        keep = np.sort(np.random.default_rng(0).choice(len(counts), n_genes, replace=False))
        counts = counts.iloc[keep]
    counts.rename_axis("gene").to_csv(folder / "counts.tsv.gz", sep="\t")
    samples.rename_axis("sample_id").to_csv(folder / "samples.tsv", sep="\t")


def worker(counts_path: str, samples_path: str, out: str, threads: int) -> None:
    """One tme run: read, fit, write the three tables; prints the core seconds as JSON."""
    import warnings

    from tme.config import Design
    from tme.io import write_tsv
    from tme.stats.de import differential_expression

    counts = pd.read_csv(counts_path, sep="\t", index_col=0)
    samples = pd.read_csv(samples_path, sep="\t", index_col=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the 4 unpaired patients
        tables = differential_expression(counts, samples, Design(), n_cpus=threads)
    core = time.perf_counter() - start
    for name, table in tables.items():
        write_tsv(table, Path(out) / f"{name}.tsv")
    print(json.dumps({"core": core}))


def r_available() -> str:
    """'' when R DESeq2 can run, else why not."""
    if shutil.which("Rscript") is None:
        return "Rscript not on PATH"
    check = subprocess.run(
        ["Rscript", "-e", "quit(status = !requireNamespace('DESeq2', quietly = TRUE))"],
        capture_output=True,
        check=False,
    )
    return "" if check.returncode == 0 else "the R package DESeq2 is not installed"


def parity(tme_dir: Path, r_dir: Path) -> dict[str, float]:
    wide = pd.read_csv(r_dir / "results.tsv.gz", sep="\t", index_col="gene")
    pearson, set_diff, max_diff = [], [], []
    for table, name in TABLES.items():
        ours = pd.read_csv(tme_dir / f"{table}.tsv", sep="\t", index_col="gene").loc[wide.index]
        ref_lfc, ref_padj = wide[f"{name}.log2FoldChange"], wide[f"{name}.padj"]
        tested = ref_lfc.notna()
        pearson.append(np.corrcoef(ref_lfc[tested], ours.loc[tested, "log2FoldChange"])[0, 1])
        set_diff.append(len(set(wide.index[ref_padj < 0.05]) ^ set(ours.index[ours["padj"] < 0.05])))
        max_diff.append(float(np.abs(ref_lfc - ours["log2FoldChange"]).max()))
    return {
        "lfc_pearson_min": min(pearson),
        "padj05_set_difference_max": max(set_diff),
        "lfc_max_abs_difference": max(max_diff),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--genes", type=int, default=None, help="seeded subset of the example's genes (default: all)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--skip-r", action="store_true")
    p.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(*args.worker[:3], int(args.worker[3]))
        return
    no_r = "skipped (--skip-r)" if args.skip_r else r_available()
    env = thread_env(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="bench_de_"))
    try:
        code = (
            "import sys; sys.path.insert(0, sys.argv[1]); from bench_de import write_input; "
            "write_input(__import__('pathlib').Path(sys.argv[2]), int(sys.argv[3]) or None)"
        )
        run([sys.executable, "-c", code, str(HERE), str(tmp), str(args.genes or 0)], env)  # keeps this process small
        counts, samples = tmp / "counts.tsv.gz", tmp / "samples.tsv"
        with gzip.open(counts, "rt") as lines:
            n_genes = sum(1 for _ in lines) - 1
        n_samples = len(samples.read_text().splitlines()) - 1
        print(f"input: {n_genes:,} genes x {n_samples:,} samples; threads {args.threads}; load {load()}", flush=True)
        (tmp / "tme").mkdir()
        core: dict[str, list[float]] = {"tme": [], "DESeq2": []}

        def tme_run():
            result = run(
                [sys.executable, __file__, "--worker", str(counts), str(samples), str(tmp / "tme"), str(args.threads)],
                env,
            )
            core["tme"].append(json.loads(result.stdout.strip().splitlines()[-1])["core"])
            return result

        def r_run():
            result = run(["Rscript", str(R_SCRIPT), str(counts), str(samples), str(tmp / "r"), "0.05"], env)
            timing = dict(item.split("=") for item in result.stdout.split("TIMING")[-1].split())
            core["DESeq2"].append(float(timing["deseq"]) + float(timing["results"]))
            return result

        methods = {"tme": tme_run} if no_r else {"tme": tme_run, "DESeq2": r_run}
        runs = alternate(methods, args.rounds, args.warmup, log=lambda line: print(line, flush=True))
        whole = {name: median([r.seconds for r in results]) for name, results in runs.items()}
        peak = {name: median([r.peak_mib for r in results]) for name, results in runs.items()}
        calls = {name: median(values[args.warmup :]) for name, values in core.items() if values}
        for name in runs:
            print(
                f"{name:7s} whole process {whole[name]:7.2f} s (median of {args.rounds}), core call "
                f"{calls[name]:7.2f} s, peak RSS {peak[name]:6.0f} MiB"
            )
        if no_r:
            print(f"R DESeq2: {no_r}; no ratios")
            print(
                f"RESULT tme_whole_s={whole['tme']:.2f} tme_core_s={calls['tme']:.2f} tme_peak_mib={peak['tme']:.0f} "
                f"deseq2=skipped"
            )
            return
        agree = parity(tmp / "tme", tmp / "r")
        print("parity with R DESeq2 (last runs): " + ", ".join(f"{k} {v:.6g}" for k, v in agree.items()))
        print(
            f"RESULT whole_speedup_vs_deseq2={whole['DESeq2'] / whole['tme']:.1f} "
            f"core_speedup_vs_deseq2={calls['DESeq2'] / calls['tme']:.1f} "
            f"tme_whole_s={whole['tme']:.2f} deseq2_whole_s={whole['DESeq2']:.2f} "
            f"tme_core_s={calls['tme']:.2f} deseq2_core_s={calls['DESeq2']:.2f} "
            f"tme_peak_mib={peak['tme']:.0f} deseq2_peak_mib={peak['DESeq2']:.0f} "
            f"lfc_pearson_min={agree['lfc_pearson_min']:.6f} "
            f"padj05_set_difference_max={agree['padj05_set_difference_max']} "
            f"lfc_max_abs_difference={agree['lfc_max_abs_difference']:.2e} genes={n_genes} threads={args.threads}"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
