# Planning the next trial (README "Planning the next trial"; tme.planning), when the config has a
# planning section: from the paired statistics' inputs (feature tables), per primary endpoint of
# the analysis plan. Unblinded: nuisance parameters, sizes, detectable effects, power curves, the
# citable assumptions and the internal pilot's operating characteristics; blinded: the blinded
# sample-size re-estimation from pooled data only.
from tme.planning.settings import PlanningSettings

# Resolved settings (the plan's multiplicity, the run's seed) for the figure's caption; None without planning.
PLANNING = PlanningSettings.from_config(config)
# The keys the planning reads: the sheet, the expression's scale, the plan's primary family, its own section.
PLANNING_KEYS = (
    *SHEET_KEYS,
    "expression.format",
    "expression.scale",
    "analysis_plan.endpoints",
    "analysis_plan.multiplicity",
    "analysis_plan.hierarchy",
    "planning",
    "statistics.confidence_level",
    "seed",
)


rule planning:
    input:
        unpack(statistics_inputs),
        samples=config["samples"],
    output:
        **planning_outputs(blinded=False),
    log:
        "logs/planning/planning.log",
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=lambda wc, attempt: 30 * attempt,
    params:
        config=config_part(*PLANNING_KEYS),
    script:
        "../scripts/planning.py"


rule planning_blinded:
    input:
        unpack(statistics_inputs),
        samples=config["samples"],
    output:
        **planning_outputs(blinded=True),
    log:
        "logs/planning/planning_blinded.log",
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    params:
        config=config_part(*PLANNING_KEYS),
    script:
        "../scripts/planning.py"


rule plot_planning:
    input:
        table=planning_outputs(blinded=False)["table"],
        grid=planning_outputs(blinded=False)["grid"],
    output:
        png=report(
            f"results/{FIGURE}.png",
            caption="../report/planning_power.rst",
            category="Planning the next trial",
            subcategory="Figures",
            labels={"figure": "power curves"},
        ),
        other=multiext(f"results/{FIGURE}", ".pdf", ".svg"),
    log:
        "logs/planning/plot_planning.log",
    localrule: True
    conda:
        "../../envs/tme.yaml"
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    params:
        # numbers and schema names only: the report embeds params unescaped
        alpha=PLANNING.alpha if PLANNING else None,
        power=PLANNING.power if PLANNING else None,
        multiplicity=PLANNING.multiplicity if PLANNING else None,
        n_endpoints=len(PLANNING.endpoints) if PLANNING else None,
        n_trials=PLANNING.n_trials if PLANNING else None,
    script:
        "../scripts/plot_planning.py"
