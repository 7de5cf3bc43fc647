"""Any PyG model for every graph method: its layers, their outputs, and deletion operators.

The graph methods read a model only through this module, so a network the toolkit did not
define works with all of them, on one condition: it is a ``torch.nn.Module`` whose
``forward(x, edge_index)`` returns one row per node and runs torch-geometric
``MessagePassing`` layers (``GCNConv``, ``SAGEConv``, ``GATConv``, ``torch_geometric.nn.GraphSAGE``, ...).

* **Layers.** The message-passing layers are the outermost ``MessagePassing`` submodules;
  a layer's output is what its ``forward`` returns, one ``(num_nodes, width)`` tensor.
  :func:`forward_with_layers` collects these outputs with forward hooks during one forward
  pass, in the order the layers run; nothing is asked of the model's class.
* **Decoding.** Link prediction scores a node pair by ``model.decode(z, pairs)`` when the
  model defines it, else by the inner product ``z_u . z_v`` (GAE; Kipf & Welling, 2016).
* **Deletion operators** (GNNDelete; Cheng et al., ICLR 2023). An operator ``W`` after layer
  ``l`` replaces the layer's output ``h_i`` by ``h_i W`` for the nodes flagged in its mask
  and leaves the others alone. It is applied by a forward hook on the layer, so it wraps a
  user's layers without touching their class. :class:`~obliviate.graph.models.GraphNet`
  carries one per layer from the start (identity, empty mask: no effect, keys
  ``deletion.<l>.weight`` and ``deletion_mask``); any other model gets them attached by
  :func:`deletion_slots` under one submodule named ``gnndelete`` (keys
  ``gnndelete.<layer path, "/" for ".">.weight`` and ``...mask``). Every key the model had
  is kept unchanged and its type is the same. To load such weights into a freshly built
  network, call :func:`restore_deletion_operators` (or :func:`load_graph_weights`) first.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from obliviate.core.errors import (
    DataError,
    InvalidRequestError,
    ObliviateError,
    UnsupportedModelError,
    require_extra,
)

ATTACHED_NAME = "gnndelete"
_PATH_SEPARATOR = "/"


def _message_passing_class() -> type:
    return require_extra("torch_geometric.nn", "graph").MessagePassing


def message_passing_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The outermost ``MessagePassing`` submodules of ``model``, as ``(path, module)`` in
    definition order (a message-passing module inside another one is part of it)."""
    base = _message_passing_class()
    layers: list[tuple[str, nn.Module]] = []
    for path, module in model.named_modules():
        if not isinstance(module, base) or module is model:
            continue
        if any(path.startswith(outer + ".") for outer, _ in layers):
            continue
        layers.append((path, module))
    return layers


def check_graph_model(model: object, owner: str) -> None:
    """Refuse anything that is not a graph network: an ``nn.Module`` with message-passing layers.

    Raises:
        UnsupportedModelError: naming what is missing and what is expected.
    """
    expected = (
        "a graph network: a torch.nn.Module whose forward(x, edge_index) runs torch_geometric "
        "MessagePassing layers (GCNConv, SAGEConv, GATConv, torch_geometric.nn.GraphSAGE, ...)"
    )
    if not isinstance(model, nn.Module):
        raise UnsupportedModelError(f"{owner} needs {expected}; got a {type(model).__name__}")
    if not message_passing_layers(model):
        raise UnsupportedModelError(
            f"{owner} needs {expected}; {type(model).__name__} has no MessagePassing layer"
        )


@dataclass
class LayerCall:
    """One message-passing layer as it ran: its path in the model, the module, its output."""

    path: str
    module: nn.Module
    output: torch.Tensor


class _Recorder:
    """Forward hooks on the message-passing layers that keep each output, in call order."""

    def __init__(self, model: nn.Module):
        self.layers = message_passing_layers(model)
        self.calls: list[LayerCall] = []
        self._handles: list = []

    def __enter__(self) -> _Recorder:
        for path, module in self.layers:
            self._handles.append(module.register_forward_hook(self._hook(path)))
        return self

    def _hook(self, path: str) -> Callable:
        def keep(module: nn.Module, args: tuple, output: object) -> None:
            if not isinstance(output, torch.Tensor):
                raise UnsupportedModelError(
                    f"message-passing layer '{path}' returned a {type(output).__name__}; the graph methods "
                    "read each layer's output as one (num_nodes, width) tensor (for GATConv, do not ask "
                    "for attention weights in forward)"
                )
            self.calls.append(LayerCall(path, module, output))

        return keep

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()


