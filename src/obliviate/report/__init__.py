"""Reports: the versioned JSON schema, Markdown and rich tables, plots and a web page.

Everything here renders from the report document produced by
:func:`obliviate.bench.run_bench`; nothing is recomputed.
"""

from __future__ import annotations

from obliviate.report.files import write_report_files
from obliviate.report.schema import SCHEMA, ReportSchemaError, load_report, validate_report, write_report
from obliviate.report.tables import print_report, render_markdown, rich_table

__all__ = [
    "SCHEMA",
    "ReportSchemaError",
    "load_report",
    "print_report",
    "render_markdown",
    "rich_table",
    "validate_report",
    "write_report",
    "write_report_files",
]
