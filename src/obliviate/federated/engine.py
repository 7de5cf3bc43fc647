"""Running federations on Flower's simulation engine, on one machine, on loopback.

A federation run is described by a :class:`FederationPlan` (plain JSON: who takes part,
how many rounds, the local training recipe, where the client shards and the initial
model lie, where to write the result). :func:`run_federation` runs that plan with the
same ``ServerApp`` logic and ``ClientApp`` (:mod:`obliviate.federated.flower_app`) that
:mod:`obliviate.federated.deploy` runs on Flower's deployment engine.

Start-up dominates small federations: on a 2-core machine Ray takes 5-20 s to start a
cluster and every simulation another 5-25 s to start its client actors (each imports
Flower and torch, and torch's first backward pass is slow). So, per Python process:

* one Ray head runs as a child process bound to 127.0.0.1 (:class:`RaySession`), under a
  small supervisor that stops it, and kills what is left of its process group, when
  asked or when this process dies;
* one Flower simulation keeps running in a background thread (:class:`FederationService`):
  its ``ServerApp`` serves the submitted plans one after another on the same grid, so
  the client actors stay warm between plans.

Both start on the first run and stop at interpreter exit or on :func:`stop_federation`.
Each simulated client uses one CPU; the head offers ``min(cpu_count, 4)`` CPUs (override
with ``$OBLIVIATE_FLOWER_CPUS``), so simulations do not oversubscribe the machine.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from queue import Empty, Queue
from typing import Any

from obliviate.core.checkpoint import atomic_write_text, load_state, save_model
from obliviate.core.errors import InvalidRequestError, MissingDependencyError, ObliviateError, require_extra

#: Environment every Flower or Ray process started here runs with (``setdefault``: a value
#: already set by the caller wins). The Ray setting keeps its traffic on 127.0.0.1.
FLOWER_ENVIRONMENT = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO": "0",
    "FLWR_DISABLE_UPDATE_CHECK": "1",
    "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",
    "FLWR_TELEMETRY_ENABLED": "0",
}

CPUS_ENV = "OBLIVIATE_FLOWER_CPUS"
RAY_START_TIMEOUT = 180.0


class FederationError(ObliviateError, RuntimeError):
    """A federation run failed (a client raised, a node was missing, the engine stopped)."""


def set_flower_environment() -> Path:
    """Set the Flower/Ray environment variables (keeping values already set) and ``FLWR_HOME``.

    ``FLWR_HOME`` defaults to ``<tmp>/obliviate-flwr-home-<uid>`` so that nothing is written
    to the user's home folder.

    Returns:
        The ``FLWR_HOME`` folder (created).
    """
    for key, value in FLOWER_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    uid = os.getuid() if hasattr(os, "getuid") else 0
    home = Path(os.environ.setdefault("FLWR_HOME", str(Path(tempfile.gettempdir()) / f"obliviate-flwr-home-{uid}")))
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault(NODE_DATA_VARIABLE, str(Path(tempfile.gettempdir()) / f"obliviate-nodes-{uid}"))
    return home


NODE_DATA_VARIABLE = "OBLIVIATE_NODE_DATA"
"""Environment variable naming where the simulation's virtual nodes keep their data: node
``K``'s own storage is ``$OBLIVIATE_NODE_DATA/node-KKKK/`` (set, like the Flower settings,
before Ray starts, so every client actor sees the same folder)."""

_STAGED: set[Path] = set()


def node_folder(root: str | os.PathLike, client: int) -> Path:
    """Client ``client``'s own folder under a node-data root."""
    return Path(root) / f"node-{int(client):04d}"


