"""A simulated OZM-034-like cohort with planted truth: the bundled example and the test bed.

Design (all draws from one ``numpy.random.default_rng(seed)`` in a fixed order, so the same seed
gives the same bytes):

* ``n_patients`` patients randomised 1:1 in permuted blocks of 4 to ``usual_care`` and
  ``anakinra``; a pre (core biopsy, day 0) and a post sample (resection for most, a core for some,
  day 14–21). About 10 % of patients lack a usable post sample for RNA: a post row excluded in
  the sheet (with its reason), no post row at all, or a post library too small (excluded by QC).
* Six latent tumour-microenvironment programs per sample — IL-1-driven inflammation, tumour-
  associated macrophages (TAM), neutrophils, T cells, NK cells and proliferation — each the sum of a
  patient effect (SD 0.6 log2), a sample effect (SD 0.25) and the planted change. Program genes
  follow their program with loading 1, so a program's change is each member gene's log2 change.
* Counts: gamma-Poisson (negative binomial) with gene dispersions around 0.1, gene-specific patient
  effects (SD 0.25), a two-level sequencing batch (by patient, not confounded with arm or
  timepoint) shifting 15 % of genes, library sizes log-uniform over 4–30 million (7.5×).
* Immune densities (cells/mm²: CD8, FOXP3, CD68, CD163, CD56, CD66b) follow the programs on the
  log scale with multiplicative noise; sTILs (%) follow the T-cell program plus the resection
  increment reported for surgical specimens (Huang 2019).

Planted truth (``truth.tsv``; log2 change post − pre unless stated):

==============  ============  ==========  ===================================================
program          anakinra      usual care  meaning
==============  ============  ==========  ===================================================
il1_inflammation  −1.0          0           anakinra lowers IL-1-driven inflammation genes
tam               −0.6          0           fewer tumour-associated macrophages (CD68/CD163)
neutrophil        −0.8          0           fewer neutrophils (CD66b)
t_cell            +0.3          +0.3        biopsy-to-surgery drift, both arms
proliferation     +0.5          +0.5        Ki-67-like drift, both arms (Gandini 2014)
nk                0             0           unchanged (a true null)
==============  ============  ==========  ===================================================

Every other gene is unchanged.
"""

from __future__ import annotations

import gzip
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd

from tme.errors import TmeInputError
from tme.signatures import load_library

ARMS = ("usual_care", "anakinra")

#: Program → member genes (disjoint). Chosen from the signature library's sources (IL-1-induced
#: candidates, Hallmark inflammatory response, MCP-counter / Danaher / Bindea markers, G2M/E2F).
PROGRAMS: dict[str, tuple[str, ...]] = {
    "il1_inflammation": (
        "IL1B",
        "IL1A",
        "CXCL8",
        "IL6",
        "PTGS2",
        "CCL2",
        "CCL3",
        "CCL4",
        "CCL20",
        "CXCL1",
        "CXCL2",
        "CXCL3",
        "CXCL5",
        "CXCL6",
        "CSF2",
        "CSF3",
        "MMP1",
        "MMP3",
        "MMP9",
        "MMP13",
        "SOD2",
        "NFKBIA",
        "TNFAIP3",
        "TNFAIP6",
        "ICAM1",
        "SELE",
        "LIF",
        "IER3",
        "IL1RN",
        "NLRP3",
        "IL1R2",
        "IL24",
        "EREG",
        "PTX3",
    ),
    "tam": (
        "CD68",
        "CD163",
        "MRC1",
        "MSR1",
        "C1QA",
        "C1QB",
        "C1QC",
        "CSF1R",
        "CD14",
        "FCGR1A",
        "MS4A4A",
        "MS4A6A",
        "SIGLEC1",
        "LYVE1",
        "F13A1",
        "STAB1",
        "TREM2",
        "APOE",
        "SPP1",
        "MARCO",
        "VSIG4",
        "CD84",
        "FCGR2A",
        "AIF1",
        "CD163L1",
    ),
    "neutrophil": (
        "FCGR3B",
        "CXCR2",
        "CXCR1",
        "CSF3R",
        "S100A8",
        "S100A9",
        "S100A12",
        "CEACAM8",
        "FPR1",
        "FPR2",
        "MNDA",
        "SELL",
        "AQP9",
        "PROK2",
        "MMP25",
        "TREM1",
        "CMTM2",
        "FFAR2",
        "KCNJ15",
        "VNN2",
    ),
    "t_cell": (
        "CD8A",
        "CD8B",
        "CD3D",
        "CD3E",
        "CD3G",
        "CD2",
        "GZMA",
        "GZMB",
        "GZMK",
        "PRF1",
        "NKG7",
        "CCL5",
        "CXCL9",
        "CXCL10",
        "CXCL13",
        "IDO1",
        "LAG3",
        "CD274",
        "PDCD1LG2",
        "TIGIT",
        "STAT1",
        "HLA-DQA1",
        "HLA-DRB1",
        "HLA-E",
        "PSMB10",
        "CMKLR1",
        "CD27",
        "IFNG",
        "CD247",
        "ZAP70",
        "LCK",
        "CD6",
    ),
    "nk": ("NCAM1", "KLRD1", "KLRF1", "KIR2DL1", "KIR3DL1", "NCR1", "GNLY", "SH2D1B", "KLRC1", "KIR2DL4"),
    "proliferation": (
        "MKI67",
        "TOP2A",
        "CCNB1",
        "CCNB2",
        "CDK1",
        "BUB1",
        "AURKA",
        "AURKB",
        "PLK1",
        "CENPF",
        "TPX2",
        "KIF2C",
        "BIRC5",
        "MCM2",
        "MCM3",
        "MCM4",
        "MCM6",
        "PCNA",
        "E2F1",
        "RRM2",
        "TYMS",
        "CDC20",
        "CCNA2",
        "MYBL2",
        "UBE2C",
        "PTTG1",
        "NUSAP1",
        "KIF20A",
        "CENPA",
        "FOXM1",
    ),
}

