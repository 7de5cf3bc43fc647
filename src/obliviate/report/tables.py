"""Tables of a report: Markdown and rich console tables, rendered from the report JSON only.

Every cell is read from the report's ``summary`` rows; nothing is recomputed. Cells show
``mean ± std`` over seeds (the ``± std`` is left out for a single seed). Two tables are
rendered: the audit figures with cost (seconds, speedup, FLOPs), and the gap to gold
(``method - gold`` per seed, then mean ± std).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from obliviate.report.schema import GOLD_ROW

COST_COLUMNS = ("seconds", "speedup", "flops")
MISSING = "—"


@dataclass(frozen=True)
class Table:
    """A rendered table as text cells: ``headers`` and one list of cells per row.

    ``roles`` gives each row's role (``reference``, ``gold`` or ``method``) for styling.
    """

    headers: list[str]
    rows: list[list[str]]
    roles: list[str]


def format_number(value: float | None, key: str = "") -> str:
    """Format one figure for a table cell.

    ``speedup`` as ``12.3x``, ``seconds`` with two decimals (``0.42``), ``flops`` and
    ``*_flops`` in short scientific notation (``1.2e9``), counts above 1000 with three significant digits,
    and other figures (accuracies, divergences) with three decimals.
    """
    if value is None:
        return MISSING
    if key == "speedup":
        return f"{value:.1f}x" if abs(value) < 100 else f"{value:.0f}x"
    if key == "seconds":
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    if key == "flops" or key.endswith("_flops"):
        if value == 0:
            return "0"
        mantissa, exponent = f"{value:.1e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    if abs(value) >= 1000:
        text = f"{value:.3g}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3f}"
    # -0.0001 rounds to "-0.000": drop the sign of a figure that shows as zero.
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def format_stat(
    stat: dict[str, Any] | None,
    key: str = "",
    *,
    show_std: bool = True,
    signed: bool = False,
    runs: int | None = None,
) -> str:
    """``mean ± std`` of a ``{"mean", "std", "n"}`` statistic (``—`` when missing); with
    ``runs``, a statistic over fewer finite seeds than runs says so: ``0.51 ± 0.02 [2/3]``."""
    text = _format_stat(stat, key, show_std=show_std, signed=signed)
    count = (stat or {}).get("n")
    if runs is not None and count is not None and 0 < count < runs:
        text += f" [{count}/{runs}]"
    return text


def _format_stat(stat: dict[str, Any] | None, key: str, *, show_std: bool, signed: bool) -> str:
    if not stat or stat.get("mean") is None:
        return MISSING
    mean = format_number(stat["mean"], key)
    if signed and stat["mean"] >= 0:
        mean = "+" + mean
    if not show_std or stat.get("std") is None:
        return mean
    return f"{mean} ± {format_number(stat['std'], key)}"


def row_label(row: dict[str, Any]) -> str:
    """The name shown for a summary row (``gold (retrain)`` for the gold row)."""
    return "gold (retrain)" if row["method"] == GOLD_ROW else row["method"]


def metric_header(report: dict[str, Any], metric: str) -> str:
    """Column header: the metric name, with ``↑`` when higher is better."""
    return f"{metric} ↑" if metric in report.get("higher_is_better", []) else metric


def cost_columns(report: dict[str, Any]) -> list[str]:
    """Cost columns that at least one row reports."""
    return [key for key in COST_COLUMNS if any(key in row for row in report["summary"])]


def shown_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Summary rows with at least one completed run (fully skipped methods are listed apart)."""
    return [row for row in report["summary"] if row["runs"] > 0]


def results_table(report: dict[str, Any], metrics: list[str] | None = None) -> Table:
    """Audit figures and cost of every row, as text cells (``metrics``: a subset to show)."""
    metrics = report["metrics"] if metrics is None else metrics
    show_std = len(report["seeds"]) > 1
    costs = cost_columns(report)
    headers = ["method", *(metric_header(report, m) for m in metrics), *costs]
    rows, roles = [], []
    for row in shown_rows(report):
        cells = [row_label(row)]
        cells += [format_stat(row.get(m), m, show_std=show_std, runs=row["runs"]) for m in metrics]
        cells += [format_stat(row.get(k), k, show_std=show_std and k != "flops") for k in costs]
        rows.append(cells)
        roles.append(row["role"])
    return Table(headers, rows, roles)


def gap_table(report: dict[str, Any], metrics: list[str] | None = None) -> Table:
    """Gap to gold (``method - gold``) of every metric (or of ``metrics``), for every row except gold."""
    metrics = report["metrics"] if metrics is None else metrics
    show_std = len(report["seeds"]) > 1
    headers = ["method", *metrics]
    rows, roles = [], []
    for row in shown_rows(report):
        if row["method"] == GOLD_ROW:
            continue
        gaps = row.get("gap_to_gold", {})
        rows.append(
            [row_label(row)]
            + [format_stat(gaps.get(m), m, show_std=show_std, signed=True, runs=row["runs"]) for m in metrics]
        )
        roles.append(row["role"])
    return Table(headers, rows, roles)


