"""The HTML report: its pages (key results, tables, warnings, methods) and what it shows by config.

=================  ==========================================================================
module             content
=================  ==========================================================================
``html``           escaping, plain HTML tables, the shared page style
``methods``        the methods and provenance page
``targets``        figures, tables and report categories by config switches
=================  ==========================================================================
"""

from tme.lazy import lazy_exports

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


lazy_exports(__name__, _EXPORTS)