#: Planted post − pre change (log2) of each program, per arm.
EFFECTS: dict[str, dict[str, float]] = {
    "il1_inflammation": {"anakinra": -1.0, "usual_care": 0.0},
    "tam": {"anakinra": -0.6, "usual_care": 0.0},
    "neutrophil": {"anakinra": -0.8, "usual_care": 0.0},
    "t_cell": {"anakinra": 0.3, "usual_care": 0.3},
    "nk": {"anakinra": 0.0, "usual_care": 0.0},
    "proliferation": {"anakinra": 0.5, "usual_care": 0.5},
}

#: Immune density → (program, loading, baseline cells/mm²).
DENSITIES: dict[str, tuple[str, float, float]] = {
    "CD8": ("t_cell", 1.0, 150.0),
    "FOXP3": ("t_cell", 0.6, 40.0),
    "CD68": ("tam", 1.0, 300.0),
    "CD163": ("tam", 1.0, 200.0),
    "CD56": ("nk", 1.0, 15.0),
    "CD66b": ("neutrophil", 1.0, 30.0),
}
STILS_BASE = 8.0  # median sTILs (%) at the core biopsy
STILS_RESECTION_LOG2 = 0.4  # extra sTILs read on resections (Huang 2019: median 10 % vs 5 %)


def gene_pool() -> pd.DataFrame:
    """Current symbols with one Ensembl ID each, from the shipped gene map (sorted, deterministic)."""
    with (files("tme") / "data" / "gene_map.tsv.gz").open("rb") as handle:
        table = pd.read_csv(handle, sep="\t", dtype=str, keep_default_na=False, compression="gzip")
    ens = table[table["id_type"] == "ensembl"]
    ens = ens[~ens["id"].duplicated(keep=False)]
    ens = ens.sort_values("id").drop_duplicates("symbol")
    return ens.rename(columns={"id": "gene_id", "symbol": "gene_name"})[["gene_id", "gene_name"]]


def _write_gzip_tsv(frame: pd.DataFrame, path: Path) -> None:
    text = frame.to_csv(sep="\t", index=False, lineterminator="\n")
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode())


