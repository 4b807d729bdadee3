"""The ``tme`` command line: simulate the example cohort, validate inputs before a run.

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
    if args.single_cell and args.cells:
        raise TmeInputError(
            "--single-cell and --cells each write a cohort", fix="choose one of them (or run tme simulate twice)"
        )
    if args.cells:
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
    paired = checked.flow[checked.flow["step"] == "paired"]
    for _, row in paired.iterrows():
        print(f"{row['modality']}: {row['n_patients']} paired patients in arm {row['arm']}")
    return 0


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
        "--patients", type=int, help="patients, a multiple of 4 (default 44 bulk and cells, 12 single-cell)"
    )
    sim.add_argument("--genes", type=int, help="genes (default 15000 bulk, 2000 single-cell)")
    sim.add_argument(
        "--single-cell",
        action="store_true",
        help=(
            "write a single-cell cohort instead: cells.h5ad (counts, sample_id, cell_type), samples.tsv, "
            "truth.tsv (fewer IL1B+ macrophages and a lower IL-1 program in macrophages after anakinra)"
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
        description="Validate the config, the sample sheet, the expression matrix and the immune table.",
    )
    val.add_argument(
        "--config", type=Path, default=Path("config/config.yaml"), help="config file (default config/config.yaml)"
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
