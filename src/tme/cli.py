"""The ``tme`` command line: simulate the example cohort, validate inputs before a run, plan the next trial.

The analysis itself runs through Snakemake (``snakemake --cores N``, see the README); ``tme``
covers what a user does around it.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from tme import __version__
from tme.errors import TmeInputError, TmeInputWarning


def _simulate(args: argparse.Namespace) -> int:
    kinds = [flag for flag in ("single_cell", "nanostring", "cells") if getattr(args, flag)]
    if len(kinds) > 1:
        raise TmeInputError(
            f"{' and '.join('--' + k.replace('_', '-') for k in kinds)} each write a cohort",
            fix="choose one of them (or run tme simulate once per output directory)",
        )
    if args.nanostring:
        from tme.nanostring.simulate import write_rcc_cohort

        if args.patients is not None and (args.patients < 4 or args.patients % 4):
            raise TmeInputError(
                f"--patients {args.patients}", fix="give a positive multiple of 4 (permuted blocks of 4)"
            )
        paths = write_rcc_cohort(args.out, seed=args.seed, n_patients=args.patients or 44, n_genes=args.genes or 750)
    elif args.cells:
        from tme.cells import write_cell_cohort

        paths = write_cell_cohort(args.out, seed=args.seed, n_patients=args.patients or 44)
    elif args.single_cell:
        from tme.singlecell import write_singlecell_example

        paths = write_singlecell_example(
            args.out,
            seed=args.seed,
            n_patients=args.patients or 12,
            cells_per_sample=args.cells_per_sample,
            n_genes=args.genes or 2000,
        )
    else:
        from tme.simulate import write_cohort

        paths = write_cohort(args.out, seed=args.seed, n_patients=args.patients or 44, n_genes=args.genes or 15000)
    for path in paths:
        print(path)
    return 0


def _validate(args: argparse.Namespace) -> int:
    from tme.config import load_config
    from tme.inputs import check_inputs
    from tme.plan.freeze import check_frozen

    config = load_config(args.config)
    check_frozen(config, str(args.config))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TmeInputWarning)
        checked = check_inputs(config)
    for warning in caught:
        if issubclass(warning.category, TmeInputWarning):
            print(f"tme: warning: {' '.join(str(warning.message).splitlines())}", file=sys.stderr)
        else:  # not about the user's input: shown as Python shows it
            warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    print(f"config {args.config}: ok")
    for _, row in checked.files.iterrows():
        print(f"{row['input']} {row['path']}: {row['summary']}")
    if checked.coverage is not None:
        panel = config["expression"]["format"] == "nanostring_rcc"
        _print_coverage(checked.coverage, config["scoring"], full=args.coverage or panel)
    paired = checked.flow[checked.flow["step"] == "paired"]
    for _, row in paired.iterrows():
        print(f"{row['modality']}: {row['n_patients']} paired patients in arm {row['arm']}")
    return 0


def _print_coverage(coverage, scoring: dict, full: bool) -> None:
    """The coverage rule's verdict: every signature × method when ``full`` (panels), else those below it."""
    below = coverage[~coverage["scored"]]
    print(
        f"signatures: {len(coverage) - len(below)} of {len(coverage)} signature x method pairs meet the coverage "
        f"rule (scoring.min_genes {scoring['min_genes']}, scoring.min_fraction {scoring['min_fraction']:g}); "
        f"{len(below)} not scored"
    )
    rows = coverage if full else below
    names = rows["signature"] + "|" + rows["method"]
    width, cover_width = max(map(len, names), default=0), max(map(len, rows["coverage"]), default=0)
    for name, cover, reason in zip(names, rows["coverage"], rows["reason"]):
        print(f"  {name:<{width}}  {cover:<{cover_width}}  {reason or 'scored'}")


def _snakemake_command() -> list[str]:
    """The Snakemake of this Python environment (the one tme is installed in)."""
    beside = Path(sys.executable).with_name("snakemake")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "snakemake"]