def skipped_methods(report: dict[str, Any]) -> list[tuple[str, str]]:
    """``(method, reason)`` for every method skipped on at least one seed."""
    return [(row["method"], row["skipped"]) for row in report["summary"] if row.get("skipped")]


def describe_options(report: dict[str, Any]) -> str:
    """``key=value, ...`` of the scenario options."""
    return ", ".join(f"{key}={value}" for key, value in report["options"].items()) or "defaults"


def report_heading(report: dict[str, Any]) -> str:
    """The report's heading: task and title (or forget spec)."""
    title = report.get("title") or report["options"].get("forget")
    return f"{report['task']}: {title}" if title else report["task"]


def _markdown_cell(text: str) -> str:
    return text.replace("|", "\\|")


def table_markdown(table: Table) -> str:
    """One GitHub-flavoured Markdown table (the gold row in bold)."""
    lines = [
        "| " + " | ".join(_markdown_cell(h) for h in table.headers) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(table.headers) - 1)) + "|",
    ]
    for cells, role in zip(table.rows, table.roles, strict=True):
        cells = [_markdown_cell(c) for c in cells]
        if role == "gold":
            cells[0] = f"**{cells[0]}**"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_markdown(report: dict[str, Any]) -> str:
    """A Markdown document of the report: heading, context, results, gap to gold, skips, notes."""
    seeds = report["seeds"]
    env = report["environment"]
    packages = env.get("packages", {})
    versions = ", ".join(f"{name} {packages[name]}" for name in ("obliviate", "torch") if name in packages)
    lines = [
        f"# {report_heading(report)}",
        "",
        f"- task: `{report['task']}`; options: {describe_options(report)}",
        f"- seeds: {', '.join(str(s) for s in seeds)}; device: {env.get('device', MISSING)}; {versions}",
        f"- {GOLD_ROW}: retraining from scratch on the retain data, timed in the same run; "
        "speedup = gold seconds / method seconds",
        "",
        f"## Results (mean ± std over {len(seeds)} seed{'s' if len(seeds) != 1 else ''})",
        "",
        table_markdown(results_table(report)),
        "",
        "↑ higher is better; for the other metrics the target is the gold row.",
        "",
        "## Gap to gold (method − gold)",
        "",
        table_markdown(gap_table(report)),
    ]
    skipped = skipped_methods(report)
    if skipped:
        lines += ["", "## Skipped", ""]
        lines += [f"- `{name}`: {reason}" for name, reason in skipped]
    if report["notes"]:
        lines += ["", "## Notes", ""]
        lines += [f"- {note}" for note in report["notes"]]
    return "\n".join(lines) + "\n"


def rich_table(report: dict[str, Any], *, gaps: bool = False, max_metrics: int | None = 4):
    """A ``rich.table.Table`` of the results (or, with ``gaps=True``, of the gap to gold).

    A terminal is narrow: only the first ``max_metrics`` metrics are shown (``None``: all),
    with the standard deviation on a second line of each cell; the caption says where
    the others are.
    """
    from rich.table import Table as RichTable
    from rich.text import Text

    metrics = report["metrics"] if max_metrics is None else report["metrics"][:max_metrics]
    table = gap_table(report, metrics) if gaps else results_table(report, metrics)
    seeds = len(report["seeds"])
    caption = f"{GOLD_ROW} = retrain from scratch; mean ± std over {seeds} seed{'s' if seeds != 1 else ''}"
    hidden = len(report["metrics"]) - len(metrics)
    if hidden:
        caption += f"; {hidden} more metric{'s' if hidden != 1 else ''} in report.md and the JSON"
    title = report_heading(report) + (" — gap to gold" if gaps else "")
    rich = RichTable(title=title, caption=caption, header_style="bold")
    for index, header in enumerate(table.headers):
        # Break long snake_case names after underscores rather than mid-word.
        if index == 0:
            rich.add_column(header, justify="left", no_wrap=True)
        else:
            rich.add_column(header.replace("_", "_\n"), justify="right", overflow="fold")
    for cells, role in zip(table.rows, table.roles, strict=True):
        style = {"gold": "bold yellow", "reference": "dim"}.get(role)
        rendered = [Text(cells[0])]
        for cell in cells[1:]:
            mean, separator, std = cell.partition(" ± ")
            text = Text(mean)
            if separator:
                text.append("\n±" + std, style="dim")
            rendered.append(text)
        rich.add_row(*rendered, style=style)
    return rich


def print_report(report: dict[str, Any], *, console=None, gaps: bool = True) -> None:
    """Print the results table (and the gap-to-gold table) with rich, then skips and notes."""
    from rich.console import Console
    from rich.text import Text

    console = console or Console()
    console.print(rich_table(report))
    if gaps:
        console.print(rich_table(report, gaps=True))
    for name, reason in skipped_methods(report):
        console.print(Text.assemble(("skipped ", "yellow"), f"{name}: {reason}"))
    for note in report["notes"]:
        console.print(f"note: {note}", markup=False, highlight=False)

