"""Apply one unlearning method to a user's saved model and issue a deletion certificate.

The model's architecture is rebuilt from the task's scenario (its recipe and the data
set's input shape, via ``scenario.new_model()``), the saved safetensors weights are loaded
into it strictly, the method unlearns the scenario's forget set, and the result is written
as ``model.safetensors`` next to ``certificate.json`` (see :mod:`obliviate.audit.certificate`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obliviate.bench.runner import GOLD_METHOD, build_unlearner, make_scenario
from obliviate.bench.tasks import task_spec
from obliviate.core.checkpoint import load_into, save_model
from obliviate.core.errors import InvalidRequestError
from obliviate.report.schema import jsonable


@dataclass
class ForgetOutcome:
    """What :func:`forget_saved_model` produced.

    Attributes:
        model: the unlearned model.
        seconds: wall time of the method.
        audit: the unlearned model's audit figures.
        gold_audit: the gold model's figures (``None`` unless ``with_gold``).
        certificate: the certificate document.
        model_path, certificate_path: the files written.
    """

    model: Any
    seconds: float
    audit: dict[str, float]
    gold_audit: dict[str, float] | None
    certificate: dict[str, Any]
    model_path: Path
    certificate_path: Path


def forget_saved_model(
    task: str,
    *,
    model_file: str | os.PathLike,
    method: str,
    out_dir: str | os.PathLike,
    params: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    seed: int = 0,
    with_gold: bool = False,
) -> ForgetOutcome:
    """Unlearn a scenario's forget set from saved weights and certify the deletion.

    Args:
        task: task name, e.g. ``"classification"``.
        model_file: safetensors weights of a model built by the task's recipe.
        method: registered method name.
        out_dir: folder for ``model.safetensors`` and ``certificate.json``.
        params: the method's hyper-parameters.
        options: scenario options (``dataset``, ``forget``, ``model`` = recipe name, ...),
            on top of the task's defaults.
        seed: the scenario's seed (data split, forget draw) and the method's.
        with_gold: also retrain from scratch and record each figure's gap to gold.

    Returns:
        A :class:`ForgetOutcome`.

    Raises:
        InvalidRequestError: unknown task, bad options, or a task whose scenario cannot
            rebuild a model (no ``new_model()``) or name its forget set.
        InvalidForgetSpecError: a malformed forget spec.
        RegistryError, InvalidParameterError: unknown method or bad hyper-parameters.
        DataError: the weights file is missing or does not fit the recipe.
    """
    from obliviate.audit.certificate import make_certificate, write_certificate

    spec = task_spec(task)
    scenario_options = {**spec.default_options, **(options or {})}
    unlearner = build_unlearner(task, method, params)
    scenario = make_scenario(spec, seed, scenario_options)
    if not callable(getattr(scenario, "new_model", None)):
        raise InvalidRequestError(
            f"task '{task}' cannot rebuild a model from saved weights (its scenario has no new_model())"
        )
    original = scenario.new_model()
    load_into(original, model_file)
    original.eval()
    request = scenario.request()
    forget_ids = _forget_ids(scenario, task)

    gold_model = None
    gold_audit = None
    if with_gold:
        gold_model = build_unlearner(task, GOLD_METHOD).unlearn(original, request).model
        gold_audit = scenario.audit(gold_model, original=original, gold=gold_model)
    result = unlearner.unlearn(original, request)
    audit = scenario.audit(result.model, original=original, gold=gold_model)
    certificate = make_certificate(
        model_before=original,
        model_after=result.model,
        forget_ids=forget_ids,
        method=method,
        params=unlearner.get_params(),
        audit=audit,
        gold_audit=gold_audit,
        task=task,
        dataset=str(scenario_options.get("dataset", "")),
        forget_spec=str(getattr(request, "spec", None) or scenario_options.get("forget", "")),
    )
    out_dir = Path(out_dir)
    metadata = {
        "task": task,
        "method": method,
        "params": unlearner.get_params(),
        "options": scenario_options,
        "seed": seed,
        "source": os.fspath(model_file),
    }
    model_path = save_model(result.model, out_dir / "model.safetensors", jsonable(metadata))
    certificate_path = write_certificate(certificate, out_dir / "certificate.json")
    return ForgetOutcome(
        model=result.model,
        seconds=result.seconds,
        audit=audit,
        gold_audit=gold_audit,
        certificate=certificate,
        model_path=model_path,
        certificate_path=certificate_path,
    )


def _forget_ids(scenario: Any, task: str) -> Any:
    for attribute in ("forget_ids", "forget_indices"):
        ids = getattr(scenario, attribute, None)
        if ids is not None:
            return ids
    raise InvalidRequestError(
        f"task '{task}' does not name its forget set (its scenario has no forget_ids or forget_indices)"
    )