def simulate_cohort(seed: int = 34, n_patients: int = 44, n_genes: int = 15000) -> dict[str, pd.DataFrame]:
    """Simulate the cohort; returns ``samples``, ``counts`` (nf-core salmon layout), ``immune``, ``truth``."""
    if n_patients < 8 or n_patients % 4:
        raise TmeInputError(
            f"--patients {n_patients}: that many patients cannot be randomised in permuted blocks of 4",
            fix="give a multiple of 4, at least 8",
        )
    rng = np.random.default_rng(seed)

    # --- patients, randomisation, sample sheet ---------------------------------------------------
    patients = [f"OZM-{i:03d}" for i in range(1, n_patients + 1)]
    arm = np.concatenate(
        [rng.permutation(["usual_care", "usual_care", "anakinra", "anakinra"]) for _ in range(n_patients // 4)]
    )
    batch = rng.choice(["run1", "run2"], size=n_patients)
    subtype = np.where(rng.random(n_patients) < 0.8, "TNBC", "ER-low")
    n_missing = max(1, round(0.1 * n_patients))
    missing = rng.choice(n_patients, size=n_missing, replace=False)
    # kinds of missing post sample, in turn: excluded in the sheet, never taken, failed library
    missing_kind = {int(p): ("excluded", "absent", "low_library")[i % 3] for i, p in enumerate(missing)}
    reasons = ("insufficient tumour in resection specimen", "RNA failed quality control")
    rows = []
    for p, pid in enumerate(patients):
        cell = rng.integers(20, 81, size=2)
        rows.append(
            dict(
                sample_id=f"{pid}-BX",
                patient_id=pid,
                arm=arm[p],
                timepoint="pre",
                sample_type="core",
                days_from_baseline=0,
                subtype=subtype[p],
                batch=batch[p],
                tumour_cellularity=cell[0],
                exclude_reason="",
            )
        )
        kind = missing_kind.get(p)
        if kind == "absent":
            continue
        post_type = "resection" if rng.random() < 0.85 else "core"
        rows.append(
            dict(
                sample_id=f"{pid}-{'RS' if post_type == 'resection' else 'CB'}",
                patient_id=pid,
                arm=arm[p],
                timepoint="post",
                sample_type=post_type,
                days_from_baseline=int(rng.integers(14, 22)),
                subtype=subtype[p],
                batch=batch[p],
                tumour_cellularity=cell[1],
                exclude_reason=reasons[p % 2] if kind == "excluded" else "",
            )
        )
    samples = pd.DataFrame(rows)
    n_samples = len(samples)
    s_patient = samples["patient_id"].map({pid: i for i, pid in enumerate(patients)}).to_numpy()
    s_post = (samples["timepoint"] == "post").to_numpy()
    s_arm = samples["arm"].to_numpy()

    # --- latent programs per sample -------------------------------------------------------------
    program_names = list(PROGRAMS)
    patient_level = rng.normal(0, 0.6, size=(len(program_names), n_patients))
    sample_level = rng.normal(0, 0.25, size=(len(program_names), n_samples))
    effect = np.array([[EFFECTS[prog][a] if post else 0.0 for a, post in zip(s_arm, s_post)] for prog in program_names])
    program = patient_level[:, s_patient] + sample_level + effect  # programs × samples, log2

    # --- genes -----------------------------------------------------------------------------------
    pool = gene_pool()
    program_genes = [g for prog in program_names for g in PROGRAMS[prog]]
    if len(set(program_genes)) != len(program_genes):
        raise AssertionError("simulation programs must be disjoint")
    # every signature-library gene is measured, as on a whole-transcriptome assay
    library_genes = {g for sig in load_library().values() for g in sig.all_genes + sig.housekeeping}
    in_pool = pool["gene_name"].isin(set(program_genes) | library_genes)
    others = pool[~in_pool]
    if n_genes < in_pool.sum():
        raise TmeInputError(
            f"--genes {n_genes}: fewer genes than the signature-library and program genes the simulator "
            f"always measures ({int(in_pool.sum())})",
            fix=f"give at least {int(in_pool.sum())}",
        )
    take = rng.choice(len(others), size=n_genes - int(in_pool.sum()), replace=False)
    genes = pd.concat([pool[in_pool], others.iloc[np.sort(take)]]).sort_values("gene_id").reset_index(drop=True)
    n = len(genes)
    gene_program = genes["gene_name"].map({g: i for i, prog in enumerate(program_names) for g in PROGRAMS[prog]})
    is_prog = gene_program.notna().to_numpy()
    base = np.clip(rng.normal(2.0, 2.5, size=n), -4, 12)
    base[is_prog] = rng.normal(4.0, 1.0, size=int(is_prog.sum()))
    dispersion = np.exp(rng.normal(np.log(0.1), 0.5, size=n))
    patient_gene = rng.normal(0, 0.25, size=(n, n_patients))
    batch_shift = np.where(rng.random(n) < 0.15, rng.normal(0, 0.4, size=n), 0.0)
    log2_mean = base[:, None] + patient_gene[:, s_patient]
    log2_mean += batch_shift[:, None] * (batch[s_patient] == "run2")[None, :]
    log2_mean[is_prog] += program[gene_program[is_prog].astype(int).to_numpy()]
    library = np.exp(rng.uniform(np.log(4e6), np.log(3e7), size=n_samples))
    low = [
        i
        for i, (pid, post) in enumerate(zip(samples["patient_id"], s_post))
        if post and missing_kind.get(patients.index(pid)) == "low_library"
    ]
    library[low] = 6e4
    rate = 2.0**log2_mean
    mean = rate / rate.sum(axis=0) * library
    shape = 1.0 / dispersion[:, None]
    counts = rng.poisson(rng.gamma(shape, mean / shape))
    sequenced = samples["exclude_reason"].eq("").to_numpy()  # excluded samples were never sequenced
    count_table = pd.concat(
        [genes, pd.DataFrame(counts[:, sequenced], columns=samples.loc[sequenced, "sample_id"])], axis=1
    )

    # --- immune-cell table -----------------------------------------------------------------------
    resection = (samples["sample_type"] == "resection").to_numpy()
    no_mif = int(rng.integers(n_samples))  # one biopsy exhausted before multiplex IF
    immune_rows = []
    for i, sid in enumerate(samples["sample_id"]):
        if not sequenced[i]:
            continue
        for measure, (prog, loading, base_density) in DENSITIES.items():
            if i == no_mif:
                break
            value = base_density * np.exp(
                np.log(2) * loading * program[program_names.index(prog), i] + rng.normal(0, 0.35)
            )
            immune_rows.append((sid, measure, round(float(value), 1), "cells/mm2"))
        tils = STILS_BASE * 2.0 ** (program[program_names.index("t_cell"), i] + STILS_RESECTION_LOG2 * resection[i])
        tils = float(np.clip(np.round(tils * np.exp(rng.normal(0, 0.2))), 1, 90))
        immune_rows.append((sid, "sTILs", tils, "%"))
    immune = pd.DataFrame(immune_rows, columns=["sample_id", "measure", "value", "unit"])

    # --- truth -----------------------------------------------------------------------------------
    truth_rows = []
    for prog in program_names:
        eff = EFFECTS[prog]
        for g in PROGRAMS[prog]:
            truth_rows.append(
                dict(
                    feature=g,
                    feature_type="gene",
                    program=prog,
                    scale="log2 expression",
                    change_anakinra=eff["anakinra"],
                    change_usual_care=eff["usual_care"],
                )
            )
    for measure, (prog, loading, _) in DENSITIES.items():
        eff = EFFECTS[prog]
        truth_rows.append(
            dict(
                feature=measure,
                feature_type="immune_measure",
                program=prog,
                scale="natural log density",
                change_anakinra=round(loading * eff["anakinra"] * np.log(2), 6),
                change_usual_care=round(loading * eff["usual_care"] * np.log(2), 6),
            )
        )
    t_eff = EFFECTS["t_cell"]
    truth_rows.append(
        dict(
            feature="sTILs",
            feature_type="immune_measure",
            program="t_cell",
            scale="log2 sTILs (plus the resection increment on resection specimens)",
            change_anakinra=t_eff["anakinra"],
            change_usual_care=t_eff["usual_care"],
        )
    )
    truth = pd.DataFrame(truth_rows)
    truth["between_arm_difference"] = truth["change_anakinra"] - truth["change_usual_care"]
    return {"samples": samples, "counts": count_table, "immune": immune, "truth": truth}


def write_cohort(out: str | Path, seed: int = 34, n_patients: int = 44, n_genes: int = 15000) -> list[Path]:
    """Simulate and write ``samples.tsv``, ``salmon.merged.gene_counts.tsv.gz``, ``immune.tsv``, ``truth.tsv``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cohort = simulate_cohort(seed=seed, n_patients=n_patients, n_genes=n_genes)
    paths = [out / "samples.tsv", out / "salmon.merged.gene_counts.tsv.gz", out / "immune.tsv", out / "truth.tsv"]
    cohort["samples"].to_csv(paths[0], sep="\t", index=False, lineterminator="\n")
    _write_gzip_tsv(cohort["counts"], paths[1])
    cohort["immune"].to_csv(paths[2], sep="\t", index=False, lineterminator="\n")
    cohort["truth"].to_csv(paths[3], sep="\t", index=False, lineterminator="\n")
    return paths
