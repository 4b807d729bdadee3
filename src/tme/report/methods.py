"""The report's methods and provenance page, generated from the run.

:func:`methods_html` writes one self-contained page (no external resources) that carries a
Content-Security-Policy forbidding scripts, so even an escaping mistake could not run code:
software versions, the validated config, the design and estimand, the sample flow, the input
files' checksums, the signatures and scoring methods used (with citations), the statistical models,
the multiplicity families and the seeds.
"""

from __future__ import annotations

import platform
import subprocess
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from tme.report.html import CSS, escape, html_table
from tme.stats.analyses import BETWEEN_ARM

PACKAGES = (
    "tme",
    "snakemake",
    "numpy",
    "pandas",
    "scipy",
    "statsmodels",
    "matplotlib",
    "anndata",
    "scanpy",
    "threadpoolctl",
    "gseapy",
    "jsonschema",
    "pyyaml",
    "h5py",
)

#: Within-arm analyses, described for the methods page (between-arm ones: tme.stats.analyses.BETWEEN_ARM).
WITHIN_ANALYSES = {
    "wilcoxon_signed_rank": "Wilcoxon signed-rank test within arm, Hodges–Lehmann median change (descriptive)",
    "paired_t": "paired t test within arm (descriptive)",
}


def describe_analysis(name: str) -> str:
    """One sentence on an analysis, from the between-arm registry or :data:`WITHIN_ANALYSES`."""
    return BETWEEN_ARM[name].description if name in BETWEEN_ARM else WITHIN_ANALYSES.get(name, "")


def software_versions(packages: Iterable[str] = PACKAGES) -> pd.DataFrame:
    """Installed versions of the packages that produced the results (``not installed`` if absent)."""
    rows = [dict(software="python", version=platform.python_version())]
    for name in packages:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "not installed"
        rows.append(dict(software=name, version=version))
    return pd.DataFrame(rows)


def git_revision(path: str | Path = ".") -> str:
    """``<commit>`` (``+ uncommitted changes`` when dirty) of the repository at ``path``, or ``unknown``."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(path), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + (" + uncommitted changes" if dirty else "")


def flow_summary(flow: pd.DataFrame) -> pd.DataFrame:
    """modality × arm → patients randomised / with pre / with post / paired, and samples excluded."""
    if flow is None or flow.empty:
        return pd.DataFrame()
    counts = flow[flow["step"].isin(["randomised", "with_pre", "with_post", "paired"])]
    table = counts.pivot_table(
        index=["modality", "arm"], columns="step", values="n_patients", aggfunc="first", sort=False
    )
    table = table.reindex(columns=["randomised", "with_pre", "with_post", "paired"])
    lost = flow[flow["step"].isin(["excluded", "missing"])].groupby(["modality", "arm"], sort=False).size()
    table["excluded_or_missing_samples"] = lost.reindex(table.index).fillna(0).astype(int)
    return table.reset_index()


def fdr_families(effects: pd.DataFrame | None, within: pd.DataFrame | None = None) -> pd.DataFrame:
    """family × analysis → features tested (non-NA p), q < 0.05, BH scope."""
    frames = []
    for table, scope in ((effects, "between arms"), (within, "within arm (both arms pooled in one BH)")):
        if table is None or table.empty:
            continue
        t = table.copy()
        t["p"] = pd.to_numeric(t["p"], errors="coerce")
        t["p_adjusted"] = pd.to_numeric(t["p_adjusted"], errors="coerce")
        g = t.groupby(["family", "analysis"], sort=False).agg(
            features=("feature", "nunique"),
            tested=("p", lambda s: int(s.notna().sum())),
            multiplicity=("multiplicity", "first"),
            adjusted_p_below_0_05=("p_adjusted", lambda s: int((s < 0.05).sum())),
        )
        g["table"] = scope
        frames.append(g.reset_index())
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def models_used(effects: pd.DataFrame | None, within: pd.DataFrame | None = None) -> pd.DataFrame:
    """Distinct analysis / method / model / covariates, with a sentence on each analysis."""
    frames = [t for t in (effects, within) if t is not None and not t.empty]
    if not frames:
        return pd.DataFrame()
    cols = ["analysis", "method", "model", "covariates"]
    t = pd.concat([f.reindex(columns=cols) for f in frames], ignore_index=True).fillna("").drop_duplicates()
    t["description"] = t["analysis"].map(describe_analysis)
    return t


def signatures_used(
    scores: pd.DataFrame | None,
    coverage: pd.DataFrame | None = None,
    provenance: Mapping[str, Mapping[str, str]] | None = None,
) -> pd.DataFrame:
    """signature × method with genes used / in signature and citation (when ``provenance`` is given)."""
    if coverage is not None and not coverage.empty:
        t = coverage.reindex(columns=["signature", "method", "n_genes_used", "n_genes_in_signature"]).drop_duplicates()
    elif scores is not None and not scores.empty:
        t = (
            scores.groupby(["signature", "method"], sort=False)
            .agg(n_genes_used=("n_genes_used", "min"), n_genes_in_signature=("n_genes_in_signature", "max"))
            .reset_index()
        )
    else:
        return pd.DataFrame()
    provenance = provenance or {}
    t["collection"] = t["signature"].map(lambda s: provenance.get(s, {}).get("collection", ""))
    t["citation"] = t["signature"].map(lambda s: provenance.get(s, {}).get("citation", ""))
    return t.reset_index(drop=True)


def signature_provenance(scoring: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Signature → collection and citation, from the library and user gene sets of ``scoring``."""
    try:
        from tme.signature_scores import run_signatures

        signatures = run_signatures(scoring)
    except Exception:  # provenance is a courtesy: the page is still written without it
        return {}
    return {
        name: {"collection": str(getattr(s, "collection", "") or ""), "citation": str(getattr(s, "citation", "") or "")}
        for name, s in signatures.items()
    }


