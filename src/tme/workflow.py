"""Glue for Snakemake scripts: logging to the rule's log and one clear line on bad input.

Workflow scripts stay thin::

    from tme.workflow import run

    def main(snakemake):
        ...  # read snakemake.input / params, call tme, write snakemake.output

    run(snakemake, main)
"""

from __future__ import annotations

import logging
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pandas as pd

from tme.errors import REPORTED_WARNINGS, TmeInputError
from tme.io import write_tsv

if TYPE_CHECKING:
    from tme.config import Design


def run(snakemake: Any, main: Callable[[Any], None]) -> None:
    """Run ``main(snakemake)`` with stderr, warnings and logging sent to ``snakemake.log[0]``.

    A :class:`TmeInputError` ends the job with exit code 1 after writing its one-line message to
    the log and to the terminal; Snakemake then removes the job's outputs, so nothing partial stays.
    Any other exception writes its traceback to the log and a one-line summary to the terminal.
    Warnings that change what was analysed (:data:`tme.errors.REPORTED_WARNINGS`) are also written,
    once each, to the rule's ``rule_warnings`` output when it has one (``rule, warning``), for
    ``results/qc/warnings.tsv`` and the report.
    """
    terminal = sys.stderr
    reported: dict[str, None] = {}  # insertion-ordered set: the same warning once
    with open(snakemake.log[0], "w") as log, _recording(reported):
        sys.stderr = log
        logging.basicConfig(stream=log, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", force=True)
        try:
            main(snakemake)
            if "rule_warnings" in snakemake.output.keys():  # noqa: SIM118 (a Namedlist: `in` looks at values)
                table = pd.DataFrame({"rule": snakemake.rule, "warning": list(reported)}, columns=["rule", "warning"])
                write_tsv(table, snakemake.output.rule_warnings)
        except TmeInputError as exc:
            print(f"ERROR: {exc}", file=log)
            print(f"tme: {exc}", file=terminal)
            sys.exit(1)
        except Exception as exc:  # unexpected: full detail in the log, a pointer on the terminal
            traceback.print_exc(file=log)
            print(f"tme: {type(exc).__name__}: {exc} (details in {snakemake.log[0]})", file=terminal)
            sys.exit(1)
        finally:
            sys.stderr = terminal


@contextmanager
def _recording(reported: dict[str, None]) -> Iterator[None]:
    """Log every warning (once per place, as Python's default) and keep the text of those that change
    what was analysed (every occurrence, so two signatures' low coverage are two entries)."""
    logger = logging.getLogger("py.warnings")

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, REPORTED_WARNINGS):
            reported[" ".join(str(message).split())] = None
        logger.warning("%s", warnings.formatwarning(message, category, filename, lineno, line).rstrip())

    with warnings.catch_warnings():
        warnings.simplefilter("default")
        for category in REPORTED_WARNINGS:
            warnings.simplefilter("always", category)
        warnings.showwarning = show
        yield


def check_workflow_config(config: dict, configfiles: Sequence[str]) -> tuple[dict, Design, pd.DataFrame]:
    """The checks Snakemake runs when it reads the workflow (``workflow/rules/common.smk``).

    Snakemake has already parsed ``configfiles`` into ``config`` with its own reader, which keeps
    duplicate keys and aliases silently: each file is read again strictly
    (:func:`tme.configfile.read_yaml_config`); then the config is validated and the sample sheet
    read; an unblinded run is held to a frozen analysis plan (:func:`tme.plan.freeze.check_frozen`), and a
    planning section to enough pairs in the sheet (:func:`tme.planning.settings.check_planned_pairs`).
    Returns the validated config (defaults filled), the design and the sheet. The first rule
    runs :func:`tme.inputs.check_inputs`; ``tme validate`` runs the same two steps.
    """
    # imported here: every rule's script imports this module for run(), which needs none of them
    from tme.config import Design, validate_config
    from tme.configfile import read_yaml_config
    from tme.plan.freeze import check_frozen
    from tme.planning.settings import check_planned_pairs
    from tme.samplesheet import read_samplesheet

    for configfile in configfiles:
        read_yaml_config(configfile)
    file = ", ".join(map(str, configfiles)) or None
    config = validate_config(config, file=file)
    check_frozen(config, file)
    design = Design.from_config(config)
    samples = read_samplesheet(config["samples"], design)
    check_planned_pairs(config, samples)
    return config, design, samples
