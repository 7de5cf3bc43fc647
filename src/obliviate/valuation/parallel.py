"""Model fits in parallel through joblib, with a progress bar that counts fits.

Every method draws all its randomness (permutations, bundles, bootstrap samples) in the
calling process, then hands the fits to :func:`run_jobs` as independent jobs, so the
values do not depend on the backend or the number of workers. The backend is joblib's
active one: by default loky processes (or none with ``n_jobs=1``), and whatever a
``joblib.parallel_config`` block selects, e.g. Ray or Dask for a cluster::

    import joblib, ray
    from ray.util.joblib import register_ray

    ray.init(address="ray://head-node:10001")     # or "auto" on a cluster node
    register_ray()
    with joblib.parallel_config(backend="ray", n_jobs=64):
        result = TMCShapley(n_permutations=500).fit(train, utility)

With ``n_jobs=None`` (the methods' default) the number of workers also comes from the
active ``parallel_config`` (1 outside any block). joblib runs one worker in-process,
whatever the backend, so a cluster backend needs ``n_jobs`` of at least 2.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from tqdm.auto import tqdm


def chunked(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    """``items`` cut into consecutive chunks of at most ``size``."""
    size = max(1, int(size))
    return [items[start : start + size] for start in range(0, len(items), size)]


def run_jobs(
    function: Callable[..., tuple[Any, int]],
    jobs: Sequence[tuple],
    *,
    n_jobs: int | None,
    progress: bool,
    desc: str,
    total_fits: int | None = None,
) -> tuple[list[Any], int, dict[str, Any]]:
    """Run ``function(*job)`` for every job, in order, through joblib.

    Args:
        function: a module-level function returning ``(payload, fits)``.
        jobs: argument tuples, one per job.
        n_jobs: joblib workers (``None``: from the active ``parallel_config``, else 1).
        progress: show a tqdm bar counting model fits.
        desc: the bar's label.
        total_fits: the planned number of fits (an upper bound is fine; the bar's total
            is corrected at the end).

    Returns:
        ``(payloads in job order, total fits, {"backend": class name, "n_jobs": workers})``.
    """
    from joblib import Parallel, delayed

    payloads: list[Any] = []
    fits = 0
    with tqdm(total=total_fits, desc=desc, unit="fit", disable=not progress, leave=False) as bar:
        # Waves of a few jobs per worker through one pool: the bar moves with every wave on
        # any backend (Ray's does not stream results back as a generator).
        with Parallel(n_jobs=n_jobs) as parallel:
            backend = type(parallel._backend).__name__
            workers = max(1, int(parallel._effective_n_jobs()))
            wave = 4 * workers
            for start in range(0, len(jobs), wave):
                for payload, job_fits in parallel(delayed(function)(*job) for job in jobs[start : start + wave]):
                    payloads.append(payload)
                    fits += int(job_fits)
                    bar.update(int(job_fits))
        if bar.total is not None and bar.n != bar.total:
            bar.total = bar.n
            bar.refresh()
    return payloads, fits, {"backend": backend, "n_jobs": workers}
