"""Benchmark tme ssGSEA and GSVA against the argsort floor, gseapy and R GSVA 1.46, fairly.

Not a test. Seeded synthetic inputs (log-normal expression; negative-binomial counts for the
Poisson kernel), all 50 MSigDB Hallmark sets, written once as raw float64 files that every
contender reads. Rules:

* every comparison alternates the contenders round by round on identical inputs, after one
  uncounted warm-up round, and reports the **median** wall-clock time of ``--runs`` rounds;
* one thread everywhere unless stated (``OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS=1``, tme ``n_jobs=1``,
  gseapy ``threads=1``, R ``parallel.sz=1``); tme ``n_jobs=2`` is compared with a 2-thread floor;
* **core call**: the scoring call alone, imports and input loading outside the timer (tme, gseapy
  and the floor in this process; R times its own ``gsva()`` call after a warm-up call on 10
  samples); **whole process**: one fresh process per run (``python`` or ``Rscript``) that imports,
  reads the input, scores and writes the scores, timed from outside (R's warm-up call and the
  separate timing of its kernel step are taken off);
* every anchor scores every set of every sample (nothing extrapolated); R is skipped with a note
  when ``Rscript`` or GSVA is absent;
* GSVA's kernel step alone is compared too: tme ``kernel_cdf_statistic`` against R
  ``GSVA:::compute.gene.density`` on the same (non-constant) genes.

Numbers checked in the same run: tme ssGSEA vs R ``ssgsea.norm=FALSE`` (1e-9) and vs gseapy ES
divided by their global range (1e-8); tme GSVA vs R GSVA (1e-6). The machine's load average is
printed per section: on a shared machine a load above the number of cores makes wall-clock
ratios noisy (alternation keeps them paired, not exact).

Usage (full size, ~10 min on 2 cores; add ``--poisson`` for the Poisson kernel, ~+20 min: R needs
about 2 min per Poisson run, and its kernel step is timed separately)::

    .venv/bin/python benchmarks/bench_scoring.py
    .venv/bin/python benchmarks/bench_scoring.py --genes 5000 --samples 200 --gsva-samples 50 --runs 3

The last line is ``RESULT key=value ...``: speed-ups ``<method>_{call,process,kernel}_vs_<anchor>``
(anchor time / tme time), floor ratios ``ssgsea_floor_ratio`` (call, 1 thread),
``ssgsea_process_floor_ratio`` and ``ssgsea_floor_ratio_2threads`` (tme time / floor time), the
largest parity differences ``*_diff_*`` and ``ssgsea_threads_identical`` (1 = bit-identical).
"""

from __future__ import annotations

import os

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
for _name in THREAD_VARIABLES:  # before numpy is imported: this process is a 1-thread contender
    os.environ[_name] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).resolve().parent
HALLMARK = HERE.parents[1] / "shared" / "reference" / "genesets" / "h.all.v7.5.1.symbols.gmt"
R_ANCHOR = HERE / "bench_scoring_anchor.R"
SEED = 20261125


# ----------------------------------------------------------------------------- inputs


def hallmark_sets() -> dict[str, list[str]]:
    """The 50 Hallmark sets (GMT: name, URL, genes)."""
    return {f[0]: [g for g in f[2:] if g] for f in (line.split("\t") for line in HALLMARK.read_text().splitlines())}


def gene_names(n_genes: int, sets: dict[str, list[str]]) -> list[str]:
    hallmark = sorted({g for genes in sets.values() for g in genes})
    return (hallmark + [f"FILLER{i:05d}" for i in range(n_genes)])[:n_genes]


def synthetic(n_genes: int, n_samples: int, counts: bool) -> np.ndarray:
    """Samples x genes: log-normal expression, or negative-binomial counts (log-normal means,
    dispersion 0.2) for the Poisson kernel."""
    rng = np.random.default_rng(SEED)
    if not counts:
        return rng.lognormal(mean=1.0, sigma=1.5, size=(n_samples, n_genes))
    mean = np.exp(rng.normal(3.0, 2.0, size=n_genes))
    return rng.negative_binomial(5, 5 / (5 + mean), size=(n_samples, n_genes)).astype(np.float64)


def read_matrix(path: str, genes_path: str, n_samples: int) -> pd.DataFrame:
    """A matrix file as the genes x samples DataFrame tme and gseapy take (no copy)."""
    genes = Path(genes_path).read_text().split("\n")
    values = np.fromfile(path, dtype="<f8").reshape(n_samples, len(genes))
    return pd.DataFrame(values.T, index=genes, columns=[f"S{j + 1}" for j in range(n_samples)])


# ----------------------------------------------------------------------------- contenders


