"""Forest plots of between-arm effects on one standardised axis, in pages by multiplicity family.

Every row is one feature's primary analysis (default the ITT ANCOVA rows of
``effects_between_arms.tsv``) drawn as its **standardised effect** with CI (``std_effect``: the
ANCOVA difference divided by the pooled baseline SD, :mod:`tme.stats.effects`), so that endpoints
on different scales (ssGSEA units of −190, singscore −0.09, log densities) share one axis. The
right margin prints what a reader quotes: the **readable effect** (the ratio of geometric means
when the table has one, else the difference in the endpoint's unit) with its CI, the adjusted p
with its procedure (the table's ``multiplicity``) and n per arm.

Rows are split into pages of at most :data:`ROWS_PER_PAGE`: one page set per family, the plan's
families (``primary``, ``key_secondary``, ``exploratory``) first in the plan's (testing) order,
then the other families, each ordered by standardised effect. Rows without an estimate are
listed with the reason from the table's ``note``. The pages of one family share their x axis.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.transforms import blended_transform_factory

from tme.plots.style import (
    MULTIPLICITY_LABELS,
    NEUTRAL,
    arm_label,
    ci_digits,
    ci_label,
    empty_figure,
    format_number,
    label,
    theme,
)

ROWS_PER_PAGE = 25
#: The plan's families (its roles), drawn first and in the plan's order.
PLAN_FAMILIES = ("primary", "key_secondary", "exploratory")
FAMILY_TITLES = {
    "primary": "Primary endpoints",
    "key_secondary": "Key secondary endpoints",
    "exploratory": "Exploratory endpoints of the plan",
    "exploratory_signatures": "Other signatures (exploratory)",
    "immune_measures": "Other immune measures (exploratory)",
    "single_cell": "Single-cell features (exploratory)",
    "genes": "Genes (exploratory)",
}
_NUMERIC = ("estimate", "ci_low", "ci_high", "p_adjusted", "ratio", "ratio_ci_low", "ratio_ci_high")
_STANDARDISED = ("std_effect", "std_effect_ci_low", "std_effect_ci_high")
#: Layout in inches: label column, forest axis, margin columns (effect, adj. p, n), row height.
_WIDTH, _LABEL, _AXIS = 7.3, 2.25, 1.75
_ROW, _HEAD, _FOOT = 0.205, 0.78, 0.62


@dataclass(frozen=True)
class ForestPage:
    """One page: ``rows`` of ``family`` (the ``rank``-th family), page ``page`` of ``n_pages``."""

    family: str
    rank: int
    page: int
    n_pages: int
    rows: pd.DataFrame
    xlim: tuple[float, float]

    @property
    def stem(self) -> str:
        """File name without suffix, sorting in drawing order: ``01_primary_01``."""
        safe = re.sub(r"[^A-Za-z0-9_-]+", "-", self.family).strip("-_") or "family"
        return f"{self.rank:02d}_{safe}_{self.page:02d}"


def forest_rows(effects: pd.DataFrame, analysis: str = "ancova", population: str = "itt") -> pd.DataFrame:
    """The rows the forest pages draw, in drawing order (module docstring), with a ``label``: the
    endpoint's display name, else the feature (whose name carries its scale, e.g. ``…|ssgsea``)."""
    keep = effects["analysis"].astype(str) == analysis
    if "population" in effects:
        keep &= effects["population"].astype(str) == population
    sub = effects[keep].drop_duplicates("feature").copy()
    for column in (*_NUMERIC, *_STANDARDISED, "n_reference_arm", "n_treatment_arm"):
        sub[column] = pd.to_numeric(sub[column], errors="coerce") if column in sub else np.nan
    for column in ("family", "display_name", "unit", "multiplicity", "note"):
        sub[column] = sub[column].fillna("").astype(str) if column in sub else ""
    sub["family"] = sub["family"].replace("", "(no family)")
    sub["label"] = sub["display_name"].where(sub["display_name"] != "", sub["feature"].astype(str))
    families = list(dict.fromkeys(sub["family"]))
    order = [f for f in PLAN_FAMILIES if f in families] + [f for f in families if f not in PLAN_FAMILIES]
    sub["_family"] = sub["family"].map({f: i for i, f in enumerate(order)})
    sub["_position"] = np.arange(len(sub))  # the table's order: the plan's testing order
    planned = sub["family"].isin(PLAN_FAMILIES)
    sub["_key"] = np.where(planned, sub["_position"], sub["std_effect"])
    sub["_na"] = ~planned & sub["std_effect"].isna()
    sub = sub.sort_values(["_family", "_na", "_key", "feature"], kind="stable")
    return sub.drop(columns=["_family", "_position", "_key", "_na"]).reset_index(drop=True)


