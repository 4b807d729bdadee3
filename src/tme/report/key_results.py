"""The report's first screen: did the treatment change the plan's endpoints, by how much, how sure are we.

:func:`key_results_table` turns the primary analysis rows of the plan's confirmatory endpoints
(primary, then key secondary, in plan order) into one readable row each:

* **n per arm** — patients in the analysis (``endpoint_flow.tsv`` has the way there);
* **adjusted mean change per arm** — the ANCOVA's least-squares mean at the common mean baseline
  minus that baseline, with its CI;
* **effect** — the difference in change between arms in the endpoint's unit, or, for a measure
  analysed on a log scale, the back-transformed ratio (``ratio_meaning`` says of what), with its CI;
* **standardised effect** — the difference divided by the pooled baseline SD (Cohen's d-like);
* **adjusted p** — with the plan's multiplicity procedure named;
* **direction** — in words, stated only when the adjusted p is below 1 − the confidence level.

A blinded run shows the pooled change of each endpoint (no arm is read); a single-arm study the
within-arm change. The same table feeds the landing page (:func:`key_results_html`), the
standalone page and ``results/key_results.pdf`` (:mod:`tme.report.key_results_pdf`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tme.report.html import escape

#: How the multiplicity procedures of :mod:`tme.stats.multiplicity` are named for readers.
PROCEDURES = {
    "holm": "Holm",
    "hochberg": "Hochberg",
    "bonferroni": "Bonferroni",
    "hierarchical": "fixed sequence",
    "bh": "Benjamini–Hochberg",
    "none": "unadjusted",
}
ROLES = {"primary": "primary", "key_secondary": "key secondary"}


@dataclass(frozen=True)
class Trial:
    """What the first screen says about the run (all from the validated config)."""

    reference_arm: str | None
    treatment_arm: str
    pre: str
    post: str
    conf_level: float
    title: str = ""
    plan_hash: str = ""
    frozen: bool = False
    blinded: bool = False
    adjustment: list[str] = field(default_factory=list)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Trial:
        """The trial as a validated config describes it (plan hash of :func:`tme.plan.freeze.plan_hash`)."""
        from tme.plan.freeze import plan_hash

        design, plan = config["design"], config.get("analysis_plan") or {}
        frozen = Path(plan.get("frozen_plan") or "plan/analysis_plan.json").exists() and not plan.get("override_frozen")
        return cls(
            reference_arm=design.get("reference_arm"),
            treatment_arm=design["treatment_arm"],
            pre=design["pre"],
            post=design["post"],
            conf_level=config["statistics"]["confidence_level"],
            title=plan.get("title", ""),
            plan_hash=plan_hash(config),
            frozen=frozen,
            blinded=bool(config.get("blinded")),
            adjustment=[*plan.get("strata", []), *plan.get("covariates", [])],
        )

    @property
    def alpha(self) -> float:
        """The significance level matching the confidence intervals (two-sided)."""
        return 1 - self.conf_level

    @property
    def ci(self) -> str:
        return f"{100 * self.conf_level:.4g}% CI"

    @property
    def compares_arms(self) -> bool:
        return not self.blinded and self.reference_arm is not None


def number(x: float, decimals: int) -> str:
    """``x`` with ``decimals`` decimals and a true minus sign; ``NA`` for a missing value."""
    if x is None or pd.isna(x):
        return "NA"
    return f"{x:,.{decimals}f}".replace("-", "−")


def decimals_for(x: float, significant: int = 3) -> int:
    """Decimals that show ``significant`` digits of ``x`` (0 for |x| ≥ 100, at most 6)."""
    if x is None or pd.isna(x) or x == 0:
        return 2
    return min(max(significant - 1 - math.floor(math.log10(abs(x))), 0), 6)


def with_ci(estimate: float, low: float, high: float, decimals: int | None = None) -> str:
    """``−0.0889 (−0.1178 to −0.0600)``: estimate and CI to the decimals that give the estimate 3 significant digits."""
    d = decimals_for(estimate) if decimals is None else decimals
    return f"{number(estimate, d)} ({number(low, d)} to {number(high, d)})"


def p_text(p: float, multiplicity: str) -> str:
    """``0.012 (Holm)``, ``< 0.001 (fixed sequence)``."""
    procedure = PROCEDURES.get(str(multiplicity), str(multiplicity or "unadjusted"))
    if p is None or pd.isna(p):
        return "NA"
    value = "< 0.001" if p < 0.001 else f"{p:.3f}" if p < 0.1 else f"{p:.2f}"
    return f"{value} ({procedure})"


def effect_text(row: pd.Series) -> str:
    """The between-arm effect in readable units: a ratio for log-scale measures, else a difference."""
    if pd.notna(row.get("ratio")):
        return "ratio " + with_ci(row["ratio"], row["ratio_ci_low"], row["ratio_ci_high"], 2)
    unit = f" {row['unit']}" if isinstance(row.get("unit"), str) and row["unit"] else ""
    return with_ci(row["estimate"], row["ci_low"], row["ci_high"]) + unit


def direction(row: pd.Series, trial: Trial, estimate: str = "estimate", p: str = "p_adjusted") -> str:
    """The effect in words, claimed only when the adjusted p is below the significance level."""
    if pd.isna(row.get(estimate)):
        note = str(row.get("note") or "").strip()
        return f"not estimable ({note})" if note else "not estimable"
    if not (row.get(p) < trial.alpha):
        return "no clear difference" if trial.compares_arms else "no clear change"
    up = row[estimate] > 0
    if trial.compares_arms:
        return f"{'higher' if up else 'lower'} with {trial.treatment_arm} than {trial.reference_arm}"
    return f"{'increased' if up else 'decreased'} from {trial.pre} to {trial.post}"


def confirmatory_rows(table: pd.DataFrame, analysis: str | None = None) -> pd.DataFrame:
    """The primary analysis rows (first analysis listed, intention to treat) of the primary and key
    secondary endpoints, in the table's (= the plan's testing) order."""
    if table is None or table.empty or "role" not in table:
        return pd.DataFrame()
    analysis = analysis or table["analysis"].iloc[0]
    keep = table["role"].isin(list(ROLES)) & (table["analysis"] == analysis)
    if "population" in table:
        keep &= table["population"].fillna("itt") == "itt"
    return table[keep].reset_index(drop=True)


def key_results_table(stats: pd.DataFrame, trial: Trial) -> pd.DataFrame:
    """One display row per confirmatory endpoint (module docstring); ``stats`` is the between-arm
    table when arms are compared, else the within-arm (single-arm) or pooled (blinded) changes."""
    rows = confirmatory_rows(stats)
    out = []
    for _, row in rows.iterrows():
        item = {"Endpoint": row["display_name"] or row["feature"], "Role": ROLES[row["role"]]}
        if trial.compares_arms:
            item |= {
                f"n {trial.reference_arm}": _count(row["n_reference_arm"]),
                f"n {trial.treatment_arm}": _count(row["n_treatment_arm"]),
                f"Change {trial.reference_arm} ({trial.ci})": _change(row, "reference"),
                f"Change {trial.treatment_arm} ({trial.ci})": _change(row, "treatment"),
                f"Effect, {trial.treatment_arm} vs {trial.reference_arm} ({trial.ci})": effect_text(row),
                f"Standardised effect ({trial.ci})": with_ci(
                    row["std_effect"], row["std_effect_ci_low"], row["std_effect_ci_high"], 2
                ),
                "Adjusted p": p_text(row["p_adjusted"], row["multiplicity"]),
            }
        else:
            item |= {
                "n": _count(row["n_pairs"]),
                f"Change ({trial.ci})": with_ci(row["estimate"], row["ci_low"], row["ci_high"])
                + (f" {row['unit']}" if isinstance(row.get("unit"), str) else ""),
            }
            if not trial.blinded:
                item["Adjusted p"] = p_text(row["p_adjusted"], row["multiplicity"])
        item["Direction"] = "pooled over arms (blinded)" if trial.blinded else direction(row, trial)
        out.append(item)
    return pd.DataFrame(out)


def _count(n: float) -> str:
    return "NA" if pd.isna(n) else str(int(n))


def _change(row: pd.Series, role: str) -> str:
    column = f"adjusted_change_{role}"
    return with_ci(row.get(column), row.get(f"{column}_ci_low"), row.get(f"{column}_ci_high"))


#: Scoped to the key-results block: Snakemake's report shows the landing text in a narrow,
#: vertically centred column beside the rule graph; these rules widen it, start it at the top and
#: put the rule graph below (``:has`` keeps them from touching any other view).
LANDING_CSS = """
div.h-screen:has(#tme-key-results){align-items:flex-start;justify-content:flex-start}
div.gap-3:has(#tme-key-results){flex-direction:column;width:100%}
div.prose:has(#tme-key-results){max-width:78rem}
#tme-key-results{font-size:13px;line-height:1.35;color:#222}
#tme-key-results h1{font-size:1.35em;margin:0 0 .3em}
#tme-key-results h2{font-size:1.05em;margin:1em 0 .3em}
#tme-key-results p{margin:.25em 0 .5em}
#tme-key-results table{border-collapse:collapse;width:100%;margin:.3em 0 .6em;font-size:12.5px}
#tme-key-results th,#tme-key-results td{border:1px solid #d5d5d5;padding:3px 6px;text-align:left;vertical-align:top;
  overflow-wrap:anywhere}
#tme-key-results th{background:#f1f1f1;font-weight:600}
#tme-key-results td.sig{font-weight:600}
#tme-key-results img{max-width:100%;height:auto;margin:0}
#tme-key-results .note{color:#555;font-size:12px}
#tme-key-results ul{margin:.2em 0 .5em 1.2em;padding:0}
"""


def key_results_html(
    table: pd.DataFrame,
    trial: Trial,
    *,
    forest_png: str = "",
    warnings: pd.DataFrame | None = None,
    model: str = "",
    notes: list[str] | None = None,
) -> str:
    """The key results as an HTML block (``<div id="tme-key-results">``, its own ``<style>``, no
    script): heading, estimand sentence, the table, the compact forest (``forest_png``: a base64 PNG)
    and the warnings. Every user string is escaped."""
    heading = f"Key results: {trial.title}" if trial.title else "Key results"
    parts = [f"<style>{LANDING_CSS}</style>", '<div id="tme-key-results">', f"<h1>{escape(heading)}</h1>"]
    parts.append(f"<p>{escape(estimand_text(trial, model))}</p>")
    parts.append(
        _table_html(table)
        if not table.empty
        else "<p>The analysis plan names no primary or key "
        "secondary endpoint: see the forest plots by family and the tables.</p>"
    )
    if forest_png:
        parts.append(
            f'<img alt="Standardised effects of the primary and key secondary endpoints" '
            f'src="data:image/png;base64,{forest_png}">'
        )
    parts += [f'<p class="note">{escape(n)}</p>' for n in notes or []]
    parts.append(_warnings_html(warnings))
    parts.append("</div>")
    return "\n".join(parts) + "\n"


def estimand_text(trial: Trial, model: str = "") -> str:
    """One plain sentence: what is estimated, how, and the plan it was pre-specified in."""
    change = f"the within-patient change {trial.post} − {trial.pre}"
    if trial.blinded:
        what = (
            f"Blinded run: the pooled {change} of each endpoint, both arms together; no between-arm result "
            "is computed before unblinding."
        )
    elif not trial.compares_arms:
        what = f"Single-arm study: {change} in {trial.treatment_arm} ({model or 'Wilcoxon signed-rank'})."
    else:
        what = (
            f"Difference between arms in {change}, {trial.treatment_arm} − {trial.reference_arm}: "
            f"{model or 'ANCOVA'}, intention to treat, adjusted for the baseline value"
            f"{''.join(', ' + a for a in trial.adjustment)}; {trial.ci}; significance level {trial.alpha:.3g} "
            "after the plan's multiplicity adjustment."
        )
    if trial.plan_hash:
        state = "frozen" if trial.frozen else "not frozen"
        what += f" Analysis plan SHA-256 {trial.plan_hash[:12]} ({state})."
    return what


def _table_html(table: pd.DataFrame) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    body = []
    for _, row in table.iterrows():
        strong = str(row.get("Direction", "")).startswith(("higher", "lower", "increased", "decreased"))
        cells = "".join(
            f'<td class="sig">{escape(v)}</td>' if strong and c == "Direction" else f"<td>{escape(v)}</td>"
            for c, v in row.items()
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _warnings_html(warnings: pd.DataFrame | None, shown: int = 8) -> str:
    if warnings is None or warnings.empty:
        return "<h2>Warnings</h2><p>None: no rule reported anything that changed what was analysed.</p>"
    items = "".join(f"<li>{escape(s)}: {escape(w)}</li>" for s, w in warnings.head(shown).itertuples(index=False))
    more = f" ({len(warnings) - shown} more in the Warnings section)" if len(warnings) > shown else ""
    return (
        f"<h2>Warnings ({len(warnings)})</h2><p>Things that changed what was analysed{more}; all in "
        f"results/qc/warnings.tsv:</p><ul>{items}</ul>"
    )


def key_results_page(block: str) -> str:
    """The key-results block as a standalone, script-free page (the report's "Key results" entry)."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        'img-src data:"><title>Key results</title><style>body{font-family:system-ui,sans-serif;margin:1.2em}</style>'
        f"</head><body>{block}</body></html>\n"
    )
