"""Write a report's files into a folder: JSON, Markdown, plots and a one-section web page.

Layout of ``out_dir``::

    report.json        the report document (validated, see obliviate.report.schema)
    report.md          Markdown tables rendered from it
    plots/*.png        tradeoff.png (or <metric>.png) and speedup.png
    index.html         a self-contained page with the tables and plots (optional)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from obliviate.core.checkpoint import atomic_write_text
from obliviate.report.html import Section, environment_footer, write_page
from obliviate.report.plots import plot_report
from obliviate.report.schema import validate_report, write_report
from obliviate.report.tables import render_markdown, report_heading


def write_report_files(report: dict[str, Any], out_dir: str | os.PathLike, *, html: bool = True) -> dict[str, Path]:
    """Write ``report`` as JSON, Markdown, plots and (with ``html=True``) ``index.html``.

    Args:
        report: a report document from :func:`obliviate.bench.run_bench`.
        out_dir: destination folder (created if needed).
        html: also write ``index.html``.

    Returns:
        ``{"json": ..., "markdown": ..., "html": ..., "<plot name>": ...}`` paths written.

    Raises:
        ReportSchemaError: if ``report`` does not follow the schema (nothing is written).
    """
    validate_report(report)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {"json": write_report(report, out_dir / "report.json")}
    markdown = out_dir / "report.md"
    atomic_write_text(markdown, render_markdown(report))
    written["markdown"] = markdown
    plots = plot_report(report, out_dir / "plots")
    written.update(plots)
    if html:
        section = report_section(report, report_dir=out_dir, page_dir=out_dir, plots=plots, title=report_heading(report))
        written["html"] = write_page(
            out_dir / "index.html", f"obliviate bench — {report_heading(report)}", [section],
            footer=environment_footer(report),
        )
    return written


def report_section(
    report: dict[str, Any],
    *,
    report_dir: str | os.PathLike,
    page_dir: str | os.PathLike,
    plots: dict[str, Path],
    title: str,
) -> Section:
    """A page :class:`Section` for a report written to ``report_dir`` by :func:`write_report_files`,
    on a page saved in ``page_dir`` (plot and file paths are made relative to the page)."""
    report_dir, page_dir = Path(report_dir), Path(page_dir)

    def relative(path: Path) -> str:
        return Path(os.path.relpath(path, page_dir)).as_posix()

    links = {name: relative(report_dir / name) for name in ("report.json", "report.md") if (report_dir / name).is_file()}
    return Section(
        title=title,
        report=report,
        plots={name: relative(Path(path)) for name, path in plots.items()},
        links=links,
    )
