"""The synthetic-data section of ``make demo``: built-in data only, well under a minute on one thread.

:func:`run_demo_section` benches the built-in generators on scikit-learn's breast-cancer table
(569 rows, half for training, half as the holdout reference), scores every sample with
TabSynDex in both modes, follows the ``vae`` generator's training with TabSynDex every 5
epochs, and writes::

    out_dir/table.md              components per generator (Markdown)
    out_dir/report.json           the bench report
    out_dir/components.png        grouped bars of the components
    out_dir/vae_training.png      TabSynDex during the VAE's training
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Sequence

from obliviate.core.checkpoint import atomic_write_text
from obliviate.data.tabular import load_builtin_table
from obliviate.synthetic.bench import _halves, render_table, run_synth_bench, write_bench_files
from obliviate.synthetic.neural import VAEGenerator
from obliviate.synthetic.tracking import TabSynDexTracker, plot_training_curve

DEMO_DATASET = "breast_cancer"
DEMO_GENERATORS = ("bootstrap", "independent", "gaussian_copula", "smote", "vae")
DEMO_EPOCHS = 30


def run_demo_section(
    out_dir: str | os.PathLike,
    *,
    seed: int = 0,
    dataset: str = DEMO_DATASET,
    generators: Sequence[str] = DEMO_GENERATORS,
    epochs: int = DEMO_EPOCHS,
    progress: bool = False,
) -> dict[str, Any]:
    """Run the synthetic-data demo and write its table and plots into ``out_dir``.

    Args:
        out_dir: folder for the files (created).
        seed: seeds the split, the generators and the scoring.
        dataset: a built-in table (``breast_cancer``, ``wine`` or ``diabetes``).
        generators: generators to bench (the default list takes about 20 s on one thread).
        epochs: training epochs of the ``vae`` (bench and training curve).
        progress: show a progress bar.

    Returns:
        ``{"title", "dataset", "seconds", "table_markdown", "paths": {"table", "json",
        "components_plot", "training_plot"}, "summary", "training_curve"}``.
    """
    began = time.perf_counter()
    out = Path(out_dir)
    data = load_builtin_table(dataset)
    report = run_synth_bench(
        data, generators=list(generators), seeds=[seed], epochs=epochs, faithful=True,
        sdmetrics=False, n_jobs=1, progress=progress,
    )  # fmt: skip
    written = write_bench_files(report, out)
    train, _ = _halves(data, None, seed)
    tracker = TabSynDexTracker(
        train, categorical=data.categorical, target=data.target, every=max(1, epochs // 6), seed=seed, n_jobs=1
    )
    VAEGenerator(seed=seed, epochs=epochs).fit(
        train, categorical=data.categorical, target=data.target, callback=tracker
    )
    training_plot = plot_training_curve(
        tracker.history, out / "vae_training.png", title=f"TabSynDex of the vae generator on {dataset}"
    )
    table = render_table(report)
    title = f"Synthetic data: TabSynDex on {dataset} ({report['train_rows']} training rows)"
    table_path = out / "table.md"
    atomic_write_text(table_path, f"# {title}\n\n{table}\n")
    return {
        "title": title,
        "dataset": dataset,
        "seconds": time.perf_counter() - began,
        "table_markdown": table,
        "paths": {
            "table": table_path,
            "json": written["json"],
            "components_plot": written["plot"],
            "training_plot": training_plot,
        },
        "summary": report["summary"],
        "training_curve": tracker.history,
    }
