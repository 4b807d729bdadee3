"""The statistical analysis plan (SAP) as configuration: endpoints, roles, multiplicity, covariates.

In a trial the analysis plan is written, and frozen, before unblinding; the analysis then follows it.
The config's ``analysis_plan`` section *is* that plan (schema: ``config.schema.yaml``; README
"Analysis plan"):

* ``endpoints`` — named endpoints in plan order, each a feature tme produces
  (``<signature>|<method>``, an immune measure, ``gene|<symbol>``, a single-cell feature, a cell metric
  of :mod:`tme.cells`) with a role
  ``primary``, ``key_secondary`` or ``exploratory``, a display name and a unit. Each role is one
  multiplicity family; every feature outside the plan stays in its exploratory family by type
  (``exploratory_signatures``, ``immune_measures``, ``cells_<metric>``, ``single_cell``), adjusted by
  Benjamini–Hochberg.
* ``multiplicity`` per role (:data:`tme.stats.multiplicity.METHODS`), ``hierarchy`` = the testing
  order of a hierarchical role (default: plan order).
* ``strata`` (randomisation stratification factors, always adjusted for) and ``covariates``:
  baseline only — a sample-sheet column's value at the pre-window sample, or a patients-sheet
  column (:mod:`tme.plan.baseline`); ``post_covariates`` enter one named sensitivity analysis only.
* ``per_protocol`` — the per-protocol population (the primary analysis is repeated in it).
* ``analyses`` — the primary analysis and the sensitivity analyses
  (:data:`tme.stats.analyses.BETWEEN_ARM`).
* ``frozen_plan`` / ``override_frozen`` — :mod:`tme.plan.freeze`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from tme.errors import TmeInputError
from tme.immune import RANK_BASED_ANALYSIS

ROLES = ("primary", "key_secondary", "exploratory")
#: Families of features outside the plan, in table order (adjusted by Benjamini–Hochberg).
OTHER_FAMILIES = (
    "exploratory_signatures",
    "immune_measures",
    *(f"cells_{m}" for m in ("density", "ratio", "proportion", "nn_distance_median", "fraction_within_r", "ripley_L")),
    "single_cell",
    "genes",
)
#: Sample-sheet columns a covariate may name (the rest of a model's covariates come from the patients sheet).
SHEET_COVARIATES = ("sample_type", "days_from_baseline", "subtype", "batch", "tumour_cellularity")


@dataclass(frozen=True)
class Endpoint:
    """One pre-specified endpoint: ``name``, the ``feature`` it is, its ``role``, display name and unit, and
    its own between-arm ``analysis`` ('' = the plan's default for its feature, :meth:`AnalysisPlan.feature_table`)."""

    name: str
    feature: str
    role: str
    display: str = ""
    unit: str = ""
    analysis: str = ""

    @property
    def label(self) -> str:
        """The name tables and figures show."""
        return self.display or self.feature


def _key(name: str) -> str:
    return f"config key 'analysis_plan.{name}'"


@dataclass(frozen=True)
class AnalysisPlan:
    """The validated ``analysis_plan`` section (see the module docstring)."""

    endpoints: tuple[Endpoint, ...] = ()
    multiplicity: Mapping[str, str] | None = None
    hierarchy: tuple[str, ...] = ()
    covariates: tuple[str, ...] = ()
    strata: tuple[str, ...] = ()
    post_covariates: tuple[str, ...] = ()
    patients: Mapping[str, Any] | None = None
    per_protocol: Mapping[str, Any] | None = None
    primary_analysis: str = "ancova"
    sensitivity: tuple[str, ...] = ()
    title: str = ""
    estimand: Mapping[str, str] | None = None
    missing_data: Mapping[str, Any] | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any], file: str | None = None) -> AnalysisPlan:
        """The plan of a validated config (defaults filled), with the checks that need no data."""
        section = config.get("analysis_plan") or {}
        analyses = section.get("analyses") or {}
        plan = cls(
            endpoints=tuple(Endpoint(**e) for e in section.get("endpoints", [])),
            multiplicity=dict(section.get("multiplicity") or {}),
            hierarchy=tuple(section.get("hierarchy", [])),
            covariates=tuple(section.get("covariates", [])),
            strata=tuple(section.get("strata", [])),
            post_covariates=tuple(section.get("post_covariates", [])),
            patients=section.get("patients"),
            per_protocol=section.get("per_protocol"),
            primary_analysis=analyses.get("primary", "ancova"),
            sensitivity=tuple(analyses.get("sensitivity", [])),
            title=section.get("title", ""),
            estimand=dict(section.get("estimand") or {}),
            missing_data=dict(section.get("missing_data") or {}),
        )
        plan.check(file)
        return plan

    # ------------------------------------------------------------------ checks without data
    def check(self, file: str | None = None) -> None:
        """Names unique, a primary endpoint when there are endpoints, known hierarchy, covariate sources."""
        names = [e.name for e in self.endpoints]
        for what, values in (("name", names), ("feature", [e.feature for e in self.endpoints])):
            twice = sorted({v for v in values if values.count(v) > 1})
            if twice:
                raise TmeInputError(
                    f"{_key('endpoints')}: two endpoints have the {what} {twice[0]!r}",
                    file=file,
                    fix=f"give every endpoint its own {what}",
                )
        if self.endpoints and not self.role_endpoints("primary"):
            raise TmeInputError(
                f"{_key('endpoints')}: no endpoint has the role 'primary'",
                file=file,
                fix="give the plan's primary endpoint(s) role: primary",
            )
        unknown = [n for n in self.hierarchy if n not in names]
        if unknown:
            raise TmeInputError(
                f"{_key('hierarchy')} names {unknown[0]!r}, which is not an endpoint",
                file=file,
                fix=f"use endpoint names: {', '.join(names) or 'none defined'}",
            )
        self._check_covariates(file)
        if "ancova_post_covariates" in self.analyses and not self.post_covariates:
            raise TmeInputError(
                f"{_key('analyses')} names ancova_post_covariates, but post_covariates is empty",
                file=file,
                fix="name the post-window covariates under analysis_plan.post_covariates, or drop the analysis",
            )

    def _check_covariates(self, file: str | None) -> None:
        declared = dict((self.patients or {}).get("columns") or {})
        for key, names in (("strata", self.strata), ("covariates", self.covariates)):
            for name in names:
                if name not in SHEET_COVARIATES and name not in declared:
                    raise TmeInputError(
                        f"{_key(key)} names {name!r}, which is neither a sample-sheet column "
                        f"({', '.join(SHEET_COVARIATES)}) nor a declared patients-sheet column",
                        file=file,
                        fix="declare it under analysis_plan.patients.columns (with its type) or correct the name",
                    )
        both = sorted(set(self.strata) & set(self.covariates))
        if both:
            raise TmeInputError(
                f"{_key('covariates')}: {both[0]!r} is also a stratification factor",
                file=file,
                fix="list it once, under strata (stratification factors are always adjusted for)",
            )
        not_sheet = [c for c in self.post_covariates if c not in SHEET_COVARIATES]
        if not_sheet:
            raise TmeInputError(
                f"{_key('post_covariates')} names {not_sheet[0]!r}, not a sample-sheet column",
                file=file,
                fix=f"use one of {', '.join(SHEET_COVARIATES)}",
            )
        pp = self.per_protocol
        if pp and declared.get(pp["column"]) is None:
            raise TmeInputError(
                f"{_key('per_protocol.column')} names {pp['column']!r}, not a declared patients-sheet column",
                file=file,
                fix="declare it under analysis_plan.patients.columns",
            )
        if pp and ("min" in pp) == ("equals" in pp):
            raise TmeInputError(
                f"{_key('per_protocol')}: give exactly one of min (a number) or equals (a category)",
                file=file,
                fix="e.g. per_protocol: {column: doses_received, min: 12}",
            )

    # ------------------------------------------------------------------ what the statistics use
    def role_endpoints(self, role: str) -> list[Endpoint]:
        """The role's endpoints in testing order (``hierarchy`` first for a hierarchical role)."""
        endpoints = [e for e in self.endpoints if e.role == role]
        if self.method(role) == "hierarchical" and self.hierarchy:
            rank = {n: i for i, n in enumerate(self.hierarchy)}
            endpoints.sort(key=lambda e: rank.get(e.name, len(rank)))
        return endpoints

    def method(self, family: str) -> str:
        """The multiplicity procedure of a family (a role's from the plan; ``bh`` otherwise)."""
        return (self.multiplicity or {}).get(family, "bh")

    def multiplicity_map(self) -> dict[str, str]:
        return {role: self.method(role) for role in ROLES}

    @property
    def adjust_for(self) -> list[str]:
        """Stratification factors, then covariates: every adjusted model's terms."""
        return [*self.strata, *self.covariates]

    @property
    def confirmatory(self) -> list[Endpoint]:
        """Primary then key-secondary endpoints, in testing order."""
        return [*self.role_endpoints("primary"), *self.role_endpoints("key_secondary")]

    @property
    def analyses(self) -> list[str]:
        """The primary analysis, then the sensitivity analyses."""
        return list(dict.fromkeys([self.primary_analysis, *self.sensitivity]))

    def feature_table(self, info: pd.DataFrame) -> pd.DataFrame:
        """``info`` (``feature, feature_type, family``; optionally ``rank_based``) with each endpoint's role as
        its family and the endpoint columns, in table order: the plan's endpoints by role (testing order), then
        the rest; and each feature's ``primary_analysis``: the endpoint's own ``analysis``, else
        ``mann_whitney_change`` for an ordinal or bounded score (``rank_based``, :mod:`tme.immune`), else
        ``analyses.primary``."""
        info = info.drop_duplicates("feature").set_index("feature")
        missing = [e for e in self.endpoints if e.feature not in info.index]
        if missing:
            near = difflib.get_close_matches(missing[0].feature, list(info.index), n=3, cutoff=0.5)
            raise TmeInputError(
                f"{_key('endpoints')}: endpoint {missing[0].name!r} names feature {missing[0].feature!r}, which this "
                f"run does not produce" + (f" (nearest: {', '.join(map(repr, near))})" if near else ""),
                fix="use a feature as tme names it: '<signature>|<method>', an immune measure, 'gene|<symbol>', "
                "a single-cell feature or a cell metric (see results/tables/*.tsv and "
                "results/immune/cell_metrics.tsv of a run)",
            )
        rows = []
        for role in ROLES:
            for e in self.role_endpoints(role):
                rows.append(
                    {
                        **info.loc[e.feature].to_dict(),  # feature_type, transform …
                        "feature": e.feature,
                        "family": role,
                        "endpoint": e.name,
                        "display_name": e.label,
                        "role": role,
                        "unit": e.unit,
                    }
                )
        planned = {e.feature for e in self.endpoints}
        rest = info[~info.index.isin(planned)].reset_index()
        rest["_order"] = rest["family"].map({f: i for i, f in enumerate(OTHER_FAMILIES)}).fillna(len(OTHER_FAMILIES))
        rest = rest.sort_values("_order", kind="stable").drop(columns="_order")
        table = pd.concat([pd.DataFrame(rows), rest], ignore_index=True).fillna(
            {"endpoint": "", "display_name": "", "role": "", "unit": ""}
        )
        rank = table["rank_based"].eq(True) if "rank_based" in table else [False] * len(table)
        own = {e.feature: e.analysis for e in self.endpoints if e.analysis}
        table["primary_analysis"] = [
            own.get(f) or (RANK_BASED_ANALYSIS if r else self.primary_analysis) for f, r in zip(table["feature"], rank)
        ]
        return table


def gene_endpoints(plan: AnalysisPlan) -> list[str]:
    """Gene symbols the plan's ``gene|<symbol>`` endpoints name (their log2 expression is a feature)."""
    return [e.feature.split("|", 1)[1] for e in plan.endpoints if e.feature.startswith("gene|")]