def argsort_floor(X: np.ndarray, n_jobs: int = 1) -> None:
    """Sort every sample once (rows of ``X``): what any exact rank-based scorer must do."""
    blocks = [X[start : start + 64] for start in range(0, X.shape[0], 64)]
    sort = lambda block: [np.argsort(row) for row in block]  # noqa: E731
    if n_jobs == 1:
        for block in blocks:
            sort(block)
    else:
        with ThreadPoolExecutor(n_jobs) as pool:
            list(pool.map(sort, blocks))


def gseapy_ssgsea(data: pd.DataFrame, sets: dict[str, list[str]]) -> np.ndarray:
    """gseapy ssGSEA ES (``sample_norm_method="rank"``), sets x samples."""
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
    es = result.res2d.pivot(index="Term", columns="Name", values="ES").astype(float)
    return es.loc[list(sets), data.columns].to_numpy()


def tme_score(
    data: pd.DataFrame, sets: dict[str, list[str]], method: str, kcdf: str, n_jobs: int = 1, **options
) -> np.ndarray:
    """tme scores, sets x samples (warnings about small sets silenced: Hallmark sets are big)."""
    from tme.scoring import score

    if method == "gsva":
        options["kcdf"] = kcdf
    return score(data, sets, method, n_jobs=n_jobs, **options).to_numpy().T


def child(kind: str, method: str, kcdf: str, matrix: str, genes: str, n_samples: int, out: str) -> None:
    """Body of a whole-process run: import, read, score, write; print the call's seconds."""
    if kind == "tme":
        import tme.scoring  # noqa: F401  (import outside the timer, as in the parent)
    elif kind == "gseapy":
        import gseapy  # noqa: F401
    data = read_matrix(matrix, genes, n_samples)
    sets = hallmark_sets()
    start = time.perf_counter()
    if kind == "floor":
        argsort_floor(data.to_numpy().T)
        scores = np.zeros(1)
    elif kind == "tme":
        scores = tme_score(data, sets, method, kcdf)
    else:
        scores = gseapy_ssgsea(data, sets)
    elapsed = time.perf_counter() - start
    np.ascontiguousarray(scores, dtype="<f8").tofile(out)
    print(json.dumps({"call": elapsed}))


# ----------------------------------------------------------------------------- timing


def paired_rounds(runs: int, steps: dict) -> dict[str, dict[str, float]]:
    """Run ``steps`` (name -> callable) one after the other, round after round: one uncounted
    warm-up round, then ``runs`` counted ones. A step may return a dict of seconds it timed
    itself (a process: its scoring call), including ``extra``: benchmark-only work inside the
    process (R's warm-up call and kernel timing), taken off its wall time. Returns
    name -> {"wall": median, key: median, ...}."""
    times: dict[str, dict[str, list[float]]] = {name: {"wall": []} for name in steps}
    for round_ in range(runs + 1):
        for name, step in steps.items():
            start = time.perf_counter()
            inner = dict(step() or {})
            wall = time.perf_counter() - start - inner.pop("extra", 0.0)
            if round_:
                times[name]["wall"].append(wall)
                for key, seconds in inner.items():
                    times[name].setdefault(key, []).append(seconds)
    return {name: {key: statistics.median(v) for key, v in kinds.items()} for name, kinds in times.items()}


def process(command: list[str]) -> dict[str, float]:
    """Run one contender process with one thread; return the JSON it prints last."""
    env = dict(os.environ, **{name: "1" for name in THREAD_VARIABLES})
    done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def r_missing() -> str | None:
    """Why R cannot be an anchor, or None when Rscript with GSVA is there."""
    if shutil.which("Rscript") is None:
        return "Rscript not on PATH"
    probe = subprocess.run(["Rscript", "-e", "library(GSVA)"], capture_output=True, text=True)
    return None if probe.returncode == 0 else "R package GSVA not installed"


def load() -> str:
    one, five, _ = os.getloadavg()
    flag = " - above the core count: wall-clock ratios noisy" if one > (os.cpu_count() or 1) else ""
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min), {os.cpu_count()} cores{flag}"


def report(t: dict[str, dict[str, float]], key: str, anchors: tuple[str, ...], result: dict) -> None:
    """Print medians; store speed-ups anchor / tme for the call and the whole process."""
    for name, kinds in t.items():
        inner = "".join(f", {k} {v:.3f} s" for k, v in kinds.items() if k != "wall")
        print(f"  {name:16s}: wall {kinds['wall']:8.3f} s{inner}", flush=True)
    tme_call = t["tme call"]["wall"]
    for anchor in anchors:
        tag = anchor.lower()
        call = t[f"{anchor} call"]["wall"] if f"{anchor} call" in t else t[f"{anchor} process"]["call"]
        result[f"{key}_call_vs_{tag}"] = call / tme_call
        result[f"{key}_process_vs_{tag}"] = t[f"{anchor} process"]["wall"] / t["tme process"]["wall"]
        print(
            f"  tme is {result[f'{key}_call_vs_{tag}']:.1f}x faster than {anchor} (call), "
            f"{result[f'{key}_process_vs_{tag}']:.1f}x (whole process)",
            flush=True,
        )


