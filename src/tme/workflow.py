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
from typing import Any, Callable

from tme.errors import TmeInputError


def run(snakemake: Any, main: Callable[[Any], None]) -> None:
    """Run ``main(snakemake)`` with stderr, warnings and logging sent to ``snakemake.log[0]``.

    A :class:`TmeInputError` ends the job with exit code 1 after writing its one-line message to
    the log and to the terminal; Snakemake then removes the job's outputs, so nothing partial stays.
    Any other exception writes its traceback to the log and a one-line summary to the terminal.
    """
    terminal = sys.stderr
    with open(snakemake.log[0], "w") as log:
        sys.stderr = log
        logging.basicConfig(stream=log, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", force=True)
        logging.captureWarnings(True)
        warnings.simplefilter("default")
        try:
            main(snakemake)
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
