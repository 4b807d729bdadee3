"""Planning the next window trial from this one: power, detectable effects, blinded re-estimation.

A finished trial holds what the next protocol needs per endpoint: the SD of the biomarker, its
pre–post correlation, the core-to-resection drift and the share of missing post samples. This
package estimates them (with patient-level bootstrap CIs), turns them into sample sizes and
minimum detectable effects for the primary ANCOVA under the plan's multiplicity, checks the
numbers by simulating the plan's actual primary analysis, and re-estimates the sample size from
blinded interim data.

Public API
----------
:func:`plan_next_trial` / :func:`write_planning` (the whole chain, :mod:`tme.planning.plan`);
:func:`estimate_nuisance` (:mod:`~tme.planning.nuisance`); :func:`ancova_power`,
:func:`ancova_sample_size`, :func:`minimum_detectable_effect`, :func:`inflate_for_missing`
(:mod:`~tme.planning.analytic`); :class:`Target`, :func:`resolve_targets`
(:mod:`~tme.planning.targets`); :func:`adjust_p`, :func:`per_endpoint_alpha`
(:mod:`~tme.planning.family`); :class:`TrialModel`, :class:`Trials`, :func:`simulate_trials`,
:func:`ancova_many`, :func:`ancova_analysis` (:mod:`~tme.planning.trials`);
:func:`simulated_power`, :func:`power_grid` (:mod:`~tme.planning.simulation`);
:func:`planning_table` (:mod:`~tme.planning.table`, columns documented there);
:func:`assumptions_text` (:mod:`~tme.planning.text`); :func:`blinded_reestimation_table`,
:func:`blinded_reestimate`, :func:`lumped_variance`, :func:`adjusted_variance`
(:mod:`~tme.planning.reestimation`); :func:`internal_pilot`, :func:`internal_pilot_table` (operating
characteristics of an internal pilot with blinded re-estimation, by simulation,
:mod:`~tme.planning.pilot`).
The power-curve figure is :func:`tme.plots.planning.plot_power_curves`.
"""

from tme.planning.analytic import ancova_power, ancova_sample_size, inflate_for_missing, minimum_detectable_effect
from tme.planning.family import MULTIPLICITY, adjust_p, per_endpoint_alpha
from tme.planning.nuisance import PARAMETERS, estimate_nuisance
from tme.planning.pilot import PILOT_COLUMNS, PilotResult, internal_pilot, internal_pilot_table
from tme.planning.plan import Planning, default_n_grid, plan_next_trial, write_planning
from tme.planning.reestimation import (
    REESTIMATE_COLUMNS,
    Reestimate,
    adjusted_variance,
    blinded_reestimate,
    blinded_reestimation_table,
    lumped_variance,
)
from tme.planning.simulation import GRID_COLUMNS, power_grid, simulated_power
from tme.planning.table import TABLE_COLUMNS, planning_table
from tme.planning.targets import SCALES, Target, resolve_targets
from tme.planning.text import assumptions_text
from tme.planning.trials import AncovaFits, TrialModel, Trials, ancova_analysis, ancova_many, simulate_trials

__all__ = [
    "GRID_COLUMNS",
    "MULTIPLICITY",
    "PARAMETERS",
    "PILOT_COLUMNS",
    "PilotResult",
    "REESTIMATE_COLUMNS",
    "SCALES",
    "TABLE_COLUMNS",
    "AncovaFits",
    "Planning",
    "Reestimate",
    "Target",
    "TrialModel",
    "Trials",
    "adjust_p",
    "adjusted_variance",
    "ancova_analysis",
    "ancova_many",
    "ancova_power",
    "ancova_sample_size",
    "assumptions_text",
    "blinded_reestimate",
    "blinded_reestimation_table",
    "default_n_grid",
    "estimate_nuisance",
    "inflate_for_missing",
    "internal_pilot",
    "internal_pilot_table",
    "lumped_variance",
    "minimum_detectable_effect",
    "per_endpoint_alpha",
    "plan_next_trial",
    "planning_table",
    "power_grid",
    "resolve_targets",
    "simulate_trials",
    "simulated_power",
    "write_planning",
]
