"""Cells, the search network, genotypes and the networks built from them.

The architecture is DARTS' (Liu et al., ICLR 2019, sec. 2.1), which EmoNAS searches for facial
expressions: a stem convolution, then ``layers`` cells, each a directed acyclic graph whose two
input nodes are the outputs of the previous two cells and whose ``steps`` intermediate nodes
each sum one operation of every earlier node; the cell's output concatenates the intermediate
nodes. Reduction cells (at ``layers // 3`` and ``2 * layers // 3``) apply their input edges with
stride 2 and double the channels.

A *genotype* is the discrete cell: for every intermediate node, two ``(operation, input)``
pairs. :func:`derive_genotype` reads it off the architecture weights as DARTS does (sec. 2.4):
per node keep the two incoming edges whose strongest non-``none`` weight is largest, and on each
the strongest non-``none`` operation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from obliviate.core.errors import InvalidParameterError
from obliviate.nas.ops import (
    OPS,
    PRIMITIVES,
    FactorizedReduce,
    MixedOp,
    ReLUConvBN,
    check_primitives,
    make_op,
)

Node = tuple[tuple[str, int], tuple[str, int]]


@dataclass(frozen=True)
class Genotype:
    """A discrete architecture: the normal and the reduction cell, two ``(op, input)`` per node.

    Inputs are numbered as in DARTS: 0 and 1 are the two previous cells' outputs, ``2 + i`` is
    intermediate node ``i``.
    """

    normal: tuple[Node, ...]
    reduce: tuple[Node, ...]

    @property
    def steps(self) -> int:
        """The number of intermediate nodes of each cell."""
        return len(self.normal)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``{"normal": [[[op, input], [op, input]], ...], "reduce": [...]}``."""
        return {
            "normal": [[list(edge) for edge in node] for node in self.normal],
            "reduce": [[list(edge) for edge in node] for node in self.reduce],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Genotype:
        """Inverse of :meth:`to_dict`; validates the operations and the inputs.

        Raises:
            InvalidParameterError: for an unknown operation, an input that is not an earlier
                node, or cells of different sizes.
        """
        try:
            cells = {
                key: tuple(tuple((str(op), int(src)) for op, src in node) for node in data[key])
                for key in ("normal", "reduce")
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidParameterError(
                "a genotype is {'normal': [[[op, input], [op, input]], ...], 'reduce': [...]}; "
                f"could not read it: {exc}"
            ) from exc
        genotype = cls(normal=cells["normal"], reduce=cells["reduce"])
        genotype.validate()
        return genotype

    def validate(self) -> None:
        """Check every node has two edges from earlier nodes and every op is known and not ``none``."""
        if len(self.normal) != len(self.reduce) or not self.normal:
            raise InvalidParameterError(
                f"the normal and reduction cells need the same, positive number of nodes; got {len(self.normal)} and {len(self.reduce)}"
            )
        for kind, cell in (("normal", self.normal), ("reduce", self.reduce)):
            for index, node in enumerate(cell):
                if len(node) != 2:
                    raise InvalidParameterError(
                        f"{kind} node {index} must have exactly two inputs; got {len(node)}"
                    )
                for op, src in node:
                    if op not in OPS or op == "none":
                        raise InvalidParameterError(
                            f"{kind} node {index}: operation {op!r} is not one of {[n for n in OPS if n != 'none']}"
                        )
                    if not 0 <= src < index + 2:
                        raise InvalidParameterError(
                            f"{kind} node {index}: input {src} must be in 0..{index + 1}"
                        )

    def __str__(self) -> str:
        def cell(nodes: tuple[Node, ...]) -> str:
            return "; ".join(
                f"n{i + 2}=" + "+".join(f"{op}({src})" for op, src in node) for i, node in enumerate(nodes)
            )

        return f"normal[{cell(self.normal)}] reduce[{cell(self.reduce)}]"


def edge_count(steps: int) -> int:
    """Edges of a cell with ``steps`` intermediate nodes: ``sum_{i<steps} (2 + i)``."""
    return sum(2 + i for i in range(steps))


def reduction_indices(layers: int) -> set[int]:
    """Positions of the reduction cells among ``layers`` cells (DARTS: ``layers//3``, ``2*layers//3``)."""
    return {layers // 3, 2 * layers // 3}


def derive_cell(
    alpha: torch.Tensor | np.ndarray, steps: int, primitives: Sequence[str] = PRIMITIVES
) -> tuple[Node, ...]:
    """The discrete cell of one alpha matrix (one row per edge, one column per operation).

    DARTS' rule: the weights of an edge are ``softmax(alpha_edge)``; its strength is the largest
    weight of an operation other than ``none``; each node keeps its two strongest incoming edges
    and on each the strongest non-``none`` operation. Ties go to the earlier edge/operation.

    Raises:
        InvalidParameterError: when the matrix does not have ``edge_count(steps)`` rows and one
            column per primitive.
    """
    names = check_primitives(primitives)
    weights = torch.as_tensor(alpha, dtype=torch.float64)
    if weights.ndim != 2 or weights.shape != (edge_count(steps), len(names)):
        raise InvalidParameterError(
            f"alpha must have shape ({edge_count(steps)}, {len(names)}) for {steps} nodes; got {tuple(weights.shape)}"
        )
    weights = torch.softmax(weights, dim=-1)
    usable = [k for k, name in enumerate(names) if name != "none"]
    cell: list[Node] = []
    start = 0
    for i in range(steps):
        rows = weights[start : start + 2 + i][:, usable]
        strength = rows.max(dim=1).values
        # stable sort: among equal strengths the earlier input wins
        order = sorted(range(2 + i), key=lambda j: (-float(strength[j]), j))[:2]
        node = tuple((names[usable[int(rows[j].argmax())]], j) for j in sorted(order))
        cell.append(node)  # type: ignore[arg-type]
        start += 2 + i
    return tuple(cell)


def derive_genotype(
    alphas_normal: torch.Tensor,
    alphas_reduce: torch.Tensor,
    steps: int,
    primitives: Sequence[str] = PRIMITIVES,
) -> Genotype:
    """The :class:`Genotype` of a search network's two alpha matrices (see :func:`derive_cell`)."""
    return Genotype(
        normal=derive_cell(alphas_normal, steps, primitives),
        reduce=derive_cell(alphas_reduce, steps, primitives),
    )


def random_genotype(seed: int, *, steps: int = 2, primitives: Sequence[str] = PRIMITIVES) -> Genotype:
    """A genotype drawn uniformly from the search space: the random-architecture control.

    Every node takes two distinct inputs among the earlier nodes and, on each, an operation
    drawn uniformly from the primitives other than ``none``.
    """
    names = [name for name in check_primitives(primitives) if name != "none"]
    rng = np.random.default_rng(seed)

    def cell() -> tuple[Node, ...]:
        nodes = []
        for i in range(steps):
            inputs = sorted(rng.choice(2 + i, size=2, replace=False).tolist())
            nodes.append(tuple((names[int(rng.integers(len(names)))], int(j)) for j in inputs))
        return tuple(nodes)  # type: ignore[return-value]

    return Genotype(normal=cell(), reduce=cell())


def _preprocess(
    c_pp: int, c_p: int, c: int, reduction_prev: bool, affine: bool
) -> tuple[nn.Module, nn.Module]:
    first = FactorizedReduce(c_pp, c, affine) if reduction_prev else ReLUConvBN(c_pp, c, 1, 1, 0, affine)
    return first, ReLUConvBN(c_p, c, 1, 1, 0, affine)


class SearchCell(nn.Module):
    """A cell whose every edge is a :class:`MixedOp` (the continuous relaxation)."""

    def __init__(
        self,
        steps: int,
        c_pp: int,
        c_p: int,
        c: int,
        reduction: bool,
        reduction_prev: bool,
        primitives: Sequence[str],
    ) -> None:
        super().__init__()
        self.reduction = reduction
        self.steps = steps
        self.preprocess0, self.preprocess1 = _preprocess(c_pp, c_p, c, reduction_prev, affine=False)
        self.edges = nn.ModuleList()
        for i in range(steps):
            for j in range(2 + i):
                self.edges.append(MixedOp(c, 2 if reduction and j < 2 else 1, primitives))

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        offset = 0
        for _ in range(self.steps):
            node = sum(self.edges[offset + j](h, weights[offset + j]) for j, h in enumerate(states))
            offset += len(states)
            states.append(node)
        return torch.cat(states[2:], dim=1)


class _Backbone(nn.Module):
    """Shared stem, cell stack and classifier of the search and the derived networks."""

    def _build(
        self,
        in_channels: int,
        num_classes: int,
        channels: int,
        layers: int,
        steps: int,
        stem_multiplier: int,
        make_cell,
    ) -> None:
        if channels < 2 or channels % 2:
            raise InvalidParameterError(f"channels must be an even number >= 2; got {channels}")
        if layers < 1:
            raise InvalidParameterError(f"layers must be >= 1; got {layers}")
        if steps < 1:
            raise InvalidParameterError(f"steps must be >= 1; got {steps}")
        c_curr = stem_multiplier * channels
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr)
        )
        c_pp, c_p, c_curr = c_curr, c_curr, channels
        self.cells = nn.ModuleList()
        reduction_prev = False
        reductions = reduction_indices(layers)
        for index in range(layers):
            reduction = index in reductions
            if reduction:
                c_curr *= 2
            self.cells.append(make_cell(c_pp, c_p, c_curr, reduction, reduction_prev))
            reduction_prev = reduction
            c_pp, c_p = c_p, steps * c_curr
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)

    def _head(self, s1: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(s1).flatten(1))


