r"""nCounter quality control per sample: values, flags and the reason a sample fails.

Rules, with their defaults and sources (NanoString, *nCounter Expression Data Analysis Guide*,
MAN-C0011-04, 2017, "Quality control" and "Normalization", the checks nSolver 4.0 applies); every
threshold is a field of :class:`QcThresholds`:

* ``imaging``: FOV counted / FOV count < 0.75 (``min_fov_ratio``; MAN-C0011 imaging QC).
* ``binding_density``: BindingDensity outside 0.1–2.25 on MAX/FLEX, 0.1–1.8 on SPRINT
  (``instrument``, ``binding_density``; MAN-C0011 binding-density QC). Newer NanoString guidance and
  NACHO's ``nsolver`` preset use 0.05 as the MAX/FLEX lower bound: set ``binding_density``.
* ``positive_linearity``: :math:`R^2` of the least-squares line of :math:`\log_2` count on
  :math:`\log_2` concentration of the positive controls (128, 32, 8, 2, 0.5, 0.125 fM) < 0.95
  (``min_positive_r2``; MAN-C0011 positive-control linearity); as NanoStringQCPro's ``posR2Plot``.
* ``limit_of_detection``: the 0.5 fM control (POS_E) count ≤ mean + 2 SD of the negative controls
  (``background_sd``; MAN-C0011 limit of detection).
* ``positive_factor``: positive-control scaling factor outside 0.3–3 (MAN-C0011 normalisation).
* ``housekeeping_factor``: housekeeping (content) factor outside 0.1–10 (MAN-C0011 normalisation).
* ``housekeepers_below_background``: more than ``max_housekeepers_below_background`` (0) of the
  housekeepers used have a raw count ≤ mean + 2 SD of the negatives — tme's rule, from MAN-C0011's
  advice that housekeepers sit well above background (a content factor from background noise is
  noise).

Counts below 1 count as 1 inside the logarithms. ``background`` here is computed on the raw counts
(whatever the normalisation's pseudocount). The ``policy`` (``exclude`` or ``flag``) decides whether
a failing sample is excluded from the analysis (its reasons go to the sample flow) or only flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tme.errors import TmeInputError
from tme.nanostring.normalise import Normalised, background_counts
from tme.nanostring.panel import RccSet

#: Binding-density range (spots per µm²) of each instrument, MAN-C0011.
BINDING_DENSITY = {"max_flex": (0.1, 2.25), "sprint": (0.1, 1.8)}
POLICIES = ("exclude", "flag")
FLAGS = (
    "imaging",
    "binding_density",
    "positive_linearity",
    "limit_of_detection",
    "positive_factor",
    "housekeeping_factor",
    "housekeepers_below_background",
)
#: Columns of :func:`nanostring_qc`, in order.
QC_COLUMNS = (
    [
        "file",
        "lane_id",
        "cartridge_id",
        "fov_count",
        "fov_counted",
        "fov_ratio",
        "binding_density",
        "positive_r2",
        "pos_e_count",
        "negative_mean",
        "negative_sd",
        "background",
        "positive_geomean",
        "positive_factor",
        "housekeeping_geomean",
        "housekeeping_factor",
        "n_housekeepers",
        "n_housekeepers_below_background",
    ]
    + [f"flag_{f}" for f in FLAGS]
    + ["n_flags", "qc_failures", "qc_action"]
)


@dataclass(frozen=True)
class QcThresholds:
    """QC limits (defaults: MAN-C0011 for a MAX/FLEX instrument) and the policy for failing samples."""

    min_fov_ratio: float = 0.75
    instrument: str = "max_flex"
    binding_density: tuple[float, float] | None = None  # None: the instrument's range
    min_positive_r2: float = 0.95
    positive_factor: tuple[float, float] = (0.3, 3.0)
    housekeeping_factor: tuple[float, float] = (0.1, 10.0)
    max_housekeepers_below_background: int = 0
    background_sd: float = 2.0
    policy: str = "exclude"

    def __post_init__(self) -> None:
        for key, value, allowed in (
            ("instrument", self.instrument, tuple(BINDING_DENSITY)),
            ("policy", self.policy, POLICIES),
        ):
            if value not in allowed:
                raise TmeInputError(
                    f"{key} {value!r} is not one of {', '.join(allowed)}",
                    column=f"expression.nanostring.qc.{key}",
                    fix=f"use one of {', '.join(allowed)}",
                )

    @property
    def binding_density_range(self) -> tuple[float, float]:
        return tuple(self.binding_density) if self.binding_density is not None else BINDING_DENSITY[self.instrument]


def positive_linearity(counts: np.ndarray, concentration: np.ndarray) -> np.ndarray:
    """Per sample, :math:`R^2` of the least-squares line of :math:`\\log_2` count on :math:`\\log_2` concentration.

    ``counts``: positive controls × samples; ``concentration``: fM per control (> 0). Equals the
    squared Pearson correlation; NaN when the counts are all equal.
    """
    x = np.log2(concentration)[:, None]
    y = np.log2(np.maximum(counts, 1.0))
    xc, yc = x - x.mean(), y - y.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (xc * yc).sum(axis=0) ** 2 / ((xc**2).sum() * (yc**2).sum(axis=0))


def _pos_e(rcc: RccSet) -> np.ndarray:
    probes = rcc.probes
    rows = (
        (probes["code_class"] == "Positive") & ((probes["concentration"] == 0.5) | (probes["name"] == "POS_E"))
    ).to_numpy()
    if not rows.any():
        return np.full(rcc.counts.shape[1], np.nan)
    return rcc.counts[np.flatnonzero(rows)[0]].astype(np.float64)


def _reasons(table: pd.DataFrame, t: QcThresholds) -> list[str]:
    lo, hi = t.binding_density_range
    (plo, phi), (hlo, hhi) = t.positive_factor, t.housekeeping_factor
    texts = {
        "imaging": lambda r: (
            f"imaging: FOV counted {r.fov_counted:g}/{r.fov_count:g} = {r.fov_ratio:.2f} < {t.min_fov_ratio:g}"
        ),
        "binding_density": lambda r: f"binding density {r.binding_density:g} outside {lo:g}-{hi:g}",
        "positive_linearity": lambda r: f"positive-control linearity R2 {r.positive_r2:.3f} < {t.min_positive_r2:g}",
        "limit_of_detection": lambda r: (
            f"POS_E count {r.pos_e_count:g} <= background {r.background:.1f} (limit of detection)"
        ),
        "positive_factor": lambda r: f"positive-control factor {r.positive_factor:.2f} outside {plo:g}-{phi:g}",
        "housekeeping_factor": lambda r: f"housekeeping factor {r.housekeeping_factor:.2f} outside {hlo:g}-{hhi:g}",
        "housekeepers_below_background": lambda r: (
            f"{r.n_housekeepers_below_background} of {r.n_housekeepers} housekeepers at or below background"
        ),
    }
    return ["; ".join(texts[f](row) for f in FLAGS if getattr(row, f"flag_{f}")) for row in table.itertuples()]


def nanostring_qc(rcc: RccSet, norm: Normalised, thresholds: QcThresholds = QcThresholds()) -> pd.DataFrame:
    """One row per file of ``rcc`` (same order): QC values, ``flag_<rule>`` booleans, ``n_flags``,
    ``qc_failures`` (the reasons, '' when none) and ``qc_action`` (``pass``, ``flag`` or ``exclude``).

    ``norm`` is :func:`~tme.nanostring.normalise.normalise` of the same ``rcc`` (factors, background
    and the housekeepers used).
    """
    t = thresholds
    lanes, f = rcc.lanes, norm.factors
    positive = rcc.rows("Positive") & rcc.probes["concentration"].gt(0).to_numpy()
    hk = rcc.probes["name"].isin(norm.housekeepers).to_numpy() & ~rcc.rows("Positive") & ~rcc.rows("Negative")
    neg_mean, neg_sd, background = background_counts(rcc.counts, rcc.rows("Negative"), t.background_sd)
    below = (rcc.counts[hk] <= background[None, :]).sum(axis=0)
    table = pd.DataFrame(
        {
            "file": lanes["file_name"],
            "lane_id": lanes["lane_id"],
            "cartridge_id": lanes["cartridge_id"],
            "fov_count": lanes["fov_count"],
            "fov_counted": lanes["fov_counted"],
            "fov_ratio": lanes["fov_counted"] / lanes["fov_count"].where(lanes["fov_count"] > 0),
            "binding_density": lanes["binding_density"],
            "positive_r2": positive_linearity(
                rcc.counts[positive].astype(np.float64), rcc.probes.loc[positive, "concentration"].to_numpy()
            ),
            "pos_e_count": _pos_e(rcc),
            "negative_mean": neg_mean,
            "negative_sd": neg_sd,
            "background": background,
            "positive_geomean": f["positive_geomean"].to_numpy(),
            "positive_factor": f["positive_factor"].to_numpy(),
            "housekeeping_geomean": f["housekeeping_geomean"].to_numpy(),
            "housekeeping_factor": f["housekeeping_factor"].to_numpy(),
            "n_housekeepers": int(hk.sum()),
            "n_housekeepers_below_background": below,
        }
    )
    lo, hi = t.binding_density_range
    table["flag_imaging"] = ~(table["fov_ratio"] >= t.min_fov_ratio)
    table["flag_binding_density"] = ~table["binding_density"].between(lo, hi)
    table["flag_positive_linearity"] = ~(table["positive_r2"] >= t.min_positive_r2)
    table["flag_limit_of_detection"] = table["pos_e_count"] <= table["background"]
    table["flag_positive_factor"] = ~table["positive_factor"].between(*t.positive_factor)
    table["flag_housekeeping_factor"] = ~table["housekeeping_factor"].between(*t.housekeeping_factor)
    table["flag_housekeepers_below_background"] = (
        table["n_housekeepers_below_background"] > t.max_housekeepers_below_background
    )
    flags = table[[f"flag_{f}" for f in FLAGS]]
    table["n_flags"] = flags.sum(axis=1).astype(int)
    table["qc_failures"] = _reasons(table, t)
    table["qc_action"] = np.where(table["n_flags"] == 0, "pass", t.policy)
    return table[QC_COLUMNS]
