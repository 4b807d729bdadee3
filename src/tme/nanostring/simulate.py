"""A simulated OZM-034-like NanoString cohort written as instrument ``.RCC`` files, with planted truth.

Panel (:func:`panel_probes`, fixed, independent of the seed): ``n_genes`` real genes chosen in
priority order — the bulk simulator's programs (:data:`tme.simulate.PROGRAMS`, the IL-1 program
widened to ``TME_IL1_INDUCED`` as the single-cell simulator does), the primary panel's signatures,
tme's immune and IL-1 collections, then Hallmark immune sets — plus the T-cell-inflamed GEP's 11
housekeepers (Ayers 2017; they are on PanCancer IO 360), 8 negative controls ``NEG_A``–``NEG_H``
and 6 positive controls ``POS_A``–``POS_F`` at 128, 32, 8, 2, 0.5, 0.125 fM with their ERCC
accessions, as on nCounter CodeSets. Gene accessions are Ensembl IDs.

Cohort (one ``numpy.random.default_rng(seed)``, draws in a fixed order; same seed, same bytes):

* ``n_patients`` randomised 1:1 in blocks of 4 to ``usual_care`` / ``anakinra``; a pre core
  biopsy (``-BX``) and a post specimen (resection ``-RS`` or core ``-CB``); ~10 % of patients lack a
  usable post sample (excluded in the sheet and never run, or no post row). Samples run on
  12-lane cartridges in a random order (``batch`` = cartridge).
* Six programs per sample as in :mod:`tme.simulate` (patient SD 0.6, sample SD 0.25 log2, plus the
  planted change of :data:`tme.simulate.EFFECTS`); program genes follow their program.
* Counts: expected count :math:`= e_s\\,r_s\\,i_s\\,2^{\\mu_g + u_{gp} + \\text{program}}` with lane
  efficiency :math:`e_s` (log2 SD 0.15), FOV fraction :math:`r_s`, RNA input :math:`i_s` (log2 SD
  0.5, cores 0.5 log2 lower), gene level :math:`\\mu_g`, patient–gene effect :math:`u` (SD 0.2);
  gamma–Poisson noise (dispersion 0.03) plus Poisson background :math:`\\beta_s` (≈ 10 counts)
  × probe bias. Positive controls: :math:`e_s r_s \\times 180 \\times` fM + background; negatives:
  background only. Housekeepers are stable (sample SD 0.08 log2).
* Three usable samples fail QC on purpose (``qc_truth.tsv``): low imaging (FOV counted ≈ 50 %),
  binding density above 2.25, and broken positive-control linearity (POS_A at 5 %).
* The instrument ``ID`` is unreliable on purpose: two patients' post files reuse the pre ID and
  one ID has a typo, so files must be matched by file name
  (``<date>_<cartridge>_<sample_id>_<lane>.RCC``, pattern :data:`tme.nanostring.match.NCOUNTER_FILE_PATTERN`).

* IHC and pathology scores of every run sample (``immune.tsv``, drawn after everything else so that
  the RCC files do not depend on them), following the same programs: IL-1β H-score (``IL1B_IHC``,
  unit ``hscore``: 90 × 2^(IL-1 program + noise SD 0.35), whole numbers, 0–300), NLRP3 intensity
  grade (``NLRP3_IHC``, ``intensity``: 1.4 + 0.9 × IL-1 program + noise SD 0.5, rounded to 0, 1+,
  2+, 3+), CD68 percent positive (``CD68``, ``percent_positive``: 12 × 2^(TAM + noise SD 0.3)),
  CD163 and CD56 densities (``cells/mm2``: TAM and NK programs, as in :mod:`tme.simulate`) and
  sTILs (``%``: the T-cell program plus the resection increment of :mod:`tme.simulate`, rounded as
  pathologists report — to 1 % below 10 %, to 5 % above).

Outputs of :func:`write_rcc_cohort`: ``rcc/*.RCC``, ``<PANEL>.rlf``, ``samples.tsv``,
``immune.tsv``, ``truth.tsv`` (planted changes of the panel's program genes and of the IHC measures),
``qc_truth.tsv`` and ``config.yaml`` (:func:`example_config`: the panel example's run, as
``config/nanostring.yaml``).
"""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from tme.nanostring.match import NCOUNTER_FILE_PATTERN
from tme.signatures import load_library
from tme.simulate import EFFECTS, PROGRAMS, STILS_BASE, STILS_RESECTION_LOG2, gene_pool

