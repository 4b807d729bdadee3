"""NanoString nCounter panels: RCC files → nCounter QC → nSolver-style normalisation → AnnData.

Modules: :mod:`~tme.nanostring.rcc` (one RCC file), :mod:`~tme.nanostring.rlf` (the panel's RLF),
:mod:`~tme.nanostring.panel` (a cohort of files on one panel), :mod:`~tme.nanostring.match`
(file → sample), :mod:`~tme.nanostring.normalise` and :mod:`~tme.nanostring.genorm`
(normalisation), :mod:`~tme.nanostring.qc` (per-sample QC), :mod:`~tme.nanostring.reader` (the
expression reader), :mod:`~tme.nanostring.simulate` (a simulated OZM-034-like RCC cohort).
"""

from tme.nanostring.genorm import genorm
from tme.nanostring.match import match_files
from tme.nanostring.normalise import NormalisationOptions, Normalised, normalise
from tme.nanostring.panel import RccSet, read_rcc_set
from tme.nanostring.qc import QcThresholds, nanostring_qc
from tme.nanostring.rcc import RccFile, parse_rcc, rcc_paths, read_rcc
from tme.nanostring.reader import NanostringInput, nanostring_options, read_nanostring
from tme.nanostring.rlf import read_rlf

__all__ = [
    "NanostringInput",
    "NormalisationOptions",
    "Normalised",
    "QcThresholds",
    "RccFile",
    "RccSet",
    "genorm",
    "match_files",
    "nanostring_options",
    "nanostring_qc",
    "normalise",
    "parse_rcc",
    "rcc_paths",
    "read_nanostring",
    "read_rcc",
    "read_rcc_set",
    "read_rlf",
]
