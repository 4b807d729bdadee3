"""A simulated single-cell OZM-034-like cohort with planted truth (example data and test bed).

Design (one ``numpy.random.default_rng(seed)``, draws in a fixed order, so a seed fixes the bytes):

* ``n_patients`` patients randomised 1:1 in permuted blocks of 4 to ``usual_care`` / ``anakinra``,
  a pre core biopsy (``-BX``, day 0) and a post resection (``-RS``, day 14–21) each; one post
  sample yields only 30 cells (excluded by a ``min_cells`` of 50, as a failed dissociation would be).
* Cells per sample ≈ ``cells_per_sample`` (×0.7–1.3), cell types of a TNBC biopsy drawn from
  per-sample proportions: baseline :data:`CELL_TYPES`, on the log2 scale plus a patient effect
  (SD 0.3), a sample effect (SD 0.15) and the planted change, renormalised.
* Expression: gene programs (the bulk simulator's :data:`tme.simulate.PROGRAMS`, the IL-1 program
  widened to every gene of ``TME_IL1_INDUCED``, plus lineage programs for tumour epithelium, CAF,
  endothelium and B cells) switched on per cell type (:data:`ACTIVITY`, log2), with patient (SD 0.3),
  sample (SD 0.15) and cell (SD 0.3) program effects; Poisson counts around a per-cell library
  size (log-normal, median 800 UMIs); 13 mitochondrial genes at ~4 % of counts, ~30 % in the
  3 % of damaged cells (removed by QC).

Planted truth (``truth.tsv``; log2 change post − pre):

================================  =============================  =========  ==========
feature                            where                          anakinra   usual care
================================  =============================  =========  ==========
IL1B+ macrophage proportion        cell type proportion           −1.0       0
Neutrophil proportion              cell type proportion           −0.8       0
T cell proportion                  cell type proportion           +0.3       +0.3
IL-1 program                       Macrophage, IL1B+ macrophage   −1.0       0
proliferation program              Tumour epithelial              +0.5       +0.5
NK program                         NK                             0          0 (a true null)
================================  =============================  =========  ==========
"""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from tme.errors import TmeInputError
from tme.signatures import load_library
from tme.simulate import PROGRAMS, gene_pool

#: Baseline fraction of each cell type in a TNBC biopsy (Wu 2021 breast atlas, rounded).
CELL_TYPES: dict[str, float] = {
    "Tumour epithelial": 0.34,
    "CAF": 0.12,
    "Endothelial": 0.06,
    "T cell": 0.18,
    "NK": 0.04,
    "B cell": 0.06,
    "Macrophage": 0.10,
    "IL1B+ macrophage": 0.04,
    "Neutrophil": 0.06,
}

#: Lineage programs added to the bulk simulator's programs.
LINEAGE_PROGRAMS: dict[str, tuple[str, ...]] = {
    "epithelial": ("EPCAM", "KRT8", "KRT18", "KRT19", "KRT5", "KRT14", "KRT17", "CDH1", "KRT7", "CLDN4", "ELF3"),
    "caf": ("COL1A1", "COL1A2", "COL3A1", "DCN", "LUM", "PDGFRB", "FAP", "COL6A3", "SFRP2", "THY1"),
    "endothelial": ("PECAM1", "VWF", "CDH5", "KDR", "CLDN5", "PLVAP", "EMCN", "ESAM"),
    "b_cell": ("MS4A1", "CD79A", "CD79B", "CD19", "BANK1", "CD22", "IGHM", "TCL1A"),
}

#: Program activity per cell type (log2 above the program's baseline).
ACTIVITY: dict[str, dict[str, float]] = {
    "il1_inflammation": {"IL1B+ macrophage": 4.0, "Macrophage": 1.5, "Neutrophil": 2.0, "CAF": 1.0, "Endothelial": 0.5},
    "tam": {"Macrophage": 4.0, "IL1B+ macrophage": 3.5},
    "neutrophil": {"Neutrophil": 4.0},
    "t_cell": {"T cell": 4.0, "NK": 1.5},
    "nk": {"NK": 4.0, "T cell": 0.5},
    "proliferation": {"Tumour epithelial": 2.0, "T cell": 0.5},
    "epithelial": {"Tumour epithelial": 4.0},
    "caf": {"CAF": 4.0},
    "endothelial": {"Endothelial": 4.0},
    "b_cell": {"B cell": 4.0},
}

#: Planted post − pre log2 change of cell-type proportions, per arm.
PROPORTION_EFFECTS: dict[str, dict[str, float]] = {
    "IL1B+ macrophage": {"anakinra": -1.0, "usual_care": 0.0},
    "Neutrophil": {"anakinra": -0.8, "usual_care": 0.0},
    "T cell": {"anakinra": 0.3, "usual_care": 0.3},
}