def forward_with_layers(
    model: nn.Module, x: torch.Tensor, edge_index: torch.Tensor
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """``model(x, edge_index)`` and the output of every message-passing layer, in call order.

    A layer's output is taken after its deletion operator, where it has one.

    Raises:
        UnsupportedModelError: a layer returns something other than a tensor, or the model's
            output is not one row per node.
    """
    with _Recorder(model) as recorder:
        out = model(x, edge_index)
    _check_node_rows(out, x.size(0), type(model).__name__)
    return out, [call.output for call in recorder.calls]


def probe_layers(model: nn.Module, x: torch.Tensor, edge_index: torch.Tensor) -> list[LayerCall]:
    """The message-passing layers in the order one forward pass runs them (no gradients).

    Raises:
        UnsupportedModelError: ``forward(x, edge_index)`` fails, a layer runs more than once
            per pass, or a layer's output is not one row per node.
    """
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), _Recorder(model) as recorder:
            try:
                out = model(x, edge_index)
            except ObliviateError:
                raise
            except (TypeError, RuntimeError, IndexError, ValueError) as exc:
                raise UnsupportedModelError(
                    f"{type(model).__name__}(x, edge_index) failed ({type(exc).__name__}: {exc}); graph "
                    "models must take the node features and a (2, E) edge_index"
                ) from exc
    finally:
        model.train(was_training)
    _check_node_rows(out, x.size(0), type(model).__name__)
    calls = recorder.calls
    seen: set[int] = set()
    for call in calls:
        if id(call.module) in seen:
            raise UnsupportedModelError(
                f"message-passing layer '{call.path}' runs more than once per forward pass; the graph methods "
                "need one output (and one deletion operator) per layer"
            )
        seen.add(id(call.module))
        if call.output.dim() != 2 or call.output.size(0) != x.size(0):
            raise UnsupportedModelError(
                f"message-passing layer '{call.path}' gave shape {tuple(call.output.shape)}; expected "
                f"({x.size(0)}, width): one row per node"
            )
    if not calls:
        raise UnsupportedModelError(f"{type(model).__name__}'s forward ran none of its message-passing layers")
    return calls


def _check_node_rows(out: object, num_nodes: int, name: str) -> None:
    if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.size(0) != num_nodes:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise UnsupportedModelError(
            f"{name}(x, edge_index) returned {shape}; graph models must return one row per node, "
            f"shape ({num_nodes}, width)"
        )


def output_is_last_layer(out: torch.Tensor, layers: list[torch.Tensor]) -> bool:
    """Whether the model's output is its last message-passing layer's output (no head after it)."""
    return bool(layers) and layers[-1] is out


