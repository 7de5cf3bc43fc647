"""``obliviate continual run``: learn a stream of tasks step by step, resumable, with deletions certified by
``obliviate forget --task continual``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from obliviate.cli._common import catch_user_errors, stderr_console, stdout_console

EPILOG_RUN = """Examples:

  obliviate continual run --stream "learn:0-1,learn:2-3,learn:4-5,unlearn:2-3,learn:6-7" --state stream.safetensors

  obliviate forget --task continual --model-file stream.safetensors --forget class:2-3 --method cl_unlearn --out deleted

  obliviate continual run --stream "learn:0-1,learn:2-3,learn:4-5,unlearn:2-3,learn:6-7" --state deleted/model.safetensors --out next.safetensors

  obliviate continual run --data mine.csv --label-column label --split-column split --stream "learn:0-1,learn:2-3" --state mine.safetensors

The run stops before each unlearning step so that the deletion is certified by `obliviate forget --task continual`
(whose output is again a stream state); --apply-deletions applies them here with cl_unlearn, without a certificate."""

app = typer.Typer(
    name="continual",
    help="Continual learning with unlearning: run a stream of learn/unlearn operations, resumable.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


@app.command("run", epilog=EPILOG_RUN, no_args_is_help=True)
@catch_user_errors
def run(
    stream: str = typer.Option(..., "--stream", help="Operations, e.g. 'learn:0-1,learn:2-3,unlearn:2-3'."),
    state: Path = typer.Option(..., "--state", help="Stream-state file (safetensors): resumed when it exists."),
    out: Path | None = typer.Option(None, "--out", help="Write the state here instead of --state (keeps --state unchanged)."),
    dataset: str = typer.Option("digits", "--dataset", help="Built-in data set: digits, or mnist (OBLIVIATE_DATA_DIR)."),
    data: Path | None = typer.Option(None, "--data", help="Your data: a .csv, .parquet or .npz file."),
    label_column: str | None = typer.Option(None, "--label-column", help="Label column of --data."),
    id_column: str | None = typer.Option(None, "--id-column", help="Id column of --data (what ids:FILE names)."),
    split_column: str | None = typer.Option(None, "--split-column", help="Column marking test rows of --data."),
    test: Path | None = typer.Option(None, "--test", help="A held-out file in the format of --data."),
    model: str = typer.Option("mlp", "--model", help="Recipe (mlp, cnn) or a factory package.module:callable."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Seed of the initialisation and every step."),
    epochs: int | None = typer.Option(None, "--epochs", min=1, help="Epochs per learned task (default per data set)."),
    buffer_size: int | None = typer.Option(None, "--buffer-size", min=1, help="Replay-buffer slots (new streams)."),
    apply_deletions: bool = typer.Option(False, "--apply-deletions", help="Apply unlearning steps here (no certificate)."),
    json_output: bool = typer.Option(False, "--json", help="Print the outcome as JSON on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Apply the operations of --stream that --state has not applied yet, saving the state after each one."""
    from obliviate.continual.run import run_stream

    table_options = {"label_column": label_column, "id_column": id_column, "split_column": split_column,
                     "test": str(test) if test else None} if data is not None else {}
    outcome = run_stream(stream, state, dataset=dataset, model=model, seed=seed, epochs=epochs,
                         buffer_size=buffer_size, table=str(data) if data else None,
                         apply_deletions=apply_deletions, out=out, progress=not quiet and not json_output, **table_options)
    from obliviate.report.schema import jsonable

    result = jsonable({"state": str(outcome.state_path), "operations": outcome.operations, "done": outcome.done,
                       "applied": outcome.applied, "accuracy_matrix": outcome.rows,
                       "next_deletion": outcome.next_deletion})
    if json_output:
        stdout_console().print_json(json.dumps(result))
        return
    console = stdout_console()
    for op, row in zip(outcome.operations, outcome.rows):
        console.print(f"{op:>16}  " + "  ".join("  -  " if v != v else f"{v:.3f}" for v in row))
    console.print(f"{outcome.done}/{len(outcome.operations)} operations applied; state in {outcome.state_path}")
    if outcome.next_deletion:
        spec = outcome.next_deletion.removeprefix("unlearn:")
        spec = spec if spec.startswith("ids:") else f"class:{spec}"
        stderr_console().print(
            f"next: {outcome.next_deletion}. Certify it with: obliviate forget --task continual "
            f"--model-file {outcome.state_path} --forget {spec} --method cl_unlearn --out DIR"
            + ("" if data is None else " --data ...")
        )
