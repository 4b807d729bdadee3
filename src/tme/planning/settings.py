"""The ``planning:`` section of the config, resolved against the analysis plan and checked before any run.

:meth:`PlanningSettings.from_config` reads the section (schema: ``config.schema.yaml``; README
"Planning the next trial"): the endpoints planned are the analysis plan's **primary** family in
testing order (:meth:`tme.plan.AnalysisPlan.role_endpoints`), ``multiplicity: plan`` is that
family's procedure, ``seed: null`` the run's seed, and the confidence level of the parameter CIs is
``statistics.confidence_level``. Every check that needs no data runs here, when the config is
validated (``tme validate``, Snakemake reading the workflow, ``tme power``), with the message naming
the config key: a target of zero or a fold change of 1, power not above alpha, a target or prior
naming an endpoint outside the primary family, prior values out of range, a single-arm design.
:func:`check_planned_pairs` adds the one check that needs the sample sheet: enough patients with both
samples to estimate each endpoint's pre–post correlation (or a prior value for it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from tme.config import Design
from tme.errors import TmeInputError
from tme.plan import AnalysisPlan
from tme.planning.moments import MIN_PILOT_PAIRS
from tme.planning.targets import Target, nearest
from tme.stats.design import MIN_PAIRS

if TYPE_CHECKING:
    from tme.planning.plan import Planning

# The planning itself (scipy's optimisers and distributions) is imported where it runs: tme.inputs
# checks the planning settings in every rule that reads the config.


@contextlib.contextmanager
def _config_key(file: str | None, key: str | None = None) -> Iterator[None]:
    """Re-raise a library check's error as one about config key ``planning.<key>`` (default: its column)."""
    try:
        yield
    except TmeInputError as error:
        name = f"planning.{key or error.column}"
        raise TmeInputError(f"config key '{name}': {error.problem}", file=file, fix=error.fix) from None


@dataclass(frozen=True)
class PlanningSettings:
    """The resolved ``planning:`` section (module docstring); keys as in the config schema."""

    endpoints: Mapping[str, str]
    targets: Mapping[str, Target]
    alpha: float
    power: float
    multiplicity: str
    n_per_arm: int | None
    n_grid: tuple[int, ...] | None
    effect_multipliers: tuple[float, ...]
    n_trials: int
    n_bootstrap: int
    seed: int
    conf_level: float
    n_covariates: int
    missing_slope: float
    priors: Mapping[str, Mapping[str, float]]
    estimator: str
    adjust_for_effect: bool
    pilot_fraction: float
    n_max: int | None

    @classmethod
    def from_config(cls, config: Mapping[str, Any], file: str | None = None) -> PlanningSettings | None:
        """The settings of a validated config (defaults filled), or None without a ``planning`` section."""
        section = config.get("planning")
        if not section:
            return None
        if Design.from_config(config).single_arm:
            raise TmeInputError(
                "config key 'planning': planning the next trial needs two arms, but design.reference_arm is null",
                file=file,
                fix="remove the planning section for a single-arm study",
            )
        plan = AnalysisPlan.from_config(config, file)
        endpoints = {e.name: e.feature for e in plan.role_endpoints("primary")}
        if not endpoints:
            raise TmeInputError(
                "config key 'planning': the analysis plan has no primary endpoint to plan for",
                file=file,
                fix="name the primary endpoints under analysis_plan.endpoints (role: primary), or remove planning",
            )
        targets = _targets(section["targets"], endpoints, plan, file)
        from tme.planning.analytic import check_levels
        from tme.planning.nuisance import check_priors

        with _config_key(file):
            check_levels(section["alpha"], section["power"])
            check_priors(section["priors"], list(endpoints))
        pilot = section["blinded_reestimation"]
        return cls(
            endpoints=endpoints,
            targets=targets,
            alpha=section["alpha"],
            power=section["power"],
            multiplicity=plan.method("primary") if section["multiplicity"] == "plan" else section["multiplicity"],
            n_per_arm=section["n_per_arm"],
            n_grid=None if section["n_grid"] is None else tuple(section["n_grid"]),
            effect_multipliers=tuple(section["effect_multipliers"]),
            n_trials=section["n_trials"],
            n_bootstrap=section["n_bootstrap"],
            seed=config["seed"] if section["seed"] is None else section["seed"],
            conf_level=config["statistics"]["confidence_level"],
            n_covariates=section["n_covariates"],
            missing_slope=section["missing_slope"],
            priors={k: dict(v) for k, v in section["priors"].items()},
            estimator=pilot["estimator"],
            adjust_for_effect=pilot["adjust_for_effect"],
            pilot_fraction=pilot["pilot_fraction"],
            n_max=pilot["n_max"],
        )

    def plan(self, values: pd.DataFrame, design: Design) -> Planning:
        """:func:`tme.planning.plan_next_trial` with these settings (unblinded ``values``)."""
        from tme.planning.plan import plan_next_trial

        return plan_next_trial(
            values,
            design,
            self.endpoints,
            self.targets,
            alpha=self.alpha,
            power=self.power,
            multiplicity=self.multiplicity,
            n_per_arm=self.n_per_arm,
            n_grid=self.n_grid,
            effect_multipliers=self.effect_multipliers,
            n_trials=self.n_trials,
            n_bootstrap=self.n_bootstrap,
            seed=self.seed,
            conf_level=self.conf_level,
            priors=self.priors,
            missing_slope=self.missing_slope,
            n_covariates=self.n_covariates,
        )

    def internal_pilot(self, table: pd.DataFrame) -> pd.DataFrame:
        """:func:`tme.planning.internal_pilot_table` of a planning table with these settings."""
        from tme.planning.pilot import internal_pilot_table

        return internal_pilot_table(
            table,
            pilot_fraction=self.pilot_fraction,
            n_trials=self.n_trials,
            seed=self.seed,
            estimator=self.estimator,
            adjust=self.adjust_for_effect,
        )

    def reestimate(self, pooled: pd.DataFrame, design: Design) -> pd.DataFrame:
        """:func:`tme.planning.blinded_reestimation_table` of pooled values without an arm column."""
        from tme.planning.reestimation import blinded_reestimation_table

        return blinded_reestimation_table(
            pooled,
            design,
            self.endpoints,
            self.targets,
            alpha=self.alpha,
            power=self.power,
            multiplicity=self.multiplicity,
            estimator=self.estimator,
            adjust=self.adjust_for_effect,
            n_max=self.n_max,
        )


