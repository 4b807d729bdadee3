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

from tme.lazy import lazy_exports

# Exports load on first use (tme.lazy): rules that only check the config (tme.planning.settings via
# tme.inputs) do not pay for scipy's optimisers and distributions.
_EXPORTS = {
    "ancova_power": "analytic",
    "ancova_sample_size": "analytic",
    "inflate_for_missing": "analytic",
    "minimum_detectable_effect": "analytic",
    "MULTIPLICITY": "family",
    "adjust_p": "family",
    "per_endpoint_alpha": "family",
    "PARAMETERS": "nuisance",
    "estimate_nuisance": "nuisance",
    "PILOT_COLUMNS": "pilot",
    "PilotResult": "pilot",
    "internal_pilot": "pilot",
    "internal_pilot_table": "pilot",
    "Planning": "plan",
    "default_n_grid": "plan",
    "plan_next_trial": "plan",
    "write_planning": "plan",
    "REESTIMATE_COLUMNS": "reestimation",
    "Reestimate": "reestimation",
    "adjusted_variance": "reestimation",
    "blinded_reestimate": "reestimation",
    "blinded_reestimation_table": "reestimation",
    "lumped_variance": "reestimation",
    "GRID_COLUMNS": "simulation",
    "power_grid": "simulation",
    "simulated_power": "simulation",
    "TABLE_COLUMNS": "table",
    "planning_table": "table",
    "SCALES": "targets",
    "Target": "targets",
    "resolve_targets": "targets",
    "assumptions_text": "text",
    "AncovaFits": "trials",
    "TrialModel": "trials",
    "Trials": "trials",
    "ancova_analysis": "trials",
    "ancova_many": "trials",
    "simulate_trials": "trials",
}

__all__ = sorted(_EXPORTS)


lazy_exports(__name__, _EXPORTS)
