"""Planning the next trial from this run's features (tme.planning.run): unblinded, the sample sizes,
detectable effects, power curves, assumptions and internal-pilot table; blinded, the blinded re-estimation."""

from tme.config import Design
from tme.inputs import read_sheet
from tme.planning.run import compute_planning, write_outputs
from tme.planning.settings import PlanningSettings
from tme.run_features import assemble_features
from tme.workflow import run


def main(snakemake):
    config = snakemake.params.config
    values, _ = assemble_features(config, dict(snakemake.input.items()), read_sheet(config))
    computed = compute_planning(PlanningSettings.from_config(config), values, Design.from_config(config))
    write_outputs(computed, dict(snakemake.output.items()))


run(snakemake, main)
