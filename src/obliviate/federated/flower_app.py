"""The Flower App of the federated task: the ``ClientApp`` and the ``ServerApp`` logic.

The same objects run on both Flower engines:

* simulation — :class:`obliviate.federated.engine.FederationService` passes
  :data:`client_app` and :func:`service_app` to ``flwr.simulation.run_simulation``; that
  ``ServerApp`` serves one plan after another with :func:`serve`;
* deployment — :mod:`obliviate.federated.deploy` points a Flower App
  (``[tool.flwr.app.components]``) at :data:`client_app` and :data:`server_app`, which
  serves with :func:`serve` the plan named by the run config key ``plan``.

Client side: a node's ``partition-id`` (node config) is its client id. On a ``train``
message it loads its shard from its own storage: the folder its node config names
(``shard-dir``), or on the simulation engine its folder under ``$OBLIVIATE_NODE_DATA``
holding the data set the job names (the server sends a name, never a path), builds the network from the model spec, loads the global
weights, trains locally with :func:`obliviate.core.training.fit` (seeded by seed, round
and client id) and replies with its weights, its number of examples and its compute time.
A ``query`` message returns the client id, so that the server can map nodes to clients.

Server side (:func:`serve`): FedAvg (McMahan et al., 2017) over the plan's participants,
``theta^t = sum_k n_k w_k^t / sum_k n_k``, aggregated in client order (reproducible to the
bit), recording per-client contributions when the plan asks for it; or FedEraser's
calibrated rounds (Liu et al., IWQoS 2021) in mode ``federaser``.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from pathlib import Path
from queue import Empty
from typing import TYPE_CHECKING, Iterable

import numpy as np
import torch
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MessageType, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg

from obliviate.core.checkpoint import atomic_write_text, load_state, save_model
from obliviate.core.seeding import seed_everything
from obliviate.core.training import fit
from obliviate.federated.data import read_shard
from obliviate.federated.engine import NODE_DATA_VARIABLE, FederationError, FederationPlan, node_folder
from obliviate.federated.models import build_from_spec, load_state_into
from obliviate.federated.records import ContributionRecorder, FederationRecords

if TYPE_CHECKING:
    from obliviate.federated.engine import FederationService

NODE_TIMEOUT = 300.0

client_app = ClientApp()


def client_seed(seed: int, server_round: int, client: int) -> int:
    """The seed of one client's local training in one round (independent streams)."""
    return int(np.random.SeedSequence([int(seed), int(server_round), int(client)]).generate_state(1)[0])


def _client_id(context: Context) -> int:
    if "partition-id" not in context.node_config:
        raise FederationError(
            "this SuperNode has no 'partition-id' in its node config; start it with "
            "--node-config 'partition-id=K num-partitions=N' (K is the client id)"
        )
    return int(context.node_config["partition-id"])


def _shard_dir(context: Context, job: dict) -> str:
    """Where this node keeps its data: its node config's ``shard-dir`` (deployment: every
    SuperNode is started next to its own shard); else, on the simulation engine, whose
    virtual nodes have no node config of their own, the node's folder under
    ``$OBLIVIATE_NODE_DATA`` holding the data set the job names; else a folder the job names
    (a plan run by hand with ``shard_dir`` set)."""
    folder = context.node_config.get("shard-dir")
    root = os.environ.get(NODE_DATA_VARIABLE)
    if not folder and job.get("data") and root:
        folder = str(node_folder(root, _client_id(context)) / str(job["data"]))
    folder = folder or job.get("shard_dir")
    if not folder:
        raise FederationError(
            "this SuperNode does not know where its data is: start it with --node-config "
            "'partition-id=K shard-dir=\"/folder/holding/client_K.safetensors\"'"
        )
    return str(folder)


_WARM = {"done": False}


def _warm_up_torch() -> None:
    """One optimizer step on a toy layer, once per process.

    torch loads parts of itself on the first backward pass and optimizer step (seconds
    on a busy machine); doing it while nodes are identified keeps that one-off cost out
    of the first training round.
    """
    if _WARM["done"]:
        return
    layer = torch.nn.Linear(2, 2)
    optimizer = torch.optim.Adam(layer.parameters(), lr=1e-3)
    layer(torch.zeros(1, 2)).sum().backward()
    optimizer.step()
    _WARM["done"] = True


