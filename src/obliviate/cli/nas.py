"""``obliviate nas``: EmoNAS architecture search for facial-expression recognition."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from obliviate.cli._common import catch_user_errors, stderr_console
from obliviate.core.errors import InvalidParameterError

EPILOG_SEARCH = """Examples:

  obliviate nas search --dataset digits --epochs 10 --json

  obliviate nas search --dataset digits-motion --protocol loso --json

  obliviate nas search --dataset fer2013 --path fer2013.csv --size 24 --epochs 10

  obliviate nas search --dataset folder --path ckplus/ --size 32

  obliviate nas search --dataset micro --path casme2/ --labels casme2.csv --protocol loso --size 32

digits and digits-motion are built-in stand-ins (scikit-learn's digit images, and clips made by
moving and deforming them), not facial data."""

DATASETS = ("digits", "digits-motion", "fer2013", "folder", "micro")

app = typer.Typer(
    name="nas",
    help="Search lightweight expression-recognition networks (EmoNAS: DARTS + dynamic imaging).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _group() -> None:
    """Search lightweight expression-recognition networks (EmoNAS: DARTS + dynamic imaging)."""


@app.command("search", epilog=EPILOG_SEARCH)
@catch_user_errors
def search(
    dataset: str = typer.Option(
        "digits",
        "--dataset",
        help="digits, digits-motion (built-in stand-ins), fer2013 (CSV), folder (a folder per class) or micro (clip folders).",
    ),
    path: Path | None = typer.Option(
        None, "--path", help="The FER2013 CSV, the image folder or the clip folder."
    ),
    labels: Path | None = typer.Option(
        None,
        "--labels",
        help="micro: CSV of subject,clip,label (without it: root/<label>/<subject>/<clip>/).",
    ),
    protocol: str | None = typer.Option(
        None,
        "--protocol",
        help="holdout (single images) or loso (clips; default for digits-motion and micro).",
    ),
    epochs: int = typer.Option(10, "--epochs", min=1, help="Training epochs of each retrained network."),
    search_epochs: int | None = typer.Option(
        None, "--search-epochs", min=1, help="Epochs of the architecture search (default: --epochs)."
    ),
    order: str = typer.Option("first", "--order", help="first or second (DARTS' unrolled hypergradient)."),
    size: int | None = typer.Option(None, "--size", min=4, help="Resize images/frames to SIZE x SIZE."),
    search_subjects: str | None = typer.Option(
        None,
        "--search-subjects",
        help="loso: comma-separated subjects to search on and leave out of the evaluation (default digits-motion: s05,s06,s07; else a search per fold).",
    ),
    seed: int = typer.Option(
        0, "--seed", min=0, help="Seeds splits, initial weights and the random architecture."
    ),
    max_images: int | None = typer.Option(
        None,
        "--max-images",
        min=20,
        help="holdout: use a stratified sample of at most this many images (quick runs on large sets).",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Also write report.json and table.md into this folder."
    ),
    json_output: bool = typer.Option(
        False, "--json", help="Print the report JSON on stdout (the table goes to stderr)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Search a cell, retrain it, and compare it with a random architecture and a hand-designed CNN."""
    from obliviate.core.checkpoint import atomic_write_text
    from obliviate.nas import data as nas_data
    from obliviate.nas.pipeline import render_table, run_holdout, run_loso

    if dataset not in DATASETS:
        raise InvalidParameterError(f"--dataset must be one of {', '.join(DATASETS)}; got {dataset!r}")
    clip_data = dataset in ("digits-motion", "micro")
    chosen = protocol or ("loso" if clip_data else "holdout")
    if chosen not in ("holdout", "loso"):
        raise InvalidParameterError(f"--protocol must be holdout or loso; got {chosen!r}")
    if chosen == "loso" and not clip_data:
        raise InvalidParameterError(
            f"--protocol loso needs clips with subject ids (--dataset digits-motion or micro); {dataset} has no subjects"
        )
    if dataset in ("fer2013", "folder", "micro") and path is None:
        raise InvalidParameterError(f"--dataset {dataset} needs --path")

    def sample(images):
        if max_images is None or images.labels.size <= max_images:
            return images
        from obliviate.nas.protocols import stratified_split

        _, keep = stratified_split(images.labels, max_images / images.labels.size, seed)
        return images.subset(keep)

    common = dict(epochs=epochs, search_epochs=search_epochs, order=order, seed=seed, progress=not quiet)
    if dataset == "digits":
        report = run_holdout(sample(nas_data.load_digits_images(size=size)), **common)
    elif dataset == "fer2013":
        report = run_holdout(sample(nas_data.load_fer2013_csv(path, size=size)), **common)
    elif dataset == "folder":
        report = run_holdout(sample(nas_data.load_image_folder(path, size=size)), **common)
    else:
        clips = (
            nas_data.make_digits_motion(subjects=8, clips_per_class=8, seed=seed, size=size or 16)
            if dataset == "digits-motion"
            else nas_data.load_micro_sequences(path, labels, size=size)
        )
        held = (
            [s.strip() for s in search_subjects.split(",") if s.strip()]
            if search_subjects
            else (["s05", "s06", "s07"] if dataset == "digits-motion" else None)
        )
        if chosen == "loso":
            report = run_loso(clips, search_subjects=held, **common)
        else:
            report = run_holdout(sample(clips.to_images("dynamic")), **common)
    table = render_table(report)
    typer.echo(table, err=json_output)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "report.json", json.dumps(report, indent=2, default=float) + "\n")
        atomic_write_text(out / "table.md", table + "\n")
        stderr_console().print(
            f"wrote {out / 'report.json'}, {out / 'table.md'}", markup=False, highlight=False
        )
    if json_output:
        sys.stdout.write(json.dumps(report, indent=2, default=float) + "\n")
