"""Model fits through Ray's joblib backend, on a local Ray instance bound to 127.0.0.1.

The check runs in a fresh Python process: Ray allows one ``ray.init`` per process, and other
tests of the session (the federated ones) may already hold a connection to their own Ray head.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent(
    """
    import joblib
    import numpy as np
    import ray
    from ray.util.joblib import register_ray

    from obliviate.valuation import EcoVal, Utility, load_builtin

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
    assert on_ray.provenance["parallel"] == {"backend": "RayBackend", "n_jobs": 2}, on_ray.provenance
    assert all(node["NodeManagerAddress"] == "127.0.0.1" for node in nodes), nodes
    np.testing.assert_array_equal(on_ray.values, sequential.values)
    assert on_ray.model_fits == sequential.model_fits
    print("ray backend ok")
    """
)


def test_ecoval_runs_its_fits_on_ray_through_joblib_and_matches_the_sequential_values():
    pytest.importorskip("ray", reason="Ray comes with the federated extra: pip install 'obliviate[federated]'")
    env = {
        **os.environ,
        # Read by Ray at import time: keep every address on loopback, send no usage data.
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        "RAY_USAGE_STATS_ENABLED": "0",
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    }
    result = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "ray backend ok" in result.stdout, result.stdout[-2000:] + result.stderr[-4000:]