class SearchNetwork(_Backbone):
    """The over-parameterised network of the search: weights ``w`` and architecture ``alpha``.

    Args:
        in_channels: image channels (1 for grey faces and digits).
        num_classes: expression classes.
        channels: channels of the first cell (doubled at every reduction cell).
        layers: number of cells.
        steps: intermediate nodes per cell.
        primitives: the candidate operations of every edge.
        seed: seeds the initial weights and alphas.
    """

    def __init__(
        self, in_channels: int, num_classes: int, *, channels: int = 8, layers: int = 3, steps: int = 2,
        stem_multiplier: int = 2, primitives: Sequence[str] = PRIMITIVES, seed: int = 0,
    ) -> None:  # fmt: skip
        super().__init__()
        self.primitives = check_primitives(primitives)
        self.steps = steps
        self.config = dict(
            in_channels=in_channels,
            num_classes=num_classes,
            channels=channels,
            layers=layers,
            steps=steps,
            stem_multiplier=stem_multiplier,
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self._build(
                in_channels, num_classes, channels, layers, steps, stem_multiplier,
                lambda c_pp, c_p, c, red, red_prev: SearchCell(steps, c_pp, c_p, c, red, red_prev, self.primitives),
            )  # fmt: skip
            shape = (edge_count(steps), len(self.primitives))
            self.alphas_normal = nn.Parameter(1e-3 * torch.randn(shape))
            self.alphas_reduce = nn.Parameter(1e-3 * torch.randn(shape))

    def arch_parameters(self) -> list[nn.Parameter]:
        """The architecture weights ``alpha`` (normal and reduction cell)."""
        return [self.alphas_normal, self.alphas_reduce]

    def weight_parameters(self) -> list[nn.Parameter]:
        """The network weights ``w`` (everything except ``alpha``)."""
        arch = {id(p) for p in self.arch_parameters()}
        return [p for p in self.parameters() if id(p) not in arch]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        normal = torch.softmax(self.alphas_normal, dim=-1)
        reduce = torch.softmax(self.alphas_reduce, dim=-1)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, reduce if cell.reduction else normal)
        return self._head(s1)

    def genotype(self) -> Genotype:
        """The discrete architecture of the current alphas (:func:`derive_genotype`)."""
        return derive_genotype(
            self.alphas_normal.detach(), self.alphas_reduce.detach(), self.steps, self.primitives
        )


