"""The bench runner: scenario x methods x seeds -> timed, audited, aggregated report.

For every seed the runner builds the task's scenario, trains (or loads) the original
model, builds the request, and then:

1. runs ``retrain`` first: its model is this seed's **gold** model and its wall time the
   gold seconds, measured in the same process run as the methods it is compared with;
2. audits the original model (row ``original``) and the gold model (row ``gold``);
3. runs and audits every method, recording ``seconds`` and
   ``speedup = gold_seconds / method_seconds`` for that seed.

With ``count_flops=True`` each method (gold included) is run a second time on the first
seed under torch's FLOP counter; the timed run stays uncounted because counting slows
execution down, and a counted run that fails records ``flops`` as missing with the reason
(``info["flops_error"]``). A method that refuses the scenario with an
:class:`ObliviateError` (e.g. a forget kind it does not support) is recorded as skipped,
with the reason; one that fails with any other error is recorded as skipped with
"failed with ..." and the bench goes on.

The result is a report document (see :mod:`obliviate.report.schema`) that every table,
plot and web page is rendered from.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import inspect
from typing import Any, Iterator, Sequence

from obliviate.bench.environment import describe_environment
from obliviate.bench.summary import metric_order, summarise
from obliviate.bench.tasks import TaskSpec, task_spec
from obliviate.core.errors import InvalidParameterError, InvalidRequestError, ObliviateError
from obliviate.core.params import validate_params
from obliviate.core.registry import get_method
from obliviate.core.registry import methods as registered_methods
from obliviate.core.timing import speedup
from obliviate.report.schema import GOLD_ROW, ORIGINAL_ROW, SCHEMA, jsonable, validate_report

GOLD_METHOD = "retrain"
MAX_SEED = 2**32 - 1
MAX_SEEDS = 100
"""A bench runs at most this many seeds (each trains an original and a gold model)."""


def run_bench(
    task: str | TaskSpec,
    *,
    methods: str | Sequence[str] = "all",
    seeds: int | Sequence[int] = 3,
    options: dict[str, Any] | None = None,
    method_params: dict[str, dict[str, Any]] | None = None,
    param_preset: str = "default",
    count_flops: bool | None = None,
    relearn: bool = False,
    progress: bool = True,
    title: str | None = None,
) -> dict[str, Any]:
    """Bench unlearning methods on one task against retraining from scratch.

    Args:
        task: task name, e.g. ``"classification"``, or a :class:`TaskSpec` (methods are
            looked up in the registry under ``spec.task``).
        methods: ``"all"`` (every registered method of the task), a comma-separated
            string, or a list of names (an empty list benches only the original model
            against gold). ``retrain`` is always run, first, as gold.
        seeds: a number ``n`` (seeds ``0..n-1``) or an explicit list of seeds.
        options: keyword arguments for the task's ``make_scenario`` (dataset, forget
            spec, ...), on top of the task's ``default_options``.
        method_params: hyper-parameters per method, ``{"finetune": {"epochs": 2}}``
            (``"retrain"`` configures the gold run).
        param_preset: ``"default"`` (the defaults tuned here) or ``"paper"`` (each
            method's ``paper_params``, the source paper's own settings); ``method_params``
            override either.
        count_flops: also count FLOPs, in a separate run on the first seed (``None``: the
            task's default, ``TaskSpec.count_flops``).
        relearn: ask the audit for relearn time, where the task's audit offers it.
        progress: show a progress bar (seed x method) on stderr.
        title: optional title stored in the report.

    Returns:
        The report document (validated against :mod:`obliviate.report.schema`).

    Raises:
        InvalidRequestError: unknown task, bad seeds or scenario options.
        InvalidForgetSpecError: a malformed forget spec.
        RegistryError: an unknown method name.
        InvalidParameterError: unknown or out-of-range hyper-parameters.
    """
    spec = task if isinstance(task, TaskSpec) else task_spec(task)
    task = spec.task
    if count_flops is None:
        count_flops = spec.count_flops
    names = resolve_methods(task, methods)
    seed_list = resolve_seeds(seeds)
    scenario_options = {**spec.default_options, **(options or {})}
    unlearners = _build_unlearners(task, [GOLD_METHOD, *names], method_params or {}, param_preset)
    notes: list[str] = []
    if isinstance(methods, str) and methods == "all" and not names:
        notes.append(f"no method besides {GOLD_METHOD} is registered for task '{task}'")
    if GOLD_METHOD in _as_list(methods):
        notes.append(f"'{GOLD_METHOD}' is the gold row; it is not listed again as a method")

    _warm_up_torch()
    runs: list[dict[str, Any]] = []
    relearn_checked = False
    with _progress(progress, total=len(seed_list) * (1 + len(names))) as advance:
        for seed_index, seed in enumerate(seed_list):
            scenario = make_scenario(spec, seed, scenario_options)
            audit_kwargs: dict[str, Any] = {}
            if relearn:
                if _accepts_keyword(scenario.audit, "relearn"):
                    audit_kwargs["relearn"] = True
                elif not relearn_checked:
                    notes.append(f"the {task} audit has no relearn-time metric; --relearn was ignored")
                relearn_checked = True
            flops_now = count_flops and seed_index == 0

            advance(f"seed {seed}: original + {GOLD_METHOD}")
            # The request first: a forget spec that does not match the data fails before any training.
            request = scenario.request()
            original = scenario.original()
            gold_result = unlearners[GOLD_METHOD].unlearn(original, request)
            gold_model, gold_seconds = gold_result.model, gold_result.seconds
            gold_flops, gold_flops_error = (
                _counted_flops(unlearners[GOLD_METHOD], original, request) if flops_now else (None, None)
            )
            if gold_flops_error:
                gold_result.info["flops_error"] = gold_flops_error
            gold_metrics = scenario.audit(gold_model, original=original, gold=gold_model, **audit_kwargs)
            runs.append(
                _run_record(
                    seed,
                    ORIGINAL_ROW,
                    "reference",
                    metrics=_with_relearn_ratio(
                        scenario.audit(original, original=original, gold=gold_model, **audit_kwargs), gold_metrics
                    ),
                )
            )
            runs.append(
                _run_record(
                    seed,
                    GOLD_ROW,
                    "gold",
                    metrics=_with_relearn_ratio(dict(gold_metrics), gold_metrics),
                    seconds=gold_seconds,
                    speedup=1.0,
                    flops=gold_flops,
                    info=gold_result.info,
                )
            )
            for name in names:
                advance(f"seed {seed}: {name}")
                unlearner = unlearners[name]
                try:
                    result = unlearner.unlearn(original, request)
                except ObliviateError as exc:
                    runs.append(_run_record(seed, name, "method", reason=_one_line(exc)))
                    continue
                except Exception as exc:  # a bug in one method must not lose every other result
                    reason = f"failed with {type(exc).__name__}: {_one_line(exc)}"
                    runs.append(_run_record(seed, name, "method", reason=reason))
                    continue
                flops, flops_error = _counted_flops(unlearner, original, request) if flops_now else (None, None)
                if flops_error:
                    result.info["flops_error"] = flops_error
                runs.append(
                    _run_record(
                        seed,
                        name,
                        "method",
                        metrics=_with_relearn_ratio(
                            scenario.audit(result.model, original=original, gold=gold_model, **audit_kwargs),
                            gold_metrics,
                        ),
                        seconds=result.seconds,
                        speedup=speedup(gold_seconds, result.seconds),
                        flops=flops,
                        info=result.info,
                    )
                )
            del scenario, original, gold_model
        advance(None)

    metrics = metric_order(runs, spec.metrics)
    report = {
        "schema": SCHEMA,
        "task": spec.task,
        "title": title,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "options": jsonable(scenario_options),
        "seeds": seed_list,
        "methods": names,
        "params": {name: jsonable(unlearner.get_params()) for name, unlearner in unlearners.items()},
        "param_preset": param_preset,
        "metrics": metrics,
        "higher_is_better": [name for name in metrics if name in spec.higher_is_better],
        "flags": {"count_flops": bool(count_flops), "relearn": bool(relearn)},
        "environment": describe_environment(),
        "runs": runs,
        "summary": summarise(runs, methods=names, metrics=metrics),
        "notes": notes,
    }
    return validate_report(report)


def _with_relearn_ratio(metrics: dict[str, Any], gold_metrics: dict[str, Any]) -> dict[str, Any]:
    """Add ``relearn_ratio = relearn_steps / gold's relearn_steps`` where both exist.

    The concealment check: a ratio well below 1 means the forgotten knowledge comes back
    much faster than it can be learned by a model that never saw it;
    ``relearn_concealed`` is 1 when the ratio is below
    :data:`obliviate.audit.relearn.CONCEALMENT_RATIO` (its mean over seeds is the share of
    seeds flagged).
    """
    from obliviate.audit.relearn import concealment_flag

    steps, gold_steps = metrics.get("relearn_steps"), gold_metrics.get("relearn_steps")
    if steps is not None and gold_steps:
        metrics["relearn_ratio"] = float(steps) / float(gold_steps)
        metrics["relearn_concealed"] = float(concealment_flag(float(steps), float(gold_steps)))
    return metrics


def _counted_flops(unlearner: Any, model: Any, request: Any) -> tuple[int | None, str | None]:
    """FLOPs of a second, counted run; ``(None, reason)`` when counting fails, so that a
    method the counter cannot follow loses its FLOPs figure, not the bench."""
    try:
        return unlearner.unlearn(model, request, count_flops_too=True).flops, None
    except Exception as exc:
        return None, f"FLOPs not counted: {type(exc).__name__}: {_one_line(exc)}"


def resolve_methods(task: str, methods: str | Sequence[str]) -> list[str]:
    """The method names to bench, in order, without duplicates and without ``retrain``.

    Args:
        task: the task the methods belong to.
        methods: ``"all"``, ``"a,b"`` or ``["a", "b"]``.

    Raises:
        RegistryError: naming an unknown method and the registered ones.
        InvalidRequestError: for an empty selection.
    """
    if isinstance(methods, str) and methods.strip() == "all":
        return [name for name in registered_methods(task) if name != GOLD_METHOD]
    requested = _as_list(methods)
    if not requested and isinstance(methods, str):
        raise InvalidRequestError("no method given; pass 'all' or method names such as 'finetune,ssd'")
    names: list[str] = []
    for name in requested:
        get_method(task, name)  # raises RegistryError naming the registered methods
        if name != GOLD_METHOD and name not in names:
            names.append(name)
    return names


def resolve_seeds(seeds: int | Sequence[int]) -> list[int]:
    """``n`` -> ``[0, ..., n-1]``; a list of seeds is checked and kept in order.

    Raises:
        InvalidRequestError: for a count below 1, a negative or repeated seed.
    """
    if isinstance(seeds, bool):
        raise InvalidRequestError(f"seeds must be a count or a list of integers, got {seeds!r}")
    if isinstance(seeds, int):
        if seeds < 1:
            raise InvalidRequestError(
                f"the number of seeds must be at least 1, got {seeds} (to run one given seed, pass the list [{seeds}])"
            )
        if seeds > MAX_SEEDS:
            raise InvalidRequestError(f"at most {MAX_SEEDS} seeds per bench; got {seeds}")
        return list(range(seeds))
    try:
        seed_list = [int(seed) for seed in seeds]
    except (TypeError, ValueError):
        raise InvalidRequestError(f"seeds must be a count or a list of integers, got {seeds!r}") from None
    if not seed_list:
        raise InvalidRequestError("the list of seeds is empty; pass a count such as 3 or seeds such as [0, 1]")
    if any(not 0 <= seed <= MAX_SEED for seed in seed_list):
        raise InvalidRequestError(f"seeds must lie in 0..{MAX_SEED}, got {seed_list}")
    if len(seed_list) > MAX_SEEDS:
        raise InvalidRequestError(f"at most {MAX_SEEDS} seeds per bench; got {len(seed_list)}")
    if len(set(seed_list)) != len(seed_list):
        raise InvalidRequestError(f"a seed is repeated in {seed_list}; list each seed once")
    return seed_list


def make_scenario(spec: TaskSpec, seed: int, options: dict[str, Any]) -> Any:
    """``spec.make_scenario(seed=seed, **options)``, turning an unknown option into a clear error.

    Raises:
        InvalidRequestError: if the task does not take one of the options.
    """
    try:
        return spec.make_scenario(seed=seed, **options)
    except TypeError as exc:
        if "unexpected keyword argument" not in str(exc):
            raise
        raise InvalidRequestError(
            f"task '{spec.task}' does not take one of the options {sorted(options)}: {exc}"
        ) from None


PARAM_PRESETS = ("default", "paper")


def build_unlearner(task: str, name: str, params: dict[str, Any] | None = None, *, preset: str = "default") -> Any:
    """An instance of method ``name`` of ``task`` with ``params``, checked against its constraints.

    Args:
        task, name: the method.
        params: hyper-parameters (they override the preset's).
        preset: ``"default"`` or ``"paper"`` (start from the class's ``paper_params``).

    Raises:
        RegistryError: unknown method.
        InvalidParameterError: unknown preset or parameter name, or a value outside its range.
    """
    if preset not in PARAM_PRESETS:
        raise InvalidParameterError(f"unknown parameter preset {preset!r}; choose one of: {', '.join(PARAM_PRESETS)}")
    cls = get_method(task, name)
    params = {**(getattr(cls, "paper_params", {}) if preset == "paper" else {}), **(params or {})}
    known = cls._param_names()
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise InvalidParameterError(
            f"{task}/{name} has no parameter {', '.join(repr(p) for p in unknown)}; "
            f"its parameters are: {', '.join(known) or 'none'}"
        )
    unlearner = cls(**params)
    validate_params(cls._parameter_constraints, unlearner.get_params(), f"{task}/{name}")
    return unlearner


def _build_unlearners(
    task: str, names: list[str], method_params: dict[str, dict[str, Any]], preset: str = "default"
) -> dict[str, Any]:
    stray = sorted(set(method_params) - set(names))
    if stray:
        raise InvalidParameterError(
            f"parameters were given for {', '.join(repr(n) for n in stray)}, which is not benched; "
            f"benched methods: {', '.join(names)}"
        )
    return {name: build_unlearner(task, name, method_params.get(name), preset=preset) for name in names}


def _warm_up_torch() -> None:
    """One optimizer step on a toy layer.

    torch imports parts of itself lazily on the first backward pass and optimizer step
    (several seconds on a busy machine). Without this, that cost would land in whichever
    run comes first -- the gold run when the original model is loaded from a cache -- and
    inflate every speedup.
    """
    import torch

    layer = torch.nn.Linear(2, 2)
    optimizer = torch.optim.Adam(layer.parameters(), lr=1e-3)
    layer(torch.zeros(1, 2)).sum().backward()
    optimizer.step()


def _as_list(methods: str | Sequence[str]) -> list[str]:
    if isinstance(methods, str):
        return [part.strip() for part in methods.split(",") if part.strip()]
    return [str(name).strip() for name in methods]


def _accepts_keyword(function: Any, name: str) -> bool:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _run_record(
    seed: int,
    method: str,
    role: str,
    *,
    metrics: dict[str, Any] | None = None,
    seconds: float | None = None,
    speedup: float | None = None,
    flops: int | None = None,
    info: dict[str, Any] | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    return {
        "seed": int(seed),
        "method": method,
        "role": role,
        "status": "skipped" if reason is not None else "ok",
        "reason": reason,
        "metrics": jsonable(metrics or {}),
        "seconds": jsonable(seconds),
        "speedup": jsonable(speedup),
        "flops": jsonable(flops),
        "info": jsonable(info or {}),
    }


@contextlib.contextmanager
def _progress(enabled: bool, *, total: int) -> Iterator[Any]:
    """Yield ``advance(description)``: completes the previous step and starts the next one
    (``None`` completes the last)."""
    if not enabled:
        yield lambda description: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]bench[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task_id = bar.add_task("starting", total=total)
        started = [False]

        def advance(description: str | None) -> None:
            if started[0]:
                bar.advance(task_id)
            started[0] = True
            if description is not None:
                bar.update(task_id, description=description)

        yield advance
