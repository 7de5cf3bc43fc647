"""Running a federation on Flower's deployment engine: a SuperLink and SuperNodes as real
processes on 127.0.0.1.

:func:`run_deployed` runs the same plan, ``ServerApp`` logic and ``ClientApp`` as the
simulation (:mod:`obliviate.federated.flower_app`), but the way Flower runs across
machines: it starts one ``flower-superlink`` and one ``flower-supernode`` per client
(``--node-config 'partition-id=K num-partitions=N shard-dir="DIR"'``, where ``DIR`` is a
folder of that node's own holding only its shard), writes a Flower App folder whose
``pyproject.toml`` points at :data:`~obliviate.federated.flower_app.server_app` and
:data:`~obliviate.federated.flower_app.client_app`, submits it with ``flwr run`` (run
config ``plan-json`` = the plan itself, base64-encoded JSON; the clients then get the model
recipe, training recipe, seed and weights by Flower messages), and stops every process it started, and what
those started, by PID. The Flower settings are those of
:func:`~obliviate.federated.engine.child_environment`, with a private ``FLWR_HOME``.

On several machines the same App runs unchanged: start ``flower-superlink`` on the
server, ``flower-supernode --superlink HOST:PORT --node-config 'partition-id=K
shard-dir="/path/to/shards"'`` next to each client's shard (values with a slash are quoted),
and submit with ``flwr run``.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from obliviate.core.checkpoint import atomic_write_text, save_model
from obliviate.core.errors import InvalidRequestError, require_extra
from obliviate.federated.engine import (
    FederationError,
    FederationOutcome,
    FederationPlan,
    _executable,
    _free_port,
    child_environment,
    node_folder,
    read_outcome,
    stage_node_data,
)

CONNECTION = "obliviate-local"

APP_PYPROJECT = """[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "obliviate-federation"
version = "1.0.0"
description = "obliviate's federated task as a Flower App"
license = "Apache-2.0"
dependencies = []

[tool.flwr.app]
publisher = "obliviate"

[tool.flwr.app.components]
serverapp = "obliviate.federated.flower_app:server_app"
clientapp = "obliviate.federated.flower_app:client_app"

[tool.flwr.app.config]
plan = ""
plan-json = ""
"""


def provision_node_data(plan: FederationPlan, root: Path) -> dict[int, Path]:
    """One folder per client under ``root`` holding only that client's shard (what the
    client's own machine would hold); returns client id -> folder.

    Raises:
        DataError: when a participant's shard is missing from ``plan.shard_dir``.
    """
    return stage_node_data(plan.shard_dir, list(range(plan.num_clients)), lambda c: node_folder(root, c),
                           required=plan.participants)


def write_flower_app(folder: str | os.PathLike) -> Path:
    """Write the Flower App folder (a ``pyproject.toml`` naming the installed apps)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "pyproject.toml", APP_PYPROJECT)
    return folder


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux ``/proc``; empty elsewhere)."""
    from obliviate.federated._supervise import live_processes

    return [child for child, parent, _ in live_processes() if parent == pid]


def descendants(pid: int) -> list[int]:
    """Every live process started, directly or not, by ``pid``."""
    pending, seen = [pid], []
    while pending:
        for child in _children(pending.pop()):
            if child not in seen:
                seen.append(child)
                pending.append(child)
    return seen


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def stop_processes(processes: list[subprocess.Popen], grace: float = 20.0) -> list[int]:
    """Stop processes we started, and everything they started, by PID.

    SIGTERM to each process (they stop their helpers gracefully), wait up to ``grace``
    seconds, SIGKILL what remains; then the same for their descendants found before.

    Returns:
        PIDs that were still alive after all that (should be empty).
    """
    family = [pid for process in processes for pid in descendants(process.pid)]
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        remaining = [pid for pid in family if _alive(pid)]
        for pid in remaining:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        wait_until = time.monotonic() + (5.0 if sig == signal.SIGTERM else 2.0)
        while time.monotonic() < wait_until and any(_alive(pid) for pid in remaining):
            time.sleep(0.1)
    return [pid for pid in family if _alive(pid)]


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as handle:
        return subprocess.Popen(
            command, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True
        )


def run_deployed(plan: FederationPlan, initial_state: dict[str, Any], *, timeout: float = 600.0) -> FederationOutcome:
    """Run ``plan`` on Flower's deployment engine, all processes on 127.0.0.1.

    Starts a SuperLink and ``plan.num_clients`` SuperNodes, runs the App with ``flwr run``,
    waits for the result, and stops every process (see :func:`stop_processes`).

    Args:
        plan: the run; its files must be reachable by the processes (local paths).
        initial_state: state_dict of the initial global model.
        timeout: seconds allowed for the run.

    Returns:
        A :class:`~obliviate.federated.engine.FederationOutcome`; ``seconds`` include
        starting and stopping the processes.

    Raises:
        FederationError: when a process fails to start or the run fails or times out;
            the message carries the tail of the relevant log.
    """
    plan.check()
    require_extra("flwr", "federated")
    if plan.num_clients > 32:
        raise InvalidRequestError(
            f"run_deployed starts one SuperNode process per client; {plan.num_clients} is too many for one "
            "machine: use the simulation engine (run_federation) for large federations"
        )
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="obliviate-deploy-"))
    processes: list[subprocess.Popen] = []
    leftovers: list[int] = []
    try:
        # Every SuperNode gets a folder of its own holding only its own shard, named in its
        # node config; the job the server sends names no data path.
        node_dirs = provision_node_data(plan, work / "nodes")
        plan = dataclasses.replace(plan, shard_dir="")
        for stale in (plan.output, plan.summary):
            Path(stale).unlink(missing_ok=True)
        save_model(initial_state, plan.initial, {"role": "initial"})
        encoded = base64.b64encode(plan.to_json().encode()).decode()
        home = work / "flwr-home"
        home.mkdir()
        port = _free_port()
        atomic_write_text(
            home / "config.toml",
            f'[superlink]\ndefault = "{CONNECTION}"\n\n[superlink.{CONNECTION}]\n'
            f'address = "127.0.0.1:{port}"\ninsecure = true\n',
        )
        env = child_environment({"FLWR_HOME": str(home)})
        app = write_flower_app(work / "app")
        superlink_log = work / "superlink.log"
        processes.append(
            _start(
                [
                    _executable("flower-superlink"),
                    "--insecure",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--disable-runtime-dependency-installation",
                ],
                env,
                superlink_log,
            )
        )
        for client in range(plan.num_clients):
            processes.append(
                _start(
                    [
                        _executable("flower-supernode"),
                        "--insecure",
                        "--superlink",
                        f"127.0.0.1:{port}",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(_free_port()),
                        "--node-config",
                        f"partition-id={client} num-partitions={plan.num_clients} shard-dir={json.dumps(str(node_dirs[client]))}",
                    ],
                    env,
                    work / f"supernode-{client}.log",
                )
            )
        command = [
            _executable("flwr"),
            "run",
            str(app),
            CONNECTION,
            "--run-config",
            f'plan-json="{encoded}"',
            "--stream",
        ]
        deadline = time.monotonic() + timeout
        submitted = None
        while submitted is None or submitted.returncode != 0:
            # The SuperLink needs a few seconds to listen; retry the submission until then.
            submitted = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=max(1.0, deadline - time.monotonic())
            )
            if submitted.returncode == 0:
                break
            if "unavailable" not in (submitted.stdout + submitted.stderr).lower() or time.monotonic() > deadline:
                raise FederationError(
                    f"'flwr run' failed (exit {submitted.returncode}):\n{(submitted.stdout + submitted.stderr)[-3000:]}"
                )
            if processes[0].poll() is not None:
                raise FederationError(f"the SuperLink exited:\n{superlink_log.read_text(errors='replace')[-3000:]}")
            time.sleep(1.0)
        # With --stream, 'flwr run' returns once the run has finished.
        if not Path(plan.summary).is_file():
            raise FederationError(
                "the deployed run finished without a result; its log:\n"
                f"{(submitted.stdout + submitted.stderr)[-3000:]}"
            )
    except subprocess.TimeoutExpired as exc:
        raise FederationError(f"'flwr run' did not return within {timeout:.0f} s") from exc
    finally:
        leftovers = stop_processes(processes)
        shutil.rmtree(work, ignore_errors=True)
    if leftovers:
        raise FederationError(f"processes {leftovers} started by the deployment did not stop")
    return read_outcome(plan, time.perf_counter() - started)
