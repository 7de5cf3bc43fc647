"""Following a generator's training with TabSynDex, and the plots of scores.

:class:`TabSynDexTracker` is a ``callback(epoch, generator)``: every ``every`` epochs it samples
the generator and scores the sample against the real table, keeping the curve in
``tracker.history``. :func:`plot_training_curve` draws that curve (total and components);
:func:`plot_components` draws the components of several generators side by side. Figures are
built with matplotlib's Agg canvas (no pyplot, no window) and written atomically.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from obliviate.core.errors import InvalidParameterError
from obliviate.report.plots import save_figure
from obliviate.synthetic.score import COMPONENTS, TabSynDexResult, tabsyndex

DPI = 110


class TabSynDexTracker:
    """Score a generator every ``every`` epochs of its training.

    Args:
        real: the real table the generator learns.
        categorical, target, target_type: as for :func:`~obliviate.synthetic.tabsyndex`.
        every: score at epochs ``every, 2 * every, ...`` (and at epoch 0 for one-shot generators).
        n_samples: rows sampled each time (default: as many as the real table).
        seed: seeds the samples and the scoring.
        score_options: other keyword arguments of :func:`~obliviate.synthetic.tabsyndex`.

    Attributes:
        history: one dict per scored epoch: ``epoch``, ``seconds`` (scoring time) and the
            published keys.
    """

    def __init__(
        self,
        real: pd.DataFrame,
        *,
        categorical: Sequence[str] = (),
        target: str | None = None,
        target_type: str = "auto",
        every: int = 5,
        n_samples: int | None = None,
        seed: int = 0,
        **score_options: Any,
    ):
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise InvalidParameterError(f"TabSynDexTracker: 'every' must be a positive int; got {every!r}")
        self.real = real
        self.categorical = list(categorical)
        self.target = target
        self.target_type = target_type
        self.every = every
        self.n_samples = n_samples
        self.seed = seed
        self.score_options = score_options
        self.history: list[dict[str, Any]] = []

    def __call__(self, epoch: int, generator: Any) -> None:
        if epoch != 0 and epoch % self.every:
            return
        began = time.perf_counter()
        sample = generator.sample(self.n_samples or len(self.real), seed=self.seed + epoch)
        result = tabsyndex(
            self.real,
            sample,
            categorical=self.categorical,
            target=self.target,
            target_type=self.target_type,
            seed=self.seed,
            **self.score_options,
        )
        row = {"epoch": epoch, **result.to_dict(), "seconds": time.perf_counter() - began}
        self.history.append(row)

    def frame(self) -> pd.DataFrame:
        """The history as a DataFrame, one row per scored epoch."""
        return pd.DataFrame(self.history)


def _figure(width: float = 6.4, height: float = 4.2):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def plot_training_curve(history: Sequence[Mapping[str, Any]], path: str | os.PathLike, *, title: str = "") -> Path:
    """Line plot of TabSynDex (thick) and its components (thin) against the training epoch.

    Raises:
        InvalidParameterError: an empty history.
    """
    if not history:
        raise InvalidParameterError("plot_training_curve needs at least one scored epoch; the history is empty")
    epochs = [row["epoch"] for row in history]
    figure = _figure(width=7.4)
    axes = figure.add_subplot()
    for key in COMPONENTS:
        axes.plot(epochs, [row[key] for row in history], marker=".", linewidth=1, label=key.replace("_score", ""))
    axes.plot(epochs, [row["score"] for row in history], color="black", linewidth=2.5, marker="o", label="TabSynDex")
    axes.set_xlabel("epoch")
    axes.set_ylabel("score (higher is better)")
    axes.set_ylim(0, 1.02)
    axes.grid(alpha=0.3)
    figure.legend(fontsize=8, loc="outside right upper")
    axes.set_title(title or "TabSynDex during training")
    return save_figure(figure, path)


def plot_components(
    results: Mapping[str, TabSynDexResult | Mapping[str, float]], path: str | os.PathLike, *, title: str = ""
) -> Path:
    """Grouped bars: per generator, its five components and the total.

    Raises:
        InvalidParameterError: no results.
    """
    if not results:
        raise InvalidParameterError("plot_components needs at least one result")
    names = list(results)
    keys = list(COMPONENTS) + ["score"]
    values = {
        name: (result.to_dict() if isinstance(result, TabSynDexResult) else dict(result)) for name, result in results.items()
    }
    figure = _figure(width=max(7.4, 1.1 * len(names) + 3), height=4.2)
    axes = figure.add_subplot()
    width = 0.8 / len(keys)
    for index, key in enumerate(keys):
        offsets = [i + (index - (len(keys) - 1) / 2) * width for i in range(len(names))]
        heights = [values[name][key] for name in names]
        axes.bar(
            offsets, heights, width=width, label="TabSynDex" if key == "score" else key.replace("_score", ""),
            color="black" if key == "score" else None,
        )  # fmt: skip
    axes.set_xticks(range(len(names)), names, rotation=20)
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("score (higher is better)")
    axes.grid(axis="y", alpha=0.3)
    figure.legend(fontsize=8, loc="outside right upper")
    axes.set_title(title or "TabSynDex components per generator")
    return save_figure(figure, path)
