"""The demo: every benchable task's demo configurations, benched and assembled into one page.

For each task (see :func:`obliviate.bench.tasks.benchable_tasks`) and each of its
:class:`~obliviate.bench.tasks.DemoConfig` s, :func:`run_demo` runs
:func:`~obliviate.bench.runner.run_bench` and writes::

    out_dir/index.html                    one section per task: tables and plots
    out_dir/<task>/<config>/report.json   the report document
    out_dir/<task>/<config>/report.md     its Markdown tables
    out_dir/<task>/<config>/plots/*.png   its plots

Methods named by a configuration but not registered (yet) are left out and noted. A
configuration that fails is shown as an error on the page; the other sections still run.
``quick=True`` runs only the first configuration of each task, on one seed, with the
task's ``quick_options`` (smoke tests).
"""

from __future__ import annotations

import os
import re
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from obliviate.bench.runner import GOLD_METHOD, run_bench
from obliviate.bench.tasks import DemoConfig, TaskSpec, task_spec
from obliviate.core.errors import InvalidRequestError, ObliviateError
from obliviate.core.registry import TASKS
from obliviate.core.registry import methods as registered_methods
from obliviate.report.files import report_section, write_report_files
from obliviate.report.html import Section, environment_footer, write_page


@dataclass
class DemoSection:
    """The outcome of one demo configuration.

    Attributes:
        task, title: which configuration.
        report_dir: where its files were written.
        seconds: wall time of the bench (training, methods and audits).
        report: the report document, or ``None`` when it failed.
        plots: ``{name: path}`` of its plots.
        error: one line saying why it failed, or ``None``.
    """

    task: str
    title: str
    report_dir: Path
    seconds: float
    report: dict[str, Any] | None = None
    plots: dict[str, Path] = field(default_factory=dict)
    error: str | None = None


@dataclass
class DemoResult:
    """What :func:`run_demo` produced: the page, every section, and the total wall time."""

    out_dir: Path
    index: Path
    sections: list[DemoSection]
    seconds: float

    @property
    def failures(self) -> list[DemoSection]:
        """Sections that could not be produced."""
        return [section for section in self.sections if section.error is not None]


def demo_configs(spec: TaskSpec, *, quick: bool = False) -> list[DemoConfig]:
    """The configurations the demo runs for a task (the first one, on one seed, when quick)."""
    if not quick:
        return list(spec.demo)
    return [
        DemoConfig(
            title=config.title,
            options={**config.options, **spec.quick_options},
            methods=config.methods,
            seeds=1,
            method_params=config.method_params,
        )
        for config in spec.demo[:1]
    ]


def slugify(text: str) -> str:
    """A folder name for a title: lower case, runs of other characters as ``-``."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "config"


def run_demo(
    out_dir: str | os.PathLike,
    *,
    tasks: list[str] | None = None,
    quick: bool = False,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> DemoResult:
    """Bench every demo configuration of ``tasks`` and write ``out_dir/index.html``.

    Args:
        out_dir: destination folder.
        tasks: task names (default: every task with bench support, then the companion
            tools of :data:`COMPANIONS`; a task that fails to load is shown as a failed section).
        quick: first configuration per task, one seed, with the task's ``quick_options``.
        progress: show the bench progress bars.
        log: called with one status line per configuration (e.g. print to stderr).

    Returns:
        A :class:`DemoResult`; check ``result.failures``.

    Raises:
        InvalidRequestError: for an unknown task or one without bench support.
    """
    log = log or (lambda line: None)
    out_dir = Path(out_dir)
    specs: dict[str, TaskSpec | str] = {}
    companions = [name for name in COMPANIONS if not tasks or name in tasks]
    if tasks:
        # Fail early on an unknown task.
        specs = {name: task_spec(name) for name in tasks if name not in COMPANIONS}
    else:
        for name in TASKS:
            try:
                specs[name] = task_spec(name)
            except InvalidRequestError:
                continue  # the task has no bench support in this version
            except Exception as exc:  # a task that cannot load is shown as failed, not dropped
                specs[name] = f"cannot load the {name} task: {type(exc).__name__}: {' '.join(str(exc).split())}"
    if not specs and not companions:
        raise InvalidRequestError("no task provides a bench specification; nothing to demo")
    started = time.perf_counter()
    sections: list[DemoSection] = []
    page: list[Section] = []
    for name, spec in specs.items():
        task_started = time.perf_counter()
        if isinstance(spec, str):
            log(f"{name}: FAILED: {spec}")
            sections.append(DemoSection(name, name, out_dir / name, 0.0, error=spec))
            page.append(Section(title=name, error=spec))
            continue
        children = []
        used: set[str] = set()
        for config in demo_configs(spec, quick=quick):
            slug = slugify(config.title)
            while slug in used:
                slug += "-x"
            used.add(slug)
            section = _run_config(spec, config, out_dir / name / slug, progress=progress)
            sections.append(section)
            if section.error is None:
                log(f"{name}: {config.title}: {section.seconds:.1f} s")
                children.append(
                    report_section(
                        section.report, report_dir=section.report_dir, page_dir=out_dir,
                        plots=section.plots, title=config.title,
                    )
                )
                children[-1].text = f"{section.seconds:.1f} s (training, methods and audits)"
            else:
                log(f"{name}: {config.title}: FAILED: {section.error}")
                children.append(Section(title=config.title, error=section.error))
        task_seconds = time.perf_counter() - task_started
        count = len(children)
        page.append(
            Section(
                title=name,
                text=f"{count} configuration{'s' if count != 1 else ''}, {task_seconds:.1f} s in all",
                children=children,
            )
        )
    for name in companions:
        section, page_section = _run_companion(name, out_dir, quick=quick, progress=progress)
        log(f"{name}: {'FAILED: ' + section.error if section.error else f'{section.seconds:.1f} s'}")
        sections.append(section)
        page.append(page_section)
    total = time.perf_counter() - started
    reports = [s.report for s in sections if s.report is not None]
    index = write_page(
        out_dir / "index.html",
        "obliviate demo",
        page,
        intro=(
            "Each table benches unlearning methods against the gold model (retraining from scratch on "
            "the retain data), on the same data and seed, with wall time measured in the same run. "
            + ("Quick mode: first configuration only, one seed, reduced training. " if quick else "")
            + f"Total: {total:.0f} s."
        ),
        footer=environment_footer(reports[0]) if reports else None,
    )
    return DemoResult(out_dir=out_dir, index=index, sections=sections, seconds=total)


COMPANIONS = {
    "valuation": ("obliviate.valuation.demo", "data valuation (EcoVal and Shapley-family baselines)"),
    "synthetic": ("obliviate.synthetic.demo", "synthetic tabular data (TabSynDex)"),
    "nas": ("obliviate.nas.demo", "architecture search for facial expressions (EmoNAS, on stand-in data)"),
}
"""Companion tools (no gold model, no forget) with a demo section: ``run_demo_section(out_dir)``
of their ``demo`` module returns a dict holding a ``summary`` and the paths it wrote."""


def _paths(value: Any) -> list[Path]:
    if isinstance(value, (str, os.PathLike)) and Path(value).suffix in (".png", ".md", ".json", ".csv"):
        return [Path(value)]
    if isinstance(value, dict):
        return [p for item in value.values() for p in _paths(item)]
    if isinstance(value, (list, tuple)):
        return [p for item in value for p in _paths(item)]
    return []


def _summary_text(summary: Any) -> str:
    """One line from a companion's summary: its text, or ``name score`` per summary row."""
    if isinstance(summary, str):
        return summary
    if isinstance(summary, list):
        parts = []
        for row in summary:
            if isinstance(row, dict):
                label = next((row[k] for k in ("generator", "method", "name") if k in row), None)
                score = row.get("score")
                score = score.get("mean") if isinstance(score, dict) else score
                if label is not None and isinstance(score, (int, float)):
                    parts.append(f"{label} {score:.3f}")
        return ("scores: " + ", ".join(parts)) if parts else ""
    return ""


