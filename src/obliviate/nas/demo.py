"""The architecture-search section of ``make demo``: built-in stand-in data, under a minute on one thread.

:func:`run_demo_section` runs EmoNAS twice on data bundled with scikit-learn (stand-ins for
facial data, which users load with :mod:`obliviate.nas.data`):

* macro: a DARTS search on 1,000 of the digit images (test split never searched), the derived network
  retrained beside a random architecture from the same space and a hand-designed CNN;
* micro: ``digits-motion`` clips turned into dynamic images, searched on held-out subjects and
  scored leave-one-subject-out (UF1, UAR), with the mean-frame control.

It writes::

    out_dir/table.md            both tables (Markdown)
    out_dir/report.json         {"macro": ..., "micro": ...}
    out_dir/scores.png          accuracy / UF1 per network
    out_dir/dynamic_images.png  one clip per motion: first and last frame, mean, dynamic image
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from obliviate.core.checkpoint import atomic_write_text
from obliviate.nas.data import MOTION_CLASSES, SequenceData, load_digits_images, make_digits_motion
from obliviate.nas.pipeline import LABELS, render_table, run_holdout, run_loso
from obliviate.nas.rank_pooling import dynamic_image, mean_image
from obliviate.report.plots import save_figure


def _plot_scores(macro: dict[str, Any], micro: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, report, key, title in (
        (axes[0], macro, "accuracy", "macro (digits): test accuracy"),
        (axes[1], micro, "uf1", "micro (digits-motion, LOSO): UF1"),
    ):
        names = list(report["models"])
        values = [report["models"][n][key] for n in names]
        ax.barh([LABELS.get(n, n) for n in names], values, color="#4c72b0")
        ax.axvline(report["chance"], color="grey", linestyle="--", label="chance")
        ax.set_xlim(0, 1)
        ax.set_title(title, fontsize=10)
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path


def _plot_dynamic_images(clips: SequenceData, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(MOTION_CLASSES), 4, figsize=(6, 1.6 * len(MOTION_CLASSES)))
    for row, label in enumerate(range(len(MOTION_CLASSES))):
        clip = clips.clips[int(np.flatnonzero(clips.labels == label)[0])]
        panels = (clip[0], clip[-1], mean_image(clip), dynamic_image(clip))
        for col, (image, name) in enumerate(
            zip(panels, ("first frame", "last frame", "mean frame", "dynamic image"))
        ):
            ax = axes[row, col]
            ax.imshow(
                image,
                cmap="gray" if col < 3 else "coolwarm",
                vmin=None if col < 3 else -1,
                vmax=None if col < 3 else 1,
            )
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(name, fontsize=8)
            if col == 0:
                ax.set_ylabel(MOTION_CLASSES[label], fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path


def run_demo_section(
    out_dir: str | os.PathLike, *, progress: bool = False, quick: bool = False, seed: int = 0
) -> dict[str, Any]:
    """Run the EmoNAS demo on the built-in stand-ins and write its tables and plots into ``out_dir``.

    Args:
        out_dir: folder for the files (created).
        progress: show progress bars.
        quick: fewer images, epochs and subjects, 12x12 clips (a smoke test, not a result).
        seed: seeds data, search and training.

    Returns:
        ``{"title", "seconds", "table_markdown", "summary" (rows: name, dataset, network,
        metric, score, parameters, latency_ms), "paths": {"table", "json", "scores_plot", "dynamic_images_plot"},
        "macro", "micro"}``.
    """
    began = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    digits = load_digits_images()
    # a random 1,000 of the 1,797 digits (400 when quick) keeps the section under a minute
    keep = np.random.default_rng(seed).permutation(digits.labels.size)[: 400 if quick else 1000]
    digits = digits.subset(np.sort(keep))
    macro = run_holdout(
        digits,
        epochs=3 if quick else 8,
        search_epochs=1 if quick else 4,
        seed=seed,
        latency_repeats=10,
        progress=progress,
    )
    clips = make_digits_motion(
        subjects=4 if quick else 6, clips_per_class=5 if quick else 8, size=12 if quick else 16, seed=seed
    )
    searched_on = ["s03"] if quick else ["s04", "s05"]
    micro = run_loso(
        clips,
        search_subjects=searched_on,
        epochs=5 if quick else 8,
        search_epochs=1 if quick else 4,
        seed=seed,
        latency_repeats=10,
        progress=progress,
    )
    macro_table, micro_table = render_table(macro), render_table(micro)
    title = "Architecture search (EmoNAS) on stand-in data: digits (macro) and digits-motion (micro, LOSO)"
    table = f"## Macro: single images\n\n{macro_table}\n\n## Micro: dynamic images of clips, leave-one-subject-out\n\n{micro_table}\n"
    table_path = out / "table.md"
    atomic_write_text(
        table_path,
        f"# {title}\n\nThese data sets stand in for facial-expression data; they are not faces.\n\n{table}",
    )
    json_path = out / "report.json"
    atomic_write_text(json_path, json.dumps({"macro": macro, "micro": micro}, indent=2, default=float) + "\n")
    summary = [
        {"name": f"digits {LABELS[n]} (accuracy)", "dataset": "digits", "network": LABELS[n], "metric": "accuracy", "score": r["accuracy"], "parameters": r["parameters"], "latency_ms": r["latency_ms"]}
        for n, r in macro["models"].items()
    ] + [
        {"name": f"digits-motion {LABELS[n]} (LOSO UF1)", "dataset": "digits-motion (LOSO)", "network": LABELS[n], "metric": "UF1", "score": r["uf1"], "parameters": r["parameters"], "latency_ms": r["latency_ms"]}
        for n, r in micro["models"].items()
    ]  # fmt: skip
    return {
        "title": title,
        "seconds": time.perf_counter() - began,
        "table_markdown": table,
        "summary": summary,
        "paths": {
            "table": table_path,
            "json": json_path,
            "scores_plot": _plot_scores(macro, micro, out / "scores.png"),
            "dynamic_images_plot": _plot_dynamic_images(clips, out / "dynamic_images.png"),
        },
        "macro": macro,
        "micro": micro,
    }
