"""Benchmark: every cell metric of one 1,000,000-cell whole-slide export, on one core, and its peak memory.

One run, same machine: a seeded slide from :func:`tme.cells.simulate.simulate_slide` (tumour nests,
stroma, six immune types; ~18 × 18 mm at ~3,100 cells/mm²) is written as a QuPath detection
export (µm centroids, composite class, parent annotation and ``--intensity-columns`` per-cell
measurement columns, as real exports carry) plus a region table into a temporary directory. Each
step then runs in its own subprocess with one thread (``OMP_NUM_THREADS=1`` …),
reporting wall and CPU time of the timed step and peak RSS (``ru_maxrss`` of that process, which
includes reading the file):

* ``tme``: :func:`tme.cells.slide_metrics` — read the export, type and place the cells, densities,
  ratios, proportions, nearest-tumour distances, fraction within 20 µm, cross-type K/L at 50 µm
  with border *and* isotropic correction; the nearest-neighbour step alone is timed inside it;
* ``anchor``: a bare ``cKDTree`` build + ``query(k=2)`` of every cell against every cell (the
  floor of any kNN step on this slide);
* ``squidpy``: ``squidpy.gr.spatial_neighbors(coord_type="generic", n_neighs=6)`` on the same
  coordinates (its default kNN graph, the step a squidpy user runs first); skipped with a note when
  squidpy is not installed (it is not a tme dependency: ``pip install squidpy`` into the venv).

The tasks differ (tme: immune → nearest tumour cell; squidpy: 6 neighbours of every cell), so the
ratios say how tme's nearest-neighbour step compares with the kNN steps users already run.

Usage::

    .venv/bin/python benchmarks/bench_cells.py                 # 1,000,000 cells (~1-2 min)
    .venv/bin/python benchmarks/bench_cells.py --cells 100000  # quick

Last line: ``RESULT cells=<n> total_s=<t> total_cpu_s=<t> peak_rss_gib=<m> nn_s=<t> anchor_knn_s=<t> squidpy_knn_s=<t>
squidpy_over_tme_nn=<r> meets_20s=<bool> meets_2gib=<bool>``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SINGLE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}
DENSITY_PER_MM2 = 3077.0  # expected cells per mm² of the simulated tissue (tumour + stroma + immune)
CHANNELS = ("DAPI", "PanCK", "CD8", "FOXP3", "CD68", "CD163", "IL1B", "CD56")


def write_slide(folder: Path, n_cells: int, seed: int, intensity_columns: int) -> None:
    """One slide of ~n_cells cells as a QuPath export, its region table and the phenotype config."""
    import pandas as pd
    import yaml

    from tme.cells.simulate import IMMUNE, phenotype_config, qupath_table, simulate_slide

    rng = np.random.default_rng(seed)
    field_mm = float(np.sqrt(n_cells / DENSITY_PER_MM2))
    slide = simulate_slide(
        rng, field_mm, {t: v[1] for t, v in IMMUNE.items()}, {t: v[2] for t, v in IMMUNE.items()}, 0.45, n_grid=1000
    )
    table = qupath_table(slide["cells"], "S1")
    names = [f"{part}: {channel} mean" for part in ("Nucleus", "Cytoplasm", "Membrane", "Cell") for channel in CHANNELS]
    for name in names[:intensity_columns]:
        table[name] = rng.gamma(2.0, 5.0, len(table)).round(4)
    table.to_csv(folder / "S1.csv", index=False, lineterminator="\n")
    pd.DataFrame(
        {"sample_id": "S1", "compartment": list(slide["areas"]), "area_mm2": list(slide["areas"].values())}
    ).to_csv(folder / "areas.tsv", sep="\t", index=False)
    (folder / "cells.yaml").write_text(
        yaml.safe_dump(
            {"phenotypes": phenotype_config(), "edge_correction": ["border", "isotropic"]}, allow_unicode=True
        ),
        encoding="utf-8",
    )


def _usage() -> dict:
    return {"peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def worker_tme(folder: Path) -> dict:
    import pandas as pd
    import yaml

    import tme.cells.metrics as metrics_module
    from tme.cells import CellSettings, slide_metrics

    nn_seconds = []
    original = metrics_module.nearest_distance

    def timed(*args, **kwargs):  # time the nearest-neighbour step inside the real pipeline
        start = time.perf_counter()
        out = original(*args, **kwargs)
        nn_seconds.append(time.perf_counter() - start)
        return out

    metrics_module.nearest_distance = timed
    settings = CellSettings.from_config(yaml.safe_load((folder / "cells.yaml").read_text(encoding="utf-8")))
    areas = pd.read_csv(folder / "areas.tsv", sep="\t")
    start, cpu = time.perf_counter(), time.process_time()
    table = slide_metrics({"sample_id": "S1", "file": str(folder / "S1.csv")}, settings, areas)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    n = int(
        table.loc[
            table["metric"].eq("density") & table["compartment"].eq("total") & ~table["cell_type"].eq("macrophage"),
            "n_cells",
        ].sum()
    )
    return {**_usage(), "wall_s": wall, "cpu_s": cpu, "nn_s": sum(nn_seconds), "n_cells": n, "n_rows": len(table)}


def _coordinates(folder: Path) -> np.ndarray:
    import pandas as pd

    frame = pd.read_csv(folder / "S1.csv", usecols=["Centroid X µm", "Centroid Y µm"])
    return frame.to_numpy(dtype=float)


def worker_anchor(folder: Path) -> dict:
    from scipy.spatial import cKDTree

    xy = _coordinates(folder)
    start, cpu = time.perf_counter(), time.process_time()
    cKDTree(xy).query(xy, k=2)
    return {**_usage(), "wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu}


def worker_squidpy(folder: Path) -> dict:
    import anndata as ad
    import squidpy as sq

    xy = _coordinates(folder)
    adata = ad.AnnData(obs={"i": np.arange(len(xy))}, obsm={"spatial": xy})
    start, cpu = time.perf_counter(), time.process_time()
    sq.gr.spatial_neighbors(adata, coord_type="generic", n_neighs=6)
    return {**_usage(), "wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu}


def run(step: str, folder: Path) -> dict | None:
    env = {**os.environ, **SINGLE_THREAD}
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", step, str(folder)], capture_output=True, text=True, env=env
    )
    if proc.returncode != 0:
        print(f"{step}: failed ({proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode})")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--intensity-columns", type=int, default=16, help="per-cell measurement columns (≤ 32)")
    parser.add_argument("--worker", nargs=2, metavar=("STEP", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        step, folder = args.worker
        print(json.dumps({"tme": worker_tme, "anchor": worker_anchor, "squidpy": worker_squidpy}[step](Path(folder))))
        return
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="tme_bench_cells_") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        write_slide(folder, args.cells, args.seed, args.intensity_columns)
        size = (folder / "S1.csv").stat().st_size / 2**20
        print(f"wrote the slide in {time.perf_counter() - start:.1f} s ({size:.0f} MiB QuPath export)")
        tme = run("tme", folder)
        anchor = run("anchor", folder)
        squidpy = run("squidpy", folder)
    print(
        f"tme: {tme['n_cells']:,} cells, {tme['n_rows']} metric rows; wall {tme['wall_s']:.2f} s, CPU "
        f"{tme['cpu_s']:.2f} s (read + every metric), nearest-neighbour step {tme['nn_s']:.2f} s, "
        f"peak RSS {tme['peak_rss_gib']:.2f} GiB"
    )
    print(
        f"anchor cKDTree kNN of every cell: wall {anchor['wall_s']:.2f} s, CPU {anchor['cpu_s']:.2f} s, "
        f"peak RSS {anchor['peak_rss_gib']:.2f} GiB"
    )
    if squidpy:
        print(
            f"squidpy spatial_neighbors (kNN, 6): wall {squidpy['wall_s']:.2f} s, CPU {squidpy['cpu_s']:.2f} s, "
            f"peak RSS {squidpy['peak_rss_gib']:.2f} GiB"
        )
        squidpy_s, ratio = f"{squidpy['wall_s']:.2f}", f"{squidpy['wall_s'] / tme['nn_s']:.1f}"
    else:
        print("squidpy: not installed, skipped (pip install squidpy into the venv to compare)")
        squidpy_s = ratio = "NA"
    print(
        f"RESULT cells={tme['n_cells']} total_s={tme['wall_s']:.2f} total_cpu_s={tme['cpu_s']:.2f} "
        f"peak_rss_gib={tme['peak_rss_gib']:.2f} "
        f"nn_s={tme['nn_s']:.2f} anchor_knn_s={anchor['wall_s']:.2f} squidpy_knn_s={squidpy_s} "
        f"squidpy_over_tme_nn={ratio} meets_20s={tme['wall_s'] <= 20} meets_2gib={tme['peak_rss_gib'] <= 2}"
    )


if __name__ == "__main__":
    main()