PANEL = "OZM_IO360_like"
POSITIVE = {
    "POS_A": ("ERCC_00117.1", 128.0),
    "POS_B": ("ERCC_00112.1", 32.0),
    "POS_C": ("ERCC_00002.1", 8.0),
    "POS_D": ("ERCC_00092.1", 2.0),
    "POS_E": ("ERCC_00035.1", 0.5),
    "POS_F": ("ERCC_00034.1", 0.125),
}
NEGATIVE = {
    "NEG_A": "ERCC_00096.1",
    "NEG_B": "ERCC_00041.1",
    "NEG_C": "ERCC_00019.1",
    "NEG_D": "ERCC_00076.1",
    "NEG_E": "ERCC_00098.1",
    "NEG_F": "ERCC_00126.1",
    "NEG_G": "ERCC_00144.1",
    "NEG_H": "ERCC_00154.1",
}
COUNTS_PER_FM = 180.0
LANES_PER_CARTRIDGE = 12
QC_FAILURES = ("low_fov", "high_binding_density", "positive_linearity")
_COLLECTIONS = ("tme_il1", "danaher2017", "mcpcounter", "ayers_gep", "cyt", "myeloid_il1", "reactome_il1")
_HALLMARKS = (
    "HALLMARK_INTERFERON_GAMMA_RESPONSE",
    "HALLMARK_IL6_JAK_STAT3_SIGNALING",
    "HALLMARK_ALLOGRAFT_REJECTION",
    "HALLMARK_G2M_CHECKPOINT",
    "HALLMARK_COMPLEMENT",
    "HALLMARK_E2F_TARGETS",
)

#: Signatures whose genes the simulated panel always measures: the IL-1 / inflammation, TAM,
#: neutrophil, T-cell and NK readouts of the OZM-034 analysis plan (config/config.yaml).
PANEL_SIGNATURES = (
    "TME_IL1_AXIS_CORE", "TME_IL1_INDUCED", "HALLMARK_INFLAMMATORY_RESPONSE", "HALLMARK_TNFA_SIGNALING_VIA_NFKB",
    "DANAHER2017_Macrophages", "DANAHER2017_Neutrophils", "CYT_ROONEY2015", "AYERS_TCELL_INFLAMED_GEP_18",
    "DANAHER2017_NK_CD56dim_cells",
)  # fmt: skip


def programs() -> dict[str, tuple[str, ...]]:
    """The bulk simulator's programs, IL-1 widened to every ``TME_IL1_INDUCED`` gene (disjoint)."""
    out = dict(PROGRAMS)
    out["il1_inflammation"] = tuple(
        dict.fromkeys(PROGRAMS["il1_inflammation"] + load_library()["TME_IL1_INDUCED"].genes)
    )
    members = [g for genes in out.values() for g in genes]
    if len(set(members)) != len(members):
        raise AssertionError("simulation programs must be disjoint")
    return out


def panel_probes(n_genes: int = 750) -> pd.DataFrame:
    """The panel: ``code_class, name, accession, concentration`` (Endogenous, Housekeeping, Negative, Positive)."""
    library = load_library()
    housekeepers = list(library["AYERS_TCELL_INFLAMED_GEP_18"].housekeeping)
    groups = [
        list(programs().values()),
        [library[s].all_genes for s in PANEL_SIGNATURES],
        [s.all_genes for s in library.values() if s.collection in _COLLECTIONS],
        [library[s].all_genes for s in _HALLMARKS],
    ]
    pool = gene_pool().set_index("gene_name")["gene_id"]
    ordered = [g for group in groups for genes in group for g in genes if g in pool.index and g not in housekeepers]
    genes = sorted(list(dict.fromkeys(ordered))[:n_genes])
    rows = [("Endogenous", g, pool[g], np.nan) for g in genes] + [
        ("Housekeeping", g, pool[g], np.nan) for g in sorted(housekeepers)
    ]
    rows += [("Negative", n, acc, 0.0) for n, acc in NEGATIVE.items()]
    rows += [("Positive", n, acc, conc) for n, (acc, conc) in POSITIVE.items()]
    return pd.DataFrame(rows, columns=["code_class", "name", "accession", "concentration"])


