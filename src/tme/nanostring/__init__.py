"""NanoString nCounter panels: RCC files → nCounter QC → nSolver-style normalisation → AnnData.

Modules: :mod:`~tme.nanostring.rcc` (one RCC file), :mod:`~tme.nanostring.rlf` (the panel's RLF),
:mod:`~tme.nanostring.panel` (a cohort of files on one panel), :mod:`~tme.nanostring.match`
(file → sample), :mod:`~tme.nanostring.normalise` and :mod:`~tme.nanostring.genorm`
(normalisation), :mod:`~tme.nanostring.qc` (per-sample QC), :mod:`~tme.nanostring.reader` (the
expression reader), :mod:`~tme.nanostring.simulate` (a simulated OZM-034-like RCC cohort).
"""

from tme.lazy import lazy_exports

#: Public name → the module defining it (imported on first use: the workflow reads this package
#: when it parses the Snakefile, and most runs never read an RCC file or a cell export).
_EXPORTS = {
    "genorm": "genorm",
    "match_files": "match",
    "NormalisationOptions": "normalise",
    "Normalised": "normalise",
    "normalise": "normalise",
    "RccSet": "panel",
    "read_rcc_set": "panel",
    "QcThresholds": "qc",
    "nanostring_qc": "qc",
    "RccFile": "rcc",
    "parse_rcc": "rcc",
    "rcc_paths": "rcc",
    "read_rcc": "rcc",
    "NanostringInput": "reader",
    "nanostring_options": "reader",
    "read_nanostring": "reader",
    "read_rlf": "rlf",
}

__all__ = sorted(_EXPORTS)

lazy_exports(__name__, _EXPORTS)