def stage_node_data(shard_dir: str | os.PathLike, clients: list[int], folder_of, *, required: list[int]) -> dict[int, Path]:
    """Put each client's shard (and nothing else) into that client's own folder.

    Args:
        shard_dir: where the scenario wrote the shards.
        clients: the clients to stage.
        folder_of: client id -> its folder.
        required: clients whose shard must exist (the participants).

    Returns:
        client id -> folder. Files are hard links where the file system allows (else copies),
        written under a temporary name and renamed, so a node never reads half a shard.

    Raises:
        DataError: a required client's shard is missing.
    """
    from obliviate.core.errors import DataError
    from obliviate.federated.data import SHARD_PATTERN

    folders = {}
    for client in clients:
        folder = Path(folder_of(client))
        folder.mkdir(parents=True, exist_ok=True)
        source = Path(shard_dir) / SHARD_PATTERN.format(client)
        target = folder / source.name
        if source.is_file() and not target.is_file():
            temporary = target.with_name(target.name + f".{os.getpid()}.tmp")
            try:
                os.link(source, temporary)
            except OSError:
                shutil.copy2(source, temporary)
            os.replace(temporary, target)
        elif not source.is_file() and client in required:
            raise DataError(f"client {client}'s shard '{source}' is missing; write the shards before running the federation")
        folders[client] = folder
    return folders


def stage_simulated_nodes(plan: FederationPlan) -> str:
    """Stage the participants' shards in their simulated nodes' own storage; returns the name
    of the data set the job then carries instead of a path (a hash of the shards' location,
    sizes and modification times, so rewritten shards get a new name)."""
    from obliviate.core.checkpoint import config_hash
    from obliviate.federated.data import SHARD_PATTERN

    source = Path(plan.shard_dir)
    files = []
    for client in plan.participants:
        path = source / SHARD_PATTERN.format(client)
        stat = path.stat() if path.is_file() else None
        files.append([client, stat.st_size if stat else -1, stat.st_mtime_ns if stat else -1])
    name = "shards-" + config_hash({"shards": str(source.resolve()), "files": files})[:16]
    root = Path(os.environ[NODE_DATA_VARIABLE])
    folders = stage_node_data(source, plan.participants, lambda c: node_folder(root, c) / name, required=plan.participants)
    _STAGED.update(folders.values())
    return name


def _remove_staged() -> None:
    for folder in list(_STAGED):
        shutil.rmtree(folder, ignore_errors=True)
        _STAGED.discard(folder)


def flower_cpus() -> int:
    """CPUs offered to simulated clients (one client per CPU at a time)."""
    override = os.environ.get(CPUS_ENV)
    if override:
        try:
            value = int(override)
        except ValueError:
            raise InvalidRequestError(f"${CPUS_ENV} must be a positive integer; got {override!r}") from None
        if value < 1:
            raise InvalidRequestError(f"${CPUS_ENV} must be a positive integer; got {override!r}")
        return value
    return max(1, min(os.cpu_count() or 1, 4))


# -- plan ---------------------------------------------------------------------------------
@dataclass
class FederationPlan:
    """What one federation run does; serialisable to JSON for the deployment engine.

    Attributes:
        mode: ``"fedavg"`` (FedAvg rounds) or ``"federaser"`` (FedEraser calibration rounds).
        num_clients: number of clients (nodes) in the federation; client ids are
            ``0..num_clients-1`` and equal each node's ``partition-id``.
        participants: the clients that train in this run.
        rounds: number of Flower rounds.
        model: ``{"recipe", "input_shape", "num_classes"}`` for :func:`build_model`.
        training: the clients' local recipe ``{"epochs", "lr", "batch_size", "optimizer"}``.
        seed: seeds every client's local training (mixed with round and client id).
        shard_dir: folder of the client shards (``client_0000.safetensors``, ...).
        initial: safetensors file of the initial global model.
        output: safetensors file the final global model is written to.
        summary: JSON file the run's timings are written to.
        records: folder to record per-client contributions into (``None``: no records).
        calibration: FedEraser settings ``{"records", "stored_rounds"}`` (mode ``federaser``).
        data: name of the data set the clients train on, found in each node's own storage
            (set by :func:`run_federation` after staging; ``shard_dir`` is then not sent).
    """

    mode: str
    num_clients: int
    participants: list[int]
    rounds: int
    model: dict[str, Any]
    training: dict[str, Any]
    seed: int
    shard_dir: str
    initial: str
    output: str
    summary: str
    records: str | None = None
    calibration: dict[str, Any] | None = None
    data: str | None = None

    def to_json(self) -> str:
        """The plan as a JSON document."""
        return json.dumps(asdict(self), sort_keys=True, indent=1)

    @classmethod
    def from_json(cls, text: str) -> FederationPlan:
        """Read a plan written by :meth:`to_json`."""
        return cls(**json.loads(text))

    def check(self) -> None:
        """Raise :class:`InvalidRequestError` when the plan cannot run."""
        if self.mode not in ("fedavg", "federaser"):
            raise InvalidRequestError(f"federation mode must be 'fedavg' or 'federaser'; got {self.mode!r}")
        if not self.participants:
            raise InvalidRequestError("a federation run needs at least one participating client")
        bad = [c for c in self.participants if not 0 <= c < self.num_clients]
        if bad:
            raise InvalidRequestError(f"clients {bad} do not exist: client ids are 0..{self.num_clients - 1}")
        if self.rounds < 0:
            raise InvalidRequestError(f"rounds must be non-negative; got {self.rounds}")
        if self.mode == "federaser" and not self.calibration:
            raise InvalidRequestError("a 'federaser' plan needs calibration settings (records, stored_rounds)")