@client_app.query()
def identify(msg: Message, context: Context) -> Message:
    """Reply with this node's client id (and warm torch up in this process)."""
    _warm_up_torch()
    return Message(RecordDict({"identity": MetricRecord({"partition-id": _client_id(context)})}), reply_to=msg)


@client_app.train()
def train(msg: Message, context: Context) -> Message:
    """Local training of one client on its shard, from the global weights received."""
    job = json.loads(str(msg.content["config"]["job"]))
    server_round = int(msg.content["config"]["server-round"])
    client = _client_id(context)
    data = read_shard(_shard_dir(context, job), client)
    model = build_from_spec(job["model"])
    load_state_into(model, msg.content["arrays"].to_torch_state_dict())
    seed = client_seed(job["seed"], server_round, client)
    seed_everything(seed)
    training = job["training"]
    started = time.perf_counter()
    if training.get("objective") == "ascent":
        history = _ascend(model, data, training, seed)
        metrics = MetricRecord(
            {
                "num-examples": len(data),
                "partition-id": client,
                "train-loss": float(history["last_loss"]),
                "compute-seconds": time.perf_counter() - started,
                "ascent-steps": int(history["steps"]),
            }
        )
        return Message(RecordDict({"arrays": ArrayRecord(model.state_dict()), "metrics": metrics}), reply_to=msg)
    steps = training.get("steps")
    epochs = int(training["epochs"])
    if steps:
        # A fixed number of local steps: as many passes over the shard as that takes.
        epochs = max(1, -(-int(steps) * int(training["batch_size"]) // max(len(data), 1)))
    history = fit(
        model,
        data,
        epochs=epochs,
        max_steps=int(steps) if steps else None,
        lr=float(training["lr"]),
        batch_size=int(training["batch_size"]),
        optimizer=str(training["optimizer"]),
        seed=seed,
    )
    seconds = time.perf_counter() - started
    metrics = MetricRecord(
        {
            "num-examples": len(data),
            "partition-id": client,
            "train-loss": float(history["last_loss"]),
            "compute-seconds": seconds,
        }
    )
    return Message(RecordDict({"arrays": ArrayRecord(model.state_dict()), "metrics": metrics}), reply_to=msg)


# -- server -------------------------------------------------------------------------------
class _FloorReached(Exception):
    """Raised after the ascent step that brings the shard's accuracy to the floor."""


def _ascend(model: torch.nn.Module, data, training: dict, seed: int) -> dict[str, float]:
    """The leaving client's own gradient ascent on its shard, from the weights it received.

    ``training``: ``lr``, ``optimizer``, ``batch_size``, ``epochs`` and optionally
    ``max_steps`` (NegGrad), ``radius`` (PGA, Halimi et al. 2022: after every step the
    parameters are projected back into the ball of that radius around the received
    weights, which the server built as the reference model) and ``floor`` with
    ``check_size`` (stop once the accuracy on a seeded sample of the shard is at most
    ``floor``).
    """
    from torch.nn.utils import parameters_to_vector, vector_to_parameters
    from torch.utils.data import TensorDataset

    from obliviate.core.training import accuracy

    center = parameters_to_vector(model.parameters()).detach().clone()
    radius = training.get("radius")
    floor = training.get("floor")
    check = None
    if floor is not None:
        picked = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[: int(training.get("check_size", 256))]
        check = TensorDataset(*(t[picked] for t in data.tensors))
    steps = {"n": 0}

    def after_step(net: torch.nn.Module) -> None:
        steps["n"] += 1
        if radius is not None:
            with torch.no_grad():
                offset = parameters_to_vector(net.parameters()) - center
                length = float(torch.linalg.vector_norm(offset))
                if length > float(radius):
                    vector_to_parameters(center + offset * (float(radius) / length), net.parameters())
        if check is not None and accuracy(net, check) <= float(floor):
            raise _FloorReached

    def ascent_loss(net: torch.nn.Module, batch: tuple) -> torch.Tensor:
        return -torch.nn.functional.cross_entropy(net(batch[0]), batch[1])

    history = {"last_loss": float("nan")}
    try:
        history = fit(model, data, loss_fn=ascent_loss, epochs=int(training["epochs"]),
                      max_steps=int(training["max_steps"]) if training.get("max_steps") else None,
                      lr=float(training["lr"]), optimizer=str(training["optimizer"]),
                      batch_size=int(training["batch_size"]), seed=seed, after_step=after_step)
    except _FloorReached:
        model.eval()
    return {"last_loss": float(history.get("last_loss", float("nan"))), "steps": steps["n"]}


def weighted_average(states: dict[int, dict[str, torch.Tensor]], weights: dict[int, float]) -> dict[str, torch.Tensor]:
    """``sum_k p_k state_k`` with ``p_k = weights_k / sum weights``, in float64, in client order.

    Integer entries (BatchNorm's ``num_batches_tracked``) are rounded back to integers.
    """
    clients = sorted(states)
    total = float(sum(weights[c] for c in clients))
    first = states[clients[0]]
    out = {}
    for key, ref in first.items():
        acc = torch.zeros(ref.shape, dtype=torch.float64)
        for client in clients:
            acc += states[client][key].to(torch.float64) * (weights[client] / total)
        out[key] = acc.to(ref.dtype) if torch.is_floating_point(ref) else acc.round().to(ref.dtype)
    return out


class ClientFedAvg(FedAvg):
    """Flower's FedAvg over a fixed set of clients, with deterministic aggregation and timings.

    Args:
        nodes: client id -> Flower node id.
        participants: the clients that train.
        recorder: where to record per-client contributions (``None``: no records).
    """

    def __init__(self, nodes: dict[int, int], participants: list[int], recorder: ContributionRecorder | None = None):
        super().__init__(fraction_train=1.0, fraction_evaluate=0.0, min_train_nodes=1, min_available_nodes=1)
        self.nodes = nodes
        self.participants = sorted(int(c) for c in participants)
        self.recorder = recorder
        self.round_seconds: list[float] = []
        self.compute_seconds: list[float] = []
        self.client_seconds = 0.0
        self.server_seconds: list[float] = []
        self.ascent_steps = 0
        self._sent: dict[str, torch.Tensor] = {}
        self._round_start = 0.0

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid) -> Iterable[Message]:
        """Send the global weights to every participant."""
        self._round_start = time.perf_counter()
        self._sent = arrays.to_torch_state_dict()
        config["server-round"] = server_round
        record = RecordDict({self.arrayrecord_key: arrays, self.configrecord_key: config})
        return self._construct_messages(record, [self.nodes[c] for c in self.participants], MessageType.TRAIN)

    def aggregate_train(self, server_round: int, replies: Iterable[Message]) -> tuple[ArrayRecord, MetricRecord]:
        """Combine the replies (all participants must answer), record, time the round."""
        replies = list(replies)
        for msg in replies:
            if msg.has_error():
                raise FederationError(
                    f"node {msg.metadata.src_node_id} failed in round {server_round}: {msg.error.reason}"
                )
        states, examples, compute, losses = {}, {}, {}, {}
        for msg in replies:
            metrics = msg.content["metrics"]
            client = int(metrics["partition-id"])
            states[client] = msg.content["arrays"].to_torch_state_dict()
            examples[client] = int(metrics["num-examples"])
            compute[client] = float(metrics["compute-seconds"])
            losses[client] = float(metrics["train-loss"])
            if "ascent-steps" in metrics:
                self.ascent_steps += int(metrics["ascent-steps"])
        missing = sorted(set(self.participants) - set(states))
        if missing:
            raise FederationError(f"clients {missing} did not reply in round {server_round}")
        combining = time.perf_counter()
        new_state = self.combine(server_round, states, examples)
        self.server_seconds.append(time.perf_counter() - combining)
        self.round_seconds.append(time.perf_counter() - self._round_start)
        self.compute_seconds.append(max(compute.values()))
        self.client_seconds += sum(compute.values())
        mean_loss = sum(losses[c] * examples[c] for c in states) / sum(examples.values())
        return ArrayRecord(new_state), MetricRecord({"train-loss": mean_loss})

    def combine(self, server_round: int, states: dict[int, dict[str, torch.Tensor]], examples: dict[int, int]) -> dict[str, torch.Tensor]:
        """FedAvg: the example-weighted average of the local models (recorded when asked)."""
        if self.recorder is not None:
            self.recorder.record_round(self._sent, states, examples)
        return weighted_average(states, {c: float(n) for c, n in examples.items()})


class CalibratedFedAvg(ClientFedAvg):
    """FedEraser's calibration rounds (Liu et al., IWQoS 2021).

    With stored rounds ``t_1 < t_2 < ... < t_J`` and ``U_k^t`` the recorded update of a
    retained client ``k``, the unlearned model starts from the original's initial weights
    and takes the uncalibrated step ``M^{t_2} = theta^0 + sum_k p_k U_k^{t_1}``
    (:meth:`first_step`). In each later round ``j`` the retained clients train briefly from
    ``M^{t_j}`` (the calibration training), giving ``Uhat_k``; the server keeps the
    direction of the new update and the length of the old one, per layer,
    ``Utilde_k = ||U_k^{t_j}|| * Uhat_k / ||Uhat_k||``, and sets
    ``M^{t_{j+1}} = M^{t_j} + sum_k p_k Utilde_k`` with ``p_k`` proportional to ``n_k``.
    Only learnable parameters are calibrated; BatchNorm statistics are averaged as in
    FedAvg (a rescaled step could make a running variance negative).
    """

    def __init__(
        self,
        nodes: dict[int, int],
        participants: list[int],
        records: FederationRecords,
        stored_rounds: list[int],
        parameter_keys: list[str],
    ):
        super().__init__(nodes, participants)
        self.records = records
        self.parameter_keys = [k for k in records.keys if k in set(parameter_keys)]
        self.stored_rounds = [int(t) for t in stored_rounds]
        self._weights = {c: float(records.num_examples[c]) for c in self.participants}
        self._total = sum(self._weights.values())
        self._norms = records.update_norms()
        self._key_index = {k: j for j, k in enumerate(records.keys)}
        self._client_index = {c: i for i, c in enumerate(records.clients)}

    def first_step(self, initial_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``theta^0 + sum_k p_k U_k^{t_1}`` over the retained clients (no training)."""
        if self.stored_rounds[0] != 1:
            raise FederationError("FedEraser's first stored round must be round 1 (its updates start from theta^0)")
        state = {k: v.clone() for k, v in initial_state.items()}
        for key in self.records.keys:
            step = torch.zeros(state[key].shape, dtype=torch.float64)
            for client in self.participants:
                step += self.records.first_update(client)[key].double() * (self._weights[client] / self._total)
            state[key] = (state[key].double() + step).to(state[key].dtype)
        return state

    def combine(self, server_round: int, states: dict[int, dict[str, torch.Tensor]], examples: dict[int, int]) -> dict[str, torch.Tensor]:
        """Calibrated step: old update lengths, new update directions, per layer."""
        stored = self.stored_rounds[server_round]
        old_norms = self._norms[stored - 1]
        # Buffers (BatchNorm statistics and counters) are statistics, not steps: plain FedAvg.
        new_state = weighted_average(states, {c: float(n) for c, n in examples.items()})
        for key in self.parameter_keys:
            step = torch.zeros(self._sent[key].shape, dtype=torch.float64)
            for client in self.participants:
                fresh = states[client][key].double() - self._sent[key].double()
                length = torch.linalg.vector_norm(fresh)
                if length > 0:
                    old = old_norms[self._client_index[client], self._key_index[key]].double()
                    step += (old / length) * fresh * (self._weights[client] / self._total)
            new_state[key] = (self._sent[key].double() + step).to(self._sent[key].dtype)
        return new_state


def discover_nodes(grid: Grid, needed: set[int], timeout: float = NODE_TIMEOUT) -> dict[int, int]:
    """Map client ids to node ids: wait for the nodes, then ask each for its ``partition-id``.

    Args:
        grid: the Flower grid.
        needed: the client ids that must be found.
        timeout: seconds to wait for them.

    Raises:
        FederationError: when those clients' nodes do not all answer within ``timeout``.
    """
    deadline = time.monotonic() + timeout
    mapping: dict[int, int] = {}
    asked: set[int] = set()
    while time.monotonic() < deadline:
        fresh = [node for node in grid.get_node_ids() if node not in asked]
        if fresh:
            asked.update(fresh)
            queries = [
                Message(RecordDict({"config": ConfigRecord({})}), dst_node_id=node, message_type=MessageType.QUERY)
                for node in fresh
            ]
            for reply in grid.send_and_receive(queries, timeout=max(1.0, deadline - time.monotonic())):
                if reply.has_error():
                    raise FederationError(f"node {reply.metadata.src_node_id} failed to identify: {reply.error.reason}")
                mapping[int(reply.content["identity"]["partition-id"])] = reply.metadata.src_node_id
        if needed <= set(mapping):
            return mapping
        time.sleep(0.2)
    raise FederationError(
        f"clients {sorted(needed - set(mapping))} have no SuperNode after {timeout:.0f} s; "
        f"nodes seen for clients {sorted(mapping)}"
    )


def serve(grid: Grid, plan: FederationPlan, nodes: dict[int, int] | None = None,
          initial_state: dict[str, torch.Tensor] | None = None) -> None:
    """Run one plan on a Flower grid; write the final model and the timings to the plan's paths.

    The clients receive everything by Flower messages: the model recipe, the local training
    recipe and the seed in each round's config record, the global weights in its array
    record. Their data stays where their node keeps it (see :func:`_shard_dir`); the job
    names a shard folder only when ``plan.shard_dir`` is set (the simulation engine).

    Args:
        grid: the Flower grid.
        plan: the run.
        nodes: client id -> node id, when already known (else asked of the nodes).
        initial_state: the initial global weights (default: read from ``plan.initial``).

    Raises:
        FederationError: when a participant has no node or a client fails.
    """
    plan.check()
    started = time.perf_counter()
    if nodes is None or not set(plan.participants) <= set(nodes):
        nodes = discover_nodes(grid, set(plan.participants))
    if initial_state is None:
        initial_state, _ = load_state(plan.initial)
    job = {"model": plan.model, "training": plan.training, "seed": plan.seed}
    if plan.data:
        job["data"] = plan.data
    if plan.shard_dir:
        job["shard_dir"] = plan.shard_dir
    config = ConfigRecord({"job": json.dumps(job)})
    if plan.mode == "fedavg":
        recorder = ContributionRecorder(plan.records, initial_state, plan.participants) if plan.records else None
        strategy: ClientFedAvg = ClientFedAvg(nodes, plan.participants, recorder=recorder)
        start_state = initial_state
    else:
        calibration = plan.calibration or {}
        records = FederationRecords.load(calibration["records"])
        parameter_keys = [name for name, _ in build_from_spec(plan.model).named_parameters()]
        strategy = CalibratedFedAvg(nodes, plan.participants, records, calibration["stored_rounds"], parameter_keys)
        start_state = strategy.first_step(initial_state)
    final_state = start_state
    if plan.rounds > 0:
        result = strategy.start(
            grid=grid, initial_arrays=ArrayRecord(start_state), num_rounds=plan.rounds, train_config=config
        )
        final_state = result.arrays.to_torch_state_dict()
    save_model(final_state, plan.output, {"mode": plan.mode, "rounds": plan.rounds})
    summary = {
        "server_seconds": time.perf_counter() - started,
        "round_seconds": strategy.round_seconds,
        "compute_seconds": strategy.compute_seconds,
        "client_seconds": strategy.client_seconds,
        "aggregate_seconds": strategy.server_seconds,
        "ascent_steps": strategy.ascent_steps,
        "record_seconds": list(strategy.recorder.seconds_per_round) if strategy.recorder else [],
        "record_bytes": list(strategy.recorder.bytes_per_round) if strategy.recorder else [],
    }
    atomic_write_text(plan.summary, json.dumps(summary))


def service_app(service: FederationService) -> ServerApp:
    """A ``ServerApp`` that maps every node to its client once, then serves the plans
    submitted to ``service`` one after another on the same grid (see
    :class:`~obliviate.federated.engine.FederationService`)."""
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        nodes = discover_nodes(grid, set(range(service.num_nodes)))
        service.ready.set()
        while True:
            try:
                job = service.jobs.get(timeout=0.5)
            except Empty:
                # At interpreter exit the main thread is gone: let the simulation wind down.
                if not threading.main_thread().is_alive():
                    return
                continue
            if job.plan is None:
                job.done.set()
                return
            try:
                serve(grid, job.plan, nodes, job.initial_state)
            except Exception as exc:  # handed to the caller waiting for this job
                job.error = exc
            finally:
                job.done.set()

    return app


server_app = ServerApp()


@server_app.main()
def deployed_main(grid: Grid, context: Context) -> None:
    """Deployment entry point: serve the plan carried by the run config: ``plan-json`` (the
    plan's JSON, base64-encoded, as :func:`obliviate.federated.deploy.run_deployed` submits
    it) or ``plan`` (the path of a plan JSON file on the server's machine)."""
    encoded = str(context.run_config.get("plan-json", ""))
    if encoded:
        serve(grid, FederationPlan.from_json(base64.b64decode(encoded).decode()))
        return
    path = str(context.run_config.get("plan", ""))
    if not path or not Path(path).is_file():
        raise FederationError(f"run config 'plan-json' or 'plan' (a plan JSON file) must give the plan; got {path!r}")
    serve(grid, FederationPlan.from_json(Path(path).read_text()))
