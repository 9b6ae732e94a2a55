"""Run the videos of a batch as Ray tasks (``vloc batch --executor ray``); optional extra.

Each video is one Ray task running :func:`vloc.batch.run_job` (the same function as the
local executor), so isolation, outputs and resumability are identical. A task asks for one
GPU when the batch runs with ``device="cuda"``; ``address`` joins an existing cluster
(every node must see the same paths: SOURCE and OUT on shared storage).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from vloc.errors import InputError

INSTALL_HINT = "pip install 'vloc[ray]'"


def require_ray() -> None:
    """Fail with one line naming the extra to install when Ray is not importable."""
    try:
        import ray  # noqa: F401
    except ImportError:
        raise InputError(
            f"--executor ray needs Ray, which is not installed: {INSTALL_HINT}"
        ) from None


def run_on_ray(
    jobs: Sequence,
    tasks: Sequence,
    out_root: Path,
    options,
    *,
    workers: int = 1,
    address: str | None = None,
) -> Iterator:
    """Yield ``(position in jobs, JobResult)`` per video as each Ray task finishes.

    ``workers`` caps the CPUs of a locally started Ray (ignored when joining ``address``).
    """
    require_ray()
    import ray

    from vloc.batch import run_job

    started = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(num_cpus=max(1, workers), include_dashboard=False, log_to_driver=False)
        started = True
    try:
        num_gpus = 1 if options.device == "cuda" else 0
        remote = ray.remote(num_cpus=1, num_gpus=num_gpus, max_retries=0)(run_job)
        position = {
            remote.remote(job, list(tasks), Path(out_root), options): i
            for i, job in enumerate(jobs)
        }
        pending = list(position)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            yield position[ready[0]], ray.get(ready[0])
    finally:
        if started:
            ray.shutdown()
