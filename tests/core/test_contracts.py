"""The Unlearner contract: copies the model, validates the request and the parameters."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from obliviate.core.checkpoint import state_sha256
from obliviate.core.contracts import Unlearner, UnlearningRequest, UnlearningResult
from obliviate.core.errors import InvalidParameterError, InvalidRequestError, UnsupportedModelError
from obliviate.core.params import Interval
from obliviate.data.forget import ForgetSpec


class NoisyEdit(Unlearner):
    """Adds seeded Gaussian noise of a given scale to every weight, in place."""

    name, task = "noisy_edit", "classification"
    forget_kinds = frozenset({"random", "class"})
    _parameter_constraints = {"scale": [Interval(float, 0, None, closed="neither")]}

    def __init__(self, *, scale: float = 0.1):
        self.scale = scale

    def _unlearn(self, model, request):
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.add_(self.scale * torch.randn_like(parameter))
        return model, {"edited": len(list(model.parameters()))}


class NoRetainEdit(NoisyEdit):
    needs_retain = False


class Forward(Unlearner):
    """Runs one forward pass of the forget inputs (for FLOP counting)."""

    name, task = "forward", "classification"

    def _unlearn(self, model, request):
        model(request.forget.tensors[0])
        return model


def data(n: int) -> TensorDataset:
    return TensorDataset(torch.randn(n, 4), torch.zeros(n, dtype=torch.long))


def request(**overrides) -> UnlearningRequest:
    fields = dict(forget=data(8), retain=data(16), spec=ForgetSpec("random", 0.1), seed=0)
    fields.update(overrides)
    return UnlearningRequest(**fields)


def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3))


def test_unlearn_never_mutates_its_input_and_keeps_type_and_keys():
    original = model()
    before = state_sha256(original)
    result = NoisyEdit().unlearn(original, request())
    assert isinstance(result, UnlearningResult)
    assert state_sha256(original) == before
    assert result.model is not original
    assert type(result.model) is type(original)
    assert list(result.model.state_dict()) == list(original.state_dict())
    assert state_sha256(result.model) != before
    assert result.info == {"edited": 2}
    assert result.seconds >= 0 and result.flops is None
    assert not result.model.training


def test_same_seed_gives_the_same_model_and_another_seed_a_different_one():
    first = NoisyEdit().unlearn(model(), request(seed=3)).model
    again = NoisyEdit().unlearn(model(), request(seed=3)).model
    other = NoisyEdit().unlearn(model(), request(seed=4)).model
    assert state_sha256(first) == state_sha256(again)
    assert state_sha256(first) != state_sha256(other)


def test_empty_forget_set_is_refused():
    with pytest.raises(InvalidRequestError, match="forget set is empty"):
        NoisyEdit().unlearn(model(), request(forget=data(0)))
    with pytest.raises(InvalidRequestError, match="forget set is empty"):
        NoisyEdit().unlearn(model(), request(forget=None))


def test_needs_retain_is_enforced_only_for_methods_that_declare_it():
    with pytest.raises(InvalidRequestError, match="needs retain data"):
        NoisyEdit().unlearn(model(), request(retain=None))
    with pytest.raises(InvalidRequestError, match="needs retain data"):
        NoisyEdit().unlearn(model(), request(retain=data(0)))
    assert NoRetainEdit().unlearn(model(), request(retain=None)).model is not None


def test_unsupported_forget_kind_is_rejected_naming_the_supported_ones():
    with pytest.raises(InvalidRequestError, match="does not support forget kind 'ids'; it supports: class, random"):
        NoisyEdit().unlearn(model(), request(spec=ForgetSpec("ids", "forget.txt")))


def test_a_request_of_the_wrong_type_and_a_non_torch_model_are_refused():
    with pytest.raises(InvalidRequestError, match="expected an UnlearningRequest"):
        NoisyEdit().unlearn(model(), {"forget": data(4)})
    with pytest.raises(UnsupportedModelError, match="torch.nn.Module"):
        NoisyEdit().unlearn("not a model", request())


def test_parameters_are_validated_when_built_stored_unchanged_and_checked_again_at_unlearn_time():
    message = r"classification/noisy_edit: parameter 'scale' must be float in \(0, inf\); got -1.0"
    with pytest.raises(InvalidParameterError, match=message):
        NoisyEdit(scale=-1.0)
    with pytest.raises(InvalidParameterError, match="has no parameter 'lr'; its parameters are: scale"):
        NoisyEdit(lr=0.1)
    method = NoisyEdit(scale=2.0)
    assert method.get_params() == {"scale": 2.0}
    method.set_params(scale=-1.0)  # set_params stores unchecked, like scikit-learn ...
    with pytest.raises(InvalidParameterError, match=message):
        method.unlearn(model(), request())  # ... and unlearn checks again
    method.set_params(scale=0.5)
    assert method.get_params() == {"scale": 0.5}
    assert repr(method) == "NoisyEdit(scale=0.5)"
    with pytest.raises(InvalidParameterError, match="has no parameter 'lr'; its parameters are: scale"):
        method.set_params(lr=0.1)


def test_counting_flops_gives_the_exact_count_of_a_linear_layer():
    # A Linear(4 -> 3) forward on 8 rows is an 8x4 by 4x3 matrix product: 2 * 8 * 4 * 3 FLOPs.
    result = Forward().unlearn(model(), request(), count_flops_too=True)
    assert result.flops == 2 * 8 * 4 * 3


def test_unlearn_leaves_the_callers_global_random_generators_as_they_were():
    import random

    import numpy as np
    import torch
    from torch.utils.data import TensorDataset

    from obliviate.core.contracts import Unlearner, UnlearningRequest

    class Draws(Unlearner):
        name, task, needs_retain = "draws", "test", False

        def __init__(self):
            pass

        def _unlearn(self, model, request):
            random.random(), np.random.rand(), torch.rand(1)
            return model

    model = torch.nn.Linear(1, 1)
    random.seed(11), np.random.seed(11), torch.manual_seed(11)
    expected = (random.random(), np.random.rand(), float(torch.rand(1)))
    random.seed(11), np.random.seed(11), torch.manual_seed(11)
    request = UnlearningRequest(forget=TensorDataset(torch.zeros(2, 1), torch.zeros(2)), seed=5)
    Draws().unlearn(model, request)
    assert (random.random(), np.random.rand(), float(torch.rand(1))) == expected
