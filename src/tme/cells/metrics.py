"""Per-biopsy cell metrics: compartment densities, ratios, proportions and tumour–immune spatial metrics.

One call of :func:`biopsy_metrics` handles one slide (so a cluster spreads slides over jobs);
its tidy rows are concatenated into ``results/immune/cell_metrics.tsv``.

Definitions (``n_T(c)`` = cells of type or population ``T`` in compartment ``c``; ``A(c)`` its
area in mm²; ``total`` = every compartment that is not excluded, ``A(total) = Σ A(c)``; every
spatial metric measures from immune cells of compartment ``c`` to the nearest tumour cell of the
whole slide):

==================== ====================================================== ========= =================================
metric               value                                                  unit      analysis scale (``transform``)
==================== ====================================================== ========= =================================
density              ``n_T(c) / A(c)``                                      cells/mm² ``log1p`` (as immune densities)
ratio                ``n_A(c) / n_B(c)`` (e.g. CD8/FOXP3, CD163/CD68;       ratio     ``log_ratio_05``:
                     areas cancel); NA when ``n_B = 0``                               ``log((n_A + ½) / (n_B + ½))``
proportion           ``n_S(c) / n_P(c)``, ``S ⊆ P`` (IL-1β⁺ of macrophages)  fraction  ``none``
nn_distance_median   median over immune cells ``x`` of ``min_y ‖x − y‖``,   µm        ``log1p`` (right-skewed; ≈ log for
                     ``y`` a tumour cell (Keren 2018; Schürch 2020; SPIAT)            distances ≫ 1 µm, finite at 0)
fraction_within_r    share of immune cells with a tumour cell within        fraction  ``none``
                     ``r`` µm: ``#{x : min_y ‖x − y‖ ≤ r} / n``
ripley_L             cross-type ``L_ij(R) = √(K_ij(R)/π)`` of immune type   µm        ``none`` (``L − R`` is 0 under
                     *i* to tumour cells *j* in the slide's bounding box              independence; a shift changes no
                     (:mod:`tme.cells.spatial`; Ripley 1977; Baddeley,                paired contrast)
                     Rubak & Turner 2015; spatstat ``Lcross``)
ripley_K             ``K_ij(R)``, reported, not analysed (``= π L²``)        µm²       (not entered)
==================== ====================================================== ========= =================================

Each metric enters the paired analysis (post − pre within patient, compared between arms) as its
own BH family ``cells_<metric>``; ``analysis_value`` is the value on the analysis scale.

Undefined values are NA with the reason in ``note`` (no cells of the type, no tumour cells, an
empty denominator). A compartment holding cells but without a known area is an error.

References: Ripley, J R Stat Soc B 1977;39:172; Besag, J R Stat Soc B 1977;39:193 (L);
Baddeley, Rubak & Turner, *Spatial Point Patterns: Methodology and Applications with R*, CRC 2015;
Keren et al., Cell 2018;174:1373 (tumour–immune mixing); Schürch et al., Cell 2020;182:1341
(cellular neighbourhoods); Feng et al., Nat Commun 2023;14:2697 (SPIAT).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tme.cells.exports import CellExport
from tme.cells.phenotypes import PhenotypeMap
from tme.cells.regions import CompartmentMap
from tme.cells.spatial import CHUNK_SIZE, Window, k_from_sums, nearest_distance, pair_sums
from tme.errors import TmeInputError

TOTAL = "total"
CORRECTIONS = ("border", "isotropic")
METRIC_COLUMNS = [
    "sample_id",
    "feature",
    "metric",
    "compartment",
    "cell_type",
    "reference_type",
    "value",
    "unit",
    "n_cells",
    "n_reference",
    "area_mm2",
    "radius_um",
    "edge_correction",
    "transform",
    "analysis_value",
    "family",
    "note",
]
#: Cell types of tme's OZM-034 panel used by the default plan.
OZM034_POPULATIONS = {"macrophage": ("CD68+ TAM", "CD163+ TAM", "IL-1β+ macrophage")}
OZM034_RATIOS = (("CD8+ T", "FOXP3+ Treg"), ("CD163+ TAM", "CD68+ TAM"))
OZM034_PROPORTIONS = (("IL-1β+ macrophage", "macrophage"),)


@dataclass(frozen=True)
class MetricPlan:
    """Which metrics to compute (config ``cells.*``; defaults are tme's OZM-034 panel).

    ``tumour`` are the tumour cell types; ``immune`` the types measured against them (``None``:
    every type that is neither tumour nor ``other``); ``populations`` name unions of types (usable
    in densities, ratios and proportions); ``ratios`` and ``proportions`` are (numerator,
    denominator) pairs; ``radius_um`` is ``r`` of ``fraction_within_r``; ``ripley_radius_um`` is
    ``R`` of the Ripley summary, with each ``edge_correction`` (``border`` / ``isotropic``).
    """

    tumour: tuple[str, ...] = ("tumour cell",)
    immune: tuple[str, ...] | None = None
    populations: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(OZM034_POPULATIONS))
    ratios: tuple[tuple[str, str], ...] = OZM034_RATIOS
    proportions: tuple[tuple[str, str], ...] = OZM034_PROPORTIONS
    density_compartments: tuple[str, ...] = ("tumour", "stroma", TOTAL)
    spatial_compartments: tuple[str, ...] = (TOTAL,)
    radius_um: float = 20.0
    ripley_radius_um: float = 50.0
    edge_correction: tuple[str, ...] = ("isotropic",)
    chunk_size: int = CHUNK_SIZE

    def members(self, name: str, types: list[str], key: str = "cells.populations") -> list[str]:
        """Cell types of a type or population name (an error naming the config ``key`` if unknown)."""
        if name in types:
            return [name]
        if name in self.populations:
            unknown = [t for t in self.populations[name] if t not in types]
            if not unknown:
                return list(self.populations[name])
            name, key = unknown[0], "cells.populations"
        raise TmeInputError(
            f"{name!r} is neither a cell type of the phenotype map nor a population",
            column=key,
            fix=f"use one of: {', '.join(types + list(self.populations))} (the default tumour, "
            "populations, ratios and proportions name tme's OZM-034 panel; set cells.tumour, "
            "cells.populations, cells.ratios and cells.proportions for another panel)",
        )

    def immune_types(self, types: list[str]) -> list[str]:
        if self.immune is not None:
            return [t for name in self.immune for t in self.members(name, types)]
        return [t for t in types if t not in self.tumour and t.lower() != "other"]

    def check(self, types: list[str]) -> None:
        """Validate every name and pair against the phenotype map's cell types."""
        named = {"tumour": self.tumour, "immune": self.immune or (),
                 "populations": [t for members in self.populations.values() for t in members],
                 "ratios": [n for pair in self.ratios for n in pair],
                 "proportions": [n for pair in self.proportions for n in pair]}  # fmt: skip
        for key, names in named.items():
            for name in names:
                self.members(name, types, f"cells.{key}")
        for subset, population in self.proportions:
            outside = set(self.members(subset, types)) - set(self.members(population, types))
            if outside:
                raise TmeInputError(
                    f"proportion {subset!r} of {population!r}: {sorted(outside)} not in {population!r}",
                    column="cells.proportions",
                    fix="a proportion's subset must lie in its population",
                )
        bad = [c for c in self.edge_correction if c not in CORRECTIONS]
        if bad or not (self.radius_um > 0 and self.ripley_radius_um > 0):
            raise TmeInputError(
                f"edge correction {bad} / radii must be border or isotropic and > 0",
                column="cells.edge_correction",
                fix="use border and/or isotropic and positive radii",
            )


@dataclass
class Biopsy:
    """One slide's included cells: coordinates (µm), cell type and compartment codes, areas (mm²)."""

    sample_id: str
    xy: np.ndarray
    cell_type: np.ndarray
    types: list[str]
    compartment: np.ndarray
    compartments: list[str]
    areas: Mapping[str, float]
    window: Window | None = None

    def mask(self, names: list[str], compartment: str = TOTAL) -> np.ndarray:
        codes = [self.types.index(t) for t in names]
        keep = np.isin(self.cell_type, codes)
        if compartment != TOTAL:
            keep &= (
                self.compartment == self.compartments.index(compartment)
                if compartment in self.compartments
                else np.zeros(len(keep), dtype=bool)
            )
        return keep


def biopsy_from_export(
    export: CellExport,
    sample_id: str,
    phenotypes: PhenotypeMap,
    compartments: CompartmentMap,
    areas: Mapping[str, float],
    area_source: str = "the region table",
) -> Biopsy:
    """Type every cell, place it in a compartment, drop excluded regions and check the areas are known."""
    region = compartments.codes(export.regions, file=export.path, column=export.region_column)
    cell_type = phenotypes.assign(export)
    keep = region >= 0
    present = sorted({compartments.compartments[c] for c in np.unique(region[keep])})
    unknown = [c for c in present if c not in areas]
    if unknown:
        raise TmeInputError(
            f"biopsy {sample_id!r} has cells in compartment {unknown[0]!r} but no area for it",
            file=area_source,
            column="area_mm2",
            fix=f"give the area of every region of this biopsy (its export has cells in: {', '.join(present)})",
        )
    return Biopsy(
        sample_id,
        export.xy[keep],
        cell_type[keep],
        phenotypes.types,
        region[keep],
        compartments.compartments,
        dict(areas),
    )


def _row(
    biopsy,
    metric,
    feature,
    compartment,
    cell_type,
    value,
    unit,
    transform,
    analysis_value,
    *,
    reference="",
    n_cells=np.nan,
    n_reference=np.nan,
    area=np.nan,
    radius=np.nan,
    correction="",
    family=None,
    note="",
) -> dict:
    return dict(
        sample_id=biopsy.sample_id,
        feature=feature,
        metric=metric,
        compartment=compartment,
        cell_type=cell_type,
        reference_type=reference,
        value=value,
        unit=unit,
        n_cells=n_cells,
        n_reference=n_reference,
        area_mm2=area,
        radius_um=radius,
        edge_correction=correction,
        transform=transform,
        analysis_value=analysis_value,
        family=f"cells_{metric}" if family is None else family,
        note=note,
    )


def _area(biopsy: Biopsy, compartment: str) -> float:
    if compartment == TOTAL:
        return float(sum(biopsy.areas.values())) if biopsy.areas else np.nan
    return float(biopsy.areas.get(compartment, np.nan))


def density_rows(biopsy: Biopsy, plan: MetricPlan) -> list[dict]:
    """``n_T(c) / A(c)`` per cell type and population and compartment (cells/mm²)."""
    rows = []
    for compartment in plan.density_compartments:
        area = _area(biopsy, compartment)
        for name in [*biopsy.types, *plan.populations]:
            n = int(biopsy.mask(plan.members(name, biopsy.types), compartment).sum())
            value = n / area if area > 0 else np.nan
            note = "" if area > 0 else f"no {compartment} area recorded for this biopsy"
            rows.append(
                _row(
                    biopsy,
                    "density",
                    f"density|{name}|{compartment}",
                    compartment,
                    name,
                    value,
                    "cells/mm2",
                    "log1p",
                    np.log1p(value),
                    n_cells=n,
                    area=area,
                    note=note,
                )
            )
    return rows


def composition_rows(biopsy: Biopsy, plan: MetricPlan) -> list[dict]:
    """Ratios ``n_A / n_B`` (analysed as ``log((n_A + ½)/(n_B + ½))``) and proportions ``n_S / n_P``."""
    rows = []
    for compartment in plan.density_compartments:
        count = {
            name: int(biopsy.mask(plan.members(name, biopsy.types), compartment).sum())
            for pair in plan.ratios + plan.proportions
            for name in pair
        }
        for a, b in plan.ratios:
            value = count[a] / count[b] if count[b] else np.nan
            rows.append(
                _row(
                    biopsy,
                    "ratio",
                    f"ratio|{a} / {b}|{compartment}",
                    compartment,
                    a,
                    value,
                    "ratio",
                    "log_ratio_05",
                    np.log((count[a] + 0.5) / (count[b] + 0.5)),
                    reference=b,
                    n_cells=count[a],
                    n_reference=count[b],
                    note="" if count[b] else f"no {b} cells",
                )
            )
        for s, p in plan.proportions:
            value = count[s] / count[p] if count[p] else np.nan
            rows.append(
                _row(
                    biopsy,
                    "proportion",
                    f"proportion|{s} of {p}|{compartment}",
                    compartment,
                    s,
                    value,
                    "fraction",
                    "none",
                    value,
                    reference=p,
                    n_cells=count[s],
                    n_reference=count[p],
                    note="" if count[p] else f"no {p} cells",
                )
            )
    return rows


def distance_rows(biopsy: Biopsy, plan: MetricPlan) -> list[dict]:
    """Median distance to the nearest tumour cell and the fraction within ``r``, per immune type and compartment."""
    target = biopsy.xy[biopsy.mask(plan.tumour)]
    target_name = " + ".join(plan.tumour)
    immune = plan.immune_types(biopsy.types)
    rows = []
    for compartment in plan.spatial_compartments:
        source = biopsy.mask(immune, compartment)
        d = nearest_distance(biopsy.xy[source], target, plan.chunk_size)  # one tree, one query for all types
        source_type = biopsy.cell_type[source]
        for name in immune:
            own = d[source_type == biopsy.types.index(name)]
            n = len(own)
            note = "no tumour cells" if not len(target) else "" if n else f"no {name} cells"
            ok = n > 0 and len(target) > 0
            median = float(np.median(own)) if ok else np.nan
            within = float(np.mean(own <= plan.radius_um)) if ok else np.nan
            common = dict(reference=target_name, n_cells=n, n_reference=len(target), note=note)
            rows.append(
                _row(
                    biopsy,
                    "nn_distance_median",
                    f"nn_distance_median|{name} to {target_name}|{compartment}",
                    compartment,
                    name,
                    median,
                    "um",
                    "log1p",
                    np.log1p(median),
                    **common,
                )
            )
            rows.append(
                _row(
                    biopsy,
                    "fraction_within_r",
                    f"within_{plan.radius_um:g}um|{name} to {target_name}|{compartment}",
                    compartment,
                    name,
                    within,
                    "fraction",
                    "none",
                    within,
                    radius=plan.radius_um,
                    **common,
                )
            )
    return rows


def _bounding_box(xy: np.ndarray) -> Window | None:
    if len(xy) < 2 or np.ptp(xy[:, 0]) == 0 or np.ptp(xy[:, 1]) == 0:
        return None
    return Window.around(xy)


def ripley_rows(biopsy: Biopsy, plan: MetricPlan) -> list[dict]:
    """Cross-type K and L at ``R`` from each immune type to tumour cells, in the slide's bounding box."""
    immune = plan.immune_types(biopsy.types)
    target = biopsy.xy[biopsy.mask(plan.tumour)]
    source = biopsy.mask(immune)
    window = biopsy.window or _bounding_box(biopsy.xy)
    radius = plan.ripley_radius_um
    if window is None:  # fewer than two distinct positions: no window, every K undefined
        source = np.zeros(len(biopsy.xy), dtype=bool)
        window = Window(0.0, 1.0, 0.0, 1.0)
    counts, weights = pair_sums(biopsy.xy[source], target, [radius], window, plan.chunk_size)
    border = window.border_distance(biopsy.xy[source])
    source_type = biopsy.cell_type[source]
    target_name = " + ".join(plan.tumour)
    rows = []
    for name in immune:
        own = source_type == biopsy.types.index(name)
        for correction in plan.edge_correction:
            k = float(k_from_sums(counts[own], weights[own], border[own], len(target), [radius], window, correction)[0])
            note = "" if np.isfinite(k) else "undefined (no cells of a type, or none at least R from the window edge)"
            common = dict(
                reference=target_name,
                n_cells=int(own.sum()),
                n_reference=len(target),
                area=window.area / 1e6,
                radius=radius,
                correction=correction,
                note=note,
            )
            stem = f"ripley_%s_{correction}_{radius:g}um|{name} to {target_name}|{TOTAL}"
            rows.append(_row(biopsy, "ripley_K", stem % "K", TOTAL, name, k, "um2", "none", k, family="", **common))
            rows.append(
                _row(
                    biopsy,
                    "ripley_L",
                    stem % "L",
                    TOTAL,
                    name,
                    np.sqrt(k / np.pi),
                    "um",
                    "none",
                    np.sqrt(k / np.pi),
                    **common,
                )
            )
    return rows


def biopsy_metrics(biopsy: Biopsy, plan: MetricPlan | None = None) -> pd.DataFrame:
    """Every metric of one biopsy as tidy rows (columns :data:`METRIC_COLUMNS`, documented in the module)."""
    plan = plan or MetricPlan()
    plan.check(biopsy.types)
    rows = (
        density_rows(biopsy, plan)
        + composition_rows(biopsy, plan)
        + distance_rows(biopsy, plan)
        + ripley_rows(biopsy, plan)
    )
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


#: Text columns of the metric table ('' stays ''; only ``NA`` is missing).
TEXT_COLUMNS = ["sample_id", "feature", "metric", "compartment", "cell_type", "reference_type", "unit",
                "edge_correction", "transform", "family", "note"]  # fmt: skip


def read_metrics(path) -> pd.DataFrame:
    """A metric table written by the workflow (columns :data:`METRIC_COLUMNS`), with its types."""
    return pd.read_csv(
        path,
        sep="\t",
        dtype=dict.fromkeys(TEXT_COLUMNS, str),
        keep_default_na=False,
        na_values={c: ["NA"] for c in METRIC_COLUMNS if c not in TEXT_COLUMNS},
    ).reindex(columns=METRIC_COLUMNS)


#: Analysis transform of a metric → the back-transform name of :mod:`tme.stats.effects`: ``exp`` of a
#: difference in ``log((n_A + ½)/(n_B + ½))`` is the ratio of the geometric means of the smoothed ratio.
EFFECT_TRANSFORM = {"log1p": "log1p", "log_ratio_05": "log", "none": "none"}


def paired_values(metrics: pd.DataFrame, samples: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The metrics as input of :func:`tme.stats.effects_between_arms`.

    ``samples`` is indexed by ``sample_id`` with ``patient_id, arm, timepoint``. Returns
    ``values`` (``sample_id, patient_id, arm, timepoint, feature, value`` = ``analysis_value``) and
    ``feature_info`` (``feature, feature_type = cell_metric, family, transform`` — the back-transform
    of :mod:`tme.stats.effects`, :data:`EFFECT_TRANSFORM`); ``ripley_K`` (same information as
    ``ripley_L``) is left out.
    """
    entered = metrics[metrics["family"].fillna("") != ""]
    values = entered[["sample_id", "feature", "analysis_value"]].rename(columns={"analysis_value": "value"})
    values = values.join(samples[["patient_id", "arm", "timepoint"]], on="sample_id")
    info = entered.drop_duplicates("feature")[["feature", "family", "transform"]].assign(feature_type="cell_metric")
    info["transform"] = info["transform"].map(EFFECT_TRANSFORM).fillna("none")
    return (
        values[["sample_id", "patient_id", "arm", "timepoint", "feature", "value"]].reset_index(drop=True),
        info[["feature", "feature_type", "family", "transform"]].reset_index(drop=True),
    )


def planned_features(plan: MetricPlan, types: list[str], compartments: list[str]) -> pd.DataFrame:
    """``feature, feature_type, family`` of every metric :func:`biopsy_metrics` writes for cell types
    ``types`` and region compartments ``compartments``, known before any slide is read (so that an
    analysis-plan endpoint naming a cell metric is checked with the inputs). Computed on an empty
    biopsy, so the names are the metric functions' own."""
    empty = Biopsy(
        "", np.zeros((0, 2)), np.zeros(0, dtype=int), list(types), np.zeros(0, dtype=int), list(compartments),
        dict.fromkeys(compartments, 1.0),
    )  # fmt: skip
    rows = biopsy_metrics(empty, plan)
    rows = rows[rows["family"] != ""]
    return rows[["feature", "family"]].assign(feature_type="cell_metric")[["feature", "feature_type", "family"]]
