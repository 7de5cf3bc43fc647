"""``obliviate demo``: bench every task's demo configurations and write one web page."""

from __future__ import annotations

from pathlib import Path

import typer

from obliviate.cli._common import catch_user_errors, parse_list

EPILOG = """Examples:

  obliviate demo --out reports/demo

  obliviate demo --out /tmp/demo --tasks classification --quick

Writes DIR/index.html (one section per task) and DIR/<task>/<config>/report.json, report.md, plots/."""


@catch_user_errors
def demo(
    out: Path = typer.Option(Path("reports/demo"), "--out", help="Folder for index.html and the per-task reports."),
    tasks: str | None = typer.Option(None, "--tasks", help="Comma-separated tasks (default: every benchable task)."),
    quick: bool = typer.Option(False, "--quick", help="First configuration per task, one seed, reduced training."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Run every benchable task's demo configurations and write OUT/index.html.

    Exits with code 1 when a section failed (the page still shows the others).
    """
    from obliviate.bench.demo import run_demo

    def log(line: str) -> None:
        typer.echo(line, err=True)

    result = run_demo(out, tasks=parse_list(tasks), quick=quick, progress=not quiet, log=log)
    typer.echo(f"wrote {result.index} ({len(result.sections)} sections, {result.seconds:.0f} s)", err=True)
    if result.failures:
        typer.echo(f"error: {len(result.failures)} demo section(s) failed; see {result.index}", err=True)
        raise typer.Exit(code=1)
