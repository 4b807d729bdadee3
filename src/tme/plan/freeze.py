"""Freezing the analysis plan, and holding unblinded runs to the frozen copy.

``tme plan freeze --config C`` (which may run on blinded data) checks every input as a run would,
then writes ``analysis_plan.frozen_plan`` (default ``plan/analysis_plan.json``): the resolved plan
(defaults filled) with the design it applies to, its SHA-256 and the tme version, and beside it a
readable SAP section (``.md`` and ``.html``). The hash is over the canonical JSON of the resolved plan
(keys sorted, no whitespace) and appears in the provenance and the report of every run.

An unblinded run whose config's plan differs from a frozen plan that exists stops before any job,
listing every difference, unless ``analysis_plan.override_frozen`` gives a reason (recorded in the
provenance and the report). A blinded run is not held to it: the plan may still change then.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tme import __version__
from tme.errors import TmeInputError
from tme.io import atomic_path
from tme.plan import ROLES, AnalysisPlan

#: Keys of ``analysis_plan`` that are about the freeze itself, not the analysis (left out of the hash).
NOT_THE_PLAN = ("frozen_plan", "override_frozen")


def resolved_plan(config: Mapping[str, Any]) -> dict:
    """The plan as it will be applied: the validated ``analysis_plan`` section and the design labels."""
    plan = {k: v for k, v in (config.get("analysis_plan") or {}).items() if k not in NOT_THE_PLAN}
    design = {k: (config.get("design") or {}).get(k) for k in ("reference_arm", "treatment_arm", "pre", "post")}
    return json.loads(json.dumps({"design": design, "analysis_plan": plan}, default=str))


def plan_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of :func:`resolved_plan`."""
    text = json.dumps(resolved_plan(config), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def differences(frozen: Any, current: Any, where: str = "") -> list[str]:
    """Human-readable differences between two JSON values (``where`` = the key path so far)."""
    if isinstance(frozen, dict) and isinstance(current, dict):
        out = []
        for key in sorted(set(frozen) | set(current), key=str):
            path = f"{where}.{key}" if where else str(key)
            if key not in current:
                out.append(f"{path} removed (frozen: {json.dumps(frozen[key])})")
            elif key not in frozen:
                out.append(f"{path} added ({json.dumps(current[key])})")
            else:
                out += differences(frozen[key], current[key], path)
        return out
    if isinstance(frozen, list) and isinstance(current, list) and len(frozen) == len(current):
        return [d for i, (a, b) in enumerate(zip(frozen, current)) for d in differences(a, b, f"{where}[{i}]")]
    return [] if frozen == current else [f"{where}: frozen {json.dumps(frozen)}, config {json.dumps(current)}"]


def check_frozen(config: Mapping[str, Any], file: str | None = None) -> None:
    """Stop an unblinded run whose plan differs from the frozen one (module docstring)."""
    section = config.get("analysis_plan") or {}
    path = Path(section.get("frozen_plan") or "plan/analysis_plan.json")
    if config.get("blinded") or not path.exists():
        return
    try:
        frozen = json.loads(path.read_text(encoding="utf-8"))["plan"]
    except (ValueError, KeyError):
        raise TmeInputError(
            "the frozen analysis plan is not a plan written by `tme plan freeze`",
            file=path,
            fix="restore the frozen plan from the trial master file, or freeze it again",
        ) from None
    changed = differences(frozen, resolved_plan(config))
    if changed and not section.get("override_frozen"):
        raise TmeInputError(
            f"the config's analysis plan differs from the frozen plan {path} in {len(changed)} place(s): "
            + "; ".join(changed),
            file=file,
            fix="restore the frozen plan in the config, or set analysis_plan.override_frozen to the reason for the "
            "change (it is recorded in the provenance and the report)",
        )


def freeze(config: Mapping[str, Any]) -> list[Path]:
    """Write the frozen plan (JSON) and its readable SAP section (Markdown, HTML); returns the paths."""
    path = Path((config.get("analysis_plan") or {}).get("frozen_plan") or "plan/analysis_plan.json")
    record = {
        "tme_version": __version__,
        "frozen_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "sha256": plan_hash(config),
        "plan": resolved_plan(config),
    }
    text = sap_markdown(config)
    outputs = {
        path: json.dumps(record, indent=2, ensure_ascii=False) + "\n",
        path.with_suffix(".md"): text,
        path.with_suffix(".html"): markdown_page(text, "Statistical analysis plan"),
    }
    for target, content in outputs.items():
        with atomic_path(target) as tmp:
            tmp.write_text(content, encoding="utf-8")
    return list(outputs)


def sap_markdown(config: Mapping[str, Any]) -> str:
    """The plan written out as a SAP section a statistician can sign (Markdown)."""
    plan = AnalysisPlan.from_config(config)
    design = config.get("design") or {}
    estimand = plan.estimand or {}
    lines = [
        f"# Statistical analysis plan{': ' + plan.title if plan.title else ''}",
        "",
        f"Plan SHA-256 `{plan_hash(config)}` (tme {__version__}).",
        "",
        "## Estimand (ICH E9(R1))",
        "",
    ]
    comparison = (
        f"{design.get('treatment_arm')} versus {design.get('reference_arm')}"
        if design.get("reference_arm")
        else f"{design.get('treatment_arm')} (single arm: within-arm change, no comparison)"
    )
    lines += [
        f"- Treatment comparison: {comparison}.",
        f"- Population: {estimand.get('population', '')}.",
        f"- Variable: {estimand.get('variable', '')} ({design.get('pre')} → {design.get('post')}).",
        f"- Intercurrent events: {estimand.get('intercurrent_events', '')}.",
        f"- Population-level summary: {estimand.get('summary', '')}.",
        "",
        "## Endpoints",
        "",
    ]
    for role in ROLES:
        endpoints = plan.role_endpoints(role)
        if not endpoints:
            continue
        lines += [
            f"### {role.replace('_', ' ')} (multiplicity: {plan.method(role)})",
            "",
            "| order | endpoint | feature | unit |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {i} | {e.label} | `{e.feature}`{f' (analysis `{e.analysis}`)' if e.analysis else ''} | {e.unit} |"
            for i, e in enumerate(endpoints, 1)
        ]
        lines.append("")
    lines += [
        "Every other feature tme produces is exploratory, adjusted by Benjamini–Hochberg within its family "
        "(signatures, immune measures, single cell).",
        "",
        "## Analyses",
        "",
        f"- Primary analysis: `{plan.primary_analysis}`, adjusted for "
        f"{', '.join(plan.adjust_for) or 'the baseline value only'} "
        f"(stratification factors: {', '.join(plan.strata) or 'none'}; covariates are baseline values).",
        "- Ordinal and bounded IHC scores (units hscore, allred, intensity): `mann_whitney_change` (rank-based) "
        "unless the endpoint names its analysis; an endpoint's own analysis is the one its family's multiplicity "
        "uses.",
        f"- Sensitivity analyses: {', '.join(plan.sensitivity) or 'none'}."
        + (
            f" Post-window covariates (sensitivity only): {', '.join(plan.post_covariates)}."
            if plan.post_covariates
            else ""
        ),
        "- Populations: intention to treat (every randomised patient)"
        + (
            f"; per protocol: {_per_protocol_text(plan.per_protocol)}, primary analysis repeated."
            if plan.per_protocol
            else "."
        ),
        "",
    ]
    return "\n".join(lines)


def _per_protocol_text(rule: Mapping[str, Any]) -> str:
    return f"{rule['column']} ≥ {rule['min']:g}" if "min" in rule else f"{rule['column']} = {rule['equals']}"


def markdown_page(text: str, title: str) -> str:
    """A self-contained, script-free HTML page showing the Markdown ``text`` (every line escaped)."""
    body = []
    for line in text.splitlines():
        if line.startswith("#"):
            level = min(len(line) - len(line.lstrip("#")), 3)
            body.append(f"<h{level}>{html.escape(line.lstrip('#').strip())}</h{level}>")
        elif line.startswith("|") and not line.startswith("|---"):
            cells = "".join(f"<td>{html.escape(c.strip())}</td>" for c in line.strip("|").split("|"))
            body.append(f"<table><tr>{cells}</tr></table>")
        elif line.strip() and not line.startswith("|---"):
            body.append(f"<p>{html.escape(line)}</p>")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>{html.escape(title)}</title><style>body{{font-family:system-ui,sans-serif;max-width:60em;"
        "margin:1em auto}td{border:1px solid #ccc;padding:2px 6px}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