def _limits(rows: pd.DataFrame) -> tuple[float, float]:
    """x limits holding every CI and 0, padded by 8 %."""
    values = rows[list(_STANDARDISED)].to_numpy(float).ravel()
    values = values[np.isfinite(values)]
    lo, hi = (min(values.min(), 0.0), max(values.max(), 0.0)) if values.size else (-1.0, 1.0)
    pad = 0.08 * ((hi - lo) or 1.0)
    return float(lo - pad), float(hi + pad)


def forest_pages(rows: pd.DataFrame, rows_per_page: int = ROWS_PER_PAGE) -> list[ForestPage]:
    """Pages of at most ``rows_per_page`` rows, each family's rows spread evenly over its pages
    (93 rows → 24 + 23 + 23 + 23, not 25 + 25 + 25 + 18)."""
    pages = []
    for rank, (family, sub) in enumerate(rows.groupby("family", sort=False), start=1):
        n_pages = math.ceil(len(sub) / rows_per_page)
        bounds = np.linspace(0, len(sub), n_pages + 1).round().astype(int)
        xlim = _limits(sub)
        for page, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]), start=1):
            pages.append(ForestPage(str(family), rank, page, n_pages, sub.iloc[a:b], xlim))
    return pages


def readable_effect(row: Mapping) -> str:
    """``ratio 0.80 (0.55, 1.17)`` when the row has a ratio, else ``−0.089 (−0.118, −0.060) singscore``."""
    if np.isfinite(row.get("ratio", np.nan)):
        lo, hi = row["ratio_ci_low"], row["ratio_ci_high"]
        d = max(ci_digits(lo, hi), 2)
        return f"ratio {format_number(row['ratio'], d)} ({format_number(lo, d)}, {format_number(hi, d)})"
    if not np.isfinite(row.get("estimate", np.nan)):
        return "NA"
    lo, hi = row["ci_low"], row["ci_high"]
    d = ci_digits(lo, hi)
    unit = label(str(row.get("unit") or ""), 12)
    return f"{format_number(row['estimate'], d)} ({format_number(lo, d)}, {format_number(hi, d)}) {unit}".rstrip()


def _p_text(p: float) -> str:
    if not np.isfinite(p):
        return "NA"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _reason(row: Mapping) -> str:
    note = str(row.get("note") or "").strip()
    if np.isfinite(row.get("estimate", np.nan)):  # estimated, but not on the standardised axis
        return note or "no standardised effect (baseline SD not available)"
    return f"not estimable: {note or 'no reason given'}"


def _method_names(rows: pd.DataFrame) -> list[str]:
    methods = [m for m in dict.fromkeys(rows["multiplicity"]) if m]
    return [MULTIPLICITY_LABELS.get(m, label(m, 16)) for m in methods]


def _families(rows: pd.DataFrame) -> str:
    families = [label(f, 30) for f in dict.fromkeys(rows["family"])]
    return ("family " if len(families) == 1 else "families ") + ", ".join(families[:4])