@dataclass
class FederationOutcome:
    """What a federation run returns.

    Attributes:
        state: the final global state_dict.
        seconds: wall time of the whole run, Flower start-up and messaging included.
        round_seconds: wall time of each round as seen by the server.
        compute_seconds: per round, the longest client's local training time (the
            critical path when clients train in parallel on their own machines).
        client_seconds: total local training time of all clients, all rounds.
        aggregate_seconds: per round, the server's own compute (averaging the replies and,
            when recording, writing the records).
        record_seconds, record_bytes: per round, what recording the contributions cost
            (empty when nothing was recorded).
    """

    state: dict[str, Any]
    seconds: float
    round_seconds: list[float] = field(default_factory=list)
    compute_seconds: list[float] = field(default_factory=list)
    client_seconds: float = 0.0
    aggregate_seconds: list[float] = field(default_factory=list)
    record_seconds: list[float] = field(default_factory=list)
    record_bytes: list[int] = field(default_factory=list)
    ascent_steps: int = 0

    def info(self) -> dict[str, float]:
        """Flat timing summary for ``UnlearningResult.info``: ``compute_seconds`` (clients,
        critical path), ``server_seconds`` (aggregation), and ``messaging_seconds``: the
        rest of each round's wall time (sending, receiving, serialising, scheduling)."""
        rounds, compute, server = sum(self.round_seconds), sum(self.compute_seconds), sum(self.aggregate_seconds)
        return {
            "flower_seconds": self.seconds,
            "rounds": float(len(self.round_seconds)),
            "round_seconds": float(rounds),
            "compute_seconds": float(compute),
            "client_seconds": float(self.client_seconds),
            "server_seconds": float(server),
            "messaging_seconds": float(max(0.0, rounds - compute - server)),
            **({"ascent_steps": float(self.ascent_steps)} if self.ascent_steps else {}),
        }


def write_plan_inputs(plan: FederationPlan, initial_state: dict[str, Any]) -> Path:
    """Write the initial model and the plan JSON next to ``plan.output``; returns the plan path."""
    save_model(initial_state, plan.initial, {"role": "initial"})
    path = Path(plan.output).with_suffix(".plan.json")
    atomic_write_text(path, plan.to_json())
    return path


def read_outcome(plan: FederationPlan, seconds: float) -> FederationOutcome:
    """Read the final model and the timings a finished run wrote.

    Raises:
        FederationError: when the run left no result.
    """
    if not Path(plan.output).is_file() or not Path(plan.summary).is_file():
        raise FederationError(
            f"the federation run finished without writing its result to '{plan.output}'; "
            "see the Flower log above for the server's error"
        )
    state, _ = load_state(plan.output)
    summary = json.loads(Path(plan.summary).read_text())
    return FederationOutcome(
        state=state,
        seconds=seconds,
        round_seconds=[float(x) for x in summary.get("round_seconds", [])],
        compute_seconds=[float(x) for x in summary.get("compute_seconds", [])],
        client_seconds=float(summary.get("client_seconds", 0.0)),
        aggregate_seconds=[float(x) for x in summary.get("aggregate_seconds", [])],
        record_seconds=[float(x) for x in summary.get("record_seconds", [])],
        record_bytes=[int(x) for x in summary.get("record_bytes", [])],
        ascent_steps=int(summary.get("ascent_steps", 0)),
    )


