"""Small synthetic tables with the column contracts of the statistics outputs (for plot/report tests)."""

from __future__ import annotations

import numpy as np
import pandas as pd

ARMS = ("usual_care", "anakinra")
HOSTILE = '<script>alert(1)</script> & "q" \'s $x^2$ \\frac'


def scores_table(n_patients: int = 12, signatures=("TME_IL1_INDUCED", "DANAHER2017_Macrophages", "DANAHER2017_NK_CD56dim_cells"),
                 seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_patients):
        arm = ARMS[p % 2]
        base = rng.normal(0, 1, len(signatures))
        for tp in ("pre", "post"):
            if tp == "post" and p == n_patients - 1:
                continue  # one patient without a post sample
            for k, sig in enumerate(signatures):
                shift = -0.8 if (tp == "post" and arm == "anakinra" and k == 0) else 0.0
                rows.append(dict(sample_id=f"P{p:02d}-{tp}", patient_id=f"P{p:02d}", arm=arm, timepoint=tp,
                                 signature=sig, method="singscore", score=base[k] + shift + rng.normal(0, .3),
                                 n_genes_used=10, n_genes_in_signature=12))
    return pd.DataFrame(rows)


def immune_table(scores: pd.DataFrame, measures=("CD68", "CD66b")) -> pd.DataFrame:
    samples = scores.drop_duplicates("sample_id")[["sample_id", "patient_id", "arm", "timepoint"]]
    rng = np.random.default_rng(2)
    rows = []
    for _, s in samples.iterrows():
        for m in measures:
            v = float(np.exp(rng.normal(4, 1)))
            rows.append(dict(s, measure=m, unit="cells/mm2", scale="density", transform="log1p", value=round(v, 1),
                             analysis_value=np.log1p(v)))
    return pd.DataFrame(rows)


def effects_table(features, families=None) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for i, f in enumerate(features):
        fam = (families or {}).get(f, "primary_signatures" if i < 2 else "exploratory")
        for analysis in ("ancova", "mann_whitney_change", "mixed_model"):
            est = rng.normal(-0.3, 0.4)
            na = i == len(features) - 1 and analysis == "ancova"
            rows.append(dict(feature=f, feature_type="signature", family=fam, analysis=analysis,
                             estimate=np.nan if na else est, ci_low=np.nan if na else est - .4,
                             ci_high=np.nan if na else est + .4, p=np.nan if na else 0.01 * (i + 1),
                             q=np.nan if na else 0.02 * (i + 1), n_reference_arm=6, n_treatment_arm=5,
                             model="post ~ pre + arm", covariates="", se=0.2, statistic=1.0, df=9,
                             note=f"fewer than 3 pairs in arm anakinra {HOSTILE}" if na else ""))
    return pd.DataFrame(rows)


def de_table(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    lfc = rng.normal(0, 0.5, n)
    lfc[:10] -= 2
    p = np.clip(np.exp(-np.abs(lfc) * 4) * rng.uniform(0.2, 1, n), 1e-12, 1)
    padj = np.minimum(1, p * n / (np.argsort(np.argsort(p)) + 1))
    genes = [f"GENE{i}" for i in range(n)]
    genes[0] = HOSTILE
    return pd.DataFrame(dict(gene=genes, baseMean=100.0, log2FoldChange=lfc, lfcSE=0.3, stat=lfc / 0.3, pvalue=p,
                             padj=padj))


def gsea_table(n: int = 20) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    nes = rng.normal(0, 1.5, n)
    names = [f"HALLMARK_SET_{i}_WITH_A_RATHER_LONG_NAME_THAT_GOES_ON" for i in range(n)]
    names[1] = HOSTILE
    return pd.DataFrame(dict(gene_set=names, size=rng.integers(15, 200, n), es=nes / 3, nes=nes,
                             p=np.exp(-np.abs(nes)), q=np.minimum(1, np.exp(-np.abs(nes)) * 2),
                             leading_edge="A;B;C"))


def flow_table() -> pd.DataFrame:
    rows = []
    for arm in ARMS:
        for step, n in (("randomised", 6), ("with_pre", 6), ("with_post", 5), ("paired", 5)):
            rows.append(dict(modality="expression", arm=arm, step=step, n_patients=n, sample_id="", patient_id="",
                             timepoint="", reason=""))
        rows.append(dict(modality="expression", arm=arm, step="excluded", n_patients=None, sample_id=HOSTILE,
                         patient_id="P99", timepoint="post", reason="RNA failed QC " + "x" * 200))
    return pd.DataFrame(rows)
