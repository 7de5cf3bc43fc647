"""Apply one unlearning method to a user's saved model and issue a deletion certificate.

The model is rebuilt by the task's scenario (``scenario.new_model()``: a built-in recipe or
the user's factory), the saved safetensors weights are loaded into it strictly, the method
unlearns the scenario's forget set, and the result is written as ``model.safetensors``
next to ``certificate.json`` (see :mod:`obliviate.audit.certificate`).

Safe outputs: the output folder is checked to be writable before any computation; an
existing model or certificate there, or the input weights file itself, is never
overwritten without ``force``; non-finite weights are refused before and after unlearning
(no certificate for a broken model); the two files land together or not at all (both are
written to temporary files first, then renamed, and the first is removed when the second
cannot be put in place).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import torch

from obliviate.bench.runner import GOLD_METHOD, build_unlearner, make_scenario
from obliviate.bench.tasks import task_spec
from obliviate.core.checkpoint import load_into, stage_bytes, state_bytes
from obliviate.core.errors import DataError, InvalidRequestError, ObliviateError
from obliviate.data.tables import file_sha256
from obliviate.report.schema import jsonable

MODEL_FILE, CERTIFICATE_FILE = "model.safetensors", "certificate.json"
MAX_SEED = 2**32 - 1


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
        notes: why a metric was not applicable, by metric name.
    """

    model: Any
    seconds: float
    audit: dict[str, float]
    gold_audit: dict[str, float] | None
    certificate: dict[str, Any]
    model_path: Path
    certificate_path: Path
    notes: dict[str, str]


class OutputError(ObliviateError):
    """The output folder cannot take the results (not writable, or files already there)."""


def check_output(out_dir: str | os.PathLike, *, inputs: tuple[Path, ...] = (), force: bool = False) -> Path:
    """Make sure ``out_dir`` can take ``model.safetensors`` and ``certificate.json``.

    An existing folder gets a probe file written and removed; a missing one needs its
    nearest existing parent to be a writable folder (it is created only when the results
    are written, so a failed deletion leaves nothing behind).

    Raises:
        OutputError: the folder cannot be created or written, one of the two files exists
            (without ``force``), or an output would overwrite one of ``inputs`` (without ``force``).
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out '{out}' is a file, not a folder")
    try:
        if out.is_dir():
            with tempfile.NamedTemporaryFile(dir=out, prefix=".obliviate-probe-"):
                pass
        else:
            parent = next(p for p in out.absolute().parents if p.exists())
            if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
                raise PermissionError(13, f"cannot create folders in '{parent}'")
    except OSError as exc:
        raise OutputError(f"cannot write to --out '{out}': {exc.strerror or exc}") from None
    if not force:
        targets = [out / MODEL_FILE, out / CERTIFICATE_FILE]
        resolved_inputs = {p.resolve() for p in inputs if p is not None}
        clobbered = [t for t in targets if t.resolve() in resolved_inputs]
        if clobbered:
            raise OutputError(f"'{clobbered[0]}' is an input of this deletion; choose another --out (or pass --force)")
        existing = [t.name for t in targets if t.exists()]
        if existing:
            raise OutputError(f"'{out}' already holds {' and '.join(existing)}; choose another --out or pass --force")
    return out


def check_seed(seed: Any) -> int:
    """A seed in ``0..2**32-1``.

    Raises:
        InvalidRequestError: for anything else.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InvalidRequestError(f"a seed must be an integer in 0..{MAX_SEED}; got {seed!r}")
    return seed


def non_finite_parameters(model: torch.nn.Module) -> list[str]:
    """Names of the state_dict entries holding NaN or infinite values."""
    return [
        name for name, value in model.state_dict().items()
        if value.is_floating_point() and not bool(torch.isfinite(value).all())
    ]


@contextlib.contextmanager
def _status(progress: bool, text: str) -> Iterator[Any]:
    if not progress:
        yield lambda message: None
        return
    from rich.console import Console

    with Console(stderr=True).status(text) as status:
        yield lambda message: status.update(message)


