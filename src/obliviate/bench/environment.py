"""Where a bench ran: package versions, device, threads and platform (stored in every report)."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from typing import Any

PACKAGES = ("obliviate", "torch", "numpy", "scipy", "scikit-learn", "torch-geometric", "flwr")


def package_version(name: str) -> str | None:
    """Installed version of distribution ``name``, or ``None`` when it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def describe_environment() -> dict[str, Any]:
    """Versions, device and threading of this process, as plain JSON types.

    Returns:
        ``{"python", "platform", "machine", "packages": {name: version}, "device",
        "torch_threads", "omp_num_threads", "cpu_count"}``; packages that are not
        installed are left out.
    """
    import torch

    from obliviate.core.training import default_device

    device = default_device()
    if device.type == "cuda":
        device_name = f"cuda ({torch.cuda.get_device_name(device)})"
    else:
        device_name = device.type
    versions = {name: package_version(name) for name in PACKAGES}
    return {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": platform.platform(terse=True),
        "machine": platform.machine(),
        "packages": {name: version for name, version in versions.items() if version is not None},
        "device": device_name,
        "torch_threads": torch.get_num_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "cpu_count": os.cpu_count(),
    }