def _margin(fig, ax, rows: pd.DataFrame, y: np.ndarray, conf_level: float, methods: list[str]) -> None:
    """Label column on the left; effect, adjusted p and n columns on the right."""
    at = blended_transform_factory(fig.transFigure, ax.transData)
    x_effect, x_p, x_n = [(_LABEL + _AXIS + d) / _WIDTH for d in (0.12, 2.05, 2.75)]
    for yi, (_, r) in zip(y, rows.iterrows()):
        name = label(r["label"], 36, lines=2)
        ax.text(
            0.08 / _WIDTH, yi, name, transform=at, va="center", fontsize=6.3 if "\n" in name else 7, linespacing=0.95
        )
        ax.text(x_effect, yi, readable_effect(r), transform=at, va="center", fontsize=6.5)
        method = f" {MULTIPLICITY_LABELS.get(r['multiplicity'], '')}" if len(methods) > 1 else ""
        ax.text(x_p, yi, _p_text(r["p_adjusted"]) + method, transform=at, va="center", fontsize=6.5)
        n = (r["n_reference_arm"], r["n_treatment_arm"])
        text = "/".join(str(int(v)) for v in n) if all(np.isfinite(n)) else "NA"
        ax.text(x_n, yi, text, transform=at, va="center", fontsize=6.5)
        if not np.isfinite(r["std_effect"]):
            ax.text(
                0.02,
                yi,
                label(_reason(r), 60),
                transform=ax.get_yaxis_transform(),
                va="center",
                fontsize=6,
                color=NEUTRAL,
                style="italic",
            )
    top = len(rows) - 0.35
    for x, text in ((x_effect, f"Effect ({ci_label(conf_level)})"), (x_p, "adj. p"), (x_n, "n")):
        ax.text(x, top, text, transform=at, va="bottom", fontsize=7, fontweight="bold")


def plot_forest(
    rows: pd.DataFrame,
    arms: Sequence[str] = ("reference", "treatment"),
    conf_level: float = 0.95,
    title: str = "Between-arm effects",
    xlim: tuple[float, float] | None = None,
):
    """Forest plot of ``rows`` (:func:`forest_rows`, at most ~30) on the standardised axis.

    Filled squares: adjusted p < 1 − ``conf_level``; open squares otherwise; bars: the CI at
    ``conf_level``. ``xlim`` (default: fitted to the rows) lets a family's pages share an axis.
    Laid out in inches within its canvas.
    """
    if rows is None or rows.empty:
        return empty_figure("No rows to draw in the between-arm table.", title)
    n = len(rows)
    methods = _method_names(rows)
    alpha = 1 - conf_level
    y = np.arange(n)[::-1].astype(float)
    est, lo, hi = (rows[c].to_numpy(float) for c in _STANDARDISED)
    ok = np.isfinite(est)
    sig = ok & (rows["p_adjusted"].to_numpy(float) < alpha)
    height = _HEAD + n * _ROW + _FOOT
    with theme():
        fig = plt.figure(figsize=(_WIDTH, height))
        ax = fig.add_axes((_LABEL / _WIDTH, _FOOT / height, _AXIS / _WIDTH, n * _ROW / height))
        ax.hlines(y[ok], lo[ok], hi[ok], color=NEUTRAL, lw=1.1)
        ax.scatter(est[ok & ~sig], y[ok & ~sig], marker="s", s=18, facecolors="white", edgecolors="black", zorder=3)
        ax.scatter(est[sig], y[sig], marker="s", s=18, color="black", zorder=3)
        ax.axvline(0, color="black", lw=0.7, ls="--")
        ax.set_xlim(xlim or _limits(rows))
        ax.set_ylim(-0.6, n - 0.4)
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="x", labelsize=6.5)
        treatment = arm_label(arms[1]) if len(arms) > 1 else "treatment"
        ax.set_xlabel(f"Standardised difference (÷ baseline SD)\n← lower with {treatment}    higher →", fontsize=6.5)
        _margin(fig, ax, rows, y, conf_level, methods)
        contrast = f"{treatment} − {arm_label(arms[0])}" if len(arms) > 1 else "between arms"
        fig.text(0.08 / _WIDTH, 1 - 0.08 / height, label(title, 95), fontsize=9, fontweight="bold", va="top")
        fig.text(
            0.08 / _WIDTH,
            1 - 0.3 / height,
            f"Difference in change, {contrast}: standardised effect and {ci_label(conf_level)} "
            f"(filled: adj. p < {alpha:.3g}); {_families(rows)}, adj. p: {' / '.join(methods) or 'NA'};\n"
            f"n: patients analysed, {arm_label(arms[0])}/{treatment}",
            fontsize=6.5,
            va="top",
            color=NEUTRAL,
            linespacing=1.1,
        )
    return fig


def page_title(page: ForestPage) -> str:
    """``Primary endpoints: page 1 of 1``."""
    return f"{FAMILY_TITLES.get(page.family, label(page.family, 40))}: page {page.page} of {page.n_pages}"
