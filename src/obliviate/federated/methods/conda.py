"""``conda``: Contribution Dampening (Chundawat et al., "ConDa: Fast Federated Unlearning
with Contribution Dampening", 2024).

During training the server accumulates, per client ``k`` and per parameter, the
contribution ``C_k = sum_t |U_k^t|`` of its updates (:mod:`obliviate.federated.records`).
To forget the clients ``F``, with ``R`` the remaining ones:

    C_F = mean_{f in F} C_f,    C_R = mean_{k in R} C_k        (element-wise)
    r   = C_R / C_F                                             (the paper's direction)
    theta_i <- theta_i * min(gamma * r_i, beta)   wherever r_i < lambda

``lambda`` is the ratio cutoff (which parameters count as dominated by the forgotten
clients), ``gamma`` the dampening constant and ``beta`` the upper bound of the factor
(``beta <= 1`` never enlarges a weight). Parameters only the forgotten clients moved
(``C_R = 0``) are zeroed; parameters they never moved (``C_F = 0``) are left alone. No
client data, no training: a few element-wise operations on the global model, which is
where the method's speed comes from.

The authors' public code (respailab/ConDa-Federated-Unlearning) passes the two
contributions to its dampening function in swapped order, so that it computes
``r = C_F / C_R`` with the same cutoff and factor: it dampens the parameters the
forgotten clients moved *least* relative to the others. ``compat="respai"`` reproduces
that; the default follows the paper's algorithm. Two further differences are kept to the
paper here: contributions are per-round updates (the code measures each local model's
distance to the initial model), and only learnable parameters are dampened (the code
also scales BatchNorm's running statistics).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from obliviate.core.contracts import Unlearner, UnlearningRequest
from obliviate.core.errors import InvalidRequestError
from obliviate.core.params import NONE, Interval, Options
from obliviate.core.registry import register
from obliviate.federated.federation import federation_of
from obliviate.federated.methods._common import FEDERATED_KINDS
from obliviate.federated.records import FederationRecords

NORMALIZATIONS = ("step", "example")
_BLOCK = 1 << 16  # entries per block of the dampening pass (256 KiB of float32)


def local_steps(num_examples: int, recipe: Any) -> int:
    """Local optimizer steps a client takes per round under the federation's recipe:
    ``recipe.steps`` when fixed, else ``epochs * ceil(n / batch_size)``."""
    if getattr(recipe, "steps", None):
        return int(recipe.steps)
    return int(recipe.epochs) * max(1, math.ceil(num_examples / int(recipe.batch_size)))


def group_contribution(
    records: FederationRecords,
    clients: list[int] | tuple[int, ...],
    *,
    normalize: str | None = None,
    recipe: Any = None,
) -> dict[str, torch.Tensor]:
    """Element-wise mean of the accumulated contributions ``C_k`` of ``clients``.

    ``normalize="step"`` divides each client's ``C_k`` by its local steps per round
    (:func:`local_steps`), ``"example"`` by its number of examples, so that a client holding
    more data -- and taking more local steps -- does not look more important for that reason
    alone. The paper sums raw update magnitudes (``None``, the default).
    """
    total: dict[str, torch.Tensor] = {}
    for client in clients:
        scale = 1.0
        if normalize == "example":
            scale = 1.0 / max(1, records.num_examples[client])
        elif normalize == "step":
            scale = 1.0 / local_steps(records.num_examples[client], recipe)
        for key, value in records.contribution(client).items():
            if key in total:
                total[key].add_(value, alpha=scale)  # in place: no new tensor per client
            else:
                total[key] = value.to(torch.float32, copy=True).mul_(scale)
    for value in total.values():
        value.div_(len(clients))
    return total


def quantile_cutoff(
    forget_contribution: dict[str, torch.Tensor], retain_contribution: dict[str, torch.Tensor], quantile: float
) -> float:
    """The ratio cutoff that selects the ``quantile`` share of entries with the smallest
    finite ``C_R / C_F`` (so that a fixed share of weights is dampened at any federation size)."""
    ratios = torch.cat(
        [(retain_contribution[k].float() / forget_contribution[k].float()).flatten() for k in forget_contribution]
    )
    finite = ratios[torch.isfinite(ratios)]
    if finite.numel() == 0:
        return 0.0
    # the k-th smallest ratio (torch.quantile refuses inputs above 2**24 entries)
    k = min(finite.numel(), max(1, math.ceil(quantile * finite.numel())))
    value = torch.kthvalue(finite, k).values
    # the next float32 above it, so that ``ratio < cutoff`` selects the k smallest in float32
    return float(torch.nextafter(value, torch.tensor(math.inf, dtype=value.dtype)))


def dampen(
    parameters: dict[str, torch.Tensor],
    forget_contribution: dict[str, torch.Tensor],
    retain_contribution: dict[str, torch.Tensor],
    *,
    ratio_cutoff: float,
    dampening_constant: float,
    upper_bound: float,
    compat: str | None = None,
) -> dict[str, int]:
    """Scale ``parameters`` in place where the forgotten clients' contribution dominates.

    Args:
        parameters: name -> tensor, modified in place.
        forget_contribution, retain_contribution: ``C_F`` and ``C_R`` for those names.
        ratio_cutoff, dampening_constant, upper_bound: ``lambda``, ``gamma``, ``beta``.
        compat: ``None`` (paper, ``r = C_R / C_F``) or ``"respai"`` (``r = C_F / C_R``).

    Returns:
        ``{"dampened": number of entries scaled, "total": number of entries}``.
    """
    dampened = total = 0
    with torch.no_grad():
        for name, weight in parameters.items():
            forget = forget_contribution[name].to(weight.device, torch.float32)
            retain = retain_contribution[name].to(weight.device, torch.float32)
            numerator, denominator = (forget, retain) if compat == "respai" else (retain, forget)
            # float32, in place, in blocks small enough that the temporaries stay in cache:
            # the step is bound by one pass of memory traffic over the weights and the two
            # contributions. 0/0 gives NaN and x/0 inf: neither passes the cutoff test, so
            # both keep a factor of 1.
            flat_w = weight.view(-1) if weight.is_contiguous() else None
            target = flat_w if flat_w is not None else weight.reshape(-1).clone()
            num, den = numerator.reshape(-1), denominator.reshape(-1)
            for lo in range(0, target.numel(), _BLOCK):
                hi = lo + _BLOCK
                ratio = torch.div(num[lo:hi], den[lo:hi])
                keep = torch.logical_not(ratio < ratio_cutoff)
                ratio.mul_(dampening_constant).clamp_(max=upper_bound).masked_fill_(keep, 1.0)
                target[lo:hi].mul_(ratio.to(target.dtype))
                dampened += keep.numel() - int(keep.sum())
            if flat_w is None:
                weight.copy_(target.view_as(weight))
            total += weight.numel()
    return {"dampened": dampened, "total": total}


@register("federated", "conda")
class ConDa(Unlearner):
    """Contribution Dampening: dampen parameters dominated by the forgotten clients.

    Args:
        ratio_cutoff: ``lambda``; parameters with ``C_R / C_F < lambda`` are dampened.
        dampening_constant: ``gamma``; the factor is ``min(gamma * r, beta)``.
        upper_bound: ``beta``, the largest factor.
        compat: ``None`` (the paper's ratio) or ``"respai"`` (the public code's inverted one).
        normalize: ``None`` (the paper: raw accumulated magnitudes), ``"step"`` (per local
            step) or ``"example"`` (per training example): see :func:`group_contribution`.
        cutoff_quantile: when set, ``lambda`` is chosen as this quantile of the ratios
            (:func:`quantile_cutoff`) instead of ``ratio_cutoff``: the share of weights
            dampened stays fixed as the federation grows.
    """

    needs_retain = False
    needs_training_data = False
    forget_kinds = FEDERATED_KINDS
    _parameter_constraints = {
        "ratio_cutoff": [Interval(float, 0, None, closed="neither")],
        "dampening_constant": [Interval(float, 0, None, closed="left")],
        "upper_bound": [Interval(float, 0, None, closed="left")],
        "compat": [NONE, Options({"respai"})],
        "normalize": [NONE, Options(set(NORMALIZATIONS))],
        "cutoff_quantile": [NONE, Interval(float, 0, 1, closed="neither")],
    }

    def __init__(
        self,
        *,
        ratio_cutoff: float = 0.2,
        dampening_constant: float = 0.5,
        upper_bound: float = 1.0,
        compat: str | None = None,
        normalize: str | None = None,
        cutoff_quantile: float | None = None,
    ):
        self.ratio_cutoff = ratio_cutoff
        self.dampening_constant = dampening_constant
        self.upper_bound = upper_bound
        self.compat = compat
        self.normalize = normalize
        self.cutoff_quantile = cutoff_quantile

    def _unlearn(self, model, request: UnlearningRequest):
        federation = federation_of(request, self.name)
        records = federation.records()
        forget = list(federation.forget_clients)
        retain = [c for c in records.clients if c not in forget]
        missing = [c for c in forget if c not in records.clients]
        if missing or not retain:
            raise InvalidRequestError(
                f"conda needs recorded contributions of the forgotten clients {forget} and of at least one "
                f"other client; the records hold clients {records.clients}"
            )
        parameters = dict(model.named_parameters())
        unrecorded = sorted(set(parameters) - set(records.keys))
        if unrecorded:
            raise InvalidRequestError(
                f"the records do not cover parameters {unrecorded[:3]}: they belong to another model"
            )
        forget_c = group_contribution(records, forget, normalize=self.normalize, recipe=federation.recipe)
        retain_c = group_contribution(records, retain, normalize=self.normalize, recipe=federation.recipe)
        forget_c = {name: forget_c[name] for name in parameters}
        retain_c = {name: retain_c[name] for name in parameters}
        cutoff = self.ratio_cutoff
        if self.cutoff_quantile is not None:
            cutoff = quantile_cutoff(forget_c, retain_c, self.cutoff_quantile)
        counts = dampen(
            {name: p.data for name, p in parameters.items()},
            forget_c,
            retain_c,
            ratio_cutoff=cutoff,
            dampening_constant=self.dampening_constant,
            upper_bound=self.upper_bound,
            compat=self.compat,
        )
        return model, {**counts, "dampened_fraction": counts["dampened"] / max(counts["total"], 1), "ratio_cutoff": cutoff}