def _targets(
    given: Mapping[str, Mapping], endpoints: Mapping[str, str], plan: AnalysisPlan, file: str | None
) -> dict[str, Target]:
    """A :class:`Target` per primary endpoint, in plan order; targets outside the primary family refused."""
    for name in given:
        if name not in endpoints:
            role = next((e.role for e in plan.endpoints if e.name == name), None)
            problem = (
                f"endpoint {name!r} is a {role} endpoint; the next trial is planned for the primary family"
                if role
                else f"names endpoint {name!r}, which is not in the analysis plan" + nearest(name, list(endpoints))
            )
            raise TmeInputError(
                f"config key 'planning.targets': {problem}",
                file=file,
                fix=f"give targets for the primary endpoints: {', '.join(endpoints)}",
            )
    missing = [name for name in endpoints if name not in given]
    if missing:
        raise TmeInputError(
            f"config key 'planning.targets': no target effect for primary endpoint(s) {', '.join(missing)}",
            file=file,
            fix="give each primary endpoint the smallest effect worth detecting (effect, scale)",
        )
    targets = {}
    for name in endpoints:
        with _config_key(file, f"targets.{name}"):
            targets[name] = Target(name, given[name]["effect"], given[name].get("scale", "difference"))
    return targets


def check_planned_pairs(config: Mapping[str, Any], samples: pd.DataFrame) -> None:
    """Enough patients with both samples usable in the sample sheet for each planned endpoint.

    Unblinded: at least ``MIN_PAIRS`` per arm for the pre–post correlation, unless ``planning.priors``
    gives it; blinded: ``MIN_PILOT_PAIRS`` pooled for the blinded variance
    (:func:`tme.planning.blinded_reestimate`). Runs on the validated sheet before any data file is
    read (``tme validate``, Snakemake reading the workflow); an endpoint whose own values have fewer
    pairs (a failed library, a missing measure) is refused by the planning itself.
    """
    settings = PlanningSettings.from_config(config)
    if settings is None:
        return
    design = Design.from_config(config)
    usable = samples[samples["exclude_reason"] == ""]
    both = usable.groupby(["arm", "patient_id"])["timepoint"].nunique() == 2
    pairs = both.groupby(level="arm").sum()
    first, feature = next(iter(settings.endpoints.items()))
    where = f"config key 'planning': endpoint {first!r} ({feature})"
    if design.blinded:
        if pairs.sum() < MIN_PILOT_PAIRS:
            raise TmeInputError(
                f"{where}: the sample sheet has {pairs.sum()} patients with both samples; the blinded variance "
                f"of the re-estimation needs at least {MIN_PILOT_PAIRS}",
                file=samples.attrs.get("path"),
                fix="re-estimate later in the trial, when more pairs are complete, or remove planning",
            )
        return
    n_ref, n_trt = (int(pairs.get(arm, 0)) for arm in (design.reference_arm, design.treatment_arm))
    for endpoint, feature in settings.endpoints.items():
        if "rho" not in settings.priors.get(endpoint, {}) and min(n_ref, n_trt) < MIN_PAIRS:
            raise TmeInputError(
                f"config key 'planning': endpoint {endpoint!r} ({feature}): the sample sheet has {n_ref} (reference "
                f"arm) and {n_trt} (treatment arm) patients with both samples, too few to estimate the pre-post "
                f"correlation (at least {MIN_PAIRS} per arm, as for the paired statistics: from fewer the estimate "
                "can reach -1 or 1, making the residual SD 0, or is undefined)",
                file=samples.attrs.get("path"),
                fix=f"give a correlation from earlier studies, e.g. planning.priors: {{{endpoint}: {{rho: 0.5}}}}",
            )