def _run(args: argparse.Namespace) -> int:
    """Check the config file strictly, then hand it to Snakemake (and build the report)."""
    import subprocess

    from tme.config import load_config

    load_config(args.config)  # before Snakemake parses it: duplicate keys, code-bearing keys, bad values
    extra = args.snakemake[1:] if args.snakemake[:1] == ["--"] else args.snakemake
    command = [*_snakemake_command(), "--configfile", str(args.config), "--cores", str(args.cores), *extra]
    done = subprocess.run(command)
    if done.returncode != 0 or not args.report:
        return done.returncode
    return subprocess.run([*command, "--report", str(args.report)]).returncode


def _plan_freeze(args: argparse.Namespace) -> int:
    """Check every input as a run would (blinded data will do), then write the frozen plan."""
    from tme.config import load_config
    from tme.inputs import check_inputs
    from tme.plan.freeze import freeze, plan_hash

    config = load_config(args.config)
    check_inputs(config)
    for path in freeze(config):
        print(path)
    print(f"plan sha256 {plan_hash(config)}")
    return 0


def _check_blinding(asked: bool, blinded: bool, config: Path) -> None:
    """``tme power --blinded`` exactly when the config is blinded."""
    if asked and not blinded:
        raise TmeInputError(
            "config key 'blinded' is false, but --blinded asks for a blinded sample-size re-estimation",
            file=config,
            fix="run it with blinded: true while the trial is blind, or drop --blinded to plan from the unblinded run",
        )
    if blinded and not asked:
        raise TmeInputError(
            "config key 'blinded': the config is blinded, and planning from the trial's effects needs the arm labels",
            file=config,
            fix="add --blinded for the blinded sample-size re-estimation (pooled data, no arm labels)",
        )


def _power(args: argparse.Namespace) -> int:
    """Plan the next trial from a finished run (or a values table), as rule ``planning`` does."""
    from tme.config import Design, load_config
    from tme.inputs import read_sheet
    from tme.planning.run import FIGURE, compute_planning, planning_outputs, read_values, run_values, write_outputs
    from tme.planning.settings import PlanningSettings

    config = load_config(args.config)
    settings = PlanningSettings.from_config(config, str(args.config))
    design = Design.from_config(config)
    if settings is None:
        raise TmeInputError(
            "config key 'planning' is not set",
            file=args.config,
            fix="add a planning section with a target effect per primary endpoint (README: Planning the next trial)",
        )
    _check_blinding(args.blinded, design.blinded, args.config)
    values = read_values(args.values, design) if args.values else run_values(config, args.results, read_sheet(config))
    try:  # every check passes before anything is written
        computed = compute_planning(settings, values, design)
    except TmeInputError as error:  # about the values: name where they came from
        error.file = error.file or str(args.values or args.results)
        raise
    out = args.out or args.results
    paths = planning_outputs(design.blinded, out)
    written = write_outputs(computed, paths)
    if not design.blinded:  # from the tables as written, as rule plot_planning draws it
        from tme.plots import save_figure
        from tme.plots.data import read_table
        from tme.plots.planning import plot_power_curves

        figure = plot_power_curves(read_table(paths["grid"]), read_table(paths["table"]))
        written += save_figure(figure, Path(out, FIGURE))
    sizes = computed["blinded" if design.blinded else "table"]
    for endpoint, randomised, pairs in zip(sizes["endpoint"], sizes["n_per_arm"], sizes["n_pairs_per_arm"]):
        print(f"{endpoint}: randomise {int(randomised)} per arm ({int(pairs)} with both samples)")
    for path in written:
        print(path)
    return 0