def _run_companion(name: str, out_dir: Path, *, quick: bool, progress: bool) -> tuple[DemoSection, Section]:
    """Run a companion tool's demo section and describe it for the page."""
    import importlib
    import inspect

    module_name, title = COMPANIONS[name]
    started = time.perf_counter()
    folder = out_dir / name
    try:
        run = importlib.import_module(module_name).run_demo_section
        kwargs: dict[str, Any] = {"progress": False}
        if quick and "quick" in inspect.signature(run).parameters:
            kwargs["quick"] = True
        outcome = run(folder, **kwargs)
    except Exception as exc:  # a bug in one tool must not hide the others' results
        error = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
        return DemoSection(name, title, folder, time.perf_counter() - started, error=error), Section(title=title, error=error)
    seconds = time.perf_counter() - started
    files = [p if p.is_absolute() else Path.cwd() / p for p in _paths(outcome)]
    plots = {p.stem: os.path.relpath(p, out_dir) for p in files if p.suffix == ".png" and p.exists()}
    links = {p.name: os.path.relpath(p, out_dir) for p in files if p.suffix != ".png" and p.exists()}
    text = f"{_summary_text(outcome.get('summary'))} ({seconds:.1f} s)"
    section = DemoSection(name, title, folder, seconds, plots={k: Path(v) for k, v in plots.items()})
    return section, Section(title=title, text=text.strip(), plots=plots, links=links)


def _run_config(spec: TaskSpec, config: DemoConfig, report_dir: Path, *, progress: bool) -> DemoSection:
    started = time.perf_counter()
    try:
        available = set(registered_methods(spec.task))
        chosen = [m for m in config.methods if m in available and m != GOLD_METHOD]
        absent = [m for m in config.methods if m not in available]
        params = {m: p for m, p in config.method_params.items() if m in chosen or m == GOLD_METHOD}
        report = run_bench(
            spec,
            methods=chosen,
            seeds=config.seeds,
            options=config.options,
            method_params=params,
            progress=progress,
            title=config.title,
        )
        if absent:
            report["notes"].append(f"not registered in this version, left out: {', '.join(absent)}")
        plots = {
            name: path for name, path in write_report_files(report, report_dir, html=False).items()
            if path.suffix == ".png"
        }
    except ObliviateError as exc:
        return DemoSection(spec.task, config.title, report_dir, time.perf_counter() - started,
                           error=" ".join(str(exc).split()))
    except Exception as exc:  # a bug in one task must not hide the others' results
        traceback.print_exc()
        return DemoSection(spec.task, config.title, report_dir, time.perf_counter() - started,
                           error=f"{type(exc).__name__}: {' '.join(str(exc).split())}")
    return DemoSection(spec.task, config.title, report_dir, time.perf_counter() - started, report=report, plots=plots)