# -- Ray session --------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _executable(name: str) -> str:
    """A console script of the running environment (``<venv>/bin/name``), else from PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.is_file():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise MissingDependencyError(
            f"the '{name}' command is needed but was not found; install it with: pip install 'obliviate[federated]'"
        )
    return found


def child_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for Flower/Ray child processes: ours, the Flower settings, one thread per
    process, and the running environment's ``bin`` first on ``PATH`` (Flower starts helper
    commands such as ``flower-superexec`` by name)."""
    set_flower_environment()
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env.update(extra or {})
    return env


class RaySession:
    """A Ray head node run as a child process on 127.0.0.1, stopped by its PID.

    ``ray start --head --block`` runs under :mod:`obliviate.federated._supervise`, in a
    process group of its own: stopping the supervisor (or the death of this process)
    stops the head, then kills whatever is left in the group (GCS, raylet, workers).
    Ports are drawn free on loopback and the session's files live in a private temporary
    folder, so that two sessions on one machine do not meet.

    Args:
        cpus: CPUs the head offers (default :func:`flower_cpus`).
    """

    def __init__(self, cpus: int | None = None):
        self.cpus = cpus or flower_cpus()
        self.process: subprocess.Popen | None = None
        self.address: str | None = None
        self.start_seconds = 0.0
        self._temp: str | None = None

    def start(self) -> RaySession:
        """Start the head and wait until it accepts connections.

        Raises:
            FederationError: when Ray does not come up within three minutes.
        """
        if self.process is not None:
            return self
        started = time.perf_counter()
        # Unix socket paths must stay short: a private folder directly under /tmp.
        self._temp = tempfile.mkdtemp(prefix="obray", dir="/tmp" if os.path.isdir("/tmp") else None)
        log_path = Path(self._temp) / "ray-start.log"
        port = _free_port()
        command = [
            sys.executable,
            "-m",
            "obliviate.federated._supervise",
            "--parent",
            str(os.getpid()),
            "--",
            _executable("ray"),
            "start",
            "--head",
            "--block",
            "--node-ip-address=127.0.0.1",
            f"--port={port}",
            f"--num-cpus={self.cpus}",
            "--num-gpus=0",
            "--include-dashboard=false",
            f"--dashboard-port={_free_port()}",
            "--disable-usage-stats",
            f"--temp-dir={self._temp}",
            "--object-store-memory=200000000",
            f"--ray-client-server-port={_free_port()}",
            f"--dashboard-agent-listen-port={_free_port()}",
            f"--dashboard-agent-grpc-port={_free_port()}",
            f"--runtime-env-agent-port={_free_port()}",
            f"--metrics-export-port={_free_port()}",
            f"--node-manager-port={_free_port()}",
            f"--object-manager-port={_free_port()}",
        ]
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=child_environment(),
                start_new_session=True,
            )
        deadline = time.monotonic() + RAY_START_TIMEOUT
        while time.monotonic() < deadline:
            text = log_path.read_text(errors="replace") if log_path.exists() else ""
            if "Ray runtime started" in text:
                self.address = f"127.0.0.1:{port}"
                self.start_seconds = time.perf_counter() - started
                return self
            code = self.process.poll()
            if code is not None:
                self.stop()
                raise FederationError(f"Ray did not start (exit code {code}):\n{text[-2000:]}")
            time.sleep(0.2)
        self.stop()
        raise FederationError(f"Ray did not start within {RAY_START_TIMEOUT:.0f} s")

    def stop(self) -> None:
        """SIGTERM the supervisor (it stops the head and kills what is left of its process
        group), SIGKILL that group after 60 s."""
        process, self.process = self.process, None
        self.address = None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait(timeout=10)
        if self._temp is not None:
            shutil.rmtree(self._temp, ignore_errors=True)
            self._temp = None

    @property
    def pid(self) -> int | None:
        """PID of the supervisor of ``ray start``, or ``None`` when stopped."""
        return self.process.pid if self.process is not None else None

    def __enter__(self) -> RaySession:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


