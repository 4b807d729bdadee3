"""One error type for everything a user can get wrong.

Every message names the file, the line/row and column where it can, what is wrong and how to fix
it, so that a bioinformatician can act on the single line Snakemake or the CLI prints.
"""

from __future__ import annotations

from os import PathLike

#: Longest message a user gets (a huge value quoted in a message would hide the point).
MAX_MESSAGE = 2000


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis that says how much was left out."""
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 40]}… ({len(text) - limit + 40:,} more characters)"


class TmeInputError(ValueError):
    """Bad user input (config, sample sheet, matrix, immune table, gene set).

    Parameters
    ----------
    problem
        What is wrong, in one sentence.
    file
        The file the problem is in.
    line
        1-based line number in the file as a text editor shows it (the header is line 1).
    column
        Column name (or config key) concerned.
    fix
        What the user should change.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | PathLike | None = None,
        line: int | None = None,
        column: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = None if file is None else str(file)
        self.line = line
        self.column = column
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(self.file)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        fix = f" Fix: {shorten(self.fix, 400).rstrip('.')}." if self.fix else ""
        head = shorten(", ".join(where), 400) + ": " if where else ""
        problem = shorten(self.problem, MAX_MESSAGE - len(head) - len(fix) - 1).rstrip(".")
        return " ".join(f"{head}{problem}.{fix}".splitlines())  # one line, whatever a value holds


class TmeInputWarning(UserWarning):
    """Usable but suspicious input (e.g. a signature with no gene present, skipped)."""


class TmeAnalysisWarning(UserWarning):
    """The analysis changed what it analysed: patients dropped from a model, a fallback estimator."""


#: Warnings that change what was analysed: collected per rule into ``results/qc/warnings.tsv``.
REPORTED_WARNINGS = (TmeInputWarning, TmeAnalysisWarning)
