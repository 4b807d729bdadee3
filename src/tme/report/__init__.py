"""The HTML report: its pages (key results, tables, warnings, methods) and what it shows by config.

=================  ==========================================================================
module             content
=================  ==========================================================================
``html``           escaping, plain HTML tables, the shared page style
``methods``        the methods and provenance page
``targets``        figures, tables and report categories by config switches
=================  ==========================================================================
"""

from importlib import import_module

#: Public names and the module each comes from (imported on first use: rule scripts that need one
#: page do not pay for the statistics the methods page imports).
_EXPORTS = {
    "escape": "html",
    "html_table": "html",
    "methods_html": "methods",
    "report_table_specs": "targets",
    "report_targets": "targets",
    "statistics_table": "targets",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f"tme.report.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'tme.report' has no attribute {name!r}")
