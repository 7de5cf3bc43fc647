"""The search space of EmoNAS/DARTS: candidate operations and the mixed operation.

A cell edge ``(i, j)`` carries one candidate operation ``o`` out of :data:`PRIMITIVES`. During
the search every edge is a *mixed operation* (Liu et al., "DARTS: Differentiable Architecture
Search", ICLR 2019, eq. 1)::

    o_bar(x) = sum_o  softmax(alpha)_o * o(x)

whose architecture weights ``alpha`` are learned by gradient. The operations follow the DARTS
convolutional space that EmoNAS searches: zero, identity, 3x3 max/avg pooling, separable and
dilated convolutions (ReLU-Conv-BN order).
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from obliviate.core.errors import InvalidParameterError

PRIMITIVES: tuple[str, ...] = (
    "none",
    "skip_connect",
    "max_pool_3x3",
    "avg_pool_3x3",
    "sep_conv_3x3",
    "dil_conv_3x3",
)
"""The default search space: one operation of every kind EmoNAS/DARTS searches over.

DARTS' full list (:data:`DARTS_PRIMITIVES`) adds the 5x5 separable and dilated convolutions;
pass it as ``primitives=`` to search over it (about 1.5x the cost on CPU)."""

DARTS_PRIMITIVES: tuple[str, ...] = PRIMITIVES + ("sep_conv_5x5", "dil_conv_5x5")


class Zero(nn.Module):
    """The ``none`` operation: a zero tensor of the output shape (strided when reducing)."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class ReLUConvBN(nn.Module):
    """ReLU, a ``kernel x kernel`` convolution, batch normalisation."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, affine: bool = True
    ) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class DilConv(nn.Module):
    """Dilated depthwise convolution followed by a 1x1 pointwise convolution (ReLU-Conv-BN)."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int,
        stride: int,
        padding: int,
        dilation: int,
        affine: bool = True,
    ) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(
                c_in, c_in, kernel, stride=stride, padding=padding, dilation=dilation, groups=c_in, bias=False
            ),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class SepConv(nn.Module):
    """Separable convolution applied twice, as in DARTS (depthwise + pointwise, two times)."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, affine: bool = True
    ) -> None:
        super().__init__()
        self.op = nn.Sequential(
            DilConv(c_in, c_in, kernel, stride, padding, 1, affine),
            DilConv(c_in, c_out, kernel, 1, padding, 1, affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class FactorizedReduce(nn.Module):
    """Halve the spatial size with two offset strided 1x1 convolutions (DARTS' reducing identity)."""

    def __init__(self, c_in: int, c_out: int, affine: bool = True) -> None:
        super().__init__()
        if c_out % 2:
            raise InvalidParameterError(f"FactorizedReduce needs an even channel count; got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = nn.functional.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


def _pool(kind: str, channels: int, stride: int, affine: bool) -> nn.Module:
    layer = (
        nn.MaxPool2d(3, stride=stride, padding=1)
        if kind == "max"
        else nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
    )
    # DARTS puts an affine-free BN after pooling in the search network so that the scale of
    # parameter-free ops matches the convolutions'.
    return nn.Sequential(layer, nn.BatchNorm2d(channels, affine=False)) if not affine else layer


OPS: dict[str, Callable[[int, int, bool], nn.Module]] = {
    "none": lambda c, stride, affine: Zero(stride),
    "skip_connect": lambda c, stride, affine: (
        nn.Identity() if stride == 1 else FactorizedReduce(c, c, affine)
    ),
    "max_pool_3x3": lambda c, stride, affine: _pool("max", c, stride, affine),
    "avg_pool_3x3": lambda c, stride, affine: _pool("avg", c, stride, affine),
    "sep_conv_3x3": lambda c, stride, affine: SepConv(c, c, 3, stride, 1, affine),
    "sep_conv_5x5": lambda c, stride, affine: SepConv(c, c, 5, stride, 2, affine),
    "dil_conv_3x3": lambda c, stride, affine: DilConv(c, c, 3, stride, 2, 2, affine),
    "dil_conv_5x5": lambda c, stride, affine: DilConv(c, c, 5, stride, 4, 2, affine),
}


def check_primitives(primitives: Sequence[str]) -> tuple[str, ...]:
    """Validate a list of operation names against :data:`OPS`.

    Raises:
        InvalidParameterError: for an empty list, a repeated or an unknown name.
    """
    names = tuple(primitives)
    if not names:
        raise InvalidParameterError("primitives must name at least one operation; got an empty list")
    unknown = [name for name in names if name not in OPS]
    if unknown:
        raise InvalidParameterError(f"unknown operation(s) {unknown}; choose from {', '.join(OPS)}")
    if len(set(names)) != len(names):
        raise InvalidParameterError(f"primitives must not repeat a name; got {list(names)}")
    if all(name == "none" for name in names):
        raise InvalidParameterError("primitives must contain an operation other than 'none'")
    return names


def make_op(name: str, channels: int, stride: int, *, affine: bool = True) -> nn.Module:
    """Build the operation ``name`` on ``channels`` channels with ``stride`` (1 or 2)."""
    if name not in OPS:
        raise InvalidParameterError(f"unknown operation {name!r}; choose from {', '.join(OPS)}")
    return OPS[name](channels, stride, affine)


class MixedOp(nn.Module):
    """DARTS' continuous relaxation of one edge: ``sum_o w_o * o(x)`` for weights ``w``.

    ``forward(x, weights)`` takes the already-normalised weights (a softmax of the edge's
    ``alpha``), one per operation in ``primitives`` order.
    """

    def __init__(self, channels: int, stride: int, primitives: Sequence[str] = PRIMITIVES) -> None:
        super().__init__()
        self.primitives = check_primitives(primitives)
        self.ops = nn.ModuleList(make_op(name, channels, stride, affine=False) for name in self.primitives)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        if weights.shape != (len(self.ops),):
            raise InvalidParameterError(
                f"MixedOp needs one weight per operation ({len(self.ops)}); got shape {tuple(weights.shape)}"
            )
        return sum(w * op(x) for w, op in zip(weights, self.ops))