# ----------------------------------------------------------------------------- sections


class Inputs:
    """One matrix written once for all contenders: ``path`` (raw float64) and ``genes``."""

    def __init__(self, folder: Path, name: str, X: np.ndarray, genes: list[str]):
        self.folder = folder
        self.path, self.genes = folder / f"{name}.f64", folder / f"{name}.genes.txt"
        np.ascontiguousarray(X, dtype="<f8").tofile(self.path)
        self.genes.write_text("\n".join(genes))
        self.n_samples = X.shape[0]
        self.data = read_matrix(str(self.path), str(self.genes), self.n_samples)

    def python(self, kind: str, method: str, kcdf: str) -> dict[str, float]:
        return process(
            [
                sys.executable,
                __file__,
                "--child",
                kind,
                method,
                kcdf,
                str(self.path),
                str(self.genes),
                str(self.n_samples),
                str(self.folder / f"{kind}.f64"),
            ]
        )

    def r(self, method: str, kcdf: str) -> dict[str, float]:
        return process(
            [
                "Rscript",
                str(R_ANCHOR),
                method,
                kcdf.capitalize(),
                str(self.path),
                str(self.genes),
                str(self.n_samples),
                str(HALLMARK),
                str(self.folder / "r.f64"),
            ]
        )

    def r_scores(self, n_sets: int) -> np.ndarray:
        """The last R run's scores, sets x samples."""
        return np.fromfile(self.folder / "r.f64", dtype="<f8").reshape(self.n_samples, n_sets).T


def ssgsea_section(inputs: Inputs, runs: int, with_r: bool, result: dict) -> None:
    sets = hallmark_sets()
    X = inputs.data.to_numpy().T
    last: dict[str, np.ndarray] = {}
    steps = {
        "floor call": lambda: argsort_floor(X),
        "tme call": lambda: last.__setitem__("tme", tme_score(inputs.data, sets, "ssgsea", "")),
        "gseapy call": lambda: last.__setitem__("gseapy", gseapy_ssgsea(inputs.data, sets)),
        "floor process": lambda: inputs.python("floor", "ssgsea", ""),
        "tme process": lambda: inputs.python("tme", "ssgsea", ""),
        "gseapy process": lambda: inputs.python("gseapy", "ssgsea", ""),
    }
    if with_r:
        steps["R process"] = lambda: inputs.r("ssgsea", "gaussian")
    print(f"ssGSEA, {X.shape[1]} genes x {X.shape[0]} samples, 1 thread; {load()}", flush=True)
    t = paired_rounds(runs, steps)
    print(f"  {load()} (end)", flush=True)
    report(t, "ssgsea", ("gseapy", "R") if with_r else ("gseapy",), result)
    result["ssgsea_floor_ratio"] = t["tme call"]["wall"] / t["floor call"]["wall"]
    result["ssgsea_process_floor_ratio"] = t["tme process"]["wall"] / t["floor process"]["wall"]
    print(
        f"  tme call / floor call: {result['ssgsea_floor_ratio']:.2f}; whole process, tme / floor: "
        f"{result['ssgsea_process_floor_ratio']:.2f} (imports included)",
        flush=True,
    )
    gseapy = last["gseapy"]
    normalised = tme_score(inputs.data, sets, "ssgsea", "", normalize=True)
    result["ssgsea_diff_gseapy"] = float(np.abs(gseapy / (gseapy.max() - gseapy.min()) - normalised).max())
    if with_r:
        result["ssgsea_diff_r"] = float(np.abs(inputs.r_scores(len(sets)) - last["tme"]).max())