def _prepare(args: argparse.Namespace) -> int:
    from tme.prepare import prepare_riaz2017

    for path in prepare_riaz2017(args.counts, args.clinical, args.sample_table, args.out):
        print(path)
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``tme <command>: error: … (see tme <command> --help)``, exit 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tme",
        description=(
            "Paired tumour-microenvironment analysis for window-of-opportunity trials. "
            "Run the analysis with Snakemake (see README); these commands help around it."
        ),
    )
    parser.add_argument("--version", action="version", version=f"tme {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    sim = sub.add_parser(
        "simulate",
        help="write a simulated OZM-034-like cohort with planted truth",
        description=(
            "Write a simulated two-arm window trial (anakinra vs usual care, pre/post biopsies): "
            "samples.tsv, salmon.merged.gene_counts.tsv.gz (nf-core layout), immune.tsv and truth.tsv "
            "(the planted changes). The same seed always gives the same bytes."
        ),
    )
    sim.add_argument("--seed", type=int, default=34, help="random seed (default 34, the bundled example)")
    sim.add_argument("--out", type=Path, required=True, help="output directory (created if needed)")
    sim.add_argument(
        "--patients", type=int, help="patients, a multiple of 4 (default 44 bulk, NanoString and cells, 12 single-cell)"
    )
    sim.add_argument("--genes", type=int, help="genes (default 15000 bulk, 2000 single-cell, 750 NanoString panel)")
    sim.add_argument(
        "--single-cell",
        action="store_true",
        help=(
            "write a single-cell cohort instead: cells.h5ad (counts, sample_id, cell_type), samples.tsv, "
            "truth.tsv (fewer IL1B+ macrophages and a lower IL-1 program in macrophages after anakinra)"
        ),
    )
    sim.add_argument(
        "--nanostring",
        action="store_true",
        help=(
            "write a NanoString panel cohort instead: rcc/*.RCC (one instrument file per biopsy, three failing "
            "the nCounter QC on purpose), the panel's RLF, samples.tsv, immune.tsv (IHC H-score, intensity, "
            "percent positive, densities, sTILs), truth.tsv, qc_truth.tsv and config.yaml (the panel example)"
        ),
    )
    sim.add_argument("--cells-per-sample", type=int, default=300, help="single-cell: cells per biopsy (default 300)")
    sim.add_argument(
        "--cells",
        action="store_true",
        help=(
            "write a multiplex-IF cohort instead: one per-cell export per biopsy (QuPath, HALO and inForm in "
            "turn by patient) under exports/, manifest.tsv, regions.tsv and QuPath annotation areas, "
            "samples.tsv, cells.yaml (the cells section reading them) and truth.tsv (fewer IL-1b+ macrophages "
            "and CD8+ T cells closer to tumour cells after anakinra); config/cells.yaml analyses "
            "config/example_cells"
        ),
    )
    sim.set_defaults(func=_simulate)

    val = sub.add_parser(
        "validate",
        help="check a config and every input it names, without running the workflow",
        description=(
            "Validate the config, the sample sheet, the expression data and the immune table; print what was "
            "found and the signatures below the coverage rule (every signature's coverage for panels)."
        ),
    )
    val.add_argument(
        "--config", type=Path, default=Path("config/config.yaml"), help="config file (default config/config.yaml)"
    )
    val.add_argument(
        "--coverage",
        action="store_true",
        help="print every signature's gene coverage (always printed for nanostring_rcc panels)",
    )
    val.set_defaults(func=_validate)

    run = sub.add_parser(
        "run",
        help="check a config, then run the workflow with Snakemake (and build the report)",
        description=(
            "Check the config file strictly (duplicate keys, YAML tags, Snakemake's YTE templating, values) "
            "before Snakemake reads it, then run `snakemake --configfile CONFIG --cores N [ARGS]` in the "
            "current directory (the repository root or a deployed workflow); with --report, build the HTML "
            "report afterwards. Arguments after `--` go to Snakemake unchanged."
        ),
    )
    run.add_argument(
        "--config", type=Path, default=Path("config/config.yaml"), help="config file (default config/config.yaml)"
    )
    run.add_argument("--cores", type=int, default=2, help="cores Snakemake may use (default 2)")
    run.add_argument("--report", type=Path, help="also write the HTML report to this file, e.g. results/report.html")
    run.add_argument("snakemake", nargs=argparse.REMAINDER, help="further Snakemake arguments, after --")
    run.set_defaults(func=_run)

    plan = sub.add_parser("plan", help="the statistical analysis plan: freeze it before unblinding")
    plan_commands = plan.add_subparsers(dest="plan_command", required=True, metavar="ACTION", parser_class=_Parser)
    frz = plan_commands.add_parser(
        "freeze",
        help="check the inputs and write the frozen plan with its SHA-256 and a readable SAP section",
        description=(
            "Check the config and every input it names (blinded data will do), then write "
            "analysis_plan.frozen_plan (default plan/analysis_plan.json) with the plan's SHA-256, and the SAP "
            "section beside it (.md, .html). An unblinded run then refuses a config whose plan differs."
        ),
    )
    frz.add_argument(
        "--config", type=Path, default=Path("config/config.yaml"), help="config file (default config/config.yaml)"
    )
    frz.set_defaults(func=_plan_freeze)

    power = sub.add_parser(
        "power",
        help="plan the next trial from this one: sample sizes, detectable effects, power curves",
        description=(
            "Per primary endpoint of the analysis plan, with the config's planning section: the nuisance parameters "
            "of a finished run (or of --values) with bootstrap CIs, the sample size and minimum detectable effect of "
            "the primary ANCOVA under the family's multiplicity, simulated power curves and the assumptions as "
            "citable text; with --blinded (blinded: true), the blinded sample-size re-estimation from pooled data. "
            "Writes what the workflow's planning rule writes (README: Planning the next trial)."
        ),
    )
    power.add_argument(
        "--config", type=Path, default=Path("config/config.yaml"), help="config file (default config/config.yaml)"
    )
    power.add_argument(
        "--results", type=Path, default=Path("results"), help="the finished run's results folder (default results)"
    )
    power.add_argument(
        "--values",
        type=Path,
        help="instead of a run: a long TSV patient_id, arm, timepoint, feature, value (analysis scale)",
    )
    power.add_argument("--out", type=Path, help="write under this folder instead of --results")
    power.add_argument("--blinded", action="store_true", help="blinded sample-size re-estimation (needs blinded: true)")
    power.set_defaults(func=_power)

    prep = sub.add_parser(
        "prepare",
        help="write a sample sheet and config for a published cohort",
        description="Write samples.tsv and config.yaml for a published cohort from its files as published.",
    )
    cohorts = prep.add_subparsers(dest="cohort", required=True, metavar="COHORT", parser_class=_Parser)
    riaz = cohorts.add_parser(
        "riaz2017",
        help="CheckMate-038 (Riaz 2017, GEO GSE91061): nivolumab, pre/on-treatment, two cohorts",
        description=(
            "CheckMate-038 (Riaz 2017): ipilimumab-naive (reference) vs ipilimumab-progressed, tumour RNA-seq "
            "before and on nivolumab. The technical replicate of Pt109_On is resolved by keeping the larger "
            "library (the other is excluded with that reason)."
        ),
    )
    riaz.add_argument("--counts", type=Path, required=True, help="GSE91061_BMS038109Sample.hg19KnownGene.raw.csv.gz")
    riaz.add_argument("--clinical", type=Path, required=True, help="bms038_clinical_data.csv")
    riaz.add_argument(
        "--sample-table", type=Path, required=True, help="SampleTableCorrected.9.19.16.csv (CR line endings)"
    )
    riaz.add_argument("--out", type=Path, required=True, help="output directory for samples.tsv and config.yaml")
    riaz.set_defaults(func=_prepare)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except TmeInputError as exc:
        print(f"tme: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # e.g. an output directory that cannot be created
        print(
            f"tme: error: {exc.filename or ''}: {exc.strerror or exc}. Fix: choose a path you can write.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
