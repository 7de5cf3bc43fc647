"""ConDa's server step against the memory-bandwidth limit, on an 11M-parameter model.

ConDa (Chundawat et al., 2024) forgets by one element-wise pass over the global weights and
two contributions, after averaging the clients' contributions. Both steps are bound by
memory traffic, so their limit is ``bytes moved / bandwidth``, with the bandwidth measured
in the same run by a large tensor copy. The weights have ResNet-18's shapes (11.2M
parameters, float32). Timed: the previous implementation (float64 temporaries, a new tensor
per client added), the current one (float32, in place, one temporary per entry), and the
limit. Medians of repeated runs, one thread.

Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/conda_step.py [--clients 50]

Writes ``benchmarks/results/conda_step.json`` and ``conda_step.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from types import SimpleNamespace

import torch

from obliviate.core.checkpoint import atomic_write_text
from obliviate.federated.methods.conda import dampen, group_contribution

RESULTS = Path(__file__).resolve().parent / "results"
CLAIM = "issue aim: ConDa's step within 5x of the memory-bandwidth limit"


def resnet18_shapes() -> list[tuple[int, ...]]:
    """Weight shapes of a ResNet-18 (ImageNet head), biases and norms left out."""
    shapes = [(64, 3, 7, 7)] + [(64, 64, 3, 3)] * 4
    for c_in, c_out in ((64, 128), (128, 256), (256, 512)):
        shapes += [(c_out, c_in, 3, 3), (c_out, c_out, 3, 3), (c_out, c_in, 1, 1), (c_out, c_out, 3, 3),
                   (c_out, c_out, 3, 3)]
    return shapes + [(1000, 512)]


def previous_dampen(parameters, forget, retain, *, ratio_cutoff, dampening_constant, upper_bound):
    """The step as first written: float64 temporaries, ``torch.where`` and a copy back."""
    with torch.no_grad():
        for name, weight in parameters.items():
            f, r = forget[name].double(), retain[name].double()
            ratio = r / f
            selected = ratio < ratio_cutoff
            factor = torch.clamp(dampening_constant * ratio, max=upper_bound)
            weight.copy_((weight.double() * torch.where(selected, factor, torch.ones_like(factor))).to(weight.dtype))


def previous_average(records, clients):
    """Averaging as first written: a new tensor for every client added."""
    total = {}
    for client in clients:
        for key, value in records.contribution(client).items():
            value = value * 1.0
            total[key] = total[key] + value if key in total else value.clone()
    return {key: value / len(clients) for key, value in total.items()}


def timed(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bandwidth(repeats: int) -> float:
    """Bytes per second of a 256 MiB float32 copy (read + write)."""
    src = torch.rand(64 * 2**20)
    dst = torch.empty_like(src)
    seconds = timed(lambda: dst.copy_(src), repeats)
    return 2 * src.numel() * 4 / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.manual_seed(0)
    shapes = resnet18_shapes()
    n = sum(torch.Size(s).numel() for s in shapes)
    weights = {f"w{i}": torch.randn(s) for i, s in enumerate(shapes)}
    forget = {k: torch.rand_like(v) for k, v in weights.items()}
    retain = {k: torch.rand_like(v) for k, v in weights.items()}
    settings = {"ratio_cutoff": 0.2, "dampening_constant": 0.5, "upper_bound": 1.0}
    per_client = {c: {k: torch.rand_like(v) for k, v in weights.items()} for c in range(args.clients)}
    records = SimpleNamespace(contribution=lambda c: per_client[c], num_examples={c: 1 for c in per_client})

    speed = bandwidth(args.repeats)
    rows = []
    work = {k: v.clone() for k, v in weights.items()}
    step_bytes = 4 * n * 4  # read weights, C_F, C_R; write weights
    limit = step_bytes / speed
    old = timed(lambda: previous_dampen(work, forget, retain, **settings), args.repeats)
    new = timed(lambda: dampen(work, forget, retain, **settings), args.repeats)
    rows.append({"step": "dampening", "limit_s": limit, "previous_s": old, "current_s": new})
    clients = list(per_client)
    average_bytes = (len(clients) + 1) * n * 4
    limit = average_bytes / speed
    old = timed(lambda: previous_average(records, clients), max(2, args.repeats // 2))
    new = timed(lambda: group_contribution(records, clients), max(2, args.repeats // 2))
    rows.append({"step": f"averaging {len(clients)} clients", "limit_s": limit, "previous_s": old, "current_s": new})
    for row in rows:
        row["previous_over_limit"] = row["previous_s"] / row["limit_s"]
        row["current_over_limit"] = row["current_s"] / row["limit_s"]
        row["speedup"] = row["previous_s"] / row["current_s"]
    # the two must agree (same selection, float32 against float64 arithmetic)
    a = {k: v.clone() for k, v in weights.items()}
    b = {k: v.clone() for k, v in weights.items()}
    previous_dampen(a, forget, retain, **settings)
    dampen(b, forget, retain, **settings)
    worst = max(float((a[k] - b[k]).abs().max()) for k in a)
    report = {"claim": CLAIM, "parameters": n, "bandwidth_gb_s": speed / 1e9, "rows": rows,
              "max_abs_difference_previous_vs_current": worst}
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / "conda_step.json", json.dumps(report, indent=1))
    lines = [
        f"# ConDa's server step, {n / 1e6:.1f}M parameters (ResNet-18 shapes), copy bandwidth "
        f"{speed / 1e9:.1f} GB/s, 1 thread",
        "",
        "| step | limit (s) | previous (s) | current (s) | previous / limit | current / limit | speedup |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['step']} | {r['limit_s']:.4f} | {r['previous_s']:.4f} | {r['current_s']:.4f} | "
                     f"{r['previous_over_limit']:.1f}x | {r['current_over_limit']:.1f}x | {r['speedup']:.1f}x |")
    lines += ["", f"Largest weight difference previous vs current: {worst:.2e}. {CLAIM}.", ""]
    atomic_write_text(RESULTS / "conda_step.md", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
