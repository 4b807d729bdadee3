"""Small hand-written RCC files for the tme.nanostring tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tme.nanostring.panel import LANE_COLUMNS, RccSet

POSITIVE_FM = {"POS_A": 128, "POS_B": 32, "POS_C": 8, "POS_D": 2, "POS_E": 0.5, "POS_F": 0.125}
GENES = [
    ("Endogenous", "IL1B", "NM_000576.2"),
    ("Endogenous", "CXCL8", "NM_000584.2"),
    ("Endogenous", "CD68", "NM_001251.2"),
    ("Housekeeping", "TBP", "NM_003194.3"),
    ("Housekeeping", "POLR2A", "NM_000937.2"),
    ("Housekeeping", "SDHA", "NM_004168.1"),
]


def rcc_text(
    sample_id: str = "S1",
    counts: dict[str, int] | None = None,
    *,
    fov=(280, 276),
    binding_density=0.85,
    gene_rlf: str = "TEST_PANEL",
    probes=GENES,
    labels: bool = True,
) -> str:
    """An RCC file (FileVersion 1.7 layout): 6 genes, 8 negatives, 6 positives; ``counts`` overrides by name."""
    counts = counts or {}
    rows = [(c, n, a, counts.get(n, 500 + 100 * i)) for i, (c, n, a) in enumerate(probes)]
    rows += [
        ("Negative", f"NEG_{x}" + ("(0)" if labels else ""), f"ERCC_{i:05d}.1", counts.get(f"NEG_{x}", 8 + i))
        for i, x in enumerate("ABCDEFGH")
    ]
    rows += [
        ("Positive", f"{n}({c:g})" if labels else n, f"ERCC_{10 + i:05d}.1", counts.get(n, round(200 * c)))
        for i, (n, c) in enumerate(POSITIVE_FM.items())
    ]
    summary = "\n".join(",".join(map(str, r)) for r in rows)
    return (
        f"<Header>\nFileVersion,1.7\nSoftwareVersion,4.0.0.3\n</Header>\n\n"
        f"<Sample_Attributes>\nID,{sample_id}\nOwner,lab\nComments,a comment, with a comma\nDate,20250101\n"
        f"GeneRLF,{gene_rlf}\nSystemAPF,n6_vDV1\n</Sample_Attributes>\n\n"
        f"<Lane_Attributes>\nID,1\nFovCount,{fov[0]}\nFovCounted,{fov[1]}\nScannerID,1305C0471\nStagePosition,1\n"
        f"BindingDensity,{binding_density}\nCartridgeID,CART1\nCartridgeBarcode,\n</Lane_Attributes>\n\n"
        f"<Code_Summary>\nCodeClass,Name,Accession,Count\n{summary}\n</Code_Summary>\n\n"
        f"<Messages>\nlane imaged twice\n</Messages>\n"
    )


def write_folder(root: Path, sample_ids, **kwargs) -> Path:
    """One RCC file per sample, named ``<sample_id>.RCC``."""
    root.mkdir(parents=True, exist_ok=True)
    for sample in sample_ids:
        (root / f"{sample}.RCC").write_text(rcc_text(sample, **kwargs))
    return root


def rcc_set(counts: np.ndarray, classes, names, concentration=None, lanes: dict | None = None) -> RccSet:
    """An in-memory panel: counts probes × samples with the given classes and names."""
    n = counts.shape[1]
    concentration = np.full(len(names), np.nan) if concentration is None else np.asarray(concentration, dtype=float)
    probes = pd.DataFrame(
        {
            "code_class": list(classes),
            "name": list(names),
            "accession": [f"A{i}" for i in range(len(names))],
            "concentration": concentration,
        }
    )
    base = dict(
        file=[f"s{j}.RCC" for j in range(n)],
        file_name=[f"s{j}.RCC" for j in range(n)],
        fov_count=280.0,
        fov_counted=280.0,
        binding_density=1.0,
        lane_id="1",
        cartridge_id="C",
        code_summary_line=20,
        id_line=7,
    )
    base.update(lanes or {})
    frame = pd.DataFrame(base)
    for column in LANE_COLUMNS:
        if column not in frame:
            frame[column] = ""
    return RccSet(probes, np.asarray(counts, dtype=np.int64), frame[LANE_COLUMNS])