_SESSION: RaySession | None = None
_SESSION_LOCK = threading.Lock()


def ray_session() -> RaySession:
    """The process-wide Ray head, started on first use (stopped at exit)."""
    global _SESSION
    with _SESSION_LOCK:
        if _SESSION is None or _SESSION.process is None or _SESSION.process.poll() is not None:
            require_extra("ray", "federated")
            _SESSION = RaySession().start()
        return _SESSION


def stop_ray_session() -> None:
    """Stop the process-wide Ray head, if one was started (safe to call twice)."""
    global _SESSION
    with _SESSION_LOCK:
        if _SESSION is not None:
            _SESSION.stop()
            _SESSION = None


class _Job:
    """One plan waiting for, or served by, the federation service."""

    def __init__(self, plan: FederationPlan | None, initial_state: dict[str, Any] | None = None):
        self.plan = plan
        self.initial_state = initial_state
        self.done = threading.Event()
        self.error: BaseException | None = None


class FederationService:
    """A Flower simulation kept running in a background thread, serving plans in turn.

    The simulation has ``num_nodes`` virtual SuperNodes (``partition-id`` = client id)
    whose ``ClientApp`` runs in Ray actors; its ``ServerApp`` maps nodes to clients once,
    then serves each submitted :class:`FederationPlan` with a Flower strategy on the same
    grid (:func:`obliviate.federated.flower_app.service_app`). The actors, and the torch
    they imported, stay warm between plans, so a plan costs its rounds, not the start-up
    of a simulation. The service stops when asked, and by itself once the main thread
    has ended (interpreter exit).

    Args:
        num_nodes: number of virtual SuperNodes.
    """

    def __init__(self, num_nodes: int):
        self.num_nodes = int(num_nodes)
        self.jobs: Queue[_Job] = Queue()
        self.ready = threading.Event()
        self.stopped = threading.Event()
        self.error: BaseException | None = None
        self.start_seconds = 0.0
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 600.0) -> FederationService:
        """Start the simulation and wait until every node has answered.

        Raises:
            FederationError: when the simulation fails to come up.
        """
        require_extra("flwr", "federated")
        set_flower_environment()
        session = ray_session()
        started = time.perf_counter()
        self._thread = threading.Thread(target=self._run, args=(session,), name="obliviate-flower", daemon=True)
        self._thread.start()
        # Flower's simulation runs worker threads that the interpreter joins at exit before
        # any ``atexit`` handler runs; ask the service to finish at that earlier point.
        register = getattr(threading, "_register_atexit", None)
        if register is not None:
            register(self.request_stop)
        deadline = time.monotonic() + timeout
        while not self.ready.wait(0.2):
            if self.stopped.is_set() or time.monotonic() > deadline:
                self.stop()
                raise FederationError(f"the Flower simulation did not start: {self.error or 'timeout'}")
        self.start_seconds = time.perf_counter() - started
        return self

    def _run(self, session: RaySession) -> None:
        from flwr.simulation import run_simulation

        from obliviate.federated import flower_app

        backend = {
            "client_resources": {"num_cpus": 1, "num_gpus": 0.0},
            "init_args": {"address": session.address, "logging_level": "ERROR", "log_to_driver": False},
        }
        pythonpath = os.environ.get("PYTHONPATH")
        # Keep Flower's per-round INFO lines and deprecation notes off the console.
        logger = logging.getLogger("flwr")
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            run_simulation(
                server_app=flower_app.service_app(self),
                client_app=flower_app.client_app,
                num_supernodes=self.num_nodes,
                backend_config=backend,
            )
        except BaseException as exc:  # reported to the waiting callers
            self.error = exc
        finally:
            logger.setLevel(level)
            # Flower prepends sys.path to PYTHONPATH on every start; keep it from growing.
            if pythonpath is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = pythonpath
            self.stopped.set()
            self._fail_pending()

    def _fail_pending(self) -> None:
        reason = FederationError(f"the Flower simulation stopped: {self.error or 'stopped'}")
        while True:
            try:
                job = self.jobs.get_nowait()
            except Empty:
                break
            if job.plan is not None:
                job.error = reason
            job.done.set()

    def submit(self, plan: FederationPlan, initial_state: dict[str, Any] | None = None) -> None:
        """Serve ``plan`` (from ``initial_state``, default the plan's ``initial`` file) and wait for it.

        Raises:
            FederationError: when the plan fails or the simulation stops.
        """
        job = _Job(plan, initial_state)
        self.jobs.put(job)
        while not job.done.wait(0.5):
            if self.stopped.is_set():
                self._fail_pending()
        if job.error is not None:
            if isinstance(job.error, ObliviateError):
                raise job.error
            raise FederationError(f"the federation run failed: {job.error}") from job.error

    def request_stop(self) -> None:
        """Ask the service to finish after the plan it is serving (does not wait)."""
        if not self.stopped.is_set():
            self.jobs.put(_Job(None))

    def stop(self, timeout: float = 120.0) -> None:
        """Ask the service to finish and wait for the simulation to wind down its actors."""
        if self._thread is None:
            return
        self.request_stop()
        self._thread.join(timeout)
        self._thread = None

    @property
    def alive(self) -> bool:
        """Whether the simulation is running."""
        return self._thread is not None and not self.stopped.is_set()