def load_saved_model(scenario: Any, model_file: str | os.PathLike, *, task: str) -> torch.nn.Module:
    """The scenario's network (recipe or factory) holding the weights of ``model_file``, in eval mode.

    Raises:
        InvalidRequestError: the task's scenario cannot rebuild a model.
        DataError: the file is missing or does not fit, or holds NaN or infinite weights.
    """
    if not callable(getattr(scenario, "new_model", None)):
        raise InvalidRequestError(
            f"task '{task}' cannot rebuild a model from saved weights (its scenario has no new_model())"
        )
    loader = getattr(scenario, "load_model", None)
    if callable(loader):  # tasks whose saved models may carry extra modules (graph: GNNDelete's)
        model = loader(model_file)
    else:
        model = scenario.new_model()
        load_into(model, model_file)
    model.eval()
    broken = non_finite_parameters(model)
    if broken:
        raise DataError(f"'{model_file}' holds NaN or infinite weights ({', '.join(broken[:5])}); refusing to use it")
    return model


def audit_saved_model(
    task: str,
    *,
    model_file: str | os.PathLike,
    options: dict[str, Any] | None = None,
    seed: int = 0,
    original_file: str | os.PathLike | None = None,
    gold_file: str | os.PathLike | None = None,
    relearn: bool = False,
) -> tuple[dict[str, float], dict[str, float] | None, dict[str, str]]:
    """Audit saved weights against a scenario (a user's data or a built-in one).

    Returns ``(figures, gold figures or None, notes)``: the same figures the bench reports,
    gold's when ``gold_file`` is given (the runner's gap to gold is ``figure - gold``), and
    why a figure is not applicable.
    """
    seed = check_seed(seed)
    spec = task_spec(task)
    scenario = make_scenario(spec, seed, {**spec.default_options, **(options or {})})
    model = load_saved_model(scenario, model_file, task=task)
    original = load_saved_model(scenario, original_file, task=task) if original_file else None
    gold = load_saved_model(scenario, gold_file, task=task) if gold_file else None
    extra = {"relearn": True} if relearn and "relearn" in _keywords(scenario.audit) else {}
    if relearn and not extra:
        raise InvalidRequestError(f"the {task} audit has no relearn-time metric")
    if extra and original is None:
        raise InvalidRequestError("relearn time needs the model before the deletion: pass --original FILE")
    figures = scenario.audit(model, original=original, gold=gold, **extra)
    notes = dict(getattr(scenario, "audit_notes", {}) or {})
    gold_figures = scenario.audit(gold, original=original, gold=gold, **extra) if gold is not None else None
    return figures, gold_figures, notes


