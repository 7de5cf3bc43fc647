"""``obliviate bench``: bench a task's methods against retraining from scratch."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from obliviate.cli._common import (
    catch_user_errors,
    parse_method_params,
    parse_options,
    parse_seeds,
    parse_value,
    stderr_console,
    stdout_console,
)
from obliviate.core.errors import InvalidForgetSpecError

EPILOG = """Examples:

  obliviate bench classification --dataset digits --forget class:3 --methods finetune,ssd --seeds 3 --out reports/digits

  obliviate bench classification --forget random:0.1 --methods all --seeds 0,1 --set finetune.epochs=3 --json > report.json

Writes DIR/report.json, DIR/report.md, DIR/plots/*.png and DIR/index.html when --out is given."""


@catch_user_errors
def bench(
    task: str = typer.Argument(..., help="Task to bench: classification, graph, federated, ..."),
    dataset: str | None = typer.Option(None, "--dataset", help="Data set name (task default when left out)."),
    forget: str | None = typer.Option(
        None, "--forget", help="Forget spec, e.g. class:3, random:0.1, ids:forget.txt, client:0, nodes:0.05."
    ),
    methods: str = typer.Option("all", "--methods", help="'all' or comma-separated method names; retrain is always run as gold."),
    seeds: str = typer.Option("3", "--seeds", help="A count (3 runs seeds 0,1,2) or a list of seeds (0,4,7)."),
    seed: int | None = typer.Option(None, "--seed", min=0, max=2**32 - 1, help="Run this one seed (instead of --seeds)."),
    out: Path | None = typer.Option(None, "--out", help="Folder for report.json, report.md, plots and index.html."),
    json_output: bool = typer.Option(False, "--json", help="Print the report JSON on stdout (tables go to stderr)."),
    flops: bool | None = typer.Option(
        None, "--flops/--no-flops", help="Count FLOPs (a separate run on the first seed); default: the task's choice."
    ),
    relearn: bool = typer.Option(False, "--relearn", help="Also measure relearn time where the task's audit offers it."),
    model: str | None = typer.Option(None, "--model", help="Model recipe, e.g. cnn, mlp, gcn."),
    backbone: str | None = typer.Option(None, "--backbone", help="Recommender backbone: mf, vbpr, lightgcn (recommendation)."),
    stream: str | None = typer.Option(
        None, "--stream", help="Operation stream (continual), e.g. learn:0-1,learn:2-3,unlearn:2-3,learn:4-5."
    ),
    epochs: int | None = typer.Option(None, "--epochs", min=1, help="Training epochs of the original and gold models."),
    clients: int | None = typer.Option(None, "--clients", min=1, help="Number of clients (federated)."),
    backdoor: bool = typer.Option(False, "--backdoor", help="Plant a backdoor in the forget data (where the task supports it)."),
    alpha: str | None = typer.Option(None, "--alpha", help="Dirichlet concentration of the client split (federated)."),
    option: list[str] | None = typer.Option(
        None, "--option", help="Any other scenario option KEY=VALUE, repeatable (e.g. --option rounds=5)."
    ),
    set_: list[str] | None = typer.Option(
        None, "--set", help="Method hyper-parameter METHOD.PARAM=VALUE, repeatable (e.g. --set finetune.epochs=3)."
    ),
    params: str = typer.Option(
        "default", "--params", help="Hyper-parameter preset: 'default' (tuned here) or 'paper' (each paper's own settings)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Bench unlearning methods on TASK against retraining from scratch (gold).

    Per seed: train the original model, retrain from scratch as gold (timed), run each method (timed), audit everything; then report mean ± std over seeds, the gap to gold and speedup = gold seconds / method seconds.
    """
    from obliviate.bench.runner import run_bench
    from obliviate.report.files import write_report_files
    from obliviate.report.schema import dumps_report
    from obliviate.report.tables import print_report

    options: dict[str, Any] = {}
    given = {"dataset": dataset, "forget": forget, "model": model, "epochs": epochs, "clients": clients,
             "backbone": backbone, "stream": stream}
    options.update({key: value for key, value in given.items() if value is not None})
    if alpha is not None:
        options["alpha"] = parse_value(alpha)
    if backdoor:
        options["backdoor"] = True
    options.update(parse_options(option))
    try:
        report = run_bench(
            task,
            methods=methods,
            seeds=[seed] if seed is not None else parse_seeds(seeds),
            options=options,
            method_params=parse_method_params(set_),
            param_preset=params,
            count_flops=flops,
            relearn=relearn,
            progress=not quiet,
        )
    except InvalidForgetSpecError as exc:
        if forget is None or forget in str(exc):
            raise
        raise InvalidForgetSpecError(f"bad --forget {forget!r}: {exc}") from exc
    console = stderr_console() if json_output else stdout_console()
    print_report(report, console=console)
    if out is not None:
        written = write_report_files(report, out)
        stderr_console().print(f"wrote {', '.join(str(p) for p in written.values())}", markup=False, highlight=False)
    if json_output:
        sys.stdout.write(dumps_report(report))
        sys.stdout.flush()
