"""Run the videos of a batch as Ray tasks (``vloc batch --executor ray``); optional extra.

Each video is one Ray task running the job function the caller passes in (``vloc.batch``
passes its ``run_job``, the same function as the local executor), so isolation, outputs and
resumability are identical; this module imports nothing of ``vloc.batch``. A task asks for one
GPU when the batch runs with ``device="cuda"``; ``address`` joins an existing cluster
(every node must see the same paths: SOURCE and OUT on shared storage).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

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
    jobs: Sequence[Any],
    tasks: Sequence[Any],
    out_root: Path,
    options: Any,
    *,
    run: Callable[[Any, list[Any], Path, Any], Any],
    workers: int = 1,
    address: str | None = None,
) -> Iterator[tuple[int, Any]]:
    """Yield ``(position in jobs, run(job, tasks, out_root, options))`` per video as each Ray
    task finishes.

    ``run`` is the job function (``vloc.batch.run_job``); it must be importable by the Ray
    workers, which unpickle it by reference. ``options.device`` decides whether a task asks for
    a GPU. ``workers`` caps the CPUs of a locally started Ray (ignored when joining ``address``).
    """
    require_ray()
    import ray

    started = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(num_cpus=max(1, workers), include_dashboard=False, log_to_driver=False)
        started = True
    try:
        num_gpus = 1 if options.device == "cuda" else 0
        remote = ray.remote(num_cpus=1, num_gpus=num_gpus, max_retries=0)(run)
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
