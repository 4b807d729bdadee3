# tme: paired tumour-microenvironment analysis of window-of-opportunity trials.
# Thin on purpose: configuration and validation live in workflow/rules/common.smk, each analysis
# stage in its own workflow/rules/<stage>.smk, all logic in the tme library (src/tme).
from snakemake.utils import min_version

min_version("9.0")


# The bundled example's config, unless --configfile names another: a trial's config then stands
# alone instead of being merged into the example's keys.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/scoring.smk"
include: "workflow/rules/singlecell.smk"
include: "workflow/rules/statistics.smk"
include: "workflow/rules/genes.smk"
include: "workflow/rules/provenance.smk"
include: "workflow/rules/report.smk"  # last: it reads the other rules


rule all:
    input:
        all_targets(),
    default_target: True