def _sheet(rng: np.random.Generator, n_patients: int) -> pd.DataFrame:
    patients = [f"OZM-{i:03d}" for i in range(1, n_patients + 1)]
    arm = np.concatenate(
        [rng.permutation(["usual_care", "usual_care", "anakinra", "anakinra"]) for _ in range(n_patients // 4)]
    )
    subtype = np.where(rng.random(n_patients) < 0.8, "TNBC", "ER-low")
    missing = rng.choice(n_patients, size=max(1, round(0.1 * n_patients)), replace=False)
    kind = {int(p): ("excluded", "absent")[i % 2] for i, p in enumerate(missing)}
    rows = []
    for p, pid in enumerate(patients):
        cell = rng.integers(20, 81, size=2)
        common = dict(patient_id=pid, arm=arm[p], subtype=subtype[p])
        rows.append(
            dict(
                sample_id=f"{pid}-BX",
                **common,
                timepoint="pre",
                sample_type="core",
                days_from_baseline=0,
                tumour_cellularity=cell[0],
                exclude_reason="",
            )
        )
        if kind.get(p) == "absent":
            continue
        resection = rng.random() < 0.85
        rows.append(
            dict(
                sample_id=f"{pid}-{'RS' if resection else 'CB'}",
                **common,
                timepoint="post",
                sample_type="resection" if resection else "core",
                days_from_baseline=int(rng.integers(14, 22)),
                tumour_cellularity=cell[1],
                exclude_reason="insufficient tumour for nCounter" if kind.get(p) == "excluded" else "",
            )
        )
    sheet = pd.DataFrame(rows)
    run = np.flatnonzero(sheet["exclude_reason"].eq("").to_numpy())
    slot = np.empty(len(sheet), dtype=int)
    slot[run] = rng.permutation(len(run))
    is_run = sheet["exclude_reason"].eq("").to_numpy()
    sheet["batch"] = [f"C{s // LANES_PER_CARTRIDGE + 1:02d}" if r else "" for r, s in zip(is_run, slot)]
    sheet["lane"] = np.where(sheet["batch"] != "", slot % LANES_PER_CARTRIDGE + 1, 0)
    return sheet[
        [
            "sample_id",
            "patient_id",
            "arm",
            "timepoint",
            "sample_type",
            "days_from_baseline",
            "subtype",
            "batch",
            "tumour_cellularity",
            "exclude_reason",
            "lane",
        ]
    ]


def _program_values(rng: np.random.Generator, sheet: pd.DataFrame, names: list[str]) -> np.ndarray:
    """Programs × samples, log2: patient effect + sample effect + planted change."""
    patient = pd.factorize(sheet["patient_id"])[0]
    post = (sheet["timepoint"] == "post").to_numpy()
    level = rng.normal(0, 0.6, size=(len(names), patient.max() + 1))[:, patient]
    level += rng.normal(0, 0.25, size=(len(names), len(sheet)))
    planted = np.array([[EFFECTS[p][a] if t else 0.0 for a, t in zip(sheet["arm"], post)] for p in names])
    return level + planted


def _lanes(rng: np.random.Generator, sheet: pd.DataFrame, input_log2: np.ndarray) -> pd.DataFrame:
    n = len(sheet)
    lanes = pd.DataFrame(
        {
            "fov_count": np.full(n, 280),
            "fov_counted": 280 - rng.binomial(280, 0.01, size=n),
            "binding_density": np.round(0.8 * 2.0 ** (0.6 * input_log2) * np.exp(rng.normal(0, 0.15, n)), 2),
            "efficiency_log2": rng.normal(0, 0.15, size=n),
            "background": np.exp(rng.normal(np.log(10), 0.3, n)),
            "failure": "",
        }
    )
    run = np.flatnonzero(sheet["batch"].ne("").to_numpy())
    for kind, s in zip(QC_FAILURES, rng.choice(run, size=len(QC_FAILURES), replace=False)):
        lanes.at[s, "failure"] = kind
        if kind == "low_fov":
            lanes.at[s, "fov_counted"] = int(round(280 * rng.uniform(0.45, 0.6)))
        elif kind == "high_binding_density":
            lanes.at[s, "binding_density"] = round(float(rng.uniform(2.5, 3.2)), 2)
    return lanes


def _counts(
    rng: np.random.Generator,
    probes: pd.DataFrame,
    lanes: pd.DataFrame,
    input_log2: np.ndarray,
    program: np.ndarray,
    patient: np.ndarray,
) -> np.ndarray:
    """Probes × samples counts (see the module docstring for the model); ``program``: programs × samples."""
    n_probe, n = len(probes), len(patient)
    cls = probes["code_class"].to_numpy()
    progs = programs()
    names = list(progs)
    member = probes["name"].map({g: i for i, p in enumerate(names) for g in progs[p]})
    level = np.where(
        cls == "Housekeeping", rng.normal(10.0, 0.6, n_probe), np.clip(rng.normal(6.5, 2.2, n_probe), 1, 14)
    )
    log2_mu = level[:, None] + rng.normal(0, 0.2, size=(n_probe, patient.max() + 1))[:, patient]
    log2_mu[cls == "Housekeeping"] = level[cls == "Housekeeping", None] + rng.normal(
        0, 0.08, size=((cls == "Housekeeping").sum(), n)
    )
    is_member = member.notna().to_numpy()
    log2_mu[is_member] += program[member[is_member].astype(int).to_numpy()]
    scale = (
        2.0 ** (lanes["efficiency_log2"].to_numpy() + input_log2)
        * (lanes["fov_counted"] / lanes["fov_count"]).to_numpy()
    )
    mu = 2.0**log2_mu * scale
    positive = cls == "Positive"
    conc = probes["concentration"].to_numpy()
    mu[positive] = COUNTS_PER_FM * conc[positive, None] * (scale / 2.0**input_log2)
    broken = lanes.index[lanes["failure"] == "positive_linearity"]
    mu[np.flatnonzero(positive)[0], broken] *= 0.05
    mu[cls == "Negative"] = 0.0
    shape = np.where(positive, 200.0, 1 / 0.03)[:, None]
    signal = rng.poisson(rng.gamma(shape, np.maximum(mu, 1e-12) / shape))
    bias = np.exp(rng.normal(0, 0.35, size=n_probe))
    return signal + rng.poisson(bias[:, None] * lanes["background"].to_numpy()[None, :])


def _round_tils(tils: np.ndarray) -> np.ndarray:
    """sTILs as pathologists report them: to 1 % below 10 %, to 5 % above (at least 1 %)."""
    return np.where(tils < 10, np.maximum(np.round(tils), 1), 5 * np.round(tils / 5))


def _ihc(rng: np.random.Generator, run: pd.DataFrame, program: np.ndarray) -> pd.DataFrame:
    """IHC and pathology scores of the run samples (module docstring), long format."""
    names = list(programs())
    il1, tam, nk, tcell = (program[names.index(p)] for p in ("il1_inflammation", "tam", "nk", "t_cell"))
    n = len(run)
    resection = (run["sample_type"] == "resection").to_numpy()
    grade = np.clip(np.round(1.4 + 0.9 * il1 + rng.normal(0, 0.5, n)), 0, 3).astype(int)
    tils = STILS_BASE * 2.0 ** (tcell + STILS_RESECTION_LOG2 * resection + rng.normal(0, 0.3, n))
    measures = {
        ("IL1B_IHC", "hscore"): np.clip(np.round(90 * 2.0 ** (il1 + rng.normal(0, 0.35, n))), 0, 300),
        ("NLRP3_IHC", "intensity"): np.array(["0", "1+", "2+", "3+"])[grade],
        ("CD68", "percent_positive"): np.clip(np.round(12 * 2.0 ** (tam + rng.normal(0, 0.3, n))), 0, 100),
        ("CD163", "cells/mm2"): np.round(200 * 2.0 ** (tam + rng.normal(0, 0.35, n)), 1),
        ("CD56", "cells/mm2"): np.round(15 * 2.0 ** (nk + rng.normal(0, 0.35, n)), 1),
        ("sTILs", "%"): np.clip(_round_tils(tils), 1, 90),
    }
    frames = [
        pd.DataFrame({"sample_id": run["sample_id"], "measure": m, "value": v, "unit": u})
        for (m, u), v in measures.items()
    ]
    table = pd.concat(frames, ignore_index=True)
    table["value"] = [v if isinstance(v, str) else f"{v:g}" for v in table["value"]]
    return table


#: IHC measures of the simulated cohort → (program, unit, scale of the planted change).
IHC_TRUTH = {
    "IL1B_IHC": ("il1_inflammation", "hscore", "log2 H-score"),
    "NLRP3_IHC": ("il1_inflammation", "intensity", "latent intensity, 0.9 grade per log2 unit of the program"),
    "CD68": ("tam", "percent_positive", "log2 percent positive"),
    "CD163": ("tam", "cells/mm2", "log2 density"),
    "CD56": ("nk", "cells/mm2", "log2 density"),
    "sTILs": ("t_cell", "%", "log2 sTILs (plus the resection increment on resection specimens)"),
}


def _truth(probes: pd.DataFrame) -> pd.DataFrame:
    progs = programs()
    rows = [
        dict(feature=g, feature_type="gene", program=p, scale="log2 expression")
        for p, genes in progs.items()
        for g in genes
        if g in set(probes["name"])
    ]
    rows += [
        dict(feature=m, feature_type="immune_measure", program=p, scale=scale) for m, (p, _, scale) in IHC_TRUTH.items()
    ]
    truth = pd.DataFrame(rows)
    truth["change_anakinra"] = [EFFECTS[p]["anakinra"] for p in truth["program"]]
    truth["change_usual_care"] = [EFFECTS[p]["usual_care"] for p in truth["program"]]
    truth["between_arm_difference"] = truth["change_anakinra"] - truth["change_usual_care"]
    return truth


def simulate_rcc_cohort(seed: int = 34, n_patients: int = 44, n_genes: int = 750) -> dict[str, pd.DataFrame]:
    """Simulate the cohort: ``samples`` (sheet, with ``lane``), ``probes``, ``counts`` (probes × run samples),
    ``lanes`` (per run sample: FOV, binding density, instrument ID, file name), ``immune`` (IHC and
    pathology scores), ``truth``, ``qc_truth``."""
    if n_patients < 4 or n_patients % 4:
        raise ValueError("n_patients must be a positive multiple of 4 (permuted blocks of 4)")
    rng = np.random.default_rng(seed)
    probes = panel_probes(n_genes)
    sheet = _sheet(rng, n_patients)
    run = sheet[sheet["batch"] != ""].reset_index(drop=True)
    input_log2 = rng.normal(0, 0.5, size=len(run)) - 0.5 * (run["sample_type"] == "core").to_numpy()
    lanes = _lanes(rng, run, input_log2)
    program = _program_values(rng, run, list(programs()))
    counts = _counts(rng, probes, lanes, input_log2, program, pd.factorize(run["patient_id"])[0])
    typed = run["sample_id"].to_numpy().copy()  # the ID typed on the instrument
    post = run.index[run["timepoint"] == "post"].to_numpy()
    for s in rng.choice(post, size=min(2, len(post)), replace=False):
        typed[s] = f"{run.at[s, 'patient_id']}-BX"  # the pre sample's ID reused
    typo = int(rng.choice(len(run)))
    typed[typo] = typed[typo].replace("-", "", 1)
    day0 = dt.date(2025, 3, 3)
    lanes["date"] = [(day0 + dt.timedelta(days=7 * (int(b[1:]) - 1))).strftime("%Y%m%d") for b in run["batch"]]
    lanes["cartridge_id"] = "OZM034-" + run["batch"]
    lanes["lane_id"] = run["lane"].to_numpy()
    lanes["instrument_id"] = typed
    lanes["file_name"] = [
        f"{d}_{c}_{s}_{lane:02d}.RCC"
        for d, c, s, lane in zip(lanes["date"], lanes["cartridge_id"], run["sample_id"], lanes["lane_id"])
    ]
    lanes.insert(0, "sample_id", run["sample_id"])
    qc_truth = lanes.loc[lanes["failure"] != "", ["sample_id", "file_name", "failure"]].reset_index(drop=True)
    return {
        "samples": sheet,
        "probes": probes,
        "counts": pd.DataFrame(counts, columns=run["sample_id"]),
        "lanes": lanes,
        "immune": _ihc(rng, run, program),
        "truth": _truth(probes),
        "qc_truth": qc_truth,
    }


def format_rcc(probes: pd.DataFrame, counts: np.ndarray, lane: pd.Series) -> str:
    """Text of one RCC file (nCounter FileVersion 1.7 layout, LF line ends, controls labelled with fM)."""
    label = [
        f"{n}({c:g})" if k in ("Positive", "Negative") else n
        for k, n, c in zip(probes["code_class"], probes["name"], probes["concentration"])
    ]
    summary = "\n".join(
        f"{k},{n},{a},{int(c)}" for k, n, a, c in zip(probes["code_class"], label, probes["accession"], counts)
    )
    return (
        f"<Header>\nFileVersion,1.7\nSoftwareVersion,4.0.0.3\n</Header>\n\n"
        f"<Sample_Attributes>\nID,{lane['instrument_id']}\nOwner,tme simulate\nComments,simulated OZM-034-like biopsy\n"
        f"Date,{lane['date']}\nGeneRLF,{PANEL}\nSystemAPF,n6_vDV1\n</Sample_Attributes>\n\n"
        f"<Lane_Attributes>\nID,{lane['lane_id']}\nFovCount,{lane['fov_count']}\nFovCounted,{lane['fov_counted']}\n"
        f"ScannerID,1305C0471\nStagePosition,{1 + (int(lane['cartridge_id'][-2:]) + 1) % 2}\n"
        f"BindingDensity,{lane['binding_density']:.2f}\nCartridgeID,{lane['cartridge_id']}\nCartridgeBarcode,\n</Lane_Attributes>\n\n"
        f"<Code_Summary>\nCodeClass,Name,Accession,Count\n{summary}\n</Code_Summary>\n\n<Messages>\n</Messages>\n"
    )


def format_rlf(probes: pd.DataFrame) -> str:
    """Text of the panel's RLF (classes numbered as on nCounter CodeSets: 0 Endogenous, 1 Positive,
    2 Negative, 6 Housekeeping); barcodes and probe IDs are placeholders."""
    keys = {"Endogenous": 0, "Positive": 1, "Negative": 2, "Housekeeping": 6}
    header = ["[Header]", "Version=3.0", "Date=20250301", "ClassCount=4"]
    header += [line for name, k in keys.items() for line in (f"ClassName{k}={name}", f"ClassActive{k}=1")]
    records = []
    for i, (k, n, a, c) in enumerate(
        zip(probes["code_class"], probes["name"], probes["accession"], probes["concentration"])
    ):
        name = f"{n}({c:g})" if k in ("Positive", "Negative") else n
        records.append(f"Record{i}={keys[k]},NA,NNNNNN,{name},{a}:1,Hs,{a},{k.upper()}")
    content = [
        "[Content]",
        "ColumnCount=8",
        f"RecordCount={len(records)}",
        "Columns=Classification,TargetSeq,BarCode,GeneName,ProbeID,Species,Accession,Comments",
    ]
    return "\n".join(header + [""] + content + records) + "\n"


#: The panel example's plan endpoints: (name, feature, role, display, unit). Primary: the IL-1 readouts
#: anakinra should lower (the IL-1-induced genes, which the panel covers fully, and the IL-1β H-score,
#: rank-based); key secondary in a fixed sequence, the coarse NLRP3 grade last (a 4-level grade rarely
#: moves by a whole grade, and a fixed sequence stops at its first non-significant endpoint).
EXAMPLE_ENDPOINTS = (
    ("il1_induced", "TME_IL1_INDUCED|singscore", "primary", "IL-1-induced genes (singscore)", "singscore"),
    ("il1b_hscore", "IL1B_IHC", "primary", "IL-1beta IHC H-score", "H-score"),
    ("macrophage_genes", "DANAHER2017_Macrophages|mean", "key_secondary", "Macrophage genes (Danaher)",
     "log2 expression"),
    ("cd68_positive", "CD68", "key_secondary", "CD68+ cells", "% positive"),
    ("nlrp3_intensity", "NLRP3_IHC", "key_secondary", "NLRP3 IHC intensity", "grade"),
    ("inflammatory_response", "HALLMARK_INFLAMMATORY_RESPONSE|ssgsea", "exploratory",
     "Hallmark inflammatory response (ssGSEA)", "ssGSEA"),
    ("neutrophil_genes", "DANAHER2017_Neutrophils|mean", "exploratory", "Neutrophil genes (Danaher)",
     "log2 expression"),
    ("tcell_gep", "AYERS_TCELL_INFLAMED_GEP_18|weighted", "exploratory", "T cell-inflamed GEP", "GEP score"),
    ("stils", "sTILs", "exploratory", "Stromal TILs", "%"),
    ("cd56_density", "CD56", "exploratory", "CD56+ NK-cell density", "cells/mm2"),
)  # fmt: skip


def example_config(out: str | Path) -> dict:
    """The panel example's config for a cohort written to ``out`` (paths as ``out`` is given): RCC files
    matched by the instrument's file names, nCounter QC excluding failing samples, the IHC table, and an
    analysis plan whose primary family holds the IL-1 / inflammation endpoints (``config/nanostring.yaml``
    is this for ``config/example_ns``, with comments)."""
    out = Path(out)
    return {
        "samples": str(out / "samples.tsv"),
        "design": {"reference_arm": "usual_care", "treatment_arm": "anakinra", "pre": "pre", "post": "post"},
        "expression": {
            "path": str(out / "rcc"),
            "format": "nanostring_rcc",
            "extra_samples": "error",
            "nanostring": {
                "match_by": "file_name",
                "pattern": NCOUNTER_FILE_PATTERN,
                "rlf": str(out / f"{PANEL}.rlf"),
                "background": "threshold",
                "qc": {"policy": "exclude", "instrument": "max_flex"},
            },
        },
        "immune": {"path": str(out / "immune.tsv"), "format": "long"},
        "scoring": {"collections": "all", "methods": "authors", "min_genes": 3, "min_fraction": 0.5},
        "analysis_plan": {
            "title": "OZM-034 translational SAP, NanoString and IHC example v1.0",
            "endpoints": [dict(zip(("name", "feature", "role", "display", "unit"), e)) for e in EXAMPLE_ENDPOINTS],
            "multiplicity": {"primary": "holm", "key_secondary": "hierarchical", "exploratory": "bh"},
            "strata": ["subtype"],
            "covariates": ["tumour_cellularity"],
        },
        "seed": 20261125,
    }


def write_rcc_cohort(
    out: str | Path, seed: int = 34, n_patients: int = 44, n_genes: int = 750, compress: bool = False
) -> list[Path]:
    """Simulate and write ``rcc/*.RCC`` (``.RCC.gz`` with ``compress``), ``<PANEL>.rlf``, ``samples.tsv``,
    ``immune.tsv``, ``truth.tsv``, ``qc_truth.tsv`` and ``config.yaml`` (:func:`example_config`) under
    ``out``; returns the paths written."""
    out = Path(out)
    (out / "rcc").mkdir(parents=True, exist_ok=True)
    sim = simulate_rcc_cohort(seed=seed, n_patients=n_patients, n_genes=n_genes)
    paths = []
    for j, lane in sim["lanes"].iterrows():
        text = format_rcc(sim["probes"], sim["counts"].iloc[:, j].to_numpy(), lane).encode()
        path = out / "rcc" / (lane["file_name"] + (".gz" if compress else ""))
        path.write_bytes(gzip.compress(text, mtime=0) if compress else text)
        paths.append(path)
    (out / f"{PANEL}.rlf").write_text(format_rlf(sim["probes"]))
    tables = {
        "samples.tsv": sim["samples"].drop(columns="lane"),
        "immune.tsv": sim["immune"],
        "truth.tsv": sim["truth"],
        "qc_truth.tsv": sim["qc_truth"],
    }
    for name, table in tables.items():
        table.to_csv(out / name, sep="\t", index=False, lineterminator="\n")
    (out / "config.yaml").write_text(yaml.safe_dump(example_config(out), sort_keys=False))
    return paths + [out / f"{PANEL}.rlf"] + [out / name for name in tables] + [out / "config.yaml"]
