"""Benchmark: per-cell scores of 50 Hallmark sets — tme vs scanpy ``score_genes`` (looped) vs decoupler ulm.

Data: one seeded synthetic ``.h5ad`` (``--cells`` × ``--genes``, ~``--density`` non-zero,
log1p-normalised counts in ``X``, CSR float32), written once. Every method computes all 50 sets
in full (no extrapolation) and saves the scores; tme's are compared with scanpy's on every set.

Two figures per method, each a fresh process per run:

* ``whole``: wall clock from the parent for a process that starts Python, imports, reads the file
  and saves the scores; each method by its own best public route — tme
  ``tme.singlecell.score_h5ad(path, sets)`` (reads the matrix and barcodes only), scanpy
  ``anndata.read_h5ad`` + ``scanpy.tl.score_genes`` per set, decoupler ``read_h5ad`` + ``dc.mt.ulm``;
  with the process's own peak RSS;
* ``core``: the scoring call alone on the matrix already in memory, after an untimed warm-up call
  on the first set in the same process (tme ``score_signatures``; the scanpy loop; ``ulm``).

One warm-up round (not counted), then ``--rounds`` counted rounds with the method order reversed
every round; medians; wall clock is the headline. Every BLAS/OpenMP/numba pool is capped at
``--threads`` for all methods. decoupler is skipped with a note when it is not installed.
``--backed-cells N`` adds tme's peak memory scoring an N-cell file in chunks (``score_h5ad``).

    .venv/bin/python benchmarks/bench_singlecell.py                  # 20,000 cells, ~5 min
    .venv/bin/python benchmarks/bench_singlecell.py --backed-cells 1000000

Last line: ``RESULT whole_speedup_vs_score_genes=<x> core_speedup_vs_score_genes=<y> ...``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
HALLMARK = HERE.parents[1] / "shared" / "reference" / "genesets" / "h.all.v7.5.1.symbols.gmt"
TARGET_SUM = 1e4
sys.path.insert(0, str(HERE))

from paired_runs import alternate, load, median, run, thread_env  # noqa: E402


def read_gmt(path: Path) -> dict[str, list[str]]:
    sets = {}
    for line in path.read_text().splitlines():
        fields = line.rstrip("\n").split("\t")
        if len(fields) > 2:
            sets[fields[0]] = [g for g in fields[2:] if g]  # column 2 is a URL
    return sets


def _chunk(rng: np.random.Generator, n_rows: int, n_genes: int, nnz: int, order: np.ndarray, level: np.ndarray):
    """One CSR chunk: ~nnz distinct genes per cell (skewed popularity), log1p(counts / total × 1e4)."""
    import scipy.sparse as sp

    raw = (n_genes * rng.random((n_rows, nnz)) ** 2).astype(np.int32)
    idx = np.sort(order[raw], axis=1)
    keep = np.ones_like(idx, dtype=bool)
    keep[:, 1:] = idx[:, 1:] != idx[:, :-1]
    indptr = np.concatenate([[0], np.cumsum(keep.sum(axis=1))]).astype(np.int64)
    indices = idx[keep]
    counts = (1.0 + rng.poisson(level[indices])).astype(np.float32)
    totals = np.add.reduceat(counts, indptr[:-1])
    counts *= np.repeat((TARGET_SUM / totals).astype(np.float32), np.diff(indptr))
    np.log1p(counts, out=counts)
    return sp.csr_matrix((counts, indices, indptr), shape=(n_rows, n_genes))


def write_synthetic(path: str | Path, n_cells: int, genes: list[str], nnz: int, seed: int, chunk: int = 50_000) -> int:
    """Write a cells × genes h5ad chunk by chunk (never the whole matrix in memory); returns its nnz."""
    import anndata as ad
    import h5py
    from anndata.io import sparse_dataset, write_elem

    rng = np.random.default_rng(seed)
    n_genes = len(genes)
    order = rng.permutation(n_genes).astype(np.int32)  # which genes are popular: not the Hallmark ones first
    level = rng.lognormal(0.0, 1.0, n_genes)  # per-gene expression level (Poisson mean above 1)
    total = 0
    with h5py.File(path, "w") as f:
        write_elem(f, "obs", pd.DataFrame(index=pd.Index([f"cell{i}" for i in range(n_cells)])))
        write_elem(f, "var", pd.DataFrame(index=pd.Index(genes)))
        for start in range(0, n_cells, chunk):
            X = _chunk(rng, min(chunk, n_cells - start), n_genes, nnz, order, level)
            total += X.nnz
            if start == 0:
                write_elem(f, "X", X)  # anndata makes its arrays resizable
            else:
                sparse_dataset(f["X"]).append(X)
        f.attrs["encoding-type"], f.attrs["encoding-version"] = "anndata", "0.1.0"
    ad.read_h5ad(path, backed="r").file.close()  # a readable AnnData
    return total


def _write_in_subprocess(path: Path, n_cells: int, genes: list[str], nnz: int, seed: int, chunk: int) -> int:
    """:func:`write_synthetic` in a child process: this process stays small, and on Linux a child's
    peak RSS (``ru_maxrss``) starts from its parent's at fork, so the methods' peaks are their own."""
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); from bench_singlecell import write_synthetic; "
        "print(write_synthetic(**json.load(open(sys.argv[2]))))"
    )
    spec = Path(path).with_suffix(".json")
    spec.write_text(json.dumps(dict(path=str(path), n_cells=n_cells, genes=genes, nnz=nnz, seed=seed, chunk=chunk)))
    return int(run([sys.executable, "-c", code, str(HERE), str(spec)], thread_env(1)).stdout.split()[-1])


# --- workers: one per process ---------------------------------------------------------------------


def _score(method: str, adata, sets: dict[str, list[str]]) -> np.ndarray:
    """All sets by ``method`` on an in-memory AnnData (cells × sets)."""
    if method == "tme":
        from tme.singlecell import score_signatures

        return score_signatures(adata, sets, key_added=None).to_numpy()
    if method == "score_genes":
        import scanpy as sc

        for name, genes in sets.items():
            sc.tl.score_genes(adata, genes, score_name=name, random_state=0)
        return adata.obs[list(sets)].to_numpy()
    import decoupler as dc

    net = pd.DataFrame([(s, g) for s, genes in sets.items() for g in genes], columns=["source", "target"])
    dc.mt.ulm(adata, net, bsize=10_000)
    return np.asarray(adata.obsm["score_ulm"])


def worker(figure: str, method: str, h5ad: str, sets_json: str, out_npy: str, chunk_size: int) -> None:
    """``whole``: from the file to saved scores; ``core``: prints the seconds of the in-memory call."""
    sets = json.loads(Path(sets_json).read_text())
    if figure == "whole" and method == "tme":
        from tme.singlecell import score_h5ad

        scores = score_h5ad(h5ad, sets, chunk_size=chunk_size)[0].to_numpy()
    else:
        import anndata as ad

        adata = ad.read_h5ad(h5ad)
        if figure == "core":
            first = dict(list(sets.items())[:1])
            _score(method, adata.copy(), first)  # warm-up: lazy imports, numba caches
            start = time.perf_counter()
            scores = _score(method, adata, sets)
            print(json.dumps({"core": time.perf_counter() - start}))
        else:
            scores = _score(method, adata, sets)
    if out_npy:
        np.save(out_npy, scores.astype(np.float64))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cells", type=int, default=20_000)
    p.add_argument("--genes", type=int, default=20_000)
    p.add_argument("--density", type=float, default=0.10, help="fraction of non-zero entries")
    p.add_argument("--gmt", type=Path, default=HALLMARK)
    p.add_argument("--n-sets", type=int, default=50)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--skip-ulm", action="store_true")
    p.add_argument(
        "--backed-cells", type=int, default=0, help="cells of a file scored in chunks for peak memory (0: skip)"
    )
    p.add_argument("--chunk-size", type=int, default=50_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tmpdir", type=Path, default=None)
    p.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(*args.worker, args.chunk_size)
        return

    env = thread_env(args.threads)
    methods = ["tme", "score_genes"]
    no_ulm = (
        "skipped (--skip-ulm)"
        if args.skip_ulm
        else ("" if importlib.util.find_spec("decoupler") else "decoupler is not installed")
    )
    if not no_ulm:
        methods.append("ulm")
    sets = dict(list(read_gmt(args.gmt).items())[: args.n_sets])
    members = sorted({g for genes in sets.values() for g in genes})
    genes = members + [f"FILLER{i:05d}" for i in range(args.genes - len(members))]
    tmp = Path(tempfile.mkdtemp(prefix="bench_singlecell_", dir=args.tmpdir))
    try:
        sets_json = tmp / "sets.json"
        sets_json.write_text(json.dumps(sets))
        path = tmp / "cells.h5ad"
        nnz = _write_in_subprocess(
            path, args.cells, genes, int(round(args.density * args.genes)), args.seed, args.chunk_size
        )
        print(
            f"{args.cells:,} cells x {args.genes:,} genes, {nnz / args.cells:.0f} non-zeros per cell, "
            f"{len(sets)} Hallmark sets, {path.stat().st_size / 1024**2:.0f} MiB on disk; threads {args.threads}; "
            f"load {load()}",
            flush=True,
        )
        core: dict[str, list[float]] = {m: [] for m in methods}

        def runner(figure: str, method: str):
            def go():
                result = run(
                    [
                        sys.executable,
                        __file__,
                        "--chunk-size",
                        str(args.chunk_size),
                        "--worker",
                        figure,
                        method,
                        str(path),
                        str(sets_json),
                        str(tmp / f"{method}.npy"),
                    ],
                    env,
                )
                if figure == "core":
                    core[method].append(json.loads(result.stdout.strip().splitlines()[-1])["core"])
                return result

            return go

        log = lambda line: print(line, flush=True)  # noqa: E731
        whole_runs = alternate({f"whole {m}": runner("whole", m) for m in methods}, args.rounds, args.warmup, log)
        diff = float(np.abs(np.load(tmp / "tme.npy") - np.load(tmp / "score_genes.npy")).max())
        alternate({f"core {m}": runner("core", m) for m in methods}, args.rounds, args.warmup, log)
        whole = {m: median([r.seconds for r in whole_runs[f"whole {m}"]]) for m in methods}
        peak = {m: median([r.peak_mib for r in whole_runs[f"whole {m}"]]) for m in methods}
        calls = {m: median(core[m][args.warmup :]) for m in methods}
        for m in methods:
            print(
                f"{m:12s} whole process {whole[m]:7.2f} s, core call {calls[m]:7.2f} s (medians of {args.rounds}), "
                f"peak RSS {peak[m]:6.0f} MiB"
            )
        print(f"max |tme - score_genes| over all {len(sets)} sets and cells: {diff:.2e}")
        backed = float("nan")
        if args.backed_cells:
            big = tmp / "backed.h5ad"
            _write_in_subprocess(big, args.backed_cells, genes, 1_000, args.seed + 1, args.chunk_size)
            result = run(
                [
                    sys.executable,
                    __file__,
                    "--chunk-size",
                    str(args.chunk_size),
                    "--worker",
                    "whole",
                    "tme",
                    str(big),
                    str(sets_json),
                    "",
                ],
                env,
            )
            backed = result.peak_mib / 1024
            print(
                f"backed: {args.backed_cells:,} cells scored by score_h5ad in chunks of {args.chunk_size:,}: "
                f"{result.seconds:.1f} s, peak RSS {backed:.2f} GiB"
            )
        if no_ulm:
            print(f"decoupler ulm: {no_ulm}")
        ulm = {k: (v["ulm"] / v["tme"] if "ulm" in v else float("nan")) for k, v in (("whole", whole), ("core", calls))}
        print(
            f"RESULT whole_speedup_vs_score_genes={whole['score_genes'] / whole['tme']:.1f} "
            f"core_speedup_vs_score_genes={calls['score_genes'] / calls['tme']:.1f} "
            f"whole_speedup_vs_ulm={ulm['whole']:.1f} core_speedup_vs_ulm={ulm['core']:.1f} "
            f"tme_whole_s={whole['tme']:.2f} tme_core_s={calls['tme']:.2f} "
            f"score_genes_whole_s={whole['score_genes']:.2f} max_abs_diff={diff:.1e} "
            f"peak_gib_backed={backed:.2f} cells={args.cells} threads={args.threads}"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
