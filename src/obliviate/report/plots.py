"""Plots of a report, drawn with matplotlib's Agg renderer from the report JSON only.

* ``tradeoff.png``: the first two audit metrics of the report (for classification
  ``forget_accuracy`` against ``retain_accuracy``), one point per method with ± std error
  bars, the gold model as a star and the original model as a cross. With a single metric,
  a bar chart of it (``<metric>.png``) is drawn instead.
* ``speedup.png``: ``gold_seconds / method_seconds`` per method on a log scale, with the
  gold model's 1x as a dashed line.
* ``accuracy_matrix.png``: for streams (continual), each method's accuracy matrix
  (operations x tasks) of the first seed, gold included.

Figures are built with :class:`matplotlib.figure.Figure` and never touch pyplot, so no
global backend is selected and no window opens.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from obliviate.report.schema import GOLD_ROW, ORIGINAL_ROW
from obliviate.report.tables import report_heading, row_label, shown_rows

DPI = 110


def _figure(width: float = 6.4, height: float = 4.6):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _mean(row: dict[str, Any], key: str) -> float | None:
    stat = row.get(key)
    return None if not stat else stat.get("mean")


def _std(row: dict[str, Any], key: str) -> float:
    stat = row.get(key) or {}
    return stat.get("std") or 0.0


def _axis_label(report: dict[str, Any], metric: str) -> str:
    return f"{metric} (higher is better)" if metric in report.get("higher_is_better", []) else metric


def save_figure(figure, path: str | os.PathLike, *, dpi: float | None = None) -> Path:
    """Write a matplotlib figure as PNG at ``path`` atomically (rendered in memory, then
    written under a temporary name and renamed; no software tag, so equal figures give equal
    bytes); returns the path."""
    import io

    from obliviate.core.checkpoint import atomic_write_bytes

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None}, **({"dpi": dpi} if dpi else {}))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def plot_tradeoff(report: dict[str, Any], path: str | os.PathLike) -> Path | None:
    """Scatter of the report's first two metrics per method (gold starred); ``None`` if fewer
    than two metrics have values."""
    rows = shown_rows(report)
    metrics = [m for m in report["metrics"] if any(_mean(row, m) is not None for row in rows)]
    if len(metrics) < 2:
        return None
    x_metric, y_metric = metrics[0], metrics[1]
    figure = _figure()
    axes = figure.add_subplot()
    colours = iter(_palette())
    for row in rows:
        x, y = _mean(row, x_metric), _mean(row, y_metric)
        if x is None or y is None:
            continue
        if row["method"] == GOLD_ROW:
            style = {"marker": "*", "markersize": 18, "color": "#d4a017", "markeredgecolor": "black", "zorder": 4}
        elif row["method"] == ORIGINAL_ROW:
            style = {"marker": "X", "markersize": 11, "color": "#555555", "zorder": 3}
        else:
            style = {"marker": "o", "markersize": 8, "color": next(colours), "zorder": 3}
        axes.errorbar(
            x, y, xerr=_std(row, x_metric), yerr=_std(row, y_metric), linestyle="none", capsize=3,
            label=row_label(row), **style,
        )
        axes.annotate(row_label(row), (x, y), textcoords="offset points", xytext=(6, 5), fontsize=8)
    axes.set_xlabel(_axis_label(report, x_metric))
    axes.set_ylabel(_axis_label(report, y_metric))
    axes.set_title(f"{report_heading(report)}\n{x_metric} vs {y_metric}", fontsize=10)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=7, loc="best", framealpha=0.8)
    return save_figure(figure, path)


def plot_metric_bars(report: dict[str, Any], metric: str, path: str | os.PathLike) -> Path | None:
    """Bar chart of one metric per row (± std); ``None`` if no row has a value."""
    rows = [row for row in shown_rows(report) if _mean(row, metric) is not None]
    if not rows:
        return None
    figure = _figure()
    axes = figure.add_subplot()
    positions = range(len(rows))
    axes.bar(
        positions, [_mean(r, metric) for r in rows], yerr=[_std(r, metric) for r in rows], capsize=3,
        color=[_row_colour(r) for r in rows],
    )
    axes.set_xticks(list(positions), [row_label(r) for r in rows], rotation=30, ha="right")
    axes.set_ylabel(_axis_label(report, metric))
    axes.set_title(f"{report_heading(report)}\n{metric}", fontsize=10)
    axes.grid(True, axis="y", alpha=0.3)
    return save_figure(figure, path)


def plot_speedup(report: dict[str, Any], path: str | os.PathLike) -> Path | None:
    """Bar chart of speedup over retraining per method on a log scale; ``None`` when no method
    besides gold has a speedup."""
    rows = [row for row in shown_rows(report) if _mean(row, "speedup") is not None]
    if not any(row["method"] != GOLD_ROW for row in rows):
        return None
    figure = _figure()
    axes = figure.add_subplot()
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    values = [_mean(r, "speedup") for r in rows]
    positions = list(range(len(rows)))
    # Bars grow from 1x (the gold model), upwards for faster methods, downwards for slower.
    axes.bar(positions, [v - 1.0 for v in values], bottom=1.0, color=[_row_colour(r) for r in rows])
    for position, value in zip(positions, values, strict=True):
        axes.annotate(f"{value:.1f}x", (position, value), textcoords="offset points",
                      xytext=(0, 3 if value >= 1 else -11), ha="center", fontsize=8)
    axes.axhline(1.0, color="black", linestyle="--", linewidth=1, label="gold (retrain) = 1x")
    axes.set_yscale("log")
    axes.set_ylim(min(min(values), 1.0) / 1.6, max(max(values), 1.0) * 1.6)
    axes.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}x"))
    axes.yaxis.set_minor_formatter(NullFormatter())
    axes.set_xticks(positions, [row_label(r) for r in rows], rotation=30, ha="right")
    axes.set_ylabel("speedup = gold seconds / method seconds (log)")
    axes.set_title(f"{report_heading(report)}\nspeedup over retraining from scratch", fontsize=10)
    axes.grid(True, axis="y", which="both", alpha=0.3)
    axes.legend(fontsize=8)
    return save_figure(figure, path)


def plot_report(report: dict[str, Any], out_dir: str | os.PathLike) -> dict[str, Path]:
    """Draw every plot of ``report`` into ``out_dir``.

    Returns:
        ``{name: path}`` of the files written (``tradeoff`` or the single metric's name,
        and ``speedup`` when methods were timed).
    """
    out_dir = Path(out_dir)
    written: dict[str, Path] = {}
    tradeoff = plot_tradeoff(report, out_dir / "tradeoff.png")
    if tradeoff is not None:
        written["tradeoff"] = tradeoff
    else:
        rows = shown_rows(report)
        metrics = [m for m in report["metrics"] if any(_mean(row, m) is not None for row in rows)]
        if metrics:
            bars = plot_metric_bars(report, metrics[0], out_dir / f"{metrics[0]}.png")
            if bars is not None:
                written[metrics[0]] = bars
    speed = plot_speedup(report, out_dir / "speedup.png")
    if speed is not None:
        written["speedup"] = speed
    matrices = plot_accuracy_matrices(report, out_dir / "accuracy_matrix.png")
    if matrices is not None:
        written["accuracy_matrix"] = matrices
    return written


def plot_accuracy_matrices(report: dict[str, Any], path: str | os.PathLike) -> Path | None:
    """One panel per method (gold first): rows are the stream's operations, columns its
    tasks, cells the test accuracy on a task's classes after an operation (first seed's runs
    whose ``info`` holds an ``accuracy_matrix``); ``None`` when no run has one."""
    seeds = report.get("seeds") or [None]
    runs = [r for r in report.get("runs", [])
            if r.get("seed") == seeds[0] and (r.get("info") or {}).get("accuracy_matrix")]
    if not runs:
        return None
    runs.sort(key=lambda r: r["method"] != GOLD_ROW)
    figure = _figure(width=2.7 * len(runs) + 0.6, height=3.3)
    axes = figure.subplots(1, len(runs), squeeze=False)[0]
    image = None
    for ax, run in zip(axes, runs):
        matrix = [[float("nan") if v is None else v for v in row] for row in run["info"]["accuracy_matrix"]]
        image = ax.imshow(matrix, vmin=0, vmax=1, cmap="viridis")
        operations = run["info"].get("operations") or []
        if len(operations) != len(matrix):
            operations = [str(i) for i in range(len(matrix))]
        ax.set_yticks(range(len(matrix)), operations, fontsize=7)
        ax.set_xticks(range(len(matrix[0])), [f"t{k}" for k in range(len(matrix[0]))], fontsize=7)
        for i, row in enumerate(matrix):
            for j, value in enumerate(row):
                if value == value:
                    ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6,
                            color="w" if value < 0.5 else "k")
        ax.set_title(row_label(run), fontsize=9)
    figure.colorbar(image, ax=list(axes), shrink=0.8, label="task accuracy")
    figure.suptitle(f"{report_heading(report)}: accuracy after each operation", fontsize=9)
    return save_figure(figure, path)


def _palette() -> list[str]:
    from matplotlib import colormaps

    colours = colormaps["tab10"].colors
    # Skip tab10's olive and grey, which read like the gold and original markers.
    return [_hex(c) for i, c in enumerate(colours) if i not in (7, 8)] * 4


def _hex(colour: tuple[float, ...]) -> str:
    return "#" + "".join(f"{round(c * 255):02x}" for c in colour[:3])


def _row_colour(row: dict[str, Any]) -> str:
    return {GOLD_ROW: "#d4a017", ORIGINAL_ROW: "#555555"}.get(row["method"], "#1f77b4")
