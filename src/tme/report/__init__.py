"""The HTML report: its pages (key results, tables, warnings, methods) and what it shows by config.

=================  ==========================================================================
module             content
=================  ==========================================================================
``html``           escaping, plain HTML tables, the shared page style
``methods``        the methods and provenance page
``targets``        figures, tables and report categories by config switches
=================  ==========================================================================
"""

from tme.report.html import escape, html_table
from tme.report.methods import methods_html
from tme.report.targets import report_table_specs, report_targets, statistics_table

__all__ = ["escape", "html_table", "methods_html", "report_table_specs", "report_targets", "statistics_table"]
