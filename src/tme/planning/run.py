"""Planning from a run: its values in, every planning output computed, then written.

What rule ``planning`` (``workflow/rules/planning.smk``) and ``tme power`` do, in one place. An
unblinded run (:meth:`tme.planning.settings.PlanningSettings.plan`) writes, under the results
directory:

``tables/planning.tsv``
    one row per primary endpoint (columns: :mod:`tme.planning.table`);
``tables/planning_power_grid.tsv``
    the power curves (:func:`tme.planning.power_grid`);
``tables/planning_assumptions.md``
    the assumptions as a paragraph per endpoint a protocol can cite (:func:`tme.planning.assumptions_text`);
``tables/planning_internal_pilot.tsv``
    operating characteristics of a blinded re-estimation in the next trial's internal pilot
    (:func:`tme.planning.internal_pilot_table`);
``figures/planning/power_curves.{png,pdf,svg}``
    the power curves (:func:`tme.plots.planning.plot_power_curves`; rule ``plot_planning``).

A blinded run writes only ``tables/planning_blinded.tsv`` (:func:`tme.planning.blinded_reestimation_table`
on the pooled values, whose arm column — the pooled group — is dropped before the call).
Nothing is written before every output has been computed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from tme.config import POOLED, Design
from tme.errors import TmeInputError
from tme.io import write_tsv
from tme.planning.settings import PlanningSettings
from tme.run_features import assemble_features, feature_tables, require_tables

#: Outputs of an unblinded run, relative to the results directory.
OUTPUTS = {
    "table": "tables/planning.tsv",
    "grid": "tables/planning_power_grid.tsv",
    "assumptions": "tables/planning_assumptions.md",
    "pilot": "tables/planning_internal_pilot.tsv",
}
#: Output of a blinded run.
BLINDED_OUTPUTS = {"blinded": "tables/planning_blinded.tsv"}
#: The power-curve figure (unblinded), without its extension (.png, .pdf, .svg).
FIGURE = "figures/planning/power_curves"
#: Columns a values table given to ``tme power --values`` needs (and ``arm`` unless blinded).
VALUE_COLUMNS = ("patient_id", "timepoint", "feature", "value")


def planning_outputs(blinded: bool, results: str | os.PathLike = "results") -> dict[str, str]:
    """Output name → path under ``results`` (:data:`OUTPUTS`, or :data:`BLINDED_OUTPUTS` when blinded)."""
    return {name: f"{results}/{path}" for name, path in (BLINDED_OUTPUTS if blinded else OUTPUTS).items()}


def run_values(config: Mapping[str, Any], results: str | os.PathLike, samples: pd.DataFrame) -> pd.DataFrame:
    """The long values table of a finished run under ``results`` (:mod:`tme.run_features`)."""
    tables = feature_tables(config, results)
    require_tables(tables)
    return assemble_features(config, tables, samples)[0]


def read_values(path: str | os.PathLike, design: Design) -> pd.DataFrame:
    """A long values table (TSV) for ``tme power --values``: ``patient_id, arm, timepoint, feature, value``
    on the analysis scale, without ``arm`` (or with the pooled group only) when blinded."""
    values = pd.read_csv(path, sep="\t", dtype={"patient_id": str, "arm": str, "timepoint": str, "feature": str})
    needed = [*VALUE_COLUMNS[:1], *([] if design.blinded else ["arm"]), *VALUE_COLUMNS[1:]]
    absent = [c for c in needed if c not in values.columns]
    if absent:
        raise TmeInputError(
            f"the values table lacks column(s) {', '.join(absent)}",
            file=path,
            line=1,
            column=absent[0],
            fix=f"give the columns {', '.join(needed)} (tme's long format, values on the analysis scale)",
        )
    return values


def compute_planning(settings: PlanningSettings, values: pd.DataFrame, design: Design) -> dict[str, Any]:
    """Every output (module docstring) as tables and text, keyed like :data:`OUTPUTS`; nothing written."""
    if design.blinded:
        pooled = values.drop(columns="arm") if "arm" in values and (values["arm"] == POOLED).all() else values
        return {"blinded": settings.reestimate(pooled, design)}  # refuses an arm column with real labels
    planning = settings.plan(values, design)
    return {
        "table": planning.table,
        "grid": planning.grid,
        "assumptions": planning.assumptions,
        "pilot": settings.internal_pilot(planning.table),
    }


def write_outputs(computed: Mapping[str, Any], paths: Mapping[str, str | os.PathLike]) -> list[Path]:
    """Write what :func:`compute_planning` returned to ``paths`` (same keys), atomically."""
    from tme.planning.plan import Planning, write_planning  # scipy: not when the workflow is planned

    if "blinded" in computed:
        write_tsv(computed["blinded"], paths["blinded"])
        return [Path(paths["blinded"])]
    planning = Planning(computed["table"], computed["grid"], computed["assumptions"])
    written = write_planning(planning, paths["table"], paths["grid"], paths["assumptions"])
    write_tsv(computed["pilot"], paths["pilot"])
    return [*written, Path(paths["pilot"])]