def _keywords(function: Any) -> set[str]:
    import inspect

    return set(inspect.signature(function).parameters)


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
    force: bool = False,
    param_preset: str = "default",
    sign_key: str | os.PathLike | None = None,
    progress: bool = False,
) -> ForgetOutcome:
    """Unlearn a scenario's forget set from saved weights and certify the deletion.

    Args:
        task: task name, e.g. ``"classification"``.
        model_file: safetensors weights of a model built by the scenario's recipe or factory.
        method: registered method name.
        out_dir: folder for ``model.safetensors`` and ``certificate.json``.
        params: the method's hyper-parameters.
        options: scenario options (``dataset``, ``forget``, ``model`` = recipe name or
            ``package.module:callable`` factory, ``table``/``label_column``/``id_column``/
            ``split_column``/``test`` for a user's own data, ...), on top of the task's defaults.
        seed: the scenario's seed and the method's, in ``0..2**32-1``.
        with_gold: also retrain from scratch and record each figure's gap to gold.
        force: overwrite existing outputs.
        param_preset: ``"default"`` or ``"paper"`` hyper-parameters.
        sign_key: an Ed25519 private key (PEM) to sign the certificate with (see
            :func:`obliviate.audit.certificate.sign_certificate`).
        progress: show what is running on stderr.

    Returns:
        A :class:`ForgetOutcome`.

    Raises:
        OutputError: the output folder cannot take the files (checked before any computation).
        InvalidRequestError: unknown task, bad options or seed, or a task whose scenario cannot
            rebuild a model (no ``new_model()``) or name its forget set.
        InvalidForgetSpecError: a malformed forget spec or ids that name no trained row.
        RegistryError, InvalidParameterError: unknown method or bad hyper-parameters.
        DataError: the weights file is missing, does not fit, or holds non-finite values, or
            the unlearned weights are not finite.
    """
    from obliviate.audit.certificate import make_certificate, read_key, sign_certificate

    model_file = Path(model_file)
    if sign_key is not None:
        read_key(sign_key, private=True)  # a bad key fails before any computation
    seed = check_seed(seed)
    user_files = tuple(
        Path(options[k]) for k in ("table", "test", "dataset")
        if options and isinstance(options.get(k), (str, os.PathLike)) and Path(options[k]).is_file()
    )
    out = check_output(out_dir, inputs=(model_file, *user_files), force=force)
    spec = task_spec(task)
    scenario_options = {**spec.default_options, **(options or {})}
    unlearner = build_unlearner(task, method, params, preset=param_preset)
    with _status(progress, f"{task}/{method}: loading the model and the data") as say:
        scenario = make_scenario(spec, seed, scenario_options)
        original = load_saved_model(scenario, model_file, task=task)
        request = scenario.request()
        forget_ids = _forget_ids(scenario, task)
        gold_model = gold_audit = None
        if with_gold:
            say(f"{task}: retraining from scratch (gold)")
            gold_model = build_unlearner(task, GOLD_METHOD).unlearn(original, request).model
            gold_audit = scenario.audit(gold_model, original=original, gold=gold_model)
        say(f"{task}/{method}: unlearning {len(forget_ids)} record(s)")
        result = unlearner.unlearn(original, request)
        broken = non_finite_parameters(result.model)
        if broken:
            raise DataError(
                f"{task}/{method} produced NaN or infinite weights ({', '.join(broken[:5])}); no certificate was "
                "written: lower its learning rate or pick another method"
            )
        say(f"{task}/{method}: auditing")
        audit = scenario.audit(result.model, original=original, gold=gold_model)
    notes = dict(getattr(scenario, "audit_notes", {}) or {})
    data = getattr(scenario, "data", None)
    model_option = scenario_options.get("model")
    context = {
        "seed": seed,
        "model": model_option if isinstance(model_option, str) else getattr(model_option, "__qualname__", None),
        "model_file_sha256": file_sha256(model_file),
        "data_sha256": getattr(data, "digest", None),
        "data_split": {"train": len(getattr(data, "y_train", ())), "test": len(getattr(data, "y_test", ()))}
        if data is not None and hasattr(data, "y_train") else None,
        "options": jsonable({k: v for k, v in scenario_options.items() if k not in ("cache_dir", "progress", "device")}),
        "param_preset": param_preset,
        "not_applicable": notes,
    }
    metadata = {"task": task, "method": method, "params": unlearner.get_params(), "options": scenario_options,
                "seed": seed, "source": os.fspath(model_file)}
    writer = getattr(scenario, "saved_bytes", None)  # tasks whose saved model carries more (a stream state)
    blob = writer(result, jsonable(metadata)) if callable(writer) else state_bytes(result.model, jsonable(metadata))
    context["model_file_sha256_after"] = hashlib.sha256(blob).hexdigest()
    certificate = make_certificate(
        model_before=original,
        model_after=result.model,
        forget_ids=forget_ids,
        method=method,
        params=unlearner.get_params(),
        audit=audit,
        gold_audit=gold_audit,
        task=task,
        dataset=str(getattr(data, "name", None) or scenario_options.get("dataset", "")),
        forget_spec=str(getattr(request, "spec", None) or scenario_options.get("forget", "")),
        request=context,
    )
    if sign_key is not None:
        certificate = sign_certificate(certificate, sign_key)
    model_path, certificate_path = _write_both(out, blob, certificate)
    return ForgetOutcome(
        model=result.model,
        seconds=result.seconds,
        audit=audit,
        gold_audit=gold_audit,
        certificate=certificate,
        model_path=model_path,
        certificate_path=certificate_path,
        notes=notes,
    )


def _write_both(out: Path, blob: bytes, certificate: dict[str, Any]) -> tuple[Path, Path]:
    """Write the model and the certificate so that both land or neither does."""
    import json

    model_path, certificate_path = out / MODEL_FILE, out / CERTIFICATE_FILE
    staged = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for data in (blob, (json.dumps(certificate, indent=2, sort_keys=True) + "\n").encode("utf-8")):
            staged.append(stage_bytes(out, data))
        os.replace(staged[0], model_path)
        try:
            os.replace(staged[1], certificate_path)
        except OSError:
            model_path.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise OutputError(f"could not write the results to '{out}': {exc.strerror or exc}; nothing was kept") from None
    finally:
        for tmp in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return model_path, certificate_path


def _forget_ids(scenario: Any, task: str) -> Any:
    for attribute in ("forget_ids", "forget_indices"):
        ids = getattr(scenario, attribute, None)
        if ids is not None:
            return ids
    raise InvalidRequestError(
        f"task '{task}' does not name its forget set (its scenario has no forget_ids or forget_indices)"
    )
