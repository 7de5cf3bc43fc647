"""Deletion certificates: the signed-off JSON record of one unlearning request.

A certificate binds together what was deleted and what it did to the model:

* ``model.sha256_before`` / ``model.sha256_after``: :func:`obliviate.core.checkpoint.state_sha256`
  of the weights before and after (sha256 over the state_dict's sorted keys, dtypes,
  shapes and bytes), so anyone holding the weights can check which model it speaks of;
* ``forget_set.sha256``: sha256 of the forget-set identifiers (see :func:`forget_ids_sha256`),
  so the request can be matched without the certificate listing the identifiers;
* the method's name and hyper-parameters, the task, data set and forget spec;
* the audit figures, each with the gold model's figure and the gap to it when given;
* package versions (obliviate, torch, numpy, python) and the UTC time of issue;
* ``certificate_sha256``: sha256 of the canonical JSON of everything above, so that an
  edited certificate no longer verifies.

The digest makes tampering evident; it is not a cryptographic signature (anyone can
recompute it), so a certificate proves consistency with a set of weights, not authorship.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import torch
from torch import nn

from obliviate.audit.gaps import gap_to_gold
from obliviate.core.checkpoint import atomic_write_text, state_sha256
from obliviate.core.errors import DataError, InvalidParameterError, InvalidRequestError

SCHEMA = "obliviate.certificate"
SCHEMA_VERSION = 1
DIGEST_KEY = "certificate_sha256"
FORGET_IDS_ENCODING = "unique identifiers sorted (integers numerically), one per line, each ending in \\n, UTF-8"
WEIGHTS_HASH = "obliviate.core.checkpoint.state_sha256: sha256 over sorted state_dict keys, dtypes, shapes, bytes"


def _canonical_ids(forget_ids: Any) -> list[int] | list[str]:
    if isinstance(forget_ids, torch.Tensor):
        forget_ids = forget_ids.detach().cpu().numpy()
    if isinstance(forget_ids, (str, bytes)):
        raise InvalidRequestError(
            "forget_ids must be a collection of identifiers, not a single string; pass a list"
        )
    if isinstance(forget_ids, np.ndarray):
        if forget_ids.ndim != 1:
            raise InvalidRequestError(f"forget_ids must be one-dimensional; got shape {forget_ids.shape}")
        if forget_ids.dtype == bool:
            raise InvalidRequestError(
                "forget_ids is a boolean mask; pass the identifiers instead (e.g. numpy.flatnonzero(mask))"
            )
        values = forget_ids.tolist()
    else:
        values = list(forget_ids)
    if not values:
        raise InvalidRequestError("forget_ids is empty: a certificate records a non-empty deletion")
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in values):
        return sorted({int(v) for v in values})
    if all(isinstance(v, str) for v in values):
        if any("\n" in v or "\r" in v for v in values):
            raise InvalidRequestError("forget_ids must not contain line breaks")
        return sorted(set(values))
    kinds = sorted({type(v).__name__ for v in values})
    raise InvalidRequestError(
        f"forget_ids must be all integers or all strings; got values of type {', '.join(kinds)}"
    )


def forget_ids_sha256(forget_ids: Iterable[int] | Iterable[str] | np.ndarray | torch.Tensor) -> str:
    """sha256 of a forget set's identifiers, independent of their order and repetitions.

    The identifiers (all integers or all strings) are de-duplicated, sorted (integers
    numerically) and written one per line, each line ending in ``\\n``, in UTF-8; the
    digest of that text is returned. For integer ids it equals ``sort -nu ids.txt |
    sha256sum`` on a file with one id per line.

    Args:
        forget_ids: the identifiers (e.g. training-set indices).

    Returns:
        The hex digest.

    Raises:
        InvalidRequestError: for an empty set, a boolean mask, mixed or non-integer numbers.
    """
    ids = _canonical_ids(forget_ids)
    text = "".join(f"{v}\n" for v in ids)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _jsonable(value: Any) -> Any:
    """A JSON-safe copy: tuples become lists, NumPy/torch scalars plain numbers, and
    non-finite floats ``null`` (strict JSON has no NaN or infinity)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return _jsonable(value.item())
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return _jsonable(value.tolist())
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return repr(value)


