r"""nCounter normalisation as nSolver does it: positive controls, background, housekeeping genes, log2.

Reference: NanoString Technologies, *nCounter Expression Data Analysis Guide* (MAN-C0011-04,
2017), "Normalization"; nSolver 4.0 User Manual (MAN-C0019). With counts :math:`c_{ps}` of probe
:math:`p` in sample :math:`s`:

1. **Positive-control scaling.** :math:`g_s` = geometric mean of the sample's positive controls
   (all six by default; counts below 1 count as 1, the log of zero being undefined);
   factor :math:`f^{pos}_s = \bar g / g_s` with :math:`\bar g` the arithmetic mean of :math:`g_s`
   over the samples; :math:`x_{ps} = c_{ps} f^{pos}_s`.
2. **Background** from the negative controls :math:`N` of the sample:
   :math:`b_s = \mathrm{mean}_N(x) + k\,\mathrm{sd}_N(x)` (:math:`k` = 2, sample SD), i.e. the
   raw counts' mean + 2 SD scaled by :math:`f^{pos}_s`. ``subtract``: :math:`x - b_s`; ``threshold``:
   :math:`\max(x, b_s)` (counts in the background are raised to it); ``none``. Values below
   ``floor`` (1) are then set to ``floor``, so the log is defined.
3. **Content (housekeeping) normalisation.** :math:`h_s` = geometric mean of the housekeepers
   after steps 1–2 (the panel's ``Housekeeping`` probes, a configured list, or the geNorm
   selection, :mod:`tme.nanostring.genorm`); factor :math:`f^{hk}_s = \bar h / h_s`.
4. **log2**: :math:`y_{ps} = \log_2(x_{ps} f^{hk}_s)`.

The factors QC checks are :math:`f^{pos}` (expected 0.3–3) and :math:`f^{hk}` (0.1–10).

Bioconductor NanoStringQCPro 1.30 (``preprocRccSet``) differs in its defaults: positive controls
summarised by their *sum* (``pcnSummaryFunction``), background = the *median* of the negatives +
``bgStringency`` × their SD, content normalisation by the *median* of log2 housekeepers, and no
rescaling to :math:`\bar h` (its values are :math:`\log_2 x_{ps} - \log_2 h_s`); and its
``newRccSet`` adds 1 to every count before anything else. tme matches it exactly with a
geometric-mean positive summary, ``bgSummaryFunction="mean"``, ``bgStringency=2``,
``normSummaryFunction="mean"`` on its side and ``housekeeping_reference="none"``,
``pseudocount=1`` on tme's (``tests/fixtures/nanostring/make_fixtures.R``). Like tme, it scales
before estimating the background; handling the background before scaling instead gives the same
values except those raised to ``floor``, since the background scales with :math:`f^{pos}`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tme.errors import TmeInputError, TmeInputWarning
from tme.nanostring.genorm import genorm
from tme.nanostring.panel import RccSet

BACKGROUND_METHODS = ("subtract", "threshold", "none")
HOUSEKEEPING_REFERENCES = ("mean", "none")
#: Columns of :attr:`Normalised.factors` (one row per sample).
FACTOR_COLUMNS = [
    "positive_geomean",
    "positive_factor",
    "negative_mean",
    "negative_sd",
    "background",
    "background_scaled",
    "housekeeping_geomean",
    "housekeeping_factor",
    "size_factor",
]


@dataclass(frozen=True)
class NormalisationOptions:
    """How to normalise (defaults: nSolver's, with background thresholding).

    ``positive_controls``: names used for :math:`g_s` (``None`` = every Positive probe);
    ``background``: ``threshold``, ``subtract`` or ``none``; ``background_sd``: :math:`k`;
    ``floor``: smallest value before the log; ``housekeepers``: names (``None`` = the panel's
    Housekeeping probes); ``genorm``: keep only geNorm's most stable housekeepers (at least
    ``genorm_min``); ``housekeeping_reference``: ``mean`` (rescale to :math:`\\bar h`, nSolver) or
    ``none`` (:math:`\\log_2 x - \\log_2 h_s`, NanoStringQCPro); ``pseudocount``: added to every
    count first (0; NanoStringQCPro's ``newRccSet`` adds 1).
    """

    positive_controls: tuple[str, ...] | None = None
    background: str = "threshold"
    background_sd: float = 2.0
    floor: float = 1.0
    housekeepers: tuple[str, ...] | None = None
    genorm: bool = False
    genorm_min: int = 3
    housekeeping_reference: str = "mean"
    pseudocount: float = 0.0

    def __post_init__(self) -> None:
        for key, value, allowed in (
            ("background", self.background, BACKGROUND_METHODS),
            ("housekeeping_reference", self.housekeeping_reference, HOUSEKEEPING_REFERENCES),
        ):
            if value not in allowed:
                raise TmeInputError(
                    f"{key} {value!r} is not one of {', '.join(allowed)}",
                    column=f"expression.nanostring.{key}",
                    fix=f"use one of {', '.join(allowed)}",
                )
        if not self.floor > 0:
            raise TmeInputError(
                f"floor {self.floor} must be > 0 (its log is taken)",
                column="expression.nanostring.floor",
                fix="use 1 (the default)",
            )


@dataclass
class Normalised:
    """Normalised panel: ``log2`` (probes × samples, every probe of the panel), per-sample
    ``factors`` (:data:`FACTOR_COLUMNS`), the ``housekeepers`` used and the geNorm table (or None)."""

    log2: np.ndarray
    factors: pd.DataFrame
    housekeepers: list[str]
    genorm: pd.DataFrame | None


def geometric_mean(values: np.ndarray, axis: int = 0) -> np.ndarray:
    """Geometric mean along ``axis``, values below 1 taken as 1 (count data)."""
    return np.exp(np.log(np.maximum(values, 1.0)).mean(axis=axis))


def _select_rows(rcc: RccSet, code_class: str, names: Sequence[str] | None, key: str) -> np.ndarray:
    if names is None:
        return rcc.rows(code_class)
    wanted = list(names)
    if not wanted:
        raise TmeInputError(
            f"expression.nanostring.{key} is an empty list",
            column=f"expression.nanostring.{key}",
            fix="name at least one probe, or remove the key to use the panel's own",
        )
    allowed = set(rcc.probes.loc[rcc.rows(code_class), "name"] if code_class == "Positive" else rcc.probes["name"])
    unknown = [n for n in wanted if n not in allowed]
    if unknown:
        kind = "positive control" if code_class == "Positive" else "probe"
        raise TmeInputError(
            f"{unknown[0]!r} (in expression.nanostring.{key}) is not a {kind} of the panel",
            column=f"expression.nanostring.{key}",
            fix="use probe names as the RCC files' <Code_Summary> writes them",
        )
    return rcc.probes["name"].isin(wanted).to_numpy()


def background_counts(counts: np.ndarray, negatives: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per sample: mean and sample SD of the negative controls, and background = mean + k·SD."""
    neg = counts[negatives].astype(np.float64)
    mean = neg.mean(axis=0)
    sd = neg.std(axis=0, ddof=1) if neg.shape[0] > 1 else np.zeros(neg.shape[1])
    return mean, sd, mean + k * sd


def _housekeeping(rcc: RccSet, x: np.ndarray, options: NormalisationOptions) -> tuple[np.ndarray, pd.DataFrame | None]:
    rows = _select_rows(rcc, "Housekeeping", options.housekeepers, "housekeepers")
    if not rows.any():
        rcc.require(
            "Housekeeping",
            fix="give the panel's RLF (expression.nanostring.rlf) or list the housekeeping genes "
            "in expression.nanostring.housekeepers",
        )
    if not options.genorm:
        return rows, None
    positions = np.flatnonzero(rows)
    if len(positions) <= options.genorm_min:
        warnings.warn(
            f"geNorm needs more than {options.genorm_min} housekeepers; all {len(positions)} are used",
            TmeInputWarning,
            stacklevel=3,
        )
        return rows, None
    table = genorm(
        np.log2(x[positions]), rcc.probes["name"].to_numpy()[positions].tolist(), min_genes=options.genorm_min
    )
    keep = rcc.probes["name"].isin(table.loc[table["selected"], "gene"]).to_numpy() & rows
    return keep, table


def normalise(rcc: RccSet, options: NormalisationOptions = NormalisationOptions()) -> Normalised:
    """Normalise every probe of ``rcc`` (see the module docstring for the steps and formulas)."""
    rcc.require("Positive", fix="positive controls (POS_A … POS_F) are needed to scale lanes; check the panel's RLF")
    rcc.require(
        "Negative", fix="negative controls (NEG_A … NEG_H) are needed for the background; check the panel's RLF"
    )
    counts = rcc.counts + float(options.pseudocount)
    positive = geometric_mean(counts[_select_rows(rcc, "Positive", options.positive_controls, "positive_controls")])
    f_pos = positive.mean() / positive
    x = counts * f_pos
    neg_mean, neg_sd, background = background_counts(counts, rcc.rows("Negative"), options.background_sd)
    b = background * f_pos
    if options.background == "subtract":
        x = x - b
    elif options.background == "threshold":
        x = np.maximum(x, b)
    x = np.maximum(x, options.floor)
    hk_rows, table = _housekeeping(rcc, x, options)
    log2_x = np.log2(x)
    log2_h = log2_x[hk_rows].mean(axis=0)  # log2 of the geometric mean
    h = 2.0**log2_h
    shift = np.log2(h.mean()) if options.housekeeping_reference == "mean" else 0.0
    f_hk = h.mean() / h
    size = 1.0 / (f_pos * f_hk)
    factors = pd.DataFrame(
        {
            "positive_geomean": positive,
            "positive_factor": f_pos,
            "negative_mean": neg_mean,
            "negative_sd": neg_sd,
            "background": background,
            "background_scaled": b,
            "housekeeping_geomean": h,
            "housekeeping_factor": f_hk,
            "size_factor": size / np.exp(np.log(size).mean()),
        },
        columns=FACTOR_COLUMNS,
    )
    return Normalised(log2_x - log2_h + shift, factors, rcc.probes.loc[hk_rows, "name"].tolist(), table)
