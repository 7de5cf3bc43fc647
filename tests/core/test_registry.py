"""The method registry refuses silent overwrites and names the options on a bad look-up."""

from __future__ import annotations

import pytest

from obliviate.core import registry
from obliviate.core.contracts import Unlearner
from obliviate.core.errors import InvalidRequestError, RegistryError

TASK = "regression"


@pytest.fixture
def isolated_registry(monkeypatch):
    """An empty private registry whose tasks count as loaded: test classes never leak into
    other tests, and no task package is imported."""
    monkeypatch.setattr(registry, "_METHODS", {})
    monkeypatch.setattr(registry, "_loaded", set(registry.TASKS))
    return registry


def make_class(label: str) -> type:
    return type(f"Method{label}", (Unlearner,), {})


def test_register_sets_task_and_name_and_lists_the_method(isolated_registry):
    cls = isolated_registry.register(TASK, "zz_probe")(make_class("A"))
    assert (cls.task, cls.name) == (TASK, "zz_probe")
    assert "zz_probe" in isolated_registry.methods(TASK)
    assert isolated_registry.get_method(TASK, "zz_probe") is cls


def test_registering_a_taken_name_raises_and_names_the_holder(isolated_registry):
    first = isolated_registry.register(TASK, "zz_probe")(make_class("A"))
    with pytest.raises(RegistryError, match=r"'zz_probe' is already registered.*MethodA.*force=True"):
        isolated_registry.register(TASK, "zz_probe")(make_class("B"))
    assert isolated_registry.get_method(TASK, "zz_probe") is first


def test_re_registering_the_same_class_is_harmless(isolated_registry):
    cls = make_class("A")
    isolated_registry.register(TASK, "zz_probe")(cls)
    assert isolated_registry.register(TASK, "zz_probe")(cls) is cls


def test_force_replaces_a_registered_method(isolated_registry):
    isolated_registry.register(TASK, "zz_probe")(make_class("A"))
    replacement = isolated_registry.register(TASK, "zz_probe", force=True)(make_class("B"))
    assert isolated_registry.get_method(TASK, "zz_probe") is replacement


def test_unknown_task_error_lists_the_tasks():
    with pytest.raises(InvalidRequestError, match="unknown task 'vision'.*classification.*diffusion"):
        registry.methods("vision")
    with pytest.raises(InvalidRequestError, match="unknown task"):
        registry.register("vision", "x")


def test_unknown_method_error_lists_the_registered_methods(isolated_registry):
    isolated_registry.register(TASK, "zz_probe")(make_class("A"))
    with pytest.raises(RegistryError, match="no method 'nope' for task 'regression'; registered methods: .*zz_probe"):
        isolated_registry.get_method(TASK, "nope")


def test_retrain_is_listed_first_when_registered(isolated_registry):
    isolated_registry.register(TASK, "aaa_probe")(make_class("A"))
    isolated_registry.register(TASK, "retrain", force=True)(make_class("R"))
    names = isolated_registry.methods(TASK)
    assert names[0] == "retrain"
    assert names[1:] == sorted(names[1:])
