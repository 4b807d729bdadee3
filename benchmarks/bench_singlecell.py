"""Benchmark: per-cell scoring of 50 Hallmark sets — tme fast path vs scanpy score_genes vs decoupler ulm.

One run, same machine, same seeded synthetic matrix (log1p-normalised counts, ~``--density``
non-zero): every method runs in its own subprocess (time and peak RSS of that process, its
``ru_maxrss``, which includes loading the matrix). ``scanpy.tl.score_genes`` is looped over the
first ``--score-genes-sets`` sets only and its time extrapolated linearly to all sets (each set is
an independent call: same cost per call up to set size). Then a ``--backed-cells`` cells file
(``--backed-nnz`` non-zeros per cell) is written chunk by chunk to a temporary directory, scored
from disk with ``anndata.read_h5ad(backed="r")`` in chunks, and deleted.

Usage (full size: ~13 min and ~11 GiB peak (decoupler ulm) on 2 shared cores)::

    .venv/bin/python benchmarks/bench_singlecell.py
    .venv/bin/python benchmarks/bench_singlecell.py --cells 20000 --backed-cells 100000   # quick

Last line: ``RESULT speedup_vs_score_genes=<x> speedup_vs_ulm=<y> peak_mem_gib_1m=<z>``.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HALLMARK = Path(__file__).resolve().parents[2] / "shared" / "reference" / "genesets" / "h.all.v7.5.1.symbols.gmt"
TARGET_SUM = 1e4


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


def write_synthetic(path: Path, n_cells: int, genes: list[str], nnz: int, seed: int, chunk: int = 50_000) -> int:
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


# --- workers (each in its own process) --------------------------------------------------------------


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def worker(kind: str, h5ad: str, sets_json: str, n_timed: int, chunk_size: int, out_npy: str) -> dict:
    import anndata as ad

    sets = json.loads(Path(sets_json).read_text())
    if kind.startswith("write:"):  # write:<cells>:<nnz per cell>:<seed>
        n_cells, nnz, seed = map(int, kind.split(":")[1:])
        genes = json.loads(Path(sets_json).with_name("genes.json").read_text())
        start = time.perf_counter()
        total = write_synthetic(Path(h5ad), n_cells, genes, nnz, seed, chunk_size)
        return dict(kind="write", seconds=time.perf_counter() - start, nnz=total, peak_gib=_peak_gib())
    if kind in ("tme", "tme_backed"):  # imported before the clock starts, and only what the method needs
        from tme.singlecell import score_signatures
    elif kind == "score_genes":
        import scanpy as sc
    else:
        import decoupler as dc

    adata = ad.read_h5ad(h5ad, backed="r" if kind == "tme_backed" else None)
    loaded = _peak_gib()
    start, cpu = time.perf_counter(), time.process_time()
    if kind in ("tme", "tme_backed"):
        scores = score_signatures(adata, sets, chunk_size=chunk_size, key_added=None).to_numpy()
        timed = len(sets)
    elif kind == "score_genes":
        names = list(sets)[:n_timed]
        for name in names:
            sc.tl.score_genes(adata, sets[name], score_name=name, random_state=0)
        scores = adata.obs[names].to_numpy()
        timed = len(names)
    else:  # ulm
        net = pd.DataFrame([(s, g) for s, genes in sets.items() for g in genes], columns=["source", "target"])
        dc.mt.ulm(adata, net, bsize=10_000)
        scores = adata.obsm["score_ulm"].to_numpy()
        timed = len(sets)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    if out_npy:
        np.save(out_npy, scores[:, :n_timed].astype(np.float64))
    return dict(
        kind=kind,
        seconds=seconds,
        cpu_seconds=cpu,
        sets_timed=timed,
        peak_gib=_peak_gib(),
        after_load_gib=loaded,
        n_obs=adata.n_obs,
    )


def run_worker(kind: str, h5ad: Path, sets_json: Path, n_timed: int, chunk_size: int, out_npy: str = "") -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        kind,
        "--h5ad",
        str(h5ad),
        "--sets-json",
        str(sets_json),
        "--score-genes-sets",
        str(n_timed),
        "--chunk-size",
        str(chunk_size),
        "--out-npy",
        out_npy,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{kind} worker failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if kind.startswith("write:"):
        return result
    print(
        f"  {kind:12s} {result['seconds']:8.1f} s wall {result['cpu_seconds']:8.1f} s CPU for {result['sets_timed']} "
        "sets   "
        f"peak RSS {result['peak_gib']:.2f} GiB (after loading the data {result['after_load_gib']:.2f} GiB)",
        flush=True,
    )
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cells", type=int, default=200_000, help="cells of the in-memory comparison")
    p.add_argument("--genes", type=int, default=20_000)
    p.add_argument("--density", type=float, default=0.10, help="fraction of non-zero entries (in-memory matrix)")
    p.add_argument("--gmt", type=Path, default=HALLMARK)
    p.add_argument("--n-sets", type=int, default=50)
    p.add_argument("--score-genes-sets", type=int, default=5, help="sets timed with scanpy score_genes (extrapolated)")
    p.add_argument("--skip-ulm", action="store_true")
    p.add_argument("--backed-cells", type=int, default=1_000_000, help="cells of the backed file (0: skip)")
    p.add_argument("--backed-nnz", type=int, default=1_000, help="non-zero genes per cell in the backed file")
    p.add_argument("--chunk-size", type=int, default=50_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tmpdir", type=Path, default=None)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--h5ad", help=argparse.SUPPRESS)
    p.add_argument("--sets-json", help=argparse.SUPPRESS)
    p.add_argument("--out-npy", default="", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(
            json.dumps(
                worker(args.worker, args.h5ad, args.sets_json, args.score_genes_sets, args.chunk_size, args.out_npy)
            )
        )
        return

    sets = dict(list(read_gmt(args.gmt).items())[: args.n_sets])
    members = sorted({g for genes in sets.values() for g in genes})
    genes = members + [f"FILLER{i:05d}" for i in range(args.genes - len(members))]
    tmp = Path(tempfile.mkdtemp(prefix="bench_singlecell_", dir=args.tmpdir))
    try:
        sets_json = tmp / "sets.json"
        sets_json.write_text(json.dumps(sets))
        (tmp / "genes.json").write_text(json.dumps(genes))
        nnz = int(round(args.density * args.genes))
        path = tmp / "cells.h5ad"
        # the data are written by a subprocess: this process stays small, so the workers' ru_maxrss
        # (which on Linux starts from the parent's RSS at fork) measures the workers alone
        written = run_worker(f"write:{args.cells}:{nnz}:{args.seed}", path, sets_json, 0, args.chunk_size)
        total = written["nnz"]
        print(
            f"in-memory comparison: {args.cells:,} cells x {args.genes:,} genes, {total / args.cells:.0f} non-zeros "
            "per "
            f"cell ({total / args.cells / args.genes:.1%}), {len(sets)} Hallmark sets (written in "
            f"{written['seconds']:.0f} s)",
            flush=True,
        )
        tme = run_worker("tme", path, sets_json, args.score_genes_sets, args.chunk_size, str(tmp / "tme.npy"))
        sg = run_worker("score_genes", path, sets_json, args.score_genes_sets, args.chunk_size, str(tmp / "sg.npy"))
        scale = len(sets) / sg["sets_timed"]
        diff = np.abs(np.load(tmp / "tme.npy") - np.load(tmp / "sg.npy")).max()
        print(
            f"  score_genes extrapolated linearly from {sg['sets_timed']} to {len(sets)} sets: "
            f"{sg['seconds'] * scale:.1f} s wall, {sg['cpu_seconds'] * scale:.1f} s CPU; "
            f"max |tme - score_genes| over the timed sets = {diff:.2e}",
            flush=True,
        )
        speed = {"score_genes": {k: sg[k] * scale / tme[k] for k in ("seconds", "cpu_seconds")}}
        if not args.skip_ulm:
            ulm = run_worker("ulm", path, sets_json, args.score_genes_sets, args.chunk_size)
            speed["ulm"] = {k: ulm[k] / tme[k] for k in ("seconds", "cpu_seconds")}
        path.unlink()
        peak_1m = float("nan")
        if args.backed_cells:
            written = run_worker(
                f"write:{args.backed_cells}:{args.backed_nnz}:{args.seed + 1}", path, sets_json, 0, args.chunk_size
            )
            total = written["nnz"]
            print(
                f"backed: {args.backed_cells:,} cells x {args.genes:,} genes, {total / args.backed_cells:.0f} "
                "non-zeros per cell, "
                f"{path.stat().st_size / 1024**3:.1f} GiB on disk (written in {written['seconds']:.0f} s), "
                f"chunks of {args.chunk_size:,} cells",
                flush=True,
            )
            backed = run_worker("tme_backed", path, sets_json, 0, args.chunk_size)
            peak_1m = backed["peak_gib"]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    nan = {"seconds": float("nan"), "cpu_seconds": float("nan")}
    sg, ulm = speed["score_genes"], speed.get("ulm", nan)
    print(
        f"speedups of tme at {args.cells:,} cells (score_genes extrapolated from {args.score_genes_sets} sets): "
        f"wall clock {sg['seconds']:.1f}x vs score_genes, {ulm['seconds']:.1f}x vs ulm; "
        f"CPU time {sg['cpu_seconds']:.1f}x vs score_genes, {ulm['cpu_seconds']:.1f}x vs ulm (RESULT uses CPU time: "
        f"robust to other jobs sharing the cores; ulm's BLAS may use several threads)"
    )
    print(
        f"RESULT speedup_vs_score_genes={sg['cpu_seconds']:.1f} speedup_vs_ulm={ulm['cpu_seconds']:.1f} "
        f"peak_mem_gib_1m={peak_1m:.2f}"
    )


if __name__ == "__main__":
    main()
