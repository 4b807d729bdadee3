"""A simulated OZM-034-like cohort of multiplex-IF slides with planted truth (example data and test bed).

Design (one ``numpy.random.default_rng(seed)``, draws in a fixed order, so a seed fixes the bytes):

* ``n_patients`` patients randomised 1:1 in permuted blocks of 4 to ``usual_care`` / ``anakinra``;
  a pre core biopsy (``-BX``) and a post resection (``-RS``) each; one post slide is missing (an
  exhausted block). Patients are analysed with QuPath, HALO or inForm in turn (patient 1 QuPath,
  2 HALO, 3 inForm, …), the same tool pre and post, so every reader is exercised.
* Each slide is a ``field_mm`` × ``field_mm`` square of tissue. Tumour nests are discs (radius
  80–250 µm) painted onto a mask grid until the slide's tumour fraction (patient U(0.3, 0.55) +
  sample noise) is reached; the mask gives every cell's compartment and the region areas
  (pixel count × pixel area, as image-analysis software measures them).
* Cells are inhomogeneous Poisson processes on the mask: tumour cells 3,000/mm² in nests and
  40/mm² in stroma, other (stromal) cells 400 and 1,800/mm²; immune types at the densities of
  :data:`IMMUNE` (cells/mm² of tissue; log2 patient SD 0.3, sample SD 0.15), their intensity in
  nests being ``infiltration`` × their stromal intensity; CD8⁺ T cells are also drawn to nest
  margins (stromal intensity × ``1 + 1.5 exp(−d / 60 µm)``, ``d`` = distance to the nearest nest).

Planted truth (``truth.tsv``):

==========================  ===========================================  ========  ==========
mechanism                   scale                                        anakinra  usual care
==========================  ===========================================  ========  ==========
IL-1β⁺ macrophage density   log2 cells/mm² of tissue                     −1.0      0
CD8⁺ T infiltration         log2 (nest / stroma intensity ratio)         +1.5      0
CD8⁺ T density (drift)      log2 cells/mm² of tissue                     +0.3      +0.3
==========================  ===========================================  ========  ==========

The first lowers the IL-1β⁺ share of macrophages (and IL-1β⁺ macrophage densities); the second
moves CD8⁺ T cells into nests at an unchanged total density: shorter CD8-to-tumour distances,
more CD8⁺ T cells within 20 µm, a larger cross-type L, more CD8⁺ T cells in the tumour compartment
and fewer in stroma. ``truth.tsv`` lists every metric these mechanisms move (``primary`` marks the
two planted endpoints); every other metric has no between-arm difference.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import ndimage

ARMS = ("usual_care", "anakinra")
SOFTWARE_CYCLE = ("qupath", "halo", "inform")
PIXEL_SIZE_UM = {"halo": 0.5, "inform": 0.5}
TUMOUR_DENSITY = {"tumour": 3000.0, "stroma": 40.0}
OTHER_DENSITY = {"tumour": 400.0, "stroma": 1800.0}

#: Immune type → (markers, baseline density cells/mm², infiltration = nest/stroma intensity, inForm label).
IMMUNE: dict[str, tuple[tuple[str, ...], float, float, str]] = {
    "CD8+ T": (("CD8",), 150.0, 0.3, "CD8+"),
    "FOXP3+ Treg": (("FOXP3",), 40.0, 0.2, "FoxP3+"),
    "CD68+ TAM": (("CD68",), 150.0, 0.4, "CD68+"),
    "CD163+ TAM": (("CD68", "CD163"), 120.0, 0.4, "CD163+"),
    "IL-1β+ macrophage": (("CD68", "IL1B"), 60.0, 0.4, "IL1B+ CD68+"),
    "CD56+ NK": (("CD56",), 15.0, 0.3, "CD56+"),
}
TUMOUR = ("tumour cell", ("PanCK",), "CK+")
OTHER = ("other", (), "Other")
MARKERS = ("PanCK", "CD8", "FOXP3", "CD68", "CD163", "IL1B", "CD56")

#: Planted post − pre changes (log2), per arm.
DENSITY_EFFECTS = {
    "IL-1β+ macrophage": {"anakinra": -1.0, "usual_care": 0.0},
    "CD8+ T": {"anakinra": 0.3, "usual_care": 0.3},
}
INFILTRATION_EFFECTS = {"CD8+ T": {"anakinra": 1.5, "usual_care": 0.0}}


def phenotype_config() -> dict:
    """The ``cells.phenotypes`` map that reads all three simulated export formats."""
    rules = {TUMOUR[0]: {"labels": [TUMOUR[2]], "markers": {"PanCK": "+"}}}
    for name, (markers, _, _, label) in IMMUNE.items():
        calls = {m: "+" for m in markers}
        if name == "CD68+ TAM":
            calls |= {"CD163": "-", "IL1B": "-"}
        elif name == "CD163+ TAM":
            calls |= {"IL1B": "-"}
        rules[name] = {"labels": [label], "markers": calls}
    rules[OTHER[0]] = "*"
    return rules


def _samples(rng: np.random.Generator, n_patients: int) -> pd.DataFrame:
    arm = np.concatenate(
        [rng.permutation(["usual_care", "usual_care", "anakinra", "anakinra"]) for _ in range(n_patients // 4)]
    )
    days = rng.integers(14, 22, size=n_patients)
    rows = []
    for p in range(n_patients):
        pid = f"OZM-{p + 1:03d}"
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


def tumour_mask(rng: np.random.Generator, n_grid: int, pixel_um: float, fraction: float) -> np.ndarray:
    """Nests (discs of radius 80–250 µm) painted until ``fraction`` of the grid is tumour."""
    mask = np.zeros((n_grid, n_grid), dtype=bool)
    target = fraction * mask.size
    painted = 0
    while painted < target:
        cy, cx = rng.uniform(0, n_grid * pixel_um, size=2)
        radius = rng.uniform(80.0, 250.0)
        r0, r1 = int(max(0, (cy - radius) // pixel_um)), int(min(n_grid, (cy + radius) // pixel_um + 1))
        c0, c1 = int(max(0, (cx - radius) // pixel_um)), int(min(n_grid, (cx + radius) // pixel_um + 1))
        yy, xx = np.ogrid[r0:r1, c0:c1]
        disc = ((yy + 0.5) * pixel_um - cy) ** 2 + ((xx + 0.5) * pixel_um - cx) ** 2 <= radius**2
        painted += int((disc & ~mask[r0:r1, c0:c1]).sum())
        mask[r0:r1, c0:c1] |= disc
    return mask


def _place(rng, intensity: np.ndarray, pixel_um: float) -> np.ndarray:
    """Cells of an inhomogeneous Poisson process with per-pixel ``intensity`` (cells/mm²) → (n, 2) µm."""
    weight = intensity.ravel() * (pixel_um / 1000.0) ** 2
    n = rng.poisson(weight.sum())
    pixel = rng.choice(weight.size, size=n, p=weight / weight.sum())
    rows, cols = np.divmod(pixel, intensity.shape[1])
    return np.column_stack([(cols + rng.random(n)) * pixel_um, (rows + rng.random(n)) * pixel_um])


def simulate_slide(
    rng: np.random.Generator,
    field_mm: float,
    densities: dict[str, float],
    infiltration: dict[str, float],
    tumour_fraction: float,
    n_grid: int = 500,
) -> dict:
    """One slide: ``cells`` (``x, y`` µm, ``cell_type``, ``region``) and ``areas`` (region → mm²)."""
    pixel_um = field_mm * 1000.0 / n_grid
    mask = tumour_mask(rng, n_grid, pixel_um, tumour_fraction)
    margin = np.exp(-ndimage.distance_transform_edt(~mask) * pixel_um / 60.0)
    blocks = []

    def add(name, surface, total=None):
        if total is not None:  # rescale so the slide's expected density is ``total`` cells/mm² of tissue
            surface = surface * total / surface.mean()
        xy = _place(rng, surface, pixel_um)
        blocks.append(pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "cell_type": name}))

    add(TUMOUR[0], np.where(mask, TUMOUR_DENSITY["tumour"], TUMOUR_DENSITY["stroma"]))
    add(OTHER[0], np.where(mask, OTHER_DENSITY["tumour"], OTHER_DENSITY["stroma"]))
    for name in IMMUNE:
        stroma = 1.0 + 1.5 * margin if name == "CD8+ T" else np.ones_like(margin)
        add(name, np.where(mask, infiltration[name], stroma), densities[name])
    cells = pd.concat(blocks, ignore_index=True)
    cells = cells.iloc[rng.permutation(len(cells))].reset_index(drop=True)
    col = np.minimum((cells["x"].to_numpy() / pixel_um).astype(int), n_grid - 1)
    row = np.minimum((cells["y"].to_numpy() / pixel_um).astype(int), n_grid - 1)
    cells["region"] = np.where(mask[row, col], "tumour", "stroma")
    tumour_mm2 = mask.sum() * (pixel_um / 1000.0) ** 2
    return {"cells": cells, "areas": {"tumour": tumour_mm2, "stroma": field_mm**2 - tumour_mm2}}


def _marker_sets() -> dict[str, tuple[str, ...]]:
    return {TUMOUR[0]: TUMOUR[1], OTHER[0]: OTHER[1], **{k: v[0] for k, v in IMMUNE.items()}}


def _markers(cell_type: pd.Series) -> dict[str, np.ndarray]:
    sets = _marker_sets()
    return {m: cell_type.map({t: m in s for t, s in sets.items()}).to_numpy(dtype=bool) for m in MARKERS}


def qupath_table(cells: pd.DataFrame, sample_id: str) -> pd.DataFrame:
    """QuPath detection measurements: µm centroids, composite ``Class``, ``Parent`` annotation."""
    classes = {t: ": ".join(m for m in MARKERS if m in s) for t, s in _marker_sets().items()}
    return pd.DataFrame(
        {
            "Image": f"{sample_id}.ome.tiff",
            "Name": "",
            "Class": cells["cell_type"].map(classes),
            "Parent": cells["region"].map({"tumour": "Tumor", "stroma": "Stroma"}),
            "ROI": "Polygon",
            "Centroid X µm": cells["x"].round(2),
            "Centroid Y µm": cells["y"].round(2),
            "Nucleus: Area µm^2": 28.5,
        }
    )


def qupath_annotations(areas: dict[str, float], sample_id: str) -> pd.DataFrame:
    """QuPath annotation measurements with ``Area µm^2`` of the Tumor and Stroma annotations."""
    return pd.DataFrame(
        {
            "Image": f"{sample_id}.ome.tiff",
            "Name": ["Tumor", "Stroma"],
            "Class": ["Tumor", "Stroma"],
            "Parent": "Root object (Image)",
            "ROI": "Polygon",
            "Area µm^2": [round(areas["tumour"] * 1e6, 3), round(areas["stroma"] * 1e6, 3)],
        }
    )


def halo_table(cells: pd.DataFrame, sample_id: str) -> pd.DataFrame:
    """HALO object data: integer pixel bounding boxes, ``<marker> Positive Classification`` 0/1."""
    px = PIXEL_SIZE_UM["halo"]
    x, y = cells["x"].to_numpy() / px, cells["y"].to_numpy() / px
    half = 5.0 / px
    table = pd.DataFrame(
        {
            "Image Location": f"D:\\scans\\{sample_id}.qptiff",
            "Analysis Region": "Layer 1",
            "Algorithm Name": "HighPlex FL v4.1",
            "Object Id": np.arange(len(cells)),
            "XMin": np.floor(x - half).astype(int),
            "XMax": np.ceil(x + half).astype(int),
            "YMin": np.floor(y - half).astype(int),
            "YMax": np.ceil(y + half).astype(int),
        }
    )
    for marker, positive in _markers(cells["cell_type"]).items():
        table[f"{marker} Positive Classification"] = positive.astype(int)
        table[f"{marker} Positive Nucleus Classification"] = positive.astype(int)
    table["Classifier Label"] = cells["region"].map({"tumour": "Tumor", "stroma": "Stroma"}).to_numpy()
    return table


def inform_table(cells: pd.DataFrame, sample_id: str) -> pd.DataFrame:
    """inForm ``cell_seg_data.txt``: pixel positions, one ``Phenotype`` label, ``Tissue Category``."""
    px = PIXEL_SIZE_UM["inform"]
    labels = {TUMOUR[0]: TUMOUR[2], OTHER[0]: OTHER[2], **{k: v[3] for k, v in IMMUNE.items()}}
    return pd.DataFrame(
        {
            "Path": "C:\\inForm\\export",
            "Sample Name": f"{sample_id}.im3",
            "Tissue Category": cells["region"].map({"tumour": "tumor", "stroma": "stroma"}),
            "Phenotype": cells["cell_type"].map(labels),
            "Cell ID": np.arange(1, len(cells) + 1),
            "Cell X Position": (cells["x"] / px).round(1),
            "Cell Y Position": (cells["y"] / px).round(1),
            "Entire Cell Area (pixels)": 240,
        }
    )


def _truth(compartments=("tumour", "stroma", "total")) -> pd.DataFrame:
    il1, cd8, tumour = "IL-1β+ macrophage", "CD8+ T", TUMOUR[0]
    rows = [("proportion", f"proportion|{il1} of macrophage|total", -1, True, "IL-1β+ macrophage density")]
    rows += [
        ("proportion", f"proportion|{il1} of macrophage|{c}", -1, False, "IL-1β+ macrophage density")
        for c in ("tumour", "stroma")
    ]
    rows += [
        ("density", f"density|{name}|{c}", -1, False, "IL-1β+ macrophage density")
        for name in (il1, "macrophage")
        for c in compartments
    ]
    rows += [
        ("nn_distance_median", f"nn_distance_median|{cd8} to {tumour}|total", -1, True, "CD8+ T infiltration"),
        ("fraction_within_r", f"within_20um|{cd8} to {tumour}|total", 1, False, "CD8+ T infiltration"),
        ("ripley_L", f"ripley_L_isotropic_50um|{cd8} to {tumour}|total", 1, False, "CD8+ T infiltration"),
        ("ripley_L", f"ripley_L_border_50um|{cd8} to {tumour}|total", 1, False, "CD8+ T infiltration"),
    ]
    rows += [
        ("density", f"density|{cd8}|{c}", d, False, "CD8+ T infiltration") for c, d in (("tumour", 1), ("stroma", -1))
    ]
    rows += [
        ("ratio", f"ratio|{cd8} / FOXP3+ Treg|{c}", d, False, "CD8+ T infiltration")
        for c, d in (("tumour", 1), ("stroma", -1))
    ]
    truth = pd.DataFrame(rows, columns=["metric", "feature", "direction", "primary", "mechanism"])
    effects = {"IL-1β+ macrophage density": DENSITY_EFFECTS[il1], "CD8+ T infiltration": INFILTRATION_EFFECTS[cd8]}
    truth["change_anakinra"] = truth["mechanism"].map(lambda m: effects[m]["anakinra"])
    truth["change_usual_care"] = truth["mechanism"].map(lambda m: effects[m]["usual_care"])
    truth["mechanism_scale"] = "log2"
    return truth


def simulate_cell_cohort(seed: int = 34, n_patients: int = 44, field_mm: float = 1.0) -> dict:
    """Simulate the cohort: ``samples``, ``slides`` (sample → :func:`simulate_slide` output),
    ``software`` (sample → tool) and ``truth``."""
    if n_patients < 4 or n_patients % 4:
        raise ValueError("n_patients must be a positive multiple of 4 (permuted blocks of 4)")
    rng = np.random.default_rng(seed)
    samples = _samples(rng, n_patients)
    names = list(IMMUNE)
    patient_density = rng.normal(0, 0.3, (n_patients, len(names)))
    patient_infiltration = rng.normal(0, 0.3, (n_patients, len(names)))
    patient_fraction = rng.uniform(0.3, 0.55, n_patients)
    missing = samples.index[samples["timepoint"] == "post"][int(rng.integers(n_patients))]
    slides, software = {}, {}
    for i, s in samples.iterrows():
        p, post, arm = i // 2, s["timepoint"] == "post", s["arm"]
        log2_density = np.log2([IMMUNE[t][1] for t in names]) + patient_density[p] + rng.normal(0, 0.15, len(names))
        log2_infiltration = (
            np.log2([IMMUNE[t][2] for t in names]) + patient_infiltration[p] + rng.normal(0, 0.15, len(names))
        )
        for k, t in enumerate(names):
            log2_density[k] += DENSITY_EFFECTS.get(t, {}).get(arm, 0.0) if post else 0.0
            log2_infiltration[k] += INFILTRATION_EFFECTS.get(t, {}).get(arm, 0.0) if post else 0.0
        fraction = float(np.clip(patient_fraction[p] + rng.normal(0, 0.05), 0.15, 0.7))
        slide = simulate_slide(
            rng, field_mm, dict(zip(names, 2.0**log2_density)), dict(zip(names, 2.0**log2_infiltration)), fraction
        )
        if i != missing:
            slides[s["sample_id"]] = slide
            software[s["sample_id"]] = SOFTWARE_CYCLE[p % 3]
    return {"samples": samples, "slides": slides, "software": software, "truth": _truth()}


def write_cell_cohort(out, seed: int = 34, n_patients: int = 44, field_mm: float = 1.0) -> list[Path]:
    """Simulate and write the cohort under ``out``.

    Files: ``samples.tsv`` (sample sheet), ``exports/<sample_id>.csv`` (QuPath, HALO) or
    ``exports/<sample_id>_cell_seg_data.txt`` (inForm), ``annotations/<sample_id>.tsv`` (QuPath
    annotation areas), ``manifest.tsv`` (``sample_id, file, software, pixel_size_um,
    annotation_file``), ``regions.tsv`` (HALO and inForm areas), ``cells.yaml`` (the ``cells:``
    config that reads them) and ``truth.tsv``. Same seed → same bytes.
    """
    out = Path(out)
    (out / "exports").mkdir(parents=True, exist_ok=True)
    (out / "annotations").mkdir(exist_ok=True)
    sim = simulate_cell_cohort(seed, n_patients, field_mm)
    manifest, regions = [], []
    writers = {"qupath": qupath_table, "halo": halo_table, "inform": inform_table}
    for sample_id, slide in sim["slides"].items():
        tool = sim["software"][sample_id]
        table = writers[tool](slide["cells"], sample_id)
        name = f"{sample_id}_cell_seg_data.txt" if tool == "inform" else f"{sample_id}.csv"
        table.to_csv(out / "exports" / name, sep="\t" if tool == "inform" else ",", index=False, lineterminator="\n")
        entry = {
            "sample_id": sample_id,
            "file": f"exports/{name}",
            "software": tool,
            "pixel_size_um": PIXEL_SIZE_UM.get(tool, ""),
            "annotation_file": "",
        }
        if tool == "qupath":
            entry["annotation_file"] = f"annotations/{sample_id}.tsv"
            qupath_annotations(slide["areas"], sample_id).to_csv(
                out / entry["annotation_file"], sep="\t", index=False, lineterminator="\n"
            )
        else:
            label = {"halo": str.title, "inform": str.lower}[tool]
            regions += [
                {"sample_id": sample_id, "region": label(k.replace("tumour", "tumor")), "area_mm2": round(v, 9)}
                for k, v in slide["areas"].items()
            ]
        manifest.append(entry)
    paths = [out / "samples.tsv", out / "manifest.tsv", out / "regions.tsv", out / "truth.tsv", out / "cells.yaml"]
    sim["samples"].to_csv(paths[0], sep="\t", index=False, lineterminator="\n")
    pd.DataFrame(manifest).to_csv(paths[1], sep="\t", index=False, lineterminator="\n")
    pd.DataFrame(regions).to_csv(paths[2], sep="\t", index=False, lineterminator="\n")
    sim["truth"].to_csv(paths[3], sep="\t", index=False, lineterminator="\n")
    config = {"manifest": "manifest.tsv", "regions": "regions.tsv", "phenotypes": phenotype_config()}
    paths[4].write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return paths
