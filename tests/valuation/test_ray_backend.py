"""Model fits through Ray's joblib backend, on a local Ray instance bound to 127.0.0.1."""

from __future__ import annotations

import os

import joblib
import numpy as np
import pytest

from obliviate.valuation import EcoVal, Utility, load_builtin


def test_ecoval_runs_its_fits_on_ray_through_joblib_and_matches_the_sequential_values(monkeypatch):
    # Set before Ray is imported: Ray reads the first one into a constant at import time.
    for name, value in {
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        "RAY_USAGE_STATS_ENABLED": "0",
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    }.items():
        monkeypatch.setenv(name, value)
    ray = pytest.importorskip("ray", reason="Ray comes with the federated extra: pip install 'obliviate[federated]'")
    from ray._private import ray_constants
    from ray.util.joblib import register_ray

    # In case another test imported Ray before the variable was set: keep traffic on loopback.
    monkeypatch.setattr(ray_constants, "ENABLE_RAY_CLUSTER", False)
    data = load_builtin("wine", seed=0).with_label_noise(0.1, seed=0)
    utility = Utility(data.x_valid, data.y_valid)
    sequential = EcoVal(n_bundles=16, seed=0).fit(data.train, utility)
    # joblib runs a single worker in-process whatever the backend, and Ray's pool refuses
    # more workers than the instance has CPUs: two logical CPUs, two workers.
    ray.init(address="local", include_dashboard=False, num_cpus=2, _node_ip_address="127.0.0.1", log_to_driver=False)
    try:
        register_ray()
        with joblib.parallel_config(backend="ray", n_jobs=2):
            on_ray = EcoVal(n_bundles=16, seed=0).fit(data.train, utility)
        nodes = ray.nodes()
    finally:
        ray.shutdown()
    assert on_ray.provenance["parallel"] == {"backend": "RayBackend", "n_jobs": 2}
    assert all(node["NodeManagerAddress"] == "127.0.0.1" for node in nodes)
    np.testing.assert_array_equal(on_ray.values, sequential.values)
    assert on_ray.model_fits == sequential.model_fits
