"""Tables → plotting frames: one long table of per-sample feature values on the analysis scale.

The statistics tables name a signature score feature from its ``signature`` and ``method``
(e.g. ``TME_IL1_INDUCED|singscore``) and an immune feature by its ``measure``. The separator is
not fixed by contract, so :func:`feature_values` finds the one that matches the statistics table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

SEPARATORS = ("|", ":", "/", "__", "_", ".", " ", "-", "@")
VALUE_COLUMNS = [
    "sample_id",
    "patient_id",
    "arm",
    "timepoint",
    "feature",
    "feature_type",
    "value",
    "axis_label",
    "scale",
]


def read_table(path) -> pd.DataFrame:
    """A tme TSV: ``NA`` is missing, every other string kept as written (empty strings stay '')."""
    return pd.read_csv(
        path,
        sep="\t",
        keep_default_na=False,
        na_values=["NA"],
        dtype={
            "sample_id": str,
            "patient_id": str,
            "arm": str,
            "timepoint": str,
            "feature": str,
            "signature": str,
            "method": str,
            "measure": str,
            "gene": str,
            "gene_set": str,
            "family": str,
            "note": str,
            "reason": str,
        },
    )


def _pick_separator(signature: pd.Series, method: pd.Series, known: set[str]) -> str | None:
    if not known:
        return "|"
    best, best_hits = None, 0
    for sep in SEPARATORS:
        hits = (signature + sep + method).isin(known).sum()
        if hits > best_hits:
            best, best_hits = sep, hits
    if best is None and signature.isin(known).any():
        return None  # features are named by the signature alone
    return best or "|"


def feature_values(
    scores: pd.DataFrame | None = None, immune: pd.DataFrame | None = None, known_features: Iterable[str] = ()
) -> pd.DataFrame:
    """Long table ``sample_id, patient_id, arm, timepoint, feature, feature_type, value, axis_label, scale``.

    Signature scores give ``value = score``; immune measures give ``value = analysis_value`` (the
    scale the statistics use, e.g. log1p densities); ``scale`` names that scale (``singscore score``,
    ``log1p(cells/mm²)``) so estimates on different scales are never drawn on one axis.
    ``known_features`` (the statistics table's ``feature`` column) decides how signature and method
    are joined into a feature name.
    """
    known = set(map(str, known_features))
    frames = []
    if scores is not None and not scores.empty:
        s = scores.copy()
        sig, method = s["signature"].astype(str), s["method"].astype(str)
        sep = _pick_separator(sig, method, known)
        s["feature"] = sig if sep is None else sig + sep + method
        s["feature_type"] = "signature"
        s["value"] = pd.to_numeric(s["score"], errors="coerce")
        s["axis_label"] = method.radd("score (").add(")")
        s["scale"] = method.add(" score")
        frames.append(s.reindex(columns=VALUE_COLUMNS))
    if immune is not None and not immune.empty:
        m = immune.copy()
        m["feature"] = m["measure"].astype(str)
        m["feature_type"] = "immune"
        m["value"] = pd.to_numeric(m["analysis_value"], errors="coerce")
        unit = m["unit"].astype(str).str.replace("mm2", "mm²", regex=False)
        transform = m["transform"].fillna("none").astype(str)
        m["axis_label"] = [
            f"{t}({meas}, {u})" if t not in ("none", "", "identity") else f"{meas} ({u})"
            for t, meas, u in zip(transform, m["measure"].astype(str), unit)
        ]
        m["scale"] = [f"{t}({u})" if t not in ("none", "", "identity") else u for t, u in zip(transform, unit)]
        frames.append(m.reindex(columns=VALUE_COLUMNS))
    if not frames:
        return pd.DataFrame(columns=VALUE_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    for column in ("sample_id", "patient_id", "arm", "timepoint", "feature"):
        out[column] = out[column].astype(str)
    return out


def changes(values: pd.DataFrame, pre: str, post: str) -> pd.DataFrame:
    """Within-patient change ``post − pre`` per patient × feature (patients with both values)."""
    if values.empty:
        return pd.DataFrame(columns=["patient_id", "arm", "feature", "pre", "post", "change"])
    wide = values.pivot_table(
        index=["patient_id", "arm", "feature"], columns="timepoint", values="value", aggfunc="mean", observed=True
    )
    if pre not in wide or post not in wide:
        return pd.DataFrame(columns=["patient_id", "arm", "feature", "pre", "post", "change"])
    out = wide[[pre, post]].dropna().rename(columns={pre: "pre", post: "post"}).reset_index()
    out.columns.name = None
    out["change"] = out["post"] - out["pre"]
    return out


def primary_analysis(effects: pd.DataFrame, analysis: str = "ancova") -> pd.DataFrame:
    """Rows of one analysis (default the primary ANCOVA), one per feature."""
    if effects is None or effects.empty:
        return pd.DataFrame(columns=["feature", "family", "estimate", "ci_low", "ci_high", "p_adjusted", "note"])
    sub = effects[effects["analysis"].astype(str) == analysis]
    return sub.drop_duplicates("feature")


def select_primary_features(
    effects: pd.DataFrame | None, values: pd.DataFrame, panel: Sequence[str] = (), immune_measures: Sequence[str] = ()
) -> list[str]:
    """Features that get their own paired plot: the primary family (or panel) plus immune measures.

    Order: features of a family whose name contains ``primary`` (else features starting with a
    primary-panel signature name), then immune measures, each in table order.
    """
    available = list(dict.fromkeys(values["feature"])) if not values.empty else []
    chosen: list[str] = []
    if effects is not None and not effects.empty and "family" in effects:
        fam = effects[effects["family"].astype(str).str.contains("primary", case=False)]
        chosen += [f for f in dict.fromkeys(fam["feature"].astype(str)) if f in available]
    if not chosen and panel:
        chosen += [
            f
            for f in available
            if any(f == p or f.startswith(p) and not f[len(p) : len(p) + 1].isalnum() for p in panel)
        ]
    immune = set(values.loc[values["feature_type"] == "immune", "feature"]) if not values.empty else set()
    chosen += [f for f in available if f in immune and (not immune_measures or f in immune_measures)]
    return list(dict.fromkeys(chosen))


def file_stems(names: Iterable[str], max_len: int = 48) -> dict[str, str]:
    """Name → file-name-safe stem (letters, digits, ``._-``), unique; a short hash is added only when
    two names would collide or a name is cut short. ``TME_IL1_INDUCED|singscore`` →
    ``TME_IL1_INDUCED_singscore``."""
    import hashlib
    import re

    names = list(dict.fromkeys(map(str, names)))
    base = {}
    for name in names:
        b = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._-") or "feature"
        base[name] = b
    counts = pd.Series(list(base.values())).str.lower().value_counts()
    out = {}
    for name, b in base.items():
        if counts[b.lower()] > 1 or len(b) > max_len:
            b = f"{b[:max_len]}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"
        out[name] = b
    return out


def display_names(stats: pd.DataFrame | None) -> dict[str, str]:
    """Feature → the name figures show: the plan's ``display_name`` where the statistics table has
    one (features outside the plan keep their feature name)."""
    if stats is None or stats.empty or "display_name" not in stats:
        return {}
    rows = stats.drop_duplicates("feature")
    names = rows["display_name"].fillna("").astype(str)
    return {str(f): n for f, n in zip(rows["feature"], names) if n.strip()}


def feature_scales(values: pd.DataFrame) -> dict[str, str]:
    """Feature → the name of its analysis scale (from :func:`feature_values`)."""
    if values.empty:
        return {}
    return values.drop_duplicates("feature").set_index("feature")["scale"].astype(str).to_dict()


def timepoint_counts(values: pd.DataFrame, arm: str, pre: str, post: str) -> tuple[int, int, int]:
    """Patients of ``arm`` with a value at ``pre``, at ``post``, and at both (the pairs)."""
    sub = values[(values["arm"] == arm) & values["value"].notna()]
    at = {tp: set(sub.loc[sub["timepoint"] == tp, "patient_id"]) for tp in (pre, post)}
    return len(at[pre]), len(at[post]), len(at[pre] & at[post])