def _canonical_json(body: Mapping[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


SIGNATURE_KEY = "signature"


def _digest(cert: Mapping[str, Any]) -> str:
    body = {k: v for k, v in cert.items() if k not in (DIGEST_KEY, SIGNATURE_KEY)}
    return hashlib.sha256(_canonical_json(body).encode("utf-8")).hexdigest()


def _versions() -> dict[str, str]:
    from importlib import metadata

    try:
        obliviate_version = metadata.version("obliviate")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        from obliviate import __version__ as obliviate_version
    return {
        "obliviate": obliviate_version,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def _utc_timestamp(created: datetime | None) -> str:
    if created is None:
        created = datetime.now(timezone.utc)
    elif created.tzinfo is None:
        raise InvalidParameterError(
            "created must be a timezone-aware datetime (e.g. datetime.now(timezone.utc)); got a naive one"
        )
    return created.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _method_name(method: Any) -> str:
    if isinstance(method, str):
        return method
    name = getattr(method, "name", None)
    if isinstance(name, str):
        return name
    raise InvalidParameterError(
        f"method must be a method name or an unlearner; got {type(method).__name__}"
    )


def make_certificate(
    *,
    model_before: nn.Module | Mapping[str, torch.Tensor],
    model_after: nn.Module | Mapping[str, torch.Tensor],
    forget_ids: Iterable[int] | Iterable[str] | np.ndarray | torch.Tensor,
    method: Any,
    params: Mapping[str, Any],
    audit: Mapping[str, float],
    gold_audit: Mapping[str, float] | None = None,
    task: str,
    dataset: str,
    forget_spec: Any,
    created: datetime | None = None,
    request: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build the certificate of one deletion (see the module docstring for its fields).

    Args:
        model_before: the model (or state_dict) the request was applied to.
        model_after: the unlearned model (or state_dict).
        forget_ids: identifiers of the forgotten examples (e.g. training-set indices).
        method: the method's registered name, or the unlearner itself (its ``name`` is used).
        params: the method's hyper-parameters (e.g. ``unlearner.get_params()``).
        audit: metric name -> figure of the unlearned model.
        gold_audit: metric name -> figure of the gold model; adds ``gold`` and
            ``gap_to_gold`` (``value - gold``) to each shared metric.
        task: the task name, e.g. ``"classification"``.
        dataset: the data set's name.
        forget_spec: the forget spec (a string or a ``ForgetSpec``).
        created: time of issue (timezone-aware); default now.
        request: what reproduces the request (seed, recipe or factory, data digest and
            split, scenario options, metrics not applicable with the reason), stored under
            ``"request"``.

    Returns:
        A JSON-serialisable dict, ending in its own ``certificate_sha256``.

    Raises:
        InvalidRequestError: for an empty or malformed ``forget_ids``.
        InvalidParameterError: for a naive ``created`` or an unnamed ``method``.
    """
    audit_section: dict[str, dict[str, Any]] = {}
    for name, value in audit.items():
        entry: dict[str, Any] = {"value": _jsonable(value)}
        if gold_audit is not None and name in gold_audit:
            entry["gold"] = _jsonable(gold_audit[name])
            entry["gap_to_gold"] = _jsonable(gap_to_gold(value, gold_audit[name]))
        audit_section[str(name)] = entry
    ids = _canonical_ids(forget_ids)
    cert: dict[str, Any] = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created_utc": _utc_timestamp(created),
        "task": str(task),
        "dataset": str(dataset),
        "forget_spec": str(forget_spec),
        "forget_set": {
            "count": len(ids),
            "sha256": forget_ids_sha256(ids),
            "encoding": FORGET_IDS_ENCODING,
        },
        "method": {"name": _method_name(method), "params": _jsonable(dict(params))},
        "model": {
            "sha256_before": state_sha256(dict(_state(model_before))),
            "sha256_after": state_sha256(dict(_state(model_after))),
            "hash": WEIGHTS_HASH,
        },
        "audit": audit_section,
        "versions": _versions(),
    }
    if request is not None:
        cert["request"] = _jsonable(dict(request))
    cert[DIGEST_KEY] = _digest(cert)
    return cert


def _state(model: nn.Module | Mapping[str, torch.Tensor]) -> Mapping[str, torch.Tensor]:
    if isinstance(model, nn.Module):
        return model.state_dict()
    if isinstance(model, Mapping):
        return model
    raise InvalidParameterError(
        f"expected a torch.nn.Module or a state_dict; got {type(model).__name__}"
    )


def _check_schema(cert: Any) -> None:
    if not isinstance(cert, Mapping) or cert.get("schema") != SCHEMA:
        raise DataError(f"not an obliviate certificate (expected a JSON object with schema '{SCHEMA}')")
    version = cert.get("schema_version")
    if version != SCHEMA_VERSION:
        raise DataError(
            f"certificate schema version {version!r} is not supported; this obliviate reads version "
            f"{SCHEMA_VERSION} (upgrade obliviate to read newer certificates)"
        )


def write_certificate(cert: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write a certificate as indented JSON, atomically (temporary file, then rename).

    Args:
        cert: a certificate from :func:`make_certificate`.
        path: destination file; its folder is created if needed.

    Returns:
        ``path`` as a ``Path``.

    Raises:
        DataError: if ``cert`` is not a certificate.
    """
    _check_schema(cert)
    path = Path(path)
    atomic_write_text(path, json.dumps(cert, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n")
    return path


def read_certificate(path: str | os.PathLike) -> dict[str, Any]:
    """Read a certificate written by :func:`write_certificate`.

    Raises:
        DataError: if the file is missing, not JSON, or not a certificate.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"certificate '{path}' does not exist")
    try:
        cert = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"certificate '{path}' is not valid JSON: {exc}") from exc
    _check_schema(cert)
    return cert


def verify_certificate(
    cert: Mapping[str, Any],
    model_after: nn.Module | Mapping[str, torch.Tensor],
    *,
    model_before: nn.Module | Mapping[str, torch.Tensor] | None = None,
    forget_ids: Iterable[int] | Iterable[str] | np.ndarray | torch.Tensor | None = None,
) -> bool:
    """Check that a certificate is intact and speaks of the given weights.

    True when the certificate's own digest matches its content and the weights of
    ``model_after`` hash to ``model.sha256_after``; when given, ``model_before`` and
    ``forget_ids`` are checked against their recorded hashes too.

    Args:
        cert: the certificate (e.g. from :func:`read_certificate`).
        model_after: the model (or state_dict) claimed to be the unlearned one.
        model_before: optionally, the model the request was applied to.
        forget_ids: optionally, the identifiers claimed to have been forgotten.

    Returns:
        Whether every check passes.

    Raises:
        DataError: if ``cert`` is not a certificate of a supported schema version.
    """
    _check_schema(cert)
    try:
        intact = cert[DIGEST_KEY] == _digest(cert)
        model = cert["model"]
        ok = intact and state_sha256(dict(_state(model_after))) == model["sha256_after"]
        if ok and model_before is not None:
            ok = state_sha256(dict(_state(model_before))) == model["sha256_before"]
        if ok and forget_ids is not None:
            ok = forget_ids_sha256(forget_ids) == cert["forget_set"]["sha256"]
    except (KeyError, TypeError, ValueError):
        # A field was removed or replaced by something of another shape: not intact.
        return False
    return bool(ok)


@dataclass(frozen=True)
class Check:
    """One named check of :func:`check_certificate` or :func:`check_chain`."""

    name: str
    ok: bool
    detail: str


def check_certificate(
    cert: Mapping[str, Any],
    model_after: nn.Module | Mapping[str, torch.Tensor] | None = None,
    *,
    model_before: nn.Module | Mapping[str, torch.Tensor] | None = None,
    forget_ids: Iterable[int] | Iterable[str] | np.ndarray | torch.Tensor | None = None,
) -> list[Check]:
    """Every check :func:`verify_certificate` makes, each named with its outcome.

    Checks, in order: ``digest`` (the certificate's own sha256 matches its content: any
    edited field fails it), then, for what is given, ``weights after``, ``weights before``
    and ``forget ids``. The digest detects accidental or careless change; anyone who edits
    a field can recompute it, so it is no protection against forgery.

    Raises:
        DataError: if ``cert`` is not a certificate of a supported schema version.
    """
    _check_schema(cert)
    checks = []
    try:
        recorded, actual = cert.get(DIGEST_KEY), _digest(cert)
    except (TypeError, ValueError) as exc:
        recorded, actual = None, f"not computable ({exc})"
    checks.append(Check("digest", recorded == actual, "matches the content" if recorded == actual else
                        "the certificate was changed after it was issued"))
    model = cert.get("model") if isinstance(cert.get("model"), Mapping) else {}
    for name, weights, key in (("weights after", model_after, "sha256_after"), ("weights before", model_before, "sha256_before")):
        if weights is None:
            continue
        digest = state_sha256(dict(_state(weights)))
        ok = digest == model.get(key)
        checks.append(Check(name, ok, f"sha256 {digest[:16]}... {'matches' if ok else 'differs from'} the recorded {key}"))
    if forget_ids is not None:
        forget_set = cert.get("forget_set") if isinstance(cert.get("forget_set"), Mapping) else {}
        digest = forget_ids_sha256(forget_ids)
        ok = digest == forget_set.get("sha256")
        checks.append(Check("forget ids", ok, f"sha256 of the ids {'matches' if ok else 'differs from'} the recorded one"))
    return checks


def check_chain(paths: Iterable[str | os.PathLike]) -> list[Check]:
    """Check a history of deletions on one model, in the order given.

    Each certificate must be intact (its digest), and each one's ``sha256_before`` must be
    the previous one's ``sha256_after``: the model a deletion was applied to is the model
    the previous deletion produced. One check per certificate; the first failing one is
    the first broken link.

    Raises:
        DataError: for a file that is not a readable certificate, or an empty chain.
    """
    checks, previous = [], None
    paths = [Path(p) for p in paths]
    if not paths:
        raise DataError("the chain holds no certificate; pass a folder of certificate JSON files")
    for index, path in enumerate(paths):
        cert = read_certificate(path)
        digest_ok = check_certificate(cert)[0].ok
        before = cert.get("model", {}).get("sha256_before")
        linked = previous is None or before == previous
        if not digest_ok:
            detail = f"{path.name}: the certificate was changed after it was issued"
        elif not linked:
            detail = f"{path.name}: its weights before do not match the weights after {paths[index - 1].name}"
        else:
            detail = f"{path.name}: intact" + ("" if previous is None else f", follows {paths[index - 1].name}")
        checks.append(Check(f"link {index + 1}", digest_ok and linked, detail))
        previous = cert.get("model", {}).get("sha256_after")
    return checks


def _crypto():
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:
        from obliviate.core.errors import MissingDependencyError

        raise MissingDependencyError(
            "signing certificates needs the 'cryptography' package (pip install cryptography)"
        ) from None
    return serialization, ed25519


def read_key(path: str | os.PathLike, *, private: bool) -> Any:
    serialization, ed25519 = _crypto()
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read the key file '{path}': {exc.strerror or exc}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None) if private else serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        kind = "private" if private else "public"
        raise DataError(f"'{path}' is not an unencrypted PEM {kind} key: {exc}") from None
    wanted = ed25519.Ed25519PrivateKey if private else ed25519.Ed25519PublicKey
    if not isinstance(key, wanted):
        raise DataError(f"'{path}' is not an Ed25519 key (make one with: openssl genpkey -algorithm ed25519)")
    return key


def sign_certificate(cert: Mapping[str, Any], private_key: str | os.PathLike) -> dict[str, Any]:
    """Sign a certificate's digest with an Ed25519 private key (PEM file, unencrypted).

    Adds ``signature = {"algorithm": "ed25519", "public_key": <hex>, "value": <hex>}``; the
    signed message is the certificate's ``certificate_sha256`` (which covers every other
    field). Unlike the digest alone, a signature cannot be recomputed after an edit without
    the private key: it detects forgery by anyone who does not hold the key.

    Raises:
        DataError: unreadable key, or not an Ed25519 key.
        MissingDependencyError: without the ``cryptography`` package.
    """
    serialization, _ = _crypto()
    key = read_key(private_key, private=True)
    signed = dict(cert)
    signed[DIGEST_KEY] = _digest(signed)
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    signed[SIGNATURE_KEY] = {
        "algorithm": "ed25519",
        "public_key": public.hex(),
        "value": key.sign(signed[DIGEST_KEY].encode("ascii")).hex(),
    }
    return signed


def check_signature(cert: Mapping[str, Any], public_key: str | os.PathLike) -> Check:
    """Whether the certificate carries a valid Ed25519 signature by ``public_key`` (PEM file)."""
    from cryptography.exceptions import InvalidSignature

    key = read_key(public_key, private=False)
    signature = cert.get(SIGNATURE_KEY)
    if not isinstance(signature, Mapping) or signature.get("algorithm") != "ed25519":
        return Check("signature", False, "the certificate is not signed")
    try:
        key.verify(bytes.fromhex(str(signature.get("value", ""))), _digest(cert).encode("ascii"))
    except (InvalidSignature, ValueError):
        return Check("signature", False, "the signature does not match this public key and content")
    return Check("signature", True, "valid Ed25519 signature of the content by this public key")