class DerivedCell(nn.Module):
    """A cell of a genotype: every node sums its two chosen operations."""

    def __init__(
        self, nodes: tuple[Node, ...], c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool
    ) -> None:
        super().__init__()
        self.reduction = reduction
        self.preprocess0, self.preprocess1 = _preprocess(c_pp, c_p, c, reduction_prev, affine=True)
        self.inputs = [src for node in nodes for _, src in node]
        self.ops = nn.ModuleList(
            make_op(op, c, 2 if reduction and src < 2 else 1) for node in nodes for op, src in node
        )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for i in range(len(self.ops) // 2):
            a, b = 2 * i, 2 * i + 1
            states.append(self.ops[a](states[self.inputs[a]]) + self.ops[b](states[self.inputs[b]]))
        return torch.cat(states[2:], dim=1)


class DerivedNetwork(_Backbone):
    """The network of a :class:`Genotype`, trained from scratch after the search.

    Args mirror :class:`SearchNetwork`; ``steps`` comes from the genotype.
    """

    def __init__(
        self,
        genotype: Genotype,
        in_channels: int,
        num_classes: int,
        *,
        channels: int = 8,
        layers: int = 3,
        stem_multiplier: int = 2,
    ) -> None:
        super().__init__()
        genotype.validate()
        self.genotype = genotype
        self._build(
            in_channels, num_classes, channels, layers, genotype.steps, stem_multiplier,
            lambda c_pp, c_p, c, red, red_prev: DerivedCell(genotype.reduce if red else genotype.normal, c_pp, c_p, c, red, red_prev),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self._head(s1)


class SmallCNN(nn.Module):
    """The hand-designed control: three 3x3 conv-BN-ReLU blocks, one max-pool, global pooling.

    A plain small CNN of the kind used as a lightweight facial-expression baseline.
    """

    def __init__(self, in_channels: int, num_classes: int, *, width: int = 16) -> None:
        super().__init__()

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]

        self.features = nn.Sequential(
            *block(in_channels, width), *block(width, 2 * width), nn.MaxPool2d(2), *block(2 * width, 2 * width),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )  # fmt: skip
        self.classifier = nn.Linear(2 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