def methods_html(
    *,
    config: Mapping[str, Any],
    design: Mapping[str, Any],
    flow: pd.DataFrame | None = None,
    inputs: pd.DataFrame | None = None,
    effects: pd.DataFrame | None = None,
    within: pd.DataFrame | None = None,
    scores: pd.DataFrame | None = None,
    coverage: pd.DataFrame | None = None,
    provenance: Mapping[str, Mapping[str, str]] | None = None,
    versions: pd.DataFrame | None = None,
    revision: str = "unknown",
    record: Mapping[str, Any] | None = None,
) -> str:
    """The methods and provenance page as one self-contained, script-free HTML document.

    ``record`` is the run's provenance record (``results/provenance.json`` of :mod:`tme.provenance`):
    when given, its git revision, run times, command, platform and package versions are used.
    """
    run_rows = pd.DataFrame()
    if record:
        git = record.get("git") or {}
        if git.get("commit") and git.get("commit") != "unknown":
            revision = str(git["commit"]) + (" + uncommitted changes" if git.get("dirty") else "")
        packages = {str(k).lower(): v for k, v in (record.get("packages") or {}).items()}
        if packages:
            python = (record.get("platform") or {}).get("python", platform.python_version())
            versions = pd.DataFrame(
                [dict(software="python", version=python)]
                + [dict(software=name, version=packages.get(name, "not installed")) for name in PACKAGES]
            )
        command = record.get("command")
        run_rows = pd.DataFrame(
            [
                dict(item="tme version", value=record.get("tme_version", "")),
                dict(item="started", value=record.get("started", "")),
                dict(item="finished", value=record.get("finished", "")),
                dict(item="command", value=" ".join(map(str, command)) if isinstance(command, list) else command or ""),
                dict(item="platform", value=(record.get("platform") or {}).get("system", "")),
                dict(item="seeds", value=", ".join(f"{k} = {v}" for k, v in (record.get("seeds") or {}).items())),
                dict(item="analysis plan (SHA-256)", value=(record.get("analysis_plan") or {}).get("sha256", "")),
                dict(item="frozen plan", value=(record.get("analysis_plan") or {}).get("frozen_plan") or "none"),
                dict(
                    item="override of the frozen plan",
                    value=(record.get("analysis_plan") or {}).get("override_frozen") or "none",
                ),
            ]
        )
    ref, trt = design.get("reference_arm", ""), design.get("treatment_arm", "")
    pre, post = design.get("pre", "pre"), design.get("post", "post")
    plan = config.get("analysis_plan") or {}
    covariates = ", ".join([*plan.get("strata", []), *plan.get("covariates", [])]) or "none (the baseline value only)"
    stats = config.get("statistics", {}) or {}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # no scripts, no external requests: the page is inert whatever a name contains
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        'img-src data:">',
        "<title>tme methods and provenance</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>Methods and provenance</h1>",
        f"<p>Generated by tme from this run (workflow revision <code>{escape(revision)}</code>).</p>",
        *(["<h2>Run</h2>", html_table(run_rows)] if not run_rows.empty else []),
        "<h2>Design and estimand</h2>",
        *(
            [
                "<p><b>Blinded run</b>: the sample sheet's arm column was not read; every output is pooled over "
                "arms (QC, scores, pooled pre → post changes). The design below applies once unblinded.</p>"
            ]
            if config.get("blinded")
            else []
        ),
        f"<p>Two arms: reference <b>{escape(ref)}</b>, treatment <b>{escape(trt)}</b>; paired samples at "
        f"<b>{escape(pre)}</b> (core biopsy) and <b>{escape(post)}</b> (surgical specimen). The estimand is the "
        f"difference between arms in the within-patient change {escape(post)} − {escape(pre)} "
        f"({escape(trt)} − {escape(ref)}), on the analysis scale (signature scores as computed; densities log1p). "
        "Within-arm changes are descriptive: the reference arm carries the biopsy-to-resection drift. "
        f"Baseline covariates and stratification factors: {escape(covariates)}.</p>",
        "<h2>Statistical analyses</h2>",
        "<p>Primary: ANCOVA <code>post ~ pre + arm (+ covariates)</code>; sensitivity analyses as listed. "
        f"Confidence level {escape(stats.get('confidence_level', 0.95))}; bootstrap resamples "
        f"{escape(stats.get('n_bootstrap', ''))}; GSEA permutations {escape(stats.get('gsea_permutations', ''))}. "
        "Multiplicity: the analysis plan's procedure for each role (primary, key secondary, exploratory endpoints), "
        "Benjamini–Hochberg for every other family, within family × analysis (table below).</p>",
        html_table(models_used(effects, within), ["analysis", "method", "model", "covariates", "description"]),
        "<h2>Multiplicity families</h2>",
        html_table(
            fdr_families(effects, within),
            ["table", "family", "multiplicity", "analysis", "features", "tested", "adjusted_p_below_0_05"],
        ),
        "<h2>Seeds</h2>",
        f"<p>Every random step (bootstrap, permutations, control-gene sampling) derives from seed "
        f"<code>{escape(config.get('seed', ''))}</code>.</p>",
        "<h2>Sample flow</h2>",
        html_table(flow_summary(flow)),
        "<h2>Input files</h2>",
        html_table(inputs),
        "<h2>Signatures and scoring methods</h2>",
        f"<p>Collections: {escape((config.get('scoring') or {}).get('collections', ''))}; methods: "
        f"{escape((config.get('scoring') or {}).get('methods', ''))}.</p>",
        html_table(
            signatures_used(scores, coverage, provenance),
            ["signature", "method", "n_genes_used", "n_genes_in_signature", "collection", "citation"],
        ),
        "<h2>Software</h2>",
        html_table(versions if versions is not None else software_versions()),
        "<h2>Configuration (validated, defaults filled in)</h2>",
        f"<pre>{escape(yaml.safe_dump(_plain(config), sort_keys=True, allow_unicode=True))}</pre>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _plain(value: Any) -> Any:
    """Config as plain YAML-dumpable types (Snakemake's Namedlist/config objects → dict/list/str)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
