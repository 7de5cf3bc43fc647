"""``obliviate forget``: apply one unlearning method to a user's saved model and certify it."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from obliviate.cli._common import catch_user_errors, fail, parse_params, scenario_options, stdout_console

EPILOG = """Examples:

  obliviate forget --task classification --model-file mine.safetensors --factory mynet:build --data data.csv --label-column label --id-column id --split-column split --forget ids:ids.txt --method finetune --out deletion/

  obliviate forget --task classification --model-file model.safetensors --model cnn --dataset digits --forget class:3 --method ssd --out forgotten/

  obliviate forget --task llm --model-dir my-hf-model/ --data qa.jsonl --forget ids:facts.txt --method unstar --out forgotten/

Writes DIR/model.safetensors (the unlearned weights) and DIR/certificate.json (hashes of the
weights before and after and of the forget set, the method and its parameters, the audit,
what reproduces the request). Both land or neither; nothing is overwritten without --force.
Check them later with `obliviate verify DIR/certificate.json --model DIR/model.safetensors`."""


@catch_user_errors
def forget(
    model_file: Path | None = typer.Option(None, "--model-file", help="The trained model's weights (safetensors)."),
    model_dir: Path | None = typer.Option(
        None, "--model-dir", help="LLM: a local Hugging Face causal-LM folder (model + tokenizer) instead of --model-file."
    ),
    forget_spec: str = typer.Option(
        ..., "--forget", help="What to forget: ids:FILE (values of your id column), class:3, random:0.1, ..."
    ),
    method: str = typer.Option(..., "--method", help="Unlearning method (see `obliviate methods TASK`)."),
    out: Path = typer.Option(..., "--out", help="Folder for model.safetensors and certificate.json."),
    task: str = typer.Option("classification", "--task", help="Task of the model."),
    model: str | None = typer.Option(
        None, "--model", "--recipe", help="Built-in network recipe the weights belong to (e.g. cnn, mlp)."
    ),
    factory: str | None = typer.Option(
        None, "--factory", help="Your network instead of a recipe: package.module:callable building it untrained."
    ),
    dataset: str | None = typer.Option(None, "--dataset", help="Built-in data set the model was trained on."),
    data: Path | None = typer.Option(None, "--data", help="Your data: a .csv, .parquet or .npz file."),
    label_column: str | None = typer.Option(None, "--label-column", help="Label column of --data."),
    id_column: str | None = typer.Option(None, "--id-column", help="Id column of --data (what ids:FILE names)."),
    split_column: str | None = typer.Option(
        None, "--split-column", help="Column of --data whose 'test' rows were never trained on."
    ),
    test: Path | None = typer.Option(None, "--test", help="A held-out file in the format of --data (instead of a split column)."),
    standardize: bool = typer.Option(False, "--standardize", help="Standardise --data's features (off: used as given)."),
    ids_of: str | None = typer.Option(
        None, "--ids-of", help="Graph: whether ids:FILE names nodes (default) or edges (columns of edge_index)."
    ),
    option: list[str] | None = typer.Option(
        None, "--option", help="Any other scenario option KEY=VALUE, repeatable (e.g. --option records=server/records)."
    ),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Seed of the method (and of built-in data splits)."),
    set_: list[str] | None = typer.Option(None, "--set", help="Hyper-parameter PARAM=VALUE, repeatable."),
    params: str = typer.Option("default", "--params", help="Hyper-parameter preset: default or paper."),
    gold: bool = typer.Option(False, "--gold", help="Also retrain from scratch and record the gap to gold."),
    force: bool = typer.Option(False, "--force", help="Overwrite model.safetensors / certificate.json in --out."),
    sign_key: Path | None = typer.Option(
        None, "--sign-key", help="Sign the certificate with this Ed25519 private key (PEM, unencrypted)."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the certificate JSON on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress messages."),
) -> None:
    """Make a saved model forget data with one method; write the new weights and a certificate."""
    from obliviate.bench.forget import forget_saved_model

    if data is not None and dataset is not None:
        fail("give either --dataset (built-in data) or --data (your file), not both")
    if data is None and any(v is not None for v in (label_column, id_column, split_column, test)):
        fail("--label-column, --id-column, --split-column and --test describe --data; give --data too")
    fields = {"label_column": label_column, "id_column": id_column, "split_column": split_column,
              "test": str(test) if test else None, "standardize": standardize or None}
    options = scenario_options(task, forget_spec, option=option, model=model, factory=factory, dataset=dataset,
                               data=data, data_fields=fields)
    if ids_of is not None:
        options["ids_of"] = ids_of
    if model_dir is not None:
        options["model_dir"] = str(model_dir)
        model_file = model_file or model_dir / "model.safetensors"
    if model_file is None:
        fail("give --model-file (saved weights) or, for --task llm, --model-dir (a Hugging Face model folder)")
    outcome = forget_saved_model(
        task,
        model_file=model_file,
        method=method,
        params=parse_params(set_, method),
        param_preset=params,
        options=options,
        seed=seed,
        out_dir=out,
        with_gold=gold,
        force=force,
        sign_key=sign_key,
        progress=not quiet and not json_output,
    )
    if json_output:
        typer.echo(json.dumps(outcome.certificate, indent=2, sort_keys=True))
        return
    console = stdout_console()
    console.print(f"{task}/{method}: {outcome.seconds:.2f} s", markup=False, highlight=False)
    for name, entry in outcome.certificate["audit"].items():
        value = entry.get("value")
        gap = entry.get("gap_to_gold")
        if value is None and name in outcome.notes:
            text = f"  {name}: {outcome.notes[name]}"
        else:
            text = f"  {name}: {value:.4f}" if isinstance(value, float) else f"  {name}: {value}"
        if isinstance(gap, float):
            text += f" (gap to gold {gap:+.4f})"
        console.print(text, markup=False, highlight=False)
    console.print(f"wrote {outcome.model_path} and {outcome.certificate_path}", markup=False, highlight=False)
