"""The ``obliviate`` command: one typer app, one module per command group.

Commands: ``bench`` (methods vs retraining on a task), ``methods`` (what is registered),
``forget`` (unlearn a saved model and certify it), ``audit`` (the bench's figures for any
saved model), ``verify`` (check a certificate or a
chain of them), ``demo`` (every task, one web page).
"""

from __future__ import annotations

import typer

from obliviate.cli import audit, bench, demo, forget, methods, verify

app = typer.Typer(
    name="obliviate",
    help="Make trained models forget data on request, prove that they forgot, and report it.",
    epilog="Example: obliviate bench classification --forget class:3 --methods finetune --seeds 1",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

app.command("bench", epilog=bench.EPILOG, no_args_is_help=True)(bench.bench)
app.command("methods", epilog=methods.EPILOG)(methods.list_methods)
app.command("forget", epilog=forget.EPILOG, no_args_is_help=True)(forget.forget)
app.command("audit", epilog=audit.EPILOG, no_args_is_help=True)(audit.audit)
app.command("demo", epilog=demo.EPILOG)(demo.demo)

# Data valuation; the module is light, the valuation package loads only when the command runs.
from obliviate.cli import value as value_command  # noqa: E402

app.command("value", epilog=value_command.EPILOG)(value_command.value)
app.command("verify", epilog=verify.EPILOG)(verify.verify)

# ``synth`` imports only typer at load time; pandas and scikit-learn load inside its commands.
from obliviate.cli import synth  # noqa: E402

app.add_typer(synth.app, name="synth")

# ``nas`` imports only typer at load time; torch and the search load inside its command.
from obliviate.cli import nas  # noqa: E402

app.add_typer(nas.app, name="nas")

from obliviate.cli import continual as continual_command  # noqa: E402

app.add_typer(continual_command.app, name="continual")


def _version(value: bool) -> None:
    if value:
        from obliviate import __version__

        typer.echo(f"obliviate {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool | None = typer.Option(
        None, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Make trained models forget data on request, prove that they forgot, and report it."""


if __name__ == "__main__":  # pragma: no cover
    app()