#: Planted post − pre log2 change of a program's genes within cell types: (program, cell types, arm effects).
EXPRESSION_EFFECTS: tuple[tuple[str, tuple[str, ...], dict[str, float]], ...] = (
    ("il1_inflammation", ("Macrophage", "IL1B+ macrophage"), {"anakinra": -1.0, "usual_care": 0.0}),
    ("proliferation", ("Tumour epithelial",), {"anakinra": 0.5, "usual_care": 0.5}),
    ("nk", ("NK",), {"anakinra": 0.0, "usual_care": 0.0}),
)

#: The signature each program's planted change is read through in ``truth.tsv``.
PROGRAM_SIGNATURE = {
    "il1_inflammation": "TME_IL1_INDUCED",
    "proliferation": "HALLMARK_G2M_CHECKPOINT",
    "nk": "DANAHER2017_NK_cells",
}

MITO_GENES = {  # symbol → Ensembl ID of the 13 mitochondrially encoded protein genes
    "MT-ND1": "ENSG00000198888",
    "MT-ND2": "ENSG00000198763",
    "MT-CO1": "ENSG00000198804",
    "MT-CO2": "ENSG00000198712",
    "MT-ATP8": "ENSG00000228253",
    "MT-ATP6": "ENSG00000198899",
    "MT-CO3": "ENSG00000198938",
    "MT-ND3": "ENSG00000198840",
    "MT-ND4L": "ENSG00000212907",
    "MT-ND4": "ENSG00000198886",
    "MT-ND5": "ENSG00000198786",
    "MT-ND6": "ENSG00000198695",
    "MT-CYB": "ENSG00000198727",
}


def _programs() -> dict[str, tuple[str, ...]]:
    programs = {**PROGRAMS, **LINEAGE_PROGRAMS}
    il1 = load_library()["TME_IL1_INDUCED"].genes
    programs["il1_inflammation"] = tuple(dict.fromkeys(PROGRAMS["il1_inflammation"] + il1))
    return programs


