# tme's workflow lives in workflow/Snakefile (the Snakemake catalog layout). This file runs it from
# the repository root exactly as a deployment does (snakedeploy deploy-workflow): as a module.
from snakemake.utils import min_version
from tme.report.caveats import print_warnings_line

min_version("9.0")


# The bundled example's config, unless --configfile names another: a trial's config then stands
# alone instead of being merged into the example's keys.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


module tme:
    snakefile:
        "workflow/Snakefile"
    config:
        config


use rule * from tme


# A module's onsuccess handler is not run by the workflow that uses it: one console line here.
onsuccess:
    print_warnings_line()
