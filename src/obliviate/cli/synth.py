"""``obliviate synth``: score synthetic tables with TabSynDex, and bench generators."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from obliviate.cli._common import catch_user_errors, parse_seeds, stderr_console, stdout_console
from obliviate.core.errors import DataError

EPILOG_SCORE = """Examples:

  obliviate synth score real.csv synthetic.csv --target income --categorical workclass,sex,income

  obliviate synth score real.csv synthetic.csv --target income --categorical sex,income --faithful --json"""

EPILOG_BENCH = """Examples:

  obliviate synth bench --dataset wine --seeds 3 --out reports/synth-wine

  OBLIVIATE_DATA_DIR=../shared/data obliviate synth bench --dataset adult --rows 8000 --generators gaussian_copula,smote --json"""

app = typer.Typer(
    name="synth",
    help="Score synthetic tables with TabSynDex and bench generators of synthetic data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _read_csv(path: Path, what: str):
    import pandas as pd

    if not path.is_file():
        raise DataError(f"{what} file '{path}' does not exist")
    try:
        return pd.read_csv(path)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"cannot read {what} file '{path}' as CSV: {exc}") from exc


@app.command("score", epilog=EPILOG_SCORE, no_args_is_help=True)
@catch_user_errors
def score(
    real: Path = typer.Argument(..., help="CSV of the real table (with a header row)."),
    synth: Path = typer.Argument(..., help="CSV of the synthetic table (same columns)."),
    target: str | None = typer.Option(None, "--target", help="Column the efficacy models predict (default: the last)."),
    categorical: str = typer.Option("", "--categorical", help="Comma-separated categorical columns."),
    target_type: str = typer.Option("auto", "--target-type", help="class, regr or auto (class when the target is categorical)."),
    faithful: bool = typer.Option(False, "--faithful", help="Reproduce the published code's choices (in-sample, its binning and capping)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seeds the held-out splits (default mode)."),
    n_jobs: int = typer.Option(-1, "--n-jobs", help="Threads for the efficacy fits (-1: all cores)."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
) -> None:
    """Score SYNTH against REAL with TabSynDex: the total and its five components, each in [0, 1]."""
    from obliviate.synthetic.score import COMPONENTS, tabsyndex

    real_frame = _read_csv(real, "real")
    synth_frame = _read_csv(synth, "synthetic")
    columns = [c.strip() for c in categorical.split(",") if c.strip()]
    result = tabsyndex(
        real_frame, synth_frame, categorical=columns, target=target, target_type=target_type,
        faithful=faithful, seed=seed, n_jobs=n_jobs,
    )  # fmt: skip
    if json_output:
        sys.stdout.write(json.dumps(result.to_dict(details=True), indent=2, default=float) + "\n")
        return
    from rich.table import Table

    mode = "faithful (published code)" if faithful else "default"
    table = Table(title=f"TabSynDex, {mode} mode", title_justify="left")
    table.add_column("component")
    table.add_column("score", justify="right")
    for key in COMPONENTS:
        table.add_row(key, f"{getattr(result, key):.4f}")
    table.add_row("score", f"{result.score:.4f}", style="bold")
    stdout_console().print(table)


@app.command("bench", epilog=EPILOG_BENCH)
@catch_user_errors
def bench(
    dataset: str = typer.Option("adult", "--dataset", help="adult (needs OBLIVIATE_DATA_DIR or --data-dir), wine, diabetes or breast_cancer."),
    generators: str = typer.Option("all", "--generators", help="'all' (every available one) or a comma-separated list."),
    seeds: str = typer.Option("1", "--seeds", help="A count (3 runs seeds 0,1,2) or a list of seeds (0,4,7)."),
    rows: int | None = typer.Option(None, "--rows", min=40, help="Use at most this many rows of the table (halved into train and holdout)."),
    epochs: int = typer.Option(30, "--epochs", min=1, help="Training epochs of the neural generators."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Folder with adult.data and adult.test."),
    faithful: bool = typer.Option(True, "--faithful/--no-faithful", help="Also score in the published code's mode."),
    out: Path | None = typer.Option(
        None, "--out", help="Folder for report.json, report.md and components.png (default reports/synth/DATASET)."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the report JSON on stdout (the table goes to stderr)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Train every available generator on a table and score each with TabSynDex (and SDMetrics when installed)."""
    from obliviate.synthetic.bench import render_table, run_synth_bench, write_bench_files

    parsed = parse_seeds(seeds)
    report = run_synth_bench(
        dataset, generators=generators, seeds=list(range(parsed)) if isinstance(parsed, int) else parsed, rows=rows, data_dir=data_dir,
        epochs=epochs, faithful=faithful, progress=not quiet,
    )  # fmt: skip
    typer.echo(render_table(report), err=json_output)
    written = write_bench_files(report, out if out is not None else Path("reports") / "synth" / report["dataset"])
    stderr_console().print(f"wrote {', '.join(str(p) for p in written.values())}", markup=False, highlight=False)
    if json_output:
        sys.stdout.write(json.dumps(report, indent=2, default=float) + "\n")