def two_threads_section(inputs: Inputs, runs: int, result: dict) -> None:
    """tme ``n_jobs=2`` against the floor sorting on 2 threads; scores bit-identical to 1 thread."""
    sets = hallmark_sets()
    X = inputs.data.to_numpy().T
    last: dict[str, np.ndarray] = {}
    print(f"ssGSEA, 2 threads; {load()}", flush=True)
    t = paired_rounds(
        runs,
        {
            "floor call": lambda: argsort_floor(X, n_jobs=2),
            "tme call": lambda: last.__setitem__("tme", tme_score(inputs.data, sets, "ssgsea", "", n_jobs=2)),
        },
    )
    for name, kinds in t.items():
        print(f"  {name:16s}: wall {kinds['wall']:8.3f} s", flush=True)
    result["ssgsea_floor_ratio_2threads"] = t["tme call"]["wall"] / t["floor call"]["wall"]
    result["ssgsea_threads_identical"] = int(np.array_equal(last["tme"], tme_score(inputs.data, sets, "ssgsea", "")))
    print(
        f"  tme / floor at 2 threads: {result['ssgsea_floor_ratio_2threads']:.2f}; bit-identical to "
        f"1 thread: {bool(result['ssgsea_threads_identical'])}",
        flush=True,
    )


def gsva_section(inputs: Inputs, kcdf: str, runs: int, with_r: bool, result: dict) -> None:
    from tme.scoring._gsva_kernel import kernel_cdf_statistic

    sets = hallmark_sets()
    X = inputs.data.to_numpy().T
    X = X[:, X.std(axis=0, ddof=1) >= 1e-10]  # what score() passes on (constant genes dropped)
    key = "gsva" if kcdf == "gaussian" else "gsva_poisson"
    last: dict[str, np.ndarray] = {}
    steps = {
        "tme kernel step": lambda: last.__setitem__("z", kernel_cdf_statistic(X, kcdf)),
        "tme call": lambda: last.__setitem__("tme", tme_score(inputs.data, sets, "gsva", kcdf)),
        "tme process": lambda: inputs.python("tme", "gsva", kcdf),
    }
    if with_r:
        steps["R process"] = lambda: inputs.r("gsva", kcdf)
    print(f"GSVA, {kcdf} kernel, {X.shape[1]} genes x {X.shape[0]} samples, 1 thread; {load()}", flush=True)
    t = paired_rounds(runs, steps)
    print(f"  {load()} (end)", flush=True)
    report(t, key, ("R",) if with_r else (), result)
    if with_r:
        result[f"{key}_kernel_vs_r"] = t["R process"]["kernel"] / t["tme kernel step"]["wall"]
        result[f"{key}_diff_r"] = float(np.abs(inputs.r_scores(len(sets)) - last["tme"]).max())
        print(
            f"  kernel step: tme is {result[f'{key}_kernel_vs_r']:.1f}x faster than R (compute.gene.density)",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--samples", type=int, default=1_000, help="samples for ssGSEA")
    parser.add_argument("--gsva-samples", type=int, default=200, help="samples for GSVA")
    parser.add_argument("--runs", type=int, default=3, help="counted rounds (after one warm-up round)")
    parser.add_argument("--poisson", action="store_true", help="also GSVA with the Poisson kernel on counts")
    parser.add_argument("--skip-r", action="store_true", help="leave R GSVA out")
    parser.add_argument("--child", nargs=7, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, method, kcdf, matrix, genes, n_samples, out = args.child
        child(kind, method, kcdf, matrix, genes, int(n_samples), out)
        return
    missing = "--skip-r given" if args.skip_r else r_missing()
    if missing:
        print(f"R GSVA anchor skipped: {missing}", flush=True)
    sets = hallmark_sets()
    genes = gene_names(args.genes, sets)
    result: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        log_scale = Inputs(folder, "ssgsea", synthetic(args.genes, args.samples, counts=False), genes)
        ssgsea_section(log_scale, args.runs, missing is None, result)
        two_threads_section(log_scale, args.runs, result)
        del log_scale
        gsva_input = Inputs(folder, "gsva", synthetic(args.genes, args.gsva_samples, counts=False), genes)
        gsva_section(gsva_input, "gaussian", args.runs, missing is None, result)
        if args.poisson:
            counts = Inputs(folder, "counts", synthetic(args.genes, args.gsva_samples, counts=True), genes)
            gsva_section(counts, "poisson", args.runs, missing is None, result)
    checks = {"ssgsea_diff_gseapy": 1e-8, "ssgsea_diff_r": 1e-9, "gsva_diff_r": 1e-6, "gsva_poisson_diff_r": 1e-6}
    failed = [k for k, tol in checks.items() if result.get(k, 0.0) > tol] + (
        [] if result["ssgsea_threads_identical"] else ["ssgsea_threads_identical"]
    )
    print(
        f"parity: {', '.join(f'{k} {result[k]:.1e} (bar {tol:g})' for k, tol in checks.items() if k in result)}",
        flush=True,
    )
    print("RESULT " + " ".join(f"{k}={v:.3g}" for k, v in result.items()))
    if failed:
        sys.exit(f"numerical check failed: {failed}")


if __name__ == "__main__":
    main()
