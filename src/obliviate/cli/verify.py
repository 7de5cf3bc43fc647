"""``obliviate verify``: check a deletion certificate, or a chain of them, against the files a user has."""

from __future__ import annotations

from pathlib import Path

import typer

from obliviate.cli._common import catch_user_errors, fail, stdout_console

EPILOG = """Examples:

  obliviate verify deletion/certificate.json --model deletion/model.safetensors --before mine.safetensors --ids ids.txt

  obliviate verify --chain history/

  obliviate verify deletion/certificate.json --model deletion/model.safetensors --public-key officer.pub.pem

Exit code 0 only when every check holds; 1 when a check fails (the failing one is named); 2 for unusable input.
The digest detects accidental or careless change of a certificate, not forgery: anyone who edits a field can
recompute it. A certificate signed with `obliviate forget --sign-key KEY` is checked with --public-key."""


def _read_ids(path: Path) -> list[str] | list[int]:
    from obliviate.core.errors import DataError

    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError as exc:
        raise DataError(f"cannot read the ids file '{path}': {exc.strerror or exc}") from None
    try:
        return [int(line) for line in lines]
    except ValueError:
        return lines


def _weights(path: Path | None):
    if path is None:
        return None
    from obliviate.continual.state import model_weights
    from obliviate.core.checkpoint import load_state

    state, meta = load_state(path)
    return model_weights(state, meta)  # a stream-state file's network weights


@catch_user_errors
def verify(
    certificate: Path | None = typer.Argument(None, help="The certificate JSON to check."),
    model: Path | None = typer.Option(None, "--model", help="Weights (safetensors) claimed to be the unlearned model."),
    before: Path | None = typer.Option(None, "--before", help="Weights (safetensors) the deletion was applied to."),
    ids: Path | None = typer.Option(None, "--ids", help="File of the forgotten ids, one per line."),
    public_key: Path | None = typer.Option(
        None, "--public-key", help="Ed25519 public key (PEM) the certificate must be signed with."
    ),
    chain: Path | None = typer.Option(
        None, "--chain", help="A folder of certificates of successive deletions on one model, checked in name order."
    ),
) -> None:
    """Check a deletion certificate (its digest, the weights after and before, the forget ids) or a chain of them."""
    from obliviate.audit.certificate import check_certificate, check_chain, check_signature, read_certificate

    if chain is not None:
        if certificate is not None:
            fail("give either a certificate or --chain DIR, not both")
        if not chain.is_dir():
            fail(f"--chain {chain}: not a folder")
        checks = check_chain(sorted(chain.glob("*.json")))
    elif certificate is None:
        fail("name a certificate (obliviate verify CERT --model AFTER) or a folder (--chain DIR)")
    else:
        cert = read_certificate(certificate)
        ids_value = _read_ids(ids) if ids is not None else None
        checks = check_certificate(cert, _weights(model), model_before=_weights(before), forget_ids=ids_value)
        if public_key is not None:
            checks.append(check_signature(cert, public_key))
    console = stdout_console()
    for check in checks:
        mark = "ok  " if check.ok else "FAIL"
        console.print(f"{mark} {check.name}: {check.detail}", markup=False, highlight=False)
    failed = [check for check in checks if not check.ok]
    if failed:
        console.print(f"verification failed at: {failed[0].name}", markup=False, highlight=False)
        raise typer.Exit(code=1)
    console.print("verified: every check holds", markup=False, highlight=False)
