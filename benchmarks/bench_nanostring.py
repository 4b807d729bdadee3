"""Benchmark: parse + normalise + QC of 200 NanoString RCC files on one core, against anchors in the same run.

The files are the simulated OZM-034-like cohort (IO-360-like panel: 750 genes, 11 housekeepers,
14 controls; ~31 KB each), written to a temporary folder. The process is pinned to one CPU
(``sched_setaffinity``) with BLAS/OpenMP threads set to 1 before numpy loads; R inherits both.
Timed, median of ``--repeats`` runs each:

* ``read_bytes`` — reading every file's bytes (the floor: any parser must at least do this);
* ``tme`` — :func:`tme.nanostring.read_rcc_set` + :func:`~tme.nanostring.normalise` +
  :func:`~tme.nanostring.nanostring_qc` (the issue's target: ≤ 5 s);
* ``tme_reader`` — :func:`tme.nanostring.read_nanostring` end to end (matching to the sheet, gene
  mapping, AnnData);
* ``nanostringqcpro`` — when ``Rscript`` and NanoStringQCPro are installed: ``newRccSet`` (its
  ``readRcc`` on every file) + ``preprocRccSet``, timed inside R (R start-up and library loading
  excluded), on the same files.

Usage: ``.venv/bin/python benchmarks/bench_nanostring.py [--files 200] [--repeats 5]``. Last line:
``RESULT files=<n> tme_s=<s> target_s=5 within_target=<bool> tme_vs_read_bytes=<x> nanostringqcpro_vs_tme=<y>``.
"""

from __future__ import annotations

import os

os.environ.update({k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})

import argparse  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

TARGET_S = 5.0
R_SCRIPT = r"""
suppressPackageStartupMessages(library(NanoStringQCPro))
args <- commandArgs(trailingOnly = TRUE)
files <- sort(list.files(args[1], full.names = TRUE))
geomean <- function(x) exp(mean(log(x)))
for (i in seq_len(as.integer(args[3]))) {
  t <- system.time({
    set <- suppressMessages(suppressWarnings(newRccSet(rccFiles = files, rlf = args[2])))
    pre <- preprocRccSet(set, doPresAbs = FALSE, pcnSummaryFunction = geomean, bgReference = "negatives",
                         bgSummaryFunction = "mean", bgStringency = 2, normMethod = "housekeeping",
                         normSummaryFunction = "mean")
  })[["elapsed"]]
  cat(sprintf("%.6f\n", t))
}
"""


def median_time(repeats: int, func) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def make_folder(root: Path, n_files: int) -> tuple[Path, Path, Path]:
    """Simulate enough patients for ``n_files`` run samples; keep the first ``n_files`` files (by name)."""
    from tme.nanostring.simulate import PANEL, write_rcc_cohort

    n_patients = 4 * (n_files // 7 + 2)  # ~1.9 run samples per patient
    write_rcc_cohort(root / "all", seed=2025, n_patients=n_patients)
    files = sorted((root / "all" / "rcc").glob("*.RCC"))[:n_files]
    if len(files) < n_files:
        raise SystemExit(f"only {len(files)} files simulated")
    (root / "rcc").mkdir()
    for path in files:
        shutil.copy(path, root / "rcc" / path.name)
    return root / "rcc", root / "all" / f"{PANEL}.rlf", root / "all" / "samples.tsv"


def time_r(folder: Path, rlf: Path, repeats: int) -> float | None:
    if shutil.which("Rscript") is None:
        return None
    run = subprocess.run(
        ["Rscript", "-e", R_SCRIPT, str(folder), str(rlf), str(repeats)], capture_output=True, text=True
    )
    if run.returncode != 0:
        print(f"NanoStringQCPro anchor skipped: {run.stderr.strip()[-200:]}")
        return None
    return statistics.median(float(x) for x in run.stdout.split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import pandas as pd

    from tme.config import Design
    from tme.genes import GeneMap
    from tme.nanostring import nanostring_qc, normalise, read_nanostring, read_rcc_set
    from tme.nanostring.match import NCOUNTER_FILE_PATTERN
    from tme.samplesheet import read_samplesheet

    with tempfile.TemporaryDirectory() as tmp:
        folder, rlf, sheet_path = make_folder(Path(tmp), args.files)
        names = {p.name.split("_")[2] for p in folder.iterdir()}
        sheet = pd.read_csv(sheet_path, sep="\t", dtype=str, keep_default_na=False)
        sheet = sheet[sheet["sample_id"].isin(names) | sheet["patient_id"].isin({n[:7] for n in names})]
        sheet.loc[~sheet["sample_id"].isin(names), "exclude_reason"] = "not in the benchmark folder"
        sheet.to_csv(Path(tmp) / "bench_samples.tsv", sep="\t", index=False)
        samples = read_samplesheet(Path(tmp) / "bench_samples.tsv", Design())
        size = sum(p.stat().st_size for p in folder.iterdir())
        print(
            f"{args.files} RCC files, {size / 1e6:.1f} MB, affinity {sorted(os.sched_getaffinity(0))}, load "
            f"{os.getloadavg()}"
        )

        def pipeline():
            rcc = read_rcc_set(folder, rlf)
            return nanostring_qc(rcc, normalise(rcc))

        GeneMap.load()  # cached table: loaded once per process, not per run
        settings = {"path": str(folder), "nanostring": {"pattern": NCOUNTER_FILE_PATTERN, "rlf": str(rlf)}}
        t_read = median_time(args.repeats, lambda: [p.read_bytes() for p in sorted(folder.iterdir())])
        t_tme = median_time(args.repeats, pipeline)
        t_reader = median_time(args.repeats, lambda: read_nanostring(settings, samples))
        t_r = time_r(folder, rlf, args.repeats)

    print(f"read bytes (floor)          : {t_read:8.4f} s")
    print(f"tme parse + normalise + QC  : {t_tme:8.4f} s  ({t_tme / t_read:.1f} x floor; target <= {TARGET_S:g} s)")
    print(f"tme read_nanostring (all)   : {t_reader:8.4f} s")
    if t_r is not None:
        print(f"NanoStringQCPro newRccSet + preprocRccSet: {t_r:8.4f} s  ({t_r / t_tme:.1f} x tme)")
    r_ratio = f"{t_r / t_tme:.2f}" if t_r is not None else "NA"
    print(
        f"RESULT files={args.files} tme_s={t_tme:.4f} target_s={TARGET_S:g} within_target={t_tme <= TARGET_S} "
        f"tme_vs_read_bytes={t_tme / t_read:.2f} reader_s={t_reader:.4f} nanostringqcpro_vs_tme={r_ratio}"
    )


if __name__ == "__main__":
    main()
