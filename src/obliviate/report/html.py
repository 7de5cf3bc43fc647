"""A single self-contained web page (``index.html``) assembling report sections.

Each :class:`Section` has a title and optionally a report (rendered as tables from its
JSON), plots (embedded as ``<img>`` by path relative to the page), links (to the report's
JSON and Markdown), an error message (a section that failed), and child sections. The
page carries its CSS inline; the only other files it refers to are the plots and links.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obliviate.core.checkpoint import atomic_write_text
from obliviate.report.tables import Table, describe_options, gap_table, results_table, skipped_methods

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px;
       padding: 0 1rem; color: #1d1d1f; line-height: 1.45; }
h1 { border-bottom: 2px solid #d4a017; padding-bottom: .3rem; }
h2 { margin-top: 2.5rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
h3 { margin-top: 1.8rem; }
p.meta, p.note, ul.meta { color: #555; font-size: .9rem; }
div.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: .85rem; margin: .6rem 0 1rem; }
th, td { border: 1px solid #ddd; padding: .25rem .55rem; white-space: nowrap; }
th { background: #f4f4f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.gold td { background: #fff6d8; font-weight: 600; }
tr.reference td { color: #666; }
div.plots { display: flex; flex-wrap: wrap; gap: 1rem; }
div.plots img { max-width: 560px; width: 100%; border: 1px solid #eee; }
div.error { background: #fdecea; border: 1px solid #f5c2c0; padding: .6rem .9rem; color: #8a1c17; }
footer { margin-top: 3rem; color: #777; font-size: .8rem; }
"""


@dataclass
class Section:
    """One part of the page.

    Attributes:
        title: heading text.
        report: a report document whose tables are shown (``None`` for a plain heading).
        plots: ``{name: path}`` of images, relative to the page's folder.
        links: ``{label: path}`` of related files, relative to the page's folder.
        text: a paragraph shown under the heading.
        error: why the section could not be produced (shown instead of tables).
        children: sub-sections, one heading level down.
    """

    title: str
    report: dict[str, Any] | None = None
    plots: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    text: str | None = None
    error: str | None = None
    children: list[Section] = field(default_factory=list)


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def table_html(table: Table) -> str:
    """An HTML ``<table>`` of text cells (numbers right-aligned, the gold row highlighted)."""
    head = "".join(f"<th>{_e(h)}</th>" for h in table.headers)
    body = []
    for cells, role in zip(table.rows, table.roles, strict=True):
        tds = [f"<td>{_e(cells[0])}</td>"] + [f'<td class="num">{_e(c)}</td>' for c in cells[1:]]
        body.append(f'<tr class="{_e(role)}">{"".join(tds)}</tr>')
    return (
        '<div class="scroll"><table><thead><tr>' + head + "</tr></thead><tbody>"
        + "".join(body) + "</tbody></table></div>"
    )


def report_html(report: dict[str, Any]) -> str:
    """Tables, skips and notes of one report as an HTML fragment."""
    seeds = report["seeds"]
    env = report["environment"]
    parts = [
        f'<p class="meta">options: {_e(describe_options(report))} · seeds: {_e(", ".join(map(str, seeds)))} · '
        f"device: {_e(env.get('device', '?'))} · gold = retraining from scratch on the retain data, timed in "
        "the same run; speedup = gold seconds / method seconds</p>",
        f"<h4>Results (mean ± std over {len(seeds)} seed{'s' if len(seeds) != 1 else ''}; ↑ higher is better, "
        "otherwise closer to gold is better)</h4>",
        table_html(results_table(report)),
        "<h4>Gap to gold (method − gold)</h4>",
        table_html(gap_table(report)),
    ]
    skipped = skipped_methods(report)
    if skipped:
        parts.append('<p class="note">skipped: ' + "; ".join(f"<code>{_e(n)}</code>: {_e(r)}" for n, r in skipped) + "</p>")
    for note in report["notes"]:
        parts.append(f'<p class="note">note: {_e(note)}</p>')
    return "\n".join(parts)


def _section_html(section: Section, level: int) -> str:
    tag = f"h{min(level, 6)}"
    parts = [f"<section><{tag}>{_e(section.title)}</{tag}>"]
    if section.text:
        parts.append(f"<p>{_e(section.text)}</p>")
    if section.error:
        parts.append(f'<div class="error">{_e(section.error)}</div>')
    if section.report is not None:
        parts.append(report_html(section.report))
    if section.plots:
        images = "".join(
            f'<img src="{_e(Path(path).as_posix())}" alt="{_e(section.title)}: {_e(name)}">'
            for name, path in section.plots.items()
        )
        parts.append(f'<div class="plots">{images}</div>')
    if section.links:
        links = " · ".join(f'<a href="{_e(Path(p).as_posix())}">{_e(label)}</a>' for label, p in section.links.items())
        parts.append(f'<p class="meta">{links}</p>')
    parts.extend(_section_html(child, level + 1) for child in section.children)
    parts.append("</section>")
    return "\n".join(parts)


def render_page(title: str, sections: list[Section], *, intro: str | None = None, footer: str | None = None) -> str:
    """The complete HTML page (inline CSS, no scripts).

    Args:
        title: page title and top heading.
        sections: top-level sections (``<h2>``), each with its children one level down.
        intro: an optional paragraph under the title.
        footer: an optional line at the bottom (e.g. versions and device).
    """
    body = [f"<h1>{_e(title)}</h1>"]
    if intro:
        body.append(f"<p>{_e(intro)}</p>")
    if len(sections) > 1:
        items = "".join(f"<li>{_e(s.title)}</li>" for s in sections)
        body.append(f'<ul class="meta">{items}</ul>')
    body.extend(_section_html(section, 2) for section in sections)
    if footer:
        body.append(f"<footer>{_e(footer)}</footer>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def environment_footer(report: dict[str, Any]) -> str:
    """One line naming the packages, device and threads a report was produced with."""
    env = report["environment"]
    packages = ", ".join(f"{name} {version}" for name, version in env.get("packages", {}).items())
    return (
        f"python {env.get('python', '?')} · {packages} · device {env.get('device', '?')} · "
        f"torch threads {env.get('torch_threads', '?')} · {report.get('created', '')}"
    )


def write_page(
    path: str | os.PathLike,
    title: str,
    sections: list[Section],
    *,
    intro: str | None = None,
    footer: str | None = None,
) -> Path:
    """Render :func:`render_page` and write it atomically to ``path``."""
    path = Path(path)
    atomic_write_text(path, render_page(title, sections, intro=intro, footer=footer))
    return path
