"""Gene signatures: tme's curated library and readers for user gene sets.

* :func:`load_library` — the shipped, cited signatures (``library.yaml`` + one TSV per source);
* :func:`default_methods` — the authors' (or tme's default) scoring method for a signature;
* :func:`read_gmt`, :func:`read_signature_table` — user gene sets, with errors naming file and line;
* :func:`resolve_symbols` — legacy/Ensembl/Entrez gene names to current symbols.

Sources, licences and curation decisions: ``README.md`` in this folder.
"""

from tme.signatures.library import (
    collection_names,
    default_methods,
    load_library,
    resolve_symbols,
)
from tme.signatures.readers import read_gmt, read_signature_table

__all__ = [
    "collection_names",
    "default_methods",
    "load_library",
    "read_gmt",
    "read_signature_table",
    "resolve_symbols",
]
