"""Reading users' tables with errors that point at the file, line and column, and atomic writing.

Two readers: :func:`read_small_table` keeps exact line numbers (sample sheets, immune tables: small,
may carry ``#`` comments) and :func:`read_matrix_text` reads large expression matrices with pandas.
Both accept ``.gz``, a UTF-8 byte-order mark and CRLF or CR line endings (Excel and old Mac
exports), and detect a delimiter that does not match the file name.
"""

from __future__ import annotations

import csv
import errno
import gzip
import io
import os
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from tme.errors import TmeInputError

_DELIMITER_NAMES = {"\t": "tab", ",": "comma", ";": "semicolon"}
#: Cell texts that mean "no value" (lower-cased), as exported by R, pandas, Excel and LIMS systems.
MISSING_TOKENS = frozenset({"", "na", "nan", "n/a", "null", "none", "inf", "-inf", "+inf", "infinity", "-infinity"})


def expected_delimiter(path: str | os.PathLike) -> str:
    """Delimiter implied by the file name: ``.csv`` → comma, anything else (.tsv, .txt) → tab."""
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return "," if name.endswith(".csv") else "\t"


def read_text(path: str | os.PathLike, what: str) -> str:
    """Whole text of a (possibly gzipped) UTF-8 file, with line endings normalised to ``\\n``.

    Raises :class:`TmeInputError` for a missing, unreadable, empty, truncated or non-UTF-8 file.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TmeInputError(
            f"the {what} file does not exist",
            file=path,
            fix="check the path in the config (relative paths start at the directory Snakemake runs in)",
        ) from None
    except IsADirectoryError:
        raise TmeInputError(
            f"the {what} path is a directory, not a file", file=path, fix="point the config at the file itself"
        ) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise TmeInputError(
                f"the {what} path is a symbolic link loop",
                file=path,
                fix="replace the link with the real file or a link to it",
            ) from None
        raise TmeInputError(
            f"the {what} file cannot be read ({exc.strerror})", file=path, fix="check its permissions"
        ) from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error):
            raise TmeInputError(
                f"the {what} file is a damaged or truncated gzip archive",
                file=path,
                fix="copy or export the file again and check it with 'gzip -t'",
            ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise TmeInputError(
            f"the {what} file is not UTF-8 text (byte {exc.start})",
            file=path,
            line=line,
            fix="save it as UTF-8 (in Excel: 'CSV UTF-8' or tab-delimited text)",
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise TmeInputError(f"the {what} file is empty", file=path, fix="export it again with its header and rows")
    return text


def _check_delimiter(header: str, sep: str, path: Path, what: str) -> None:
    if sep in header:
        return
    for other, name in _DELIMITER_NAMES.items():
        if other != sep and other in header:
            raise TmeInputError(
                f"the {what} file looks {name}-separated but its name implies {_DELIMITER_NAMES[sep]}-separated",
                file=path,
                line=1,
                fix="name it .csv for comma-separated or .tsv for tab-separated text, or re-export it with the right "
                "delimiter",
            )


def _split(line: str, sep: str, path: Path, lineno: int) -> list[str]:
    """One delimited line as cells (quotes understood); an oversized cell is named, not a traceback."""
    try:
        return next(csv.reader([line], delimiter=sep))
    except csv.Error as exc:
        raise TmeInputError(
            f"this line cannot be split into cells ({exc}; the line has {len(line):,} characters)",
            file=path,
            line=lineno,
            fix="check the line: a cell may hold a whole file or an unclosed quote",
        ) from None


def read_small_table(path: str | os.PathLike, what: str, *, comment: str = "#") -> pd.DataFrame:
    """Read a small delimited table as strings, keeping each row's line number in ``_line``.

    Blank lines and lines starting with ``comment`` are skipped. Header names and cells are
    stripped of surrounding white space and quotes are understood (csv module). A row with a
    different number of cells from the header is an error naming its line.
    """
    path = Path(path)
    text = read_text(path, what)
    sep = expected_delimiter(path)
    rows: list[list[str]] = []
    lines: list[int] = []
    header: list[str] | None = None
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip() or line.lstrip().startswith(comment):
            continue
        if header is None:
            _check_delimiter(line, sep, path, what)
        cells = [c.strip() for c in _split(line, sep, path, lineno)]
        if header is None:
            header = cells
            header_line = lineno
            continue
        if len(cells) != len(header):
            raise TmeInputError(
                f"this row has {len(cells)} cells but the header (line {header_line}) has {len(header)}",
                file=path,
                line=lineno,
                fix="make every row have one value per header column (empty cells are allowed)",
            )
        rows.append(cells)
        lines.append(lineno)
    assert header is not None  # read_text rejected files with nothing in them
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise TmeInputError(
            f"column name(s) {', '.join(map(repr, dupes))} appear more than once in the header",
            file=path,
            line=header_line,
            fix="give every column a unique name",
        )
    if "" in header:
        raise TmeInputError(
            "the header has an empty column name",
            file=path,
            line=header_line,
            fix="name every column (or delete the empty column)",
        )
    if not rows:
        raise TmeInputError(f"the {what} file has a header but no rows", file=path, fix="add one row per record")
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame["_line"] = lines
    return frame


def read_matrix_text(path: str | os.PathLike, what: str) -> tuple[pd.DataFrame, Path]:
    """Read a large delimited matrix (first row = header) with pandas; every cell as parsed by pandas.

    Row ``i`` (0-based) of the returned frame is on line ``i + 2`` of the file.
    """
    path = Path(path)
    text = read_text(path, what)
    sep = expected_delimiter(path)
    header = text.split("\n", 1)[0]
    _check_delimiter(header, sep, path, what)
    names = [c.strip() for c in _split(header, sep, path, 1)]
    twice = [n for i, n in enumerate(names) if n in names[:i]]
    if twice:
        raise TmeInputError(
            f"column {twice[0]!r} appears twice in the header",
            file=path,
            line=1,
            column=twice[0],
            fix="every sample must have exactly one column",
        )
    text = text.rstrip("\n") + "\n"  # blank lines at the end, as a sheet's are, are not rows
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=sep, dtype=str, na_filter=False, skip_blank_lines=False, quotechar='"'
        )
    except pd.errors.ParserError as exc:
        raise TmeInputError(
            f"the {what} file cannot be parsed as a table ({exc})",
            file=path,
            fix="make every row have one value per header column",
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame, path


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path`` atomically.

    A crash or error leaves the previous ``path`` (if any) untouched and no partial file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_tsv(frame: pd.DataFrame, path: str | os.PathLike, *, index: bool = False) -> None:
    """Write a tidy TSV atomically with a fixed float format (byte-identical across runs)."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=index, float_format="%.10g", na_rep="NA", lineterminator="\n")
