"""``obliviate value``: value training data with EcoVal or a baseline and score noisy-label detection."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from obliviate.cli._common import catch_user_errors, parse_method_params, stderr_console, stdout_console

EPILOG = """Examples:

  obliviate value --dataset breast_cancer --method ecoval --noise 0.1 --json

  obliviate value --dataset digits --method all --noise 0.1 --set tmc_shapley.n_permutations=20

  obliviate value --csv my_table.csv --target label --method ecoval --noise 0 --values-out values.csv

Prints one row per method: noisy_f1 (F1 of a 2-means split of the values against the
flipped labels), precision_at_noise, model_fits and seconds. With --json, one JSON object
per line. --values-out writes the per-point values (CSV or JSON; one file per method when
several are run, named PATH_<method>.<ext>)."""

COLUMNS = ("method", "noisy_f1", "precision_at_noise", "model_fits", "seconds")


@catch_user_errors
def value(
    dataset: str = typer.Option(
        "breast_cancer", "--dataset", help="breast_cancer, wine, digits (built in) or adult (needs --data-dir or OBLIVIATE_DATA_DIR)."
    ),
    method: str = typer.Option("ecoval", "--method", help="'all' or comma-separated: ecoval, tmc_shapley, knn_shapley, data_oob, loo, random."),
    noise: float = typer.Option(0.1, "--noise", min=0.0, max=0.5, help="Fraction of training labels to flip (0: no detection scores)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the split, the label noise and the methods."),
    n_train: int | None = typer.Option(None, "--n-train", min=2, help="Training points to value (a subsample; default per data set)."),
    csv: Path | None = typer.Option(None, "--csv", help="Your own data: a CSV with a header (used instead of --dataset)."),
    target: str | None = typer.Option(None, "--target", help="Label column of --csv."),
    id_column: str | None = typer.Option(None, "--id-column", help="Identifier column of --csv (default: row number)."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Folder holding adult.data and adult.test (for --dataset adult)."),
    set_: list[str] | None = typer.Option(
        None, "--set", help="Method hyper-parameter METHOD.PARAM=VALUE, repeatable (e.g. --set ecoval.n_bundles=80)."
    ),
    n_jobs: int | None = typer.Option(None, "--n-jobs", help="joblib workers for the model fits (default 1)."),
    values_out: Path | None = typer.Option(None, "--values-out", help="Write per-point values here (.csv or .json)."),
    json_output: bool = typer.Option(False, "--json", help="One JSON object per method on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Value every training point and score how well low values find flipped labels."""
    from obliviate.core.errors import InvalidRequestError
    from obliviate.valuation.data import load, load_csv
    from obliviate.valuation.experiment import resolve_methods, run_detection

    methods = resolve_methods(method)
    params = parse_method_params(set_)
    for name in params:
        resolve_methods([name])
    if csv is not None:
        if not target:
            raise InvalidRequestError("--csv needs --target, the name of the label column")
        data = load_csv(csv, target, id_column=id_column, seed=seed, n_train=n_train)
    else:
        data = load(dataset, seed=seed, data_dir=data_dir, n_train=n_train)
    if noise > 0:
        data = data.with_label_noise(noise, seed=seed)
    rows, results = run_detection(data, methods, seed=seed, params=params, n_jobs=n_jobs, progress=not quiet)
    if values_out is not None:
        for name, result in results.items():
            path = values_out if len(results) == 1 else values_out.with_name(f"{values_out.stem}_{name}{values_out.suffix}")
            result.save(path)
            typer.echo(f"wrote {path}", err=True)
    if json_output:
        for row in rows:
            typer.echo(json.dumps(row))
        return
    from rich.table import Table

    table = Table(title=f"{data.name}: {len(data.train)} training points, label noise {noise:g}, seed {seed}")
    for column in COLUMNS:
        table.add_column(column, justify="left" if column == "method" else "right")
    for row in rows:
        table.add_row(*[_cell(row[column]) for column in COLUMNS])
    stdout_console().print(table)
    if noise == 0:
        stderr_console().print("no label noise: detection scores are not computed (pass --noise 0.1)")


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