def decode_pairs(model: nn.Module, z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """Link logits of the ``(2, k)`` node pairs: ``model.decode(z, pairs)`` when the model
    defines it, else the inner product ``z_u . z_v``."""
    decode = getattr(model, "decode", None)
    if callable(decode):
        return decode(z, pairs)
    return (z[pairs[0]] * z[pairs[1]]).sum(dim=-1)


# -- deletion operators -----------------------------------------------------------------------


class DeletionOperator(nn.Module):
    """``h_i -> h_i W`` on the flagged nodes, identity elsewhere (GNNDelete's DEL operator).

    Args:
        dim: width of the representation it acts on; ``W`` is ``dim x dim``, initially ``I``.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.eye(dim))

    def reset_parameters(self) -> None:
        """Back to the identity."""
        with torch.no_grad():
            self.weight.copy_(torch.eye(self.weight.size(0), device=self.weight.device))

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``h`` with the rows flagged in the boolean ``mask`` multiplied by ``W``."""
        if not bool(mask.any()):
            return h
        index = mask.nonzero().squeeze(1)
        return h.index_put((index,), h[index] @ self.weight)


class MaskedDeletionOperator(DeletionOperator):
    """A :class:`DeletionOperator` that keeps its own node mask (attached to a user's layer)."""

    def __init__(self, dim: int, num_nodes: int):
        super().__init__(dim)
        self.register_buffer("mask", torch.zeros(num_nodes, dtype=torch.bool))

    def reset_parameters(self) -> None:
        """Back to the identity, with no node flagged."""
        super().reset_parameters()
        self.mask.zero_()


class OperatorHook:
    """Forward hook applying the deletion operator ``key`` of ``owner`` to a layer's output.

    ``owner.deletion_slot(key)`` gives ``(operator, mask)`` at call time, so the hook follows
    the model through ``copy.deepcopy`` and ``.to(device)``.
    """

    def __init__(self, owner: nn.Module, key: int | str):
        self.owner = owner
        self.key = key

    def __call__(self, module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor | None:
        operator, mask = self.owner.deletion_slot(self.key)
        if not bool(mask.any()):
            return None
        if not isinstance(output, torch.Tensor) or output.dim() != 2 or output.size(0) != mask.numel():
            shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
            raise InvalidRequestError(
                f"this model's deletion operators were fitted to a graph of {mask.numel()} nodes; "
                f"layer output has shape {shape}"
            )
        return operator(output, mask)


class AttachedOperators(nn.Module):
    """Deletion operators attached to the layers of a model that has none of its own.

    Args:
        widths: ``{layer path: output width}`` of the layers to wrap.
        num_nodes: nodes of the graph (size of each mask).
    """

    def __init__(self, widths: Mapping[str, int], num_nodes: int):
        super().__init__()
        self.ops = nn.ModuleDict(
            {path.replace(".", _PATH_SEPARATOR): MaskedDeletionOperator(width, num_nodes) for path, width in widths.items()}
        )

    def deletion_slot(self, key: str) -> tuple[DeletionOperator, torch.Tensor]:
        """The operator of layer ``key`` and its node mask."""
        operator = self.ops[key]
        return operator, operator.mask

    def layer_paths(self) -> list[str]:
        """Paths (in the model) of the layers these operators wrap."""
        return [key.replace(_PATH_SEPARATOR, ".") for key in self.ops]


def _register(model: nn.Module, container: AttachedOperators) -> None:
    for key in container.ops:
        path = key.replace(_PATH_SEPARATOR, ".")
        try:
            layer = model.get_submodule(path)
        except AttributeError:
            raise DataError(f"deletion operator '{key}' names no layer '{path}' of {type(model).__name__}") from None
        if not isinstance(layer, _message_passing_class()):
            raise DataError(f"deletion operator '{key}' names '{path}', which is not a message-passing layer")
        layer.register_forward_hook(OperatorHook(container, key))


def _attach(model: nn.Module, widths: Mapping[str, int], num_nodes: int) -> AttachedOperators:
    existing = getattr(model, ATTACHED_NAME, None)
    if existing is not None:
        raise UnsupportedModelError(
            f"{type(model).__name__} already has an attribute '{ATTACHED_NAME}'; GNNDelete keeps its operators "
            "under that name: rename yours"
        )
    container = AttachedOperators(widths, num_nodes)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    container.to(device)
    model.add_module(ATTACHED_NAME, container)
    _register(model, container)
    return container


def _detach(model: nn.Module) -> None:
    container = getattr(model, ATTACHED_NAME, None)
    if not isinstance(container, AttachedOperators):
        return
    for module in model.modules():
        for key, hook in list(module._forward_hooks.items()):
            if isinstance(hook, OperatorHook) and hook.owner is container:
                del module._forward_hooks[key]
    delattr(model, ATTACHED_NAME)


@dataclass
class DeletionSlots:
    """The deletion operators of a model, one per message-passing layer in call order.

    Attributes:
        operators: the operators (their weights are what GNNDelete trains).
        attached: True when they were attached to a model without operators of its own.
    """

    operators: list[DeletionOperator]
    masks: list[torch.Tensor]
    attached: bool

    def active(self) -> bool:
        """Whether any node is flagged (an earlier deletion is held)."""
        return any(bool(mask.any()) for mask in self.masks)

    def set_masks(self, masks: list[torch.Tensor]) -> None:
        """Flag the nodes of ``masks[l]`` for the operator of layer ``l``."""
        with torch.no_grad():
            for target, mask in zip(self.masks, masks):
                target.copy_(mask)

    def parameters(self) -> list[nn.Parameter]:
        """The operators' weights."""
        return [operator.weight for operator in self.operators]


def deletion_slots(model: nn.Module, x: torch.Tensor, edge_index: torch.Tensor) -> DeletionSlots:
    """The model's deletion operators, attaching identity operators to its layers if it has none.

    Raises:
        UnsupportedModelError: the model cannot run on ``(x, edge_index)``, or its operators do
            not match its layers.
        InvalidRequestError: the operators were fitted to a graph of another size.
    """
    from obliviate.graph.models import GraphNet

    n = x.size(0)
    if isinstance(model, GraphNet):
        if model.deletion_mask.size(1) != n:
            raise InvalidRequestError(
                f"this GraphNet's deletion operators cover {model.deletion_mask.size(1)} nodes; the graph has {n}"
            )
        return DeletionSlots(list(model.deletion), list(model.deletion_mask), attached=False)
    calls = probe_layers(model, x, edge_index)
    container = getattr(model, ATTACHED_NAME, None)
    if container is None:
        container = _attach(model, {call.path: call.output.size(1) for call in calls}, n)
    elif not isinstance(container, AttachedOperators) or set(container.layer_paths()) != {c.path for c in calls}:
        raise UnsupportedModelError(
            f"{type(model).__name__}.{ATTACHED_NAME} does not hold one deletion operator per message-passing layer"
        )
    keys = [call.path.replace(".", _PATH_SEPARATOR) for call in calls]
    operators = [container.ops[key] for key in keys]
    if operators[0].mask.numel() != n:
        raise InvalidRequestError(
            f"this model's deletion operators cover {operators[0].mask.numel()} nodes; the graph has {n}"
        )
    return DeletionSlots(operators, [op.mask for op in operators], attached=True)


def restore_deletion_operators(model: nn.Module, state: Mapping[str, torch.Tensor]) -> nn.Module:
    """Attach to ``model`` the deletion operators a saved state holds (``gnndelete.*`` keys).

    Call it on a freshly built network before ``load_state_dict(state)``; it does nothing
    when the state has no such keys or the model already has them.

    Returns:
        ``model`` (changed in place).

    Raises:
        DataError: the keys name layers the model does not have, or are incomplete.
    """
    prefix = f"{ATTACHED_NAME}.ops."
    keys = [key for key in state if key.startswith(prefix)]
    if not keys or hasattr(model, ATTACHED_NAME):
        return model
    widths: dict[str, int] = {}
    sizes: set[int] = set()
    for key in keys:
        name, _, leaf = key[len(prefix) :].rpartition(".")
        if leaf == "weight":
            widths[name.replace(_PATH_SEPARATOR, ".")] = int(state[key].shape[0])
        elif leaf == "mask":
            sizes.add(int(state[key].numel()))
    if not widths or len(sizes) != 1:
        raise DataError(f"the saved deletion operators ({prefix}*) are incomplete: each needs a weight and a mask")
    _attach(model, widths, sizes.pop())
    return model


def load_graph_weights(model: nn.Module, path: str | os.PathLike) -> dict:
    """Load safetensors weights into a graph network, deletion operators included; returns the metadata.

    Raises:
        DataError: the file is unreadable or its keys or shapes do not fit the model.
    """
    from obliviate.core.checkpoint import load_state

    state, metadata = load_state(path)
    restore_deletion_operators(model, state)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise DataError(f"checkpoint '{path}' does not fit this model (wrong recipe or factory?): {exc}") from exc
    return metadata


def fresh_graph_model(model: nn.Module, *, seed: int, factory: Callable[[], nn.Module] | None) -> nn.Module:
    """A freshly initialised network like ``model`` (see :func:`obliviate.core.training.fresh_model`),
    with identity deletion operators where ``model`` has attached ones, so its keys match."""
    from obliviate.core.training import fresh_model

    container = getattr(model, ATTACHED_NAME, None)
    if factory is None or not isinstance(container, AttachedOperators):
        return fresh_model(model, seed=seed, factory=factory)
    template = copy.deepcopy(model)
    _detach(template)
    built = fresh_model(template, seed=seed, factory=factory)
    widths = {path: int(container.ops[path.replace(".", _PATH_SEPARATOR)].weight.size(0)) for path in container.layer_paths()}
    num_nodes = int(next(iter(container.ops.values())).mask.numel())
    _attach(built, widths, num_nodes)
    return built
