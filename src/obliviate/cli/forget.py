"""``obliviate forget``: apply one unlearning method to a user's saved model and certify it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from obliviate.cli._common import catch_user_errors, parse_params, stdout_console

EPILOG = """Example:

  obliviate forget --task classification --model-file model.safetensors --recipe cnn --dataset digits --forget class:3 --method ssd --out forgotten/

Writes DIR/model.safetensors (the unlearned weights) and DIR/certificate.json (hashes of the
weights before and after and of the forget set, the method and its parameters, the audit)."""


@catch_user_errors
def forget(
    model_file: Path = typer.Option(..., "--model-file", help="The trained model's weights (safetensors)."),
    forget_spec: str = typer.Option(..., "--forget", help="What to forget, e.g. class:3, random:0.1, ids:forget.txt."),
    method: str = typer.Option(..., "--method", help="Unlearning method (see `obliviate methods TASK`)."),
    out: Path = typer.Option(..., "--out", help="Folder for model.safetensors and certificate.json."),
    task: str = typer.Option("classification", "--task", help="Task of the model."),
    recipe: str | None = typer.Option(None, "--recipe", help="Network recipe the weights belong to (e.g. cnn, mlp)."),
    dataset: str | None = typer.Option(None, "--dataset", help="Data set the model was trained on."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the data split and of the method."),
    set_: list[str] | None = typer.Option(None, "--set", help="Hyper-parameter PARAM=VALUE, repeatable."),
    gold: bool = typer.Option(False, "--gold", help="Also retrain from scratch and record the gap to gold."),
    json_output: bool = typer.Option(False, "--json", help="Print the certificate JSON on stdout."),
) -> None:
    """Make a saved model forget data with one method; write the new weights and a certificate."""
    from obliviate.bench.forget import forget_saved_model

    options: dict[str, Any] = {"forget": forget_spec}
    if dataset is not None:
        options["dataset"] = dataset
    if recipe is not None:
        options["model"] = recipe
    outcome = forget_saved_model(
        task,
        model_file=model_file,
        method=method,
        params=parse_params(set_, method),
        options=options,
        seed=seed,
        out_dir=out,
        with_gold=gold,
    )
    if json_output:
        typer.echo(json.dumps(outcome.certificate, indent=2, sort_keys=True))
        return
    console = stdout_console()
    console.print(f"{task}/{method}: {outcome.seconds:.2f} s", markup=False, highlight=False)
    for name, entry in outcome.certificate["audit"].items():
        value = entry.get("value")
        gap = entry.get("gap_to_gold")
        text = f"  {name}: {value:.4f}" if isinstance(value, float) else f"  {name}: {value}"
        if isinstance(gap, float):
            text += f" (gap to gold {gap:+.4f})"
        console.print(text, markup=False, highlight=False)
    console.print(f"wrote {outcome.model_path} and {outcome.certificate_path}", markup=False, highlight=False)