def _samples(rng: np.random.Generator, n_patients: int) -> pd.DataFrame:
    patients = [f"OZM-{i:03d}" for i in range(1, n_patients + 1)]
    arm = np.concatenate(
        [rng.permutation(["usual_care", "usual_care", "anakinra", "anakinra"]) for _ in range(n_patients // 4)]
    )
    days = rng.integers(14, 22, size=n_patients)
    rows = []
    for p, pid in enumerate(patients):
        rows.append(
            dict(
                sample_id=f"{pid}-BX",
                patient_id=pid,
                arm=arm[p],
                timepoint="pre",
                sample_type="core",
                days_from_baseline=0,
            )
        )
        rows.append(
            dict(
                sample_id=f"{pid}-RS",
                patient_id=pid,
                arm=arm[p],
                timepoint="post",
                sample_type="resection",
                days_from_baseline=int(days[p]),
            )
        )
    return pd.DataFrame(rows)


def simulate_singlecell(seed: int = 34, n_patients: int = 12, cells_per_sample: int = 800, n_genes: int = 3000) -> dict:
    """Simulate the cohort; returns ``adata`` (counts), ``samples`` (sheet) and ``truth``."""
    if n_patients < 4 or n_patients % 4:
        raise TmeInputError(
            f"--patients {n_patients}: that many patients cannot be randomised in permuted blocks of 4",
            fix="give a positive multiple of 4",
        )
    rng = np.random.default_rng(seed)
    samples = _samples(rng, n_patients)
    n_samples = len(samples)
    post = (samples["timepoint"] == "post").to_numpy()
    arms = samples["arm"].to_numpy()
    patient = np.repeat(np.arange(n_patients), 2)

    # --- genes ------------------------------------------------------------------------------------
    programs = _programs()
    program_genes = [g for genes in programs.values() for g in genes]
    if len(set(program_genes)) != len(program_genes):
        raise AssertionError("simulation programs must be disjoint")
    pool = gene_pool()
    fixed = pool[pool["gene_name"].isin(program_genes)]
    others = pool[~pool["gene_name"].isin(program_genes)]
    n_other = n_genes - len(fixed) - len(MITO_GENES)
    if n_other < 0:
        raise TmeInputError(
            f"--genes {n_genes}: fewer genes than the program and mitochondrial genes the simulator always "
            f"writes ({len(fixed) + len(MITO_GENES)})",
            fix=f"give at least {len(fixed) + len(MITO_GENES)}",
        )
    take = np.sort(rng.choice(len(others), size=n_other, replace=False))
    mito = pd.DataFrame({"gene_id": list(MITO_GENES.values()), "gene_name": list(MITO_GENES)})
    genes = pd.concat([fixed, others.iloc[take], mito]).sort_values("gene_name").reset_index(drop=True)
    names = genes["gene_name"].to_numpy()
    prog_names = list(programs)
    membership = np.zeros((len(prog_names), len(genes)))  # programs × genes, loading 1
    for i, prog in enumerate(prog_names):
        membership[i, np.isin(names, programs[prog])] = 1.0
    is_mito = np.isin(names, list(MITO_GENES))
    base = rng.normal(0.0, 2.0, size=len(genes))  # natural-log relative abundance
    base[membership.any(axis=0)] = rng.normal(0.5, 0.5, size=int(membership.any(axis=0).sum()))
    base[is_mito] = 4.2

    # --- per-sample cell-type proportions and program activity ------------------------------------
    types = list(CELL_TYPES)
    log2_prop = np.log2(list(CELL_TYPES.values()))[None, :] + rng.normal(0, 0.3, (n_patients, len(types)))[patient]
    log2_prop += rng.normal(0, 0.15, (n_samples, len(types)))
    for t, effect in PROPORTION_EFFECTS.items():
        log2_prop[:, types.index(t)] += np.where(post, [effect[a] for a in arms], 0.0)
    prop = 2.0**log2_prop
    prop /= prop.sum(axis=1, keepdims=True)
    activity = np.array([[ACTIVITY[p].get(t, 0.0) for p in prog_names] for t in types])  # types × programs
    sample_prog = rng.normal(0, 0.3, (n_patients, len(prog_names)))[patient] + rng.normal(
        0, 0.15, (n_samples, len(prog_names))
    )
    planted = np.zeros((n_samples, len(types), len(prog_names)))
    for prog, cell_types, effect in EXPRESSION_EFFECTS:
        for t in cell_types:
            planted[:, types.index(t), prog_names.index(prog)] = np.where(post, [effect[a] for a in arms], 0.0)
    n_cells = np.round(cells_per_sample * rng.uniform(0.7, 1.3, size=n_samples)).astype(int)
    n_cells[int(rng.choice(np.flatnonzero(post)))] = 30

    # --- cells ------------------------------------------------------------------------------------
    blocks, obs = [], []
    for s in range(n_samples):
        cell_type = rng.choice(len(types), size=n_cells[s], p=prop[s])
        cell_prog = (
            activity[cell_type]
            + sample_prog[s]
            + planted[s, cell_type]
            + rng.normal(0, 0.3, (n_cells[s], len(prog_names)))
        )
        log_rate = base[None, :] + np.log(2.0) * (cell_prog @ membership)
        damaged = rng.random(n_cells[s]) < 0.03
        log_rate[np.ix_(damaged, is_mito)] += np.log(20.0)
        rate = np.exp(log_rate)
        library = np.exp(rng.normal(np.log(800), 0.35, size=n_cells[s]))
        counts = rng.poisson(rate / rate.sum(axis=1, keepdims=True) * library[:, None])
        blocks.append(sp.csr_matrix(counts.astype(np.float32)))
        sid = samples.at[s, "sample_id"]
        obs.append(
            pd.DataFrame(
                {"sample_id": sid, "cell_type": np.asarray(types)[cell_type]},
                index=[f"{sid}_{i:04d}" for i in range(n_cells[s])],
            )
        )
    obs = pd.concat(obs)
    obs["sample_id"] = obs["sample_id"].astype("category")
    obs["cell_type"] = pd.Categorical(obs["cell_type"], categories=types)
    adata = ad.AnnData(
        sp.vstack(blocks, format="csr"),
        obs=obs,
        var=pd.DataFrame({"gene_id": genes["gene_id"].to_numpy()}, index=pd.Index(names)),
    )

    # --- truth ------------------------------------------------------------------------------------
    rows = [
        dict(
            feature=f"proportion|{t}",
            feature_type="cell_type_proportion",
            cell_type=t,
            program="",
            scale="log2 proportion",
            change_anakinra=e["anakinra"],
            change_usual_care=e["usual_care"],
        )
        for t, e in PROPORTION_EFFECTS.items()
    ]
    rows += [
        dict(
            feature=f"score|{PROGRAM_SIGNATURE[prog]}|{t}",
            feature_type="cell_type_score",
            cell_type=t,
            program=prog,
            scale="log2 expression of the program's genes",
            change_anakinra=e["anakinra"],
            change_usual_care=e["usual_care"],
        )
        for prog, cell_types, e in EXPRESSION_EFFECTS
        for t in cell_types
    ]
    truth = pd.DataFrame(rows)
    truth["between_arm_difference"] = truth["change_anakinra"] - truth["change_usual_care"]
    return {"adata": adata, "samples": samples, "truth": truth}


def write_singlecell_example(out: str | Path, seed: int = 34, **kwargs) -> list[Path]:
    """Simulate and write ``cells.h5ad`` (gzip-compressed counts), ``samples.tsv`` and ``truth.tsv``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sim = simulate_singlecell(seed=seed, **kwargs)
    paths = [out / "cells.h5ad", out / "samples.tsv", out / "truth.tsv"]
    sim["adata"].write_h5ad(paths[0], compression="gzip")
    sim["samples"].to_csv(paths[1], sep="\t", index=False, lineterminator="\n")
    sim["truth"].to_csv(paths[2], sep="\t", index=False, lineterminator="\n")
    return paths