_SERVICE: FederationService | None = None
_SERVICE_LOCK = threading.Lock()


def federation_service(num_nodes: int) -> FederationService:
    """The process-wide service, (re)started with at least ``num_nodes`` nodes."""
    global _SERVICE
    if _SERVICE is not None and (not _SERVICE.alive or _SERVICE.num_nodes < num_nodes):
        _SERVICE.stop()
        _SERVICE = None
    if _SERVICE is None:
        _SERVICE = FederationService(num_nodes).start()
    return _SERVICE


def stop_federation() -> None:
    """Stop the federation service and the Ray head (safe to call twice).

    Every process this module started is stopped by its PID; call this at the end of a
    script or test session to release them before interpreter exit.
    """
    global _SERVICE
    with _SERVICE_LOCK:
        if _SERVICE is not None:
            _SERVICE.stop()
            _SERVICE = None
        _remove_staged()
    stop_ray_session()


atexit.register(stop_federation)


def run_federation(plan: FederationPlan, initial_state: dict[str, Any]) -> FederationOutcome:
    """Run ``plan`` on Flower's simulation engine and return the final global model.

    Every node of the federation is a virtual SuperNode whose ``partition-id`` is its
    client id; clients run in Ray actors of one CPU each. Plans are served by the
    process-wide :class:`FederationService` (started on first use, restarted when a plan
    needs more nodes), so ``seconds`` covers the plan's rounds and their messaging, not
    the one-off start-up of Ray and of the actors (``federation_service(n).start_seconds``).

    Args:
        plan: the run (see :class:`FederationPlan`).
        initial_state: state_dict of the initial global model.

    Returns:
        A :class:`FederationOutcome` (final state and timings).

    Raises:
        InvalidRequestError: for a plan that cannot run.
        FederationError: when a client or the server fails.
        MissingDependencyError: when ``flwr[simulation]`` is not installed.
    """
    plan.check()
    with _SERVICE_LOCK:
        service = federation_service(plan.num_clients)
        # The job names a data set, not a path: every virtual node reads its shard from its
        # own storage (see NODE_DATA_VARIABLE).
        plan = replace(plan, shard_dir="", data=stage_simulated_nodes(plan))
        for stale in (plan.output, plan.summary):
            Path(stale).unlink(missing_ok=True)
        started = time.perf_counter()
        service.submit(plan, {k: v.detach().clone() for k, v in initial_state.items()})
        seconds = time.perf_counter() - started
    return read_outcome(plan, seconds)
