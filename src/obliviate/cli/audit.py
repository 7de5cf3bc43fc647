"""``obliviate audit``: the bench's audit figures for any saved model on a user's data."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from obliviate.cli._common import catch_user_errors, scenario_options, stdout_console

EPILOG = """Examples:

  obliviate audit --task classification --model-file deletion/model.safetensors --factory mynet:build --data data.csv --label-column label --id-column id --split-column split --forget ids:ids.txt --original mine.safetensors --relearn

  obliviate audit --task classification --model-file model.safetensors --model cnn --dataset digits --forget class:3 --gold gold.safetensors --json"""


@catch_user_errors
def audit(
    model_file: Path = typer.Option(..., "--model-file", help="The weights to audit (safetensors)."),
    forget_spec: str = typer.Option(..., "--forget", help="What should have been forgotten: ids:FILE, class:3, ..."),
    task: str = typer.Option("classification", "--task", help="Task of the model."),
    model: str | None = typer.Option(None, "--model", "--recipe", help="Built-in network recipe of the weights."),
    factory: str | None = typer.Option(None, "--factory", help="Your network: package.module:callable."),
    dataset: str | None = typer.Option(None, "--dataset", help="Built-in data set."),
    data: Path | None = typer.Option(None, "--data", help="Your data: a .csv, .parquet or .npz file."),
    label_column: str | None = typer.Option(None, "--label-column", help="Label column of --data."),
    id_column: str | None = typer.Option(None, "--id-column", help="Id column of --data."),
    split_column: str | None = typer.Option(None, "--split-column", help="Split column of --data (train/test)."),
    test: Path | None = typer.Option(None, "--test", help="A held-out file in the format of --data."),
    original: Path | None = typer.Option(None, "--original", help="The model before the deletion (for relearn time)."),
    gold: Path | None = typer.Option(None, "--gold", help="A model retrained without the forget set: adds gaps to gold."),
    relearn: bool = typer.Option(False, "--relearn", help="Also measure relearn time (needs --original)."),
    option: list[str] | None = typer.Option(
        None, "--option", help="Any other scenario option KEY=VALUE, repeatable (e.g. --option records=server/records)."
    ),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Seed of the audit (and of built-in splits)."),
    json_output: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Audit a saved model: the bench's figures on your data, with gaps to a gold model if given."""
    from obliviate.bench.forget import audit_saved_model

    fields = {"label_column": label_column, "id_column": id_column, "split_column": split_column,
              "test": str(test) if test else None}
    options = scenario_options(task, forget_spec, option=option, model=model, factory=factory, dataset=dataset,
                               data=data, data_fields=fields)
    figures, gold_figures, notes = audit_saved_model(
        task, model_file=model_file, options=options, seed=seed, original_file=original, gold_file=gold, relearn=relearn
    )
    if json_output:
        from obliviate.report.schema import jsonable

        payload = {"figures": figures, "gold": gold_figures, "not_applicable": notes}
        typer.echo(json.dumps(jsonable(payload), indent=2, sort_keys=True))
        return
    console = stdout_console()
    for name, value in figures.items():
        if name in notes:
            text = f"{name}: {notes[name]}"
        else:
            text = f"{name}: {value:.4f}"
            if gold_figures is not None and name in gold_figures:
                text += f" (gold {gold_figures[name]:.4f}, gap {value - gold_figures[name]:+.4f})"
        console.print(text, markup=False, highlight=False)
